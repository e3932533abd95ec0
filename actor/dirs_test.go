package actor_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// An actor's directories are opened once, at its first start: a restart
// gets the same directory even after its path was moved away (item 10 of
// the hardening issue: a guest that swaps a granted directory for a
// symlink must not widen what the next instance reaches; the engine's
// TestDirHandleSurvivesASymlinkSwap shows the swap itself). Before, each
// instance opened the path again, so a restart failed here.
func TestRestartKeepsTheDirectoriesOfTheFirstStart(t *testing.T) {
	sys, rec := newSystem(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	s := spec(t, "test/trapper/dirs", "actor_trapper")
	s.Limits.WASI.Dirs = []engine.Dir{{HostPath: data, GuestPath: "/data", ReadOnly: true}}
	if err := sys.DeploySupervisor(context.Background(), fastRestarts(s)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(data, filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	send(t, sys, "test/trapper/dirs", "trap")
	eventually(t, "restart", func() bool {
		return rec.count(actor.EventRestarted, "test/trapper/dirs") == 1 ||
			rec.count(actor.EventFailed, "test/trapper/dirs") > 0
	})
	if rec.count(actor.EventRestarted, "test/trapper/dirs") != 1 {
		t.Fatalf("the restart failed: it opened the moved path again\n%s", rec.logText())
	}
	if got := ask(t, sys, "test/trapper/dirs", "get"); got != "handled=1" {
		t.Fatalf("after restart: %q", got)
	}
	// A directory that is missing at the first start fails the deploy.
	bad := spec(t, "test/trapper/nodir", "actor_trapper")
	bad.Limits.WASI.Dirs = []engine.Dir{{HostPath: filepath.Join(root, "nothing"), GuestPath: "/x"}}
	if err := sys.Deploy(context.Background(), bad); err == nil {
		t.Fatal("an actor with a missing directory was deployed")
	}
}
