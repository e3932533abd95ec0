// Package engine hosts WebAssembly components and core modules on Wasmtime.
//
// Design, in a few lines:
//
//   - Engine (engine.go) owns Wasmtime's engine: compilation settings, the
//     epoch ticker goroutine that drives timeouts and cancellation, and the
//     optional on-disk compile cache (cache.go). Safe for concurrent use.
//   - Component (component.go) is compiled code, a component or a core
//     module (detected from the bytes). Immutable and shareable; it knows its
//     imports and exports with their WIT types (package wit).
//   - Host (host.go) is a set of Go functions for a component's or module's
//     imports, turned into a Wasmtime linker once per engine and reused
//     while the Host lives (the engine holds it weakly: a collected Host's
//     linkers are freed). It may also define resource types (Host.Resource):
//     the guest holds own handles whose meaning lives on the host, found by
//     a rep the host chose; drops are queued in C and run on the calling
//     goroutine at the guest's next host call or when its call returns.
//   - Instance (instance.go) is one instantiation, with its own store: memory
//     limit, fuel per call, timeout per call, WASI context. Calls run on the
//     caller's goroutine; an Instance serves one goroutine at a time and
//     refuses a second one with ErrBusy rather than racing (Resource.Drop
//     and FuelLeft too). After a trap it refuses further calls (ErrTrapped):
//     a supervisor replaces it.
//   - Guest stdout and stderr (output.go) are pipes that Wasmtime writes on
//     the guest's thread; one goroutine per captured stream copies them to
//     the caller's io.Writer while the guest runs, and the caller drains the
//     rest before the call returns. Nothing reaches a writer after Close.
//   - Linear memories (internal/wt's C memory creator) reserve exactly the
//     configured reservation and are refused, with an error, before the
//     process runs out of address space or kernel mappings.
//   - Every failure is an error matchable with errors.Is/As: *Trap for guest
//     traps (with TrapKind), wit.ErrType for arguments that do not match,
//     *OutputError for a failed stdout/stderr writer, ErrInvalidWasm (and
//     ErrTooLarge), ErrNotRegularFile, ErrUnsafeCacheDir, ErrUnknownExport,
//     ErrBusy, ErrClosed, ErrTrapped, ErrResourceGone.
//
// All cgo lives in internal/wt; this package is plain Go over it.
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
)

// Sentinel errors.
var (
	ErrClosed        = errors.New("engine: closed")
	ErrInvalidWasm   = errors.New("engine: invalid WebAssembly")
	ErrUnknownExport = errors.New("engine: unknown export")
	ErrBusy          = errors.New("engine: instance is in use by another goroutine")
	ErrTrapped       = errors.New("engine: instance trapped earlier and refuses calls")
	ErrTimeout       = errors.New("engine: call timed out")
)

// Config is the engine-wide configuration. The zero value is a good default:
// epoch interruption on (timeouts and cancellation work), fuel off, no cache.
type Config struct {
	// ConsumeFuel turns on fuel metering, needed for InstanceConfig.Fuel.
	ConsumeFuel bool
	// DisableEpochInterruption turns off epoch checks in compiled code. Then
	// timeouts and context cancellation cannot stop a running guest.
	DisableEpochInterruption bool
	// EpochTick is how often the epoch advances (default 1ms). A running
	// guest notices a timeout or a cancelled context within about one tick.
	EpochTick time.Duration
	// MemoryReservation and MemoryGuard (bytes) tune linear-memory address
	// space; zero keeps Wasmtime's defaults (4 GiB and 32 MiB on 64-bit).
	// Every linear memory reserves MemoryReservation plus MemoryGuard of
	// address space up front and never moves, so MemoryReservation is also
	// the most a memory can grow to. Below 4 GiB, compiled code checks
	// bounds explicitly (a little slower) and many more memories fit.
	MemoryReservation uint64
	MemoryGuard       uint64
	// MaxMemories bounds the linear memories alive in the process at once
	// (not with Pooling, which sizes itself). Each takes two of the kernel's
	// memory mappings, and past vm.max_map_count the process cannot map
	// anything and dies; so a new memory beyond the limit fails to
	// instantiate with a clear error instead. 0 derives the limit from
	// vm.max_map_count, leaving 10,000 mappings to the rest of the process
	// (27,765 on a default Linux); -1 means no limit. Whatever the limit, a
	// memory is also refused when its reservation would bring the process
	// within 1/8 (at least 512 MiB) of an address-space limit (RLIMIT_AS).
	MaxMemories int
	// MaxWasmStack bounds guest stack use in bytes (0: Wasmtime's 512 KiB,
	// or less if the threads' stacks are too small for that). Guests run on
	// the native stack of the calling thread, so it must leave room on it:
	// New refuses a value above the threads' stack size minus 1 MiB (7 MiB
	// with Linux's default 8 MiB threads).
	MaxWasmStack uint64
	// Pooling turns on the pooling instance allocator, sized for
	// PoolInstances concurrent instances (default 1000) with memories of at
	// most PoolMaxMemory bytes (default 64 MiB).
	Pooling       bool
	PoolInstances uint32
	PoolMaxMemory uint64
	// CacheDir enables the on-disk compile cache in that directory. New
	// creates it (mode 0700) if needed and refuses it (ErrUnsafeCacheDir)
	// unless it belongs to this process's user and only that user, or root
	// for the directories above it, can write to it and to every directory
	// above it (sticky directories like /tmp excepted); see cache.go.
	CacheDir string
	// MaxWasmBytes bounds the size of the bytes Compile and CompileFile
	// accept (ErrTooLarge); 0 means DefaultMaxWasmBytes (128 MiB).
	MaxWasmBytes int64
	// Logger receives cache and lifecycle events (default: discard).
	Logger *slog.Logger
}

// Engine compiles and instantiates WebAssembly. Safe for concurrent use.
type Engine struct {
	cfg    Config
	wt     *wt.Engine
	log    *slog.Logger
	cache  *diskCache
	closed atomic.Bool

	// users counts the operations that use e.wt (compiles, instantiations);
	// the engine is freed by Close, or by the last user to leave after
	// Close, whichever comes last (see use, done_, Close).
	users    atomic.Int64
	freeOnce sync.Once

	// The epoch ticker starts with the first guest call and sleeps while no
	// call runs, so idle engines cost nothing (see tick).
	tickMu   sync.Mutex
	started  bool
	sleeping atomic.Bool
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}

	linkMu  sync.Mutex
	linkers map[linkKey]*linkers // nil after the engine is freed

	liveMu  sync.Mutex
	live    map[*Instance]struct{} // instances whose store exists
	watchMu sync.Mutex
	watched map[*Instance]struct{} // instances with recent calls with a cancellable context
	running atomic.Int32           // guest calls and instantiations in progress
}

// New creates an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.EpochTick <= 0 {
		cfg.EpochTick = time.Millisecond
	}
	if cfg.Pooling {
		if cfg.PoolInstances == 0 {
			cfg.PoolInstances = 1000
		}
		if cfg.PoolMaxMemory == 0 {
			cfg.PoolMaxMemory = 64 << 20
		}
	}
	if cfg.MaxWasmBytes <= 0 {
		cfg.MaxWasmBytes = DefaultMaxWasmBytes
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxWasmStack == 0 && wasmtimeDefaultStack > maxWasmStack() {
		// Threads with small stacks (a low ulimit -s): Wasmtime's default
		// would not fit either.
		cfg.MaxWasmStack = maxWasmStack()
	}
	if cfg.MaxWasmStack > 0 {
		if max := maxWasmStack(); cfg.MaxWasmStack > max {
			return nil, fmt.Errorf("engine: MaxWasmStack %d bytes leaves no room on the %d-byte native stack guests "+
				"run on (at most %d): deep recursion would crash the process instead of trapping",
				cfg.MaxWasmStack, wt.DefaultThreadStack(), max)
		}
	}
	if cfg.MaxMemories == 0 && !cfg.Pooling {
		cfg.MaxMemories = defaultMaxMemories()
	}
	w, err := wt.NewEngine(wt.EngineConfig{
		Fuel:              cfg.ConsumeFuel,
		Epoch:             !cfg.DisableEpochInterruption,
		MemoryReservation: cfg.MemoryReservation,
		MemoryGuard:       cfg.MemoryGuard,
		MaxWasmStack:      cfg.MaxWasmStack,
		Pooling:           cfg.Pooling,
		PoolInstances:     cfg.PoolInstances,
		PoolMaxMemory:     cfg.PoolMaxMemory,
		OptLevel:          1,
		MaxMemories:       int64(max(cfg.MaxMemories, 0)),
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{cfg: cfg, wt: w, log: log, linkers: map[linkKey]*linkers{}, live: map[*Instance]struct{}{},
		watched: map[*Instance]struct{}{}}
	if cfg.CacheDir != "" {
		c, err := openCache(cfg.CacheDir, e.fingerprint())
		if err != nil {
			w.Delete()
			return nil, err
		}
		e.cache = c
	}
	e.sleeping.Store(true) // not started yet: the first call wakes it
	return e, nil
}

// wasmtimeDefaultStack is Wasmtime's default MaxWasmStack.
const wasmtimeDefaultStack = 512 << 10

// stackMargin is the native stack left to Wasmtime, our shim and the cgo
// frames below the guest's own stack.
const stackMargin = 1 << 20

// maxWasmStack is the largest MaxWasmStack the native stack allows.
func maxWasmStack() uint64 {
	st := wt.DefaultThreadStack()
	if st == 0 {
		st = 2 << 20 // unknown: assume a small thread stack
	}
	if st <= 2*stackMargin {
		return st / 2
	}
	return st - stackMargin
}

// mappingsReserve are the kernel memory mappings left to everything but
// linear memories (Go heap, malloc, compiled code, stacks).
const mappingsReserve = 10_000

// defaultMaxMemories derives Config.MaxMemories from vm.max_map_count.
func defaultMaxMemories() int {
	n := 65530 // Linux's default
	if b, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			n = v
		}
	}
	if n <= 2*mappingsReserve {
		return max(n/4, 1)
	}
	return (n - mappingsReserve) / 2
}

// enter marks a guest call (or instantiation) as running and makes sure the
// epoch ticker is awake; exit ends it. The fast path is two atomics.
func (e *Engine) enter() {
	e.running.Add(1)
	if e.sleeping.Load() && !e.cfg.DisableEpochInterruption {
		e.wakeTicker()
	}
}

func (e *Engine) exit() { e.running.Add(-1) }

func (e *Engine) wakeTicker() {
	e.tickMu.Lock()
	if !e.started && !e.closed.Load() {
		e.started = true
		e.wake = make(chan struct{}, 1)
		e.stop, e.done = make(chan struct{}), make(chan struct{})
		go e.tick()
	}
	e.tickMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) unwatch(i *Instance) {
	e.watchMu.Lock()
	i.watchMu.Lock()
	delete(e.watched, i)
	i.watched = false
	i.watchMu.Unlock()
	e.watchMu.Unlock()
}

// watchIdleTicks is how many ticks an instance stays watched with no
// cancellable call in progress: a steady caller with cancellable contexts
// stays watched (no map operation per call), an instance that had one such
// call once (an actor's first init on Deploy's context) leaves the set, so
// ticks do not slow down with the number of instances.
const watchIdleTicks = 1000

// pollContexts interrupts every call whose context has ended. A guest then
// stops within about two ticks of the cancellation. Lock order: e.watchMu,
// then i.watchMu.
func (e *Engine) pollContexts() {
	e.watchMu.Lock()
	for i := range e.watched {
		i.watchMu.Lock()
		if c := i.watchCtx; c != nil {
			i.watchIdle = 0
			select {
			case <-c.Done():
				i.stop()
			default:
			}
		} else if i.watchIdle++; i.watchIdle > watchIdleTicks {
			delete(e.watched, i)
			i.watched = false
		}
		i.watchMu.Unlock()
	}
	e.watchMu.Unlock()
}

// idleTicks is how long the ticker keeps going with no call running before
// it sleeps.
const idleTicks = 100

// tick advances the epoch while calls run, and sleeps after idleTicks ticks
// without one. Lost wake-ups cannot happen: the ticker publishes sleeping
// before it re-checks running, and enter adds to running before it reads
// sleeping, so one of the two always sees the other.
func (e *Engine) tick() {
	defer close(e.done)
	t := time.NewTicker(e.cfg.EpochTick)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.wt.IncrementEpoch()
			e.pollContexts()
		}
		if e.running.Load() > 0 {
			idle = 0
			continue
		}
		if idle++; idle < idleTicks {
			continue
		}
		e.sleeping.Store(true)
		if e.running.Load() > 0 {
			e.sleeping.Store(false)
			continue
		}
		t.Stop()
		select {
		case <-e.stop:
			return
		case <-e.wake:
		}
		e.sleeping.Store(false)
		idle = 0
		t.Reset(e.cfg.EpochTick)
	}
}

// fingerprint names the settings that make compiled code incompatible, or
// different (data=merged1: the data segments merged before compiling, see
// datasegs.go; an entry compiled otherwise is compiled again).
func (e *Engine) fingerprint() string {
	c := e.cfg
	return fmt.Sprintf("wasmtime-39.0.1;fuel=%t;epoch=%t;res=%d;guard=%d;stack=%d;pool=%t/%d/%d;opt=1;data=merged1",
		c.ConsumeFuel, !c.DisableEpochInterruption, c.MemoryReservation, c.MemoryGuard, c.MaxWasmStack,
		c.Pooling, c.PoolInstances, c.PoolMaxMemory)
}

// Config returns the engine's configuration (with defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// use registers an operation on e.wt unless the engine is closed. It pairs
// with done_. Close never waits for users: the last one frees the engine.
// (users is raised before closed is read, and Close sets closed before it
// reads users, so one of the two always sees the other.)
func (e *Engine) use() error {
	e.users.Add(1)
	if e.closed.Load() {
		e.done_()
		return ErrClosed
	}
	return nil
}

func (e *Engine) done_() {
	if e.users.Add(-1) == 0 && e.closed.Load() {
		e.free()
	}
}

// closeWait bounds how long Close waits for running guests to stop.
const closeWait = 5 * time.Second

// Close interrupts every guest still running, waits (at most a few
// seconds) for them to stop, and frees the engine. Components and
// instances made from it return ErrClosed afterwards (Instance.Close still
// works). An instantiation or call stuck in a host function that never
// returns does not block Close: the engine is then freed when it returns.
// Close is idempotent.
func (e *Engine) Close() error {
	// Close is a user itself while it waits (it ticks the epoch), so the
	// engine cannot be freed under it by the last other user leaving.
	e.users.Add(1)
	defer e.done_()
	if e.closed.Swap(true) {
		return nil
	}
	// Stop running guests: interrupt them and keep the epoch moving until
	// none is left (bounded, in case a host function never returns).
	deadline := time.Now().Add(closeWait)
	for {
		e.liveMu.Lock()
		for i := range e.live {
			i.stop()
		}
		e.liveMu.Unlock()
		if e.running.Load() == 0 || e.cfg.DisableEpochInterruption || time.Now().After(deadline) {
			break
		}
		e.wt.IncrementEpoch()
		time.Sleep(time.Millisecond)
	}
	return nil // the deferred done_ frees the engine unless someone still uses it
}

// free stops the epoch ticker and frees the linkers and the engine, once,
// when the engine is closed and no operation uses it.
func (e *Engine) free() {
	e.freeOnce.Do(func() {
		e.tickMu.Lock()
		if e.started {
			close(e.stop)
			<-e.done
		}
		e.started = true // a late wakeTicker starts nothing
		e.tickMu.Unlock()
		e.linkMu.Lock()
		for _, l := range e.linkers {
			l.delete()
		}
		e.linkers = nil
		e.linkMu.Unlock()
		// Wasmtime reference-counts the engine inside compiled code and
		// stores, so freeing our handle here is safe even if some remain.
		e.wt.Delete()
	})
}
