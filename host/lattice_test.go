package host

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
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

// twoHosts opens two services of one lattice (embedded servers clustered
// on loopback), each with the same echo component installed.
func twoHosts(t *testing.T) (*Service, *Service, *fixture, *fixture) {
	t.Helper()
	p1, p2 := freePort(t), freePort(t)
	lattice := func(name, listen, route string) string {
		return fmt.Sprintf("[lattice]\nname = \"t\"\nhost = %q\ncluster-name = \"t\"\ncluster-listen = %q\nroutes = [%q]\n",
			name, listen, route)
	}
	f1, f2 := newFixture(t), newFixture(t)
	f1.cfg, f2.cfg = f1.config(t, lattice("h1", p1, p2)), f2.config(t, lattice("h2", p2, p1))
	s1, s2 := f1.open(t, Options{}), f2.open(t, Options{})
	f1.install(t, s1, "actor2_echotext", "echo", "1.0.0")
	f2.install(t, s2, "actor2_echotext", "echo", "1.0.0")
	return s1, s2, f1, f2
}

// runningHere are the ids of app demo this service runs.
func runningHere(s *Service) map[string]bool {
	out := map[string]bool{}
	for _, id := range s.System().Actors() {
		out[string(id)] = true
	}
	return out
}

// TestPlacementAndFailover: the same app deployed on two hosts runs each
// actor once, on one host or the other (placement over the hosts that have
// that version); every actor answers from either host; when a host dies
// without a word (its NATS server gone), the other runs all of them.
func TestPlacementAndFailover(t *testing.T) {
	s1, s2, _, _ := twoHosts(t)
	app := echoAppFile("1.0.0", 8, "")
	deploy(t, s1, app)
	deploy(t, s2, app)
	ctx := context.Background()
	want := []string{"demo/echo/1", "demo/echo/2", "demo/echo/3", "demo/echo/4", "demo/echo/5", "demo/echo/6",
		"demo/echo/7", "demo/echo/8"}
	split := func() (map[string]bool, map[string]bool, bool) {
		r1, r2 := runningHere(s1), runningHere(s2)
		for _, id := range want {
			if r1[id] == r2[id] { // on both, or on neither
				return r1, r2, false
			}
		}
		return r1, r2, len(r1) > 0 && len(r2) > 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r1, r2, ok := split()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never split: h1 %v, h2 %v", r1, r2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, id := range want {
		for _, s := range []*Service{s1, s2} {
			m, err := s.System().Request(ctx, actor.ID(id), []byte(id), "text/plain")
			if err != nil || string(m.Payload) != id {
				t.Fatalf("%s from a host: %q, %v", id, m.Payload, err)
			}
		}
	}
	// h2 dies as far as h1 can tell: its NATS server goes, with no
	// stopping word (h2 itself goes on, alone: a partition).
	died := time.Now()
	s2.lat.srv.Shutdown()
	for len(runningHere(s1)) != len(want) {
		if time.Since(died) > 10*time.Second {
			t.Fatalf("h1 runs %v after h2 died", runningHere(s1))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The time is measured by bench's BenchmarkLatticeFailoverDetection,
	// not asserted here.
	t.Logf("failover in %v", time.Since(died))
	for _, id := range want {
		if m, err := s1.System().Request(ctx, actor.ID(id), []byte("after"), "text/plain"); err != nil || string(m.Payload) != "after" {
			t.Fatalf("%s after the failover: %q, %v", id, m.Payload, err)
		}
	}
}
