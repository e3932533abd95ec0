package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer read while it is written.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDevReloadsNewBuilds: `dev` runs a component as an actor, answers
// stdin's lines, takes over each new build of the file by live update
// (printing what changed), and keeps the running version when a build
// does not load.
func TestDevReloadsNewBuilds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.wasm")
	copyFile := func(name string) {
		t.Helper()
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil { // as a build tool does
			t.Fatal(err)
		}
	}
	copyFile("actor_agent.wasm")
	in, feed := io.Pipe()
	out, errs := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- cmdDev(ctx, []string{path}, in, out, errs) }()
	t.Cleanup(func() {
		cancel()
		feed.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("dev did not end")
		}
	})
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("never saw %q; output:\n%s\nstderr:\n%s", what, out.String(), errs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("watching for new builds")
	io.WriteString(feed, "hello\n")
	waitFor("got:hello")

	copyFile("actor2_agent2.wasm") // world 0.1.0 -> 0.2.0
	waitFor("updated to the new build")
	if !strings.Contains(out.String(), "+ export airssys:actor/actor@0.2.0") ||
		!strings.Contains(out.String(), "- export airssys:actor/actor@0.1.0") {
		t.Fatalf("the change of exports is not shown:\n%s", out.String())
	}
	io.WriteString(feed, "mirror|7|x\n") // a command only agent2 knows
	waitFor("\nmirror|7|x\n")            // agent2 mirrors it; agent would say got:...

	// A build that does not load: the running version stays.
	os.WriteFile(path+".tmp", []byte("not wasm"), 0o600)
	os.Rename(path+".tmp", path)
	waitFor("new build not loaded")
	io.WriteString(feed, "self\n")
	waitFor("dev/component/1")
}
