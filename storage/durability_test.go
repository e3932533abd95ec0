package storage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ---- kill -9 -----------------------------------------------------------------
//
// TestKillDurability runs a writer in a child process (this test binary
// again, running TestDurabilityChild), kills it with SIGKILL at a random
// moment and checks the file it leaves: it opens without error (there is
// no repair), bbolt's own consistency check passes, every write the child
// saw acknowledged is there with its exact value, nothing else is there
// beyond the writes that were in flight, every batch is all or nothing and
// the stored usage equals a rescan of the data.
//
// The child reports each acknowledged write (its call returned nil) on a
// pipe (fd 3), one line written with one write(2) before the goroutine
// starts its next write; the parent reads every line the child wrote, even
// after the kill. So each writing goroutine has at most one write that may
// be committed without the parent knowing.

const (
	childPathEnv  = "AIRSSYS_KV_CHILD_PATH"
	childRoundEnv = "AIRSSYS_KV_CHILD_ROUND"
	killSeedEnv   = "AIRSSYS_KV_KILL_SEED" // replay a run: the seed it logged
)

// The child's writers, by kind.
const (
	nSetters     = 3 // Set of fresh keys, value derived from the key (alice "set")
	nIncrementer = 2 // Increment of one counter (bob "ctr" / "n")
	nBatchers    = 1 // SetMany of 1..40 fresh keys (alice "batch")
	nVersioners  = 1 // Set of one key per round to versions 1, 2, 3, ... (bob "ver")
	nDeleters    = 1 // Set of a fresh key, then Delete of it (alice "del")
)

// valueOf is the value of a fresh key: 0 to 299 bytes, any byte values.
func valueOf(key string) []byte {
	h := fnv.New64a()
	h.Write([]byte(key))
	s := h.Sum64()
	v := make([]byte, s%300)
	for i := range v {
		s = s*6364136223846793005 + 1442695040888963407
		v[i] = byte(s >> 56)
	}
	return v
}

// versionValue is version n of a versioned key: "n|" and n%200 bytes.
func versionValue(n int) []byte {
	return append([]byte(strconv.Itoa(n)+"|"), bytes.Repeat([]byte{'v'}, n%200)...)
}

func parseVersion(v []byte) (int, bool) {
	s, _, ok := bytes.Cut(v, []byte("|"))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(s))
	return n, err == nil && bytes.Equal(v, versionValue(n))
}

// TestDurabilityChild is the child's body; it runs only when
// TestKillDurability starts it, and never returns: it writes until killed.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(childPathEnv)
	if path == "" {
		t.Skip("the child process of TestKillDurability")
	}
	round, _ := strconv.Atoi(os.Getenv(childRoundEnv))
	acks := os.NewFile(3, "acks")
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		mu.Lock()
		defer mu.Unlock()
		if _, err := acks.Write([]byte(line)); err != nil {
			os.Exit(4)
		}
	}
	fail := func(err error) {
		ack("E %v", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(2)
	}
	db, err := Open(path, Options{})
	if err != nil {
		fail(err)
	}
	ack("R")
	r := fmt.Sprintf("r%d/", round)
	for g := 0; g < nSetters; g++ {
		go func() {
			for i := 0; ; i++ {
				k := fmt.Sprintf("%ss%d-%d", r, g, i)
				if err := db.Set(ctx, alice, "set", k, valueOf(k), Limits{}); err != nil {
					fail(err)
				}
				ack("S %s", k)
			}
		}()
	}
	for g := 0; g < nIncrementer; g++ {
		go func() {
			for {
				n, err := db.Increment(ctx, bob, "ctr", "n", 1, Limits{})
				if err != nil {
					fail(err)
				}
				ack("C %d", n)
			}
		}()
	}
	for g := 0; g < nBatchers; g++ {
		go func() {
			rnd := rand.New(rand.NewPCG(uint64(round), uint64(g)))
			for j := 0; ; j++ {
				n := 1 + rnd.IntN(40)
				kvs := make([]KV, n)
				for i := range kvs {
					k := fmt.Sprintf("%sb%d-%d.%d.%d", r, g, j, n, i)
					kvs[i] = KV{k, valueOf(k)}
				}
				if err := db.SetMany(ctx, alice, "batch", kvs, Limits{}); err != nil {
					fail(err)
				}
				ack("B %sb%d-%d", r, g, j)
			}
		}()
	}
	for g := 0; g < nVersioners; g++ {
		go func() {
			k := fmt.Sprintf("%so%d", r, g)
			for n := 1; ; n++ {
				if err := db.Set(ctx, bob, "ver", k, versionValue(n), Limits{}); err != nil {
					fail(err)
				}
				ack("V %s %d", k, n)
			}
		}()
	}
	for g := 0; g < nDeleters; g++ {
		go func() {
			for i := 0; ; i++ {
				k := fmt.Sprintf("%sd%d-%d", r, g, i)
				if err := db.Set(ctx, alice, "del", k, valueOf(k), Limits{}); err != nil {
					fail(err)
				}
				ack("S %s", k)
				if err := db.Delete(ctx, alice, "del", k); err != nil {
					fail(err)
				}
				ack("D %s", k)
			}
		}()
	}
	time.Sleep(30 * time.Second) // never reached unless the parent is gone
	os.Exit(3)
}

// acked is what the parent knows of the child's acknowledged writes, over
// every round on one file.
type acked struct {
	sets     map[string]bool // bucket "set" and "del" keys whose Set returned
	deleted  map[string]bool
	batches  map[string]bool // "r<round>/b<g>-<j>"
	versions map[string]int  // key -> highest acknowledged version
	counter  int64           // the counter's value at the last check
	maxCtr   int64           // highest acknowledged counter value this round
	n        int             // acknowledgements this round
}

func (a *acked) line(t *testing.T, l string) {
	kind, rest, _ := strings.Cut(l, " ")
	switch kind {
	case "R":
		return
	case "S":
		a.sets[rest] = true
	case "D":
		a.deleted[rest] = true
	case "B":
		a.batches[rest] = true
	case "C":
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			t.Fatalf("ack line %q", l)
		}
		a.maxCtr = max(a.maxCtr, n)
	case "V":
		k, n, _ := strings.Cut(rest, " ")
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("ack line %q", l)
		}
		a.versions[k] = max(a.versions[k], v)
	case "E":
		t.Fatalf("the child failed a write: %s", rest)
	default:
		t.Fatalf("ack line %q", l)
	}
	a.n++
}

func TestKillDurability(t *testing.T) {
	if os.Getenv(childPathEnv) != "" {
		t.Skip("in the child")
	}
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(killSeedEnv); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (%s=%d replays the kill moments)", seed, killSeedEnv, seed)
	rnd := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	start := time.Now()
	var path string
	var a *acked
	total := 0
	for round := 0; round < rounds; round++ {
		// A fresh file every fifth round (the kill may then come while the
		// child creates it); in between, the same file is killed again and
		// again.
		if round%5 == 0 {
			path = filepath.Join(dir, fmt.Sprintf("kill%d.db", round))
			a = &acked{sets: map[string]bool{}, deleted: map[string]bool{}, batches: map[string]bool{},
				versions: map[string]int{}}
		}
		a.maxCtr, a.n = 0, 0
		var how string
		if round%3 == 2 {
			how = fmt.Sprintf("after %d acknowledgements", 1+rnd.IntN(3000))
		} else {
			how = fmt.Sprintf("%v after the start", time.Duration(5+rnd.IntN(196))*time.Millisecond)
		}
		killChild(t, path, round, how, a)
		verifyAfterKill(t, path, round, a)
		total += a.n
		t.Logf("round %d: killed %s; %d acknowledged writes checked", round, how, a.n)
	}
	t.Logf("%d rounds, %d acknowledged writes in all, %v", rounds, total, time.Since(start).Round(time.Millisecond))
}

// killChild starts the child writing to path, kills it as how says ("N
// acknowledgements" or "D after the start") and records its
// acknowledgements in a.
func killChild(t *testing.T, path string, round int, how string, a *acked) {
	t.Helper()
	var afterAcks int
	var delay time.Duration
	if _, err := fmt.Sscanf(how, "after %d acknowledgements", &afterAcks); err != nil {
		d, _, _ := strings.Cut(how, " ")
		delay, _ = time.ParseDuration(d)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childPathEnv+"="+path, childRoundEnv+"="+strconv.Itoa(round))
	cmd.ExtraFiles = []*os.File{pw}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	started := time.Now()
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
	kill := func() {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	// Killed after the delay, or after 5s if the acknowledgements asked
	// for do not come.
	timer := time.After(5 * time.Second)
	if afterAcks == 0 {
		timer = time.After(time.Until(started.Add(delay)))
	}
	deadline := time.After(10 * time.Second)
	killed := false
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				// EOF: the child is gone (killed, or died on its own).
				waitChild(t, cmd, &out, killed, how)
				return
			}
			if !killed && strings.HasPrefix(l, "E ") {
				kill()
				killed = true
			}
			a.line(t, l)
			if afterAcks > 0 && a.n >= afterAcks && !killed {
				kill()
				killed = true
			}
		case <-timer:
			if !killed {
				kill()
				killed = true
			}
		case <-deadline:
			kill()
			cmd.Wait()
			t.Fatalf("round %d: the child's acknowledgements did not end within 10s (killed %s)", round, how)
		}
	}
}

// waitChild reaps the child and fails unless SIGKILL ended it.
func waitChild(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer, killed bool, how string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Signal(syscall.SIGKILL)
		t.Fatalf("the child did not end within 10s")
	}
	var ee *exec.ExitError
	if !killed || !errors.As(err, &ee) {
		t.Fatalf("the child ended on its own (%v), before the kill (%s):\n%s", err, how, out.String())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v, not SIGKILL:\n%s", err, out.String())
	}
}

// verifyAfterKill opens the file the child left and checks it against a.
func verifyAfterKill(t *testing.T, path string, round int, a *acked) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("round %d: the file left by the kill does not open: %v", round, err)
	}
	defer db.Close()
	fatalf := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("round %d: "+format, append([]any{round}, args...)...)
	}
	// bbolt's own check: pages, freelist, key order.
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		fatalf("bbolt consistency check: %v", err)
	}
	// Every key there: its bucket, key and value.
	data := map[string]map[string][]byte{}
	for _, o := range []Owner{alice, bob} {
		for id, kv := range rawData(t, db, o) {
			data[o.Name+"@"+o.Publisher+"/"+id] = kv
		}
	}
	setB, delB, batchB := data["billing@ed25519:alice/set"], data["billing@ed25519:alice/del"], data["billing@ed25519:alice/batch"]
	ctrB, verB := data["billing@ed25519:bob/ctr"], data["billing@ed25519:bob/ver"]

	// Sets: every acknowledged key with its exact value; any other key
	// is one in flight (at most one per writer and round), with its value.
	prefix := fmt.Sprintf("r%d/", round)
	unacked := 0
	for k, v := range setB {
		if !bytes.Equal(v, valueOf(k)) {
			fatalf("key %s has a value of %d bytes that was never written", k, len(v))
		}
		if !a.sets[k] {
			if !strings.HasPrefix(k, prefix) {
				fatalf("key %s, never acknowledged, appeared after its round", k)
			}
			unacked++
		}
	}
	if unacked > nSetters {
		fatalf("%d keys were never acknowledged, more than the %d writers had in flight", unacked, nSetters)
	}
	for k := range a.sets {
		bucket, isDel := setB, strings.Contains(k, "/d")
		if isDel {
			bucket = delB
		}
		v, ok := bucket[k]
		if a.deleted[k] {
			if ok {
				fatalf("key %s, deleted and acknowledged, is back", k)
			}
			continue
		}
		if !ok {
			// A deleter's key may be deleted without the parent knowing.
			if isDel && strings.HasPrefix(k, prefix) {
				continue
			}
			fatalf("acknowledged key %s is missing", k)
		}
		if !bytes.Equal(v, valueOf(k)) {
			fatalf("acknowledged key %s has a wrong value", k)
		}
	}
	inFlightDel := 0
	for k, v := range delB {
		if !bytes.Equal(v, valueOf(k)) {
			fatalf("key %s has a wrong value", k)
		}
		if strings.HasPrefix(k, prefix) {
			inFlightDel++ // between its Set and its Delete's acknowledgement
		}
	}
	if inFlightDel > nDeleters {
		fatalf("%d deleter keys left, more than the %d writers had in flight", inFlightDel, nDeleters)
	}

	// Batches: all or nothing, every acknowledged one whole.
	batches := map[string]int{}
	want := map[string]int{}
	for k, v := range batchB {
		name, rest, ok := strings.Cut(k, ".")
		nk, _, ok2 := strings.Cut(rest, ".")
		n, err := strconv.Atoi(nk)
		if !ok || !ok2 || err != nil {
			fatalf("batch key %q", k)
		}
		if !bytes.Equal(v, valueOf(k)) {
			fatalf("batch key %s has a wrong value", k)
		}
		batches[name]++
		want[name] = n
	}
	unackedBatches := 0
	for name, got := range batches {
		if got != want[name] {
			fatalf("batch %s has %d of its %d keys", name, got, want[name])
		}
		if !a.batches[name] {
			unackedBatches++
		}
	}
	if unackedBatches > nBatchers {
		fatalf("%d batches never acknowledged are there", unackedBatches)
	}
	for name := range a.batches {
		if batches[name] == 0 {
			fatalf("acknowledged batch %s is missing", name)
		}
	}

	// The counter: at least the last acknowledged value, and at most one
	// unacknowledged increment per incrementer past it.
	var ctr int64
	if v, ok := ctrB["n"]; ok {
		if ctr, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			fatalf("counter %q", v)
		}
	}
	floor := max(a.counter, a.maxCtr)
	if ctr < floor || ctr > floor+nIncrementer {
		fatalf("counter %d; acknowledged %d, before the round %d", ctr, a.maxCtr, a.counter)
	}
	a.counter = ctr

	// Versions: the acknowledged one or the one after it.
	for k, v := range verB {
		n, ok := parseVersion(v)
		if !ok {
			fatalf("versioned key %s has value %q", k, v)
		}
		if acked := a.versions[k]; n != acked && n != acked+1 {
			fatalf("versioned key %s at version %d, acknowledged %d", k, n, acked)
		}
	}
	for k, n := range a.versions {
		if _, ok := verB[k]; !ok && n > 0 {
			fatalf("versioned key %s missing (acknowledged version %d)", k, n)
		}
	}

	// Usage: what a rescan finds.
	for _, o := range []Owner{alice, bob} {
		u, err := db.Usage(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if scan := rescan(t, db, o); u != scan {
			fatalf("%s: stored usage %+v, a rescan finds %+v", o, u, scan)
		}
	}
	// What this check found is what later rounds must find again: writes
	// in flight at the kill are now either there or not, for good.
	for k := range setB {
		a.sets[k] = true
	}
	for k := range delB {
		a.sets[k] = true
	}
	for k := range a.sets {
		if strings.Contains(k, "/d") {
			if _, ok := delB[k]; !ok {
				a.deleted[k] = true
			}
		}
	}
	for name := range batches {
		a.batches[name] = true
	}
	for k, v := range verB {
		a.versions[k], _ = parseVersion(v)
	}

	// And the file takes writes again.
	k := fmt.Sprintf("parent%d", round)
	if err := db.Set(ctx, alice, "set", k, valueOf(k), Limits{}); err != nil {
		fatalf("writing after the kill: %v", err)
	}
	a.sets[k] = true
}

// rawData reads every bucket and key of an owner straight from bbolt:
// the owner's bucket holds one bucket per identifier and the usage record.
func rawData(t *testing.T, db *DB, o Owner) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ob, _ := ownerBucket(tx, o, false)
		if ob == nil {
			return nil
		}
		return ob.ForEach(func(id, v []byte) error {
			if v != nil {
				if bytes.Equal(id, usageKey) {
					return nil
				}
				return fmt.Errorf("a value %q beside the buckets", id)
			}
			m := map[string][]byte{}
			out[string(id)] = m
			return ob.Bucket(id).ForEach(func(k, v []byte) error {
				if v == nil {
					return fmt.Errorf("a bucket %q in bucket %q", k, id)
				}
				m[string(k)] = bytes.Clone(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rescan counts an owner's usage from its data, read straight from bbolt.
func rescan(t *testing.T, db *DB, o Owner) Usage {
	t.Helper()
	var u Usage
	for _, kv := range rawData(t, db, o) {
		for k, v := range kv {
			u.Bytes += int64(len(k) + len(v))
			u.Keys++
		}
	}
	return u
}

// ---- acknowledgement only with the commit's outcome ---------------------------

// A gate holds the commit loop inside the failApply hook until the test
// opens it (at most 10s, so that a failing test cannot hang).
type gate struct {
	reached, released chan struct{}
	r, o              sync.Once
}

func newGate() *gate { return &gate{reached: make(chan struct{}), released: make(chan struct{})} }

// hold is called in the hook.
func (g *gate) hold() {
	g.r.Do(func() { close(g.reached) })
	select {
	case <-g.released:
	case <-time.After(10 * time.Second):
	}
}

func (g *gate) open() { g.o.Do(func() { close(g.released) }) }

func (g *gate) waitReached(t *testing.T, what string) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s never reached the backend", what)
	}
}

// recv receives from ch within 5s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no answer within 5s", what)
		panic("unreachable")
	}
}

// waitGroup waits for wg within 5s.
func waitGroup(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	recv(t, done, what)
}

// hookDB opens a database whose failApply hook calls f with the number of
// the call (from 1) and the id of the last committed transaction, which
// tells the write transactions apart: calls in one write transaction see
// the same committed id. The gates are opened before the database closes
// at the end of the test.
func hookDB(t *testing.T, f func(call int, committed int) error, gates ...*gate) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kv.db")
	var calls atomic.Int64
	var db *DB
	db = open(t, path, Options{failApply: func(int) error {
		var committed int
		if err := db.bolt.View(func(tx *bolt.Tx) error {
			committed = tx.ID()
			return nil
		}); err != nil {
			return err
		}
		return f(int(calls.Add(1)), committed)
	}})
	t.Cleanup(func() {
		for _, g := range gates {
			g.open()
		}
	})
	return db, path
}

// waitQueued waits until n writes wait behind the leader.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	queued := func() int {
		db.mu.Lock()
		defer db.mu.Unlock()
		return len(db.queue)
	}
	deadline := time.Now().Add(5 * time.Second)
	for queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, waited for %d", queued(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func committedTx(t *testing.T, db *DB) int {
	t.Helper()
	var id int
	db.bolt.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}

// A group is acknowledged with its commit's outcome: a backend failure in
// the middle of a group fails every write of the group, those applied
// before the failure too, and leaves none of their keys. Writes are queued
// while the first transaction is held in the hook, so the group is
// deterministic: the first write alone, then every queued write in one
// transaction.
func TestGroupFailureFailsEveryWrite(t *testing.T) {
	g := newGate()
	var failAt atomic.Int64
	var mu sync.Mutex
	txOf := map[int]int{} // call -> committed transaction id it saw
	db, path := hookDB(t, func(call, committed int) error {
		mu.Lock()
		txOf[call] = committed
		mu.Unlock()
		if call == 1 {
			g.hold()
		}
		if int64(call) == failAt.Load() {
			return errors.New("injected disk failure")
		}
		return nil
	}, g)
	first := make(chan error, 1)
	go func() { first <- db.Set(ctx, alice, "b", "first", []byte("1"), Limits{}) }()
	g.waitReached(t, "the first write")
	// The group, queued in this order: 10 Sets, a SetMany of 3 keys, an
	// Increment, a Delete of "first", 10 more Sets. Hook calls: 10 + 3 + 1
	// + 1 + 10 = 25, the 2nd to the 26th.
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 32)
	queued := 0
	queue := func(name string, fn func() error) {
		go func() { results <- result{name, fn()} }()
		queued++
		waitQueued(t, db, queued)
	}
	var keys []string
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("a%d", i)
		keys = append(keys, k)
		queue("set "+k, func() error { return db.Set(ctx, alice, "b", k, []byte(k), Limits{}) })
	}
	keys = append(keys, "m0", "m1", "m2")
	queue("set-many", func() error {
		return db.SetMany(ctx, alice, "b", []KV{{"m0", nil}, {"m1", []byte("x")}, {"m2", []byte("yy")}}, Limits{})
	})
	keys = append(keys, "n")
	queue("increment", func() error { _, err := db.Increment(ctx, alice, "b", "n", 5, Limits{}); return err })
	queue("delete first", func() error { return db.Delete(ctx, alice, "b", "first") })
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("z%d", i)
		keys = append(keys, k)
		queue("set "+k, func() error { return db.Set(ctx, alice, "b", k, []byte(k), Limits{}) })
	}
	// Fail at the 20th call: the 19th write of the group, after 18 applied.
	failAt.Store(20)
	select {
	case r := <-results:
		t.Fatalf("%s returned (%v) while its transaction had not begun", r.name, r.err)
	default:
	}
	g.open()
	if err := recv(t, first, "the first write"); err != nil {
		t.Fatalf("the first write, alone in its transaction: %v", err)
	}
	for i := 0; i < queued; i++ {
		r := recv(t, results, "a write of the failed group")
		if r.err == nil || !strings.Contains(r.err.Error(), "injected disk failure") {
			t.Errorf("%s in the failed group returned %v", r.name, r.err)
		}
	}
	mu.Lock()
	if len(txOf) != 20 {
		t.Errorf("%d hook calls, want 20 (the failure ends the transaction)", len(txOf))
	}
	for c := 3; c <= len(txOf); c++ {
		if txOf[c] != txOf[2] {
			t.Errorf("hook call %d saw committed transaction %d, call 2 saw %d: not one group", c, txOf[c], txOf[2])
		}
	}
	if txOf[2] != txOf[1]+1 {
		t.Errorf("the group's transaction follows %d, the first write's followed %d", txOf[2], txOf[1])
	}
	mu.Unlock()
	check := func(db *DB, want Usage) {
		t.Helper()
		for _, k := range keys {
			if v, ok := mustGet(t, db, alice, "b", k); ok {
				t.Errorf("key %s of the failed group is there (%q)", k, v)
			}
		}
		if v, ok := mustGet(t, db, alice, "b", "first"); !ok || v != "1" {
			t.Errorf("the first write: %q %v (its delete failed with the group)", v, ok)
		}
		if u, _ := db.Usage(ctx, alice); u != want || u != rescan(t, db, alice) {
			t.Errorf("usage %+v, rescan %+v, want %+v", u, rescan(t, db, alice), want)
		}
	}
	check(db, Usage{Bytes: 6, Keys: 1}) // "first" = "1"
	// The loop goes on: the next write commits.
	if err := db.Set(ctx, alice, "b", "after", nil, Limits{}); err != nil {
		t.Fatalf("a write after the failed group: %v", err)
	}
	db.Close()
	db = open(t, path, Options{})
	check(db, Usage{Bytes: 11, Keys: 2}) // and "after" = ""
}

// Writes that pile up while a transaction runs go into the next one,
// whole: one transaction, one commit, and none is acknowledged before it
// (the last write of the group is held in the hook while the others are
// already applied in the transaction).
func TestGroupIsAcknowledgedAfterItsCommit(t *testing.T) {
	const n = 40
	g1, gLast := newGate(), newGate()
	var mu sync.Mutex
	txOf := map[int]int{}
	db, path := hookDB(t, func(call, committed int) error {
		mu.Lock()
		txOf[call] = committed
		mu.Unlock()
		switch call {
		case 1:
			g1.hold()
		case 1 + n:
			gLast.hold()
		}
		return nil
	}, g1, gLast)
	first := make(chan error, 1)
	go func() { first <- db.Set(ctx, alice, "b", "first", nil, Limits{}) }()
	g1.waitReached(t, "the first write")
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Set(ctx, alice, "b", fmt.Sprintf("k%02d", i), []byte("v"), Limits{})
		}()
	}
	waitQueued(t, db, n)
	before := committedTx(t, db)
	g1.open()
	if err := recv(t, first, "the first write"); err != nil {
		t.Fatal(err)
	}
	gLast.waitReached(t, "the group's last write")
	// n-1 writes of the group are applied in the open transaction; none
	// may be acknowledged yet, and no other transaction committed.
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-errs:
		t.Fatalf("a write of the group returned (%v) before its commit", err)
	default:
	}
	if got := committedTx(t, db); got != before+1 {
		t.Fatalf("committed transaction %d while the group runs, want %d (the first write's)", got, before+1)
	}
	gLast.open()
	waitGroup(t, &wg, "the group")
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := committedTx(t, db); got != before+2 {
		t.Fatalf("%d transactions committed for the first write and the group, want 2", got-before)
	}
	mu.Lock()
	for c := 2; c <= 1+n; c++ {
		if txOf[c] != before+1 {
			t.Fatalf("hook call %d saw committed transaction %d, want %d: the group was split", c, txOf[c], before+1)
		}
	}
	mu.Unlock()
	db.Close()
	db = open(t, path, Options{})
	if u, _ := db.Usage(ctx, alice); u.Keys != n+1 || u != rescan(t, db, alice) {
		t.Fatalf("usage %+v, rescan %+v", u, rescan(t, db, alice))
	}
}

// A write refused in the middle of a group (quota, not an integer, a
// stale compare-and-swap) fails alone: the writes around it, of the same
// owner, commit, and the usage stays exact.
func TestRefusalInAGroupFailsOnlyItself(t *testing.T) {
	g := newGate()
	db, path := hookDB(t, func(call, _ int) error {
		if call == 1 {
			g.hold()
		}
		return nil
	}, g)
	lim := Limits{MaxBytes: 100, MaxKeys: 5}
	first := make(chan error, 1)
	go func() { first <- db.Set(ctx, alice, "b", "s", []byte("text"), lim) }() // 5 bytes, 1 key
	g.waitReached(t, "the first write")
	type result struct {
		name string
		want error
		err  error
	}
	results := make(chan result, 16)
	queued := 0
	queue := func(name string, want error, fn func() error) {
		go func() { results <- result{name, want, fn()} }()
		queued++
		waitQueued(t, db, queued)
	}
	queue("a", nil, func() error { return db.Set(ctx, alice, "b", "a", make([]byte, 39), lim) }) // 45
	queue("too big", ErrQuota, func() error { return db.Set(ctx, alice, "b", "big", make([]byte, 60), lim) })
	queue("batch past the keys", ErrQuota, func() error {
		return db.SetMany(ctx, alice, "b", []KV{{"x", nil}, {"y", nil}, {"z", nil}, {"w", nil}}, lim)
	})
	queue("increment text", ErrNotInteger, func() error { _, err := db.Increment(ctx, alice, "b", "s", 1, lim); return err })
	queue("stale cas", ErrCASFailed, func() error {
		return db.CompareAndSwap(ctx, alice, "b", "s", []byte("old"), true, []byte("new"), lim)
	})
	queue("c", nil, func() error { return db.Set(ctx, alice, "b", "c", make([]byte, 19), lim) }) // 65
	queue("batch", nil, func() error {
		return db.SetMany(ctx, alice, "b", []KV{{"d", []byte("12")}, {"e", nil}}, lim) // 69, 5 keys
	})
	queue("past the keys", ErrQuota, func() error { return db.Set(ctx, alice, "b", "f", nil, lim) })
	g.open()
	if err := recv(t, first, "the first write"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < queued; i++ {
		r := recv(t, results, "a write of the group")
		if (r.want == nil) != (r.err == nil) || (r.want != nil && !errors.Is(r.err, r.want)) {
			t.Errorf("%s: %v, want %v", r.name, r.err, r.want)
		}
	}
	want := Usage{Bytes: 69, Keys: 5}
	if u, _ := db.Usage(ctx, alice); u != want || rescan(t, db, alice) != want {
		t.Fatalf("usage %+v, rescan %+v, want %+v", u, rescan(t, db, alice), want)
	}
	db.Close()
	db = open(t, path, Options{})
	if u, _ := db.Usage(ctx, alice); u != want {
		t.Fatalf("after reopening: %+v", u)
	}
}

// Close with writes waiting: each write's outcome matches the file. A
// write that returned nil is in it, one that returned an error (ErrClosed)
// is not.
func TestCloseWithWritesWaiting(t *testing.T) {
	for round := 0; round < 10; round++ {
		g := newGate()
		db, path := hookDB(t, func(int, int) error {
			g.hold()
			return nil
		}, g)
		const n = 50
		errs := make([]error, n+1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); errs[n] = db.Set(ctx, alice, "b", "first", nil, Limits{}) }()
		g.waitReached(t, "the first write")
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Set(ctx, alice, "b", fmt.Sprintf("k%02d", i), nil, Limits{})
			}()
		}
		waitQueued(t, db, n)
		closed := make(chan error, 1)
		go func() { closed <- db.Close() }()
		time.Sleep(time.Millisecond)
		g.open()
		if err := recv(t, closed, "Close"); err != nil {
			t.Fatal(err)
		}
		waitGroup(t, &wg, "the writes")
		db = open(t, path, Options{})
		ok := 0
		for i := 0; i <= n; i++ {
			k := "first"
			if i < n {
				k = fmt.Sprintf("k%02d", i)
			}
			_, there := mustGet(t, db, alice, "b", k)
			if there != (errs[i] == nil) {
				t.Fatalf("round %d: %s returned %v, in the file: %v", round, k, errs[i], there)
			}
			if errs[i] != nil && !errors.Is(errs[i], ErrClosed) {
				t.Fatalf("%s: %v, want ErrClosed", k, errs[i])
			}
			if errs[i] == nil {
				ok++
			}
		}
		if errs[n] != nil {
			t.Fatalf("the write in the transaction when Close came: %v", errs[n])
		}
		if u, _ := db.Usage(ctx, alice); u.Keys != int64(ok) || u != rescan(t, db, alice) {
			t.Fatalf("usage %+v, %d writes acknowledged", u, ok)
		}
		db.Close()
	}
}

// ---- found while writing these tests, and fixed -------------------------------

// DB is "safe for concurrent use": two Close calls at once once both passed
// the check of stop and both closed it ("panic: close of closed channel").
// (A host shutting down on a signal while another path closes the
// database would hit it.) With 16 goroutines closing at once it panicked
// in every run here.
func TestConcurrentCloseIsSafe(t *testing.T) {
	for i := 0; i < 3000; i++ {
		db, err := Open(filepath.Join(t.TempDir(), "kv.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				db.Close()
			}()
		}
		close(start)
		waitGroup(t, &wg, "concurrent Close")
	}
}

// A refused write "fails before it changes anything" (package doc), yet
// it creates its owner's bucket and its identifier's bucket in the
// committed transaction: the owner shows in Owners, the identifier in
// Buckets, and the file grows. Usage does not count bucket names, so
// writes refused by a full quota keep adding buckets (5,000 refused Sets
// with new 250-byte identifiers grew a 32 KiB file to 4 MiB). Package
// security bounds the identifiers a component can use to the exact names
// of its manifest, which bounds the damage through wasi:keyvalue.
func TestRefusedWritesLeaveNoBuckets(t *testing.T) {
	db, _ := tmpDB(t)
	o := Owner{Publisher: "ed25519:carol", Name: "full"}
	if err := db.Set(ctx, o, "new", "k", []byte("too long for the quota"), Limits{MaxBytes: 5}); !errors.Is(err, ErrQuota) {
		t.Fatalf("set over the quota: %v", err)
	}
	owners, _ := db.Owners(ctx)
	ids, _ := db.Buckets(ctx, o)
	if len(owners) != 0 || len(ids) != 0 {
		t.Fatalf("after one refused write: owners %v, %s's buckets %q", owners, o, ids)
	}
}
