package actor_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// TestUpdateUnderLoadLosesNothing: while a Go sender floods an actor with
// numbered messages (each published on to a Go subscriber), the actor is
// updated back and forth between its 0.1.0 and 0.2.0 builds (Update, then
// Rollback) many times. Every number arrives once, in order; handled plus
// dead-lettered equals sent; nothing trapped.
func TestUpdateUnderLoadLosesNothing(t *testing.T) {
	n, switches := 300_000, 100
	if testing.Short() || raceEnabled {
		n, switches = 20_000, 10
	}
	sys, rec := newSystem(t)
	v1, v2 := component(t, "actor_agent"), component(t, "actor2_agent2")
	s := actor.Spec{ID: "app/agent/1", Component: v1, MailboxSize: 1 << 16}
	deploy(t, sys, s)
	sub, err := sys.Subscribe("load.seq", n)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx := context.Background()

	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	var sendTime time.Duration
	go func() { // the load
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := sys.Send(ctx, "app/agent/1", []byte("pub|load.seq|"+strconv.Itoa(i)), ""); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
		sendTime = time.Since(start)
	}()
	updates, refused := 0, 0
	sick, broken := component(t, "actor2_sick"), component(t, "actor2_forward")
	wg.Add(1)
	go func() { // the updates, while the load flows
		defer wg.Done()
		for updates < switches {
			// Now and then a version that is unhealthy, or whose init fails:
			// rolled back before it takes over, the traffic unharmed.
			if updates%10 == 0 {
				for _, bad := range []*engine.Component{sick, broken} {
					if err := sys.Update(ctx, "app/agent/1", bad, nil); !errors.Is(err, actor.ErrUpdateFailed) {
						t.Errorf("a bad version: %v, want ErrUpdateFailed", err)
						return
					}
					refused++
				}
			}
			if err := sys.Update(ctx, "app/agent/1", v2, nil); err != nil {
				t.Errorf("update %d: %v", updates, err)
				return
			}
			if err := sys.Rollback(ctx, "app/agent/1"); err != nil {
				t.Errorf("rollback %d: %v", updates, err)
				return
			}
			updates += 2
		}
		_ = v1
	}()
	next := 0
	deadline := time.After(60 * time.Second)
	for next < n {
		select {
		case m := <-sub.C:
			got, err := strconv.Atoi(string(m.Payload))
			if err != nil || got != next {
				t.Fatalf("message %d arrived as %q: lost, duplicated or out of order", next, m.Payload)
			}
			next++
		case <-deadline:
			t.Fatalf("only %d of %d messages arrived", next, n)
		}
	}
	wg.Wait()
	if updates < switches {
		t.Fatalf("%d switches, want %d", updates, switches)
	}
	// The last message is published inside its call: wait for that call.
	eventually(t, "the last call to end", func() bool {
		st, _ := sys.Stats("app/agent/1")
		return st.Handled+st.DeadLettered >= uint64(n)
	})
	st, _ := sys.Stats("app/agent/1")
	if st.Handled+st.DeadLettered != uint64(n) || st.Failed != 0 || st.Restarts != 0 {
		t.Fatalf("stats %+v after %d messages", st, n)
	}
	if got := rec.count(actor.EventUpdated, "app/agent/1"); got != switches {
		t.Fatalf("%d update events, want %d", got, switches)
	}
	t.Logf("%d messages at %.0f/s with %d switches and %d refused versions", n, float64(n)/sendTime.Seconds(),
		switches, refused)
	select {
	case m := <-sub.C:
		t.Fatalf("a message too many: %q", m.Payload)
	default:
	}
}

// TestFailedUpdateKeepsTheOldVersion: a new version whose init fails, or
// that is not an actor, is discarded and the running one never stops;
// Rollback without an update is refused.
func TestFailedUpdateKeepsTheOldVersion(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "app/agent/1", "actor_agent"))
	ctx := context.Background()
	if err := sys.Rollback(ctx, "app/agent/1"); !errors.Is(err, actor.ErrNoRollback) {
		t.Fatalf("rollback before any update: %v", err)
	}
	// actor2_forward's init fails without its config.
	err := sys.Update(ctx, "app/agent/1", component(t, "actor2_forward"), nil)
	if !errors.Is(err, actor.ErrUpdateFailed) || !strings.Contains(err.Error(), "forward: config") {
		t.Fatalf("update to a version that fails init: %v", err)
	}
	err = sys.Update(ctx, "app/agent/1", component(t, "actor2_sick"), nil)
	if !errors.Is(err, actor.ErrUpdateFailed) || !strings.Contains(err.Error(), "unhealthy") {
		t.Fatalf("update to a version that reports unhealthy: %v", err)
	}
	if err := sys.Update(ctx, "app/agent/1", component(t, "minimal"), nil); !errors.Is(err, actor.ErrUpdateFailed) {
		t.Fatalf("update to a non-actor: %v", err)
	}
	if got := ask(t, sys, "app/agent/1", "hello"); got != "got:hello" {
		t.Fatalf("after failed updates: %q", got)
	}
	if err := sys.Update(ctx, "no/such/actor", component(t, "actor_agent"), nil); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatal(err)
	}
	if st, _ := sys.Stats("app/agent/1"); st.Restarts != 0 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUpdateKeepsDataAndRestartsStartTheNewVersion: a counter kept in
// wasi:keyvalue by version 1 is read by version 2; a restart after the
// update starts version 2, and Rollback goes back to version 1.
func TestUpdateKeepsDataAndRestartsStartTheNewVersion(t *testing.T) {
	db, _ := kvDB(t)
	sys, rec := kvSystem(t, db)
	deploy(t, sys, kvSpec(t, "app/kv/1", billing))
	ask(t, sys, "app/kv/1", "count|c|n")
	ask(t, sys, "app/kv/1", "count|c|n")
	v2, err := eng0(t).CompileFile(context.Background(), "../testdata/actor2_kv.wasm") // another compilation: another version
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Update(context.Background(), "app/kv/1", v2, nil); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, sys, "app/kv/1", "count|c|n"); got != "3" {
		t.Fatalf("version 2 reads %q, want 3", got)
	}
	// Update to the agent, which traps on nothing; restarts must start it.
	if err := sys.Update(context.Background(), "app/kv/1", component(t, "actor2_trapper"), nil); err != nil {
		t.Fatal(err)
	}
	send(t, sys, "app/kv/1", "trap")
	eventually(t, "the restart", func() bool { return rec.count(actor.EventRestarted, "app/kv/1") == 1 })
	if got := ask(t, sys, "app/kv/1", "get"); !strings.HasPrefix(got, "handled=") {
		t.Fatalf("after the restart the actor answers %q: not the trapper", got)
	}
	if err := sys.Rollback(context.Background(), "app/kv/1"); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, sys, "app/kv/1", "count|c|n"); got != "4" {
		t.Fatalf("after rollback: %q", got)
	}
}

// TestUpdateAllIsAllOrNothing: when one new version of a group fails to
// start, no actor of the group switches; when all start, all switch.
func TestUpdateAllIsAllOrNothing(t *testing.T) {
	sys, rec := newSystem(t)
	for _, id := range []string{"app/a/1", "app/b/1"} {
		deploy(t, sys, spec(t, id, "actor_agent"))
	}
	ctx := context.Background()
	err := sys.UpdateAll(ctx, []actor.Change{
		{ID: "app/a/1", Component: component(t, "actor2_agent2")},
		{ID: "app/b/1", Component: component(t, "actor2_forward")}, // init fails
	})
	if !errors.Is(err, actor.ErrUpdateFailed) {
		t.Fatalf("UpdateAll with a failing version: %v", err)
	}
	for _, id := range []string{"app/a/1", "app/b/1"} {
		if got := ask(t, sys, id, "mirror|1|x"); got != "got:mirror|1|x" {
			t.Fatalf("%s switched although the group failed: %q", id, got)
		}
	}
	if err := sys.UpdateAll(ctx, []actor.Change{
		{ID: "app/a/1", Component: component(t, "actor2_agent2")},
		{ID: "app/b/1", Component: component(t, "actor2_agent2")},
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"app/a/1", "app/b/1"} {
		if got := ask(t, sys, id, "mirror|1|x"); got != "mirror|1|x" {
			t.Fatalf("%s did not switch: %q", id, got)
		}
		if rec.count(actor.EventUpdated, actor.ID(id)) != 1 {
			t.Fatalf("%s: update events", id)
		}
	}
}
