package actor_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// Load tests of the Go guest SDK (guest/) with the load actor
// (testdata/src/goactor/load, goactor_load.wasm): what only fails under
// load, where the guest's memory rules matter (automatic GC off, a
// collection at the start of export bodies, host allocations pinned until
// the export has consumed them).

// loadStats is the load actor's "stats" reply.
type loadStats struct {
	msgs, gcs, live, heap, mapped, held uint64
}

func (s loadStats) String() string {
	return fmt.Sprintf("msgs=%d gcs=%d live=%.1fMiB heap=%.1fMiB mapped=%.1fMiB held=%.1fMiB", s.msgs, s.gcs,
		inMiB(s.live), inMiB(s.heap), inMiB(s.mapped), inMiB(s.held))
}

func inMiB(n uint64) float64 { return float64(n) / (1 << 20) }

// fields parses "k=v k=v ..." into a map.
func loadFields(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("reply %q: field %q", s, f)
		}
		m[k] = v
	}
	return m
}

func loadUint(t *testing.T, m map[string]string, k string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(m[k], 10, 64)
	if err != nil {
		t.Fatalf("field %s=%q: %v", k, m[k], err)
	}
	return v
}

func loadGuestStats(t *testing.T, sys *actor.System, id string) loadStats {
	t.Helper()
	m := loadFields(t, ask(t, sys, id, "stats"))
	return loadStats{loadUint(t, m, "msgs"), loadUint(t, m, "gcs"), loadUint(t, m, "live"),
		loadUint(t, m, "heap"), loadUint(t, m, "mapped"), loadUint(t, m, "held")}
}

// askWithin is ask with a longer wait, for replies behind a long queue or
// a long handler.
func loadAsk(t *testing.T, sys *actor.System, to, payload string, within time.Duration) string {
	t.Helper()
	got, err := askErr(sys, to, payload, within)
	if err != nil {
		t.Fatalf("request %.40q to %s: %v", payload, to, err)
	}
	return got
}

// noTraps fails unless the actor ran one instance, which never trapped.
func loadNoTraps(t *testing.T, sys *actor.System, rec *recorder, id string) actor.Stats {
	t.Helper()
	st, err := sys.Stats(actor.ID(id))
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 0 || st.Restarts != 0 || len(st.Traps) != 0 || st.State != actor.Running ||
		rec.count(actor.EventStarted, actor.ID(id)) != 1 {
		t.Fatalf("%s failed or restarted: stats %+v\n%s", id, st, rec.logText())
	}
	return st
}

// TestGoActorLoadPayloadsAtTheCap: text and bytes at exactly the message
// cap (payload and content type, and headers) go through the Go guest and
// back unchanged, from several senders at once so that the mailbox holds
// many; one byte over is refused with ErrTooLarge before it reaches the
// actor, a reply one byte over is refused to its requester, and the actor
// serves at the cap afterwards, never restarted.
func TestGoActorLoadPayloadsAtTheCap(t *testing.T) {
	sys, rec := newSystem(t)
	const id = "t/goload/1"
	deploy(t, sys, spec(t, id, "goactor_load"))
	capBytes := actor.DefaultMaxMessageBytes
	rng := rand.New(rand.NewPCG(7, 13))

	// Text: ASCII with 2-, 3- and 4-byte characters, exactly n bytes.
	text := func(n int) []byte {
		b := make([]byte, 0, n)
		for len(b) < n {
			switch r := rng.IntN(64); {
			case r == 0 && n-len(b) >= 4:
				b = append(b, "😀"...)
			case r == 1 && n-len(b) >= 3:
				b = append(b, "€"...)
			case r == 2 && n-len(b) >= 2:
				b = append(b, "é"...)
			default:
				b = append(b, byte('a'+rng.IntN(26)))
			}
		}
		return b
	}
	bin := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		b[0], b[n-1] = 0xff, 0xfe // not UTF-8
		return b
	}
	hdrs := []actor.Header{{Name: "x-load", Value: strings.Repeat("h", 1000)}}
	hdrBytes := len(hdrs[0].Name) + len(hdrs[0].Value) // headers count toward the cap
	type round struct {
		name string
		m    actor.Message
	}
	var rounds []round
	for _, ct := range []string{"text/plain", "application/octet-stream"} {
		gen := text
		if !strings.HasPrefix(ct, "text/") {
			gen = bin
		}
		rounds = append(rounds,
			round{ct, actor.Message{Payload: gen(capBytes - len(ct)), ContentType: ct}},
			round{ct + " with headers", actor.Message{Payload: gen(capBytes - len(ct) - hdrBytes), ContentType: ct,
				Headers: hdrs}},
		)
	}
	workers, perWorker := 4, 6
	if raceEnabled || testing.Short() {
		perWorker = 2
	}
	ctx := context.Background()
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				r := rounds[(w+i)%len(rounds)]
				ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				got, err := sys.RequestMessage(ctx, id, r.m)
				cancel()
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s, round %d: %w", r.name, i, err)
					return
				case !bytes.Equal(got.Payload, r.m.Payload) || got.ContentType != r.m.ContentType:
					errs <- fmt.Errorf("%s, round %d: %d bytes of %s came back, want %d bytes", r.name, i,
						len(got.Payload), got.ContentType, len(r.m.Payload))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	handled := uint64(workers * perWorker)

	// One byte over: refused, by Request and Send, and nothing reaches the
	// actor.
	for _, r := range rounds {
		over := r.m
		over.Payload = append(bytes.Clone(r.m.Payload), 'x')
		if _, err := sys.RequestMessage(ctx, id, over); !errors.Is(err, actor.ErrTooLarge) {
			t.Fatalf("%s, one byte over the cap: request %v, want ErrTooLarge", r.name, err)
		}
		if err := sys.SendMessage(ctx, id, over); !errors.Is(err, actor.ErrTooLarge) {
			t.Fatalf("%s, one byte over the cap: send %v, want ErrTooLarge", r.name, err)
		}
	}

	// Replies made by the guest: at the cap (with the request's content
	// type, text/plain), and one byte over.
	n := capBytes - len("text/plain")
	if got := ask(t, sys, id, fmt.Sprintf("reply|%d", n)); got != strings.Repeat("r", n) {
		t.Fatalf("a reply at the cap came back with %d bytes", len(got))
	}
	if _, err := askErr(sys, id, fmt.Sprintf("reply|%d", n+1), 10*time.Second); !errors.Is(err, actor.ErrTooLarge) {
		t.Fatalf("a reply one byte over the cap: %v, want ErrTooLarge", err)
	}
	handled += 2

	// Nothing broken: at the cap again, both kinds.
	for _, r := range rounds {
		if got := request(t, sys, id, r.m); !bytes.Equal(got.Payload, r.m.Payload) {
			t.Fatalf("%s after the refusals: %d bytes came back", r.name, len(got.Payload))
		}
		handled++
	}
	gs := loadGuestStats(t, sys, id)
	handled++
	st := loadNoTraps(t, sys, rec, id)
	if st.Handled != handled || gs.msgs != handled {
		t.Fatalf("handled %d (the guest counted %d), want %d: something over the cap got through", st.Handled,
			gs.msgs, handled)
	}
	if gs.gcs == 0 || gs.live > 4<<20 {
		t.Fatalf("%d MiB through the guest: %v (want collections, and a live heap under 4 MiB)",
			(handled-1)*uint64(capBytes)>>20, gs)
	}
	// The reply over the cap, and nothing else, is a dead letter.
	if dead, total := sys.DeadLetters(); total != 1 || !errors.Is(dead[0].Reason, actor.ErrTooLarge) ||
		dead[0].Message.Sender != id {
		t.Fatalf("%d dead letters, want the reply over the cap: %+v", total, dead)
	}
	t.Logf("%d MiB through the guest at the cap; guest %v", (handled-1)*uint64(capBytes)>>20, gs)
}

// loadGrowSum is what the load actor's grow|mib|seed replies: its objects'
// sizes and contents from PCG(seed, growStream) (the copy in
// testdata/src/goactor/load/main.go must agree).
func loadGrowSum(mibs int, seed uint64) string {
	target := mibs << 20
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	h := fnv.New64a()
	buf := make([]byte, 1<<20)
	size, objects := 0, 0
	for i := 0; size < target; i++ {
		var n int
		if i%256 == 255 {
			n = 256<<10 + rng.IntN(768<<10)
		} else {
			n = 16 + rng.IntN(4081)
		}
		n = min(n, target-size)
		b := buf[:n]
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, rng.Uint64())
			b = b[8:]
		}
		if len(b) > 0 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], rng.Uint64())
			copy(b, w[:])
		}
		h.Write(buf[:n])
		size += n
		objects++
	}
	return fmt.Sprintf("bytes=%d objects=%d sum=%016x", size, objects, h.Sum64())
}

// TestGoActorLoadHeapGrowth: one message grows the guest's heap by 64 MiB
// in about 14,000 objects, 55 of them large, reading the clock,
// crypto/rand and a ChaCha8 source and logging between allocations (no
// collection can run inside it); the contents are what the host computes
// from the same seed. They survive collections run between the messages
// that follow (payloads through cabi_realloc, garbage), are freed by
// "free", and the next collections bring the live heap back down. Every
// log line reached the system's logger.
func TestGoActorLoadHeapGrowth(t *testing.T) {
	sys, rec := newSystem(t)
	const id = "t/goload/2"
	s := spec(t, id, "goactor_load")
	s.Limits.MemoryLimit = 256 << 20
	deploy(t, sys, s)
	const grow, seed = 64, 20260
	want := loadGrowSum(grow, seed)
	if got := loadAsk(t, sys, id, fmt.Sprintf("grow|%d|%d", grow, seed), 30*time.Second); got != want {
		t.Fatalf("grow replied %q, want %q", got, want)
	}
	before := loadGuestStats(t, sys, id)
	if before.held != grow<<20 || before.heap < grow<<20 {
		t.Fatalf("after grow: %v", before)
	}

	// Collections with 64 MiB live: payloads and garbage until two ran.
	payload := strings.Repeat("p", 256<<10)
	after := before
	for i := 0; after.gcs < before.gcs+2; i++ {
		if i == 200 {
			t.Fatalf("no collection in 200 messages: %v", after)
		}
		if got := ask(t, sys, id, payload); got != payload {
			t.Fatalf("echo of %d bytes came back with %d", len(payload), len(got))
		}
		ask(t, sys, id, "garbage|4")
		after = loadGuestStats(t, sys, id)
	}
	if after.live < grow<<20 || after.held != grow<<20 {
		t.Fatalf("after collections the live heap is %v (64 MiB are kept)", after)
	}
	if got := loadAsk(t, sys, id, "verify", 30*time.Second); got != fmt.Sprintf("ok grows=1 bytes=%d", grow<<20) {
		t.Fatalf("verify after collections: %q", got)
	}

	// Freed, and collected.
	if got := ask(t, sys, id, "free"); got != fmt.Sprintf("freed=%d", grow<<20) {
		t.Fatalf("free: %q", got)
	}
	freed := after
	for i := 0; freed.gcs < after.gcs+1 || freed.live > 8<<20; i++ {
		if i == 400 {
			t.Fatalf("the freed heap was not collected in 400 messages: %v", freed)
		}
		ask(t, sys, id, "garbage|4")
		freed = loadGuestStats(t, sys, id)
	}
	t.Logf("guest after grow %v; with collections %v; freed %v", before, after, freed)

	// Every MiB logged once, through the system's logger.
	logs := rec.logText()
	for m := 1; m <= grow; m++ {
		line := fmt.Sprintf("msg=\"grow %d/%d MiB ", m, grow)
		if c := strings.Count(logs, line); c != 1 {
			t.Fatalf("log line %q written %d times:\n%.2000s", line, c, logs)
		}
	}
	if c := strings.Count(logs, "actor="+id+" context=load"); c != grow {
		t.Fatalf("%d log lines of the actor, want %d", c, grow)
	}
	if st := loadNoTraps(t, sys, rec, id); st.LogLinesDropped != 0 {
		t.Fatalf("log lines dropped: %+v", st)
	}
}

// TestGoActorLoadManyMessages: 100,000 requests of up to 4 KiB (10,000
// with -short or -race), from 8 senders at once, each leaving garbage in
// the guest (automatic collection is off: the glue collects at the start
// of export bodies), and among them 2,000 requests the guest sends itself
// whose errors it checks in handle-reply. Every reply is right,
// collections ran, the live heap stayed under 4 MiB and the runtime's
// memory under 32 MiB, one instance did it all.
func TestGoActorLoadManyMessages(t *testing.T) {
	sys, rec := newSystem(t)
	const id = "t/goload/3"
	deploy(t, sys, spec(t, id, "goactor_load"))
	n, selfReqs := 100_000, 2_000
	if testing.Short() || raceEnabled {
		n, selfReqs = 10_000, 400
	}
	start := loadGuestStats(t, sys, id)
	t0 := time.Now()

	const workers = 8
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var b strings.Builder
			for i := w; i < n; i += workers {
				b.Reset()
				fmt.Fprintf(&b, "n|%d|", i)
				pad := (i * 7919) % 4096
				for j := range pad {
					b.WriteByte("abcd efgh"[(i+j)%9])
				}
				p := b.String()
				h := fnv.New64a()
				h.Write([]byte(p))
				want := fmt.Sprintf("%d:%d:%016x", i, len(p), h.Sum64())
				got, err := askErr(sys, id, p, 30*time.Second)
				if err != nil || got != want {
					errs <- fmt.Errorf("message %d: reply %.60q, %v; want %q", i, got, err, want)
					return
				}
				// Now and then, requests of the guest to itself whose
				// errors come back to handle-reply.
				if w == 0 && i/workers%(n/selfReqs*100/workers) == 0 {
					if got, err := askErr(sys, id, "selfreq|100|2000|0", 30*time.Second); err != nil ||
						!strings.HasPrefix(got, "sent=") {
						errs <- fmt.Errorf("selfreq after message %d: %q, %v", i, got, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(t0)

	var replies map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		replies = loadFields(t, ask(t, sys, id, "replies"))
		if replies["pending"] == "0" || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	sent := loadUint(t, replies, "sent")
	if sent < uint64(selfReqs) || replies["replies"] != replies["sent"] || replies["bad"] != "0" || replies["pending"] != "0" {
		t.Fatalf("the guest's requests to itself: %v (want %d or more sent, all replied, none bad)\n%.2000s", replies,
			selfReqs, rec.logText())
	}
	end := loadGuestStats(t, sys, id)
	t.Logf("%d messages in %v (%.1f µs each), %d error replies to handle-reply; guest before %v, after %v", n,
		elapsed.Round(time.Millisecond), float64(elapsed.Microseconds())/float64(n), sent, start, end)
	if gcs := end.gcs - start.gcs; gcs < uint64(n/4000) {
		t.Fatalf("%d collections in %d messages, want %d or more: %v", gcs, n, n/4000, end)
	}
	if end.live > 4<<20 || end.mapped > 32<<20 {
		t.Fatalf("the heap grew: %v (want a live heap under 4 MiB, under 32 MiB mapped)", end)
	}
	st := loadNoTraps(t, sys, rec, id)
	if st.Handled+st.Errors != end.msgs || st.Handled < uint64(n) || st.Errors != sent || st.Replies != sent {
		t.Fatalf("handled %d and errors %d (the guest counted %d messages), replies %d; want %d errors and replies",
			st.Handled, st.Errors, end.msgs, st.Replies, sent)
	}
	if dead, total := sys.DeadLetters(); total != 0 {
		t.Fatalf("%d dead letters: %+v", total, dead)
	}
}

// TestGoActorLoadGarbageHeavyMessages: 40 messages that each leave 16 MiB
// of garbage (and keep nothing) through an instance of 128 MiB: a
// collection must run at the start of every call that follows one of
// them, not after so many calls.
func TestGoActorLoadGarbageHeavyMessages(t *testing.T) {
	sys, rec := newSystem(t)
	const id = "t/goload/5"
	deploy(t, sys, spec(t, id, "goactor_load"))
	start := loadGuestStats(t, sys, id)
	for i := range 40 {
		if got, err := askErr(sys, id, "garbage|16", 10*time.Second); err != nil || got != "garbage=16" {
			t.Fatalf("message %d of 16 MiB of garbage: %q, %v", i, got, err)
		}
	}
	end := loadGuestStats(t, sys, id)
	t.Logf("guest before %v, after %v", start, end)
	if end.gcs-start.gcs < 20 || end.live > 4<<20 || end.mapped > 64<<20 {
		t.Fatalf("640 MiB of garbage: %v", end)
	}
	loadNoTraps(t, sys, rec, id)
}

// TestGoActorLoadErrorRepliesAfterCollections: the error a request of the
// guest gets back is a string the host allocates in the guest (through
// cabi_realloc) before it calls handle-reply, whose body starts with a
// collection when the call before left enough garbage. 50 times: the
// guest requests itself, the handler leaves 8 MiB of garbage and fails,
// handle-reply collects, then allocates objects of the error's size and
// reads the error: it must be what the handler returned (the glue keeps
// the allocation reachable until the export has consumed it).
func TestGoActorLoadErrorRepliesAfterCollections(t *testing.T) {
	sys, rec := newSystem(t)
	const id, rounds = "t/goload/6", 50
	deploy(t, sys, spec(t, id, "goactor_load"))
	start := loadGuestStats(t, sys, id)
	for i := 1; i <= rounds; i++ {
		if got := ask(t, sys, id, "selfreq|1|2000|8"); got != fmt.Sprintf("sent=%d", i) {
			t.Fatalf("round %d: selfreq replied %q", i, got)
		}
		// Nothing else goes to the actor until handle-reply ran: in its
		// mailbox the reply comes right after the request that fails.
		eventually(t, fmt.Sprintf("reply %d", i), func() bool {
			st, err := sys.Stats(id)
			return err == nil && st.Replies == uint64(i)
		})
	}
	if got := ask(t, sys, id, "replies"); got != fmt.Sprintf("sent=%d replies=%d bad=0 pending=0", rounds, rounds) {
		t.Fatalf("the guest's requests to itself: %q\n%.2000s", got, rec.logText())
	}
	end := loadGuestStats(t, sys, id)
	if end.gcs-start.gcs < rounds {
		t.Fatalf("%d collections in %d rounds, want one a round at least: %v", end.gcs-start.gcs, rounds, end)
	}
	loadNoTraps(t, sys, rec, id)
}

// TestGoActorLoadMemoryLimit: an actor limited to 32 MiB of memory gets 40
// messages that each keep 1 MiB. The one that finds no more memory traps
// (out of memory), the supervisor restarts the actor, and the messages
// queued behind it are handled by the fresh instance, in order: nothing
// lost but the one that trapped, which is the only dead letter.
func TestGoActorLoadMemoryLimit(t *testing.T) {
	sys, rec := newSystem(t)
	const id, holds = "t/goload/4", 40
	s := spec(t, id, "goactor_load")
	s.Limits.MemoryLimit = 32 << 20
	if err := sys.DeploySupervisor(context.Background(), fastRestarts(s)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= holds; i++ {
		send(t, sys, id, fmt.Sprintf("hold|1024|%d", i))
	}
	// Behind the holds in the mailbox; the instance that answers is the
	// fresh one.
	held := loadFields(t, loadAsk(t, sys, id, "held", 30*time.Second))

	dead, total := sys.DeadLetters()
	if total != 1 {
		t.Fatalf("%d dead letters, want 1 (the hold that trapped): %+v", total, dead)
	}
	var seq int
	if _, err := fmt.Sscanf(string(dead[0].Message.Payload), "hold|1024|%d", &seq); err != nil {
		t.Fatalf("dead letter %q: %v", dead[0].Message.Payload, err)
	}
	// The first instance held seq-1 MiB: the limit, less the runtime's
	// own memory, and not much less.
	if seq < 20 || seq > 32 {
		t.Fatalf("hold %d trapped, want one near the 32 MiB limit", seq)
	}
	var trap *engine.Trap
	if reason := dead[0].Reason; !errors.As(reason, &trap) || trap.Kind != engine.TrapOutOfMemory ||
		!strings.Contains(reason.Error(), "memory") {
		t.Fatalf("dead letter reason %v, want an out-of-memory trap", reason)
	}
	wantHeld := map[string]string{"count": strconv.Itoa(holds - seq), "first": strconv.Itoa(seq + 1),
		"last": strconv.Itoa(holds), "contiguous": "true", "bytes": strconv.Itoa((holds - seq) << 20)}
	if fmt.Sprint(held) != fmt.Sprint(wantHeld) {
		t.Fatalf("the fresh instance holds %v, want %v (the messages behind the trap)", held, wantHeld)
	}
	st, err := sys.Stats(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 1 || st.Restarts != 1 || st.DeadLettered != 1 || st.Handled != holds || st.State != actor.Running ||
		len(st.Traps) != 1 || st.Traps[engine.TrapOutOfMemory] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if rec.count(actor.EventTrapped, id) != 1 || rec.count(actor.EventRestarted, id) != 1 {
		t.Fatalf("trapped %d times, restarted %d", rec.count(actor.EventTrapped, id), rec.count(actor.EventRestarted, id))
	}
	// And it serves.
	if got := ask(t, sys, id, "free"); got != fmt.Sprintf("freed=%d", (holds-seq)<<20) {
		t.Fatalf("free after the restart: %q", got)
	}
	t.Logf("hold %d of %d trapped: %v", seq, holds, dead[0].Reason)
}
