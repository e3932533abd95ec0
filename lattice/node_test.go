package lattice

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// The engine compiles each fixture once for the whole package.
var (
	engOnce sync.Once
	eng     *engine.Engine
	comps   sync.Map
)

func component(t testing.TB, name string) *engine.Component {
	t.Helper()
	engOnce.Do(func() {
		var err error
		if eng, err = engine.New(engine.Config{}); err != nil {
			panic(err)
		}
	})
	if c, ok := comps.Load(name); ok {
		return c.(*engine.Component)
	}
	c, err := eng.CompileFile(context.Background(), filepath.Join("..", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	comps.Store(name, c)
	return c
}

// host is one host of a test lattice: its System and Node.
type host struct {
	sys  *actor.System
	node *Node
}

// newHost joins a host to the lattice of srv (an in-process connection).
func newHost(t *testing.T, srv *Server, name string, mode Mode) *host {
	t.Helper()
	nc, err := srv.Connect(name, testOpts(t, name)...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(nc, Config{Lattice: "test", Host: name, Mode: mode, AckTimeout: 2 * time.Second})
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
	return &host{sys: sys, node: n}
}

func startServer(t *testing.T) *Server {
	t.Helper()
	srv, err := StartServer(context.Background(), ServerConfig{Lattice: "test", Hosts: testKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// joined waits until every host sees all of them.
func joined(t *testing.T, hosts ...*host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, h := range hosts {
		if err := h.node.WaitHosts(ctx, len(hosts)); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *host) deploy(t *testing.T, id, comp string, config map[string]string, subs ...string) {
	t.Helper()
	if err := h.sys.Deploy(context.Background(), actor.Spec{ID: actor.ID(id), Component: component(t, comp),
		Config: config, Subscriptions: subs}); err != nil {
		t.Fatal(err)
	}
	// The actor's subscription reaches the server before the test asks it
	// from another connection (else: no responders, now and then).
	if err := h.node.conn.Flush(); err != nil {
		t.Fatal(err)
	}
}

func (h *host) ask(t *testing.T, id, payload string) string {
	t.Helper()
	m, err := h.sys.Request(context.Background(), actor.ID(id), []byte(payload), "text/plain")
	if err != nil {
		t.Fatalf("request %s %q: %v", id, payload, err)
	}
	return string(m.Payload)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCrossHostRequestAndSend: Go on host a asks an actor of host b; an
// actor of host a asks one of host b (the reply comes back to the
// requesting component); a send from a reaches b's actor with its sender
// as a asserted it; metadata (content type, headers, status) travels.
func TestCrossHostRequestAndSend(t *testing.T) {
	srv := startServer(t)
	a, b := newHost(t, srv, "a", FireAndForget), newHost(t, srv, "b", FireAndForget)
	joined(t, a, b)
	b.deploy(t, "b/echo/1", "actor2_echotext", nil)
	b.deploy(t, "b/agent/1", "actor2_agent2", nil)
	a.deploy(t, "a/agent/1", "actor2_agent2", nil)

	if got := a.ask(t, "b/echo/1", "over the lattice"); got != "over the lattice" {
		t.Fatalf("echo on b replied %q", got)
	}
	// A component on a asks one on b: handle-reply on a gets it.
	if got := a.ask(t, "a/agent/1", "ask|b/agent/1|ping"); !strings.HasPrefix(got, "asked:") {
		t.Fatalf("ask: %q", got)
	}
	eventually(t, "the reply on a", func() bool {
		return strings.Contains(a.ask(t, "a/agent/1", "replies"), ":ok:got:ping")
	})
	// b's agent saw a's agent as the sender: "self" then a send back.
	if got := a.ask(t, "a/agent/1", "send|b/agent/1|send|a/agent/1|hello back"); got != "sent" {
		t.Fatalf("send: %q", got)
	}
	// Metadata: mirror replies with status 201, a content type and a header.
	m, err := a.sys.RequestMessage(context.Background(), "b/agent/1", actor.Message{
		Payload: []byte("mirror|201|application/x-test"), ContentType: "text/plain",
		Headers: []actor.Header{{Name: "x-one", Value: "1 = one"}, {Name: "x-two", Value: "é\n"}}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != 201 || m.ContentType != "application/x-test" || string(m.Payload) != "mirror|201|application/x-test" ||
		len(m.Headers) != 1 || m.Headers[0] != (actor.Header{Name: "x-mirror", Value: "1"}) {
		t.Fatalf("mirror reply %+v", m)
	}
	st := a.node.Stats()
	if st.RequestsOut < 3 || b.node.Stats().RequestsIn < 3 {
		t.Fatalf("stats a %+v b %+v", st, b.node.Stats())
	}
}

// TestCrossHostErrors: a handler's error comes back as *HandlerError; an
// id no host serves is ErrUnknownActor for a request, a counted loss and
// a dead letter for a fire-and-forget send, and ErrUnknownActor for an
// acknowledged one.
func TestCrossHostErrors(t *testing.T) {
	srv := startServer(t)
	a, b := newHost(t, srv, "a", FireAndForget), newHost(t, srv, "b", FireAndForget)
	acked := newHost(t, srv, "c", Acknowledged)
	joined(t, a, b, acked)
	b.deploy(t, "b/sick/1", "actor2_sick", nil)
	b.deploy(t, "b/go/1", "goactor_agent", nil)
	ctx := context.Background()

	_, err := a.sys.Request(ctx, "nowhere/x/1", []byte("hi"), "text/plain")
	if !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("request to nobody: %v", err)
	}
	if err := a.sys.Send(ctx, "nowhere/x/1", []byte("hi"), "text/plain"); err != nil {
		t.Fatalf("fire and forget to nobody: %v (the loss is reported later)", err)
	}
	eventually(t, "the loss counted", func() bool { return a.node.Stats().LostUnknown == 1 })
	dead, _ := a.sys.DeadLetters()
	if len(dead) != 1 || dead[0].To != "nowhere/x/1" || !errors.Is(dead[0].Reason, actor.ErrUnknownActor) {
		t.Fatalf("dead letters %+v", dead)
	}
	if err := acked.sys.Send(ctx, "nowhere/x/1", []byte("hi"), "text/plain"); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("acknowledged send to nobody: %v", err)
	}
	if err := acked.sys.Send(ctx, "b/sick/1", []byte("hi"), "text/plain"); err != nil {
		t.Fatalf("acknowledged send: %v", err)
	}
	var he *actor.HandlerError
	_, err = a.sys.Request(ctx, "b/go/1", []byte("fail"), "text/plain")
	if !errors.As(err, &he) || he.Message != "failed on purpose" || he.Actor != "b/go/1" {
		t.Fatalf("handler error across hosts: %T %v", err, err)
	}
}

// TestCrossHostPublish: a publish on a reaches the subscribers of b and
// a's own, each once (no echo of a's publish back to a).
func TestCrossHostPublish(t *testing.T) {
	srv := startServer(t)
	a, b := newHost(t, srv, "a", FireAndForget), newHost(t, srv, "b", FireAndForget)
	joined(t, a, b)
	subA, _ := a.sys.Subscribe("news.>", 16)
	subB, _ := b.sys.Subscribe("news.*", 16)
	if err := a.sys.Publish(context.Background(), "news.eu", []byte("elections"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*actor.Subscription{subA, subB} {
		select {
		case m := <-s.C:
			if string(m.Payload) != "elections" || m.Topic != "news.eu" {
				t.Fatalf("got %+v", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no publish arrived")
		}
	}
	// Nothing more: a got its own publish once, b once.
	if err := b.sys.Publish(context.Background(), "sport.x", []byte("goal"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	a.node.conn.Flush()
	b.node.conn.Flush()
	time.Sleep(50 * time.Millisecond) // a duplicate would have arrived by now
	select {
	case m := <-subA.C:
		t.Fatalf("a got a second message %+v", m)
	case m := <-subB.C:
		t.Fatalf("b got a second message %+v", m)
	default:
	}
}

// TestEscapeToken: ids with what NATS treats specially survive the trip.
func TestEscapeToken(t *testing.T) {
	for _, s := range []string{"app/x/1", "a.b/c.d/1", "a*b>c", "100%", "sp ace", "é", ""} {
		e := escapeToken(s)
		if strings.ContainsAny(e, ".*> ") {
			t.Errorf("%q escaped to %q", s, e)
		}
		if back, err := unescapeToken(e); err != nil || back != s {
			t.Errorf("%q -> %q -> %q, %v", s, e, back, err)
		}
	}
	if escapeToken("app/x/1") != "app/x/1" {
		t.Error("an ordinary id changed")
	}
}

// TestMembership: hosts see each other by heartbeats; a host that stops
// says so (gone at once); a host that dies silently (its connection
// closed without a word) is gone after three heartbeats. A host alone
// sends nothing to NATS: a publish stays local, a send to an id it does
// not serve fails at once.
func TestMembership(t *testing.T) {
	srv := startServer(t)
	a := newHost(t, srv, "a", FireAndForget)
	if err := a.sys.Publish(context.Background(), "x.y", []byte("alone"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := a.sys.Send(context.Background(), "b/x/1", []byte("hi"), "text/plain"); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("send with no peer: %v", err)
	}
	if st := a.node.Stats(); st.PublishedOut != 0 || st.SentOut != 0 {
		t.Fatalf("a host alone used NATS: %+v", st)
	}
	b := newHost(t, srv, "b", FireAndForget)
	c := newHost(t, srv, "c", FireAndForget)
	joined(t, a, b, c)
	if hs := a.node.Hosts(); len(hs) != 3 || hs[0].Name != "a" || !hs[0].Self || hs[1].Name != "b" || hs[2].Name != "c" {
		t.Fatalf("hosts %+v", hs)
	}
	b.node.Close() // a stop: says so
	eventually(t, "b gone", func() bool { return len(a.node.Hosts()) == 2 })
	c.node.conn.Close() // a death: no word
	start := time.Now()
	eventually(t, "c gone", func() bool { return len(a.node.Hosts()) == 1 })
	if d := time.Since(start); d < a.node.cfg.Heartbeat {
		t.Fatalf("c forgotten after %v, before its heartbeats could expire", d)
	}
}

// TestCrossHostRefusals: a receiving host refuses what its mailbox cannot
// take: an acknowledged send gets ErrMailboxFull back; a fire-and-forget
// one is counted as refused on both sides and is a dead letter on the
// sending host (its loss report), never silent.
func TestCrossHostRefusals(t *testing.T) {
	srv := startServer(t)
	a, b := newHost(t, srv, "a", FireAndForget), newHost(t, srv, "b", FireAndForget)
	acked := newHost(t, srv, "c", Acknowledged)
	joined(t, a, b, acked)
	ctx := context.Background()
	// b's actor is kept busy by a request it spins on (until its 2 s
	// timeout), with room for one message queued behind it.
	s := actor.Spec{ID: "b/busy/1", Component: component(t, "goactor_agent"), MailboxSize: 1, Overflow: actor.Reject}
	s.Limits.Timeout = 2 * time.Second
	if err := b.sys.Deploy(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sys.Ask(ctx, "b/busy/1", []byte("spin"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the actor busy", func() bool {
		st, err := b.sys.Stats("b/busy/1")
		return err == nil && st.MailboxDepth == 0 && st.Busy
	})
	if err := acked.sys.Send(ctx, "b/busy/1", []byte("queued"), "text/plain"); err != nil {
		t.Fatalf("the one message with room: %v", err)
	}
	if err := acked.sys.Send(ctx, "b/busy/1", []byte("no room"), "text/plain"); !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("acknowledged send to a full mailbox: %v", err)
	}
	for range 3 {
		if err := a.sys.Send(ctx, "b/busy/1", []byte("no room"), "text/plain"); err != nil {
			t.Fatalf("fire and forget: %v", err)
		}
	}
	eventually(t, "three losses reported to a", func() bool { return a.node.Stats().LostRefused == 3 })
	if st := b.node.Stats(); st.RefusedIn != 4 {
		t.Fatalf("b refused %d, want 4 (one acknowledged, three not): %+v", st.RefusedIn, st)
	}
	dead, _ := a.sys.DeadLetters()
	if len(dead) != 3 || dead[0].To != "b/busy/1" || !errors.Is(dead[0].Reason, actor.ErrMailboxFull) {
		t.Fatalf("a's dead letters: %+v", dead)
	}
}

// TestCandidatesAndChanges: a host's labels reach the others' Candidates,
// placement over them is the same on every host, and OnChange hears
// joins and leaves.
func TestCandidatesAndChanges(t *testing.T) {
	srv := startServer(t)
	var changes atomic.Int32
	node := func(name string, labels map[string]string, onChange func()) *Node {
		nc, err := srv.Connect(name, testOpts(t, name)...)
		if err != nil {
			t.Fatal(err)
		}
		n, err := New(nc, Config{Lattice: "test", Host: name, Labels: labels, OnChange: onChange})
		if err != nil {
			t.Fatal(err)
		}
		sys := actor.NewSystem(eng, actor.Options{Remote: n})
		if err := n.Attach(sys); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(); nc.Close() })
		return n
	}
	component(t, "actor2_echotext") // the engine
	a := node("a", map[string]string{"zone": "eu"}, func() { changes.Add(1) })
	b := node("b", map[string]string{"zone": "us"}, nil)
	eventually(t, "a hears b", func() bool { return len(a.Candidates()) == 2 && changes.Load() == 1 })
	eventually(t, "b hears a", func() bool { return len(b.Candidates()) == 2 })
	ca := a.Candidates()
	if ca[1].Name != "b" || ca[1].Labels["zone"] != "us" || ca[0].Labels["zone"] != "eu" {
		t.Fatalf("candidates %+v", ca)
	}
	all := ids(100)
	pa, pb := Place(all, a.Candidates(), Constraint{}), Place(all, b.Candidates(), Constraint{})
	for id, h := range pa {
		if pb[id] != h {
			t.Fatalf("%s: a places it on %s, b on %s", id, h, pb[id])
		}
	}
	b.Close()
	eventually(t, "a hears b leave", func() bool { return len(a.Candidates()) == 1 && changes.Load() == 2 })
	if _, err := New(a.conn, Config{Host: "x", Labels: map[string]string{"": "v"}}); err == nil {
		t.Fatal("an empty label key was taken")
	}
}

// TestServerPortZero: port 0 is a free port (nats-server would take its
// default, 4222), for clients and routes.
func TestServerPortZero(t *testing.T) {
	srv, err := StartServer(context.Background(), ServerConfig{Listen: "127.0.0.1:0", Lattice: "test", Hosts: testKeys(t),
		Cluster: ClusterConfig{Name: "z", Listen: "127.0.0.1:0", Secret: testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if u := srv.ClientURL(); u == "" || strings.HasSuffix(u, ":4222") {
		t.Fatalf("client URL %q", u)
	}
	if _, err := StartServer(context.Background(), ServerConfig{Listen: "127.0.0.1:99999", Hosts: testKeys(t)}); err == nil {
		t.Fatal("port 99999 taken")
	}
}

// TestCrossHostBlockMailbox: a message from another host waits at most
// DeliverWait for room in a full Block mailbox, then is refused
// (mailbox-full to an acknowledged sender); a message with room waits
// for nothing.
func TestCrossHostBlockMailbox(t *testing.T) {
	srv := startServer(t)
	b := newHost(t, srv, "b", FireAndForget)
	acked := newHost(t, srv, "c", Acknowledged)
	joined(t, b, acked)
	ctx := context.Background()
	s := actor.Spec{ID: "b/busy/1", Component: component(t, "goactor_agent"), MailboxSize: 1, Overflow: actor.Block}
	s.Limits.Timeout = 2 * time.Second
	if err := b.sys.Deploy(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sys.Ask(ctx, "b/busy/1", []byte("spin"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the actor busy", func() bool {
		st, err := b.sys.Stats("b/busy/1")
		return err == nil && st.MailboxDepth == 0 && st.Busy
	})
	if err := acked.sys.Send(ctx, "b/busy/1", []byte("queued"), "text/plain"); err != nil {
		t.Fatalf("the one message with room: %v", err)
	}
	start := time.Now()
	err := acked.sys.Send(ctx, "b/busy/1", []byte("no room"), "text/plain")
	waited := time.Since(start)
	if !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("acknowledged send to a full Block mailbox: %v", err)
	}
	if waited < b.node.cfg.DeliverWait {
		t.Fatalf("refused after %v, before DeliverWait (%v): it did not wait for room", waited, b.node.cfg.DeliverWait)
	}
}

// TestCrossHostBadInput: what reaches a host's actor subject from NATS
// without a sender, with a header it cannot read, or of an unknown kind
// is refused with an error to the reply subject and counted, and the
// actor never sees it.
func TestCrossHostBadInput(t *testing.T) {
	srv := startServer(t)
	b := newHost(t, srv, "b", FireAndForget)
	b.deploy(t, "b/agent/1", "actor2_agent2", nil)
	raw, err := srv.Connect("raw", testOpts(t, "raw")...)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	subj := actorSubject(b.node.prefix, "b/agent/1") + ".raw"
	for _, h := range []nats.Header{
		{hKind: {"request"}}, // no sender
		{hKind: {"request"}, hSender: {"x%2Fy%2F1"}, hTime: {"soon"}}, // a time it cannot read
		{hKind: {"request"}, hSender: {"x/y/1"}, hHeader: {"no-equals"}},
		{hKind: {"sideways"}, hSender: {"x/y/1"}}, // an unknown kind
	} {
		msg, err := raw.RequestMsg(&nats.Msg{Subject: subj, Header: h, Data: []byte("self")}, 5*time.Second)
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		if msg.Header.Get(hError) == "" {
			t.Fatalf("%v: answered %q %v, want an error", h, msg.Data, msg.Header)
		}
	}
	if st := b.node.Stats(); st.RefusedIn != 4 {
		t.Fatalf("refused %d, want 4", st.RefusedIn)
	}
	if st, _ := b.sys.Stats("b/agent/1"); st.Handled != 0 {
		t.Fatalf("the actor handled %d of them", st.Handled)
	}
}
