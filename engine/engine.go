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
//     imports, turned into a Wasmtime linker once per engine and reused.
//   - Instance (instance.go) is one instantiation, with its own store: memory
//     limit, fuel per call, timeout per call, WASI context. Calls run on the
//     caller's goroutine; an Instance serves one goroutine at a time and
//     refuses a second one with ErrBusy rather than racing. After a trap it
//     refuses further calls (ErrTrapped): a supervisor replaces it.
//   - Every failure is an error matchable with errors.Is/As: *Trap for guest
//     traps (with TrapKind), wit.ErrType for arguments that do not match,
//     ErrInvalidWasm, ErrUnknownExport, ErrBusy, ErrClosed, ErrTrapped.
//
// All cgo lives in internal/wt; this package is plain Go over it.
package engine

import (
	"errors"
	"fmt"
	"log/slog"
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
	MemoryReservation uint64
	MemoryGuard       uint64
	// MaxWasmStack bounds guest stack use in bytes (0: Wasmtime's 512 KiB).
	MaxWasmStack uint64
	// Pooling turns on the pooling instance allocator, sized for
	// PoolInstances concurrent instances (default 1000) with memories of at
	// most PoolMaxMemory bytes (default 64 MiB).
	Pooling       bool
	PoolInstances uint32
	PoolMaxMemory uint64
	// CacheDir enables the on-disk compile cache in that directory.
	CacheDir string
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

	mu sync.RWMutex // held for reading while e.wt is used, for writing by Close

	// The epoch ticker starts with the first guest call and sleeps while no
	// call runs, so idle engines cost nothing (see tick).
	tickMu   sync.Mutex
	started  bool
	sleeping atomic.Bool
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}

	linkMu  sync.Mutex
	linkers map[linkKey]*linkers

	liveMu  sync.Mutex
	live    map[*Instance]struct{} // instances whose store exists
	watchMu sync.Mutex
	watched map[*Instance]struct{} // instances that have had calls with a cancellable context
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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

func (e *Engine) watch(i *Instance) {
	e.watchMu.Lock()
	e.watched[i] = struct{}{}
	e.watchMu.Unlock()
}

func (e *Engine) unwatch(i *Instance) {
	e.watchMu.Lock()
	delete(e.watched, i)
	e.watchMu.Unlock()
}

// pollContexts interrupts every call whose context has ended. A guest then
// stops within about two ticks of the cancellation.
func (e *Engine) pollContexts() {
	e.watchMu.Lock()
	for i := range e.watched {
		i.watchMu.Lock()
		if c := i.watchCtx; c != nil {
			select {
			case <-c.Done():
				i.store.Interrupt()
			default:
			}
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

// fingerprint names the settings that make compiled code incompatible.
func (e *Engine) fingerprint() string {
	c := e.cfg
	return fmt.Sprintf("wasmtime-39.0.1;fuel=%t;epoch=%t;res=%d;guard=%d;stack=%d;pool=%t/%d/%d;opt=1",
		c.ConsumeFuel, !c.DisableEpochInterruption, c.MemoryReservation, c.MemoryGuard, c.MaxWasmStack,
		c.Pooling, c.PoolInstances, c.PoolMaxMemory)
}

// Config returns the engine's configuration (with defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// use takes the read lock unless the engine is closed.
func (e *Engine) use() error {
	e.mu.RLock()
	if e.closed.Load() {
		e.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (e *Engine) done_() { e.mu.RUnlock() }

// Close interrupts every guest still running, stops the epoch ticker and
// frees the engine. Components and instances made from it return ErrClosed
// afterwards (Instance.Close still works). Close is idempotent.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	// Stop running guests: interrupt them and keep the epoch moving until
	// none is left (bounded, in case a host function never returns).
	for waited := time.Duration(0); ; waited += time.Millisecond {
		e.liveMu.Lock()
		for i := range e.live {
			i.store.Interrupt()
		}
		e.liveMu.Unlock()
		if e.running.Load() == 0 || e.cfg.DisableEpochInterruption || waited > 5*time.Second {
			break
		}
		e.wt.IncrementEpoch()
		time.Sleep(time.Millisecond)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tickMu.Lock()
	if e.started {
		close(e.stop)
		<-e.done
	}
	e.tickMu.Unlock()
	e.linkMu.Lock()
	for _, l := range e.linkers {
		l.delete()
	}
	e.linkers = nil
	e.linkMu.Unlock()
	// Wasmtime reference-counts the engine inside compiled code and stores,
	// so freeing our handle here is safe even if some remain.
	e.wt.Delete()
	return nil
}
