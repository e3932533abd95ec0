package bench

// Benchmarks of the Go echo actor (issue 13) beside the C and JavaScript
// actors of world 0.2.0, in the same run:
//
//	go  testdata/goactor_echo.wasm: standard Go (wasip1, c-shared), wrapped
//	    with the WASI preview1 reactor adapter; replies with the text
//	c   testdata/actor2_echo.wasm: the C echo of world 0.2.0 (replies with
//	    the text it read; its glue also reads the sender and the metadata);
//	    for requests also c-text, actor2_echotext.wasm (text() only)
//	js  testdata/actor2_js.wasm: componentize-js, role "json" (parses the
//	    payload, replies with a small JSON document); there is no JS echo
//
// Every request carries the same 16-byte JSON text, {"n":1234567890}.
// BENCHMARKING.md ("Issue 13: actors in Go") has the figures and the
// analysis of deploy time.

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/internal/gobuild"
)

type gaFixture struct {
	name, file string
	config     map[string]string
}

var gaFixtures = []gaFixture{
	{"go", "goactor_echo.wasm", nil},
	{"c", "actor2_echo.wasm", nil},
	{"js", "actor2_js.wasm", map[string]string{"role": "json"}},
}

var gaPayload = []byte(`{"n":1234567890}`)

func gaDeploy(b *testing.B, sys *actor.System, c *engine.Component, fx gaFixture, id string) time.Duration {
	b.Helper()
	t0 := time.Now()
	err := sys.Deploy(context.Background(), actor.Spec{ID: actor.ID(id), Component: c, Config: fx.config})
	took := time.Since(t0)
	if err != nil {
		b.Fatalf("%s: %v", fx.name, err)
	}
	return took
}

func gaShutdown(sys *actor.System) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sys.Shutdown(ctx)
}

// gaQuantile is the q-quantile of d (sorted in place), in units of unit.
func gaQuantile(d []time.Duration, q float64, unit time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(q*float64(len(d)-1))]) / float64(unit)
}

// BenchmarkGoActorRequest: one Go -> actor -> reply request at a time
// (sys.Request), the three actors taking turns in batches of 500 requests
// so that all see the same machine; p50 and p99 of each.
func BenchmarkGoActorRequest(b *testing.B) {
	// c-text: the bare C echo of world 0.2.0 (actor2_echotext: one host
	// call, text(), and a text reply), the floor of a request.
	fixtures := append(slices.Clone(gaFixtures), gaFixture{"c-text", "actor2_echotext.wasm", nil})
	sys, e := actorSystem(b)
	ctx := context.Background()
	ids := make([]actor.ID, len(fixtures))
	for k, fx := range fixtures {
		ids[k] = actor.ID("bench/" + fx.name + "/1")
		gaDeploy(b, sys, compile(b, e, fixture(b, fx.file)), fx, string(ids[k]))
		for range 1000 { // warm up: the guest's heap, Go's first collections
			if _, err := sys.Request(ctx, ids[k], gaPayload, "application/json"); err != nil {
				b.Fatal(err)
			}
		}
	}
	times := make([][]time.Duration, len(fixtures))
	for k := range times {
		times[k] = make([]time.Duration, 0, b.N)
	}
	const batch = 500
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		for k, id := range ids {
			for range min(batch, b.N-done) {
				t0 := time.Now()
				m, err := sys.Request(ctx, id, gaPayload, "application/json")
				times[k] = append(times[k], time.Since(t0))
				if err != nil || len(m.Payload) == 0 {
					b.Fatalf("%s: %q, %v", id, m.Payload, err)
				}
			}
		}
	}
	b.StopTimer()
	for k, fx := range fixtures {
		b.ReportMetric(gaQuantile(times[k], 0.5, time.Microsecond), fx.name+"-p50-us")
		b.ReportMetric(gaQuantile(times[k], 0.99, time.Microsecond), fx.name+"-p99-us")
	}
}

// BenchmarkGoActorDeploy: sys.Deploy of a compiled component (instantiate,
// init, the actor's goroutine), for the three actors on two engines: the
// default one (the engine's own linear memories: the data segments are
// copied into every instance) and Config.Pooling (Wasmtime's pooling
// allocator, which maps a copy-on-write image of the initial memory
// instead).
//
//	first-ms  the first deploy after the component was compiled (loaded
//	          from a warm compile cache): median of 5 fresh engines
//	p50-ms, p99-ms  the following deploys, steady state; at most 100
//	          actors of each live at once (stopped outside the timer)
//
// The variants take turns deploy by deploy so that every one sees the same
// machine.
func BenchmarkGoActorDeploy(b *testing.B) {
	type variant struct {
		name    string
		fx      gaFixture
		cfg     engine.Config
		e       *engine.Engine
		c       *engine.Component
		sys     *actor.System
		first   []time.Duration
		times   []time.Duration
		live    []actor.ID
		nextID  int
		compArg []byte
	}
	cache := privateDir(b)
	var vs []*variant
	for _, pool := range []bool{false, true} {
		for _, fx := range gaFixtures {
			v := &variant{name: fx.name, fx: fx, compArg: fixture(b, fx.file),
				cfg: engine.Config{CacheDir: cache}}
			if pool {
				v.name += "-pool"
				v.cfg.Pooling, v.cfg.PoolInstances = true, 200
			}
			vs = append(vs, v)
		}
	}
	ctx := context.Background()
	// First deploys: a fresh engine and system each round; the compile is
	// a cache hit after the first round's.
	for round := 0; round < 6; round++ {
		for _, v := range vs {
			e := newEngine(b, v.cfg)
			c, err := e.Compile(ctx, v.compArg)
			if err != nil {
				b.Fatal(err)
			}
			sys := actor.NewSystem(e, actor.Options{})
			took := gaDeploy(b, sys, c, v.fx, "bench/first/1")
			if round > 0 { // round 0 filled the cache
				v.first = append(v.first, took)
			}
			gaShutdown(sys)
			c.Close()
			e.Close()
		}
	}
	for _, v := range vs {
		v.e = newEngine(b, v.cfg)
		v.c = compile(b, v.e, v.compArg)
		v.sys = actor.NewSystem(v.e, actor.Options{})
		defer gaShutdown(v.sys)
		gaDeploy(b, v.sys, v.c, v.fx, "bench/warm/0") // not counted
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, v := range vs {
			if len(v.live) == 100 {
				b.StopTimer()
				for _, id := range v.live {
					v.sys.Stop(ctx, id)
				}
				v.live = v.live[:0]
				runtime.GC()
				b.StartTimer()
			}
			v.nextID++
			id := "bench/deploy/" + strconv.Itoa(v.nextID)
			v.times = append(v.times, gaDeploy(b, v.sys, v.c, v.fx, id))
			v.live = append(v.live, actor.ID(id))
		}
	}
	b.StopTimer()
	for _, v := range vs {
		b.ReportMetric(gaQuantile(v.first, 0.5, time.Millisecond), v.name+"-first-ms")
		b.ReportMetric(gaQuantile(v.times, 0.5, time.Millisecond), v.name+"-p50-ms")
		b.ReportMetric(gaQuantile(v.times, 0.99, time.Millisecond), v.name+"-p99-ms")
	}
}

// BenchmarkGoActorIdle: resident memory per idle actor, over 300 deployed
// actors of each (each answered one request), like
// BenchmarkWorld2IdleActors: the RSS delta (KiB/actor) and the PSS delta
// (pss-KiB/actor: a page shared by several mappings, like the pages of a
// copy-on-write memory image, counts once in all), on the default engine
// and on Config.Pooling.
func BenchmarkGoActorIdle(b *testing.B) {
	const n = 300
	for _, pool := range []bool{false, true} {
		for _, fx := range gaFixtures {
			name := fx.name
			cfg := engine.Config{}
			if pool {
				name += "-pool"
				cfg.Pooling, cfg.PoolInstances = true, n+10
			}
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					func() {
						e := newEngine(b, cfg)
						sys := actor.NewSystem(e, actor.Options{})
						defer gaShutdown(sys)
						c := compile(b, e, fixture(b, fx.file))
						gaDeploy(b, sys, c, fx, "idle/warm/0") // the first instance's one-time costs
						runtime.GC()
						rss0, pss0 := rss(), gaPSS()
						for a := 0; a < n; a++ {
							id := "idle/" + fx.name + "/" + strconv.Itoa(a)
							gaDeploy(b, sys, c, fx, id)
							if _, err := sys.Request(context.Background(), actor.ID(id), gaPayload, "application/json"); err != nil {
								b.Fatal(err)
							}
						}
						runtime.GC()
						b.ReportMetric(float64(rss()-rss0)/n/1024, "KiB/actor")
						b.ReportMetric(float64(gaPSS()-pss0)/n/1024, "pss-KiB/actor")
					}()
				}
			})
		}
	}
}

// gaPSS is the proportional set size of the process, in bytes.
func gaPSS() int64 {
	data, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkGoActorCompile: a cold compile (no cache) of each component;
// reports its size and the data segments of its core modules.
func BenchmarkGoActorCompile(b *testing.B) {
	for _, fx := range gaFixtures {
		b.Run(fx.name, func(b *testing.B) {
			wasm := fixture(b, fx.file)
			e := newEngine(b, engine.Config{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c, err := e.Compile(context.Background(), wasm)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.StopTimer()
			b.ReportMetric(float64(len(wasm))/1024, "KiB")
			b.ReportMetric(float64(gaDataSegments(wasm)), "data-segments")
		})
	}
}

// BenchmarkGoActorBuild: building the Go echo from source the way
// testdata/src/goactor/build.sh does (internal/gobuild: go build for
// wasip1, then jco's wit-component), into a temporary file. Skipped when
// Node.js or testdata/tools/node_modules is missing. The Go build cache is
// warm after the first iteration.
func BenchmarkGoActorBuild(b *testing.B) {
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("no node on PATH")
	}
	tools, err := filepath.Abs(filepath.Join("..", "testdata", "tools"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tools, "node_modules")); err != nil {
		b.Skip("testdata/tools/node_modules is missing (npm ci in testdata/tools)")
	}
	dir := filepath.Join("..", "testdata", "src", "goactor", "echo")
	var goBuild, wrap time.Duration
	for i := 0; i < b.N; i++ {
		r, err := gobuild.Build(context.Background(), gobuild.Options{Dir: dir,
			Out: filepath.Join(b.TempDir(), "echo.wasm"), ToolsDir: tools})
		if errors.Is(err, gobuild.ErrNoNode) || errors.Is(err, gobuild.ErrNoGo) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		goBuild += r.GoBuild
		wrap += r.Wrap
	}
	b.ReportMetric(goBuild.Seconds()/float64(b.N), "go-build-s")
	b.ReportMetric(wrap.Seconds()/float64(b.N), "wrap-s")
}

// ---- counting data segments --------------------------

func gaLEB(b []byte, i int) (uint64, int, bool) {
	var v uint64
	for s := 0; s < 64; s += 7 {
		if i >= len(b) {
			return 0, i, false
		}
		x := b[i]
		i++
		v |= uint64(x&0x7f) << s
		if x < 0x80 {
			return v, i, true
		}
	}
	return 0, i, false
}

// gaSections calls f with each section of a module or component binary;
// f returns the section's new body (or the same). The result is the binary
// with those bodies.
func gaSections(bin []byte, f func(id byte, body []byte) []byte) ([]byte, bool) {
	if len(bin) < 8 {
		return nil, false
	}
	out := append([]byte(nil), bin[:8]...)
	for i := 8; i < len(bin); {
		id := bin[i]
		n, j, ok := gaLEB(bin, i+1)
		if !ok || j+int(n) > len(bin) {
			return nil, false
		}
		body := f(id, bin[j:j+int(n)])
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
		i = j + int(n)
	}
	return out, true
}

func gaIsComponent(bin []byte) bool { return len(bin) >= 8 && bin[4] == 0x0d }

// gaDataSegments counts the data segments of every core module in bin.
func gaDataSegments(bin []byte) int {
	n := 0
	var walk func(bin []byte)
	walk = func(bin []byte) {
		comp := gaIsComponent(bin)
		gaSections(bin, func(id byte, body []byte) []byte {
			switch {
			case comp && (id == 1 || id == 4): // core module, nested component
				walk(body)
			case !comp && id == 11:
				if c, _, ok := gaLEB(body, 0); ok {
					n += int(c)
				}
			}
			return body
		})
	}
	walk(bin)
	return n
}
