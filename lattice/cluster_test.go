package lattice

// Tests of the lattice beyond one server and one process (issue 14): a
// NATS cluster of three servers (embedded and clustered with routes, or
// three external nats-server processes), hosts in this process and in
// separate processes, cross-host request, send and publish between every
// pair of hosts, and what happens when a server or a host dies.
//
// Every wait is bounded (waitFor, waitReachable); a host "reachable" means
// a request to its echo actor answered, since a subscription made on one
// server reaches the others of the cluster asynchronously.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/lattice/internal/testproc"
)

// --- ports, servers, clusters ------------------------------------------------------

// freePorts returns n distinct loopback ports that were free a moment ago
// (all held open together, then released). They are taken below the
// kernel's ephemeral range where it can tell (Linux), so that no outgoing
// connection (a route being solicited, a client) gets one of them before
// the server meant to listen on it does.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	lo, hi := 0, 0 // ports are taken from [lo, hi); 0: any the kernel gives
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var first, last int
		if _, err := fmt.Sscan(string(b), &first, &last); err == nil && first > 12000 {
			lo, hi = 10000, first
		}
	}
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		addr := "127.0.0.1:0"
		if hi > 0 && tries < 1000 {
			addr = loopback(lo + rand.IntN(hi-lo))
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if addr == "127.0.0.1:0" {
				t.Fatal(err)
			}
			continue // taken
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// waitFor polls cond every few milliseconds until it holds, or fails t
// after within.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clusterConfigs are the configurations of n embedded servers clustered
// on loopback: each routes to every other (client listeners when clients
// is set).
func clusterConfigs(t testing.TB, n int, clients bool) []ServerConfig {
	ports := freePorts(t, 2*n)
	cfgs := make([]ServerConfig, n)
	for i := range n {
		c := ServerConfig{Name: fmt.Sprintf("s%d", i), ReadyTimeout: 5 * time.Second, Lattice: "test", Hosts: testKeys(t),
			Cluster: ClusterConfig{Name: "lattice-test", Listen: loopback(ports[n+i]), Secret: testSecret}}
		if clients {
			c.Listen = loopback(ports[i])
		}
		for j := range n {
			if j != i {
				c.Cluster.Routes = append(c.Cluster.Routes, loopback(ports[n+j]))
			}
		}
		cfgs[i] = c
	}
	return cfgs
}

// peers is the number of other servers s has a route to. Server.Routes
// counts route connections, several per peer (a pool of 3 and one for
// the system account in nats-server 2.10 and later), so it is not that.
func peers(s *Server) int {
	rz, err := s.s.Routez(&server.RoutezOptions{})
	if err != nil {
		return 0
	}
	ids := map[string]bool{}
	for _, r := range rz.Routes {
		ids[r.RemoteID] = true
	}
	return len(ids)
}

// waitMesh waits until each server routes to every other.
func waitMesh(t testing.TB, srvs []*Server) {
	t.Helper()
	waitFor(t, 10*time.Second, "the cluster's routes", func() bool {
		for _, s := range srvs {
			if peers(s) != len(srvs)-1 {
				return false
			}
		}
		return true
	})
	for _, s := range srvs {
		if s.Routes() < len(srvs)-1 {
			t.Fatalf("Server.Routes() = %d with %d peers", s.Routes(), len(srvs)-1)
		}
	}
}

func startEmbedded(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	s, err := StartServer(context.Background(), cfg)
	if err != nil {
		t.Fatalf("server %s: %v", cfg.Name, err)
	}
	return s
}

// startCluster starts n embedded servers clustered on loopback and waits
// for the full mesh. They are shut down at the end of the test (those
// still running: a nil entry is one the test stopped).
func startCluster(t *testing.T, n int, clients bool) ([]*Server, []ServerConfig) {
	t.Helper()
	srvs := make([]*Server, n)
	t.Cleanup(func() {
		for _, s := range srvs {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	for attempt := 1; ; attempt++ {
		cfgs := clusterConfigs(t, n, clients)
		var err error
		for i, c := range cfgs {
			if srvs[i], err = StartServer(context.Background(), c); err != nil {
				break
			}
		}
		if err == nil {
			waitMesh(t, srvs)
			return srvs, cfgs
		}
		// A port taken meanwhile by another process: other ports.
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v", attempt, err)
		for i, s := range srvs {
			if s != nil {
				s.Shutdown()
				srvs[i] = nil
			}
		}
	}
}

// --- hosts -------------------------------------------------------------------------

// connEvents counts a connection's disconnections and reconnections.
type connEvents struct {
	disconnects, reconnects atomic.Int64
}

func (e *connEvents) options() []nats.Option {
	return []nats.Option{
		nats.DisconnectErrHandler(func(*nats.Conn, error) { e.disconnects.Add(1) }),
		nats.ReconnectHandler(func(*nats.Conn) { e.reconnects.Add(1) }),
	}
}

// inProcess connects to s in-process (as Server.Connect does).
func inProcess(t testing.TB, s *Server, name string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append(append([]nats.Option{nats.InProcessServer(s.s), nats.Name(name)}, testOpts(t, name)...), opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		t.Fatalf("%s: connect in-process: %v", name, err)
	}
	return nc
}

// tcpConnect connects over TCP to the servers at urls, in that order
// first, reconnecting fast and forever.
func tcpConnect(t testing.TB, name string, urls []string, ev *connEvents, extra ...nats.Option) *nats.Conn {
	t.Helper()
	opts := append([]nats.Option{nats.Name(name), nats.DontRandomize(), nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond), nats.ReconnectJitter(0, 0), nats.Timeout(time.Second)},
		ev.options()...)
	opts = append(opts, testOpts(t, name)...)
	nc, err := nats.Connect(strings.Join(urls, ","), append(opts, extra...)...)
	if err != nil {
		t.Fatalf("%s: connect to %v: %v", name, urls, err)
	}
	return nc
}

// clusterHost is a host of a test lattice on a connection of its own.
type clusterHost struct {
	*host
	name string
	nc   *nats.Conn
	ev   *connEvents
}

// joinHost makes a host (System and Node) on nc; the connection is the
// host's: closed at the end of the test, after the System.
func joinHost(t testing.TB, name string, nc *nats.Conn, ev *connEvents) *clusterHost {
	t.Helper()
	component(t, "actor2_echotext") // the engine
	n, err := New(nc, Config{Lattice: "test", Host: name, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(eng, actor.Options{Remote: n, RequestTimeout: 5 * time.Second})
	if err := n.Attach(sys); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
		n.Close()
		nc.Close()
	})
	if ev == nil {
		ev = &connEvents{}
	}
	return &clusterHost{host: &host{sys: sys, node: n}, name: name, nc: nc, ev: ev}
}

// deployStandard deploys the actors checkLattice talks to on host name:
// an echo, a counter of sends, a counter of publishes on news.> and an
// agent (actor2_agent2: it sends, asks and publishes on command).
func deployStandard(t testing.TB, sys *actor.System, name string) {
	t.Helper()
	for _, s := range []actor.Spec{
		{ID: actor.ID(name + "/echo/1"), Component: component(t, "actor2_echotext")},
		{ID: actor.ID(name + "/counter/1"), Component: component(t, "actor2_counter")},
		{ID: actor.ID(name + "/news/1"), Component: component(t, "actor2_counter"), Subscriptions: []string{"news.>"}},
		{ID: actor.ID(name + "/agent/1"), Component: component(t, "actor2_agent2"), Config: map[string]string{"timeout-ms": "5000"}},
	} {
		if err := sys.Deploy(context.Background(), s); err != nil {
			t.Fatalf("deploy %s: %v", s.ID, err)
		}
	}
}

// --- checks ------------------------------------------------------------------------

// request asks to from sys within 5 s and fails t on an error.
func request(t testing.TB, sys *actor.System, to, payload string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := sys.Request(ctx, actor.ID(to), []byte(payload), "text/plain")
	if err != nil {
		t.Fatalf("request %s %q: %v", to, payload, err)
	}
	return string(m.Payload)
}

// waitReachable waits until a request from sys to actor to is answered:
// "no responders" (ErrUnknownActor) while its host's subscription has not
// reached sys's server yet, or while that host reconnects. It returns how
// long that took.
func waitReachable(t testing.TB, sys *actor.System, to string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < within {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m, err := sys.Request(ctx, actor.ID(to), []byte("ping"), "text/plain")
		cancel()
		if err == nil {
			if string(m.Payload) != "ping" {
				t.Fatalf("%s answered %q", to, m.Payload)
			}
			return time.Since(start)
		}
		last = err
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s not reachable within %v: %v", to, within, last)
	return 0
}

var counterRe = regexp.MustCompile(`^count=(\d+) errors=\d+ last=\d+$`)

// count reads a counter actor's count.
func count(t testing.TB, sys *actor.System, id string) int {
	t.Helper()
	got := request(t, sys, id, "get")
	m := counterRe.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("%s: get answered %q", id, got)
	}
	var c int
	fmt.Sscan(m[1], &c)
	return c
}

// checkLattice checks cross-host request, send and publish between every
// ordered pair of the hosts named (each running deployStandard's actors),
// from Go and from components. via(x) is the System Go calls "from host x"
// go through: host x's own, or one outside all of them (a host of the
// test process reaching hosts in other processes). round names the
// round's messages (each round its own topics).
//
// For each pair x != y: a Go request from via(x) to y's echo, a request
// from x's agent to y's echo (its reply comes back to the agent), a Go
// send and an agent send to y's counter. Each agent and each distinct
// via system publishes once on news.<round>.*: every host's news counter
// gets each publish once, every via system's Go subscription too (its own
// publish once: no echo).
func checkLattice(t testing.TB, round string, names []string, via func(x int) *actor.System) {
	t.Helper()
	n := len(names)
	for x := range n {
		for y := range n {
			if x != y {
				waitReachable(t, via(x), names[y]+"/echo/1", 10*time.Second)
			}
		}
	}
	var vias []*actor.System
	for x := range n {
		if !slices.Contains(vias, via(x)) {
			vias = append(vias, via(x))
		}
	}
	sends, news := make([]int, n), make([]int, n)
	for y := range n {
		sends[y] = count(t, vias[0], names[y]+"/counter/1")
		news[y] = count(t, vias[0], names[y]+"/news/1")
	}
	subs := make([]*actor.Subscription, len(vias))
	for i, s := range vias {
		sub, err := s.Subscribe("news."+round+".>", 64)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		subs[i] = sub
	}

	type ask struct{ agent, want string }
	var asks []ask
	ctx := context.Background()
	for x := range n {
		agent := names[x] + "/agent/1"
		for y := range n {
			if x == y {
				continue
			}
			p := fmt.Sprintf("%s:%s->%s", round, names[x], names[y])
			if got := request(t, via(x), names[y]+"/echo/1", "go:"+p); got != "go:"+p {
				t.Fatalf("echo of %s from %s: %q", names[y], names[x], got)
			}
			got := request(t, via(x), agent, "ask|"+names[y]+"/echo/1|ask:"+p)
			corr, ok := strings.CutPrefix(got, "asked:")
			if !ok {
				t.Fatalf("%s asking %s: %q", agent, names[y], got)
			}
			asks = append(asks, ask{agent, corr + ":ok:ask:" + p})
			if err := via(x).Send(ctx, actor.ID(names[y]+"/counter/1"), []byte("go-send:"+p), "text/plain"); err != nil {
				t.Fatalf("send from %s to %s: %v", names[x], names[y], err)
			}
			if got := request(t, via(x), agent, "send|"+names[y]+"/counter/1|agent-send:"+p); got != "sent" {
				t.Fatalf("%s sending to %s: %q", agent, names[y], got)
			}
		}
		if got := request(t, via(x), agent, "pub|news."+round+"."+names[x]+"|from "+agent); got != "published" {
			t.Fatalf("%s publishing: %q", agent, got)
		}
	}
	for _, s := range vias {
		if err := s.Publish(ctx, "news."+round+".go", []byte("from go"), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	publishes := n + len(vias)

	for _, a := range asks {
		waitFor(t, 10*time.Second, a.agent+" getting the reply "+a.want, func() bool {
			return slices.Contains(strings.Split(request(t, via(0), a.agent, "replies"), "\n"), a.want)
		})
	}
	for y := range n {
		id := names[y] + "/counter/1"
		want := sends[y] + 2*(n-1)
		waitFor(t, 10*time.Second, fmt.Sprintf("%s counting %d", id, want), func() bool { return count(t, vias[0], id) >= want })
		id = names[y] + "/news/1"
		want = news[y] + publishes
		waitFor(t, 10*time.Second, fmt.Sprintf("%s counting %d", id, want), func() bool { return count(t, vias[0], id) >= want })
	}
	for i, sub := range subs {
		var agents []string
		for k := range publishes {
			select {
			case m := <-sub.C:
				if strings.HasSuffix(string(m.Sender), "/agent/1") {
					agents = append(agents, string(m.Sender))
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Go subscription %d: %d of %d publishes", i, k, publishes)
			}
		}
		slices.Sort(agents)
		if want := slices.Sorted(func(yield func(string) bool) {
			for _, name := range names {
				if !yield(name + "/agent/1") {
					return
				}
			}
		}); !slices.Equal(agents, want) {
			t.Errorf("Go subscription %d got publishes from %v, want one from each of %v", i, agents, want)
		}
	}
	// Nothing twice: by now a duplicate would have arrived (each
	// publisher's messages travel in order on one route).
	for y := range n {
		if got, want := count(t, vias[0], names[y]+"/counter/1"), sends[y]+2*(n-1); got != want {
			t.Errorf("%s/counter/1 counted %d sends, want %d", names[y], got-sends[y], want-sends[y])
		}
		if got, want := count(t, vias[0], names[y]+"/news/1"), news[y]+publishes; got != want {
			t.Errorf("%s/news/1 counted %d publishes, want %d", names[y], got-news[y], publishes)
		}
	}
	for i, sub := range subs {
		select {
		case m := <-sub.C:
			t.Errorf("Go subscription %d: a publish more than expected: %q from %s", i, m.Payload, m.Sender)
		default:
		}
	}
}

// waitLostUnknown waits until st() counts want sends lost to unknown ids,
// and fails t if it counts more.
func waitLostUnknown(t testing.TB, what string, st func() Stats, want uint64) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("%s counting %d lost sends", what, want), func() bool { return st().LostUnknown >= want })
	if got := st().LostUnknown; got != want {
		t.Fatalf("%s counted %d lost sends, want %d", what, got, want)
	}
}

// requestUnknown checks that a request from sys to id fails at once with
// ErrUnknownActor (no responders), not by a timeout.
func requestUnknown(t testing.TB, sys *actor.System, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := sys.Request(ctx, actor.ID(id), []byte("anyone?"), "text/plain")
	if !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("request to %s: %v, want ErrUnknownActor", id, err)
	}
}

// keepAsking has the first host of each pair ask the second's echo actor,
// again and again, until the stop it returns is called; stop fails t
// unless every request was answered (and some were).
func keepAsking(t *testing.T, while string, pairs ...[2]*clusterHost) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var answered atomic.Int64
	errs := make(chan error, len(pairs))
	for _, p := range pairs {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := p[0].sys.Request(ctx, actor.ID(p[1].name+"/echo/1"), []byte("still here"), "text/plain")
				cancel()
				if err != nil {
					errs <- fmt.Errorf("%s asking %s %s: %w", p[0].name, p[1].name, while, err)
					return
				}
				answered.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
	}
	return func() {
		t.Helper()
		close(done)
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		if answered.Load() == 0 {
			t.Fatalf("no request answered %s", while)
		}
	}
}

// --- the tests ---------------------------------------------------------------------

// TestClusterEmbedded: three embedded servers clustered with routes on
// loopback, one host connected in-process to each: request, send and
// publish between every pair of hosts. (The servers have client
// listeners: see TestClusterWithoutClientListener.)
func TestClusterEmbedded(t *testing.T) {
	srvs, _ := startCluster(t, 3, true)
	names := []string{"h0", "h1", "h2"}
	hosts := make([]*clusterHost, 3)
	for i, s := range srvs {
		hosts[i] = joinHost(t, names[i], inProcess(t, s, names[i]), nil)
		deployStandard(t, hosts[i].sys, names[i])
	}
	checkLattice(t, "r1", names, func(x int) *actor.System { return hosts[x].sys })
	for _, h := range hosts {
		if st := h.node.Stats(); st.LostUnknown+st.LostRefused+st.RefusedIn+st.Dropped != 0 || st.RequestsOut == 0 || st.PublishIn == 0 {
			t.Errorf("%s: %+v", h.name, st)
		}
	}
}

// TestClusterWithoutClientListener: embedded servers clustered with no
// client listener asked for (ServerConfig.Listen empty) start, route to
// each other and carry the lattice; each has a loopback client port of
// its own (nats-server starts routes only after its client listener), and
// StartServer returns within a bound either way (before that was fixed, it
// never returned: not ready, then Shutdown waited forever for the routing
// goroutine).
func TestClusterWithoutClientListener(t *testing.T) {
	cfgs := clusterConfigs(t, 3, false)
	type started struct {
		s   *Server
		err error
	}
	ch := make(chan started, len(cfgs))
	for _, c := range cfgs {
		go func() {
			s, err := StartServer(context.Background(), c)
			ch <- started{s, err}
		}()
	}
	var srvs []*Server
	for range cfgs {
		select {
		case r := <-ch:
			if r.err != nil {
				t.Fatal(r.err)
			}
			srvs = append(srvs, r.s)
			t.Cleanup(r.s.Shutdown)
		case <-time.After(2 * cfgs[0].ReadyTimeout):
			t.Fatalf("StartServer did not return within %v", 2*cfgs[0].ReadyTimeout)
		}
	}
	for _, s := range srvs {
		if u := s.ClientURL(); u != "" && !strings.HasPrefix(u, "nats://127.0.0.1:") {
			t.Errorf("a client listener at %s, not on loopback", u)
		}
	}
	waitMesh(t, srvs)
	names := []string{"n0", "n1", "n2"}
	hosts := make([]*clusterHost, 3)
	for i, s := range srvs {
		hosts[i] = joinHost(t, names[i], inProcess(t, s, names[i]), nil)
		deployStandard(t, hosts[i].sys, names[i])
	}
	checkLattice(t, "r1", names, func(x int) *actor.System { return hosts[x].sys })
}

// TestClusterServerLoss: three embedded servers with client listeners.
// Host a is connected over TCP to all three (first to s0), b and c
// in-process to s1 and s2, d over TCP to s0 only. s0 shuts down: a fails
// over to another server and its actors are reachable again within a
// bound; b and c notice nothing (no disconnection, their requests to each
// other all answered meanwhile); d is cut off: a request to its actors is
// unknown-target at once (not a hang), its sends wait in its connection's
// buffer, and once its peers' heartbeats have expired (a host alone) they
// fail at once. s0 starts again on the same ports: d reconnects, its
// subscriptions are restored, each of its buffered sends is delivered or
// counted lost (never silently gone), and the four hosts are one lattice
// again.
func TestClusterServerLoss(t *testing.T) {
	srvs, cfgs := startCluster(t, 3, true)
	urls := []string{srvs[0].ClientURL(), srvs[1].ClientURL(), srvs[2].ClientURL()}
	names := []string{"a", "b", "c", "d"}
	hosts := map[string]*clusterHost{}
	for i, name := range names {
		var nc *nats.Conn
		ev := &connEvents{}
		switch name {
		case "a":
			nc = tcpConnect(t, name, urls, ev)
		case "d":
			nc = tcpConnect(t, name, urls[:1], ev, nats.IgnoreDiscoveredServers())
		default:
			nc = inProcess(t, srvs[i], name, ev.options()...)
		}
		hosts[name] = joinHost(t, name, nc, ev)
		deployStandard(t, hosts[name].sys, name)
	}
	via := func(names []string) func(int) *actor.System {
		return func(x int) *actor.System { return hosts[names[x]].sys }
	}
	a, b, c, d := hosts["a"], hosts["b"], hosts["c"], hosts["d"]
	if a.nc.ConnectedUrl() != urls[0] || d.nc.ConnectedUrl() != urls[0] {
		t.Fatalf("a on %s, d on %s: want both on s0 %s", a.nc.ConnectedUrl(), d.nc.ConnectedUrl(), urls[0])
	}
	checkLattice(t, "r1", names, via(names))

	// b and c keep asking each other while s0 is down.
	stopBC := keepAsking(t, "while s0 was down", [2]*clusterHost{b, c}, [2]*clusterHost{c, b})

	down := time.Now()
	srvs[0].Shutdown()
	srvs[0] = nil
	waitFor(t, 5*time.Second, "a reconnecting to another server", func() bool {
		return a.ev.reconnects.Load() == 1 && a.nc.IsConnected()
	})
	if u := a.nc.ConnectedUrl(); u == urls[0] {
		t.Fatalf("a reconnected to %s, the server that is down", u)
	}
	for _, from := range []*clusterHost{b, c} {
		waitReachable(t, from.sys, "a/echo/1", 5*time.Second)
		waitReachable(t, a.sys, from.name+"/echo/1", 5*time.Second)
	}
	t.Logf("a reachable again %v after s0 went down (on %s)", time.Since(down), a.nc.ConnectedUrl())
	if time.Since(down) > 5*time.Second {
		t.Errorf("a took %v to be reachable again", time.Since(down))
	}
	// d is cut off: a request to it is unknown-target at once, and its
	// own sends wait in its connection's buffer.
	waitFor(t, 5*time.Second, "d disconnected", func() bool { return !d.nc.IsConnected() })
	waitFor(t, 5*time.Second, "d's actors gone from the cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := b.sys.Request(ctx, "d/echo/1", []byte("anyone?"), "text/plain")
		return errors.Is(err, actor.ErrUnknownActor)
	})
	requestUnknown(t, b.sys, "d/echo/1")
	requestUnknown(t, a.sys, "d/agent/1")
	// d's sends while cut off: refused at once once d's peers expired
	// (no heartbeat for three of theirs: a host alone), buffered by its
	// connection before that.
	sendsBefore := count(t, b.sys, "b/counter/1")
	lostBefore := d.node.Stats().LostUnknown
	buffered, refused := 0, 0
	for i := range 5 {
		err := d.sys.Send(context.Background(), "b/counter/1", fmt.Appendf(nil, "from d, cut off, %d", i), "text/plain")
		switch {
		case err == nil:
			buffered++
		case errors.Is(err, actor.ErrUnknownActor):
			refused++
		default:
			t.Fatalf("d's send while cut off: %v", err)
		}
	}
	checkLattice(t, "r2", names[:3], via(names[:3]))
	// Once d's peers are forgotten (three of their heartbeats missed), d
	// is a host alone: its sends fail at once.
	waitFor(t, 5*time.Second, "d alone", func() bool { return len(d.node.Hosts()) == 1 })
	if err := d.sys.Send(context.Background(), "b/counter/1", []byte("alone"), "text/plain"); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("d's send once alone: %v", err)
	}
	stopBC()
	if n := b.ev.disconnects.Load() + c.ev.disconnects.Load() + b.ev.reconnects.Load() + c.ev.reconnects.Load(); n != 0 {
		t.Fatalf("b and c noticed s0 going down: %d disconnections and reconnections", n)
	}
	sendsBefore += 2 * 2 // r2's sends to b/counter/1

	// s0 again, on the same ports.
	srvs[0] = startEmbedded(t, cfgs[0])
	waitMesh(t, srvs)
	waitFor(t, 10*time.Second, "d reconnecting to s0", func() bool { return d.ev.reconnects.Load() == 1 && d.nc.IsConnected() })
	for _, h := range hosts {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := h.node.WaitHosts(ctx, len(names)); err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
		cancel()
	}
	// Each buffered send: delivered, or lost (s0 may pass it on before it
	// knows of b's subscription) and counted, never silently gone.
	waitFor(t, 5*time.Second, "d's buffered sends accounted for", func() bool {
		return count(t, b.sys, "b/counter/1")-sendsBefore+int(d.node.Stats().LostUnknown-lostBefore) == buffered
	})
	t.Logf("d's sends made while cut off: %d refused at once, %d delivered, %d lost and counted", refused,
		count(t, b.sys, "b/counter/1")-sendsBefore, d.node.Stats().LostUnknown-lostBefore)
	for _, from := range []*clusterHost{a, b, c} {
		waitReachable(t, from.sys, "d/echo/1", 5*time.Second)
	}
	checkLattice(t, "r3", names, via(names))
}

// --- hosts in other processes ------------------------------------------------------

// hostProcEnv carries a host process's configuration (JSON of hostProc):
// the test binary run again for TestClusterHostProcess.
const hostProcEnv = "AIRSSYS_LATTICE_TEST_HOST"

// hostProc is a host process: an embedded server clustered with the
// others', one host on it (deployStandard's actors), waiting until it
// reaches every other host's echo actor before it says READY.
type hostProc struct {
	Name, Listen, Route string
	Routes, Others      []string
}

// TestClusterHostProcess is the body of a host process of
// TestClusterProcesses (skipped when run otherwise). It runs until its
// stdin ends (or it is killed); it answers ctl.<name>.stats with its
// node's Stats and ctl.<name>.hosts with its Hosts (JSON).
func TestClusterHostProcess(t *testing.T) {
	spec := os.Getenv(hostProcEnv)
	if spec == "" {
		t.Skip("the body of a host process of TestClusterProcesses")
	}
	var hp hostProc
	if err := json.Unmarshal([]byte(spec), &hp); err != nil {
		t.Fatal(err)
	}
	srv := startEmbedded(t, ServerConfig{Name: hp.Name, Listen: hp.Listen, Lattice: "test", Hosts: testKeys(t),
		Cluster: ClusterConfig{Name: "lattice-test", Listen: hp.Route, Routes: hp.Routes, Secret: testSecret}})
	t.Cleanup(srv.Shutdown)
	nc := inProcess(t, srv, hp.Name)
	h := joinHost(t, hp.Name, nc, nil)
	deployStandard(t, h.sys, hp.Name)
	// The test's questions come as messages to actor ids of their own (the
	// only subjects a host may serve: its permissions), answered directly.
	if _, err := nc.QueueSubscribe(ctlSubject(hp.Name, "stats")+".*", "actor", func(m *nats.Msg) {
		b, _ := json.Marshal(h.node.Stats())
		m.Respond(b)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.QueueSubscribe(ctlSubject(hp.Name, "hosts")+".*", "actor", func(m *nats.Msg) {
		b, _ := json.Marshal(h.node.Hosts())
		m.Respond(b)
	}); err != nil {
		t.Fatal(err)
	}
	for _, o := range hp.Others {
		waitReachable(t, h.sys, o+"/echo/1", 20*time.Second)
	}
	fmt.Println("READY", hp.Name)
	io.Copy(io.Discard, os.Stdin)
}

// ctlSubject is where a host process answers the test's question what.
func ctlSubject(host, what string) string {
	return actorSubject("airssys.test", actor.ID("ctl/"+host+"/"+what))
}

// child is a process the test started: its output is kept for the
// failure message, and it is killed at the end of the test.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.Closer
	ready chan struct{}
	mu    sync.Mutex
	out   strings.Builder
	done  chan struct{}
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.out.String()
	if len(s) > 3000 {
		s = "…" + s[len(s)-3000:]
	}
	return s
}

// startChild starts cmd, watching its output (stdout and stderr) for a
// line that starts with ready ("" for none). At the end of the test it is
// sent stop (0: its stdin is closed) and, if still running 10 s later,
// killed.
func startChild(t *testing.T, name string, cmd *exec.Cmd, ready string, stop syscall.Signal) *child {
	t.Helper()
	c := &child{name: name, cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	testproc.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		pw.Close()
		close(c.done)
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			c.mu.Lock()
			c.out.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			if ready != "" && strings.HasPrefix(sc.Text(), ready) {
				once.Do(func() { close(c.ready) })
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		if stop == syscall.Signal(0) {
			c.stdin.Close()
		} else {
			cmd.Process.Signal(stop)
		}
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, c.output())
		}
	})
	return c
}

func (c *child) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-c.ready:
	case <-c.done:
		t.Fatalf("%s ended before it was ready:\n%s", c.name, c.output())
	case <-time.After(within):
		t.Fatalf("%s not ready within %v:\n%s", c.name, within, c.output())
	}
}

// kill ends the process with SIGKILL and waits for it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not end after SIGKILL", c.name)
	}
}

// TestClusterProcesses: three host processes (this test binary run again),
// each embedding a server clustered with the other two; this process is a
// fourth host, connected over TCP. Request, send and publish between every
// pair of the three (from their components: each agent asks, sends to and
// publishes for the others) and from here to each. Then one is killed
// (SIGKILL): the other two go on; a request to the dead host's actor is
// unknown-target at once (no responders), not a hang; a fire-and-forget
// send to it is counted lost by the sending host (here, and in another
// host process) and becomes a dead letter.
func TestClusterProcesses(t *testing.T) {
	names := []string{"p0", "p1", "p2"}
	ports := freePorts(t, 6)
	procs := make([]*child, 3)
	var urls []string
	for i, name := range names {
		hp := hostProc{Name: name, Listen: loopback(ports[i]), Route: loopback(ports[3+i])}
		for j, o := range names {
			if j != i {
				hp.Routes = append(hp.Routes, loopback(ports[3+j]))
				hp.Others = append(hp.Others, o)
			}
		}
		spec, _ := json.Marshal(hp)
		cmd := exec.Command(os.Args[0], "-test.run=^TestClusterHostProcess$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), hostProcEnv+"="+string(spec))
		procs[i] = startChild(t, name, cmd, "READY "+name, 0)
		urls = append(urls, "nats://"+hp.Listen)
	}
	start := time.Now()
	for _, p := range procs {
		p.waitReady(t, 30*time.Second)
	}
	t.Logf("three host processes ready in %v", time.Since(start))

	ev := &connEvents{}
	me := joinHost(t, "tester", tcpConnect(t, "tester", urls, ev), ev)
	ctl := func(name, what string, v any) {
		t.Helper()
		m, err := me.nc.Request(ctlSubject(name, what)+".tester", nil, 2*time.Second)
		if err != nil {
			t.Fatalf("%s of %s: %v", what, name, err)
		}
		if err := json.Unmarshal(m.Data, v); err != nil {
			t.Fatal(err)
		}
	}
	stats := func(name string) func() Stats {
		return func() Stats {
			var st Stats
			ctl(name, "stats", &st)
			return st
		}
	}
	hostNames := func(name string) []string {
		var hs []HostInfo
		if name == me.name {
			hs = me.node.Hosts()
		} else {
			ctl(name, "hosts", &hs)
		}
		var out []string
		for _, h := range hs {
			out = append(out, h.Name)
		}
		slices.Sort(out)
		return out
	}
	all := []string{"p0", "p1", "p2", "tester"}
	for _, name := range all {
		waitFor(t, 5*time.Second, name+" seeing every host", func() bool { return slices.Equal(hostNames(name), all) })
	}
	checkLattice(t, "r1", names, func(int) *actor.System { return me.sys })
	for _, name := range names {
		if st := stats(name)(); st.LostUnknown+st.LostRefused+st.RefusedIn != 0 || st.RequestsIn == 0 || st.DeliveredIn == 0 || st.PublishIn == 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}

	// p2 dies.
	procs[2].kill(t)
	killed := time.Now()
	gone := make(chan time.Duration, 1)
	go func() {
		isP2 := func(h HostInfo) bool { return h.Name == "p2" }
		for time.Since(killed) < 10*time.Second && slices.ContainsFunc(me.node.Hosts(), isP2) {
			time.Sleep(5 * time.Millisecond)
		}
		gone <- time.Since(killed)
	}()
	// The servers of p0 and p1 drop p2's route as soon as its socket
	// closes; until then a request may still go its way (and time out).
	timeouts := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := me.sys.Request(ctx, "p2/echo/1", []byte("are you there?"), "text/plain")
		cancel()
		if errors.Is(err, actor.ErrUnknownActor) {
			break
		}
		if err == nil || timeouts > 0 {
			t.Fatalf("request to the killed host's actor: %v, want ErrUnknownActor", err)
		}
		timeouts++
	}
	t.Logf("requests to p2's actor unknown-target %v after the kill (%d timed out)", time.Since(killed), timeouts)
	for range 5 {
		requestUnknown(t, me.sys, "p2/echo/1")
	}
	// A send to it from here: counted, a dead letter.
	if err := me.sys.Send(context.Background(), "p2/counter/1", []byte("to the dead"), "text/plain"); err != nil {
		t.Fatalf("send to the killed host's actor: %v (the loss is reported later)", err)
	}
	waitLostUnknown(t, "tester", me.node.Stats, 1)
	dead, _ := me.sys.DeadLetters()
	if len(dead) != 1 || dead[0].To != "p2/counter/1" || !errors.Is(dead[0].Reason, actor.ErrUnknownActor) {
		t.Fatalf("dead letters %+v", dead)
	}
	// From p0's agent: a send counted lost by p0, a request failing there.
	lost0 := stats("p0")().LostUnknown
	if got := request(t, me.sys, "p0/agent/1", "send|p2/counter/1|to the dead"); got != "sent" {
		t.Fatalf("p0's agent sending to p2: %q", got)
	}
	waitLostUnknown(t, "p0", stats("p0"), lost0+1)
	got := request(t, me.sys, "p0/agent/1", "ask|p2/echo/1|to the dead")
	corr, ok := strings.CutPrefix(got, "asked:")
	if !ok {
		t.Fatalf("p0's agent asking p2: %q", got)
	}
	waitFor(t, 5*time.Second, "p0's agent getting unknown-target", func() bool {
		for _, l := range strings.Split(request(t, me.sys, "p0/agent/1", "replies"), "\n") {
			if r, ok := strings.CutPrefix(l, corr+":err:"); ok {
				if !strings.Contains(r, "unknown") {
					t.Fatalf("p0's agent asking p2 got %q", l)
				}
				return true
			}
		}
		return false
	})
	// The others go on, and forget p2 after three of its heartbeats.
	checkLattice(t, "r2", names[:2], func(int) *actor.System { return me.sys })
	left := []string{"p0", "p1", "tester"}
	for _, name := range left {
		waitFor(t, 5*time.Second, name+" forgetting p2", func() bool { return slices.Equal(hostNames(name), left) })
	}
	t.Logf("p2 forgotten by the tester %v after the kill", <-gone)
	if n := ev.disconnects.Load(); n != 0 {
		t.Errorf("the tester lost its connection %d times", n)
	}
}

// --- an external cluster -----------------------------------------------------------

// natsServer builds the nats-server command of go.mod's version, from the
// module cache (no network), into a directory of the test's. No go
// command on PATH skips the test.
func natsServer(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build nats-server with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "nats-server")
	cmd := exec.Command(goCmd, "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// routezPeers asks a nats-server's monitoring endpoint how many other
// servers it routes to (-1: no answer).
func routezPeers(port int) int {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/routez", port))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var rz struct {
		Routes []struct {
			RemoteID string `json:"remote_id"`
		} `json:"routes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rz); err != nil {
		return -1
	}
	ids := map[string]bool{}
	for _, r := range rz.Routes {
		ids[r.RemoteID] = true
	}
	return len(ids)
}

// externalConfig is the configuration of external server i: clients and
// monitoring on loopback, the test hosts admitted with their permissions,
// routes authenticated with testSecret.
func externalConfig(t *testing.T, i int, ports []int, routes []string) string {
	t.Helper()
	auth, err := AuthorizationConfig("test", testKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	var quoted []string
	for _, r := range routes {
		quoted = append(quoted, fmt.Sprintf("%q", r))
	}
	return fmt.Sprintf("server_name: x%d\nlisten: %q\nhttp: %q\n%s"+
		"cluster {\n  name: lattice-ext\n  listen: %q\n  authorization { user: %q, password: %q }\n  routes: [%s]\n}\n",
		i, loopback(ports[i]), loopback(ports[6+i]), auth, loopback(ports[3+i]), routeUser, testSecret,
		strings.Join(quoted, ", "))
}

// TestClusterExternal: three nats-server processes clustered on loopback,
// three hosts of this process connected over TCP (host i first to server
// i, then to the others): request, send and publish between every pair.
// Server 0 is killed (SIGKILL): host 0 fails over to another server within
// a bound, hosts 1 and 2 notice nothing (their requests to each other all
// answered meanwhile), and the three are one lattice again.
func TestClusterExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts nats-server")
	}
	bin := natsServer(t)
	ports := freePorts(t, 9) // client, route, monitoring
	var urls []string
	srvs := make([]*child, 3)
	for i := range 3 {
		var routes []string
		for j := range 3 {
			if j != i {
				routes = append(routes, "nats-route://"+routeUser+":"+testSecret+"@"+loopback(ports[3+j]))
			}
		}
		// The hosts' permissions as docs/lattice.md tells the operator of
		// an external cluster to write them (AuthorizationConfig), routes
		// with a secret.
		conf := filepath.Join(t.TempDir(), "nats.conf")
		if err := os.WriteFile(conf, []byte(externalConfig(t, i, ports, routes)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", conf)
		srvs[i] = startChild(t, fmt.Sprintf("nats-server x%d", i), cmd, "", syscall.SIGTERM)
		urls = append(urls, "nats://"+loopback(ports[i]))
	}
	waitFor(t, 15*time.Second, "the external cluster's routes", func() bool {
		for i := range 3 {
			if routezPeers(ports[6+i]) != 2 {
				return false
			}
		}
		return true
	})

	names := []string{"e0", "e1", "e2"}
	hosts := make([]*clusterHost, 3)
	for i, name := range names {
		ev := &connEvents{}
		order := append(slices.Clone(urls[i:]), urls[:i]...)
		hosts[i] = joinHost(t, name, tcpConnect(t, name, order, ev), ev)
		if u := hosts[i].nc.ConnectedUrl(); u != urls[i] {
			t.Fatalf("%s on %s, want %s", name, u, urls[i])
		}
		deployStandard(t, hosts[i].sys, name)
	}
	via := func(x int) *actor.System { return hosts[x].sys }
	checkLattice(t, "r1", names, via)

	stopAsking := keepAsking(t, "while x0 was down", [2]*clusterHost{hosts[1], hosts[2]}, [2]*clusterHost{hosts[2], hosts[1]})
	srvs[0].kill(t)
	killed := time.Now()
	h0 := hosts[0]
	waitFor(t, 5*time.Second, "e0 reconnecting to another server", func() bool {
		return h0.ev.reconnects.Load() == 1 && h0.nc.IsConnected()
	})
	for _, other := range hosts[1:] {
		waitReachable(t, other.sys, "e0/echo/1", 5*time.Second)
		waitReachable(t, h0.sys, other.name+"/echo/1", 5*time.Second)
	}
	failover := time.Since(killed)
	t.Logf("e0 on %s, reachable again %v after x0 was killed", h0.nc.ConnectedUrl(), failover)
	if failover > 5*time.Second {
		t.Errorf("failover took %v", failover)
	}
	checkLattice(t, "r2", names, via)
	stopAsking()
	for _, h := range hosts[1:] {
		if n := h.ev.disconnects.Load() + h.ev.reconnects.Load(); n != 0 {
			t.Errorf("%s noticed x0's death: %d disconnections and reconnections", h.name, n)
		}
	}
}
