package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Handled before the restart below (a restart overtakes queued messages).
	if got := ask(t, sys, "test/counter/1", "get"); got != "count=1 errors=0 last=1" {
		t.Fatalf("counter: %q", got)
	}
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

// StartConcurrency starts many children at once; one failing init
// undoes the whole tree as in order.
func TestStartConcurrency(t *testing.T) {
	sys, _ := newSystem(t)
	ctx := context.Background()
	tree := actor.SupervisorSpec{Name: "many", StartConcurrency: 4}
	for i := 1; i <= 20; i++ {
		tree.Children = append(tree.Children, spec(t, fmt.Sprintf("test/counter/%d", i), "actor_counter"))
	}
	if err := sys.DeploySupervisor(ctx, tree); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		if got := ask(t, sys, fmt.Sprintf("test/counter/%d", i), "get"); got != "count=0 errors=0 last=0" {
			t.Fatalf("counter %d: %q", i, got)
		}
	}
	bad := actor.SupervisorSpec{Name: "bad", StartConcurrency: 3}
	for i := 1; i <= 12; i++ {
		s := spec(t, fmt.Sprintf("test/trapper/%d", i), "actor_trapper")
		if i == 7 {
			s = spec(t, "test/trapper/7", "actor_trapper", "fail-init", "1")
		}
		bad.Children = append(bad.Children, s)
	}
	if err := sys.DeploySupervisor(ctx, bad); !errors.Is(err, actor.ErrStartupFailed) || !strings.Contains(err.Error(), "test/trapper/7") {
		t.Fatalf("a failing init among concurrent starts: %v", err)
	}
	if n := len(sys.Actors()); n != 20 {
		t.Fatalf("%d actors after a failed tree, want the first tree's 20", n)
	}
}

// A supervisor left with no child (its only, temporary, actor trapped) is
// gone: nothing joins it, and a new tree may take its name; two running
// trees may not share one.
func TestEmptiedSupervisorIsGone(t *testing.T) {
	sys, rec := newSystem(t)
	ctx := context.Background()
	tmp := spec(t, "test/trapper/1", "actor_trapper")
	tmp.Restart = actor.Temporary
	if err := sys.DeploySupervisor(ctx, actor.SupervisorSpec{Name: "app", Children: []actor.Child{tmp}}); err != nil {
		t.Fatal(err)
	}
	if err := sys.DeploySupervisor(ctx, actor.SupervisorSpec{Name: "app",
		Children: []actor.Child{spec(t, "test/echo/1", "actor_echo")}}); !errors.Is(err, actor.ErrExists) {
		t.Fatalf("a second tree of the same name: %v", err)
	}
	send(t, sys, "test/trapper/1", "trap")
	eventually(t, "the temporary actor ends", func() bool {
		return rec.count(actor.EventStopped, "test/trapper/1")+rec.count(actor.EventFailed, "test/trapper/1") > 0
	})
	if err := sys.DeployChild(ctx, "app", spec(t, "test/echo/1", "actor_echo")); !errors.Is(err, actor.ErrNoSupervisor) {
		t.Fatalf("joining an emptied supervisor: %v", err)
	}
	if err := sys.DeploySupervisor(ctx, actor.SupervisorSpec{Name: "app",
		Children: []actor.Child{spec(t, "test/echo/1", "actor_echo")}}); err != nil {
		t.Fatalf("a new tree of the emptied one's name: %v", err)
	}
	if err := sys.DeployChild(ctx, "app", spec(t, "test/echo/2", "actor_echo")); err != nil {
		t.Fatal(err)
	}
}
