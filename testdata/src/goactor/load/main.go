// The load actor in Go (testdata/goactor_load.wasm), for the load tests of
// actor/goactor_load_test.go: heap growth with clock, random and logging
// calls in between, many messages with garbage, memory held until the
// instance reaches its memory limit. Built by src/goactor/build.sh load.
//
// A text message (content type text/...) that is one of these commands is
// handled as such; any other message is echoed (text as text, anything
// else as bytes):
//
//	grow|<MiB>|<seed>  allocate and keep MiB of heap in many small objects
//	                   and some large ones (sizes and contents from
//	                   math/rand/v2's PCG(seed, growStream), the test
//	                   computes the same), reading the clock, crypto/rand
//	                   and a ChaCha8 source between allocations and logging
//	                   every MiB; then verify the contents. Replies
//	                   "bytes=<n> objects=<n> sum=<fnv-1a 64 hex>".
//	verify             recompute every kept grow from its seed: "ok
//	                   grows=<n> bytes=<n>", or an error naming the first
//	                   bad byte
//	free               drop what grow and hold kept: "freed=<bytes>"
//	stats              "msgs=<n> gcs=<n> live=<n> heap=<n> mapped=<n>
//	                   held=<n>" (messages handled by this instance, this
//	                   one included; GC cycles; live heap after the last
//	                   GC; heap objects now, garbage included; memory
//	                   mapped by the runtime; bytes kept by grow and hold)
//	n|<i>|<padding>    one of many messages: some garbage, then the reply
//	                   "<i>:<len>:<fnv-1a 64 hex of the payload>"
//	hold|<KiB>|<seq>   keep KiB more (filled), remember seq; no reply body
//	held               "count=<n> first=<seq> last=<seq> contiguous=<bool>
//	                   bytes=<n>" of the holds of this instance
//	reply|<n>          a text reply of n bytes ('r' repeated)
//	garbage|<MiB>      allocate MiB in 64 KiB objects and drop them
//	selfreq|<k>|<pad>|<MiB>
//	                   send itself k requests "fail|<MiB>|<reason>"
//	                   (reason: a count and pad letters), whose handler
//	                   leaves MiB of garbage and fails with the reason;
//	                   HandleReply checks each error it gets back
//	replies            "sent=<n> replies=<n> bad=<n> pending=<n>" of
//	                   selfreq
package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/airsstack/airssys-wasm-go/guest"
)

// growStream is the second PCG seed of grow's generator.
const growStream = 0x9e3779b97f4a7c15

type grown struct {
	seed uint64
	objs [][]byte
	sum  uint64
	size int
}

type load struct {
	guest.Base
	msgs  uint64
	grows []grown
	held  [][]byte
	seqs  []int
	noise *rand.Rand // ChaCha8 seeded from crypto/rand

	// selfreq: requests to itself that fail, by correlation id.
	pending            map[uint64]pendingReq
	sent, replies, bad int
	scratch            [][]byte
}

var samples = []metrics.Sample{
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
}

func (a *load) HandleMessage(msg *guest.Message) (*guest.Reply, error) {
	a.msgs++
	md := msg.Metadata()
	if !strings.HasPrefix(md.ContentType, "text/") {
		return guest.BytesReply(msg.Bytes()), nil
	}
	text, err := msg.Text()
	if err != nil {
		return guest.BytesReply(msg.Bytes()), nil
	}
	cmd, rest, _ := strings.Cut(text, "|")
	switch cmd {
	case "grow":
		mib, seed, ok := twoInts(rest)
		if !ok {
			break
		}
		return a.grow(int(mib), uint64(seed))
	case "verify":
		if rest != "" {
			break
		}
		n := 0
		for _, g := range a.grows {
			if err := check(g); err != nil {
				return nil, err
			}
			n += g.size
		}
		return guest.TextReply(fmt.Sprintf("ok grows=%d bytes=%d", len(a.grows), n)), nil
	case "free":
		if rest != "" {
			break
		}
		n := a.keptBytes()
		a.grows, a.held, a.seqs = nil, nil, nil
		return guest.TextReply(fmt.Sprintf("freed=%d", n)), nil
	case "stats":
		if rest != "" {
			break
		}
		metrics.Read(samples)
		return guest.TextReply(fmt.Sprintf("msgs=%d gcs=%d live=%d heap=%d mapped=%d held=%d", a.msgs,
			samples[0].Value.Uint64(), samples[1].Value.Uint64(), samples[2].Value.Uint64(),
			samples[3].Value.Uint64(), a.keptBytes())), nil
	case "n":
		i, _, ok := strings.Cut(rest, "|")
		if !ok {
			break
		}
		// Garbage besides the payload itself: a copy of it, the hash,
		// the reply.
		h := fnv.New64a()
		h.Write([]byte(text))
		return guest.TextReply(fmt.Sprintf("%s:%d:%016x", i, len(text), h.Sum64())), nil
	case "hold":
		kib, seq, ok := twoInts(rest)
		if !ok {
			break
		}
		b := make([]byte, kib<<10)
		for j := range b {
			b[j] = byte(seq + int64(j))
		}
		a.held = append(a.held, b)
		a.seqs = append(a.seqs, int(seq))
		return nil, nil
	case "held":
		if rest != "" {
			break
		}
		first, last, contiguous := -1, -1, true
		for j, s := range a.seqs {
			if j == 0 {
				first = s
			} else if s != last+1 {
				contiguous = false
			}
			last = s
		}
		// Holds are intact.
		for j, b := range a.held {
			for k := range b {
				if b[k] != byte(int64(a.seqs[j])+int64(k)) {
					return nil, fmt.Errorf("hold %d: byte %d is %d", a.seqs[j], k, b[k])
				}
			}
		}
		return guest.TextReply(fmt.Sprintf("count=%d first=%d last=%d contiguous=%v bytes=%d", len(a.seqs), first,
			last, contiguous, a.keptBytes())), nil
	case "reply":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			break
		}
		return guest.TextReply(strings.Repeat("r", n)), nil
	case "garbage":
		mib, err := strconv.Atoi(rest)
		if err != nil || mib < 0 {
			break
		}
		a.garbage(mib)
		return guest.TextReply(fmt.Sprintf("garbage=%d", mib)), nil
	case "selfreq":
		args := strings.Split(rest, "|")
		if len(args) != 3 {
			break
		}
		k, err1 := strconv.Atoi(args[0])
		pad, err2 := strconv.Atoi(args[1])
		garbage, err3 := strconv.Atoi(args[2])
		if err1 != nil || err2 != nil || err3 != nil || k < 0 || pad < 0 || garbage < 0 {
			break
		}
		if a.pending == nil {
			a.pending = map[uint64]pendingReq{}
		}
		for range k {
			a.sent++
			reason := fmt.Sprintf("fail %d %s", a.sent, strings.Repeat(string(rune('a'+a.sent%26)), pad))
			corr, err := guest.Request(guest.SelfID(), guest.TextPayload(fmt.Sprintf("fail|%d|%s", garbage, reason)),
				&guest.SendOptions{ContentType: "text/plain"}, time.Minute)
			if err != nil {
				return nil, fmt.Errorf("selfreq %d: %w", a.sent, err)
			}
			a.pending[corr] = pendingReq{reason, garbage > 0}
		}
		return guest.TextReply(fmt.Sprintf("sent=%d", a.sent)), nil
	case "fail":
		mib, reason, ok := strings.Cut(rest, "|")
		n, err := strconv.Atoi(mib)
		if !ok || err != nil || n < 0 {
			break
		}
		a.garbage(n)
		return nil, errors.New(reason)
	case "replies":
		if rest != "" {
			break
		}
		return guest.TextReply(fmt.Sprintf("sent=%d replies=%d bad=%d pending=%d", a.sent, a.replies, a.bad,
			len(a.pending))), nil
	}
	return guest.TextReply(text), nil
}

// pendingReq is a selfreq request: the error it must get back, and
// whether HandleReply probes for its memory (after a handler that left
// garbage).
type pendingReq struct {
	reason string
	probe  bool
}

// HandleReply checks the error of a selfreq request against what was
// asked for; when the request's handler left garbage, after allocating
// 2048 objects of its size: had the host's string been freed by the
// collection at the start of the call, they would likely reuse its
// memory.
func (a *load) HandleReply(corr uint64, reply *guest.Message, err error) {
	a.replies++
	req, ok := a.pending[corr]
	probe := 0
	if req.probe {
		probe = 1
	}
	delete(a.pending, corr)
	var re *guest.ReplyError
	if !errors.As(err, &re) {
		a.bad++
		return
	}
	for range 2048 * probe {
		b := make([]byte, len(re.Reason))
		for j := range b {
			b[j] = 'Z'
		}
		a.scratch = append(a.scratch[:0], b)
	}
	if !ok || re.Reason != req.reason {
		a.bad++
		if a.bad == 1 {
			guest.Log(guest.Error, "load", fmt.Sprintf("reply %d: reason %.40q, want %.40q", corr, re.Reason, req.reason))
		}
	}
}

// garbage allocates MiB in 64 KiB objects, on the heap (a.scratch), not
// the stack, and drops them.
func (a *load) garbage(mib int) {
	for range mib * 16 {
		b := make([]byte, 64<<10)
		b[len(b)-1] = 1
		a.scratch = append(a.scratch[:0], b)
	}
	a.scratch = a.scratch[:0]
}

func (a *load) keptBytes() int {
	n := 0
	for _, g := range a.grows {
		n += g.size
	}
	for _, b := range a.held {
		n += len(b)
	}
	return n
}

func twoInts(s string) (int64, int64, bool) {
	x, y, ok := strings.Cut(s, "|")
	if !ok {
		return 0, 0, false
	}
	a, err1 := strconv.ParseInt(x, 10, 64)
	b, err2 := strconv.ParseInt(y, 10, 64)
	return a, b, err1 == nil && err2 == nil && a >= 0
}

// objectSize is the size of grow's object i: mostly small (16 B to 4 KiB),
// every 256th large (256 KiB to 1 MiB). The test's copy must agree.
func objectSize(rng *rand.Rand, i int) int {
	if i%256 == 255 {
		return 256<<10 + rng.IntN(768<<10)
	}
	return 16 + rng.IntN(4081)
}

// fill writes the generator's words into b, little-endian, the last one
// cut. The test's copy must agree.
func fill(rng *rand.Rand, b []byte) {
	var w [8]byte
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, rng.Uint64())
		b = b[8:]
	}
	if len(b) > 0 {
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(b, w[:])
	}
}

func (a *load) grow(mib int, seed uint64) (*guest.Reply, error) {
	target := mib << 20
	rng := rand.New(rand.NewPCG(seed, growStream))
	g := grown{seed: seed}
	h := fnv.New64a()
	var nonce [8]byte
	prev := time.Now()
	nextLog := 1 << 20
	var noise [][]byte
	for i := 0; g.size < target; i++ {
		n := min(objectSize(rng, i), target-g.size)
		b := make([]byte, n)
		fill(rng, b)
		h.Write(b)
		g.objs = append(g.objs, b)
		g.size += n

		// In between: the clock, crypto/rand, a ChaCha8 source, garbage.
		now := time.Now()
		if now.Before(prev) {
			return nil, fmt.Errorf("grow: the clock went back from %v to %v", prev, now)
		}
		prev = now
		if _, err := crand.Read(nonce[:]); err != nil {
			return nil, fmt.Errorf("grow: crypto/rand: %w", err)
		}
		if a.noise == nil {
			var key [32]byte
			if _, err := crand.Read(key[:]); err != nil {
				return nil, fmt.Errorf("grow: crypto/rand: %w", err)
			}
			a.noise = rand.New(rand.NewChaCha8(key))
		}
		noise = append(noise, make([]byte, a.noise.IntN(512)))
		if len(noise) > 64 {
			noise = noise[:0]
		}
		if g.size >= nextLog {
			guest.Log(guest.Info, "load", fmt.Sprintf("grow %d/%d MiB objects=%d at=%d nonce=%x noise=%d",
				g.size>>20, mib, len(g.objs), now.UnixNano(), nonce, a.noise.Uint32()))
			nextLog += 1 << 20
		}
	}
	g.sum = h.Sum64()
	if err := check(g); err != nil {
		return nil, err
	}
	a.grows = append(a.grows, g)
	return guest.TextReply(fmt.Sprintf("bytes=%d objects=%d sum=%016x", g.size, len(g.objs), g.sum)), nil
}

// check regenerates a grow from its seed and compares it with what is kept.
func check(g grown) error {
	rng := rand.New(rand.NewPCG(g.seed, growStream))
	h := fnv.New64a()
	want := make([]byte, 1<<20)
	for i, b := range g.objs {
		n := objectSize(rng, i)
		if n != len(b) && (i != len(g.objs)-1 || n < len(b)) {
			return fmt.Errorf("grow %d: object %d has %d bytes, want %d", g.seed, i, len(b), n)
		}
		w := want[:len(b)]
		fill(rng, w)
		for k := range b {
			if b[k] != w[k] {
				return fmt.Errorf("grow %d: object %d byte %d is %#x, want %#x", g.seed, i, k, b[k], w[k])
			}
		}
		h.Write(b)
	}
	if h.Sum64() != g.sum {
		return errors.New("grow: checksum changed")
	}
	return nil
}

func init() { guest.Register(&load{}) }

func main() {}
