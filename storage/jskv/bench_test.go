package jskv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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

func newBenchEnv(b *testing.B) *benchEnv { return newBenchEnvSync(b, false) }

// newBenchEnvSync is newBenchEnv, on a server with sync_interval: always
// when sync (durable mode: both JetStream references fsync, as bbolt does).
func newBenchEnvSync(b *testing.B, sync bool) *benchEnv {
	b.Helper()
	s := startServerSync(b, b.TempDir(), sync)
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

// BenchmarkSetSyncAlways is BenchmarkSet in durable mode.
func BenchmarkSetSyncAlways(b *testing.B) {
	e := newBenchEnvSync(b, true)
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

// freePorts returns n loopback ports free a moment ago.
func freePorts(b *testing.B, n int) []int {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(b, err)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		defer l.Close()
	}
	return ports
}

// newClusterEnv is newBenchEnv on a three-server cluster (loopback
// routes), with three replicas: the R3 case, where the server stages an
// atomic batch in memory instead of in a file store of its own.
func newClusterEnv(b *testing.B) *benchEnv {
	b.Helper()
	ports := freePorts(b, 3)
	var servers []*server.Server
	for i := range 3 {
		var routes []*url.URL
		for j, p := range ports {
			if j != i {
				u, _ := url.Parse(fmt.Sprintf("nats-route://127.0.0.1:%d", p))
				routes = append(routes, u)
			}
		}
		s, err := server.NewServer(&server.Options{ServerName: fmt.Sprintf("s%d", i), JetStream: true,
			StoreDir: b.TempDir(), Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
			MaxPayload: 2 << 20, Cluster: server.ClusterOpts{Name: "bench", Host: "127.0.0.1", Port: ports[i]},
			Routes: routes})
		must(b, err)
		go s.Start()
		b.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		servers = append(servers, s)
	}
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			b.Fatal("server not ready in 10s")
		}
	}
	nc := connect(b, servers[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var be *Backend
	var err error
	for { // until the cluster has elected its meta leader
		if be, err = Open(ctx, nc, Options{Lattice: "bench", Replicas: 3, Timeout: time.Second}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("no R3 bucket within 30s: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.Cleanup(func() { be.Close() })
	js, err := jetstream.New(nc)
	must(b, err)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bare", Storage: jetstream.FileStorage, Replicas: 3})
	must(b, err)
	db, err := storage.Open(filepath.Join(b.TempDir(), "kv.db"), storage.Options{})
	must(b, err)
	b.Cleanup(func() { db.Close() })
	return &benchEnv{jskv: be, kv: kv, db: db}
}

// BenchmarkSetR3 is BenchmarkSet on three servers, three replicas.
func BenchmarkSetR3(b *testing.B) {
	e := newClusterEnv(b)
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
