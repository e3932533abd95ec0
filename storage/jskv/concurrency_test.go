package jskv

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// waitGroup waits for wg, failing after a minute.
func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("goroutines did not end within a minute")
	}
}

// hammer runs the same concurrent writes on the backends given (one
// process's backend several times, or several "hosts" on one bucket):
// increments of one key, and fresh keys written by every goroutine into
// one owner near its quota.
func hammer(t *testing.T, bs []storage.Backend) {
	ctx := testCtx(t)
	const (
		goroutines = 4
		increments = 25
		maxKeys    = 30
		tries      = 15 // fresh keys each goroutine tries to write
	)
	lim := storage.Limits{MaxKeys: maxKeys, MaxBytes: 10_000}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := map[string]bool{}
	errs := make(chan error, goroutines*(increments+tries))
	for g := range goroutines {
		b := bs[g%len(bs)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range max(increments, tries) {
				if i < increments {
					if _, err := b.Increment(ctx, alice, "c", "n", 1, storage.Limits{}); err != nil {
						errs <- err
					}
				}
				if i < tries {
					k := fmt.Sprintf("g%d-%d", g, i)
					err := b.Set(ctx, bob, "q", k, []byte("vv"), lim)
					switch {
					case err == nil:
						mu.Lock()
						stored[k] = true
						mu.Unlock()
					case !errors.Is(err, storage.ErrQuota):
						errs <- err
					}
				}
			}
		}()
	}
	waitGroup(t, &wg)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantValue(t, bs[0], alice, "c", "n", fmt.Sprint(goroutines*increments), true)
	if len(stored) != maxKeys {
		t.Fatalf("%d keys acknowledged, want exactly the quota %d", len(stored), maxKeys)
	}
	keys := allKeys(t, bs[0], bob, "q")
	if len(keys) != maxKeys {
		t.Fatalf("%d keys stored, want %d", len(keys), maxKeys)
	}
	for _, k := range keys {
		if !stored[k] {
			t.Fatalf("key %q stored but never acknowledged", k)
		}
	}
	want := storage.Usage{Keys: maxKeys}
	for _, k := range keys {
		want.Bytes += int64(len(k) + 2)
	}
	wantUsage(t, bs[0], bob, want, "q")
	wantUsage(t, bs[0], alice, storage.Usage{Bytes: 1 + int64(len(fmt.Sprint(goroutines*increments))), Keys: 1}, "c")
}

func TestConcurrentWrites(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			b := im.open(t)
			hammer(t, []storage.Backend{b})
		})
	}
}

// Two hosts on one bucket (two connections, two Backends): their writes of
// one owner conflict on the server, which refuses the batch that read a
// state since changed; it is read and tried again.
func TestConcurrentHosts(t *testing.T) {
	s := startServer(t, t.TempDir())
	opts := Options{Lattice: "shared"}
	var bs []storage.Backend
	for range 2 {
		b, err := Open(testCtx(t), connect(t, s), opts)
		must(t, err)
		t.Cleanup(func() { b.Close() })
		bs = append(bs, b)
	}
	hammer(t, bs)
}

// A write of another host between a write's reads and its batch makes the
// server refuse the batch; the write is planned again on the new state:
// no update is lost, usage stays exact.
func TestConflictIsRetried(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := testCtx(t)
	a, err := Open(ctx, connect(t, s), Options{Lattice: "shared"})
	must(t, err)
	defer a.Close()
	other, err := Open(ctx, connect(t, s), Options{Lattice: "shared"})
	must(t, err)
	defer other.Close()
	must(t, a.Set(ctx, alice, "b", "warm", nil, storage.Limits{})) // a caches the usage record

	// Another host increments the counter a has read.
	once := sync.Once{}
	a.beforePublish = func() {
		once.Do(func() {
			if _, err := other.Increment(ctx, alice, "b", "n", 10, storage.Limits{}); err != nil {
				t.Error(err)
			}
		})
	}
	n, err := a.Increment(ctx, alice, "b", "n", 1, storage.Limits{})
	must(t, err)
	if n != 11 || a.Conflicts() != 1 {
		t.Fatalf("increment = %d after %d conflicts, want 11 after 1", n, a.Conflicts())
	}
	wantValue(t, other, alice, "b", "n", "11", true)

	// Another host deletes the key a's CAS read: the CAS fails on the new
	// state.
	once = sync.Once{}
	a.beforePublish = func() { once.Do(func() { must(t, other.Delete(ctx, alice, "b", "n")) }) }
	wantErr(t, a.CompareAndSwap(ctx, alice, "b", "n", []byte("11"), true, []byte("12"), storage.Limits{}), storage.ErrCASFailed)
	if a.Conflicts() != 2 {
		t.Fatalf("%d conflicts, want 2", a.Conflicts())
	}

	// Another host takes the last key of the quota a's write counted on.
	once = sync.Once{}
	lim := storage.Limits{MaxKeys: 2}
	a.beforePublish = func() { once.Do(func() { must(t, other.Set(ctx, alice, "b", "x", nil, lim)) }) }
	wantErr(t, a.Set(ctx, alice, "b", "y", nil, lim), storage.ErrQuota)
	a.beforePublish = nil
	wantValue(t, a, alice, "b", "y", "", false)
	wantUsage(t, a, alice, storage.Usage{Bytes: 5, Keys: 2}, "b")
}
