package jskv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// startServer starts an embedded nats-server with JetStream in dir.
func startServer(t testing.TB, dir string) *server.Server {
	t.Helper()
	return startServerSync(t, dir, false)
}

// startServerSync is startServer, with sync_interval: always when sync.
func startServerSync(t testing.TB, dir string, sync bool) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{JetStream: true, StoreDir: dir, DontListen: true,
		NoLog: true, NoSigs: true, MaxPayload: 2 << 20, SyncAlways: sync})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats-server not ready in 10s")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

var latticeN atomic.Int64

// openJS opens a backend on a fresh lattice of s.
func openJS(t testing.TB, nc *nats.Conn) *Backend {
	t.Helper()
	b, err := Open(testCtx(t), nc, Options{Lattice: fmt.Sprintf("t%d", latticeN.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func openDB(t testing.TB) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "kv.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// impl is one backend under test.
type impl struct {
	name string
	js   bool // the JetStream backend (where the contract differs)
	open func(t *testing.T) storage.Backend
}

// impls are the backends every conformance case runs on: storage.DB, the
// reference, and this package's on one embedded server per test.
func impls(t *testing.T) []impl {
	var nc *nats.Conn
	return []impl{
		{name: "bbolt", open: func(t *testing.T) storage.Backend { return openDB(t) }},
		{name: "jetstream", js: true, open: func(t *testing.T) storage.Backend {
			if nc == nil {
				nc = connect(t, startServer(t, t.TempDir()))
			}
			return openJS(t, nc)
		}},
	}
}

// both runs f on every backend, each in a subtest of its own.
func both(t *testing.T, f func(t *testing.T, b storage.Backend, js bool)) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) { f(t, im.open(t), im.js) })
	}
}

var (
	alice = storage.Owner{Publisher: "PKALICE", Name: "app"}
	bob   = storage.Owner{Publisher: "PKBOB", Name: "app"}
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func wantValue(t testing.TB, b storage.Backend, o storage.Owner, id, key, want string, found bool) {
	t.Helper()
	v, ok, err := b.Get(testCtx(t), o, id, key)
	must(t, err)
	if ok != found || (found && string(v) != want) {
		t.Fatalf("%s %s/%q = %q (found %v), want %q (found %v)", o, id, key, v, ok, want, found)
	}
	if found && v == nil {
		t.Fatalf("%s %s/%q: found with a nil value", o, id, key)
	}
	ex, err := b.Exists(testCtx(t), o, id, key)
	must(t, err)
	if ex != found {
		t.Fatalf("Exists(%s %s/%q) = %v, want %v", o, id, key, ex, found)
	}
}

// allKeys pages through ListKeys.
func allKeys(t testing.TB, b storage.Backend, o storage.Owner, id string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 1000 {
		keys, next, err := b.ListKeys(testCtx(t), o, id, cursor)
		must(t, err)
		out = append(out, keys...)
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("ListKeys never ends")
	return nil
}

// recount is the usage of o's data in buckets ids, counted from the data.
func recount(t testing.TB, b storage.Backend, o storage.Owner, ids ...string) storage.Usage {
	t.Helper()
	var u storage.Usage
	for _, id := range ids {
		keys := allKeys(t, b, o, id)
		for i := 0; i < len(keys); i += 500 {
			part := keys[i:min(i+500, len(keys))]
			vals, err := b.GetMany(testCtx(t), o, id, part)
			must(t, err)
			for j, k := range part {
				if vals[j] == nil {
					t.Fatalf("listed key %q has no value", k)
				}
				u.Bytes += int64(len(k) + len(vals[j]))
				u.Keys++
			}
		}
	}
	return u
}

// wantUsage checks the usage record against want and against the data.
func wantUsage(t testing.TB, b storage.Backend, o storage.Owner, want storage.Usage, ids ...string) {
	t.Helper()
	u, err := b.Usage(testCtx(t), o)
	must(t, err)
	if u != want {
		t.Fatalf("usage of %s = %+v, want %+v", o, u, want)
	}
	if len(ids) > 0 {
		if r := recount(t, b, o, ids...); r != want {
			t.Fatalf("usage of %s counted from its data = %+v, want %+v", o, r, want)
		}
	}
}

func sorted(keys []string) []string {
	out := append([]string(nil), keys...)
	sort.Strings(out)
	return out
}
