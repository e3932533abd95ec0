package engine_test

// Regression tests for the defects found by hostile testing (issue 7,
// items 2-9): each failed, crashed or aborted the process before its fix.
// Tests whose failure mode is an abort run in a child process (inChild).

import (
	"context"
	"errors"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/internal/wt"
	"github.com/airsstack/airssys-wasm-go/wit"
)

const resIface = "airssys:test/res@0.1.0#"

// thing makes a res.wasm thing with value v.
func thing(t *testing.T, i *engine.Instance, v uint32) *engine.Resource {
	t.Helper()
	r, err := i.Call(context.Background(), resIface+"[constructor]thing", v)
	if err != nil {
		t.Fatal(err)
	}
	return r.(*engine.Resource)
}

// callPastBusy makes a call that the test's own probing (which claims the
// instance for an instant) may bounce with ErrBusy: it tries again.
func callPastBusy(call func() error) error {
	for {
		if err := call(); !errors.Is(err, engine.ErrBusy) {
			return err
		}
		runtime.Gosched()
	}
}

// waitBusy returns once another goroutine's call holds i (the instance
// refuses Func with ErrBusy), or fails the test.
func waitBusy(t *testing.T, i *engine.Instance) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := i.Func(resIface + "drops"); errors.Is(err, engine.ErrBusy) {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("the other goroutine's call never started")
}

// Item 2: Resource.Drop respects the instance: not while another goroutine
// calls into it (Wasmtime aborted the process on the concurrent store
// access), not after Close, with the call's time limit, and an own handle
// given to the guest is the guest's.
func TestResourceDropRespectsTheInstance(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		ctx := context.Background()
		i := instance(t, "res.wasm", engine.InstanceConfig{Timeout: 300 * time.Millisecond})
		a, b := thing(t, i, 7), thing(t, i, 8)
		if v := call(t, i, resIface+"[method]thing.get", a); v != uint32(7) {
			t.Fatalf("get = %v", v)
		}

		// An own handle passed to the guest belongs to it from then on.
		if v := call(t, i, resIface+"consume", a); v != uint32(7) {
			t.Fatalf("consume = %v", v)
		}
		if a.Valid() {
			t.Fatal("the host's handle of a resource moved into the guest is still valid")
		}
		if err := a.Drop(); !errors.Is(err, engine.ErrResourceGone) {
			t.Fatalf("Drop of a moved handle: %v, want ErrResourceGone", err)
		}
		if v := call(t, i, resIface+"drops"); v != uint32(1) {
			t.Fatalf("drops after consume = %v, want 1", v)
		}

		// A destructor that never returns is stopped by the call timeout.
		forever := thing(t, i, 0xFFFFFFFF)
		done := make(chan error, 1)
		go func() { done <- forever.Drop() }()
		select {
		case err := <-done:
			var trap *engine.Trap
			if !errors.As(err, &trap) || trap.Kind != engine.TrapTimeout {
				t.Fatalf("Drop with a looping destructor: %v, want a timeout trap", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Drop of a resource whose destructor loops did not end: no deadline")
		}
		// The trap poisoned the instance, like a call's.
		if err := b.Drop(); !errors.Is(err, engine.ErrTrapped) {
			t.Fatalf("Drop after a trapped destructor: %v, want ErrTrapped", err)
		}

		// Not while another goroutine calls into the instance.
		j := instance(t, "res.wasm", engine.InstanceConfig{Timeout: 2 * time.Second})
		loop, other := thing(t, j, 0xFFFFFFFF), thing(t, j, 9)
		go func() {
			done <- callPastBusy(func() error { _, err := j.Call(ctx, resIface+"consume", loop); return err })
		}()
		waitBusy(t, j)
		if err := other.Drop(); !errors.Is(err, engine.ErrBusy) {
			t.Fatalf("Drop during another goroutine's call: %v, want ErrBusy", err)
		}
		if err := <-done; err == nil {
			t.Fatal("the looping destructor did not time out")
		}

		// Not after Close.
		k := instance(t, "res.wasm", engine.InstanceConfig{})
		c := thing(t, k, 10)
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Drop(); !errors.Is(err, engine.ErrResourceGone) {
			t.Fatalf("Drop after Close: %v, want ErrResourceGone", err)
		}
	})
}

// Item 3: a host function definition Wasmtime refuses is an error from
// Instantiate (the handle used to be deleted twice: a panic), every time,
// and leaves nothing half-built behind.
func TestRefusedHostDefinitionIsAnError(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		ctx := context.Background()
		get := func(context.Context, []any) ([]any, error) { return []any{int32(1)}, nil }
		twice := engine.NewHost().
			CoreFunc("env", "get", nil, []engine.CoreType{engine.I32}, get).
			CoreFunc("env", "get", nil, []engine.CoreType{engine.I32}, get)
		wasiName := engine.NewHost().
			CoreFunc("wasi_snapshot_preview1", "fd_write", []engine.CoreType{engine.I32, engine.I32, engine.I32,
				engine.I32}, []engine.CoreType{engine.I32}, get)
		rootWASI := engine.NewHost().Func("", "wasi:cli/stdout@0.2.6", // what Wasmtime 39 defines
			func(context.Context, []any) (any, error) { return nil, nil })
		for name, tc := range map[string]struct {
			h       *engine.Host
			fixture string
		}{
			"same core function twice":          {twice, "core_host.wasm"},
			"core function named like WASI":     {wasiName, "core_host.wasm"},
			"root function named like WASI 0.2": {rootWASI, "hostcall.wasm"},
		} {
			for round := 0; round < 2; round++ {
				_, err := load(t, tc.fixture).Instantiate(ctx, engine.InstanceConfig{Host: tc.h})
				if err == nil || !strings.Contains(err.Error(), "defin") {
					t.Fatalf("%s, round %d: err = %v, want a definition error", name, round, err)
				}
			}
		}
		// The engine still works with a good host.
		ok := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32}, get)
		i := instance(t, "core_host.wasm", engine.InstanceConfig{Host: ok})
		if v := call(t, i, "call_get"); v != int32(2) {
			t.Fatalf("call_get = %v", v)
		}
		runtime.GC() // the refused hosts' linkers are freed: no second delete
		runtime.GC()
	})
}

// Item 4: when the call succeeds but the post-return fails (out of fuel),
// the results are freed. Before, 4 MiB of C memory leaked per call.
func TestResultsFreedWhenPostReturnFails(t *testing.T) {
	ctx := context.Background()
	comp := load(t, "minimal.wasm")
	big := strings.Repeat("x", 4<<20)
	// Find the fuel with which the export runs but its post-return does not:
	// one less than the least fuel that makes the whole call succeed.
	enough := uint64(0)
	for f := uint64(1); f < 10_000; f++ {
		i, err := comp.Instantiate(ctx, engine.InstanceConfig{Fuel: f})
		if err != nil {
			continue // instantiation itself needs more fuel
		}
		_, err = i.Call(ctx, "echo-string", big)
		i.Close()
		if err == nil {
			enough = f
			break
		}
	}
	if enough < 2 {
		t.Fatalf("no fuel found that lets echo-string run (%d)", enough)
	}
	round := func() error {
		i, err := comp.Instantiate(ctx, engine.InstanceConfig{Fuel: enough - 1})
		if err != nil {
			t.Fatal(err)
		}
		defer i.Close()
		_, err = i.Call(ctx, "echo-string", big)
		return err
	}
	var trap *engine.Trap
	if err := round(); !errors.As(err, &trap) || trap.Kind != engine.TrapOutOfFuel {
		t.Fatalf("with fuel %d: %v, want out of fuel in the post-return", enough-1, err)
	}
	before := wt.MallocInUse()
	for n := 0; n < 20; n++ {
		round()
	}
	if grew := int64(wt.MallocInUse()) - int64(before); grew > 16<<20 {
		t.Fatalf("C heap grew by %d MiB over 20 calls whose post-return failed (4 MiB results each)", grew>>20)
	}
}

// Item 5: FuelLeft after Close is ErrClosed (it dereferenced a freed
// store), and during another goroutine's call ErrBusy (a data race).
func TestFuelLeftAfterCloseAndDuringACall(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		i := instance(t, "misbehave.wasm", engine.InstanceConfig{Fuel: 1 << 40, Timeout: 2 * time.Second})
		call(t, i, "ok")
		if left, err := i.FuelLeft(); err != nil || left == 0 || left >= 1<<40 {
			t.Fatalf("FuelLeft = %d, %v", left, err)
		}
		done := make(chan error, 1)
		go func() {
			done <- callPastBusy(func() error { _, err := i.Call(context.Background(), "spin"); return err })
		}()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := i.FuelLeft(); errors.Is(err, engine.ErrBusy) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("FuelLeft never reported the running call (ErrBusy)")
			}
			runtime.Gosched()
		}
		<-done
		if err := i.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := i.FuelLeft(); !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("FuelLeft after Close: %v, want ErrClosed", err)
		}
	})
}

// Item 6: the results of host functions are freed when each host call
// returns: a guest looping over an import does not grow host memory for the
// length of its call.
func TestHostFunctionResultsDoNotAccumulate(t *testing.T) {
	host := engine.NewHost().Func("airssys:test/host@0.1.0", "get",
		func(context.Context, []any) (any, error) { return int32(1), nil }).
		Func("airssys:test/host@0.1.0", "log", func(context.Context, []any) (any, error) { return nil, nil })
	i := instance(t, "hostcall.wasm", engine.InstanceConfig{Host: host})
	const n = 2_000_000
	peak := make(chan uint64, 1)
	stop := make(chan struct{})
	go func() { // sample the C heap while the guest loops
		var max uint64
		for {
			if m := wt.MallocInUse(); m > max {
				max = m
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	before := wt.MallocInUse()
	v := call(t, i, "call-get-n", uint32(n))
	after := wt.MallocInUse()
	close(stop)
	if v != int32(n) {
		t.Fatalf("call-get-n = %v", v)
	}
	// Before the fix every get() took an arena slot (about 32 bytes) until
	// the next call: 64 MB here.
	for _, m := range []uint64{after, <-peak} {
		if m > before && m-before > 8<<20 {
			t.Fatalf("C heap grew by %d MiB during %d host calls", (m-before)>>20, n)
		}
	}
}

// Item 7: a MaxWasmStack the native stack cannot hold is refused; the
// largest allowed one turns deep recursion into a stack-overflow trap
// (before, into SIGSEGV).
func TestMaxWasmStackIsCheckedAgainstTheNativeStack(t *testing.T) {
	if _, err := engine.New(engine.Config{MaxWasmStack: 1 << 30}); err == nil ||
		!strings.Contains(err.Error(), "MaxWasmStack") {
		t.Fatalf("New with a 1 GiB wasm stack: %v, want an error", err)
	}
	inChild(t, nil, func(t *testing.T) {
		max := wt.DefaultThreadStack() - 1<<20
		_, c := compileOn(t, engine.Config{MaxWasmStack: max}, "misbehave.wasm")
		recurseOverflows(t, c)
	})
}

// compileOn2 compiles a fixture on a new engine, both closed at the end of
// the test.
func compileOn2(t *testing.T, name string) (*engine.Component, error) {
	e, err := engine.New(engine.Config{})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { e.Close() })
	c, err := e.CompileFile(context.Background(), fixture(name))
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// vmSize is the process's address space in bytes.
func vmSize(t *testing.T) uint64 { return statm(t, 0) }

// vmRSS is the resident set size in bytes.
func vmRSS(t *testing.T) uint64 { return statm(t, 1) }

// statm reads field n of /proc/self/statm (pages) in bytes.
func statm(t *testing.T, n int) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := strconv.ParseUint(strings.Fields(string(b))[n], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}

// Item 8: MemoryReservation is honoured (every memory reserved 4 GiB
// whatever it said), and running out of address space or of memory
// mappings is a clear error, not a dead process.
func TestMemoryReservationIsHonoured(t *testing.T) {
	const res, guard = 64 << 20, 64 << 10
	_, c := compileOn(t, engine.Config{MemoryReservation: res, MemoryGuard: guard}, "misbehave.wasm")
	before := vmSize(t)
	var insts []*engine.Instance
	for n := 0; n < 16; n++ {
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, i)
	}
	grew := vmSize(t) - before
	for _, i := range insts {
		i.Close()
	}
	if grew > 16*(res+guard)+(256<<20) {
		t.Fatalf("16 memories took %d MiB of address space with a %d MiB reservation", grew>>20, res>>20)
	}
}

func TestOutOfAddressSpaceIsAnError(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		_, c := compileOn(t, engine.Config{}, "misbehave.wasm") // 4 GiB + 32 MiB per memory
		// Room for 11 memories and 100 MiB: without a margin, the last one
		// leaves nothing for the rest of the process.
		limit := vmSize(t) + 11*(4<<30+32<<20) + 100<<20
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			t.Skipf("cannot lower RLIMIT_AS: %v", err)
		}
		var insts []*engine.Instance
		var err error
		for n := 0; n < 64; n++ {
			var i *engine.Instance
			if i, err = c.Instantiate(context.Background(), engine.InstanceConfig{}); err != nil {
				break
			}
			insts = append(insts, i)
		}
		if err == nil || !strings.Contains(err.Error(), "address space") {
			t.Fatalf("after %d instances: %v, want a clear address-space error", len(insts), err)
		}
		if len(insts) < 4 {
			t.Fatalf("only %d instances fit in %d GiB", len(insts), limit>>30)
		}
		// The process still has room for everything else: compiled code, a
		// large Go allocation, a small instance.
		if _, err := compileOn2(t, "minimal.wasm"); err != nil {
			t.Fatalf("compile with the memories in place: %v", err)
		}
		buf := make([]byte, 256<<20)
		for k := 0; k < len(buf); k += 4096 {
			buf[k] = 1
		}
		// The process is fine: close them and start again.
		for _, i := range insts {
			i.Close()
		}
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
		if err != nil {
			t.Fatalf("after closing: %v", err)
		}
		call(t, i, "ok")
		i.Close()
	})
}

func TestMaxMemoriesIsAnError(t *testing.T) {
	live := int(wt.LiveMemories())
	_, c := compileOn(t, engine.Config{MaxMemories: live + 3}, "misbehave.wasm")
	var insts []*engine.Instance
	defer func() {
		for _, i := range insts {
			i.Close()
		}
	}()
	for n := 0; n < 3; n++ {
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
		if err != nil {
			t.Fatalf("instance %d of 3: %v", n, err)
		}
		insts = append(insts, i)
	}
	if _, err := c.Instantiate(context.Background(), engine.InstanceConfig{}); err == nil ||
		!strings.Contains(err.Error(), "MaxMemories") {
		t.Fatalf("one memory past MaxMemories: %v, want a clear error", err)
	}
	insts[0].Close()
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
	if err != nil {
		t.Fatalf("after closing one: %v", err)
	}
	insts[0] = i
}

// Item 9: linkers belong to their Host: an embedder making a Host per
// request does not grow the engine without bound.
func TestLinkersAreFreedWithTheirHost(t *testing.T) {
	e, c := compileOn(t, engine.Config{}, "core_host.wasm")
	for n := 0; n < 300; n++ {
		h := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32},
			func(context.Context, []any) ([]any, error) { return []any{int32(n)}, nil })
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Host: h})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := i.Call(context.Background(), "call_get"); err != nil || v != int32(n+1) {
			t.Fatalf("call_get = %v, %v", v, err)
		}
		i.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for engine.LinkerCount(e) > 10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d linkers still cached for 300 unreachable hosts", engine.LinkerCount(e))
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// An instance keeps working after its Host is gone.
	h := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32},
		func(context.Context, []any) ([]any, error) { return []any{int32(41)}, nil })
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Host: h})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	h = nil
	runtime.GC()
	runtime.GC()
	if v := call(t, i, "call_get"); v != int32(42) {
		t.Fatalf("call_get after its Host was collected = %v", v)
	}
}

// Item 9: Engine.Close does not block forever behind an instantiation whose
// start function waits in a host import.
func TestEngineCloseDoesNotWaitForABlockedHostFunction(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		e, err := engine.New(engine.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.CompileFile(context.Background(), fixture("core_start_host.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		entered, release := make(chan struct{}), make(chan struct{})
		h := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32},
			func(context.Context, []any) ([]any, error) {
				close(entered)
				<-release
				return []any{int32(5)}, nil
			})
		inst := make(chan error, 1)
		go func() {
			i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Host: h})
			if err == nil {
				i.Close()
			}
			inst <- err
		}()
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the start function never called the host")
		}
		closed := make(chan struct{})
		go func() { e.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("Engine.Close blocked behind a host function that does not return")
		}
		close(release)
		select {
		case <-inst:
		case <-time.After(20 * time.Second):
			t.Fatal("the instantiation never ended")
		}
		c.Close()
		if _, err := e.CompileFile(context.Background(), fixture("minimal.wasm")); !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("compile after Close: %v", err)
		}
	})
}

// Item 9: a nested instantiation inside a host function (during the outer
// instantiation) no longer clears the outer store's memory limit: the outer
// component's memory, created after the host call, still gets the limit.
func TestNestedInstantiationKeepsTheOuterMemoryLimit(t *testing.T) {
	ctx := context.Background()
	inner := load(t, "minimal.wasm")
	nested := 0
	h := engine.NewHost().Func("", "nest", func(ctx context.Context, _ []any) (any, error) {
		i, err := inner.Instantiate(ctx, engine.InstanceConfig{})
		if err != nil {
			return nil, err
		}
		nested++
		return nil, i.Close()
	})
	// nest.wasm's memory is 2 MiB; the limit 1 MiB must refuse it.
	_, err := load(t, "nest.wasm").Instantiate(ctx, engine.InstanceConfig{Host: h, MemoryLimit: 1 << 20})
	var trap *engine.Trap
	if nested != 1 || !errors.As(err, &trap) || trap.Kind != engine.TrapOutOfMemory {
		t.Fatalf("nested %d times; instantiate: %v, want out of memory", nested, err)
	}
	// With room, it instantiates.
	i, err := load(t, "nest.wasm").Instantiate(ctx, engine.InstanceConfig{Host: h, MemoryLimit: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	if v := call(t, i, "ok"); v != uint32(1) {
		t.Fatalf("ok = %v", v)
	}
}

// Item 9: Trapped is safe to read while another goroutine calls (the race
// detector checks this test).
func TestTrappedIsSafeFromAnyGoroutine(t *testing.T) {
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = i.Trapped()
			}
		}
	}()
	for n := 0; n < 100; n++ {
		call(t, i, "ok")
	}
	_, err := i.Call(context.Background(), "trap")
	close(stop)
	wg.Wait()
	if err == nil || i.Trapped() == nil {
		t.Fatalf("trap: %v, Trapped() = %v", err, i.Trapped())
	}
}

// A stray interrupt (an Interrupt with no call running) does not stop the
// next call.
func TestStrayInterruptDoesNotStopTheNextCall(t *testing.T) {
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{})
	i.Interrupt()
	if v, err := i.Call(context.Background(), "count", uint32(1_000_000)); err != nil || v != uint32(2764965152) {
		t.Fatalf("count after a stray Interrupt: %v, %v", v, err)
	}
}

// Signed lowering is range-checked: -200 is not an s8 (it used to be
// truncated to 56).
func TestSignedArgumentsAreRangeChecked(t *testing.T) {
	i := instance(t, "scalars.wasm", engine.InstanceConfig{})
	for _, tc := range []struct {
		fn string
		v  any
	}{{"echo-s8", -200}, {"echo-s8", 128}, {"echo-s16", -40000}, {"echo-s32", int64(1) << 31},
		{"echo-u8", -1}, {"echo-u8", 256}} {
		_, err := i.Call(context.Background(), tc.fn, tc.v)
		if !errors.Is(err, wit.ErrType) {
			t.Fatalf("%s(%v): %v, want a type error", tc.fn, tc.v, err)
		}
	}
	if v := call(t, i, "echo-s8", -128); v != int8(-128) {
		t.Fatalf("echo-s8(-128) = %v", v)
	}
}

// An instance that had a call with a cancellable context leaves the set the
// epoch ticker polls once it has been idle for a while: 10,000 actors
// deployed with a deadline must not make every tick visit 10,000 instances
// for ever.
func TestIdleInstancesLeaveTheWatchedSet(t *testing.T) {
	e, c := compileOn(t, engine.Config{}, "misbehave.wasm")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var insts []*engine.Instance
	for n := 0; n < 5; n++ {
		i, err := c.Instantiate(ctx, engine.InstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer i.Close()
		if _, err := i.Call(ctx, "ok"); err != nil {
			t.Fatal(err)
		}
		insts = append(insts, i)
	}
	if n := engine.WatchedCount(e); n != 5 {
		t.Fatalf("%d instances watched after cancellable calls, want 5", n)
	}
	// Keep the ticker running (a spinning guest) for over 1000 ticks.
	spin, err := c.Instantiate(context.Background(), engine.InstanceConfig{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer spin.Close()
	spin.Call(context.Background(), "spin")
	if n := engine.WatchedCount(e); n != 0 {
		t.Fatalf("%d idle instances still watched after 3 s of ticks", n)
	}
	// A new cancellable call is watched again, and still cancellable.
	if _, err := insts[0].Call(ctx, "ok"); err != nil || engine.WatchedCount(e) != 1 {
		t.Fatalf("call: %v, watched %d", err, engine.WatchedCount(e))
	}
}

// Item 6, again: a guest that makes a host function return ever larger
// results, call after call (each needing a new arena chunk), does not make
// the host keep them all until its call ends.
func TestGrowingHostResultsDoNotAccumulate(t *testing.T) {
	host := engine.NewHost().Func("airssys:test/gen@0.1.0", "gen", func(_ context.Context, args []any) (any, error) {
		return strings.Repeat("g", int(args[0].(uint32))), nil
	})
	i := instance(t, "hoard.wasm", engine.InstanceConfig{Host: host, MemoryLimit: 16 << 20})
	before := wt.MallocInUse()
	// 60 results from 2 MiB up, 8 bytes larger each time: 120 MiB in all.
	if v := call(t, i, "run", uint32(60), uint32(2<<20), uint32(8)); v != uint32(60) {
		t.Fatalf("run = %v", v)
	}
	if after := wt.MallocInUse(); after > before && after-before > 32<<20 {
		t.Fatalf("C heap grew by %d MiB during the call", (after-before)>>20)
	}
}

// MemoryLimit counts all of an instance's memories together: a module with
// four memories cannot take four times the limit.
func TestMemoryLimitCoversEveryMemory(t *testing.T) {
	ctx := context.Background()
	c := load(t, "core_multimem.wasm") // four memories of 1 MiB
	_, err := c.Instantiate(ctx, engine.InstanceConfig{MemoryLimit: 3 << 20})
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapOutOfMemory {
		t.Fatalf("4 MiB of memories under a 3 MiB limit: %v, want out of memory", err)
	}
	i, err := c.Instantiate(ctx, engine.InstanceConfig{MemoryLimit: 6 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	var got []any
	for m := int32(0); m < 4; m++ {
		v, err := i.Call(ctx, "grow", m)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	// 4 MiB + 1 + 1 = 6 MiB; the third grow is refused, and so the fourth.
	if want := []any{int32(16), int32(16), int32(-1), int32(-1)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("grow of each memory by 1 MiB under 6 MiB: %v, want %v", got, want)
	}
	for m := int32(0); m < 4; m++ {
		call(t, i, "fill", m)
	}
}

// Tables are bounded too (they live outside linear memory): a guest growing
// one to 100 million elements used to take 763 MiB of host memory.
func TestTablesAreBounded(t *testing.T) {
	i := instance(t, "core_table.wasm", engine.InstanceConfig{MemoryLimit: 1 << 20})
	before := vmRSS(t)
	if v := call(t, i, "grow", int32(100_000_000)); v != int32(-1) {
		t.Fatalf("table.grow by 100M = %v, want -1 (refused)", v)
	}
	if v := call(t, i, "grow", int32(engine.DefaultMaxTableElements)); v != int32(0) {
		t.Fatalf("table.grow to the default bound = %v, want 0", v)
	}
	if v := call(t, i, "grow", int32(1)); v != int32(-1) {
		t.Fatalf("table.grow past the default bound = %v, want -1", v)
	}
	if grew := vmRSS(t) - before; grew > 64<<20 {
		t.Fatalf("resident memory grew by %d MiB", grew>>20)
	}
	j := instance(t, "core_table.wasm", engine.InstanceConfig{MaxTableElements: 10})
	if v := call(t, j, "grow", int32(11)); v != int32(-1) {
		t.Fatalf("MaxTableElements 10, grow by 11 = %v", v)
	}
}

// With small thread stacks (ulimit -s 300), even Wasmtime's default wasm
// stack (512 KiB) would not fit: the engine lowers it, and deep recursion
// is a stack-overflow trap, not a SIGSEGV.
func TestDefaultWasmStackFitsSmallThreadStacks(t *testing.T) {
	inChildStack(t, 300, nil, func(t *testing.T) {
		if st := wt.DefaultThreadStack(); st > 300<<10 {
			t.Fatalf("thread stacks are %d bytes: the child's ulimit was not applied", st)
		}
		e, err := engine.New(engine.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if got := e.Config().MaxWasmStack; got == 0 || got > 300<<10 {
			t.Fatalf("MaxWasmStack = %d with 300 KiB thread stacks", got)
		}
		c, err := e.CompileFile(context.Background(), fixture("misbehave.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		recurseOverflows(t, c)
	})
}

// recurseOverflows checks that deep recursion in misbehave.wasm is a
// stack-overflow trap (a crash would end the child process).
func recurseOverflows(t *testing.T, c *engine.Component) {
	t.Helper()
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	_, err = i.Call(context.Background(), "recurse", uint32(1<<30))
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapStackOverflow {
		t.Fatalf("deep recursion: %v, want a stack overflow trap", err)
	}
}

// Empty vectors from Wasmtime carry a dangling non-null pointer (Rust's
// empty Vec): held in a Go variable, it made the runtime abort with
// "invalid pointer found on stack" when the goroutine's stack grew at that
// moment (seen in CI, defining a host function without parameters). Fresh
// goroutines define such functions at every stack depth up to a few pages,
// after growing their stacks, while another goroutine keeps collecting
// garbage: stacks grow and shrink (both copy them) inside the definition.
func TestEmptyVectorsFromWasmtimeAreSafe(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		_, c := compileOn(t, engine.Config{}, "core_host.wasm")
		define := func() error {
			h := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32},
				func(context.Context, []any) ([]any, error) { return []any{int32(1)}, nil })
			i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Host: h})
			if err == nil {
				_, err = i.Call(context.Background(), "call_get")
				i.Close()
			}
			return err
		}
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.GC()
				}
			}
		}()
		defer close(stop)
		for round := 0; round < 10; round++ {
			for depth := 0; depth < 600; depth++ {
				done := make(chan error, 1)
				go func() {
					atDepth(2000, func() error { return nil }) // grow, then shrink back during GC
					done <- atDepth(depth, define)
				}()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// atDepth calls f under n extra stack frames of about 64 bytes each.
//
//go:noinline
func atDepth(n int, f func() error) error {
	var pad [6]int64
	pad[n%6] = int64(n)
	if n == 0 {
		return f()
	}
	err := atDepth(n-1, f)
	if pad[0] < 0 {
		return nil
	}
	return err
}
