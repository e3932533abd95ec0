package state

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var ctx = context.Background()

func TestPutGetListDelete(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBolt(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a := App{Name: "shop", Digest: "sha256:1", Source: []byte("name = \"shop\"\n"), Deployed: time.Unix(1, 0).UTC()}
	if err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	s.Put(ctx, App{Name: "blog", Digest: "sha256:2"})
	if got, err := s.Get(ctx, "shop"); err != nil || got.Digest != a.Digest || string(got.Source) != string(a.Source) ||
		!got.Deployed.Equal(a.Deployed) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "none"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.Put(ctx, App{}); err == nil {
		t.Fatal("an app without a name was kept")
	}
	// Survives a reopen; another process is locked out meanwhile.
	if _, err := OpenBolt(dir, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s, err = OpenBolt(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, _ := s.List(ctx)
	if len(list) != 2 || list[0].Name != "blog" || list[1].Name != "shop" {
		t.Fatalf("list %+v", list)
	}
	s.Delete(ctx, "blog")
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("junk junk junk junk junk junk junk junk"), 0o600)
	if _, err := OpenBolt(dir, time.Second); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("junk: %v", err)
	}
}

// TestKillDuringPut: a child process puts apps in a loop and reports each
// after Put returned; after a kill -9 at a random moment, every reported
// app is there.
func TestKillDuringPut(t *testing.T) {
	if dir := os.Getenv("STATE_CHILD_DIR"); dir != "" {
		s, err := OpenBolt(dir, time.Second)
		if err != nil {
			os.Exit(3)
		}
		for i := 0; ; i++ {
			if err := s.Put(ctx, App{Name: "app-" + strconv.Itoa(i), Digest: strconv.Itoa(i)}); err != nil {
				os.Exit(4)
			}
			os.Stdout.WriteString(strconv.Itoa(i) + "\n")
		}
	}
	for round := 0; round < 5; round++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringPut$")
		cmd.Env = append(os.Environ(), "STATE_CHILD_DIR="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<16)
		var got []byte
		deadline := time.Now().Add(time.Duration(20+round*20) * time.Millisecond)
		for time.Now().Before(deadline) {
			n, err := out.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		last := -1
		for _, line := range splitLines(got) {
			if n, err := strconv.Atoi(line); err == nil {
				last = n
			}
		}
		s, err := OpenBolt(dir, time.Second)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		for i := 0; i <= last; i++ {
			if _, err := s.Get(ctx, "app-"+strconv.Itoa(i)); err != nil {
				t.Fatalf("round %d: acknowledged app %d lost: %v", round, i, err)
			}
		}
		s.Close()
	}
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}
