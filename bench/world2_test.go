package bench

// Benchmarks of actor world 0.2.0 (issue 8) beside 0.1.0, in one run, with
// the bare C API's string and list<u8> echoes of the same sizes as the
// floor and the ceiling of what a payload costs to cross.

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// percentiles reports p50 and p99 of the per-operation times.
func percentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Nanoseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-us")
	b.ReportMetric(at(0.99), "p99-us")
}

func utf8Payload(size int) []byte {
	p := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	return p
}

// BenchmarkWorld2Payload: one Go -> echo -> Go request at a time, by
// payload size:
//
//	v1        actor_echo (0.1.0): the message record and the reply cross
//	          as list<u8>, one C value per byte each way
//	v2-text   actor2_echotext (0.2.0): the guest reads the message's text
//	          (one host call, one copy) and replies with a text body
//	v2-bytes  actor2_echobytes (0.2.0) on a payload that is not UTF-8: the
//	          guest reads it with bytes() (list<u8>, one value per byte)
//	          and replies with a bytes body
//	bare-string, bare-bytes  Wasmtime's C API alone: echo-string and
//	          echo-bytes of echoes.wasm, the same bytes
func BenchmarkWorld2Payload(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 16 << 10, 64 << 10} {
		text := utf8Payload(size)
		notText := bytes.Repeat([]byte{0xff}, size)
		for _, v := range []struct{ name, fixture string }{{"v1", "actor_echo.wasm"},
			{"v2-text", "actor2_echotext.wasm"}, {"v2-bytes", "actor2_echobytes.wasm"}} {
			payload := text
			if v.name == "v2-bytes" {
				payload = notText
			}
			b.Run(fmt.Sprintf("size=%d/%s", size, v.name), func(b *testing.B) {
				sys, e := actorSystem(b)
				deployEcho(b, sys, compile(b, e, fixture(b, v.fixture)), "bench/echo/1")
				ctx := context.Background()
				times := make([]time.Duration, 0, b.N)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					m, err := sys.Request(ctx, "bench/echo/1", payload, "")
					times = append(times, time.Since(t0))
					if err != nil || len(m.Payload) != size {
						b.Fatalf("%d bytes back, %v", len(m.Payload), err)
					}
				}
				b.StopTimer()
				percentiles(b, times)
			})
		}
		for _, fn := range []string{"echo-string", "echo-bytes"} {
			b.Run(fmt.Sprintf("size=%d/bare-%s", size, fn[5:]), func(b *testing.B) {
				f := bareSetup(b, SameFlags, "echoes.wasm", false, fn)
				out := make([]byte, size)
				call := f.CallEcho
				if fn == "echo-bytes" {
					call = f.CallEchoBytes
				}
				times := make([]time.Duration, 0, b.N)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					n, err := call(text, out)
					times = append(times, time.Since(t0))
					if err != nil || n != size {
						b.Fatal(n, err)
					}
				}
				b.StopTimer()
				percentiles(b, times)
			})
		}
	}
}

// pump sends n 16-byte requests to id with up to 64 in flight and waits
// for every reply (the client of BenchmarkActorThroughput).
func pump(b *testing.B, sys *actor.System, id actor.ID, n int) {
	ctx := context.Background()
	payload := []byte("0123456789abcdef")
	const window = 64
	inflight := make([]*actor.Call, 0, window)
	wait := func(c *actor.Call) {
		m, err := c.Wait(ctx)
		if err != nil || len(m.Payload) != len(payload) {
			b.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if len(inflight) == window {
			wait(inflight[0])
			inflight = inflight[1:]
		}
		c, err := sys.Ask(ctx, id, payload, "")
		if err != nil {
			b.Fatal(err)
		}
		inflight = append(inflight, c)
	}
	for _, c := range inflight {
		wait(c)
	}
}

// BenchmarkWorld2Rate: 16-byte round trips through one echo actor with 64
// in flight, 0.1.0 (actor_echo) and 0.2.0 (actor2_echotext: reads the
// text, replies with it) in the same loop, in alternating batches of 1,000
// so both see the same machine: msg/s of each and their ratio.
func BenchmarkWorld2Rate(b *testing.B) {
	sys, e := actorSystem(b)
	deployEcho(b, sys, compile(b, e, fixture(b, "actor_echo.wasm")), "bench/v1/1")
	deployEcho(b, sys, compile(b, e, fixture(b, "actor2_echotext.wasm")), "bench/v2/1")
	const batch = 1000
	var t1, t2 time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		t0 := time.Now()
		pump(b, sys, "bench/v1/1", batch)
		t1 += time.Since(t0)
		t0 = time.Now()
		pump(b, sys, "bench/v2/1", batch)
		t2 += time.Since(t0)
	}
	b.StopTimer()
	n := float64((b.N + batch - 1) / batch * batch)
	b.ReportMetric(n/t1.Seconds(), "v1-msg/s")
	b.ReportMetric(n/t2.Seconds(), "v2-msg/s")
	b.ReportMetric(t1.Seconds()/t2.Seconds(), "v2/v1-x")
}

// BenchmarkWorld2Forward: a payload sent from Go through a chain of three
// actor2_forward actors (each forwards the payload by handle without
// reading it), published by the last one to a Go subscription: end to end,
// one message at a time.
func BenchmarkWorld2Forward(b *testing.B) {
	for _, size := range []int{16, 64 << 10} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			sys, e := actorSystem(b)
			c := compile(b, e, fixture(b, "actor2_forward.wasm"))
			ctx := context.Background()
			for i, next := range []string{"topic=chain.out", "next=bench/fwd/3", "next=bench/fwd/2"} {
				k, v, _ := cut(next, '=')
				if err := sys.Deploy(ctx, actor.Spec{ID: actor.ID("bench/fwd/" + strconv.Itoa(3-i)), Component: c,
					Config: map[string]string{k: v}}); err != nil {
					b.Fatal(err)
				}
			}
			sub, err := sys.Subscribe("chain.out", 1)
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Close()
			payload := utf8Payload(size)
			times := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := sys.Send(ctx, "bench/fwd/1", payload, ""); err != nil {
					b.Fatal(err)
				}
				select {
				case m := <-sub.C:
					times = append(times, time.Since(t0))
					if len(m.Payload) != size {
						b.Fatal("wrong payload")
					}
				case <-time.After(10 * time.Second):
					b.Fatal("nothing came out of the chain")
				}
			}
			b.StopTimer()
			percentiles(b, times)
		})
	}
}

func cut(s string, sep byte) (string, string, bool) {
	i := bytes.IndexByte([]byte(s), sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// BenchmarkWorld2IdleActors: resident memory of 2,000 idle actors of each
// world (each answered one request): the handle table costs nothing while
// idle.
func BenchmarkWorld2IdleActors(b *testing.B) {
	const n = 2000
	for _, fx := range []string{"actor_echo.wasm", "actor2_echotext.wasm"} {
		b.Run(fx, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				func() {
					e := newEngine(b, engine.Config{})
					sys := actor.NewSystem(e, actor.Options{})
					defer func() {
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						sys.Shutdown(ctx)
					}()
					c := compile(b, e, fixture(b, fx))
					runtime.GC()
					before := rss()
					for a := 0; a < n; a++ {
						id := "idle/echo/" + strconv.Itoa(a)
						deployEcho(b, sys, c, id)
						if _, err := sys.Request(context.Background(), actor.ID(id), []byte("x"), ""); err != nil {
							b.Fatal(err)
						}
					}
					runtime.GC()
					b.ReportMetric(float64(rss()-before)/n/1024, "KiB/actor")
				}()
			}
		})
	}
}

// TestBareEchoesDoTheWork: the bare baselines of BenchmarkWorld2Payload
// return the bytes they were given, through both echoes.
func TestBareEchoesDoTheWork(t *testing.T) {
	in := []byte("héllo, bytes and text \x00\x7f")
	out := make([]byte, len(in))
	for _, fn := range []string{"echo-string", "echo-bytes"} {
		f := bareSetup(t, SameFlags, "echoes.wasm", false, fn)
		call := f.CallEcho
		if fn == "echo-bytes" {
			call = f.CallEchoBytes
		}
		clear(out)
		if n, err := call(in, out); err != nil || !bytes.Equal(out[:n], in) {
			t.Fatalf("%s: %q, %v", fn, out[:n], err)
		}
	}
}
