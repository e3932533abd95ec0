//go:build !linux

package admin

import (
	"errors"
	"net"
)

// peerUID cannot read a peer's credentials here: every request on a unix
// socket is refused (deny by default).
func peerUID(net.Conn) (uint32, error) {
	return 0, errors.New("peer credentials are only read on Linux")
}
