package actor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// systemWith is newSystem with options: events and logs (at debug) go to
// the recorder.
func systemWith(t *testing.T, opts actor.Options) (*actor.System, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts.Observer = rec.observe
	opts.Logger = slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sys := actor.NewSystem(eng0(t), opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return sys, rec
}

// askCtx is ask with an error instead of a fatal failure.
func askErr(sys *actor.System, to, payload string, within time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, err := sys.Request(ctx, actor.ID(to), []byte(payload), "text/plain")
	return string(m.Payload), err
}

// The outstanding-request limit: past it, a component is told
// mailbox-full (world 0.1.0 has no better value).
func TestOutstandingRequestLimit(t *testing.T) {
	sys, _ := systemWith(t, actor.Options{MaxPendingRequests: 3})
	deploy(t, sys, spec(t, "test/agent/1", "actor_agent", "timeout-ms", "60000"))
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))
	for i := 1; i <= 3; i++ {
		if got := ask(t, sys, "test/agent/1", "ask|test/silent/1|x"); !strings.HasPrefix(got, "asked:") {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	if got := ask(t, sys, "test/agent/1", "ask|test/silent/1|x"); got != "error:mailbox-full" {
		t.Fatalf("request 4 of a limit of 3: %q", got)
	}
}

// A publish reaches an actor once even when two of its patterns match.
func TestPublishIsDeliveredOncePerActor(t *testing.T) {
	sys, _ := newSystem(t)
	s := spec(t, "test/counter/1", "actor_counter")
	s.Subscriptions = []string{"news.*", "news.>", "news.eu"}
	deploy(t, sys, s)
	if err := sys.Publish(context.Background(), "news.eu", []byte("x"), ""); err != nil {
		t.Fatal(err)
	}
	// Publish queued every copy before it returned; get comes after them.
	if got := ask(t, sys, "test/counter/1", "get"); !strings.HasPrefix(got, "count=1 ") {
		t.Fatalf("after one publish: %q", got)
	}
}

// A Go request whose context has no deadline ends after
// Options.RequestTimeout.
func TestGoRequestDefaultTimeout(t *testing.T) {
	sys, _ := systemWith(t, actor.Options{RequestTimeout: 50 * time.Millisecond})
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))
	done := make(chan error, 1)
	go func() {
		_, err := sys.Request(context.Background(), "test/silent/1", []byte("x"), "")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, actor.ErrRequestTimeout) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a request without deadline never ended")
	}
}

// The restart window: restarts spread over more than Period never add up
// to an escalation; a burst inside it does.
func TestRestartWindowSlides(t *testing.T) {
	const period = 150 * time.Millisecond
	sys, rec := newSystem(t)
	spread := actor.SupervisorSpec{Name: "spread", MaxRestarts: 2, Period: period, BackoffMin: time.Millisecond,
		BackoffMax: time.Millisecond, Children: []actor.Child{spec(t, "test/spread/1", "actor_trapper")}}
	if err := sys.DeploySupervisor(context.Background(), spread); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 5; n++ {
		send(t, sys, "test/spread/1", "trap")
		eventually(t, fmt.Sprintf("restart %d", n), func() bool {
			return rec.count(actor.EventRestarted, "test/spread/1") == n ||
				rec.find(actor.EventFailed, "supervisor/spread") != nil
		})
		if rec.find(actor.EventFailed, "supervisor/spread") != nil {
			t.Fatalf("trap %d escalated, though each restart was alone in its window", n)
		}
		time.Sleep(2 * period) // this restart leaves the window before the next trap
	}

	burst := actor.SupervisorSpec{Name: "burst", MaxRestarts: 2, Period: time.Minute, BackoffMin: time.Millisecond,
		BackoffMax: time.Millisecond, Children: []actor.Child{spec(t, "test/burst/1", "actor_trapper")}}
	if err := sys.DeploySupervisor(context.Background(), burst); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		send(t, sys, "test/burst/1", "trap")
		if n < 3 {
			eventually(t, fmt.Sprintf("burst restart %d", n), func() bool {
				return rec.count(actor.EventRestarted, "test/burst/1") == n
			})
		}
	}
	eventually(t, "burst escalated", func() bool { return rec.find(actor.EventFailed, "supervisor/burst") != nil })
}

// A Go sender on a full Block mailbox waits for its own context, not for
// Options.SendTimeout (which is for components).
func TestGoSenderIgnoresSendTimeout(t *testing.T) {
	sys, _ := systemWith(t, actor.Options{SendTimeout: 5 * time.Millisecond})
	s := spec(t, "test/trapper/1", "actor_trapper")
	s.MailboxSize = 1
	s.Limits.Timeout = time.Minute
	deploy(t, sys, s)
	fillBlocked(t, sys, "test/trapper/1")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := sys.Send(ctx, "test/trapper/1", []byte("x"), "")
	if !errors.Is(err, actor.ErrMailboxFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the mailbox full at the context's deadline", err)
	}
}

// fillBlocked makes a trapper spin in a handler and fills its mailbox of
// one. The trapper is stopped (its handler interrupted) when the test ends.
func fillBlocked(t *testing.T, sys *actor.System, id actor.ID) {
	t.Helper()
	t.Cleanup(func() { stopNow(t, sys, id) })
	send(t, sys, string(id), "spin")
	eventually(t, string(id)+" busy", func() bool {
		st, _ := sys.Stats(id)
		return st.Busy && st.MailboxDepth == 0
	})
	send(t, sys, string(id), "queued")
}

// stopNow stops an actor without waiting for its handler.
func stopNow(t *testing.T, sys *actor.System, id actor.ID) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sys.Stop(ctx, id)
}
