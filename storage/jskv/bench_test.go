package jskv

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// The benchmarks measure this backend and, in the same run, two
// references: bare JetStream KV Put/Get on the same server (no encoding,
// no usage record, no batch) and storage.DB (bbolt, fsync per commit).
// Each reports ns/op of all three and the ratios.

type benchEnv struct {
	jskv *Backend
	kv   jetstream.KeyValue
	db   *storage.DB
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	s := startServer(b, b.TempDir())
	nc := connect(b, s)
	ctx := context.Background()
	be, err := Open(ctx, nc, Options{Lattice: "bench"})
	must(b, err)
	b.Cleanup(func() { be.Close() })
	js, err := jetstream.New(nc)
	must(b, err)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bare", Storage: jetstream.FileStorage})
	must(b, err)
	db, err := storage.Open(filepath.Join(b.TempDir(), "kv.db"), storage.Options{})
	must(b, err)
	b.Cleanup(func() { db.Close() })
	return &benchEnv{jskv: be, kv: kv, db: db}
}

// measure runs f b.N times and returns ns/op.
func measure(b *testing.B, f func(i int)) float64 {
	t0 := time.Now()
	for i := range b.N {
		f(i)
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(b.N)
}

// compare runs the three and reports them. The timer covers them all.
func compare(b *testing.B, jskv, bare, bbolt func(i int)) {
	b.ResetTimer()
	nsJ := measure(b, jskv)
	nsK := measure(b, bare)
	nsB := measure(b, bbolt)
	b.ReportMetric(nsJ, "jskv-ns/op")
	b.ReportMetric(nsK, "barekv-ns/op")
	b.ReportMetric(nsB, "bbolt-ns/op")
	b.ReportMetric(nsJ/nsK, "jskv/barekv")
	b.ReportMetric(nsJ/nsB, "jskv/bbolt")
}

var value = []byte("a value of some thirty-two bytes")

func BenchmarkSet(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	key := func(i int) string { return fmt.Sprintf("k%d", i%1000) }
	compare(b,
		func(i int) { must(b, e.jskv.Set(ctx, alice, "bench", key(i), value, storage.Limits{})) },
		func(i int) {
			_, err := e.kv.Put(ctx, key(i), value)
			must(b, err)
		},
		func(i int) { must(b, e.db.Set(ctx, alice, "bench", key(i), value, storage.Limits{})) })
}

func BenchmarkGet(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	key := func(i int) string { return fmt.Sprintf("k%d", i%100) }
	for i := range 100 {
		must(b, e.jskv.Set(ctx, alice, "bench", key(i), value, storage.Limits{}))
		_, err := e.kv.Put(ctx, key(i), value)
		must(b, err)
		must(b, e.db.Set(ctx, alice, "bench", key(i), value, storage.Limits{}))
	}
	compare(b,
		func(i int) {
			if _, ok, err := e.jskv.Get(ctx, alice, "bench", key(i)); err != nil || !ok {
				b.Fatal(ok, err)
			}
		},
		func(i int) {
			_, err := e.kv.Get(ctx, key(i))
			must(b, err)
		},
		func(i int) {
			if _, ok, err := e.db.Get(ctx, alice, "bench", key(i)); err != nil || !ok {
				b.Fatal(ok, err)
			}
		})
}

// BenchmarkIncrement: the bare reference is a read and a Update with the
// revision read (KV's own compare-and-set), the usual way to count on KV.
func BenchmarkIncrement(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	_, err := e.kv.Put(ctx, "n", []byte("0"))
	must(b, err)
	compare(b,
		func(i int) {
			_, err := e.jskv.Increment(ctx, alice, "bench", "n", 1, storage.Limits{})
			must(b, err)
		},
		func(i int) {
			en, err := e.kv.Get(ctx, "n")
			must(b, err)
			var n int
			fmt.Sscan(string(en.Value()), &n)
			_, err = e.kv.Update(ctx, "n", fmt.Appendf(nil, "%d", n+1), en.Revision())
			must(b, err)
		},
		func(i int) {
			_, err := e.db.Increment(ctx, alice, "bench", "n", 1, storage.Limits{})
			must(b, err)
		})
}

// BenchmarkSetMany10: ten keys in one call; the bare reference is ten Puts
// (KV has no batch).
func BenchmarkSetMany10(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	kvs := func(i int) []storage.KV {
		out := make([]storage.KV, 10)
		for j := range out {
			out[j] = storage.KV{Key: fmt.Sprintf("k%d-%d", i%100, j), Value: value}
		}
		return out
	}
	compare(b,
		func(i int) { must(b, e.jskv.SetMany(ctx, alice, "bench", kvs(i), storage.Limits{})) },
		func(i int) {
			for _, kv := range kvs(i) {
				_, err := e.kv.Put(ctx, kv.Key, kv.Value)
				must(b, err)
			}
		},
		func(i int) { must(b, e.db.SetMany(ctx, alice, "bench", kvs(i), storage.Limits{})) })
}
