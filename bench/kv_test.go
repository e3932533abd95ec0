package bench

// Benchmarks of key-value storage from a component (issue 9): wasi:keyvalue
// calls made by actor2_kv, with bare bbolt's figures for the same operation
// measured in the same run.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage"
)

var benchOwner = storage.Owner{Publisher: "ed25519:bench", Name: "bench"}

func kvActors(b *testing.B, n int) (*actor.System, *storage.DB, []actor.ID) {
	db, err := storage.Open(filepath.Join(b.TempDir(), "kv.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, engine.Config{})
	sys := actor.NewSystem(e, actor.Options{Storage: db})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sys.Shutdown(ctx)
		db.Close()
	})
	c := compile(b, e, fixture(b, "actor2_kv.wasm"))
	ids := make([]actor.ID, n)
	for i := range ids {
		ids[i] = actor.ID(fmt.Sprintf("bench/kv/%d", i))
		if err := sys.Deploy(context.Background(), actor.Spec{ID: ids[i], Component: c, Owner: benchOwner}); err != nil {
			b.Fatal(err)
		}
	}
	return sys, db, ids
}

func askKV(b *testing.B, sys *actor.System, id actor.ID, cmd string) []byte {
	m, err := sys.Request(context.Background(), id, []byte(cmd), "")
	if err != nil {
		b.Fatal(err)
	}
	return m.Payload
}

// BenchmarkKVGet: one Go -> actor2_kv request whose handler opens a bucket,
// gets a value (a list<u8> back from the host, one C value per byte) and
// replies "some:<value>" as text (one copy); "message" is the same request
// without the storage calls (an unknown command), so get-us = p50 -
// message p50 is what the wasi:keyvalue calls cost: open, get, and the
// bucket's drop. per-byte-ns is the cost of each byte of the value, from
// the 64-byte and 4 KiB runs. The Go API's get of the same value
// (storage-get) is the floor.
func BenchmarkKVGet(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			sys, db, ids := kvActors(b, 1)
			if err := db.Set(context.Background(), benchOwner, "b", "k", []byte(strings.Repeat("v", size)), storage.Limits{}); err != nil {
				b.Fatal(err)
			}
			measure := func(cmd string, n int) []time.Duration {
				times := make([]time.Duration, 0, n)
				for i := 0; i < n; i++ {
					t0 := time.Now()
					p := askKV(b, sys, ids[0], cmd)
					times = append(times, time.Since(t0))
					if cmd != "noop" && len(p) != size+len("some:") {
						b.Fatalf("%d bytes back", len(p))
					}
				}
				return times
			}
			b.ResetTimer()
			get := measure("get|b|k", b.N)
			b.StopTimer()
			msg := measure("noop", b.N)
			var bare []time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				db.Get(context.Background(), benchOwner, "b", "k")
				bare = append(bare, time.Since(t0))
			}
			p50 := func(d []time.Duration) float64 { return float64(percentile(d, 0.5).Nanoseconds()) / 1000 }
			b.ReportMetric(p50(get), "p50-us")
			b.ReportMetric(p50(msg), "message-p50-us")
			b.ReportMetric(p50(get)-p50(msg), "get-us")
			b.ReportMetric(p50(bare), "storage-get-p50-us")
		})
	}
}

func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// BenchmarkKVSet: durable sets, each acknowledged after its commit, from
// one actor and from 8 actors at once (one request at a time each), with
// bare bbolt's sequential commit rate (one Update per write) in the same
// run as the reference, all three alternating.
func BenchmarkKVSet(b *testing.B) {
	sys, db, ids := kvActors(b, 8)
	value := strings.Repeat("v", 64)
	seq := 0
	run := func(actors []actor.ID, n int) time.Duration {
		seq++
		round := seq
		t0 := time.Now()
		var wg sync.WaitGroup
		for a, id := range actors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/len(actors); i++ {
					if p := askKV(b, sys, id, fmt.Sprintf("set|b|k%d-%d-%d|%s", round, a, i, value)); string(p) != "ok" {
						b.Errorf("set: %q", p)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}
	bareDB, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bareDB.Close()
	bareSeq := 0
	bare := func(n int) time.Duration {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			bareSeq++
			if err := bareDB.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return bk.Put([]byte("k"+strconv.Itoa(bareSeq)), []byte(value))
			}); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	// The three alternate in rounds of 200 writes, so that all of them see
	// the same disk (its commit time varies by tens of percent over a run).
	n := max(b.N, 400)
	const round = 200
	var tBare, t1, t8 time.Duration
	var s0, s1 storage.Stats
	b.ResetTimer()
	for done := 0; done < n; done += round {
		tBare += bare(round)
		t1 += run(ids[:1], round)
		a := db.Stats()
		t8 += run(ids, round)
		z := db.Stats()
		s0.Commits, s0.Writes = s0.Commits+z.Commits-a.Commits, s0.Writes+z.Writes-a.Writes
	}
	n = (n + round - 1) / round * round
	s1 = s0
	s0 = storage.Stats{}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
	b.ReportMetric(rate(tBare), "bare-commits/s")
	b.ReportMetric(rate(t1), "1-actor-writes/s")
	b.ReportMetric(rate(t8), "8-actors-writes/s")
	b.ReportMetric(rate(t1)/rate(tBare), "1-actor/bare-x")
	b.ReportMetric(rate(t8)/rate(t1), "8/1-x")
	b.ReportMetric(float64(s1.Writes-s0.Writes)/float64(s1.Commits-s0.Commits), "8-actors-writes/commit")
}
