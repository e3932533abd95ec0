package keyvalue_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// TestDraftGuest: a component written against wasi:keyvalue 0.2.0-draft
// (u64 increments, a numeric list-keys cursor) gets its storage here too,
// under the same grants; without a session it gets a refusal, not a trap.
func TestDraftGuest(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "kv.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	comp, err := eng.CompileFile(ctx, filepath.Join("..", "..", "testdata", "kvdraft.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	h := engine.NewHost()
	keyvalue.Define(h)
	inst, err := comp.Instantiate(ctx, engine.InstanceConfig{Host: h})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	owner := storage.Owner{Name: "draft"}
	s := keyvalue.NewSession(db, owner, keyvalue.All(storage.Limits{}))
	sctx := keyvalue.WithSession(ctx, s)
	for i, want := range []uint64{3, 10} {
		v, err := inst.Call(sctx, "run", []uint64{3, 7}[i])
		if r, _ := v.(wit.Result); err != nil || r.IsErr || r.Value != want {
			t.Fatalf("run: %#v %v, want ok(%d)", v, err, want)
		}
	}
	if v, ok, _ := db.Get(ctx, owner, "c", "n"); !ok || string(v) != "10" {
		t.Fatalf("stored %q", v)
	}
	// Enough keys for three pages of list-keys.
	var kvs []storage.KV
	for i := 0; i < 2*storage.ListPage+5; i++ {
		kvs = append(kvs, storage.KV{Key: fmt.Sprintf("k%05d", i), Value: []byte("v")})
	}
	if err := db.SetMany(ctx, owner, "c", kvs, storage.Limits{}); err != nil {
		t.Fatal(err)
	}
	v, err := inst.Call(sctx, "count-keys")
	if r, _ := v.(wit.Result); err != nil || r.IsErr || r.Value != uint64(len(kvs)+1) {
		t.Fatalf("count-keys: %#v %v, want ok(%d)", v, err, len(kvs)+1)
	}
	if s.Handles() != 0 {
		t.Fatalf("%d handles left", s.Handles())
	}
	// Not granted, and no session: error values.
	deny := keyvalue.NewSession(db, owner, keyvalue.Grant{Buckets: []string{"other"}, Read: true, Write: true})
	v, err = inst.Call(keyvalue.WithSession(ctx, deny), "run", uint64(1))
	if r, _ := v.(wit.Result); err != nil || !r.IsErr || r.Value != "access-denied" {
		t.Fatalf("ungranted bucket: %#v %v", v, err)
	}
	v, err = inst.Call(ctx, "run", uint64(1))
	if r, _ := v.(wit.Result); err != nil || !r.IsErr || r.Value != "access-denied" {
		t.Fatalf("no session: %#v %v", v, err)
	}
}

// TestTraceHook: with Session.Trace set, each operation is reported by
// name and bucket, and its end gets the outcome: nil, or a *CallError for
// an error value (a refusal included); opening a bucket is not reported.
func TestTraceHook(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(t.TempDir(), "kv.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	comp, err := eng.CompileFile(ctx, filepath.Join("..", "..", "testdata", "kvdraft.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	h := engine.NewHost()
	keyvalue.Define(h)
	inst, err := comp.Instantiate(ctx, engine.InstanceConfig{Host: h})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	var got []string
	trace := func(name, bucket string) func(error) {
		got = append(got, name+" "+bucket)
		return func(err error) { got = append(got, fmt.Sprint("end ", err)) }
	}
	owner := storage.Owner{Name: "draft"}
	s := keyvalue.NewSession(db, owner, keyvalue.All(storage.Limits{}))
	s.Trace = trace
	if v, err := inst.Call(keyvalue.WithSession(ctx, s), "run", uint64(2)); err != nil {
		t.Fatalf("run: %v %v", v, err)
	}
	if want := []string{"keyvalue.increment c", "end <nil>"}; !slices.Equal(got, want) {
		t.Fatalf("traced %q, want %q", got, want)
	}
	// Read only: the increment is refused, inside its span.
	got = nil
	ro := keyvalue.NewSession(db, owner, keyvalue.Grant{Buckets: []string{"c"}, Read: true})
	ro.Trace = func(name, bucket string) func(error) {
		got = append(got, name+" "+bucket)
		return func(err error) {
			var ce *keyvalue.CallError
			if !errors.As(err, &ce) || ce.Case != "access-denied" {
				t.Errorf("end %v, want access-denied", err)
			}
			got = append(got, "end")
		}
	}
	v, err := inst.Call(keyvalue.WithSession(ctx, ro), "run", uint64(1))
	if r, _ := v.(wit.Result); err != nil || !r.IsErr || r.Value != "access-denied" {
		t.Fatalf("read-only run: %#v %v", v, err)
	}
	if want := []string{"keyvalue.increment c", "end"}; !slices.Equal(got, want) {
		t.Fatalf("traced %q, want %q", got, want)
	}
	// Not asked for (nil end): nothing breaks.
	got = nil
	s.Trace = func(string, string) func(error) { return nil }
	if _, err := inst.Call(keyvalue.WithSession(ctx, s), "count-keys"); err != nil {
		t.Fatal(err)
	}
}
