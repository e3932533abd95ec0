package bench

// Benchmarks of the actor runtime (issue 3): message throughput through
// echo actors, component-to-component request/reply latency, deploy time
// and resident memory per idle actor.

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

func actorSystem(b *testing.B) (*actor.System, *engine.Engine) {
	e := newEngine(b, engine.Config{})
	sys := actor.NewSystem(e, actor.Options{})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return sys, e
}

func deployEcho(b *testing.B, sys *actor.System, c *engine.Component, id string) {
	if err := sys.Deploy(context.Background(), actor.Spec{ID: actor.ID(id), Component: c}); err != nil {
		b.Fatal(err)
	}
}

// deployEchoes deploys n echo actors and returns their ids.
func deployEchoes(b *testing.B, sys *actor.System, c *engine.Component, n int) []actor.ID {
	ids := make([]actor.ID, n)
	for i := range ids {
		ids[i] = actor.ID(fmt.Sprintf("bench/echo/%d", i))
		deployEcho(b, sys, c, string(ids[i]))
	}
	return ids
}

// perActor splits b.N over the actors and runs client(id, n) for each on
// its own goroutine, waiting for all.
func perActor(b *testing.B, ids []actor.ID, client func(id actor.ID, n int)) {
	var wg sync.WaitGroup
	for a, id := range ids {
		n := b.N / len(ids)
		if a == 0 {
			n += b.N % len(ids)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			client(id, n)
		}()
	}
	wg.Wait()
}

// BenchmarkActorThroughput: Go -> echo actor -> reply (Request), with many
// requesters in flight; one actor, then one actor per core and more.
func BenchmarkActorThroughput(b *testing.B) {
	for _, actors := range []int{1, 2, 8} {
		b.Run(fmt.Sprintf("actors=%d", actors), func(b *testing.B) {
			sys, e := actorSystem(b)
			c := compile(b, e, fixture(b, "actor_echo.wasm"))
			ids := deployEchoes(b, sys, c, actors)
			payload := []byte("0123456789abcdef") // 16 bytes
			// One client per actor, each with up to 64 requests in flight
			// (Ask, then Wait for the oldest).
			const window = 64
			b.ResetTimer()
			perActor(b, ids, func(id actor.ID, n int) {
				ctx := context.Background()
				inflight := make([]*actor.Call, 0, window)
				wait := func(c *actor.Call) bool {
					m, err := c.Wait(ctx)
					if err != nil || len(m.Payload) != len(payload) {
						b.Error(err)
						return false
					}
					return true
				}
				for i := 0; i < n; i++ {
					if len(inflight) == window {
						if !wait(inflight[0]) {
							return
						}
						inflight = inflight[1:]
					}
					c, err := sys.Ask(ctx, id, payload, "")
					if err != nil {
						b.Error(err)
						return
					}
					inflight = append(inflight, c)
				}
				for _, c := range inflight {
					if !wait(c) {
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkActorSendThroughput: fire-and-forget sends into echo actors,
// counting until every message has been handled.
func BenchmarkActorSendThroughput(b *testing.B) {
	for _, actors := range []int{1, 2} {
		b.Run(fmt.Sprintf("actors=%d", actors), func(b *testing.B) {
			sys, e := actorSystem(b)
			c := compile(b, e, fixture(b, "actor_echo.wasm"))
			ids := deployEchoes(b, sys, c, actors)
			payload := []byte("0123456789abcdef")
			b.ResetTimer()
			perActor(b, ids, func(id actor.ID, n int) {
				for i := 0; i < n; i++ {
					if err := sys.Send(context.Background(), id, payload, ""); err != nil {
						b.Error(err)
						return
					}
				}
			})
			for _, id := range ids {
				for {
					st, _ := sys.Stats(id)
					if st.MailboxDepth == 0 {
						break
					}
					runtime.Gosched()
				}
			}
			// One last request per actor: its reply comes after everything sent before.
			for _, id := range ids {
				if _, err := sys.Request(context.Background(), id, payload, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var handled uint64
			for _, id := range ids {
				st, _ := sys.Stats(id)
				handled += st.Handled
			}
			if handled != uint64(b.N+actors) {
				b.Fatalf("handled %d of %d", handled, b.N+actors)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkComponentRequestReply: an agent component requests from an echo
// component; the system's latency histogram measures from the agent's call
// of request to the start of its handle-reply.
func BenchmarkComponentRequestReply(b *testing.B) {
	sys, e := actorSystem(b)
	deployEcho(b, sys, compile(b, e, fixture(b, "actor_echo.wasm")), "bench/echo/1")
	agent := compile(b, e, fixture(b, "actor_agent.wasm"))
	if err := sys.Deploy(context.Background(), actor.Spec{ID: "bench/agent/1", Component: agent}); err != nil {
		b.Fatal(err)
	}
	cmd := []byte("ask|bench/echo/1|ping")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := sys.Request(context.Background(), "bench/agent/1", cmd, "")
		if err != nil || !strings.HasPrefix(string(m.Payload), "asked:") {
			b.Fatalf("iteration %d: %q %v", i, m.Payload, err)
		}
		// Closed loop: wait for the reply to reach the agent.
		for {
			st, _ := sys.Stats("bench/agent/1")
			if st.Replies == uint64(i+1) {
				break
			}
			runtime.Gosched()
		}
	}
	b.StopTimer()
	q := sys.RequestLatency(0.5, 0.99)
	b.ReportMetric(float64(q[0].Nanoseconds())/1000, "p50-us")
	b.ReportMetric(float64(q[1].Nanoseconds())/1000, "p99-us")
}

// BenchmarkDeploy: deploy one echo actor (instantiate, init, goroutine).
// Actors are stopped in batches outside the timer: a process holds about
// 32,000 linear memories before it reaches the kernel's map count limit
// (vm.max_map_count, 65530 by default; two mappings per memory).
func BenchmarkDeploy(b *testing.B) {
	for _, pooling := range []bool{false, true} {
		b.Run(fmt.Sprintf("pooling=%t", pooling), func(b *testing.B) {
			e := newEngine(b, engine.Config{Pooling: pooling, PoolInstances: 2000, PoolMaxMemory: 1 << 20})
			sys := actor.NewSystem(e, actor.Options{})
			defer sys.Shutdown(context.Background())
			c := compile(b, e, fixture(b, "actor_echo.wasm"))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%1000 == 0 {
					b.StopTimer()
					for _, id := range sys.Actors() {
						sys.Stop(context.Background(), id)
					}
					b.StartTimer()
				}
				deployEcho(b, sys, c, "bench/echo/"+strconv.Itoa(i))
			}
			b.StopTimer()
		})
	}
}

func rss() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchmarkIdleActors10k: resident memory of 10,000 deployed, idle echo
// actors (each answers one request first, so it is really running).
func BenchmarkIdleActors10k(b *testing.B) {
	const n = 10_000
	for i := 0; i < b.N; i++ {
		func() {
			e := newEngine(b, engine.Config{})
			sys := actor.NewSystem(e, actor.Options{})
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				sys.Shutdown(ctx)
			}()
			c := compile(b, e, fixture(b, "actor_echo.wasm"))
			runtime.GC()
			before := rss()
			start := time.Now()
			for a := 0; a < n; a++ {
				deployEcho(b, sys, c, "idle/echo/"+strconv.Itoa(a))
			}
			deployTime := time.Since(start)
			for a := 0; a < n; a += 97 {
				if _, err := sys.Request(context.Background(), actor.ID("idle/echo/"+strconv.Itoa(a)), []byte("x"), ""); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			after := rss()
			b.ReportMetric(float64(after-before)/n/1024, "KiB/actor")
			b.ReportMetric(float64(after-before)/(1<<20), "MiB-total")
			b.ReportMetric(float64(deployTime.Microseconds())/n, "us/deploy")
		}()
	}
}

// BenchmarkActorPayloadSize: one request through echo by payload size. A
// list<u8> crosses Wasmtime's C API one value per byte, in both directions.
func BenchmarkActorPayloadSize(b *testing.B) {
	for _, size := range []int{16, 256, 1024, 4096, 16384} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			sys, e := actorSystem(b)
			deployEcho(b, sys, compile(b, e, fixture(b, "actor_echo.wasm")), "bench/echo/1")
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := sys.Request(context.Background(), "bench/echo/1", payload, "")
				if err != nil || len(m.Payload) != size {
					b.Fatal(err)
				}
			}
		})
	}
}
