// The router actor in Go (testdata/goactor_router.wasm): forwards every
// message without reading its payload, as the JavaScript actor's role
// "router" (testdata/src/jsactor/actor.js) and the C forward actor do:
// msg.Payload() (a handle, no bytes copied) goes to the id in the
// message's "x-route" header if it has one, else to config "next", with
// the message's content type and headers. The reply is none (an empty
// reply to a request); a refused send is err("<send-error>"), e.g.
// err("unknown-target"). init fails with err("router: config next
// required") without "next".
package main

import (
	"errors"

	"github.com/airsstack/airssys-wasm-go/guest"
)

type router struct {
	guest.Base
	next string
}

func (r *router) Init(config []guest.Header) error {
	next, ok := guest.Config(config, "next")
	if !ok {
		return errors.New("router: config next required")
	}
	r.next = next
	return nil
}

func (r *router) HandleMessage(msg *guest.Message) (*guest.Reply, error) {
	target, ok := msg.Header("x-route")
	if !ok {
		target = r.next
	}
	opts := &guest.SendOptions{ContentType: msg.Metadata().ContentType, Headers: msg.Headers()}
	if err := guest.Send(target, msg.Payload(), opts); err != nil {
		return nil, err
	}
	return nil, nil
}

func init() { guest.Register(&router{}) }

func main() {}
