package actor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// recordingRemote is an actor.Remote that records what it is handed.
type recordingRemote struct {
	mu   sync.Mutex
	sent []actor.ID
}

func (r *recordingRemote) Send(_ context.Context, to actor.ID, m actor.Message, reply func(actor.Message, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reply != nil {
		return errors.New("recordingRemote: no requests")
	}
	r.sent = append(r.sent, to)
	return nil
}
func (r *recordingRemote) Publish(context.Context, actor.Message) error { return nil }
func (r *recordingRemote) Local(actor.ID, bool)                         {}

// TestDurableMailbox: sends to a durable actor go to Remote even though
// it runs here (its mailbox is the Remote's), requests do not; what
// DeliverDurable brings in is handled, each with done(true), and what is
// still in the mailbox when the actor stops goes back (done(false)),
// never a dead letter.
func TestDurableMailbox(t *testing.T) {
	rr := &recordingRemote{}
	sys := actor.NewSystem(eng0(t), actor.Options{Remote: rr})
	s := spec(t, "test/counter/1", "actor_counter")
	s.Durable, s.MailboxSize = true, 20_000
	deploy(t, sys, s)
	plain := spec(t, "test/counter/2", "actor_counter")
	deploy(t, sys, plain)
	ctx := context.Background()
	if err := sys.Send(ctx, "test/counter/1", []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := sys.Send(ctx, "test/counter/2", []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	rr.mu.Lock()
	sent := append([]actor.ID(nil), rr.sent...)
	rr.mu.Unlock()
	if len(sent) != 1 || sent[0] != "test/counter/1" {
		t.Fatalf("sent to Remote: %v, want the durable actor only", sent)
	}
	echo := spec(t, "test/echo/1", "actor2_echotext")
	echo.Durable = true
	deploy(t, sys, echo)
	if m, err := sys.Request(ctx, "test/echo/1", []byte("x"), "text/plain"); err != nil || string(m.Payload) != "x" {
		t.Fatalf("a request to a durable actor is handled here: %q, %v", m.Payload, err)
	}

	var handled, back atomic.Int64
	var twice atomic.Bool
	deliver := func(n int) {
		for i := 0; i < n; i++ {
			var once atomic.Bool
			err := sys.DeliverDurable(ctx, "test/counter/1", actor.Message{Sender: "other/x/1", Payload: []byte("x")},
				func(ok bool) {
					if once.Swap(true) {
						twice.Store(true)
					}
					if ok {
						handled.Add(1)
					} else {
						back.Add(1)
					}
				})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver(100)
	deadline := time.Now().Add(10 * time.Second)
	for handled.Load() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("handled %d of 100", handled.Load())
		}
		time.Sleep(time.Millisecond)
	}
	// A durable message waits for room even in a Reject mailbox (the
	// durable mailbox holds the rest): none is refused as mailbox-full.
	small := spec(t, "test/counter/3", "actor_counter")
	small.Durable, small.MailboxSize, small.Overflow = true, 2, actor.Reject
	deploy(t, sys, small)
	var smallDone atomic.Int64
	for i := 0; i < 200; i++ {
		if err := sys.DeliverDurable(ctx, "test/counter/3", actor.Message{Sender: "other/x/1", Payload: []byte("x")},
			func(ok bool) {
				if ok {
					smallDone.Add(1)
				}
			}); err != nil {
			t.Fatalf("message %d to a full Reject mailbox: %v", i, err)
		}
	}
	for smallDone.Load() != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("handled %d of 200", smallDone.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if err := sys.DeliverDurable(ctx, "test/nobody/1", actor.Message{Sender: "other/x/1"}, func(bool) {}); !errors.Is(err, actor.ErrUnknownActor) {
		t.Errorf("to an unknown actor: %v", err)
	}
	if err := sys.DeliverDurable(ctx, "test/counter/1", actor.Message{}, func(bool) {}); err == nil {
		t.Error("no sender accepted")
	}

	// Far more than a millisecond's work, then a shutdown that cannot
	// wait: what was not handled goes back.
	const n = 20_000
	deliver(n)
	sctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	sys.Shutdown(sctx)
	if handled.Load()+back.Load() != 100+n || back.Load() == 0 || twice.Load() {
		t.Fatalf("handled %d + given back %d != %d delivered (done twice: %v)", handled.Load(), back.Load(), 100+n, twice.Load())
	}
	if _, dead := sys.DeadLetters(); dead != 0 {
		t.Fatalf("%d dead letters: a durable message not handled goes back, it is no dead letter", dead)
	}
}
