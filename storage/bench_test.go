package storage

// Benchmarks of the Go API (issue 9), each with bare bbolt doing the same
// work as the reference, measured in the same run. See BENCHMARKING.md,
// "Key-value storage, Go API (issue 9)".
//
//	go test -run='^$' -bench='Get' -benchtime=200000x ./storage/
//	go test -run='^$' -bench='Set' -benchtime=4000x ./storage/
//	go test -run='^$' -bench='ListKeys' -benchtime=20x ./storage/
//	go test -run='^$' -bench='OpenLargeFile' -benchtime=3x ./storage/
//	go test -run='^$' -bench='ResidentMemory' -benchtime=1x ./storage/
//
// BenchmarkOpenLargeFile builds a file of about 1 GiB (AIRSSYS_BENCH_BIG=0
// skips it; it is skipped anyway with less than 3 GB free).

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

var benchOwner = Owner{Publisher: "ed25519:bench", Name: "bench"}

// unlimited lifts the default quota for the benchmarks that fill a file.
var unlimited = Limits{MaxBytes: math.MaxInt64, MaxKeys: math.MaxInt64}

// bareOpen opens a bare bbolt file with the options Open uses.
func bareOpen(b *testing.B, path string) *bolt.DB {
	b.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("b"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "kv.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// paired runs ref and ours alternately, rounds times (the order swapped
// every round), and returns the median of ours' time over ref's time.
func paired(rounds int, ref, ours func() time.Duration) float64 {
	var r []float64
	for i := 0; i < rounds; i++ {
		var tr, to time.Duration
		if i%2 == 0 {
			tr, to = ref(), ours()
		} else {
			to, tr = ours(), ref()
		}
		r = append(r, float64(to)/float64(tr))
	}
	return medianF(r)
}

// ---- get ------------------------------------------------------------------

// BenchmarkGet: a 64-byte value read by bare bbolt (db.View, two bucket
// lookups' worth of work: one bucket, Get, the value copied into a
// reused buffer) and by DB.Get (names checked, the owner's bucket and
// the identifier's bucket found, the value copied into a new slice).
// p50-ns is the median of per-operation times (each includes one
// time.Now pair: timer-p50-ns); x-bare is paired (see paired).
func BenchmarkGet(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 64)
	bare := bareOpen(b, filepath.Join(b.TempDir(), "bare.db"))
	if err := bare.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), value) }); err != nil {
		b.Fatal(err)
	}
	db := benchDB(b)
	if err := db.Set(ctx, benchOwner, "b", "k", value, Limits{}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	bareGet := func() {
		bare.View(func(tx *bolt.Tx) error {
			buf = append(buf[:0], tx.Bucket([]byte("b")).Get([]byte("k"))...)
			return nil
		})
		if len(buf) != 64 {
			b.Fatal("bare get")
		}
	}
	ourGet := func() {
		v, ok, err := db.Get(ctx, benchOwner, "b", "k")
		if err != nil || !ok || len(v) != 64 {
			b.Fatal("get", err)
		}
	}
	timed := func(b *testing.B, get func()) {
		times := make([]time.Duration, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range times {
			t0 := time.Now()
			get()
			times[i] = time.Since(t0)
		}
		b.StopTimer()
		timer := make([]time.Duration, 10000)
		for i := range timer {
			t0 := time.Now()
			timer[i] = time.Since(t0)
		}
		b.ReportMetric(float64(quantile(times, 0.5).Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(quantile(times, 0.99).Nanoseconds()), "p99-ns")
		b.ReportMetric(float64(quantile(timer, 0.5).Nanoseconds()), "timer-p50-ns")
	}
	b.Run("bare", func(b *testing.B) { timed(b, bareGet) })
	b.Run("storage", func(b *testing.B) {
		timed(b, ourGet)
		batch := func(get func()) func() time.Duration {
			return func() time.Duration {
				t0 := time.Now()
				for i := 0; i < 20000; i++ {
					get()
				}
				return time.Since(t0)
			}
		}
		b.ReportMetric(paired(21, batch(bareGet), batch(ourGet)), "x-bare")
	})
}

// ---- durable writes ---------------------------------------------------------

// seqWriters is what the write benchmarks compare: n writes of a 64-byte
// value under fresh keys, each returning after its commit.
type seqWriters struct {
	b     *testing.B
	bare  *bolt.DB
	db    *DB
	value []byte
	next  int // a fresh key number for every write
}

func newSeqWriters(b *testing.B) *seqWriters {
	return &seqWriters{b: b, bare: bareOpen(b, filepath.Join(b.TempDir(), "bare.db")), db: benchDB(b),
		value: bytes.Repeat([]byte("v"), 64)}
}

func (s *seqWriters) key() string {
	s.next++
	return "k" + strconv.Itoa(s.next)
}

// bareSeq: one db.Update (one commit, one fsync) per write.
func (s *seqWriters) bareSeq(n int) time.Duration {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		k := s.key()
		if err := s.bare.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), s.value) }); err != nil {
			s.b.Fatal(err)
		}
	}
	return time.Since(t0)
}

// ourSeq: DB.Set from one goroutine.
func (s *seqWriters) ourSeq(n int) time.Duration {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if err := s.db.Set(ctx, benchOwner, "b", s.key(), s.value, unlimited); err != nil {
			s.b.Fatal(err)
		}
	}
	return time.Since(t0)
}

// concurrent runs n writes split over w goroutines, each one write at a
// time; write is called with a fresh key.
func (s *seqWriters) concurrent(n, w int, write func(k string) error) time.Duration {
	keys := make([][]string, w)
	for g := range keys {
		for i := 0; i < n/w; i++ {
			keys[g] = append(keys[g], s.key())
		}
	}
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, k := range keys[g] {
				if err := write(k); err != nil {
					s.b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0)
}

func (s *seqWriters) ourSet(k string) error {
	return s.db.Set(ctx, benchOwner, "b", k, s.value, unlimited)
}

func (s *seqWriters) bareBatch(k string) error {
	return s.bare.Batch(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), s.value) })
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// BenchmarkSetSequential: durable writes from one goroutine. bare-commits/s
// is bare bbolt with one Update per write; writes/s is DB.Set; x-bare is
// our rate over bare's, paired: 11 rounds of 200 writes each, alternately.
// b.N is the number of writes of each (run it with -benchtime=Nx).
func BenchmarkSetSequential(b *testing.B) {
	s := newSeqWriters(b)
	s.bareSeq(50) // warm both files
	s.ourSeq(50)
	n := b.N
	b.ResetTimer()
	tBare := s.bareSeq(n)
	tOurs := s.ourSeq(n)
	b.StopTimer()
	ratio := paired(11, func() time.Duration { return s.bareSeq(200) }, func() time.Duration { return s.ourSeq(200) })
	b.ReportMetric(rate(n, tBare), "bare-commits/s")
	b.ReportMetric(rate(n, tOurs), "writes/s")
	b.ReportMetric(1/ratio, "x-bare-rate")
}

// BenchmarkSetConcurrent: durable writes from 8 goroutines, one write at a
// time each. writes/s is DB.Set; x-one-writer is its rate over DB.Set
// from one goroutine, paired (9 rounds of 400 writes each way);
// writes/commit from Stats. bare bbolt's db.Batch with 8 writers for
// comparison: with its defaults (a batch starts after 10 ms or 1,000
// calls) and with MaxBatchSize 8 (a batch starts when all 8 are in).
// b.N is the number of writes of each (run it with -benchtime=Nx).
func BenchmarkSetConcurrent(b *testing.B) {
	s := newSeqWriters(b)
	s.ourSeq(50)
	n := max(b.N/8*8, 8)
	b.ResetTimer()
	st0 := s.db.Stats()
	t8 := s.concurrent(n, 8, s.ourSet)
	st1 := s.db.Stats()
	b.StopTimer()
	ratio := paired(9, func() time.Duration { return s.ourSeq(400) },
		func() time.Duration { return s.concurrent(400, 8, s.ourSet) })
	tBatch := s.concurrent(n, 8, s.bareBatch)
	s.bare.MaxBatchSize = 8
	tBatch8 := s.concurrent(n, 8, s.bareBatch)
	b.ReportMetric(rate(n, t8), "writes/s")
	b.ReportMetric(1/ratio, "x-one-writer")
	b.ReportMetric(float64(st1.Writes-st0.Writes)/float64(st1.Commits-st0.Commits), "writes/commit")
	b.ReportMetric(rate(n, tBatch), "bare-batch-writes/s")
	b.ReportMetric(rate(n, tBatch8), "bare-batch8-writes/s")
}

// ---- list keys ----------------------------------------------------------------

// BenchmarkListKeys: every key of a bucket of 100,000 (keys of 11 bytes,
// values of 16), listed in pages of ListPage: ListKeys (a key cursor, one
// read transaction and one Seek a page) and ListKeysAt (a numeric cursor:
// each page walks from the first key). bare: one cursor over all the keys
// in one read transaction, each key copied into a string, collected in
// slices of ListPage.
func BenchmarkListKeys(b *testing.B) {
	const n = 100_000
	db := benchDB(b)
	bare := bareOpen(b, filepath.Join(b.TempDir(), "bare.db"))
	value := bytes.Repeat([]byte("v"), 16)
	for i := 0; i < n; i += 1000 {
		kvs := make([]KV, 1000)
		for j := range kvs {
			kvs[j] = KV{fmt.Sprintf("key-%07d", i+j), value}
		}
		if err := db.SetMany(ctx, benchOwner, "b", kvs, Limits{}); err != nil {
			b.Fatal(err)
		}
		if err := bare.Update(func(tx *bolt.Tx) error {
			for _, kv := range kvs {
				if err := tx.Bucket([]byte("b")).Put([]byte(kv.Key), kv.Value); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	check := func(b *testing.B, got int) {
		if got != n {
			b.Fatalf("%d keys listed", got)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/all")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/key")
	}
	b.Run("bare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			got := 0
			bare.View(func(tx *bolt.Tx) error {
				c := tx.Bucket([]byte("b")).Cursor()
				var keys []string // a page's worth at a time, as ListKeys returns them
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
					if len(keys) == ListPage {
						got += len(keys)
						keys = nil
					}
					keys = append(keys, string(k))
				}
				got += len(keys)
				return nil
			})
			check(b, got)
		}
		report(b)
	})
	b.Run("ListKeys", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			got := 0
			for cur := ""; ; {
				keys, next, err := db.ListKeys(ctx, benchOwner, "b", cur)
				if err != nil {
					b.Fatal(err)
				}
				got += len(keys)
				if next == "" {
					break
				}
				cur = next
			}
			check(b, got)
		}
		report(b)
	})
	b.Run("ListKeysAt", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			got := 0
			var off uint64
			for {
				keys, next, err := db.ListKeysAt(ctx, benchOwner, "b", off)
				if err != nil {
					b.Fatal(err)
				}
				got += len(keys)
				if next == nil {
					break
				}
				off = *next
			}
			check(b, got)
		}
		report(b)
	})
}

// ---- opening a large file --------------------------------------------------------

// BenchmarkOpenLargeFile: Open and Close of a file of about 1 GiB (4
// owners, values of 1,000 bytes under sequential keys, written 1,000 a
// commit), built once in a temporary directory; the time is Open's.
// warm: the file is in the page cache; cold: it is dropped from the page
// cache first (fdatasync, then posix_fadvise DONTNEED), and first-get-us
// is the first Get after such an Open. bare-cold: bolt.Open with the same
// options. set: DB.Set of 64-byte values on the open file (writes/s).
// Then two of the four owners' keys are deleted (half the file's pages
// become free; bbolt never shrinks a file) and half-deleted/... measures
// the same again, free-pages from bbolt's statistics.
func BenchmarkOpenLargeFile(b *testing.B) {
	if os.Getenv("AIRSSYS_BENCH_BIG") == "0" {
		b.Skip("AIRSSYS_BENCH_BIG=0")
	}
	dir := b.TempDir()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		b.Fatal(err)
	}
	if free := fs.Bavail * uint64(fs.Bsize); free < 3<<30 {
		b.Skipf("%.1f GB free in %s, less than 3", float64(free)/1e9, dir)
	}
	path := filepath.Join(dir, "big.db")
	built := time.Now()
	keys, size := buildLargeFile(b, path, 1<<30)
	b.Logf("built %d keys, %.2f GiB in %v", keys, float64(size)/(1<<30), time.Since(built).Round(time.Second))
	drop := func() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			b.Fatal(err)
		}
	}
	openClose := func(b *testing.B, cold bool) {
		var firstGet time.Duration
		var freePages int
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if cold {
				drop()
			}
			b.StartTimer()
			db, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			t0 := time.Now()
			if v, ok, err := db.Get(ctx, bigOwner(2), "b", "key-00012345"); err != nil || !ok || len(v) != 1000 {
				b.Fatal("get after open", ok, err)
			}
			firstGet += time.Since(t0)
			freePages = db.bolt.Stats().FreePageN
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(size)/(1<<30), "GiB")
		b.ReportMetric(float64(firstGet.Microseconds())/float64(b.N), "first-get-us")
		b.ReportMetric(float64(freePages), "free-pages")
	}
	setRate := func(b *testing.B) {
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		value := bytes.Repeat([]byte("v"), 64)
		n := max(b.N, 300)
		b.ResetTimer()
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := db.Set(ctx, bigOwner(0), "s", "k"+strconv.Itoa(i), value, unlimited); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(rate(n, time.Since(t0)), "writes/s")
	}
	b.Run("warm", func(b *testing.B) { openClose(b, false) })
	b.Run("cold", func(b *testing.B) { openClose(b, true) })
	b.Run("bare-cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			drop()
			b.StartTimer()
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
	})
	b.Run("set", setRate)

	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	deleted := time.Now()
	for _, o := range []Owner{bigOwner(1), bigOwner(3)} {
		for cur := ""; ; {
			keys, next, err := db.ListKeys(ctx, o, "b", cur)
			if err != nil {
				b.Fatal(err)
			}
			if len(keys) == 0 {
				break
			}
			if err := db.DeleteMany(ctx, o, "b", keys); err != nil {
				b.Fatal(err)
			}
			if next == "" {
				break
			}
		}
	}
	b.Logf("deleted two owners' keys in %v, %d free pages", time.Since(deleted).Round(time.Millisecond), db.bolt.Stats().FreePageN)
	db.Close()
	b.Run("half-deleted/warm", func(b *testing.B) { openClose(b, false) })
	b.Run("half-deleted/cold", func(b *testing.B) { openClose(b, true) })
	b.Run("half-deleted/set", setRate)
	// Bare bbolt on the same file: one Update per write, with the freelist
	// written at every commit (as Open does) and without (NoFreelistSync:
	// bbolt then rebuilds the freelist at every open by walking the file).
	bareSet := func(noFreelistSync bool) func(b *testing.B) {
		return func(b *testing.B) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType,
				NoFreelistSync: noFreelistSync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			value := bytes.Repeat([]byte("v"), 64)
			n := max(b.N, 300)
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < n; i++ {
				if err := db.Update(func(tx *bolt.Tx) error {
					bk, err := tx.CreateBucketIfNotExists([]byte("bare"))
					if err != nil {
						return err
					}
					return bk.Put([]byte("k"+strconv.Itoa(i)), value)
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(rate(n, time.Since(t0)), "commits/s")
		}
	}
	b.Run("half-deleted/bare-set", bareSet(false))
	b.Run("half-deleted/bare-set-no-freelist-sync", bareSet(true))
	b.Run("half-deleted/bare-cold-no-freelist-sync", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			drop()
			b.StartTimer()
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType,
				NoFreelistSync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
	})
}

func bigOwner(i int) Owner { return Owner{Publisher: "ed25519:big", Name: "o" + strconv.Itoa(i)} }

// buildLargeFile writes owners' data into path until the file holds at
// least size bytes; it returns the keys written and the file's size.
func buildLargeFile(b *testing.B, path string, size int64) (int, int64) {
	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := bytes.Repeat([]byte("x"), 1000)
	keys := 0
	for i := 0; ; i++ {
		o := bigOwner(i % 4)
		kvs := make([]KV, 1000)
		for j := range kvs {
			kvs[j] = KV{fmt.Sprintf("key-%08d", i/4*1000+j), value}
		}
		if err := db.SetMany(ctx, o, "b", kvs, unlimited); err != nil {
			b.Fatal(err)
		}
		keys += len(kvs)
		if i%16 == 15 {
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			if st.Size() >= size {
				return keys, st.Size()
			}
		}
	}
}

// ---- resident memory ------------------------------------------------------------

var rssAnonRE = regexp.MustCompile(`(?m)^(RssAnon|RssFile):\s+(\d+) kB`)

// rss returns RssAnon and RssFile (KiB) after a GC that returns freed
// memory to the OS.
func rss(b *testing.B) (anon, file int64) {
	runtime.GC()
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range rssAnonRE.FindAllSubmatch(status, -1) {
		v, _ := strconv.ParseInt(string(m[2]), 10, 64)
		if string(m[1]) == "RssAnon" {
			anon = v
		} else {
			file = v
		}
	}
	return anon, file
}

// BenchmarkResidentMemory: the process's anonymous resident memory
// (RssAnon) with an open database after storing 0, 100,000 and 1,000,000
// small keys (12-byte keys, 16-byte values, 1,000 a commit, one owner and
// bucket), and after reading every key back once. bbolt maps the file
// (file-backed, shared, read-only pages), so the data should show in
// RssFile, not in RssAnon. Runs once whatever b.N.
func BenchmarkResidentMemory(b *testing.B) {
	db := benchDB(b)
	value := bytes.Repeat([]byte("v"), 16)
	stored := 0
	store := func(n int) {
		for stored < n {
			kvs := make([]KV, 1000)
			for j := range kvs {
				kvs[j] = KV{fmt.Sprintf("key-%08d", stored+j), value}
			}
			if err := db.SetMany(ctx, benchOwner, "b", kvs, unlimited); err != nil {
				b.Fatal(err)
			}
			stored += len(kvs)
		}
	}
	var ms runtime.MemStats
	report := func(label string) {
		anon, file := rss(b)
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(anon), "anon-KiB-"+label)
		b.ReportMetric(float64(file), "file-KiB-"+label)
		b.ReportMetric(float64(ms.HeapInuse)/1024, "heap-KiB-"+label)
	}
	b.ResetTimer()
	report("0")
	store(100_000)
	report("100k")
	store(1_000_000)
	report("1M")
	for cur := ""; ; {
		keys, next, err := db.ListKeys(ctx, benchOwner, "b", cur)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.GetMany(ctx, benchOwner, "b", keys); err != nil {
			b.Fatal(err)
		}
		if next == "" {
			break
		}
		cur = next
	}
	report("1M-read")
	if u, _ := db.Usage(ctx, benchOwner); u.Keys != 1_000_000 {
		b.Fatalf("usage %+v", u)
	}
}
