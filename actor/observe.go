package actor

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// Instrumentation: the hooks a metrics or tracing adapter uses (package
// actor depends on no tracing SDK and no metrics library).
//
//   - Counters live on the cell as atomics in fixed arrays (traps by kind,
//     denials, the handling-time histogram when Options.HandleTimes is on)
//     and are read by Stats; nothing is allocated per message.
//   - Tracing: the runtime reads a message's W3C traceparent itself and
//     calls the Tracer only for a sampled one (or a new trace chosen by
//     Options.TraceSample). While a traced message is handled, the
//     incarnation holds the span's traceparent (inc.span): what the
//     handler sends carries it, and its key-value session has a Trace hook
//     that makes each operation a child span. Untraced, the cost is a nil
//     check (no Tracer) or a header lookup and a random draw.

// Tracer is the runtime's view of a tracing SDK. The runtime reads the W3C
// traceparent header of a message itself (version 00, flags bit 0) and
// calls the Tracer only for a sampled one (or a new trace chosen by
// TraceSample): an unsampled message never reaches it.
//
// Both methods are called on the actor's goroutine; the functions they
// return are called once, on that goroutine too. The *Message is valid
// only during StartHandle.
type Tracer interface {
	// StartHandle starts the span of one handled message: parent is its
	// traceparent ("" for a new trace). It returns the traceparent of the
	// new span, which messages sent while handling carry (their handling
	// is then its child), and end, called once with the outcome (nil, the
	// handler's *HandlerError-like error, or the trap).
	//
	// It is also called for the delivery of a traced request's outcome to
	// handle-reply: m is then the reply (CorrelationID set, ReplyTo empty),
	// or for an error outcome (a timeout, the responder's failure) a
	// message with only CorrelationID set; parent is the span of the
	// handling that made the request.
	StartHandle(actor ID, m *Message, parent string) (traceparent string, end func(err error))
	// StartCall starts a child span of the handling span whose traceparent
	// is parent, for a host call the actor makes while handling (a
	// key-value operation: name "keyvalue.get", attributes as key/value
	// pairs such as "bucket", "default"). end is called once.
	StartCall(parent, name string, attrs ...string) (end func(err error))
}

// Histogram counts durations into buckets: Counts[i] counts those <=
// Bounds[i], the last one those above every bound (not cumulative).
type Histogram struct {
	Bounds []time.Duration // shared and read-only: HandleTimeBounds
	Counts []uint64        // len(Bounds)+1; nil when off
	Sum    time.Duration
	Count  uint64
}

// handleBounds backs HandleTimeBounds.
var handleBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// HandleTimeBounds are the bucket bounds of Stats.HandleTime: 10µs 25µs
// 50µs 100µs 250µs 500µs 1ms 2.5ms 5ms 10ms 25ms 50ms 100ms 250ms 500ms 1s
// 2.5s 5s 10s. Shared and read-only.
var HandleTimeBounds = handleBounds[:]

// handleHist is an actor's histogram of handling times, written by its
// goroutine, read by Stats.
type handleHist struct {
	counts [len(handleBounds) + 1]atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
}

func (h *handleHist) observe(d time.Duration) {
	i := 0
	for i < len(handleBounds) && d > handleBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(uint64(d))
}

func (h *handleHist) snapshot() Histogram {
	out := Histogram{Bounds: HandleTimeBounds, Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
		out.Count += out.Counts[i]
	}
	out.Sum = time.Duration(h.sum.Load())
	return out
}

// trapKinds sizes the cell's count of traps by kind: every engine.TrapKind
// today, with room; a kind past it counts as TrapOther.
const trapKinds = 16

// countTrap counts a failure of the actor's instance by its trap kind (a
// failure that is not an engine trap, such as the runtime's own handle
// cap, counts as TrapOther).
func (c *cell) countTrap(err error) {
	k := engine.TrapOther
	var trap *engine.Trap
	if errors.As(err, &trap) && trap.Kind >= 0 && int(trap.Kind) < trapKinds {
		k = trap.Kind
	}
	c.traps[k].Add(1)
}

// observeStats fills the instrumentation fields of st.
func (c *cell) observeStats(st *Stats) {
	for k := range c.traps {
		if n := c.traps[k].Load(); n > 0 {
			if st.Traps == nil {
				st.Traps = map[engine.TrapKind]uint64{}
			}
			st.Traps[engine.TrapKind(k)] = n
		}
	}
	st.Denied = c.denied.Load()
	if c.times != nil {
		st.HandleTime = c.times.snapshot()
	} else {
		st.HandleTime = Histogram{Bounds: HandleTimeBounds}
	}
}

// handleStart is when the guest call that beginCall prepared started: read
// back from its deadline when it has one, so that timing a message costs
// one clock read more, not two.
func (inc *incarnation) handleStart() time.Time {
	if t := inc.spec.Limits.Timeout; t > 0 {
		return inc.callDeadline.Add(-t)
	}
	return inc.callStart
}

// ---- trace context ----------------------------------------------------------

// traceparentLen is the length of a version 00 traceparent:
// 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>.
const traceparentLen = 55

func lowerHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' }

// parseTraceparent tells whether tp is a valid version 00 traceparent
// (lower-case hex, neither id all zeros) and whether its sampled flag is
// set. It allocates nothing.
func parseTraceparent(tp string) (valid, sampled bool) {
	if len(tp) != traceparentLen || tp[0] != '0' || tp[1] != '0' || tp[2] != '-' || tp[35] != '-' ||
		tp[52] != '-' {
		return false, false
	}
	var traceID, parentID bool // some digit is not zero
	for i := 3; i < 35; i++ {
		if !lowerHex(tp[i]) {
			return false, false
		}
		traceID = traceID || tp[i] != '0'
	}
	for i := 36; i < 52; i++ {
		if !lowerHex(tp[i]) {
			return false, false
		}
		parentID = parentID || tp[i] != '0'
	}
	if !traceID || !parentID || !lowerHex(tp[53]) || !lowerHex(tp[54]) {
		return false, false
	}
	f := tp[54] - '0'
	if tp[54] >= 'a' {
		f = tp[54] - 'a' + 10
	}
	return true, f&1 == 1
}

// headerIndex is the index of the first header named name, or -1.
func headerIndex(hs []Header, name string) int {
	for i := range hs {
		if len(hs[i].Name) == len(name) && (hs[i].Name == name || equalFoldASCII(hs[i].Name, name)) {
			return i
		}
	}
	return -1
}

// equalFoldASCII compares a and b (of one length) without regard to ASCII
// case.
func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// traceHandle decides whether the handling of m is traced and, if so,
// starts its span: the incarnation then holds the span's traceparent
// (what the handler sends carries it) and its key-value session reports
// to the Tracer. It returns the end of the span, or nil.
func (c *cell) traceHandle(inc *incarnation, tr Tracer, m *Message) func(error) {
	parent := ""
	if i := headerIndex(m.Headers, "traceparent"); i >= 0 {
		parent = m.Headers[i].Value
	}
	if valid, sampled := parseTraceparent(parent); valid {
		if !sampled {
			return nil
		}
	} else {
		parent = "" // invalid: as if absent
		p := c.sys.opts.TraceSample
		if p <= 0 || p < 1 && rand.Float64() >= p {
			return nil
		}
	}
	return inc.startSpan(tr, m, parent)
}

// traceReply starts the span of a handle-reply delivery whose request was
// made while handling a traced message (env.trace, its span).
func (c *cell) traceReply(inc *incarnation, tr Tracer, env *envelope) func(error) {
	m := &env.reply.msg
	if env.reply.err != nil {
		m = &Message{CorrelationID: env.corr}
	}
	return inc.startSpan(tr, m, env.trace)
}

func (inc *incarnation) startSpan(tr Tracer, m *Message, parent string) func(error) {
	span, end := tr.StartHandle(inc.c.id, m, parent)
	if end == nil {
		end = func(error) {}
	}
	inc.span = span
	if span != "" && inc.kv != nil {
		if inc.kvTrace == nil {
			inc.kvTrace = func(name, bucket string) func(error) {
				if inc.span == "" {
					return nil
				}
				if bucket == "" {
					return tr.StartCall(inc.span, name)
				}
				return tr.StartCall(inc.span, name, "bucket", bucket)
			}
		}
		inc.kv.Trace = inc.kvTrace
	}
	return end
}

// endSpan ends the span of the message just handled.
func (inc *incarnation) endSpan(end func(error), outcome error) {
	inc.span = ""
	if inc.kv != nil {
		inc.kv.Trace = nil
	}
	end(outcome)
}

// addTrace gives an outgoing message the trace context of the message
// being handled: while a traced message is handled, the traceparent of its
// span (replacing the incoming traceparent when the handler copied it);
// otherwise the incoming traceparent and tracestate, unless the sender set
// its own. A trace thus survives actors that do not copy headers (0.1.0
// actors included).
func (inc *incarnation) addTrace(m *Message) {
	addTraceFrom(inc.cur, inc.span, m)
}

// addTraceFrom is addTrace for a message sent while cur (nil: none) is
// handled under span ("": not traced).
func addTraceFrom(cur *Message, span string, m *Message) {
	if span != "" {
		incoming := ""
		if cur != nil {
			if i := headerIndex(cur.Headers, "traceparent"); i >= 0 {
				incoming = cur.Headers[i].Value
			}
		}
		switch i := headerIndex(m.Headers, "traceparent"); {
		case i < 0:
			m.Headers = append(m.Headers, Header{Name: "traceparent", Value: span})
		case m.Headers[i].Value == incoming:
			// The handler copied the incoming headers: its span is the
			// parent now. (The slice is the outgoing message's own.)
			m.Headers[i].Value = span
		}
		if cur != nil && len(cur.Headers) > 0 && headerIndex(m.Headers, "tracestate") < 0 {
			if i := headerIndex(cur.Headers, "tracestate"); i >= 0 {
				m.Headers = append(m.Headers, cur.Headers[i])
			}
		}
		return
	}
	if cur == nil || len(cur.Headers) == 0 {
		return
	}
	for _, name := range traceHeaders {
		if headerIndex(m.Headers, name) >= 0 {
			continue
		}
		if i := headerIndex(cur.Headers, name); i >= 0 {
			m.Headers = append(m.Headers, Header{Name: name, Value: cur.Headers[i].Value})
		}
	}
}

// traceHeaders are the W3C trace context headers.
var traceHeaders = [...]string{"traceparent", "tracestate"}
