package lattice

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// durableHost is a host of a test lattice with durable mailboxes.
type durableHost struct {
	sys *actor.System
	d   *Durable
}

func startJetStream(t *testing.T) *Server {
	t.Helper()
	srv, err := StartServer(context.Background(), ServerConfig{Lattice: "test", Hosts: testKeys(t), JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// newDurableHost joins host name to srv's lattice, the ids durable names
// having durable mailboxes; check, when given, is its Config.CheckSender.
func newDurableHost(t *testing.T, srv *Server, name string, durable func(actor.ID) bool, cfg MailboxConfig,
	check ...func(string, actor.ID) error) *durableHost {
	t.Helper()
	nc, err := srv.Connect(name, testOpts(t, name)...)
	if err != nil {
		t.Fatal(err)
	}
	ncfg := Config{Lattice: "test", Host: name}
	if len(check) > 0 {
		ncfg.CheckSender = check[0]
	}
	n, err := New(nc, ncfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDurable(n, durable, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(eng, actor.Options{Remote: d, RequestTimeout: 5 * time.Second})
	if err := d.Attach(sys); err != nil {
		t.Fatal(err)
	}
	h := &durableHost{sys: sys, d: d}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
		d.Close()
		nc.Close()
	})
	return h
}

// seen collects the numbers durable agents publish on topic "seen".
type seen struct {
	mu     sync.Mutex
	counts map[int]int
}

func (s *seen) follow(t *testing.T, sys *actor.System) {
	t.Helper()
	sub, err := sys.Subscribe("seen", 4096)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range sub.C {
			n, err := strconv.Atoi(string(m.Payload))
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.counts[n]++
			s.mu.Unlock()
		}
	}()
	t.Cleanup(sub.Close)
}

// all says whether 1..n were each seen, and how many more than once.
func (s *seen) all(n int) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dup := 0
	for i := 1; i <= n; i++ {
		switch c := s.counts[i]; {
		case c == 0:
			return false, 0
		case c > 1:
			dup += c - 1
		}
	}
	return true, dup
}

// TestDurableMailboxes: a send to a durable actor is stored by JetStream
// before it returns (from another host and from its own), the host that
// runs the actor consumes it in order, and when the actor stops there
// with messages left and starts on another host, that host handles the
// rest: every acknowledged send is handled at least once, none lost; a
// mailbox at its cap refuses with mailbox-full; a message the receiving
// host's sender check refuses is a dead letter, never handled.
func TestDurableMailboxes(t *testing.T) {
	srv := startJetStream(t)
	durable := func(id actor.ID) bool { return strings.HasPrefix(string(id), "d/") }
	a := newDurableHost(t, srv, "a", durable, MailboxConfig{AckWait: time.Second})
	b := newDurableHost(t, srv, "b", durable, MailboxConfig{AckWait: time.Second})
	c := newDurableHost(t, srv, "c", durable, MailboxConfig{AckWait: time.Second})
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, h := range []*durableHost{a, b, c} {
		if err := h.d.WaitHosts(wait, 3); err != nil {
			t.Fatal(err)
		}
	}
	var got seen
	got.counts = map[int]int{}
	got.follow(t, a.sys) // the actor's publishes reach every host: a never runs it
	spec := actor.Spec{ID: "d/agent/1", Component: component(t, "actor2_agent2"), Durable: true}
	if err := b.sys.Deploy(ctx, spec); err != nil {
		t.Fatal(err)
	}
	send := func(h *durableHost, from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if err := h.sys.Send(ctx, "d/agent/1", []byte(fmt.Sprintf("pub|seen|%d", i)), "text/plain"); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
	}
	send(a, 1, 100)   // from another host
	send(b, 101, 150) // from its own host: through the stream too
	eventually(t, "150 messages handled", func() bool { ok, _ := got.all(150); return ok })
	if st := b.d.MailboxStats(); st.Handled != 150 || st.DeadLettered != 0 {
		t.Fatalf("b's mailbox stats %+v", st)
	}

	// The actor stops on b; what is sent meanwhile waits in the stream,
	// and the host that runs it next (c) handles it.
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := b.sys.Stop(sctx, "d/agent/1"); err != nil {
		t.Fatal(err)
	}
	send(a, 151, 1150)
	if err := c.sys.Deploy(ctx, spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the messages sent while no host ran it handled", func() bool { ok, _ := got.all(1150); return ok })
	if sc := c.d.MailboxStats(); sc.Handled != 1000 {
		t.Fatalf("c handled %d, want the 1000 sent while the actor ran nowhere", sc.Handled)
	}

	// It moves while messages flow: stopped on c in the middle of 2000
	// sends, started on b again. Every one is handled, at least once.
	moved := make(chan error, 1)
	go func() {
		for c.d.MailboxStats().Handled < 1300 {
			time.Sleep(time.Millisecond)
		}
		err := c.sys.Stop(sctx, "d/agent/1")
		if err == nil {
			err = b.sys.Deploy(ctx, spec)
		}
		moved <- err
	}()
	send(a, 1151, 3150)
	select {
	case err := <-moved:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the actor never moved")
	}
	eventually(t, "every message handled after the move", func() bool { ok, _ := got.all(3150); return ok })
	_, dup := got.all(3150)
	sb, sc := b.d.MailboxStats(), c.d.MailboxStats()
	t.Logf("b %+v, c %+v, handled twice: %d", sb, sc, dup)
	if sb.Handled+sc.Handled < 3150 || sb.Handled <= 150 || sc.Handled <= 1000 || sb.DeadLettered+sc.DeadLettered != 0 {
		t.Fatalf("b %+v, c %+v: want all 3150 handled, on both hosts, no dead letter", sb, sc)
	}

	// Its host shuts down without waiting while its local mailbox is
	// full of a backlog: what b held goes back, and c handles it.
	if err := b.sys.Stop(sctx, "d/agent/1"); err != nil {
		t.Fatal(err)
	}
	send(a, 3151, 5150)
	base, back := b.d.MailboxStats().Handled, b.d.MailboxStats().GivenBack
	if err := b.sys.Deploy(ctx, spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b at work on the backlog", func() bool { return b.d.MailboxStats().Handled >= base+20 })
	nowait, ncancel := context.WithTimeout(ctx, time.Millisecond)
	defer ncancel()
	b.sys.Shutdown(nowait)
	// What b held in its local mailbox goes back as its actor's stop ends
	// (after Shutdown's deadline); how much depends on how far ahead its
	// consumer was: logged, and whatever it was, c handles the rest.
	if _, dead := b.sys.DeadLetters(); dead != 0 {
		t.Fatalf("%d dead letters on b: a durable message not handled goes back", dead)
	}
	if err := c.sys.Deploy(ctx, spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every message handled after b's shutdown", func() bool { ok, _ := got.all(5150); return ok })
	_, dup = got.all(5150)
	t.Logf("after b's shutdown (given back before it: %d): b %+v, c %+v, handled twice: %d", back, b.d.MailboxStats(),
		c.d.MailboxStats(), dup)

	// A mailbox nobody consumes, at its cap (the stream is made by the
	// first host that needs it, with its settings: another server).
	capped := newDurableHost(t, startJetStream(t), "d", durable, MailboxConfig{MaxPerActor: 5})
	for i := 0; i < 5; i++ {
		if err := capped.sys.Send(ctx, "d/nobody/1", []byte("x"), "text/plain"); err != nil {
			t.Fatalf("send %d to a mailbox with room: %v", i, err)
		}
	}
	if err := capped.sys.Send(ctx, "d/nobody/1", []byte("x"), "text/plain"); !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("the 6th send to a mailbox capped at 5: %v, want mailbox-full", err)
	}
}

// TestDurableStoredSenderCheck: a stored message's sender is checked, as
// it is consumed, by MailboxConfig.CheckStored when set (the sending host
// may have stopped since: the live check, Config.CheckSender, would
// refuse it), else by Config.CheckSender; a refused one is a dead letter.
func TestDurableStoredSenderCheck(t *testing.T) {
	srv := startJetStream(t)
	durable := func(id actor.ID) bool { return strings.HasPrefix(string(id), "d/") }
	a := newDurableHost(t, srv, "a", durable, MailboxConfig{})
	refuseLive := func(string, actor.ID) error { return errors.New("not live") }
	var checked sync.Map
	b := newDurableHost(t, srv, "b", durable, MailboxConfig{CheckStored: func(host string, sender actor.ID) error {
		checked.Store(host+" "+string(sender), true)
		return nil
	}}, refuseLive)
	c := newDurableHost(t, srv, "c", durable, MailboxConfig{}, refuseLive)
	ctx := context.Background()
	for _, h := range []struct {
		h  *durableHost
		id actor.ID
	}{{b, "d/agent/1"}, {c, "d/agent/2"}} {
		if err := h.h.sys.Deploy(ctx, actor.Spec{ID: h.id, Component: component(t, "actor2_agent2"), Durable: true}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		for _, id := range []actor.ID{"d/agent/1", "d/agent/2"} {
			if err := a.sys.Send(ctx, id, []byte("x"), "text/plain"); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "b handles all ten, c refuses all ten", func() bool {
		return b.d.MailboxStats().Handled == 10 && c.d.MailboxStats().DeadLettered == 10
	})
	if _, ok := checked.Load("a host/go"); !ok {
		t.Error("CheckStored was not asked with the sending host and the sender")
	}
	if st := c.d.MailboxStats(); st.Handled != 0 {
		t.Fatalf("c handled refused messages: %+v", st)
	}
}
