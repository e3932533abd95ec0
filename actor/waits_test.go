package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// Item 19: Deploy's context bounds the first start (init), while the
// actor's host functions still work during init (the glue logs its
// self-id there).
func TestDeployHonoursItsContext(t *testing.T) {
	sys, rec := systemWith(t, actor.Options{MessageTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sys.Deploy(ctx, spec(t, "test/hostile/1", "actor_hostile", "spin-init", "1")) }()
	select {
	case err := <-done:
		if !errors.Is(err, actor.ErrStartupFailed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deploy: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Deploy ignored its context's deadline while init looped")
	}
	if ids := sys.Actors(); len(ids) != 0 {
		t.Fatalf("actors after a failed deploy: %v", ids)
	}
	// A deploy within its context works, and the context is not kept: the
	// actor serves after it is cancelled.
	ctx2, cancel2 := context.WithCancel(context.Background())
	if err := sys.Deploy(ctx2, spec(t, "test/hostile/2", "actor_hostile")); err != nil {
		t.Fatal(err)
	}
	cancel2()
	if got := ask(t, sys, "test/hostile/2", "hi"); got != "got:hi" {
		t.Fatal(got)
	}
	if !strings.Contains(rec.logText(), "context=test/hostile/2") {
		t.Fatal("init's log line (with its self-id) is missing")
	}
}

// A Go sender on a full Block mailbox really waits (it is counted as
// blocked and has not returned) until its context is cancelled.
func TestBlockOverflowWaitsForContext(t *testing.T) {
	sys, _ := newSystem(t)
	s := spec(t, "test/trapper/1", "actor_trapper")
	s.MailboxSize = 1
	s.Limits.Timeout = time.Minute
	deploy(t, sys, s)
	fillBlocked(t, sys, "test/trapper/1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sys.Send(ctx, "test/trapper/1", []byte("x"), "") }()
	eventually(t, "the sender blocked", func() bool {
		st, _ := sys.Stats("test/trapper/1")
		return st.BlockedSenders == 1
	})
	select {
	case err := <-done:
		t.Fatalf("a send to a full mailbox returned while blocked: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, actor.ErrMailboxFull) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked send ignored its cancelled context")
	}
	if st, _ := sys.Stats("test/trapper/1"); st.BlockedSenders != 0 {
		t.Fatalf("%d senders still counted as blocked", st.BlockedSenders)
	}
}

// fullSubscribers deploys n trappers subscribed to "full.t", each busy and
// with its mailbox of one full.
func fullSubscribers(t *testing.T, sys *actor.System, n int) []actor.ID {
	t.Helper()
	var ids []actor.ID
	for i := 0; i < n; i++ {
		s := spec(t, fmt.Sprintf("test/sub/%d", i), "actor_trapper")
		s.MailboxSize = 1
		s.Limits.Timeout = time.Minute
		s.Subscriptions = []string{"full.t"}
		deploy(t, sys, s)
		fillBlocked(t, sys, s.ID)
		ids = append(ids, s.ID)
	}
	return ids
}

// Item 18: one host call waits at most SendTimeout in all, however many
// full mailboxes it meets.
func TestPublishToFullMailboxesWaitsOneSendTimeoutInAll(t *testing.T) {
	sys, _ := systemWith(t, actor.Options{SendTimeout: time.Second})
	fullSubscribers(t, sys, 5)
	s := spec(t, "test/agent/1", "actor_agent")
	s.Limits.Timeout = time.Minute
	deploy(t, sys, s)
	// Five subscribers, one SendTimeout each, would take 5 s.
	got, err := askErr(sys, "test/agent/1", "pub|full.t|x", 3500*time.Millisecond)
	if err != nil || got != "error:mailbox-full" {
		t.Fatalf("publish to 5 full mailboxes: %q, %v", got, err)
	}
}

// Item 18: a host call never outlives its actor's per-message deadline.
func TestHostCallEndsByTheMessageDeadline(t *testing.T) {
	sys, _ := systemWith(t, actor.Options{SendTimeout: time.Minute})
	fullSubscribers(t, sys, 2)
	s := spec(t, "test/agent/1", "actor_agent")
	s.Limits.Timeout = 200 * time.Millisecond
	if err := sys.DeploySupervisor(context.Background(), fastRestarts(s)); err != nil {
		t.Fatal(err)
	}
	// The host call ends at the handler's deadline: the guest then either
	// traps with its timeout or (if it reaches no check before the epoch
	// ticks) returns the refusal.
	got, err := askErr(sys, "test/agent/1", "pub|full.t|x", 10*time.Second)
	var trap *engine.Trap
	if !(errors.As(err, &trap) && trap.Kind == engine.TrapTimeout) && !(err == nil && got == "error:mailbox-full") {
		t.Fatalf("%q, %v; want the handler's own timeout", got, err)
	}
}

// Item 18: Stop (and Shutdown) end a blocked host call at once. (On
// Shutdown the targets' own stop also ends it.)
func TestStopEndsABlockedHostCall(t *testing.T) {
	for _, how := range []string{"stop", "shutdown"} {
		t.Run(how, func(t *testing.T) {
			sys, rec := systemWith(t, actor.Options{SendTimeout: time.Minute})
			subs := fullSubscribers(t, sys, 2)
			s := spec(t, "test/agent/1", "actor_agent")
			s.Limits.Timeout = time.Minute
			deploy(t, sys, s)
			reply := make(chan string, 1)
			go func() {
				got, err := askErr(sys, "test/agent/1", "pub|full.t|x", 20*time.Second)
				reply <- fmt.Sprint(got, err)
			}()
			eventually(t, "the publish blocked", func() bool {
				st, _ := sys.Stats(subs[0])
				return st.BlockedSenders == 1
			})
			// Generous: the agent's stop takes milliseconds; Shutdown also
			// waits this long for the spinning subscribers.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if how == "stop" {
				if err := sys.Stop(ctx, "test/agent/1"); err != nil {
					t.Fatalf("stop: %v", err)
				}
			} else {
				sys.Shutdown(ctx) // the spinning subscribers end with ctx
				ev := rec.find(actor.EventStopped, "test/agent/1")
				if dl, _ := ctx.Deadline(); ev == nil || !ev.Time.Before(dl) {
					t.Fatalf("the agent stopped at %+v, not before the shutdown's deadline", ev)
				}
			}
			select {
			case got := <-reply:
				// On Shutdown the subscribers stop too, which may end the
				// wait first (their mailboxes close: unknown-target).
				if got != "error:closed<nil>" && (how == "stop" || got != "error:unknown-target<nil>") {
					t.Fatalf("the blocked publish returned %q", got)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no reply")
			}
		})
	}
}
