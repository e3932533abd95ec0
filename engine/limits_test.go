package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

func trapOf(t *testing.T, err error) *engine.Trap {
	t.Helper()
	var trap *engine.Trap
	if !errors.As(err, &trap) {
		t.Fatalf("err = %v (%T), want a *engine.Trap", err, err)
	}
	return trap
}

func TestTrapKinds(t *testing.T) {
	cases := []struct {
		fn   string
		args []any
		cfg  engine.InstanceConfig
		want engine.TrapKind
	}{
		{"trap", nil, engine.InstanceConfig{}, engine.TrapUnreachable},
		{"divide", []any{int32(1), int32(0)}, engine.InstanceConfig{}, engine.TrapIntegerDivideByZero},
		{"divide", []any{int32(-2147483648), int32(-1)}, engine.InstanceConfig{}, engine.TrapIntegerOverflow},
		{"recurse", []any{uint32(1)}, engine.InstanceConfig{}, engine.TrapStackOverflow},
		{"grow", nil, engine.InstanceConfig{MemoryLimit: 1 << 20}, engine.TrapOutOfMemory},
		{"spin", nil, engine.InstanceConfig{Fuel: 100_000}, engine.TrapOutOfFuel},
		{"spin", nil, engine.InstanceConfig{Timeout: 20 * time.Millisecond}, engine.TrapTimeout},
	}
	for _, c := range cases {
		i := instance(t, "misbehave.wasm", c.cfg)
		_, err := i.Call(context.Background(), c.fn, c.args...)
		trap := trapOf(t, err)
		if trap.Kind != c.want {
			t.Errorf("%s: kind %v (%v), want %v", c.fn, trap.Kind, err, c.want)
		}
		if trap.Func != c.fn {
			t.Errorf("%s: trap names %q", c.fn, trap.Func)
		}
		// The instance refuses further calls; a fresh one works.
		if _, err := i.Call(context.Background(), "ok"); !errors.Is(err, engine.ErrTrapped) {
			t.Errorf("%s: call after trap: %v, want ErrTrapped", c.fn, err)
		}
		if v := call(t, instance(t, "misbehave.wasm", c.cfg), "ok"); v != uint32(7) {
			t.Errorf("fresh instance: %v", v)
		}
	}
}

func TestTrapBacktrace(t *testing.T) {
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{})
	_, err := i.Call(context.Background(), "trap")
	trap := trapOf(t, err)
	if len(trap.Frames) == 0 || trap.Backtrace() == "" {
		t.Fatalf("no guest backtrace in %#v", trap)
	}
	if strings.Contains(trap.Error(), "Stack backtrace") || strings.Contains(trap.Error(), "\n") {
		t.Fatalf("trap message should be one line without the Rust backtrace: %q", trap.Error())
	}
}

func TestTimeoutStopsInfiniteLoopPromptly(t *testing.T) {
	const timeout = 50 * time.Millisecond
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{Timeout: timeout})
	start := time.Now()
	_, err := i.Call(context.Background(), "spin")
	elapsed := time.Since(start)
	if trapOf(t, err).Kind != engine.TrapTimeout || !errors.Is(err, engine.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout trap matching ErrTimeout", err)
	}
	if elapsed < timeout {
		t.Fatalf("stopped after %v, before the %v timeout", elapsed, timeout)
	}
	// Generous bound: the benchmark measures the real overshoot.
	if elapsed > timeout+time.Second {
		t.Fatalf("stopped after %v", elapsed)
	}
}

func TestTimeoutIsPerCall(t *testing.T) {
	// Each call gets the full timeout: many short calls add up past it.
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{Timeout: 30 * time.Millisecond})
	deadline := time.Now().Add(100 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ {
		if _, err := i.Call(context.Background(), "count", uint32(1000)); err != nil {
			t.Fatalf("call %d: %v", n, err)
		}
	}
}

// busyGuest instantiates hostcall.wasm with a host whose get closes
// started on its first call. Calling call-get-n(max) then keeps the guest
// busy (a loop over the import, with epoch checks) until it is stopped; a
// test that waits for started knows the guest is really running, so a
// cancel or interrupt cannot land before the call begins.
func busyGuest(t *testing.T) (*engine.Instance, <-chan struct{}) {
	started := make(chan struct{})
	var once sync.Once
	host := engine.NewHost().Func("airssys:test/host@0.1.0", "get", func(context.Context, []any) (any, error) {
		once.Do(func() { close(started) })
		return int32(1), nil
	}).Func("airssys:test/host@0.1.0", "log", func(context.Context, []any) (any, error) { return nil, nil })
	return instance(t, "hostcall.wasm", engine.InstanceConfig{Host: host}), started
}

// stopWhenRunning runs f once the guest has started, or fails the test.
func stopWhenRunning(t *testing.T, started <-chan struct{}, f func()) {
	go func() {
		select {
		case <-started:
			f()
		case <-time.After(30 * time.Second):
		}
	}()
}

func TestContextCancelInterruptsGuest(t *testing.T) {
	i, started := busyGuest(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopWhenRunning(t, started, cancel)
	_, err := i.Call(ctx, "call-get-n", uint32(math.MaxUint32))
	if trapOf(t, err).Kind != engine.TrapCancelled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a cancelled trap matching context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	i2 := instance(t, "misbehave.wasm", engine.InstanceConfig{})
	if _, err := i2.Call(ctx, "spin"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	// An already cancelled context does not start the guest.
	if _, err := instance(t, "misbehave.wasm", engine.InstanceConfig{}).Call(ctx, "ok"); !errors.Is(err,
		context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelAfterCallDoesNotLeakIntoNextCall(t *testing.T) {
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{})
	for n := 0; n < 200; n++ {
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := i.Call(ctx, "count", uint32(100)); err != nil {
			t.Fatalf("call %d: %v", n, err)
		}
		cancel() // fires after the call: must not interrupt the next one
	}
	if v := call(t, i, "count", uint32(1_000_000)); v == nil {
		t.Fatal("no result")
	}
}

func TestFuelIsRefilledBeforeEveryCall(t *testing.T) {
	// Find what one call costs, then give each call a little more than
	// that: every call must succeed, which a one-shot budget would not allow.
	probe := instance(t, "misbehave.wasm", engine.InstanceConfig{Fuel: 10_000_000})
	call(t, probe, "count", uint32(10_000))
	left, err := probe.FuelLeft()
	if err != nil {
		t.Fatal(err)
	}
	cost := 10_000_000 - left
	if cost == 0 {
		t.Fatal("a call consumed no fuel")
	}
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{Fuel: cost + cost/10})
	for n := 0; n < 20; n++ {
		if _, err := i.Call(context.Background(), "count", uint32(10_000)); err != nil {
			t.Fatalf("call %d with per-call fuel %d: %v", n, cost+cost/10, err)
		}
	}
	// And a call that needs more than the per-call fuel runs out.
	if _, err := i.Call(context.Background(), "count", uint32(1_000_000)); trapOf(t, err).Kind != engine.TrapOutOfFuel {
		t.Fatalf("err = %v", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	// A component whose memory grows within the limit works; growing past it
	// is refused and reported as out of memory.
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{MemoryLimit: 4 << 20})
	_, err := i.Call(context.Background(), "grow")
	if trapOf(t, err).Kind != engine.TrapOutOfMemory {
		t.Fatalf("err = %v", err)
	}
	// A limit smaller than the module's initial memory refuses instantiation.
	_, err = load(t, "core_minimal.wasm").Instantiate(context.Background(), engine.InstanceConfig{MemoryLimit: 1})
	if trapOf(t, err).Kind != engine.TrapOutOfMemory {
		t.Fatalf("instantiate with a 1-byte limit: %v", err)
	}
}

func TestInstanceRefusesConcurrentUse(t *testing.T) {
	i := instance(t, "misbehave.wasm", engine.InstanceConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(started)
		callPastBusy(func() error { _, err := i.Call(ctx, "spin"); return err })
	}()
	<-started
	// The spinning call holds the instance; wait until it is inside.
	var err error
	for n := 0; n < 1000; n++ {
		if _, err = i.Call(context.Background(), "ok"); errors.Is(err, engine.ErrBusy) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, engine.ErrBusy) {
		t.Fatalf("second goroutine got %v, want ErrBusy", err)
	}
	if err := i.Close(); !errors.Is(err, engine.ErrBusy) {
		t.Fatalf("Close during a call: %v, want ErrBusy", err)
	}
	cancel()
	wg.Wait()
}

func TestInstancesRunInParallel(t *testing.T) {
	// Unlike the original's global lock, instances on different goroutines
	// run at once: each guest enters a host function that waits until the
	// other guest has entered it too. Run one after the other, the first
	// would wait for ever (here: until its 30 s timeout).
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	host := engine.NewHost().Func("airssys:test/host@0.1.0", "get", func(context.Context, []any) (any, error) {
		arrived.Done()
		select {
		case <-both:
			return int32(1), nil
		case <-time.After(30 * time.Second):
			return nil, errors.New("the other instance never ran at the same time")
		}
	}).Func("airssys:test/host@0.1.0", "log", func(context.Context, []any) (any, error) { return nil, nil })
	c := load(t, "hostcall.wasm")
	errs := make(chan error, 2)
	for n := 0; n < 2; n++ {
		go func() {
			i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Host: host})
			if err == nil {
				_, err = i.Call(context.Background(), "call-get")
				i.Close()
			}
			errs <- err
		}()
	}
	for n := 0; n < 2; n++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestEngineCloseInterruptsRunningGuests(t *testing.T) {
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	host := engine.NewHost().Func("airssys:test/host@0.1.0", "get", func(context.Context, []any) (any, error) {
		once.Do(func() { close(started) })
		return int32(1), nil
	}).Func("airssys:test/host@0.1.0", "log", func(context.Context, []any) (any, error) { return nil, nil })
	c, err := e.CompileFile(context.Background(), fixture("hostcall.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Host: host}) // no timeout at all
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := i.Call(context.Background(), "call-get-n", uint32(math.MaxUint32))
		done <- err
	}()
	select {
	case <-started: // the guest is running: Close must interrupt it
	case <-time.After(30 * time.Second):
		t.Fatal("the guest never started")
	}
	e.Close()
	select {
	case err := <-done:
		if !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Engine.Close left a guest spinning")
	}
	i.Close()
}

func TestTimeoutAfterTheTickerSlept(t *testing.T) {
	// The epoch ticker sleeps after about 100 idle ticks; a call after that
	// must wake it, or a timeout would never fire.
	_, c := compileOn(t, engine.Config{EpochTick: time.Millisecond}, "misbehave.wasm")
	for round := 0; round < 3; round++ {
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Timeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond) // > 100 idle ticks
		done := make(chan error, 1)
		go func() {
			_, err := i.Call(context.Background(), "spin")
			done <- err
		}()
		select {
		case err := <-done:
			if trapOf(t, err).Kind != engine.TrapTimeout {
				t.Fatalf("round %d: %v", round, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the sleeping ticker never woke", round)
		}
		i.Close()
	}
}

func TestEngineAndComponentAreSafeForConcurrentUse(t *testing.T) {
	e, err := engine.New(engine.Config{ConsumeFuel: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wasm, err := os.ReadFile(fixture("minimal.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := e.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for n := 0; n < 20; n++ {
				c := shared
				if n%5 == 0 { // compile concurrently too
					var err error
					if c, err = e.Compile(context.Background(), wasm); err != nil {
						errs <- err
						return
					}
				}
				i, err := c.Instantiate(context.Background(), engine.InstanceConfig{Fuel: 1_000_000})
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf("goroutine %d round %d", g, n)
				if v, err := i.Call(context.Background(), "echo-string", want); err != nil || v != want {
					errs <- fmt.Errorf("echo: %v %v", v, err)
				}
				i.Close()
				if c != shared {
					c.Close()
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestInterruptFromAnotherGoroutine(t *testing.T) {
	i, started := busyGuest(t)
	stopWhenRunning(t, started, i.Interrupt)
	_, err := i.Call(context.Background(), "call-get-n", uint32(math.MaxUint32))
	if trapOf(t, err).Kind != engine.TrapCancelled {
		t.Fatalf("err = %v", err)
	}
	// Interrupt after Close is harmless.
	i.Close()
	i.Interrupt()
}
