package bench

// Benchmarks of package host/telemetry (issue 12): a Prometheus scrape of
// a host with 10,000 actors, and message throughput with OpenTelemetry
// tracing (the real SDK through the adapter, spans exported over OTLP/HTTP
// to a local sink) at 1% and 100% against no tracing in the same run.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/telemetry"
)

// BenchmarkMetricsScrape: GET /metrics (the text format, as Prometheus
// scrapes it) of a system with 10,000 echo actors that have each handled
// a message, with handling-time histograms on (the host's default), in
// 100 apps of one component: 100 label sets (per-component, the default),
// or 10,000 (per-actor). Target: per-component at most 100 ms.
func BenchmarkMetricsScrape(b *testing.B) {
	const n = 10_000
	e := newEngine(b, engine.Config{})
	sys := actor.NewSystem(e, actor.Options{HandleTimes: true})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sys.Shutdown(ctx)
	})
	c := compile(b, e, fixture(b, "actor2_echo.wasm"))
	spec := actor.SupervisorSpec{Name: "scrape", StartConcurrency: 2}
	for i := 0; i < n; i++ {
		spec.Children = append(spec.Children, actor.Spec{ID: actor.ID(fmt.Sprintf("app%d/echo/%d", i%100, i)),
			Component: c})
	}
	if err := sys.DeploySupervisor(context.Background(), spec); err != nil {
		b.Fatal(err)
	}
	for _, ch := range spec.Children {
		if _, err := sys.Request(context.Background(), ch.(actor.Spec).ID, []byte("x"), ""); err != nil {
			b.Fatal(err)
		}
	}
	labels := func(id actor.ID) (string, string, string, bool) {
		app, _, _ := strings.Cut(string(id), "/")
		return app, "echo", "1.0.0", true
	}
	for _, perActor := range []bool{false, true} {
		name := "per-component"
		if perActor {
			name = "per-actor"
		}
		b.Run(name, func(b *testing.B) {
			m, err := telemetry.NewMetrics(telemetry.MetricsOptions{System: sys, Labels: labels, PerActor: perActor,
				Engine: e})
			if err != nil {
				b.Fatal(err)
			}
			h := m.Handler()
			var size int
			scrape := func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			scrape() // the collector's first look at every actor
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				scrape()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
			b.ReportMetric(float64(size)/1024, "KiB/scrape")
			body := httptest.NewRecorder()
			h.ServeHTTP(body, httptest.NewRequest("GET", "/metrics", nil))
			want := `airssys_messages_handled_total{app="app7",component="echo",version="1.0.0"} 100`
			if perActor {
				want = `airssys_messages_handled_total{actor="app7/echo/7",app="app7",component="echo",version="1.0.0"} 1`
			}
			if !strings.Contains(body.Body.String(), want) {
				b.Fatalf("no %s in the scrape", want)
			}
		})
	}
}

// nopTrace is a Tracer that does nothing: what the runtime's side of
// tracing costs.
type nopTrace struct{}

func (nopTrace) StartHandle(actor.ID, *actor.Message, string) (string, func(error)) {
	return "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", func(error) {}
}

func (nopTrace) StartCall(string, string, ...string) func(error) { return func(error) {} }

// BenchmarkTracingThroughput: 16-byte round trips from Go through one
// echo actor with 64 in flight (BenchmarkActorThroughput's client), on
// systems that differ only in their tracing:
//
//	off         no Tracer (the reference)
//	off-again   the same, on a system of its own: how far apart two
//	            identical systems measure (the noise floor of the ratios)
//	nop-1pct    a Tracer that does nothing, TraceSample 0.01: the
//	            runtime's share of the cost below
//	otel-1pct   telemetry.Tracing at Sample 0.01 (the runtime starts a
//	            trace for 1% of the messages; each is a span of the SDK,
//	            batched and exported over OTLP/HTTP to a local sink)
//	otel-100    the same at Sample 1: every message is a span
//
// The variants run in alternating batches of 500 (in a new random order
// every round; otel-100's batch time includes the export of its spans,
// which would otherwise run in the background of the next batch), each reporting its msg/s and the median over rounds of
// its batch time over the reference's in the same round ("x-off": 1.05
// is 5% slower); the traced ones also over the mean of both untraced
// systems' ("x-offs"). Target: otel-1pct at most 1.05.
func BenchmarkTracingThroughput(b *testing.B) {
	var exported, requests atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		exported.Add(n)
		requests.Add(1)
	}))
	b.Cleanup(sink.Close)
	e := newEngine(b, engine.Config{})
	c := compile(b, e, fixture(b, "actor2_echotext.wasm"))
	labels := func(actor.ID) (string, string, string, bool) { return "bench", "echo", "1.0.0", true }
	variants := []struct {
		name   string
		sample float64 // < 0: no tracing
		nop    bool    // a Tracer that does nothing instead of the SDK's
	}{{"off", -1, false}, {"off-again", -1, false}, {"nop-1pct", 0.01, true}, {"otel-1pct", 0.01, false},
		{"otel-100", 1, false}}
	systems := make([]*actor.System, len(variants))
	tracings := make([]*telemetry.Tracing, len(variants))
	for i, v := range variants {
		var o actor.Options
		if v.nop {
			o.Tracer, o.TraceSample = nopTrace{}, v.sample
		} else if v.sample >= 0 {
			tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Endpoint: sink.URL,
				Sample: v.sample, Labels: labels})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tr.Shutdown(context.Background()) })
			o.Tracer, o.TraceSample = tr.Tracer(), tr.Sample()
			tracings[i] = tr
		}
		sys := actor.NewSystem(e, o)
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sys.Shutdown(ctx)
		})
		deployEcho(b, sys, c, "bench/echo/1")
		pump(b, sys, "bench/echo/1", 1000) // warm
		systems[i] = sys
	}
	const batch = 500
	rounds := max(1, b.N/(batch*len(variants)))
	times := make([][]time.Duration, len(variants))
	b.ResetTimer()
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, len(variants))
	for range rounds {
		for k := range order {
			order[k] = k
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			t0 := time.Now()
			pump(b, systems[i], "bench/echo/1", batch)
			if variants[i].sample == 1 {
				// Its spans exported now, on its time: not in the
				// background of the next batch.
				tracings[i].ForceFlush(context.Background())
			}
			times[i] = append(times[i], time.Since(t0))
		}
	}
	b.StopTimer()
	for i, v := range variants {
		var total time.Duration
		ratios := make([]float64, rounds)
		for r, t := range times[i] {
			total += t
			ratios[r] = float64(t) / float64(times[0][r])
		}
		b.ReportMetric(float64(rounds*batch)/total.Seconds(), v.name+"-msg/s")
		if i > 0 {
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], v.name+"-x-off")
		}
		if v.sample >= 0 { // against both untraced systems: less of one system's bias
			for r, t := range times[i] {
				ratios[r] = 2 * float64(t) / float64(times[0][r]+times[1][r])
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], v.name+"-x-offs")
		}
	}
	for _, tr := range tracings {
		if tr != nil {
			tr.ForceFlush(context.Background())
		}
	}
	if rounds*batch >= 10_000 && exported.Load() == 0 {
		b.Fatal("no span reached the OTLP sink")
	}
	b.ReportMetric(float64(exported.Load())/float64(max(1, requests.Load()))/1024, "KiB/export")
}
