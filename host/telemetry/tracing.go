package telemetry

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// TracingOptions configure NewTracing.
type TracingOptions struct {
	// Endpoint is where spans go, OTLP over HTTP: "http://host:4318" (the
	// path /v1/traces is added when the address has none) or a full URL.
	// "" sends nothing: tracing is off unless Exporter or SpanProcessor is
	// set.
	Endpoint string
	// Headers are sent with every export (an API key of a vendor).
	Headers map[string]string
	// Sample is the share of new traces kept, 0 to 1 (a request or message
	// that comes with a trace context follows its sampled flag). The host
	// gives the same share to actor.Options.TraceSample.
	Sample float64
	// Labels names each actor's app, component and version (span
	// attributes).
	Labels LabelFunc
	// ServiceName and ServiceVersion name this host in the spans' resource
	// (defaults "airssys-wasm" and none).
	ServiceName, ServiceVersion string
	// Exporter, when set, receives the spans instead of OTLP, through a
	// batch span processor; SpanProcessor, when set, receives them as they
	// end (tests: tracetest.NewInMemoryExporter, tracetest.NewSpanRecorder).
	Exporter      sdktrace.SpanExporter
	SpanProcessor sdktrace.SpanProcessor
	// Logger, when set, hears of the SDK's errors (an export that failed:
	// the collector is down), at most one line every 30 seconds with the
	// count of those left out. It becomes OpenTelemetry's error handler
	// for the whole process (otel.SetErrorHandler).
	Logger *slog.Logger
}

// Tracing is the host's OpenTelemetry tracing: an SDK TracerProvider with
// a parent-based ratio sampler, the actor runtime's Tracer and the
// gateway's Trace hook. The zero of it (tracing off) is a Tracing whose
// Tracer and GatewayTrace are nil.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	sampler  sdktrace.Sampler // ParentBased(TraceIDRatioBased(Sample))
	sample   float64
	labels   LabelFunc
	prop     propagation.TextMapPropagator
	// root is the context of a span that starts a trace the runtime or the
	// gateway has already chosen to keep (see chosen).
	root context.Context
}

// NewTracing builds the tracing of a host. With no endpoint, exporter or
// span processor, tracing is off: the result is valid and does nothing.
func NewTracing(ctx context.Context, o TracingOptions) (*Tracing, error) {
	if o.Sample < 0 || o.Sample > 1 || o.Sample != o.Sample {
		return nil, fmt.Errorf("telemetry: sample %v is not between 0 and 1", o.Sample)
	}
	t := &Tracing{sample: o.Sample, labels: o.Labels,
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	if o.Endpoint == "" && o.Exporter == nil && o.SpanProcessor == nil {
		return t, nil
	}
	if o.ServiceName == "" {
		o.ServiceName = "airssys-wasm"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", o.ServiceName)}
	if o.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", o.ServiceVersion))
	}
	t.sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.Sample))
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(chosen{t.sampler})}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("telemetry: endpoint %q is not an http:// or https:// address", o.Endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		eo := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String())}
		if len(o.Headers) > 0 {
			eo = append(eo, otlptracehttp.WithHeaders(o.Headers))
		}
		exp, err := otlptracehttp.New(ctx, eo...)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	if o.Exporter != nil {
		opts = append(opts, sdktrace.WithBatcher(o.Exporter))
	}
	if o.SpanProcessor != nil {
		opts = append(opts, sdktrace.WithSpanProcessor(o.SpanProcessor))
	}
	if o.Logger != nil {
		otel.SetErrorHandler(&errorHandler{log: o.Logger, every: 30 * time.Second})
	}
	t.provider = sdktrace.NewTracerProvider(opts...)
	t.tracer = t.provider.Tracer("github.com/airsstack/airssys-wasm-go/host/telemetry")
	t.root = context.WithValue(context.Background(), chosenKey{}, true)
	return t, nil
}

// Enabled reports whether spans go anywhere.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Sample is the share of new traces kept (for actor.Options.TraceSample).
func (t *Tracing) Sample() float64 {
	if t == nil {
		return 0
	}
	return t.sample
}

// Provider is the SDK's TracerProvider (nil when off).
func (t *Tracing) Provider() *sdktrace.TracerProvider {
	if !t.Enabled() {
		return nil
	}
	return t.provider
}

// Propagator is the W3C trace context (and baggage) propagator.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.prop }

// ForceFlush exports the spans ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown exports what is left and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Tracer is the runtime's tracer (actor.Options.Tracer), nil when tracing
// is off.
func (t *Tracing) Tracer() actor.Tracer {
	if !t.Enabled() {
		return nil
	}
	return actorTracer{t}
}

// GatewayTrace is the gateway's hook (gateway.Options.Trace), nil when
// tracing is off.
func (t *Tracing) GatewayTrace() func(r *http.Request, route string) (string, func(int)) {
	if !t.Enabled() {
		return nil
	}
	return t.StartRequest
}

// chosen samples a root span whose context says the trace was chosen
// already (by the runtime's TraceSample, or by StartRequest asking the
// same sampler first), and asks its sampler otherwise: a trace is kept or
// dropped once, not twice.
type chosen struct{ sdktrace.Sampler }

type chosenKey struct{}

func (c chosen) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if p.ParentContext != nil && p.ParentContext.Value(chosenKey{}) != nil &&
		!trace.SpanContextFromContext(p.ParentContext).IsValid() {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
	}
	return c.Sampler.ShouldSample(p)
}

func (c chosen) Description() string { return "Chosen{" + c.Sampler.Description() + "}" }

// errorHandler logs the SDK's errors, at most one line per period.
type errorHandler struct {
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	last    time.Time
	dropped int
}

func (h *errorHandler) Handle(err error) {
	h.mu.Lock()
	now := time.Now()
	if !h.last.IsZero() && now.Sub(h.last) < h.every {
		h.dropped++
		h.mu.Unlock()
		return
	}
	dropped := h.dropped
	h.last, h.dropped = now, 0
	h.mu.Unlock()
	h.log.Warn("tracing: "+err.Error(), "errors-not-logged", dropped)
}

// ---- the runtime's Tracer -------------------------------------------------

type actorTracer struct{ t *Tracing }

// StartHandle starts the span of a handled message (the runtime calls it
// only for sampled ones): "handle <actor>", or "reply <actor>" for the
// outcome of a request delivered to handle-reply.
func (a actorTracer) StartHandle(id actor.ID, m *actor.Message, parent string) (string, func(error)) {
	t := a.t
	ctx := t.root
	if sc, ok := parseTraceparent(parent); ok {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	name, kind := "handle ", trace.SpanKindConsumer
	switch {
	case m.CorrelationID != 0 && m.ReplyTo == "":
		name = "reply "
	case m.CorrelationID != 0:
		kind = trace.SpanKindServer
	}
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String("actor.id", string(id)))
	if t.labels != nil {
		if app, comp, ver, ok := t.labels(id); ok {
			attrs = append(attrs, attribute.String("actor.app", app), attribute.String("actor.component", comp),
				attribute.String("actor.version", ver))
		}
	}
	if m.Sender != "" {
		attrs = append(attrs, attribute.String("actor.sender", string(m.Sender)))
	}
	if m.Topic != "" {
		attrs = append(attrs, attribute.String("messaging.destination.name", m.Topic))
	}
	_, span := t.tracer.Start(ctx, name+string(id), trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return formatTraceparent(span.SpanContext()), func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// StartCall starts a child span of a handling span for a host call (a
// key-value operation): attrs are key/value pairs.
func (a actorTracer) StartCall(parent, name string, attrs ...string) func(error) {
	t := a.t
	ctx := t.root
	if sc, ok := parseTraceparent(parent); ok {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	kv := make([]attribute.KeyValue, 0, len(attrs)/2)
	for i := 0; i+1 < len(attrs); i += 2 {
		kv = append(kv, attribute.String(attrs[i], attrs[i+1]))
	}
	_, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(kv...))
	return func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// ---- the gateway's hook -----------------------------------------------------

// StartRequest is the gateway's Trace hook: it asks the sampler (a sampled
// incoming traceparent is followed, an unsampled one too, else a share
// Sample of requests) and, only for a sampled request, starts a server
// span whose traceparent the request's message carries. An unsampled
// request gets an unsampled traceparent (the incoming one, or a new one),
// so that the actors it reaches start no trace of their own; it never
// enters the SDK.
func (t *Tracing) StartRequest(r *http.Request, route string) (string, func(int)) {
	var incoming string
	if v := r.Header["Traceparent"]; len(v) > 0 {
		incoming = v[0]
	}
	ctx := t.root
	sc, valid := parseTraceparent(incoming)
	var tid trace.TraceID
	if valid {
		if !sc.IsSampled() {
			return incoming, nil
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		tid = sc.TraceID()
	} else {
		putUint64(tid[:8], rand.Uint64())
		putUint64(tid[8:], rand.Uint64())
		res := t.sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid,
			Name: route, Kind: trace.SpanKindServer})
		if res.Decision != sdktrace.RecordAndSample {
			var sid trace.SpanID
			putUint64(sid[:], rand.Uint64()|1)
			return formatTraceparent(trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})), nil
		}
	}
	name := route
	path := route
	if i := strings.IndexByte(route, ' '); i >= 0 {
		path = route[i+1:]
	} else {
		name = r.Method + " " + route
	}
	_, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method), attribute.String("http.route", path),
		attribute.String("url.path", r.URL.Path)))
	return formatTraceparent(span.SpanContext()), func(status int) {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

// ---- W3C traceparent ------------------------------------------------------------

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// parseTraceparent reads a version 00 traceparent
// (00-<32 hex>-<16 hex>-<2 hex>, lower-case, neither id zero) as a remote
// span context.
func parseTraceparent(s string) (trace.SpanContext, bool) {
	if len(s) != 55 || s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !hexInto(tid[:], s[3:35]) || !hexInto(sid[:], s[36:52]) || !hexInto(flags[:], s[53:55]) ||
		!tid.IsValid() || !sid.IsValid() {
		return trace.SpanContext{}, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags[0]), Remote: true}), true
}

// hexInto decodes lower-case hex s into dst (len(s) == 2*len(dst)).
func hexInto(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// formatTraceparent writes sc as a version 00 traceparent.
func formatTraceparent(sc trace.SpanContext) string {
	var b [55]byte
	copy(b[:], "00-")
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	flags := [1]byte{byte(sc.TraceFlags() & trace.FlagsSampled)}
	hex.Encode(b[53:55], flags[:])
	return string(b[:])
}
