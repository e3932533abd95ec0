package jskv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// Data and usage survive closing the connection and restarting the server
// on the same store directory.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s := startServer(t, dir)
	nc := connect(t, s)
	b, err := Open(ctx, nc, Options{Lattice: "restart"})
	must(t, err)
	must(t, b.Set(ctx, alice, "b", "k", []byte("v"), storage.Limits{}))
	must(t, b.SetMany(ctx, alice, "b", []storage.KV{{Key: "m1", Value: []byte("1")}, {Key: "m2", Value: []byte("22")}}, storage.Limits{}))
	must(t, b.Set(ctx, alice, "b", "gone", []byte("x"), storage.Limits{}))
	must(t, b.Delete(ctx, alice, "b", "gone"))
	_, err = b.Increment(ctx, bob, "c", "n", 42, storage.Limits{})
	must(t, err)
	must(t, b.Close())
	nc.Close()
	s.Shutdown()
	s.WaitForShutdown()

	s = startServer(t, dir)
	b, err = Open(ctx, connect(t, s), Options{Lattice: "restart"})
	must(t, err)
	defer b.Close()
	wantValue(t, b, alice, "b", "k", "v", true)
	wantValue(t, b, alice, "b", "m2", "22", true)
	wantValue(t, b, alice, "b", "gone", "", false)
	wantValue(t, b, bob, "c", "n", "42", true)
	wantUsage(t, b, alice, storage.Usage{Bytes: 2 + 3 + 4, Keys: 3}, "b")
	wantUsage(t, b, bob, storage.Usage{Bytes: 3, Keys: 1}, "c")
	// Writes go on where they were.
	n, err := b.Increment(ctx, bob, "c", "n", 1, storage.Limits{})
	if err != nil || n != 43 {
		t.Fatalf("increment after restart: %d, %v", n, err)
	}
	wantErr(t, b.Close(), nil)
	_, _, err = b.Get(ctx, alice, "b", "k")
	wantErr(t, err, storage.ErrClosed)
	wantErr(t, b.Set(ctx, alice, "b", "k", nil, storage.Limits{}), storage.ErrClosed)
}

const childDirEnv = "JSKV_KILL_CHILD_DIR"

// The child of TestKillDurability: an embedded server and a backend, and
// writers that report each acknowledged write on fd 3 until killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("the child process of TestKillDurability")
	}
	acks := os.NewFile(3, "acks")
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(acks, format+"\n", args...); err != nil {
			os.Exit(4)
		}
	}
	fail := func(err error) {
		ack("E %s", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(2)
	}
	s := startServer(t, dir)
	b, err := Open(context.Background(), connect(t, s), Options{Lattice: "kill"})
	if err != nil {
		fail(err)
	}
	round := os.Getenv("JSKV_KILL_ROUND")
	ctx := context.Background()
	ack("R")
	for g := range 2 {
		go func() { // fresh keys
			for i := 0; ; i++ {
				k := fmt.Sprintf("r%s-s%d-%d", round, g, i)
				if err := b.Set(ctx, alice, "set", k, []byte("v"+k), storage.Limits{}); err != nil {
					fail(err)
				}
				ack("S %s", k)
			}
		}()
		go func() { // one counter
			for {
				n, err := b.Increment(ctx, bob, "ctr", "n", 1, storage.Limits{})
				if err != nil {
					fail(err)
				}
				ack("C %d", n)
			}
		}()
	}
	go func() { // batches of 1..20 fresh keys
		for i := 0; ; i++ {
			var kvs []storage.KV
			for j := range i%20 + 1 {
				k := fmt.Sprintf("r%s-b%d-%d-of-%d", round, i, j, i%20+1)
				kvs = append(kvs, storage.KV{Key: k, Value: []byte("v" + k)})
			}
			if err := b.SetMany(ctx, alice, "batch", kvs, storage.Limits{}); err != nil {
				fail(err)
			}
			ack("B %d", i)
		}
	}()
	go func() { // a key set, then deleted
		for i := 0; ; i++ {
			k := fmt.Sprintf("r%s-d%d", round, i)
			if err := b.Set(ctx, alice, "del", k, []byte("x"), storage.Limits{}); err != nil {
				fail(err)
			}
			if err := b.Delete(ctx, alice, "del", k); err != nil {
				fail(err)
			}
			ack("D %s", k)
		}
	}()
	select {} // until killed
}

// acked is what the children acknowledged.
type acked struct {
	n       int
	sets    []string
	counter int64
	batches []int
	deleted []string
}

func (a *acked) line(t *testing.T, round int, l string) {
	kind, arg, _ := strings.Cut(l, " ")
	switch kind {
	case "R":
		return
	case "E":
		t.Fatalf("round %d: the child failed: %s", round, arg)
	case "S":
		a.sets = append(a.sets, arg)
	case "C":
		n, _ := strconv.ParseInt(arg, 10, 64)
		a.counter = max(a.counter, n)
	case "B":
		n, _ := strconv.Atoi(arg)
		a.batches = append(a.batches, n)
	case "D":
		a.deleted = append(a.deleted, arg)
	default:
		t.Fatalf("round %d: unknown line %q", round, l)
	}
	a.n++
}

// A child writing through the backend is killed (SIGKILL, server and all)
// in the middle of its writes; the server restarted on its directory has
// every acknowledged write, every batch whole or absent, and exact usage.
func TestKillDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	dir := t.TempDir()
	var all acked
	for round, afterAcks := range []int{150, 600} {
		a := killChild(t, dir, round, afterAcks)
		all.sets = append(all.sets, a.sets...)
		all.deleted = append(all.deleted, a.deleted...)
		all.counter = max(all.counter, a.counter)
		all.batches = a.batches // named by round: checked for this round
		verifyAfterKill(t, dir, round, &all)
	}
}

func killChild(t *testing.T, dir string, round, afterAcks int) *acked {
	pr, pw, err := os.Pipe()
	must(t, err)
	defer pr.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, "JSKV_KILL_ROUND="+strconv.Itoa(round))
	cmd.ExtraFiles = []*os.File{pw}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		pw.Close()
		t.Fatal(err)
	}
	pw.Close()
	lines := make(chan string, 4096)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	a := &acked{}
	killed := false
	kill := func() {
		if !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err = <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("the child did not end within 10s of its pipe closing")
				}
				var ee *exec.ExitError
				if !killed || !errors.As(err, &ee) {
					t.Fatalf("round %d: the child ended on its own (%v):\n%s", round, err, out.String())
				}
				return a
			}
			if strings.HasPrefix(l, "E ") {
				kill()
			}
			a.line(t, round, l)
			if a.n >= afterAcks {
				kill()
			}
		case <-deadline:
			kill()
			cmd.Wait()
			t.Fatalf("round %d: %d acknowledgements in 30s, not %d:\n%s", round, a.n, afterAcks, out.String())
		}
	}
}

func verifyAfterKill(t *testing.T, dir string, round int, a *acked) {
	ctx := testCtx(t)
	s := startServer(t, dir)
	nc := connect(t, s)
	b, err := Open(ctx, nc, Options{Lattice: "kill"})
	must(t, err)
	for _, k := range a.sets {
		wantValue(t, b, alice, "set", k, "v"+k, true)
	}
	for _, k := range a.deleted {
		wantValue(t, b, alice, "del", k, "", false)
	}
	v, _, err := b.Get(ctx, bob, "ctr", "n")
	must(t, err)
	if n, _ := strconv.ParseInt(string(v), 10, 64); n < a.counter {
		t.Fatalf("round %d: counter %d, %d acknowledged", round, n, a.counter)
	}
	// Every batch, acknowledged or not, is whole or absent.
	count := map[string]int{}
	for _, k := range allKeys(t, b, alice, "batch") {
		var r, i, j, of int
		if _, err := fmt.Sscanf(k, "r%d-b%d-%d-of-%d", &r, &i, &j, &of); err != nil {
			t.Fatalf("key %q", k)
		}
		count[fmt.Sprintf("r%d-b%d-of-%d", r, i, of)]++
	}
	for _, i := range a.batches {
		if count[fmt.Sprintf("r%d-b%d-of-%d", round, i, i%20+1)] == 0 {
			t.Fatalf("round %d: acknowledged batch %d is absent", round, i)
		}
	}
	for name, n := range count {
		var r, i, of int
		fmt.Sscanf(name, "r%d-b%d-of-%d", &r, &i, &of)
		if n != of {
			t.Fatalf("round %d: batch %s has %d of its %d keys", round, name, n, of)
		}
	}
	for _, o := range []storage.Owner{alice, bob} {
		u, err := b.Usage(ctx, o)
		must(t, err)
		if r := recount(t, b, o, "set", "del", "batch", "ctr"); r != u {
			t.Fatalf("round %d: usage of %s is %+v, its data %+v", round, o, u, r)
		}
	}
	t.Logf("round %d: %d sets, counter %d, %d batches, %d deletions acknowledged", round, len(a.sets),
		a.counter, len(a.batches), len(a.deleted))
	b.Close()
	nc.Close()
	s.Shutdown()
	s.WaitForShutdown()
}
