package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// An actor added to a running supervisor is its child: under one-for-all,
// its trap restarts the actors that were there before it.
func TestDeployChildJoinsTheSupervisor(t *testing.T) {
	sys, rec := newSystem(t)
	ctx := context.Background()
	if err := sys.DeploySupervisor(ctx, actor.SupervisorSpec{Name: "app", Strategy: actor.OneForAll,
		BackoffMin: time.Millisecond, BackoffMax: time.Millisecond,
		Children: []actor.Child{spec(t, "test/counter/1", "actor_counter")}}); err != nil {
		t.Fatal(err)
	}
	send(t, sys, "test/counter/1", "seq:1")
	if err := sys.DeployChild(ctx, "app", spec(t, "test/trapper/1", "actor_trapper")); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, sys, "test/trapper/1", "get"); got != "handled=1" {
		t.Fatalf("new child: %q", got)
	}
	send(t, sys, "test/trapper/1", "trap")
	eventually(t, "the first child restarted by the new one's trap", func() bool {
		return rec.count(actor.EventRestarted, "test/counter/1") == 1
	})
	if got := ask(t, sys, "test/counter/1", "get"); got != "count=0 errors=0 last=0" {
		t.Fatalf("counter after a one-for-all restart: %q", got)
	}

	if err := sys.DeployChild(ctx, "nope", spec(t, "test/echo/9", "actor_echo")); !errors.Is(err, actor.ErrNoSupervisor) {
		t.Fatalf("unknown supervisor: %v", err)
	}
	if err := sys.DeployChild(ctx, "app", spec(t, "test/counter/1", "actor_counter")); !errors.Is(err, actor.ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	bad := spec(t, "test/trapper/2", "actor_trapper", "fail-init", "1")
	if err := sys.DeployChild(ctx, "app", bad); !errors.Is(err, actor.ErrStartupFailed) {
		t.Fatalf("failing init: %v", err)
	}
	if _, err := sys.Stats("test/trapper/2"); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("an actor whose init failed stays registered: %v", err)
	}
	// Stopping every child removes the supervisor: nothing joins it after.
	for _, id := range []actor.ID{"test/counter/1", "test/trapper/1"} {
		if err := sys.Stop(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := sys.DeployChild(ctx, "app", spec(t, "test/echo/9", "actor_echo")); !errors.Is(err, actor.ErrNoSupervisor) {
		t.Fatalf("supervisor with no child left: %v", err)
	}
}

func TestRestartReplacesTheInstanceAndKeepsTheMailbox(t *testing.T) {
	sys, rec := newSystem(t)
	ctx := context.Background()
	deploy(t, sys, spec(t, "test/counter/1", "actor_counter"))
	send(t, sys, "test/counter/1", "seq:1")
	if got := ask(t, sys, "test/counter/1", "get"); got != "count=1 errors=0 last=1" {
		t.Fatalf("before: %q", got)
	}
	if err := sys.Restart(ctx, "test/counter/1"); err != nil {
		t.Fatal(err)
	}
	send(t, sys, "test/counter/1", "seq:2") // queued behind the restart
	eventually(t, "restarted", func() bool { return rec.count(actor.EventRestarted, "test/counter/1") == 1 })
	// A fresh instance (count from 0) handled the queued seq:2, which it
	// counts as out of order (it expected seq:1).
	if got := ask(t, sys, "test/counter/1", "get"); got != "count=1 errors=1 last=2" {
		t.Fatalf("after restart: %q (fresh state, the queued message handled)", got)
	}
	if st, _ := sys.Stats("test/counter/1"); st.Restarts != 1 {
		t.Fatalf("restarts %d", st.Restarts)
	}
	if err := sys.Restart(ctx, "test/none/1"); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("unknown: %v", err)
	}
}
