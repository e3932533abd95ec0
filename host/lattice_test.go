package host

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"
)

// freePort is a loopback address nothing listens on (just now).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestTwoHostsOneLattice: two services whose embedded NATS servers are
// clustered on loopback see each other (status lists both, with their
// actors), and an actor deployed on one answers a request made on the
// other; a host that stops is gone from the other's list.
func TestTwoHostsOneLattice(t *testing.T) {
	p1, p2 := freePort(t), freePort(t)
	lattice := func(name, listen, route string) string {
		return fmt.Sprintf("[lattice]\nname = \"t\"\nhost = %q\ncluster-name = \"t\"\ncluster-listen = %q\nroutes = [%q]\n",
			name, listen, route)
	}
	f1, f2 := newFixture(t), newFixture(t)
	f1.cfg, f2.cfg = f1.config(t, lattice("h1", p1, p2)), f2.config(t, lattice("h2", p2, p1))
	s1, s2 := f1.open(t, Options{}), f2.open(t, Options{})
	f2.install(t, s2, "actor2_echotext", "echo", "1.0.0")
	deploy(t, s2, echoAppFile("1.0.0", 1, ""))

	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := s1.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if l := st.Lattice; l != nil && len(l.Hosts) == 2 && l.Hosts[1].Name == "h2" && l.Hosts[1].Actors == 1 {
			if !l.Hosts[0].Self || l.Hosts[0].Name != "h1" || l.Name != "t" || l.Mode != "fire-and-forget" {
				t.Fatalf("lattice %+v", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("h1 never saw h2 with its actor: %+v", st.Lattice)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m, err := s1.System().Request(ctx, "demo/echo/1", []byte("from h1"), "text/plain")
	if err != nil || string(m.Payload) != "from h1" {
		t.Fatalf("request across hosts: %q, %v", m.Payload, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s2.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for {
		st, _ := s1.Status(ctx)
		if len(st.Lattice.Hosts) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("h2 still listed after its shutdown: %+v", st.Lattice)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
