package config

import (
	"testing"

	"github.com/airsstack/airssys-wasm-go/host/gateway"
)

// TestGatewayDefaults: host.toml's gateway defaults and a route's are the
// gateway's own, so that leaving a key out means the same in both places.
func TestGatewayDefaults(t *testing.T) {
	g := Defaults().Gateway
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"max-body", g.MaxBodyBytes, gateway.DefaultMaxBodyBytes},
		{"max-header-bytes", int64(g.MaxHeaderBytes), gateway.DefaultMaxHeaderBytes},
		{"read-header-timeout", int64(g.ReadHeaderTimeout), int64(gateway.DefaultReadHeaderTimeout)},
		{"read-timeout", int64(g.ReadTimeout), int64(gateway.DefaultReadTimeout)},
		{"write-timeout", int64(g.WriteTimeout), int64(gateway.DefaultWriteTimeout)},
		{"idle-timeout", int64(g.IdleTimeout), int64(gateway.DefaultIdleTimeout)},
		{"max-connections", int64(g.MaxConnections), gateway.DefaultMaxConns},
		{"route timeout", int64(DefaultRouteTimeout), int64(gateway.DefaultTimeout)},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d here, %d in the gateway", c.name, c.got, c.want)
		}
	}
}
