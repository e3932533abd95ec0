package bench

// Benchmark of the actor runtime's instrumentation (issue 12): message
// throughput with metrics and tracing off, with the handling-time
// histogram on, and with a Tracer that does nothing but is called (for
// every message, and for 1% of them), each against the uninstrumented run
// in the same benchmark run.

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// nopTracer is called and does nothing: what the runtime itself costs
// around a tracing SDK.
type nopTracer struct{}

const nopSpan = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func nopEnd(error) {}

func (nopTracer) StartHandle(actor.ID, *actor.Message, string) (string, func(error)) {
	return nopSpan, nopEnd
}

func (nopTracer) StartCall(string, string, ...string) func(error) { return nopEnd }

// BenchmarkObserveThroughput: 16-byte round trips from Go through one
// echo actor with 64 in flight (BenchmarkActorThroughput's client), for
// world 0.1.0 (v1: actor_echo) and 0.2.0 (v2: actor2_echotext), on systems
// that differ only in their instrumentation:
//
//	off         no Tracer, HandleTimes off (the reference)
//	off-again   the same, on a system of its own: how far apart two
//	            identical systems measure (the noise floor of the ratios)
//	metrics     HandleTimes on (one clock read and two atomic adds per
//	            message)
//	trace-0     a Tracer, TraceSample 0: no message is traced (the cost of
//	            looking for a traceparent)
//	trace-1pct  a Tracer, TraceSample 0.01
//	trace-100   a Tracer, TraceSample 1: every message calls it, and every
//	            reply carries the span's traceparent
//
// The variants run in alternating batches of 500 (the order rotated
// every round) so that each sees the same machine; each reports its
// msg/s and the median over rounds of its batch time over the reference's
// in the same round ("x-off": 1.03 is 3% slower), and the same ratio of
// the process's CPU time ("cpu-x-off": what the instrumentation costs in
// work, less sensitive than wall time to other load on the machine).
func BenchmarkObserveThroughput(b *testing.B) {
	for _, w := range []struct{ name, fixture string }{{"v1", "actor_echo.wasm"},
		{"v2", "actor2_echotext.wasm"}} {
		b.Run(w.name, func(b *testing.B) {
			e := newEngine(b, engine.Config{})
			c := compile(b, e, fixture(b, w.fixture))
			variants := []struct {
				name string
				opts actor.Options
			}{
				{"off", actor.Options{}},
				{"off-again", actor.Options{}},
				{"metrics", actor.Options{HandleTimes: true}},
				{"trace-0", actor.Options{Tracer: nopTracer{}}},
				{"trace-1pct", actor.Options{Tracer: nopTracer{}, TraceSample: 0.01}},
				{"trace-100", actor.Options{Tracer: nopTracer{}, TraceSample: 1}},
			}
			systems := make([]*actor.System, len(variants))
			for i, v := range variants {
				sys := actor.NewSystem(e, v.opts)
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
			cpu := make([][]time.Duration, len(variants))
			b.ResetTimer()
			for r := range rounds {
				for k := range variants {
					i := (r + k) % len(variants)
					t0, c0 := time.Now(), cpuTime()
					pump(b, systems[i], "bench/echo/1", batch)
					times[i] = append(times[i], time.Since(t0))
					cpu[i] = append(cpu[i], cpuTime()-c0)
				}
			}
			b.StopTimer()
			median := func(ts [][]time.Duration, i int) float64 {
				ratios := make([]float64, rounds)
				for r, t := range ts[i] {
					ratios[r] = float64(t) / float64(ts[0][r])
				}
				slices.Sort(ratios)
				return ratios[len(ratios)/2]
			}
			for i, v := range variants {
				var total time.Duration
				for _, t := range times[i] {
					total += t
				}
				b.ReportMetric(float64(rounds*batch)/total.Seconds(), v.name+"-msg/s")
				if i > 0 {
					b.ReportMetric(median(times, i), v.name+"-x-off")
					b.ReportMetric(median(cpu, i), v.name+"-cpu-x-off")
				}
			}
			for i, sys := range systems {
				st, err := sys.Stats("bench/echo/1")
				if err != nil || st.Failed != 0 {
					b.Fatalf("%s: %+v %v", variants[i].name, st, err)
				}
				if variants[i].opts.HandleTimes && st.HandleTime.Count != st.Handled {
					b.Fatalf("%s: %d handling times for %d handled", variants[i].name, st.HandleTime.Count, st.Handled)
				}
			}
		})
	}
}

// cpuTime is the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
