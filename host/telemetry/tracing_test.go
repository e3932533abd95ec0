package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/gateway"
)

// countingTracer counts the spans started through the SDK's tracer.
type countingTracer struct {
	trace.Tracer
	n atomic.Int64
}

func (c *countingTracer) Start(ctx context.Context, name string, o ...trace.SpanStartOption) (context.Context, trace.Span) {
	c.n.Add(1)
	return c.Tracer.Start(ctx, name, o...)
}

type traced struct {
	tr    *Tracing
	exp   *tracetest.InMemoryExporter
	count *countingTracer
	sys   *actor.System
	gw    *gateway.Gateway
}

// newTraced builds tracing into an in-memory exporter, a system whose
// runtime starts traces for a share actorSample of untraced messages,
// and a gateway with routes.
func newTraced(t *testing.T, sample, actorSample float64, l LabelFunc, o actor.Options, routes ...gateway.Route) *traced {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := NewTracing(context.Background(), TracingOptions{Sample: sample, Labels: l, Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	ct := &countingTracer{Tracer: tr.tracer}
	tr.tracer = ct
	o.Tracer, o.TraceSample = tr.Tracer(), actorSample
	sys := newSystem(t, o)
	gw, err := gateway.New(sys, nil, gateway.Options{Trace: tr.GatewayTrace()})
	if err != nil {
		t.Fatal(err)
	}
	x := &traced{tr: tr, exp: exp, count: ct, sys: sys, gw: gw}
	if routes != nil {
		x.routes(t, routes...)
	}
	return x
}

func (x *traced) routes(t *testing.T, routes ...gateway.Route) {
	t.Helper()
	if err := x.gw.SetRoutes(routes); err != nil {
		t.Fatal(err)
	}
}

func (x *traced) do(t *testing.T, method, path, body string, want int, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	x.gw.ServeHTTP(rec, req)
	if rec.Code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
	return rec
}

// spans waits for n spans, then a little longer to see that no more come.
func (x *traced) spans(t *testing.T, n int) tracetest.SpanStubs {
	t.Helper()
	var got tracetest.SpanStubs
	eventually(t, fmt.Sprintf("%d spans", n), func() bool {
		x.tr.ForceFlush(context.Background())
		got = x.exp.GetSpans()
		return len(got) >= n
	})
	time.Sleep(50 * time.Millisecond)
	x.tr.ForceFlush(context.Background())
	if got = x.exp.GetSpans(); len(got) != n {
		t.Fatalf("%d spans, want %d:\n%s", len(got), n, tree(got))
	}
	return got
}

// tree prints spans as "name <- parent name" lines, sorted.
func tree(spans tracetest.SpanStubs) string {
	byID := map[trace.SpanID]string{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s.Name
	}
	var lines []string
	for _, s := range spans {
		p := "(root)"
		if s.Parent.IsValid() {
			if p = byID[s.Parent.SpanID()]; p == "" {
				p = "(remote " + s.Parent.SpanID().String() + ")"
			}
		}
		lines = append(lines, s.Name+" <- "+p)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func byName(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q in:\n%s", name, tree(spans))
	return tracetest.SpanStub{}
}

// oneTrace checks that every span is in one trace whose only root is
// root (nil: its parent is that remote span).
func oneTrace(t *testing.T, spans tracetest.SpanStubs, want string) {
	t.Helper()
	if got := tree(spans); got != want {
		t.Fatalf("span tree:\n%s\nwant:\n%s", got, want)
	}
	for _, s := range spans[1:] {
		if s.SpanContext.TraceID() != spans[0].SpanContext.TraceID() {
			t.Fatalf("two traces: %s and %s", s.SpanContext.TraceID(), spans[0].SpanContext.TraceID())
		}
	}
}

// TestSpanTreeAcrossActors: an HTTP request through the gateway to a
// router (a forwarder), which sends it on, headers and all, to another
// forwarder, which sends it to a key-value actor that writes it: one trace, the gateway's span its root,
// each handling the child of the one that sent its message, the key-value
// call the child of its handling.
func TestSpanTreeAcrossActors(t *testing.T) {
	var l labels
	x := newTraced(t, 1, 1, l.fn, actor.Options{Storage: kvDB(t)},
		gateway.Route{Method: "POST", Pattern: "/orders/{id}", Actor: "shop/router/0"})
	deploy(t, x.sys, spec(t, "shop/router/0", "actor2_forward", "next", "shop/fwd/0"))
	deploy(t, x.sys, spec(t, "shop/fwd/0", "actor2_forward", "next", "shop/kv/0"))
	kv := spec(t, "shop/kv/0", "actor2_kv")
	kv.Owner.Name = "orders"
	deploy(t, x.sys, kv)
	l.set("shop/router/0", "shop", "router", "1.0.0")
	l.set("shop/fwd/0", "shop", "forward", "2.0.0")
	l.set("shop/kv/0", "shop", "orders", "3.1.0")
	x.exp.Reset() // spans of the inits, if any

	x.do(t, "POST", "/orders/7", "set|b|k|v", 200)
	spans := x.spans(t, 5)
	oneTrace(t, spans, strings.Join([]string{
		"POST /orders/{id} <- (root)",
		"handle shop/fwd/0 <- handle shop/router/0",
		"handle shop/kv/0 <- handle shop/fwd/0",
		"handle shop/router/0 <- POST /orders/{id}",
		"keyvalue.set <- handle shop/kv/0",
	}, "\n"))
	gw := byName(t, spans, "POST /orders/{id}")
	if gw.SpanKind != trace.SpanKindServer || attr(gw, "http.route") != "/orders/{id}" ||
		attr(gw, "http.request.method") != "POST" || attr(gw, "url.path") != "/orders/7" ||
		attr(gw, "http.response.status_code") != "200" || gw.Status.Code == codes.Error {
		t.Errorf("gateway span: %v %v %v", gw.SpanKind, gw.Attributes, gw.Status)
	}
	for id, want := range map[string][4]string{
		"shop/router/0": {"shop", "router", "1.0.0", "server"}, // a request
		"shop/fwd/0":    {"shop", "forward", "2.0.0", "consumer"},
		"shop/kv/0":     {"shop", "orders", "3.1.0", "consumer"},
	} {
		s := byName(t, spans, "handle "+id)
		got := [4]string{attr(s, "actor.app"), attr(s, "actor.component"), attr(s, "actor.version"), s.SpanKind.String()}
		if got != want || attr(s, "actor.id") != id || s.Status.Code == codes.Error {
			t.Errorf("%s: %v %v, want %v", id, got, s.Status, want)
		}
	}
	set := byName(t, spans, "keyvalue.set")
	if attr(set, "bucket") != "b" || set.SpanKind != trace.SpanKindClient || set.Status.Code == codes.Error {
		t.Errorf("keyvalue.set: %v %v %v", set.Attributes, set.SpanKind, set.Status)
	}
	if got := mustAsk(t, x.sys, "shop/kv/0", "get|b|k"); got != "some:v" {
		t.Fatalf("the message did not reach the key-value actor: %q", got)
	}
}

// TestSpanTreeOfARequest: an actor's request to another is the child of
// its handling, and so is the delivery of the reply to its handle-reply;
// a trap sets the error status of its handling, and a 5xx the gateway
// span's.
func TestSpanTreeOfARequest(t *testing.T) {
	x := newTraced(t, 1, 0, nil, actor.Options{},
		gateway.Route{Pattern: "/ask", Actor: "shop/agent/0"},
		gateway.Route{Pattern: "/trap", Actor: "shop/trap/0"})
	deploy(t, x.sys, spec(t, "shop/agent/0", "actor2_agent2"))
	deploy(t, x.sys, spec(t, "shop/echo/0", "actor2_echo"))
	deploy(t, x.sys, spec(t, "shop/trap/0", "actor2_trapper"))

	if body := x.do(t, "POST", "/ask", "askfwd|shop/echo/0", 200).Body.String(); !strings.HasPrefix(body, "asked:") {
		t.Fatalf("agent: %q", body)
	}
	spans := x.spans(t, 4)
	oneTrace(t, spans, strings.Join([]string{
		"POST /ask <- (root)", // no method in the route: the request's
		"handle shop/agent/0 <- POST /ask",
		"handle shop/echo/0 <- handle shop/agent/0",
		"reply shop/agent/0 <- handle shop/agent/0",
	}, "\n"))
	if s := byName(t, spans, "POST /ask"); s.SpanKind != trace.SpanKindServer || attr(s, "http.route") != "/ask" {
		t.Errorf("gateway span: %v %v", s.SpanKind, s.Attributes)
	}
	if s := byName(t, spans, "handle shop/echo/0"); s.SpanKind != trace.SpanKindServer {
		t.Errorf("a request's handling: kind %v", s.SpanKind)
	}

	x.exp.Reset()
	x.do(t, "POST", "/trap", "trap", 500)
	spans = x.spans(t, 2)
	oneTrace(t, spans, "POST /trap <- (root)\nhandle shop/trap/0 <- POST /trap")
	if s := byName(t, spans, "handle shop/trap/0"); s.Status.Code != codes.Error || s.Status.Description == "" {
		t.Errorf("trap: status %v", s.Status)
	}
	if s := byName(t, spans, "POST /trap"); s.Status.Code != codes.Error || attr(s, "http.response.status_code") != "500" {
		t.Errorf("gateway: status %v %v", s.Status, s.Attributes)
	}
}

// TestUnsampledRequestsMakeNoSpan: a request the sampler drops starts no
// span at all, in the gateway or in the actors it reaches (even when the
// runtime would start traces of its own for messages without a context);
// a request that comes with a sampled context is traced in its trace.
func TestUnsampledRequestsMakeNoSpan(t *testing.T) {
	x := newTraced(t, 0, 1, nil, actor.Options{Storage: kvDB(t)},
		gateway.Route{Method: "POST", Pattern: "/orders", Actor: "shop/fwd/0"})
	deploy(t, x.sys, spec(t, "shop/fwd/0", "actor2_forward", "next", "shop/kv/0"))
	kv := spec(t, "shop/kv/0", "actor2_kv")
	kv.Owner.Name = "orders"
	deploy(t, x.sys, kv)
	// The kv actor's handled count tells when the chain is done.
	done := func(n uint64) {
		t.Helper()
		eventually(t, "the chain", func() bool {
			st, _ := x.sys.Stats("shop/kv/0")
			return st.Handled == n
		})
	}
	x.exp.Reset()
	x.count.n.Store(0)

	x.do(t, "POST", "/orders", "set|b|k|1", 200)
	done(1)
	x.do(t, "POST", "/orders", "set|b|k|2", 200,
		"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
	done(2)
	time.Sleep(20 * time.Millisecond)
	x.tr.ForceFlush(context.Background())
	if n, spans := x.count.n.Load(), x.exp.GetSpans(); n != 0 || len(spans) != 0 {
		t.Fatalf("unsampled requests started %d spans:\n%s", n, tree(spans))
	}

	// A sampled context from the client: its trace, its span the parent.
	x.do(t, "POST", "/orders", "set|b|k|3", 200,
		"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	done(3)
	spans := x.spans(t, 4)
	oneTrace(t, spans, strings.Join([]string{
		"POST /orders <- (remote b7ad6b7169203331)",
		"handle shop/fwd/0 <- POST /orders",
		"handle shop/kv/0 <- handle shop/fwd/0",
		"keyvalue.set <- handle shop/kv/0",
	}, "\n"))
	if tid := spans[0].SpanContext.TraceID().String(); tid != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("trace id %s", tid)
	}
}

// TestSampleShare: a share of new traces is kept, decided once: by the
// gateway for requests, by the runtime for messages (the SDK does not
// draw again, which would keep the share squared).
func TestSampleShare(t *testing.T) {
	x := newTraced(t, 0.5, 0.5, nil, actor.Options{},
		gateway.Route{Pattern: "/echo", Actor: "shop/echo/0"})
	deploy(t, x.sys, spec(t, "shop/echo/0", "actor2_echo"))
	x.exp.Reset()
	const n = 400
	for i := 0; i < n; i++ {
		x.do(t, "POST", "/echo", "x", 200)
	}
	x.tr.ForceFlush(context.Background())
	roots := 0
	for _, s := range x.exp.GetSpans() {
		if !s.Parent.IsValid() {
			roots++
		}
	}
	// 200 expected (binomial sd 10); a second draw would give about 100.
	if roots < 150 || roots > 250 {
		t.Errorf("%d of %d requests traced at 0.5", roots, n)
	}
	x.exp.Reset()
	for i := 0; i < n; i++ {
		mustAsk(t, x.sys, "shop/echo/0", "x")
	}
	x.tr.ForceFlush(context.Background())
	if got := len(x.exp.GetSpans()); got < 150 || got > 250 {
		t.Errorf("%d of %d messages traced at 0.5", got, n)
	}
}

// TestTracingOff: no endpoint, exporter or processor: nothing to wire.
func TestTracingOff(t *testing.T) {
	tr, err := NewTracing(context.Background(), TracingOptions{Sample: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() || tr.Tracer() != nil || tr.GatewayTrace() != nil || tr.Provider() != nil ||
		tr.Shutdown(context.Background()) != nil {
		t.Fatal("tracing off is not off")
	}
	if tr.Sample() != 0.5 {
		t.Fatalf("sample %v", tr.Sample())
	}
	for _, bad := range []TracingOptions{{Sample: -0.1}, {Sample: 1.5}, {Endpoint: "ftp://x", Sample: 1},
		{Endpoint: "localhost:4318"}} {
		if _, err := NewTracing(context.Background(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestOTLPExport: spans reach an OTLP/HTTP collector at the endpoint, on
// /v1/traces when the address has no path.
func TestOTLPExport(t *testing.T) {
	got := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + r.Header.Get("X-Key")
		w.WriteHeader(200)
	}))
	defer srv.Close()
	tr, err := NewTracing(context.Background(), TracingOptions{Endpoint: srv.URL, Sample: 1,
		Headers: map[string]string{"X-Key": "k"}})
	if err != nil {
		t.Fatal(err)
	}
	_, end := tr.Tracer().StartHandle("a/b/c", &actor.Message{}, "")
	end(nil)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "POST /v1/traces application/x-protobuf k" {
			t.Fatalf("export: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing exported")
	}
}

// TestTraceparent: parsing and formatting of W3C traceparents.
func TestTraceparent(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sc, ok := parseTraceparent(tp)
	if !ok || !sc.IsSampled() || !sc.IsRemote() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		sc.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("%v %v", sc, ok)
	}
	if got := formatTraceparent(sc); got != tp {
		t.Fatalf("format: %s", got)
	}
	if sc, ok := parseTraceparent(strings.TrimSuffix(tp, "01") + "00"); !ok || sc.IsSampled() {
		t.Fatal("unsampled")
	}
	for _, bad := range []string{"", tp[:54], "01" + tp[2:], strings.ToUpper(tp),
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", strings.Replace(tp, "-", "_", 1)} {
		if _, ok := parseTraceparent(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	// The sampler of the provider keeps a chosen root without asking.
	s := chosen{sdktrace.NeverSample()}
	ctx := context.WithValue(context.Background(), chosenKey{}, true)
	if s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx}).Decision != sdktrace.RecordAndSample ||
		s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background()}).Decision != sdktrace.Drop {
		t.Fatal("chosen sampler")
	}
}

// TestErrorsLogged: with a Logger, the SDK's errors are logged, one line
// per period with the count of those left out.
func TestErrorsLogged(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	tr, err := NewTracing(context.Background(), TracingOptions{Exporter: tracetest.NewNoopExporter(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	otel.Handle(errors.New("export failed: connection refused"))
	otel.Handle(errors.New("export failed again"))
	if out := buf.String(); !strings.Contains(out, `msg="tracing: export failed: connection refused" errors-not-logged=0`) ||
		strings.Contains(out, "again") {
		t.Fatalf("logged %q", out)
	}
	h := &errorHandler{log: log, every: 10 * time.Millisecond}
	buf.Reset()
	h.Handle(errors.New("one"))
	h.Handle(errors.New("two"))
	h.Handle(errors.New("three"))
	time.Sleep(20 * time.Millisecond)
	h.Handle(errors.New("four"))
	if out := buf.String(); !strings.Contains(out, `"tracing: one" errors-not-logged=0`) ||
		!strings.Contains(out, `"tracing: four" errors-not-logged=2`) || strings.Contains(out, "two") {
		t.Fatalf("logged %q", out)
	}
}
