package actor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
)

// Instrumentation (observe.go): the Tracer hooks, traps by kind, denials
// and the handling-time histogram.

// tspan is a span the test tracer started.
type tspan struct {
	actor   actor.ID
	parent  string // as given to StartHandle
	id      string // the traceparent StartHandle returned
	corr    uint64
	replyTo actor.ID
	header  string // the message's traceparent header
	ended   int
	err     error
}

// tcall is a span StartCall started.
type tcall struct {
	parent, name string
	attrs        []string
	ended        int
	err          error
}

// testTracer records what the runtime asks of a Tracer. A new span keeps
// its parent's trace id (a new one for a root) and gets a fresh span id.
type testTracer struct {
	mu    sync.Mutex
	n     int
	spans []*tspan
	calls []*tcall
}

func (tt *testTracer) StartHandle(a actor.ID, m *actor.Message, parent string) (string, func(error)) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.n++
	trace := fmt.Sprintf("%032x", 0xabc000+tt.n)
	if parent != "" {
		trace = parent[3:35]
	}
	s := &tspan{actor: a, parent: parent, id: fmt.Sprintf("00-%s-%016x-01", trace, 0xf00+tt.n),
		corr: m.CorrelationID, replyTo: m.ReplyTo}
	s.header, _ = m.Header("traceparent")
	tt.spans = append(tt.spans, s)
	return s.id, func(err error) {
		tt.mu.Lock()
		s.ended++
		s.err = err
		tt.mu.Unlock()
	}
}

func (tt *testTracer) StartCall(parent, name string, attrs ...string) func(error) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	c := &tcall{parent: parent, name: name, attrs: slices.Clone(attrs)}
	tt.calls = append(tt.calls, c)
	return func(err error) {
		tt.mu.Lock()
		c.ended++
		c.err = err
		tt.mu.Unlock()
	}
}

// ended returns copies of the spans, in the order they started, once at
// least n have started and all of them have ended.
func (tt *testTracer) ended(t *testing.T, n int) []tspan {
	t.Helper()
	var out []tspan
	eventually(t, fmt.Sprintf("%d spans ended", n), func() bool {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		out = out[:0]
		for _, s := range tt.spans {
			if s.ended > 0 {
				out = append(out, *s)
			}
		}
		return len(tt.spans) >= n && len(out) == len(tt.spans)
	})
	return out
}

func (tt *testTracer) count() (spans, calls int) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return len(tt.spans), len(tt.calls)
}

func (tt *testTracer) callList() []tcall {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	out := make([]tcall, len(tt.calls))
	for i, c := range tt.calls {
		out[i] = *c
	}
	return out
}

const (
	sampledTP   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	unsampledTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
)

func traced(tp string, payload string) actor.Message {
	return actor.Message{Payload: []byte(payload), ContentType: "text/plain",
		Headers: []actor.Header{{Name: "traceparent", Value: tp}, {Name: "tracestate", Value: "k=v"}}}
}

func recvPub(t *testing.T, sub *actor.Subscription) actor.Message {
	t.Helper()
	select {
	case m := <-sub.C:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
	}
	return actor.Message{}
}

// chain deploys Go -> t/agent1/1 (world 0.1.0, sends without headers) ->
// t/fwd/1 -> t/fwd/2 (world 0.2.0, forward by handle copying the headers)
// -> published on obs.out, and subscribes to obs.out.
func chain(t *testing.T, sys *actor.System) *actor.Subscription {
	deploy(t, sys, spec(t, "t/fwd/2", "actor2_forward", "topic", "obs.out"))
	deploy(t, sys, spec(t, "t/fwd/1", "actor2_forward", "next", "t/fwd/2"))
	deploy(t, sys, spec(t, "t/agent1/1", "actor_agent"))
	sub, err := sys.Subscribe("obs.out", 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// TestSampledMessageIsTracedAcrossActors: a message whose traceparent is
// sampled is one trace through three actors of both worlds, each handling
// the child of the one that sent to it, whether or not the actor copies
// headers itself; the tracestate goes along unchanged.
func TestSampledMessageIsTracedAcrossActors(t *testing.T) {
	tr := &testTracer{}
	sys, _ := systemWith(t, actor.Options{Tracer: tr})
	sub := chain(t, sys)
	if err := sys.SendMessage(context.Background(), "t/agent1/1", traced(sampledTP, "send|t/fwd/1|data")); err != nil {
		t.Fatal(err)
	}
	out := recvPub(t, sub)
	spans := tr.ended(t, 3)
	if len(spans) != 3 {
		t.Fatalf("%d spans: %+v", len(spans), spans)
	}
	parent := sampledTP
	for i, want := range []actor.ID{"t/agent1/1", "t/fwd/1", "t/fwd/2"} {
		s := spans[i]
		if s.actor != want || s.parent != parent || s.err != nil || s.ended != 1 {
			t.Fatalf("span %d: %+v, want %s with parent %s", i, s, want, parent)
		}
		if s.id[3:35] != sampledTP[3:35] {
			t.Fatalf("span %d left the trace: %s", i, s.id)
		}
		parent = s.id
	}
	if v, _ := out.Header("traceparent"); v != spans[2].id {
		t.Fatalf("published with traceparent %q, want the last span %s", v, spans[2].id)
	}
	if v, _ := out.Header("tracestate"); v != "k=v" {
		t.Fatalf("tracestate %q", v)
	}
	if len(out.Headers) != 2 {
		t.Fatalf("headers %v", out.Headers)
	}
	if _, calls := tr.count(); calls != 0 {
		t.Fatalf("%d calls traced", calls)
	}
}

// TestUnsampledMessageNeverReachesTheTracer: an unsampled traceparent is
// carried unchanged and the Tracer is never called, whatever TraceSample
// says; an invalid traceparent counts as absent.
func TestUnsampledMessageNeverReachesTheTracer(t *testing.T) {
	tr := &testTracer{}
	sys, _ := systemWith(t, actor.Options{Tracer: tr, TraceSample: 1})
	sub := chain(t, sys)
	if err := sys.SendMessage(context.Background(), "t/agent1/1", traced(unsampledTP, "send|t/fwd/1|data")); err != nil {
		t.Fatal(err)
	}
	out := recvPub(t, sub)
	if v, _ := out.Header("traceparent"); v != unsampledTP {
		t.Fatalf("traceparent %q, want %s unchanged", v, unsampledTP)
	}
	if v, _ := out.Header("tracestate"); v != "k=v" {
		t.Fatalf("tracestate %q", v)
	}
	eventually(t, "the chain done", func() bool {
		st, _ := sys.Stats("t/fwd/2")
		return st.Handled == 1
	})
	if n, _ := tr.count(); n != 0 {
		t.Fatalf("the Tracer was called %d times for an unsampled message", n)
	}

	// Invalid: as if absent, so TraceSample 1 starts a root, and the
	// forwarder's copy of the invalid value is replaced by its span.
	for _, bad := range []string{
		strings.ToUpper(sampledTP), // upper-case hex
		"01" + sampledTP[2:],       // version
		sampledTP + "-00",          // length
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero parent id
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", // flags
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // separator
	} {
		before, _ := tr.count()
		if err := sys.SendMessage(context.Background(), "t/fwd/2", traced(bad, "x")); err != nil {
			t.Fatal(err)
		}
		out := recvPub(t, sub)
		spans := tr.ended(t, before+1)
		s := spans[len(spans)-1]
		if len(spans) != before+1 || s.actor != "t/fwd/2" || s.parent != "" {
			t.Fatalf("%s: span %+v (of %d), want a root", bad, s, len(spans))
		}
		if v, _ := out.Header("traceparent"); v != s.id {
			t.Fatalf("%s: published with %q, want the root span %s", bad, v, s.id)
		}
	}
}

// TestTraceSample: messages without trace context start roots at the
// rate asked: all at 1, none at 0, about half at 0.5; replies carry the
// span of a traced handling.
func TestTraceSample(t *testing.T) {
	for _, c := range []struct {
		sample   float64
		min, max int
	}{{1, 400, 400}, {0, 0, 0}, {0.5, 120, 280}} {
		t.Run(fmt.Sprint(c.sample), func(t *testing.T) {
			tr := &testTracer{}
			sys, _ := systemWith(t, actor.Options{Tracer: tr, TraceSample: c.sample})
			deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
			deploy(t, sys, spec(t, "t/echo1/1", "actor_echo"))
			for i := range 400 {
				to := []string{"t/echo/1", "t/echo1/1"}[i%2]
				m := request(t, sys, to, actor.Message{Payload: []byte("hi")})
				if v, ok := m.Header("traceparent"); c.sample == 1 && !ok || c.sample == 0 && ok {
					t.Fatalf("reply's traceparent: %q %v", v, ok)
				}
			}
			n, _ := tr.count()
			if n < c.min || n > c.max {
				t.Fatalf("%d of 400 traced at %v", n, c.sample)
			}
			for _, s := range tr.ended(t, n) {
				if s.parent != "" || s.corr == 0 || s.replyTo == "" || s.err != nil {
					t.Fatalf("span %+v", s)
				}
			}
		})
	}
}

// TestRequestsAndRepliesAreTraced: a component's request under a sampled
// message is the requester's child; the responder's reply carries its own
// span, and the handle-reply delivery is a span under the requesting
// handling (for an answer and for a timeout). A Go request's reply
// carries the responder's span.
func TestRequestsAndRepliesAreTraced(t *testing.T) {
	tr := &testTracer{}
	sys, _ := systemWith(t, actor.Options{Tracer: tr})
	deploy(t, sys, spec(t, "t/agent2/1", "actor2_agent2", "timeout-ms", "100"))
	deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
	deploy(t, sys, spec(t, "t/silent/1", "actor_silent"))

	// A Go request: the reply carries the span of its handling.
	r := request(t, sys, "t/echo/1", traced(sampledTP, "hi"))
	spans := tr.ended(t, 1)
	if v, _ := r.Header("traceparent"); len(spans) != 1 || v != spans[0].id || spans[0].parent != sampledTP {
		t.Fatalf("reply traceparent %q, spans %+v", v, spans)
	}
	if v, _ := r.Header("tracestate"); v != "k=v" {
		t.Fatalf("reply tracestate %q", v)
	}

	// A component's request, answered.
	got := request(t, sys, "t/agent2/1", traced(sampledTP, "ask|t/echo/1|hello"))
	id, ok := strings.CutPrefix(string(got.Payload), "asked:")
	if !ok {
		t.Fatalf("ask: %q", got.Payload)
	}
	agentReplies(t, sys, "t/agent2/1", id+":ok:hello") // untraced requests, themselves
	spans = tr.ended(t, 4)
	if len(spans) != 4 {
		t.Fatalf("%d spans: %+v", len(spans), spans)
	}
	ask, echo, reply := spans[1], spans[2], spans[3]
	if ask.actor != "t/agent2/1" || ask.parent != sampledTP {
		t.Fatalf("ask span %+v", ask)
	}
	if echo.actor != "t/echo/1" || echo.parent != ask.id || echo.replyTo != "t/agent2/1" {
		t.Fatalf("echo span %+v, want the child of %s", echo, ask.id)
	}
	if reply.actor != "t/agent2/1" || reply.parent != ask.id || fmt.Sprint(reply.corr) != id ||
		reply.replyTo != "" || reply.header != echo.id || reply.err != nil {
		t.Fatalf("handle-reply span %+v, want under %s with the reply's traceparent %s", reply, ask.id, echo.id)
	}

	// A component's request that times out: handle-reply still has its
	// span, under the requesting one, given a message with only the
	// correlation id.
	got = request(t, sys, "t/agent2/1", traced(sampledTP, "ask|t/silent/1|anyone?"))
	id, _ = strings.CutPrefix(string(got.Payload), "asked:")
	agentReplies(t, sys, "t/agent2/1", id+":err:timeout")
	spans = tr.ended(t, 7)
	ask, silent, reply := spans[4], spans[5], spans[6]
	if ask.actor != "t/agent2/1" || silent.actor != "t/silent/1" || silent.parent != ask.id {
		t.Fatalf("spans %+v %+v", ask, silent)
	}
	if reply.actor != "t/agent2/1" || reply.parent != ask.id || fmt.Sprint(reply.corr) != id || reply.header != "" {
		t.Fatalf("timed out handle-reply span %+v", reply)
	}
}

// TestTracedOutcomes: a span ends with the handler's error or the trap.
func TestTracedOutcomes(t *testing.T) {
	tr := &testTracer{}
	sys, _ := systemWith(t, actor.Options{Tracer: tr})
	deploy(t, sys, spec(t, "t/silent/1", "actor2_silent"))
	if err := sys.DeploySupervisor(context.Background(),
		fastRestarts(spec(t, "t/trapper/1", "actor2_trapper"))); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := sys.SendMessage(ctx, "t/silent/1", traced(sampledTP, "fail")); err != nil {
		t.Fatal(err)
	}
	if err := sys.SendMessage(ctx, "t/trapper/1", traced(sampledTP, "trap")); err != nil {
		t.Fatal(err)
	}
	spans := tr.ended(t, 2)
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	var he *actor.HandlerError
	var trap *engine.Trap
	for _, s := range spans {
		switch s.actor {
		case "t/silent/1":
			if !errors.As(s.err, &he) || he.Message != "failed on purpose" || he.Actor != "t/silent/1" {
				t.Fatalf("handler error span: %v", s.err)
			}
		case "t/trapper/1":
			if !errors.As(s.err, &trap) || trap.Kind != engine.TrapUnreachable {
				t.Fatalf("trap span: %v", s.err)
			}
		default:
			t.Fatalf("span of %s", s.actor)
		}
	}
}

// TestKeyValueCallsAreChildSpans: a key-value operation made while
// handling a traced message is a StartCall under its span, ending with
// the refusal when refused (which counts as denied); untraced, none.
func TestKeyValueCallsAreChildSpans(t *testing.T) {
	db, _ := kvDB(t)
	tr := &testTracer{}
	sys, _ := systemWith(t, actor.Options{Storage: db, Tracer: tr})
	s := spec(t, "app/orders/1", "actor2_kv")
	s.Grants = grantsFor(t, kvManifest, kvPolicy) // delete not granted
	deploy(t, sys, s)

	if got := request(t, sys, "app/orders/1", traced(sampledTP, "set|orders|a|1")); string(got.Payload) != "ok" {
		t.Fatalf("set: %q", got.Payload)
	}
	spans := tr.ended(t, 1)
	calls := tr.callList()
	if len(calls) != 1 {
		t.Fatalf("calls %+v", calls)
	}
	c := calls[0]
	if c.parent != spans[0].id || c.name != "keyvalue.set" || !slices.Equal(c.attrs, []string{"bucket", "orders"}) ||
		c.ended != 1 || c.err != nil {
		t.Fatalf("call %+v, want keyvalue.set under %s", c, spans[0].id)
	}

	// Untraced: no call reaches the Tracer.
	if got := ask(t, sys, "app/orders/1", "get|orders|a"); got != "some:1" {
		t.Fatalf("get: %q", got)
	}
	if _, n := tr.count(); n != 1 {
		t.Fatalf("an untraced get was traced: %d calls", n)
	}

	// A refusal ends its span with the error value. (The manifest grants
	// no logging: the init's log line was denied already.)
	before, _ := sys.Stats("app/orders/1")
	got := request(t, sys, "app/orders/1", traced(sampledTP, "del|orders|a"))
	if string(got.Payload) != "error:access-denied" {
		t.Fatalf("del: %q", got.Payload)
	}
	spans = tr.ended(t, 2)
	calls = tr.callList()
	var ce *keyvalue.CallError
	if len(calls) != 2 || calls[1].name != "keyvalue.delete" || calls[1].parent != spans[1].id ||
		!errors.As(calls[1].err, &ce) || ce.Case != "access-denied" {
		t.Fatalf("calls %+v", calls)
	}
	if st, _ := sys.Stats("app/orders/1"); st.Denied != before.Denied+1 {
		t.Fatalf("denied %d, then %d: want one more (the storage refusal)", before.Denied, st.Denied)
	}
}

// TestTrapsByKind: a trap and a timeout are counted by kind.
func TestTrapsByKind(t *testing.T) {
	sys, rec := newSystem(t)
	s := spec(t, "t/trapper/1", "actor_trapper")
	s.Limits.Timeout = 50 * time.Millisecond
	if err := sys.DeploySupervisor(context.Background(), fastRestarts(s)); err != nil {
		t.Fatal(err)
	}
	if st, _ := sys.Stats("t/trapper/1"); st.Traps != nil {
		t.Fatalf("traps before any: %v", st.Traps)
	}
	send(t, sys, "t/trapper/1", "trap")
	eventually(t, "a restart", func() bool { return rec.count(actor.EventRestarted, "t/trapper/1") == 1 })
	send(t, sys, "t/trapper/1", "spin")
	eventually(t, "two restarts", func() bool { return rec.count(actor.EventRestarted, "t/trapper/1") == 2 })
	st, _ := sys.Stats("t/trapper/1")
	if len(st.Traps) != 2 || st.Traps[engine.TrapUnreachable] != 1 || st.Traps[engine.TrapTimeout] != 1 {
		t.Fatalf("traps %v, want one unreachable and one timeout", st.Traps)
	}
}

// TestDeniedCounts: each capability call the grants refuse is counted on
// the actor, with or without an audit log.
func TestDeniedCounts(t *testing.T) {
	sys, _ := newSystem(t)
	s := spec(t, "test/agent/1", "actor_agent")
	s.Grants = grantsFor(t, agentManifest, openPolicy)
	deploy(t, sys, s)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))
	for _, c := range []struct {
		cmd, want string
		denied    uint64
	}{
		{"send|test/echo/1|hi", "sent", 0},
		{"send|test/silent/1|hi", "error:denied", 1},
		{"ask|test/silent/1|hi", "error:denied", 2},
		{"pub|forbidden.news|x", "error:denied", 3},
		{"pub|allowed.news|x", "published", 3},
	} {
		if got := ask(t, sys, "test/agent/1", c.cmd); got != c.want {
			t.Fatalf("%s: %q, want %q", c.cmd, got, c.want)
		}
		if st, _ := sys.Stats("test/agent/1"); st.Denied != c.denied {
			t.Fatalf("after %s: denied %d, want %d", c.cmd, st.Denied, c.denied)
		}
	}
	if st, _ := sys.Stats("test/echo/1"); st.Denied != 0 {
		t.Fatalf("echo denied %d", st.Denied)
	}
}

// TestHandleTimes: on, the histogram counts every handled message (and
// handler errors) into buckets that hold their mean; off, it is empty.
func TestHandleTimes(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			sys, _ := systemWith(t, actor.Options{HandleTimes: on})
			deploy(t, sys, spec(t, "t/echo/1", "actor_echo"))
			deploy(t, sys, spec(t, "t/echo2/1", "actor2_echo"))
			deploy(t, sys, spec(t, "t/silent/1", "actor_silent"))
			untimed := spec(t, "t/untimed/1", "actor2_echo") // no deadline: timed otherwise
			untimed.Limits.Timeout = -1
			deploy(t, sys, untimed)
			for i := range 50 {
				ask(t, sys, "t/echo/1", fmt.Sprint(i))
				ask(t, sys, "t/echo2/1", fmt.Sprint(i))
				ask(t, sys, "t/untimed/1", fmt.Sprint(i))
				send(t, sys, "t/silent/1", "fail")
			}
			eventually(t, "silent done", func() bool {
				st, _ := sys.Stats("t/silent/1")
				return st.Errors == 50
			})
			for _, id := range []actor.ID{"t/echo/1", "t/echo2/1", "t/silent/1", "t/untimed/1"} {
				st, _ := sys.Stats(id)
				h := st.HandleTime
				if len(h.Bounds) != 19 || &h.Bounds[0] != &actor.HandleTimeBounds[0] {
					t.Fatalf("%s: bounds %v", id, h.Bounds)
				}
				if !on {
					if h.Counts != nil || h.Count != 0 || h.Sum != 0 {
						t.Fatalf("%s: off but %+v", id, h)
					}
					continue
				}
				var sum uint64
				first, last := -1, -1
				for i, n := range h.Counts {
					sum += n
					if n > 0 {
						if first < 0 {
							first = i
						}
						last = i
					}
				}
				if len(h.Counts) != 20 || h.Count != 50 || h.Count != st.Handled+st.Errors || sum != h.Count {
					t.Fatalf("%s: %+v, handled %d errors %d", id, h, st.Handled, st.Errors)
				}
				// A guest call of these actors takes microseconds (some
				// 35 ns would be two clock reads after it): all under a
				// second, and the mean lies within the buckets counted.
				mean := h.Sum / time.Duration(h.Count)
				if mean < 500*time.Nanosecond || last >= 15 || first > 0 && mean <= h.Bounds[first-1] || mean > h.Bounds[last] {
					t.Fatalf("%s: mean %v, buckets %d to %d: %+v", id, mean, first, last, h)
				}
			}
		})
	}
}

// TestLogLinesOfATracedHandlingNameTheTrace: a component's wasi:logging
// line written while a traced message is handled carries the trace's and
// the span's ids; an untraced one carries neither.
func TestLogLinesOfATracedHandlingNameTheTrace(t *testing.T) {
	tr := &testTracer{}
	sys, rec := systemWith(t, actor.Options{Tracer: tr})
	deploy(t, sys, spec(t, "t/agent/1", "actor_agent"))
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	m := traced(tp, "log|info|traced line")
	if err := sys.SendMessage(context.Background(), "t/agent/1", m); err != nil {
		t.Fatal(err)
	}
	if err := sys.SendMessage(context.Background(), "t/agent/1", actor.Message{Payload: []byte("log|info|plain line")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both lines logged", func() bool { return strings.Contains(rec.logText(), "plain line") })
	spans := tr.ended(t, 1)
	var tracedLine, plainLine string
	for _, l := range strings.Split(rec.logText(), "\n") {
		if strings.Contains(l, "traced line") {
			tracedLine = l
		}
		if strings.Contains(l, "plain line") {
			plainLine = l
		}
	}
	wantSpan := spans[0].id[36:52]
	if !strings.Contains(tracedLine, "trace_id=0af7651916cd43dd8448eb211c80319c") || !strings.Contains(tracedLine, "span_id="+wantSpan) {
		t.Fatalf("traced line: %q (span %s)", tracedLine, wantSpan)
	}
	if plainLine == "" || strings.Contains(plainLine, "trace_id") {
		t.Fatalf("untraced line: %q", plainLine)
	}
}
