package actor_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
)

var billing = storage.Owner{Publisher: "ed25519:AAAA", Name: "billing"}

func kvSystem(t *testing.T, db *storage.DB) (*actor.System, *recorder) {
	t.Helper()
	rec := &recorder{}
	sys := actor.NewSystem(eng0(t), actor.Options{Storage: db, Observer: rec.observe,
		Logger: slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return sys, rec
}

func kvDB(t *testing.T) (*storage.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kv.db")
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func kvSpec(t *testing.T, id string, owner storage.Owner) actor.Spec {
	s := spec(t, id, "actor2_kv")
	s.Owner = owner
	return s
}

// TestKeyValueThroughWASI: every wasi:keyvalue call from a real component,
// checked through the Go API on the same data.
func TestKeyValueThroughWASI(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	deploy(t, sys, kvSpec(t, "app/kv/1", billing))
	ctx := context.Background()
	for _, c := range []struct{ cmd, want string }{
		{"get|orders|a", "none"},
		{"set|orders|a|one|with|bars", "ok"},
		{"get|orders|a", "some:one|with|bars"},
		{"exists|orders|a", "true"},
		{"exists|orders|b", "false"},
		{"setmany|orders|b=2,c=3", "ok"},
		{"getmany|orders|a,x,c", "a=one|with|bars,x=none,c=3"},
		{"list|orders|", "a,b,c;"},
		{"delmany|orders|b,c", "ok"},
		{"del|orders|a", "ok"},
		{"get|orders|a", "none"},
		{"inc|counters|n|5", "5"},
		{"inc|counters|n|-7", "-2"},
		{"count|counters|n", "-1"},
		{"cas|cas|k|v1", "swapped:none"},
		{"cas|cas|k|v2", "swapped:v1"},
	} {
		if got := ask(t, sys, "app/kv/1", c.cmd); got != c.want {
			t.Fatalf("%s: %q, want %q", c.cmd, got, c.want)
		}
	}
	// The same data through the Go API, with the reads seeing the writes.
	if v, ok, _ := db.Get(ctx, billing, "cas", "k"); !ok || string(v) != "v2" {
		t.Fatalf("Go API sees %q %v", v, ok)
	}
	if err := db.Set(ctx, billing, "orders", "from-go", []byte("hi"), storage.Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, sys, "app/kv/1", "get|orders|from-go"); got != "some:hi" {
		t.Fatal(got)
	}
	u, _ := db.Usage(ctx, billing)
	want := strings.Join([]string{itoa(u.Bytes), itoa(u.Keys), itoa(storage.DefaultMaxBytes),
		itoa(storage.DefaultMaxKeys), itoa(storage.DefaultMaxValueBytes)}, " ")
	if got := ask(t, sys, "app/kv/1", "usage"); got != want {
		t.Fatalf("usage %q, want %q", got, want)
	}
	if st, _ := sys.Stats("app/kv/1"); st.Failed != 0 || st.Handles != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestKeyValueBelongsToTheIdentity: the data is the component identity's,
// not the actor id's: another actor id of the same identity sees it, the
// same actor id under another identity does not, and an unsigned (dev)
// component of the same name has a space of its own.
func TestKeyValueBelongsToTheIdentity(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	deploy(t, sys, kvSpec(t, "app/billing/1", billing))
	ask(t, sys, "app/billing/1", "set|default|secret|42")
	deploy(t, sys, kvSpec(t, "other/thing/7", billing))
	if got := ask(t, sys, "other/thing/7", "get|default|secret"); got != "some:42" {
		t.Fatalf("same identity, other id: %q", got)
	}
	sys.Stop(context.Background(), "app/billing/1")
	impostor := storage.Owner{Publisher: "ed25519:BBBB", Name: "billing"}
	deploy(t, sys, kvSpec(t, "app/billing/1", impostor))
	if got := ask(t, sys, "app/billing/1", "get|default|secret"); got != "none" {
		t.Fatalf("another publisher under billing's actor id sees %q", got)
	}
	deploy(t, sys, kvSpec(t, "app/billing/2", storage.Owner{Name: "billing"}))
	if got := ask(t, sys, "app/billing/2", "get|default|secret"); got != "none" {
		t.Fatalf("the dev space sees %q", got)
	}
	// An actor with no owner has no storage: a refusal, not a trap.
	deploy(t, sys, spec(t, "app/none/1", "actor2_kv"))
	if got := ask(t, sys, "app/none/1", "get|default|secret"); got != "error:access-denied" {
		t.Fatalf("no storage: %q", got)
	}
}

// TestKeyValueSurvivesRestarts: a counter kept by a component survives the
// actor's restart and a new system on the reopened database.
func TestKeyValueSurvivesRestarts(t *testing.T) {
	db, path := kvDB(t)
	sys, rec := kvSystem(t, db)
	s := kvSpec(t, "app/kv/1", billing)
	deploy(t, sys, s)
	for i := 1; i <= 3; i++ {
		ask(t, sys, "app/kv/1", "count|c|n")
	}
	// The actor stops and comes back on a fresh instance.
	if err := sys.Stop(context.Background(), "app/kv/1"); err != nil {
		t.Fatal(err)
	}
	_ = rec
	deploy(t, sys, s)
	if got := ask(t, sys, "app/kv/1", "count|c|n"); got != "4" {
		t.Fatalf("after more messages: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sys.Shutdown(ctx)
	db.Close()
	db2, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	sys2, _ := kvSystem(t, db2)
	deploy(t, sys2, kvSpec(t, "app/kv/1", billing))
	if got := ask(t, sys2, "app/kv/1", "count|c|n"); got != "5" {
		t.Fatalf("after reopening: %q", got)
	}
}

// TestKeyValueBadInputIsAValue: bad keys, oversized values and quotas are
// error values; nothing traps and nothing is written.
func TestKeyValueBadInputIsAValue(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	deploy(t, sys, kvSpec(t, "app/kv/1", billing))
	long := strings.Repeat("k", storage.MaxKeyBytes+1)
	for _, cmd := range []string{"get|b|" + long, "set|b|" + long + "|v", "set|b|a\x00b|v", "open|" +
		strings.Repeat("b", storage.MaxBucketBytes+1)} {
		got := ask(t, sys, "app/kv/1", cmd)
		if !strings.HasPrefix(got, "error:") {
			t.Fatalf("%.40q: %q", cmd, got)
		}
	}
	if u, _ := db.Usage(context.Background(), billing); u != (storage.Usage{}) {
		t.Fatalf("refused writes left %+v", u)
	}
	if st, _ := sys.Stats("app/kv/1"); st.Failed != 0 {
		t.Fatalf("a refusal trapped: %+v", st)
	}
}

const kvManifest = `[component]
name = "orders"
version = "1.0.0"
[resources]
memory = "4MiB"
[capabilities.storage]
buckets = ["orders"]
read = true
write = true
`

const kvPolicy = `[trust.unknown]
storage-buckets = ["*"]
storage-read = true
storage-write = true
storage-delete = true
storage-max-bytes = "100B"
`

// TestKeyValueFollowsTheGrants: under a policy, the actor's storage is its
// identity's (unsigned: the dev space of its manifest name), only the
// granted buckets and operations are allowed, the policy's quota holds,
// and refusals are audited.
func TestKeyValueFollowsTheGrants(t *testing.T) {
	db, _ := kvDB(t)
	log := &syncBuffer{}
	audit := security.NewAudit(log)
	sys := actor.NewSystem(eng0(t), actor.Options{Storage: db, Audit: audit})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	s := spec(t, "app/orders/1", "actor2_kv")
	s.Grants = grantsFor(t, kvManifest, kvPolicy)
	s.Owner = billing // ignored: the grants say who it is
	deploy(t, sys, s)
	for _, c := range []struct{ cmd, want string }{
		{"set|orders|a|1", "ok"},
		{"get|orders|a", "some:1"},
		{"del|orders|a", "error:access-denied"},                        // delete not asked for
		{"get|other|a", "error:access-denied"},                         // bucket not asked for
		{"set|orders|big|" + strings.Repeat("x", 100), "error:other:"}, // quota
	} {
		if got := ask(t, sys, "app/orders/1", c.cmd); !strings.HasPrefix(got, c.want) {
			t.Fatalf("%.30s: %q, want %q", c.cmd, got, c.want)
		}
	}
	owner := storage.Owner{Name: "orders"} // unsigned: the dev space
	if v, ok, _ := db.Get(context.Background(), owner, "orders", "a"); !ok || string(v) != "1" {
		t.Fatalf("the data is not the identity's: %q %v", v, ok)
	}
	if _, ok, _ := db.Get(context.Background(), billing, "orders", "a"); ok {
		t.Fatal("Spec.Owner was used under grants")
	}
	eventually(t, "the audit lines", func() bool {
		return strings.Contains(log.String(), "storage.delete") && strings.Contains(log.String(), "storage.open")
	})
}

// TestKeyValueCounts: an actor's key-value operations and the bytes of
// keys and values they moved are counted, across its restarts.
func TestKeyValueCounts(t *testing.T) {
	db, _ := kvDB(t)
	sys, rec := kvSystem(t, db)
	s := kvSpec(t, "app/kv/1", billing)
	deploy(t, sys, s)
	for _, c := range []struct{ cmd, want string }{
		{"set|orders|k|hello", "ok"},               // 1 op, 1+5 bytes
		{"get|orders|k", "some:hello"},             // 1 op, 1+5 bytes
		{"getmany|orders|k,zz", "k=hello,zz=none"}, // 1 op, 1+5+2 bytes
		{"setmany|orders|a=xy,b=z", "ok"},          // 1 op, 1+2+1+1 bytes
		{"exists|orders|k", "true"},                // 1 op, no bytes counted
	} {
		if got := ask(t, sys, "app/kv/1", c.cmd); got != c.want {
			t.Fatalf("%s: %q, want %q", c.cmd, got, c.want)
		}
	}
	st, _ := sys.Stats("app/kv/1")
	if st.KVOps != 5 || st.KVBytes != 6+6+8+5 {
		t.Fatalf("counts: %d operations, %d bytes; want 5 and 25", st.KVOps, st.KVBytes)
	}
	if err := sys.Restart(context.Background(), "app/kv/1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "restarted", func() bool { return rec.count(actor.EventRestarted, "app/kv/1") == 1 })
	ask(t, sys, "app/kv/1", "get|orders|k")
	if st, _ := sys.Stats("app/kv/1"); st.KVOps != 6 || st.KVBytes != 31 {
		t.Fatalf("after a restart: %d operations, %d bytes; want 6 and 31", st.KVOps, st.KVBytes)
	}
}

// TestKeyValueSpecStorage: an actor whose Spec names a backend keeps its
// data there, and the system's backend never sees it.
func TestKeyValueSpecStorage(t *testing.T) {
	db, _ := kvDB(t)
	other, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	s := kvSpec(t, "app/kv/2", billing)
	s.Storage = other
	deploy(t, sys, s)
	if got := ask(t, sys, "app/kv/2", "set|orders|a|elsewhere"); got != "ok" {
		t.Fatal(got)
	}
	ctx := context.Background()
	if v, ok, err := other.Get(ctx, billing, "orders", "a"); err != nil || !ok || string(v) != "elsewhere" {
		t.Fatalf("the spec's backend: %q %v %v", v, ok, err)
	}
	if _, ok, _ := db.Get(ctx, billing, "orders", "a"); ok {
		t.Fatal("the system's backend got the data of an actor with a backend of its own")
	}
}

// stallingBackend is a storage backend whose writes wait until their
// context ends (a lattice's stream electing a leader).
type stallingBackend struct{ *storage.DB }

func (b stallingBackend) Set(ctx context.Context, o storage.Owner, id, key string, value []byte, lim storage.Limits) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestKeyValueStallEndsBeforeTheCall: a key-value write that stalls ends
// a little before the message's timeout, as an error value the actor
// replies with: the actor does not trap and is not restarted.
func TestKeyValueStallEndsBeforeTheCall(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	s := kvSpec(t, "app/kv/3", billing)
	s.Storage = stallingBackend{db}
	s.Limits.Timeout = 300 * time.Millisecond
	deploy(t, sys, s)
	got := ask(t, sys, "app/kv/3", "set|orders|a|v")
	if !strings.HasPrefix(got, "error:other:") {
		t.Fatalf("a stalled write: %q, want an error value", got)
	}
	if st, _ := sys.Stats("app/kv/3"); st.Failed != 0 || st.Restarts != 0 {
		t.Fatalf("the actor trapped: %+v", st)
	}
	if got := ask(t, sys, "app/kv/3", "get|orders|a"); got != "none" {
		t.Fatalf("after the stall: %q", got)
	}
}
