package bench

// Paired benchmarks. Every family has a bare C API variant ("bare", see
// bare.go) and an airssys-wasm variant doing the same operation. Each
// variant reports its own ns/op; the airssys variants also report their
// ratio to the baseline ("x-bare"), measured by alternating batches of the
// two operations in the same process (see paired), so that the ratio holds
// even when other work on the machine slows one stretch of the run.
// BENCHMARKING.md at the repository root has the figures.

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// ---- fixtures and set-up helpers ---------------------------------------------

var (
	fixMu sync.Mutex
	fixes = map[string][]byte{}
)

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	fixMu.Lock()
	defer fixMu.Unlock()
	if b, ok := fixes[name]; ok {
		return b
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	fixes[name] = b
	return b
}

func newEngine(tb testing.TB, cfg engine.Config) *engine.Engine {
	tb.Helper()
	e, err := engine.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func compile(tb testing.TB, e *engine.Engine, wasm []byte) *engine.Component {
	tb.Helper()
	c, err := e.Compile(context.Background(), wasm)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func instantiate(tb testing.TB, c *engine.Component, cfg engine.InstanceConfig) *engine.Instance {
	tb.Helper()
	i, err := c.Instantiate(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { i.Close() })
	return i
}

func function(tb testing.TB, i *engine.Instance, name string) *engine.Func {
	tb.Helper()
	f, err := i.Func(name)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// airssysSetup compiles and instantiates a fixture on a new engine and
// returns one of its functions.
func airssysSetup(tb testing.TB, cfg engine.Config, fixtureName string, icfg engine.InstanceConfig,
	fn string) *engine.Func {
	tb.Helper()
	e := newEngine(tb, cfg)
	c := compile(tb, e, fixture(tb, fixtureName))
	return function(tb, instantiate(tb, c, icfg), fn)
}

func newBare(tb testing.TB, f Flavour) *BareEngine {
	tb.Helper()
	e, err := NewBareEngine(f)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

func bareCompile(tb testing.TB, e *BareEngine, wasm []byte) *BareComponent {
	tb.Helper()
	c, err := e.Compile(wasm)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func bareLinker(tb testing.TB, e *BareEngine, withHost bool) *BareLinker {
	tb.Helper()
	l, err := e.NewLinker(withHost)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(l.Close)
	return l
}

// bareSetup compiles and instantiates a fixture on a new bare engine and
// returns one of its functions.
func bareSetup(tb testing.TB, flavour Flavour, fixtureName string, withHost bool, fn string) *BareFunc {
	tb.Helper()
	e := newBare(tb, flavour)
	c := bareCompile(tb, e, fixture(tb, fixtureName))
	i, err := bareLinker(tb, e, withHost).Instantiate(c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(i.Close)
	f, err := i.Func(c, fn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Free)
	return f
}

const hostIface = "airssys:test/host@0.1.0"

// testHost provides the hostcall fixture's imports in Go: get returns 41
// (like the bare baseline's C callback), log does nothing.
func testHost() *engine.Host {
	return engine.NewHost().
		Func(hostIface, "get", func(context.Context, []any) (any, error) { return int32(41), nil }).
		Func(hostIface, "log", func(context.Context, []any) (any, error) { return nil, nil })
}

var kib = strings.Repeat("airssys-wasm-go!", 64) // 1024 bytes

// ---- paired measurement --------------------------------------------------------

// variant is one side of a benchmark family: setup prepares the operation
// (outside the timer) and returns it; op may call b.Fatal.
type variant struct {
	name  string
	setup func(b *testing.B) func()
	// ratios to report against other variants of the family.
	vs []ratio
	// extra reports more metrics after the timed loop.
	extra func(b *testing.B)
}

// ratio asks for the metric unit = time(this)/time(ref), or its inverse.
type ratio struct {
	ref, unit string
	invert    bool
}

func nsPerOp(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }

// family runs every variant as a sub-benchmark, in order.
func family(b *testing.B, vs ...variant) {
	byName := map[string]variant{}
	for _, v := range vs {
		byName[v.name] = v
	}
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			op := v.setup(b)
			for b.Loop() {
				op()
			}
			per := nsPerOp(b)
			if v.extra != nil {
				v.extra(b)
			}
			for _, r := range v.vs {
				ref := byName[r.ref].setup(b)
				x := paired(ref, op, per)
				if r.invert {
					x = 1 / x
				}
				b.ReportMetric(x, r.unit)
			}
		})
	}
}

const (
	pairRounds = 21
	pairBatch  = 5 * time.Millisecond // of the measured operation
)

// paired alternates batches of ref and x (same batch size, order swapped
// every round) and returns the median over rounds of time(x)/time(ref).
// perX is x's ns/op, which sizes the batches.
func paired(ref, x func(), perX float64) float64 {
	n := int(float64(pairBatch.Nanoseconds()) / perX)
	n = max(1, min(n, 1_000_000))
	run := func(f func()) time.Duration {
		t := time.Now()
		for range n {
			f()
		}
		return time.Since(t)
	}
	run(ref)
	run(x)
	rs := make([]float64, 0, pairRounds)
	for r := range pairRounds {
		var tr, tx time.Duration
		if r%2 == 0 {
			tr, tx = run(ref), run(x)
		} else {
			tx, tr = run(x), run(ref)
		}
		rs = append(rs, float64(tx)/float64(tr))
	}
	return median(rs)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var vsBare = []ratio{{ref: "bare", unit: "x-bare"}}

// ---- the baseline does the real work -------------------------------------------

func TestBareMatchesAirssys(t *testing.T) {
	ctx := context.Background()
	for _, fl := range []Flavour{Default, SameFlags, SameFlagsNoEpoch} {
		br := bareSetup(t, fl, "minimal.wasm", false, "run")
		if got, err := br.CallS32(); err != nil || got != 42 {
			t.Fatalf("bare(%d) run() = %v, %v; want 42", fl, got, err)
		}
		be := bareSetup(t, fl, "minimal.wasm", false, "echo-string")
		out := make([]byte, 2048)
		if n, err := be.CallEcho([]byte(kib), out); err != nil || string(out[:n]) != kib {
			t.Fatalf("bare(%d) echo-string: %d bytes, %v", fl, n, err)
		}
		bh := bareSetup(t, fl, "hostcall.wasm", true, "call-get-n")
		if v, err := bh.CallU32(1000); err != nil || int32(v) != 41000 {
			t.Fatalf("bare(%d) call-get-n(1000) = %v, %v", fl, int32(v), err)
		}
		bg := bareSetup(t, fl, "hostcall.wasm", true, "call-get")
		if v, err := bg.CallS32(); err != nil || v != 42 {
			t.Fatalf("bare(%d) call-get() = %v, %v", fl, v, err)
		}
		bc := bareSetup(t, fl, "misbehave.wasm", false, "count")
		bv, err := bc.CallU32(1000)
		if err != nil {
			t.Fatal(err)
		}
		ac := airssysSetup(t, engine.Config{}, "misbehave.wasm", engine.InstanceConfig{}, "count")
		if av, err := ac.Call(ctx, uint32(1000)); err != nil || av != bv {
			t.Fatalf("count(1000): airssys %v (%v), bare(%d) %v", av, err, fl, bv)
		}
	}

	none := engine.InstanceConfig{}
	if v, err := airssysSetup(t, engine.Config{}, "minimal.wasm", none, "run").Call(ctx); err != nil ||
		v != int32(42) {
		t.Fatalf("airssys run() = %v, %v", v, err)
	}
	if v, err := airssysSetup(t, engine.Config{}, "minimal.wasm", none, "echo-string").Call(ctx, kib); err != nil ||
		v != kib {
		t.Fatalf("airssys echo-string: %v", err)
	}
	hc := engine.InstanceConfig{Host: testHost()}
	if v, err := airssysSetup(t, engine.Config{}, "hostcall.wasm", hc, "call-get-n").Call(ctx, uint32(1000)); err != nil ||
		v != int32(41000) {
		t.Fatalf("airssys call-get-n(1000) = %v, %v", v, err)
	}
	if v, err := airssysSetup(t, engine.Config{}, "hostcall.wasm", hc, "call-get").Call(ctx); err != nil ||
		v != int32(42) {
		t.Fatalf("airssys call-get() = %v, %v", v, err)
	}

	// A serialized bare component deserializes and runs.
	e := newBare(t, SameFlags)
	c := bareCompile(t, e, fixture(t, "minimal.wasm"))
	data, err := c.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	i, err := bareLinker(t, e, false).Instantiate(d)
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	f, err := i.Func(d, "run")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	if v, err := f.CallS32(); err != nil || v != 42 {
		t.Fatalf("deserialized run() = %v, %v", v, err)
	}

	// The airssys cache-hit benchmark really hits: a compile writes one file
	// and the next compile of the same bytes adds none.
	dir := privateDir(t)
	ae := newEngine(t, engine.Config{CacheDir: dir})
	compile(t, ae, fixture(t, "minimal.wasm"))
	compile(t, ae, fixture(t, "minimal.wasm"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.cwasm"))
	if len(files) != 1 {
		t.Fatalf("cache files after two compiles: %v", files)
	}
	// ... and the cache-miss benchmark really misses.
	compile(t, ae, withCustomSection(fixture(t, "minimal.wasm"), 1))
	files, _ = filepath.Glob(filepath.Join(dir, "*.cwasm"))
	if len(files) != 2 {
		t.Fatalf("cache files after a miss: %v", files)
	}
}

// ---- engine creation -------------------------------------------------------------

func bareEngineCycle(f Flavour) func(*testing.B) func() {
	return func(*testing.B) func() { return func() { BareEngineCycle(f) } }
}

func airssysEngineCycle(cfg engine.Config) func(*testing.B) func() {
	return func(b *testing.B) func() {
		return func() {
			e, err := engine.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
	}
}

// BenchmarkEngineNew creates and closes an engine. "bare" has the flags
// engine.New sets by default, "bare-default" is wasm_engine_new().
// airssys-noepoch (no ticker goroutine) isolates the cost of the epoch
// ticker.
func BenchmarkEngineNew(b *testing.B) {
	family(b,
		variant{name: "bare-default", setup: bareEngineCycle(Default)},
		variant{name: "bare", setup: bareEngineCycle(SameFlags)},
		variant{name: "bare-noepoch", setup: bareEngineCycle(SameFlagsNoEpoch)},
		variant{name: "airssys", setup: airssysEngineCycle(engine.Config{}),
			vs: []ratio{{ref: "bare", unit: "x-bare"}, {ref: "bare-default", unit: "x-bare-default"}}},
		variant{name: "airssys-noepoch", setup: airssysEngineCycle(engine.Config{DisableEpochInterruption: true}),
			vs: []ratio{{ref: "bare-noepoch", unit: "x-bare"}}},
	)
}

// ---- compiling -------------------------------------------------------------------

func bareCompileOp(f Flavour) func(*testing.B) func() {
	return func(b *testing.B) func() {
		e := newBare(b, f)
		wasm := fixture(b, "minimal.wasm")
		return func() {
			c, err := e.Compile(wasm)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	}
}

func airssysCompileOp(b *testing.B) func() {
	e := newEngine(b, engine.Config{})
	wasm := fixture(b, "minimal.wasm")
	ctx := context.Background()
	return func() {
		c, err := e.Compile(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkCompileMinimal compiles minimal.wasm (no cache) and frees it.
func BenchmarkCompileMinimal(b *testing.B) {
	family(b,
		variant{name: "bare-default", setup: bareCompileOp(Default)},
		variant{name: "bare", setup: bareCompileOp(SameFlags)},
		variant{name: "airssys", setup: airssysCompileOp,
			vs: []ratio{{ref: "bare", unit: "x-bare"}, {ref: "bare-default", unit: "x-bare-default"}}},
	)
}

// withCustomSection appends a component-level custom section holding n, so
// that every n gives different bytes (and so a different cache key) for the
// same code.
func withCustomSection(wasm []byte, n uint64) []byte {
	const name = "airssys-bench"
	var payload []byte
	payload = binary.AppendUvarint(payload, uint64(len(name)))
	payload = append(payload, name...)
	payload = binary.LittleEndian.AppendUint64(payload, n)
	out := slices.Clone(wasm)
	out = append(out, 0) // custom section id
	out = binary.AppendUvarint(out, uint64(len(payload)))
	return append(out, payload...)
}

// BenchmarkCompileCacheHit loads minimal.wasm through the on-disk compile
// cache. bare is wasmtime_component_deserialize from memory (no file, no
// checks); airssys-cold is a compile without cache, airssys-miss a miss
// (compile, serialize, write the file); airssys is a hit (read the file,
// check header and checksum, deserialize, introspect the types).
func BenchmarkCompileCacheHit(b *testing.B) {
	ctx := context.Background()
	family(b,
		variant{name: "bare", setup: func(b *testing.B) func() {
			e := newBare(b, SameFlags)
			data, err := bareCompile(b, e, fixture(b, "minimal.wasm")).Serialize()
			if err != nil {
				b.Fatal(err)
			}
			return func() {
				c, err := e.Deserialize(data)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		}},
		variant{name: "airssys-cold", setup: airssysCompileOp},
		variant{name: "airssys-miss", setup: func(b *testing.B) func() {
			e := newEngine(b, engine.Config{CacheDir: privateDir(b)})
			wasm := fixture(b, "minimal.wasm")
			n := uint64(time.Now().UnixNano()) // distinct from every earlier call
			return func() {
				n++
				c, err := e.Compile(ctx, withCustomSection(wasm, n))
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		}, vs: []ratio{{ref: "airssys-cold", unit: "x-cold"}}},
		variant{name: "airssys", setup: func(b *testing.B) func() {
			e := newEngine(b, engine.Config{CacheDir: privateDir(b)})
			wasm := fixture(b, "minimal.wasm")
			compile(b, e, wasm) // fills the cache
			return func() {
				c, err := e.Compile(ctx, wasm)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		}, vs: []ratio{{ref: "bare", unit: "x-bare"}, {ref: "airssys-cold", unit: "x-faster-than-cold", invert: true}}},
	)
}

// ---- instantiating ---------------------------------------------------------------

func bareInstantiateOp(f Flavour) func(*testing.B) func() {
	return func(b *testing.B) func() {
		e := newBare(b, f)
		c := bareCompile(b, e, fixture(b, "minimal.wasm"))
		l := bareLinker(b, e, false)
		i, err := l.Instantiate(c)
		if err != nil {
			b.Fatal(err)
		}
		i.DropStore()
		b.Cleanup(i.Close)
		return func() {
			if err := i.Reinstantiate(l, c); err != nil { // new store, instantiate
				b.Fatal(err)
			}
			i.DropStore()
		}
	}
}

// BenchmarkInstantiate instantiates minimal.wasm in a new store and frees
// the store.
func BenchmarkInstantiate(b *testing.B) {
	family(b,
		variant{name: "bare-default", setup: bareInstantiateOp(Default)},
		variant{name: "bare", setup: bareInstantiateOp(SameFlags)},
		variant{name: "airssys", setup: func(b *testing.B) func() {
			c := compile(b, newEngine(b, engine.Config{}), fixture(b, "minimal.wasm"))
			ctx := context.Background()
			return func() {
				i, err := c.Instantiate(ctx, engine.InstanceConfig{})
				if err != nil {
					b.Fatal(err)
				}
				i.Close()
			}
		}, vs: []ratio{{ref: "bare", unit: "x-bare"}, {ref: "bare-default", unit: "x-bare-default"}}},
	)
}

// ---- calls -------------------------------------------------------------------------

func airssysCallOp(cfg engine.InstanceConfig, ctxf func(b *testing.B) context.Context) func(*testing.B) func() {
	return func(b *testing.B) func() {
		f := airssysSetup(b, engine.Config{}, "minimal.wasm", cfg, "run")
		ctx := ctxf(b)
		return func() {
			if _, err := f.Call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func background(*testing.B) context.Context { return context.Background() }

// BenchmarkCallRun calls run() -> s32 end to end (call and post-return).
// airssys uses a looked-up Func and a context without Done (the fast path);
// airssys-byname is Instance.Call (lookup by name each time);
// airssys-cancelctx passes a cancellable context (the call arms
// context.AfterFunc); airssys-timeout sets InstanceConfig.Timeout.
func BenchmarkCallRun(b *testing.B) {
	family(b,
		variant{name: "bare", setup: func(b *testing.B) func() {
			f := bareSetup(b, SameFlags, "minimal.wasm", false, "run")
			return func() {
				if _, err := f.CallS32(); err != nil {
					b.Fatal(err)
				}
			}
		}},
		variant{name: "airssys", setup: airssysCallOp(engine.InstanceConfig{}, background), vs: vsBare},
		variant{name: "airssys-byname", setup: func(b *testing.B) func() {
			e := newEngine(b, engine.Config{})
			i := instantiate(b, compile(b, e, fixture(b, "minimal.wasm")), engine.InstanceConfig{})
			ctx := context.Background()
			return func() {
				if _, err := i.Call(ctx, "run"); err != nil {
					b.Fatal(err)
				}
			}
		}, vs: vsBare},
		variant{name: "airssys-cancelctx", setup: airssysCallOp(engine.InstanceConfig{},
			func(b *testing.B) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				b.Cleanup(cancel)
				return ctx
			}), vs: vsBare},
		variant{name: "airssys-timeout", setup: airssysCallOp(engine.InstanceConfig{Timeout: time.Second},
			background), vs: vsBare},
	)
}

// BenchmarkEchoString1KiB calls echo-string(s) -> string with a 1 KiB
// string: lowered into guest memory, lifted back, post-return. The bare
// variant copies the result into a Go buffer; airssys returns a Go string.
func BenchmarkEchoString1KiB(b *testing.B) {
	family(b,
		variant{name: "bare", setup: func(b *testing.B) func() {
			f := bareSetup(b, SameFlags, "minimal.wasm", false, "echo-string")
			in, out := []byte(kib), make([]byte, 2048)
			return func() {
				if n, err := f.CallEcho(in, out); err != nil || n != len(in) {
					b.Fatal(n, err)
				}
			}
		}},
		variant{name: "airssys", setup: func(b *testing.B) func() {
			f := airssysSetup(b, engine.Config{}, "minimal.wasm", engine.InstanceConfig{}, "echo-string")
			ctx := context.Background()
			return func() {
				v, err := f.Call(ctx, kib)
				if err != nil {
					b.Fatal(err)
				}
				if s, _ := v.(string); len(s) != len(kib) {
					b.Fatal("short echo")
				}
			}
		}, vs: vsBare},
	)
}

// ---- host function calls ---------------------------------------------------------------

const hostCalls = 1000

func perHostCall(b *testing.B) { b.ReportMetric(nsPerOp(b)/hostCalls, "ns/hostcall") }

// BenchmarkHostCall calls call-get-n(1000): one export call in which the
// guest calls the host's get() 1000 times; ns/hostcall is ns/op / 1000.
// The bare host function is a C callback, the airssys one a Go HostFunc.
func BenchmarkHostCall(b *testing.B) {
	family(b,
		variant{name: "bare", setup: func(b *testing.B) func() {
			f := bareSetup(b, SameFlags, "hostcall.wasm", true, "call-get-n")
			return func() {
				if v, err := f.CallU32(hostCalls); err != nil || int32(v) != 41*hostCalls {
					b.Fatal(v, err)
				}
			}
		}, extra: perHostCall},
		variant{name: "airssys", setup: func(b *testing.B) func() {
			f := airssysSetup(b, engine.Config{}, "hostcall.wasm", engine.InstanceConfig{Host: testHost()},
				"call-get-n")
			ctx := context.Background()
			return func() {
				if v, err := f.Call(ctx, uint32(hostCalls)); err != nil || v != int32(41*hostCalls) {
					b.Fatal(v, err)
				}
			}
		}, extra: perHostCall, vs: vsBare},
	)
}

// BenchmarkHostCallOnce calls call-get(): one export call, one host call.
func BenchmarkHostCallOnce(b *testing.B) {
	family(b,
		variant{name: "bare", setup: func(b *testing.B) func() {
			f := bareSetup(b, SameFlags, "hostcall.wasm", true, "call-get")
			return func() {
				if _, err := f.CallS32(); err != nil {
					b.Fatal(err)
				}
			}
		}},
		variant{name: "airssys", setup: func(b *testing.B) func() {
			f := airssysSetup(b, engine.Config{}, "hostcall.wasm", engine.InstanceConfig{Host: testHost()},
				"call-get")
			ctx := context.Background()
			return func() {
				if _, err := f.Call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}, vs: vsBare},
	)
}

// ---- interruption ---------------------------------------------------------------------

// BenchmarkTimeoutOvershoot calls spin() (an infinite loop) with a 50 ms
// timeout, on a fresh instance each time (instantiation is not timed), and
// reports by how much the call outlived its timeout, in ms.
func BenchmarkTimeoutOvershoot(b *testing.B) {
	const timeout = 50 * time.Millisecond
	c := compile(b, newEngine(b, engine.Config{}), fixture(b, "misbehave.wasm"))
	ctx := context.Background()
	var over []float64
	for b.Loop() {
		b.StopTimer()
		i, err := c.Instantiate(ctx, engine.InstanceConfig{Timeout: timeout})
		if err != nil {
			b.Fatal(err)
		}
		f := function(b, i, "spin")
		b.StartTimer()
		start := time.Now()
		_, err = f.Call(ctx)
		d := time.Since(start)
		b.StopTimer()
		if !errors.Is(err, engine.ErrTimeout) {
			b.Fatalf("spin: %v, want a timeout", err)
		}
		over = append(over, float64(d-timeout)/float64(time.Millisecond))
		i.Close()
		b.StartTimer()
	}
	slices.Sort(over)
	pct := func(p float64) float64 { return over[int(p*float64(len(over)-1)+0.5)] }
	b.ReportMetric(pct(0.5), "p50-overshoot-ms")
	b.ReportMetric(pct(0.99), "p99-overshoot-ms")
	b.ReportMetric(over[len(over)-1], "max-overshoot-ms")
	b.ReportMetric(float64(len(over)), "samples")
}

// BenchmarkEpochOverhead runs count(10_000_000), a tight compute loop, on
// an engine with epoch interruption (the default: epoch checks in the code,
// a 1 ms ticker, the epoch callback) and on one without, alternating within
// each iteration, and reports the median slowdown; the same on bare engines
// (same flags with and without epochs) isolates Wasmtime's own checks.
// ns/op is the sum of the four calls.
func BenchmarkEpochOverhead(b *testing.B) {
	const n = 10_000_000
	ctx := context.Background()
	none := engine.InstanceConfig{}
	withEpoch := airssysSetup(b, engine.Config{}, "misbehave.wasm", none, "count")
	noEpoch := airssysSetup(b, engine.Config{DisableEpochInterruption: true}, "misbehave.wasm", none, "count")
	bareEpoch := bareSetup(b, SameFlags, "misbehave.wasm", false, "count")
	bareNo := bareSetup(b, SameFlagsNoEpoch, "misbehave.wasm", false, "count")
	timeIt := func(f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var tE, tN, tBE, tBN time.Duration
	var rA, rB []float64
	for b.Loop() {
		e := timeIt(func() error { _, err := withEpoch.Call(ctx, uint32(n)); return err })
		no := timeIt(func() error { _, err := noEpoch.Call(ctx, uint32(n)); return err })
		be := timeIt(func() error { _, err := bareEpoch.CallU32(n); return err })
		bn := timeIt(func() error { _, err := bareNo.CallU32(n); return err })
		tE, tN, tBE, tBN = tE+e, tN+no, tBE+be, tBN+bn
		rA = append(rA, float64(e)/float64(no))
		rB = append(rB, float64(be)/float64(bn))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(tE), "epoch-ms")
	b.ReportMetric(ms(tN), "noepoch-ms")
	b.ReportMetric(100*(median(rA)-1), "overhead-%")
	b.ReportMetric(ms(tBE), "bare-epoch-ms")
	b.ReportMetric(ms(tBN), "bare-noepoch-ms")
	b.ReportMetric(100*(median(rB)-1), "bare-overhead-%")
}

// privateDir is a temporary directory only this user can write: the
// engine refuses a compile cache directory others could write to, and
// t.TempDir follows the umask (0775 with a umask of 002).
func privateDir(t testing.TB) string {
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's directory, then ours
		if err := os.Chmod(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
