// The echo actor in Go (testdata/goactor_echo.wasm): replies to every
// message with its payload, as text when it is valid UTF-8 and as bytes
// otherwise. Built by testdata/build.sh with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
package main

import "github.com/airsstack/airssys-wasm-go/guest"

type echo struct{ guest.Base }

func (echo) HandleMessage(msg *guest.Message) (*guest.Reply, error) {
	if s, err := msg.Text(); err == nil {
		return guest.TextReply(s), nil
	}
	return guest.BytesReply(msg.Bytes()), nil
}

func init() { guest.Register(echo{}) }

func main() {}
