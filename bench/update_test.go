package bench

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// BenchmarkActorUpdate: b.N updates (alternately Update and Rollback
// between actor_agent and actor2_agent2) of one actor while a Go sender
// floods it with messages it publishes on to a Go subscriber. Reported:
// the time of one Update call (prepare and switch), and the gaps between
// consecutive messages reaching the subscriber during the run (p99 and the
// longest), against the same figures with no update (baseline-*).
func BenchmarkActorUpdate(b *testing.B) {
	e := newEngine(b, engine.Config{})
	sys := actor.NewSystem(e, actor.Options{})
	defer sys.Shutdown(context.Background())
	v1, v2 := compile(b, e, fixture(b, "actor_agent.wasm")), compile(b, e, fixture(b, "actor2_agent2.wasm"))
	ctx := context.Background()
	if err := sys.Deploy(ctx, actor.Spec{ID: "bench/agent/1", Component: v1, MailboxSize: 1 << 16}); err != nil {
		b.Fatal(err)
	}
	const n = 400_000
	sub, err := sys.Subscribe("load.seq", n)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	gaps := func(update func()) ([]time.Duration, []time.Duration) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				sys.Send(ctx, "bench/agent/1", []byte("pub|load.seq|"+strconv.Itoa(i)), "")
			}
		}()
		var calls []time.Duration
		stop := make(chan struct{})
		if update != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					t0 := time.Now()
					update()
					calls = append(calls, time.Since(t0))
				}
			}()
		}
		var out []time.Duration
		last := time.Now()
		for i := 0; i < n; i++ {
			<-sub.C
			now := time.Now()
			if i > 1000 {
				out = append(out, now.Sub(last))
			}
			last = now
		}
		close(stop)
		wg.Wait()
		return out, calls
	}
	stat := func(d []time.Duration, q float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1000
	}
	base, _ := gaps(nil)
	b.ResetTimer()
	i := 0
	during, calls := gaps(func() {
		var err error
		if i%2 == 0 {
			err = sys.Update(ctx, "bench/agent/1", v2, nil)
		} else {
			err = sys.Rollback(ctx, "bench/agent/1")
		}
		if err != nil {
			b.Error(err)
		}
		i++
	})
	b.StopTimer()
	b.ReportMetric(float64(len(calls)), "updates")
	b.ReportMetric(stat(calls, 0.5), "update-call-p50-us")
	b.ReportMetric(stat(during, 0.99), "gap-p99-us")
	b.ReportMetric(stat(during, 1), "gap-max-us")
	b.ReportMetric(stat(base, 0.99), "baseline-gap-p99-us")
	b.ReportMetric(stat(base, 1), "baseline-gap-max-us")
}
