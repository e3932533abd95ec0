package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var ctx = context.Background()

var (
	alice = Owner{Publisher: "ed25519:alice", Name: "billing"}
	bob   = Owner{Publisher: "ed25519:bob", Name: "billing"}
	devB  = Owner{Name: "billing"}
)

func open(t *testing.T, path string, o Options) *DB {
	t.Helper()
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tmpDB(t *testing.T) (*DB, string) {
	path := filepath.Join(t.TempDir(), "kv.db")
	return open(t, path, Options{}), path
}

func mustGet(t *testing.T, db *DB, o Owner, id, key string) (string, bool) {
	t.Helper()
	v, ok, err := db.Get(ctx, o, id, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

// scanUsage recounts an owner's usage from its data.
func scanUsage(t *testing.T, db *DB, o Owner) Usage {
	t.Helper()
	var u Usage
	var buf bytes.Buffer
	if err := db.Export(ctx, o, &buf); err != nil {
		t.Fatal(err)
	}
	ids, _ := db.Buckets(ctx, o)
	for _, id := range ids {
		for cur := ""; ; {
			keys, next, err := db.ListKeys(ctx, o, id, cur)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				v, _, _ := db.Get(ctx, o, id, k)
				u.Keys++
				u.Bytes += int64(len(k) + len(v))
			}
			if next == "" {
				break
			}
			cur = next
		}
	}
	return u
}

func TestBasicsAndIsolation(t *testing.T) {
	db, _ := tmpDB(t)
	if err := db.Set(ctx, alice, "default", "k", []byte("alice's"), Limits{}); err != nil {
		t.Fatal(err)
	}
	// Same name, another publisher; same name unsigned; crafted names that
	// would collide if the layout concatenated strings.
	for _, o := range []Owner{bob, devB, {Publisher: "ed25519:alice/billing", Name: "x"},
		{Publisher: "ed25519", Name: "alice/billing"}} {
		if v, ok := mustGet(t, db, o, "default", "k"); ok {
			t.Fatalf("%s sees %q", o, v)
		}
	}
	for _, id := range []string{"default/k", "default\x01k"} {
		if _, ok := mustGet(t, db, alice, id, "k"); ok {
			t.Fatalf("bucket %q sees default's key", id)
		}
	}
	if v, ok := mustGet(t, db, alice, "default", "k"); !ok || v != "alice's" {
		t.Fatalf("get = %q %v", v, ok)
	}
	// An empty value exists.
	if err := db.Set(ctx, alice, "default", "empty", nil, Limits{}); err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, db, alice, "default", "empty"); !ok || v != "" {
		t.Fatalf("empty value: %q %v", v, ok)
	}
	if ok, _ := db.Exists(ctx, alice, "default", "empty"); !ok {
		t.Fatal("empty value does not exist")
	}
	if err := db.Delete(ctx, alice, "default", "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, db, alice, "default", "k"); ok {
		t.Fatal("deleted key still there")
	}
	if err := db.Delete(ctx, alice, "never", "k"); err != nil {
		t.Fatalf("delete in a bucket never written: %v", err)
	}
	owners, _ := db.Owners(ctx)
	if len(owners) != 1 || owners[0] != alice {
		t.Fatalf("owners %v", owners)
	}
}

func TestBadNamesAreRefused(t *testing.T) {
	db, _ := tmpDB(t)
	long := strings.Repeat("k", MaxKeyBytes+1)
	for _, key := range []string{"", "a\x00b", "\xff", long} {
		if err := db.Set(ctx, alice, "b", key, nil, Limits{}); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("key %q: %v", key[:min(len(key), 8)], err)
		}
		if _, _, err := db.Get(ctx, alice, "b", key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("get key %q: %v", key[:min(len(key), 8)], err)
		}
	}
	if err := db.Set(ctx, alice, "", "k", nil, Limits{}); !errors.Is(err, ErrInvalidBucket) {
		t.Error(err)
	}
	if err := db.Set(ctx, Owner{Publisher: "dev", Name: "x"}, "b", "k", nil, Limits{}); err == nil {
		t.Error("a publisher named like the dev space was accepted")
	}
	if err := db.Set(ctx, alice, "b", "k", make([]byte, 11), Limits{MaxValueBytes: 10}); !errors.Is(err, ErrValueTooLarge) {
		t.Error(err)
	}
	if err := db.Set(ctx, alice, "b", strings.Repeat("k", MaxKeyBytes), make([]byte, 10), Limits{MaxValueBytes: 10}); err != nil {
		t.Errorf("the longest key and value: %v", err)
	}
}

func TestQuotasAndUsage(t *testing.T) {
	db, path := tmpDB(t)
	lim := Limits{MaxBytes: 100, MaxKeys: 3}
	if err := db.Set(ctx, alice, "b", "a", make([]byte, 39), lim); err != nil { // 40 bytes
		t.Fatal(err)
	}
	if err := db.Set(ctx, alice, "c", "b", make([]byte, 39), lim); err != nil { // 80
		t.Fatal(err)
	}
	if err := db.Set(ctx, alice, "b", "c", make([]byte, 30), lim); !errors.Is(err, ErrQuota) {
		t.Fatalf("past the bytes: %v", err)
	}
	if err := db.Set(ctx, alice, "b", "c", make([]byte, 19), lim); err != nil { // 100, 3 keys
		t.Fatal(err)
	}
	if err := db.Set(ctx, alice, "b", "d", nil, lim); !errors.Is(err, ErrQuota) {
		t.Fatalf("past the keys: %v", err)
	}
	// Overwriting with a smaller value is fine; the batch all or nothing.
	if err := db.Set(ctx, alice, "b", "a", make([]byte, 9), lim); err != nil { // 70
		t.Fatal(err)
	}
	err := db.SetMany(ctx, alice, "b", []KV{{"a", make([]byte, 20)}, {"e", nil}}, lim) // a: +11 ok, e: 4th key
	if !errors.Is(err, ErrQuota) {
		t.Fatalf("batch past the keys: %v", err)
	}
	if v, _ := mustGet(t, db, alice, "b", "a"); len(v) != 9 {
		t.Fatal("a refused batch changed a key")
	}
	want := Usage{Bytes: 70, Keys: 3}
	if u, _ := db.Usage(ctx, alice); u != want || scanUsage(t, db, alice) != want {
		t.Fatalf("usage %+v, scanned %+v, want %+v", u, scanUsage(t, db, alice), want)
	}
	// Usage survives a reopen, and another owner has its own.
	db.Close()
	db = open(t, path, Options{})
	if u, _ := db.Usage(ctx, alice); u != want {
		t.Fatalf("after reopening: %+v", u)
	}
	if u, _ := db.Usage(ctx, bob); u != (Usage{}) {
		t.Fatalf("bob's usage %+v", u)
	}
	// Lowered quotas still let data shrink.
	if err := db.Delete(ctx, alice, "c", "b"); err != nil {
		t.Fatal(err)
	}
	if err := db.Set(ctx, alice, "b", "a", nil, Limits{MaxBytes: 1, MaxKeys: 1}); err != nil {
		t.Fatalf("shrinking over a lowered quota: %v", err)
	}
	if u, _ := db.Usage(ctx, alice); u != scanUsage(t, db, alice) {
		t.Fatalf("usage %+v, scanned %+v", u, scanUsage(t, db, alice))
	}
}

func TestIncrementAndCAS(t *testing.T) {
	db, _ := tmpDB(t)
	for i, want := range []int64{5, 3, -2} {
		n, err := db.Increment(ctx, alice, "b", "n", []int64{5, -2, -5}[i], Limits{})
		if err != nil || n != want {
			t.Fatalf("increment %d: %d %v", i, n, err)
		}
	}
	if v, _ := mustGet(t, db, alice, "b", "n"); v != "-2" {
		t.Fatalf("stored %q", v)
	}
	db.Set(ctx, alice, "b", "s", []byte("abc"), Limits{})
	if _, err := db.Increment(ctx, alice, "b", "s", 1, Limits{}); !errors.Is(err, ErrNotInteger) {
		t.Fatal(err)
	}
	db.Set(ctx, alice, "b", "max", []byte("9223372036854775807"), Limits{})
	if _, err := db.Increment(ctx, alice, "b", "max", 1, Limits{}); !errors.Is(err, ErrOverflow) {
		t.Fatal(err)
	}
	if n, err := db.IncrementUnsigned(ctx, alice, "b", "u", 7, Limits{}); err != nil || n != 7 {
		t.Fatal(n, err)
	}
	// CAS: from absent, then from a value, and a stale one fails.
	if err := db.CompareAndSwap(ctx, alice, "b", "c", nil, false, []byte("1"), Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := db.CompareAndSwap(ctx, alice, "b", "c", nil, false, []byte("2"), Limits{}); !errors.Is(err, ErrCASFailed) {
		t.Fatal(err)
	}
	if err := db.CompareAndSwap(ctx, alice, "b", "c", []byte("1"), true, []byte("2"), Limits{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, db, alice, "b", "c"); v != "2" {
		t.Fatal(v)
	}
	if u, _ := db.Usage(ctx, alice); u != scanUsage(t, db, alice) {
		t.Fatalf("usage %+v, scanned %+v", u, scanUsage(t, db, alice))
	}
}

func TestListKeysInPages(t *testing.T) {
	db, _ := tmpDB(t)
	const n = 2500
	var kvs []KV
	for i := 0; i < n; i++ {
		kvs = append(kvs, KV{fmt.Sprintf("k%05d", i), []byte("v")})
	}
	if err := db.SetMany(ctx, alice, "b", kvs, Limits{}); err != nil {
		t.Fatal(err)
	}
	var all []string
	pages := 0
	for cur := ""; ; pages++ {
		keys, next, err := db.ListKeys(ctx, alice, "b", cur)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, keys...)
		if next == "" {
			break
		}
		cur = next
	}
	if len(all) != n || pages != 2 || all[0] != "k00000" || all[n-1] != fmt.Sprintf("k%05d", n-1) {
		t.Fatalf("%d keys in %d pages", len(all), pages+1)
	}
	var off uint64
	got := 0
	for {
		keys, next, err := db.ListKeysAt(ctx, alice, "b", off)
		if err != nil {
			t.Fatal(err)
		}
		got += len(keys)
		if next == nil {
			break
		}
		off = *next
	}
	if got != n {
		t.Fatalf("numeric cursor: %d keys", got)
	}
}

// A backend failure in the middle of a batch surfaces as an error and
// leaves nothing behind: the write is not acknowledged, no key is there.
func TestBackendFailureMidBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	calls := 0
	var mu sync.Mutex
	failAt := -1
	db := open(t, path, Options{failApply: func(int) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == failAt {
			return errors.New("injected disk failure")
		}
		return nil
	}})
	db.Set(ctx, alice, "b", "keep", []byte("1"), Limits{})
	before, _ := db.Usage(ctx, alice)
	mu.Lock()
	failAt = calls + 3
	mu.Unlock()
	err := db.SetMany(ctx, alice, "b", []KV{{"x", []byte("1")}, {"y", []byte("2")}, {"z", []byte("3")}, {"w", nil}}, Limits{})
	if err == nil || !strings.Contains(err.Error(), "injected disk failure") {
		t.Fatalf("set-many with a failing backend: %v", err)
	}
	for _, k := range []string{"x", "y", "z", "w"} {
		if _, ok := mustGet(t, db, alice, "b", k); ok {
			t.Fatalf("key %s of a failed batch is there", k)
		}
	}
	if u, _ := db.Usage(ctx, alice); u != before {
		t.Fatalf("usage %+v after a failed batch, was %+v", u, before)
	}
}

// Writes from many goroutines are grouped, all acknowledged, all there
// after a reopen.
func TestConcurrentWritersAreAllCommitted(t *testing.T) {
	db, path := tmpDB(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := db.Set(ctx, alice, "b", fmt.Sprintf("g%d-%d", g, i), []byte("v"), Limits{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	db.Close()
	db = open(t, path, Options{})
	if u, _ := db.Usage(ctx, alice); u.Keys != 400 || u != scanUsage(t, db, alice) {
		t.Fatalf("usage %+v", u)
	}
}

// Past MaxWaiting, a write fails at once with ErrBusy instead of waiting.
func TestWaitingWritesAreBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	db := open(t, path, Options{MaxWaiting: 1, failApply: func(int) error {
		once.Do(func() {
			close(inside)
			<-release
		})
		return nil
	}})
	errc := make(chan error, 1)
	go func() { errc <- db.Set(ctx, alice, "b", "first", nil, Limits{}) }()
	select {
	case <-inside:
	case <-time.After(5 * time.Second):
		t.Fatal("the first write never reached the backend")
	}
	if err := db.Set(ctx, alice, "b", "second", nil, Limits{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second write while one waits: %v", err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestLockedAndCorruptFiles(t *testing.T) {
	db, path := tmpDB(t)
	_ = db
	start := time.Now()
	if _, err := Open(path, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	} else if time.Since(start) > 5*time.Second {
		t.Fatal("the lock timeout was not honoured")
	}
	bad := filepath.Join(t.TempDir(), "bad.db")
	junk := bytes.Repeat([]byte("not a database "), 1000)
	os.WriteFile(bad, junk, 0o600)
	if _, err := Open(bad, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("junk file: %v", err)
	}
	if got, _ := os.ReadFile(bad); !bytes.Equal(got, junk) {
		t.Fatal("opening a corrupt file changed it")
	}
}

func TestExportImport(t *testing.T) {
	db, _ := tmpDB(t)
	db.Set(ctx, alice, "b1", "text", []byte("héllo\n\"q\""), Limits{})
	db.Set(ctx, alice, "b1", "bin", []byte{0xff, 0, 1}, Limits{})
	db.Set(ctx, alice, "b2", "empty", nil, Limits{})
	var out bytes.Buffer
	if err := db.Export(ctx, alice, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"base64":true`) || strings.Count(out.String(), "\n") != 3 {
		t.Fatalf("export:\n%s", out.String())
	}
	other, _ := tmpDB(t)
	if err := other.Import(ctx, bob, bytes.NewReader(out.Bytes()), Limits{}); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	other.Export(ctx, bob, &again)
	ua, _ := db.Usage(ctx, alice)
	ub, _ := other.Usage(ctx, bob)
	if again.String() != out.String() || ua != ub {
		t.Fatalf("import differs:\n%s\n%s\n%+v %+v", out.String(), again.String(), ua, ub)
	}
	// A malformed line: its number, and nothing written.
	bad := out.String() + `{"bucket":"b3","key":"","value":"x"}` + "\n"
	third, _ := tmpDB(t)
	err := third.Import(ctx, alice, strings.NewReader(bad), Limits{})
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Line != 4 {
		t.Fatalf("import of a bad line: %v", err)
	}
	if u, _ := third.Usage(ctx, alice); u != (Usage{}) {
		t.Fatal("a refused import wrote something")
	}
	for _, l := range []string{"{", `{"bucket":"b","key":"k","value":"!","base64":true}`, `{"bucket":"b","key":"k","value":"v","x":1}`} {
		if err := third.Import(ctx, alice, strings.NewReader(l), Limits{}); !errors.As(err, &ie) || ie.Line != 1 {
			t.Fatalf("import %q: %v", l, err)
		}
	}
}
