package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// InstanceConfig holds the per-instance settings.
type InstanceConfig struct {
	// MemoryLimit caps the linear memory of the instance in bytes, all its
	// memories together (a component may hold several); 0 = none. A guest
	// that grows past it sees memory.grow fail (and a trap that follows is
	// reported as TrapOutOfMemory). With Config.Pooling, Wasmtime's limiter
	// applies it to each memory instead, and the pool's sizes bound the rest.
	MemoryLimit int64
	// MaxTableElements bounds each table of the instance (default
	// DefaultMaxTableElements; negative: unlimited). Tables hold references
	// (8 bytes an element) outside MemoryLimit; a guest growing one past the
	// bound sees table.grow fail. An instance also has at most
	// InstanceMaxTables tables, InstanceMaxMemories linear memories and
	// InstanceMaxCoreInstances core instances.
	MaxTableElements int
	// Fuel is the fuel given to every call (and to instantiation), refilled
	// before each call; 0 = unlimited. Needs Config.ConsumeFuel.
	Fuel uint64
	// Timeout bounds the wall-clock time of every call (and of
	// instantiation); 0 = none. Needs epoch interruption (the default).
	// Guest code is stopped at the deadline; time in a host function is
	// not interrupted (the guest stops when it returns).
	Timeout time.Duration
	// Host provides the imports beyond WASI.
	Host *Host
	// WASI is the guest's WASI world. The zero value gives no arguments, no
	// environment, empty stdin, discarded output and no files.
	WASI WASI
}

// Limits on what one instance may hold besides linear memory (see
// InstanceConfig.MaxTableElements). Real components have a handful of each;
// the bounds stop a hostile one from filling host memory with tables.
const (
	DefaultMaxTableElements  = 100_000
	InstanceMaxTables        = 100
	InstanceMaxMemories      = 100
	InstanceMaxCoreInstances = 1000
)

// WASI configures what a guest sees through WASI. Nothing is inherited from
// the host process and there is no network.
type WASI struct {
	Args []string
	Env  map[string]string
	// Stdin is what the guest reads from standard input; StdinFile, when
	// set, is read instead (for example os.Stdin for a command).
	Stdin []byte
	// StdinFile must stay open until Instantiate returns (Wasmtime opens
	// it again by its descriptor).
	StdinFile *os.File
	// Stdout and Stderr receive the guest's output (nil discards it).
	// Every byte the guest writes during a call reaches the writer before
	// the call returns, and nothing reaches it after Close. The writer is
	// called from the engine's goroutines while the guest runs, never
	// concurrently with itself or the other stream's writer; a slow writer
	// slows the guest down (nothing is buffered beyond one pipe, 64 KiB).
	// Once a call is out of time or interrupted, no new write begins: the
	// rest of its output is discarded (an *OutputError wrapping
	// ErrOutputDiscarded). A writer that fails or panics is not called
	// again, and the call returns an *OutputError. Like a host function, a
	// writer that never returns holds up the call it writes for.
	Stdout io.Writer
	Stderr io.Writer
	Dirs   []Dir
}

// Dir preopens a host directory for the guest.
type Dir struct {
	HostPath  string
	GuestPath string
	ReadOnly  bool
	// Handle, when set, is the directory already opened (for example by
	// security.OpenDir, at admission): the guest gets exactly this
	// directory, wherever it has been moved and whatever now lies at
	// HostPath, which then only names it in messages. The caller keeps it
	// open while instances may be created with it.
	Handle *os.File
}

// Instance is an instantiated component or module with its own store.
// It serves one goroutine at a time: a concurrent call gets ErrBusy.
type Instance struct {
	comp  *Component
	cfg   InstanceConfig
	store *wt.Store
	ci    *wt.ComponentInstance
	mi    *wt.ModuleInstance

	out    *outputs // captured stdout/stderr, or nil
	busy   atomic.Bool
	closed bool
	intMu  sync.Mutex // orders Interrupt against freeing the store
	freed  bool
	// watchCtx is the cancellable context of the call in progress, polled
	// by the epoch ticker; watchMu makes "check and interrupt" atomic
	// against the switch to the next call.
	watchMu   sync.Mutex
	watchCtx  context.Context
	watched   bool // in the engine's watched set (under watchMu)
	watchIdle int  // ticks without a watched call (under watchMu)
	trapped   atomic.Pointer[Trap]
	callCtx   context.Context
	funcs     map[string]*Func
	fuel      uint64
	timeout   int64
}

// Instantiate creates an instance of c. A component that imports something
// neither WASI nor cfg.Host provides is refused with an error naming it.
func (c *Component) Instantiate(ctx context.Context, cfg InstanceConfig) (*Instance, error) {
	e := c.eng
	if cfg.Fuel > 0 && !e.cfg.ConsumeFuel {
		return nil, errors.New("engine: InstanceConfig.Fuel needs Config.ConsumeFuel")
	}
	if cfg.Timeout > 0 && e.cfg.DisableEpochInterruption {
		return nil, errors.New("engine: InstanceConfig.Timeout needs epoch interruption")
	}
	if cfg.MemoryLimit < 0 {
		return nil, errors.New("engine: negative MemoryLimit")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.use(); err != nil {
		return nil, err
	}
	defer e.done_()
	if !c.acquire() {
		return nil, fmt.Errorf("engine: component: %w", ErrClosed)
	}
	links, err := e.linkersFor(cfg.Host)
	if err != nil {
		c.release()
		return nil, err
	}
	i := &Instance{comp: c, cfg: cfg, funcs: map[string]*Func{}}
	i.fuel = cfg.Fuel
	if e.cfg.ConsumeFuel && i.fuel == 0 {
		i.fuel = math.MaxUint64
	}
	i.timeout = int64(cfg.Timeout)
	limits := wt.StoreLimits{MemoryBytes: -1, TableElements: DefaultMaxTableElements,
		Instances: InstanceMaxCoreInstances, Tables: InstanceMaxTables, Memories: InstanceMaxMemories}
	switch {
	case cfg.MaxTableElements > 0:
		limits.TableElements = int64(cfg.MaxTableElements)
	case cfg.MaxTableElements < 0:
		limits.TableElements = -1
	}
	if cfg.MemoryLimit > 0 {
		limits.MemoryBytes = cfg.MemoryLimit
	}
	i.store = wt.NewStore(e.wt, i, limits, !e.cfg.DisableEpochInterruption)
	wcfg, err := i.wasiConfig() // sets i.out before Engine.Close can see i
	e.liveMu.Lock()
	e.live[i] = struct{}{}
	e.liveMu.Unlock()
	if err == nil {
		err = i.store.SetWASI(wcfg)
	}
	for _, d := range cfg.WASI.Dirs {
		runtime.KeepAlive(d.Handle) // Wasmtime has opened /proc/self/fd/N by now
	}
	if err != nil {
		i.free()
		return nil, fmt.Errorf("engine: %w", err)
	}
	i.out.started()
	err = i.guard(ctx, func() error {
		var err error
		opts := wt.CallOptions{Fuel: i.fuel, Timeout: i.timeout}
		if c.kind == KindComponent {
			i.ci, err = i.store.Instantiate(links.comp, c.comp, opts)
		} else {
			i.mi, err = i.store.InstantiateModule(links.mod, c.mod, opts)
		}
		return err
	})
	runtime.KeepAlive(cfg.Host) // its linkers were in use until here
	if ferr := i.out.flush(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		hostErr := i.store.HostError()
		i.free()
		var oe *OutputError
		if errors.As(err, &oe) {
			return nil, err
		}
		var ce *wt.CallError
		if errors.As(err, &ce) {
			if ce.Code < 0 && !ce.HostFailed && ce.Stop == 0 && !ce.HasExit && !ce.MemoryLimitHit {
				msg := summary(ce.Message)
				if strings.Contains(msg, "import") {
					// Name what the host does provide next to what is missing.
					msg += " (host provides: " + cfg.Host.describe() + ")"
				}
				return nil, fmt.Errorf("engine: instantiate: %s", msg)
			}
			return nil, newTrap("instantiate", ce, ctx, hostErr)
		}
		return nil, err
	}
	// A WASI reactor module must be initialised once before other calls.
	if c.kind == KindModule {
		if ex, ok := c.funcs["_initialize"]; ok && len(ex.core.Params) == 0 && len(ex.core.Results) == 0 {
			if _, err := i.Call(ctx, "_initialize"); err != nil {
				i.free()
				return nil, err
			}
		}
	}
	return i, nil
}

func (i *Instance) wasiConfig() (wt.WASIConfig, error) {
	w := i.cfg.WASI
	out := wt.WASIConfig{Args: w.Args, Stdin: w.Stdin}
	if w.StdinFile != nil {
		var err error
		if out.StdinPath, err = fdPath(w.StdinFile); err != nil {
			return out, fmt.Errorf("stdin: %w", err)
		}
	}
	if w.Stdout != nil || w.Stderr != nil {
		i.out = &outputs{}
		for _, s := range []struct {
			name string
			dst  io.Writer
			path *string
		}{{"stdout", w.Stdout, &out.StdoutPath}, {"stderr", w.Stderr, &out.StderrPath}} {
			if s.dst == nil {
				continue
			}
			p, err := i.out.open(s.name, s.dst)
			if err != nil {
				return out, err
			}
			*s.path = p.path
		}
	}
	keys := make([]string, 0, len(w.Env))
	for k := range w.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Env = append(out.Env, [2]string{k, w.Env[k]})
	}
	for _, d := range w.Dirs {
		host := d.HostPath
		if d.Handle != nil {
			var err error
			if host, err = fdPath(d.Handle); err != nil {
				return out, fmt.Errorf("directory %s: %w", d.HostPath, err)
			}
		}
		out.Preopens = append(out.Preopens, wt.Preopen{Host: host, Guest: d.GuestPath, ReadOnly: d.ReadOnly})
	}
	return out, nil
}

// fdPath names an open file so that Wasmtime can open it again. (Control,
// unlike Fd, leaves a non-blocking descriptor non-blocking.)
func fdPath(f *os.File) (string, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	var path string
	if err := rc.Control(func(fd uintptr) { path = "/proc/self/fd/" + strconv.Itoa(int(fd)) }); err != nil {
		return "", err
	}
	return path, nil
}

// guard runs f with ctx (and Engine.Close) able to interrupt the guest.
func (i *Instance) guard(ctx context.Context, f func() error) error {
	e := i.comp.eng
	e.enter()
	defer e.exit()
	if e.closed.Load() {
		return ErrClosed
	}
	i.store.ResetInterrupt()
	if i.out != nil { // captured output: its pump needs the call's deadline
		var deadline time.Time
		if i.timeout > 0 {
			deadline = time.Now().Add(time.Duration(i.timeout))
		}
		i.out.begin(deadline)
	}
	i.callCtx = ctx
	defer func() { i.callCtx = nil }()
	if ctx.Done() == nil || e.cfg.DisableEpochInterruption {
		return f()
	}
	// The epoch ticker watches the context (see Engine.pollContexts): no
	// goroutine, timer or allocation per call, and no map operation unless
	// the instance was not watched recently.
	i.watchMu.Lock()
	if !i.watched {
		i.watchMu.Unlock()
		e.watchMu.Lock() // lock order: e.watchMu, then i.watchMu
		i.watchMu.Lock()
		e.watched[i] = struct{}{}
		i.watched = true
		e.watchMu.Unlock()
	}
	i.store.ResetInterrupt() // under the lock: the ticker cannot interrupt the new call for the old context
	i.watchCtx = ctx
	i.watchIdle = 0
	i.watchMu.Unlock()
	err := f()
	i.watchMu.Lock()
	i.watchCtx = nil
	i.watchMu.Unlock()
	return err
}

// Context implements wt.Env: the context of the call in progress.
func (i *Instance) Context() context.Context {
	if i.callCtx == nil {
		return context.Background()
	}
	return i.callCtx
}

// DropResource implements wt.Env: Resource.Drop claims the instance like a
// call (ErrBusy while another goroutine calls, ErrClosed after Close) and
// runs the destructor with the call limits; a destructor that traps poisons
// the instance like a call that traps.
func (i *Instance) DropResource(r *wt.Resource) error {
	if !i.busy.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer i.busy.Store(false)
	switch {
	case i.closed:
		return fmt.Errorf("%w: %w", ErrResourceGone, ErrClosed)
	case i.comp.eng.closed.Load():
		return ErrClosed
	case i.trapped.Load() != nil:
		return fmt.Errorf("%w (%v)", ErrTrapped, i.trapped.Load())
	}
	ctx := context.Background()
	err := i.guard(ctx, func() error {
		return r.DropNow(wt.CallOptions{Fuel: i.fuel, Timeout: i.timeout})
	})
	oerr := i.out.flush()
	var ce *wt.CallError
	if errors.As(err, &ce) {
		t := newTrap("resource drop", ce, ctx, i.store.HostError())
		i.trapped.Store(t)
		return errors.Join(t, oerr)
	}
	return errors.Join(err, oerr)
}

// ImportType implements wt.Env.
func (i *Instance) ImportType(name string) *wit.FuncType { return i.comp.importTypes[name] }

// Component returns the compiled code this instance runs.
func (i *Instance) Component() *Component { return i.comp }

// Func is a callable export of an Instance.
type Func struct {
	inst *Instance
	name string
	ft   *wit.FuncType
	core *wt.CoreFunc
	cf   wt.Func
	mf   wt.CoreExport
}

// Type returns the WIT type of a component function (nil for core).
func (f *Func) Type() *wit.FuncType { return f.ft }

// Name returns the export name.
func (f *Func) Name() string { return f.name }

// Func looks up an export by name ("func" or "iface#func" for components).
// Like a call, it must not run while another goroutine uses the instance.
func (i *Instance) Func(name string) (*Func, error) {
	if !i.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	defer i.busy.Store(false)
	return i.lookup(name)
}

func (i *Instance) lookup(name string) (*Func, error) {
	if f, ok := i.funcs[name]; ok {
		return f, nil
	}
	if i.closed {
		return nil, ErrClosed
	}
	ex, ok := i.comp.export(name)
	if !ok {
		return nil, i.comp.unknown(name)
	}
	f := &Func{inst: i, name: name, ft: ex.ft, core: ex.core}
	if ex.idx != nil {
		cf, ok := i.store.Func(i.ci, ex.idx)
		if !ok {
			return nil, i.comp.unknown(name)
		}
		f.cf = cf
	} else {
		mf, ok := i.store.ModuleFunc(i.mi, name)
		if !ok {
			return nil, i.comp.unknown(name)
		}
		f.mf = mf
	}
	i.funcs[name] = f
	return f, nil
}

// Call calls the export name with Go values (see package wit for the value
// model). A component function returns its single result or nil; a core
// function returns nil, its one result, or a []any for several. A function
// of a versioned interface may be named without the version
// ("wasi:cli/run#run") or with a compatible one (see Component.FuncType).
func (i *Instance) Call(ctx context.Context, name string, args ...any) (any, error) {
	if !i.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	defer i.busy.Store(false)
	f, err := i.lookup(name)
	if err != nil {
		return nil, err
	}
	return f.call(ctx, args)
}

// Call calls f. See Instance.Call.
func (f *Func) Call(ctx context.Context, args ...any) (any, error) {
	i := f.inst
	if !i.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	defer i.busy.Store(false)
	return f.call(ctx, args)
}

func (f *Func) call(ctx context.Context, args []any) (any, error) {
	i := f.inst
	switch {
	case i.closed:
		return nil, ErrClosed
	case i.trapped.Load() != nil:
		return nil, fmt.Errorf("%w (%v)", ErrTrapped, i.trapped.Load())
	case i.comp.eng.closed.Load():
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := wt.CallOptions{Fuel: i.fuel, Timeout: i.timeout}
	var out any
	err := i.guard(ctx, func() error {
		var err error
		if f.core != nil {
			var res []any
			res, err = i.store.CallModule(f.mf, f.core, args, opts)
			switch len(res) {
			case 0:
			case 1:
				out = res[0]
			default:
				out = res
			}
		} else {
			out, err = i.store.Call(&f.cf, f.ft, args, opts)
		}
		return err
	})
	oerr := i.out.flush()
	if err == nil {
		if oerr != nil {
			return nil, oerr
		}
		return out, nil
	}
	var ce *wt.CallError
	if errors.As(err, &ce) {
		t := newTrap(f.name, ce, ctx, i.store.HostError())
		if t.Kind == TrapCancelled && ctx.Err() == nil && i.comp.eng.closed.Load() {
			t.cause = ErrClosed // interrupted by Engine.Close
		}
		i.trapped.Store(t)
		if oerr != nil {
			return nil, errors.Join(t, oerr)
		}
		return nil, t
	}
	return nil, errors.Join(fmt.Errorf("engine: call %s: %w", f.name, err), oerr)
}

// Interrupt stops the guest call running right now, if any: it traps with
// TrapCancelled within about one epoch tick. Safe from any goroutine. It
// does not affect later calls.
func (i *Instance) Interrupt() {
	i.intMu.Lock()
	if !i.freed {
		i.stop()
	}
	i.intMu.Unlock()
}

// stop interrupts the running guest: at its next epoch check, and, if it
// is blocked writing to stdout or stderr, by discarding what it writes.
func (i *Instance) stop() {
	i.store.Interrupt()
	i.out.stop()
}

// Trapped returns the trap that poisoned the instance, or nil. Safe from
// any goroutine.
func (i *Instance) Trapped() *Trap { return i.trapped.Load() }

// FuelLeft returns the fuel left after the last call (fuel metering only).
// Like a call, it needs the instance to itself (ErrBusy otherwise), and
// fails with ErrClosed after Close.
func (i *Instance) FuelLeft() (uint64, error) {
	if !i.busy.CompareAndSwap(false, true) {
		return 0, ErrBusy
	}
	defer i.busy.Store(false)
	if i.closed {
		return 0, ErrClosed
	}
	return i.store.Fuel()
}

// Close frees the instance and its store. Idempotent; it fails with ErrBusy
// while a call is running on another goroutine. The guest output not yet
// handed to the WASI writers is handed over first; an *OutputError reports
// a writer that failed and was not reported by a call.
func (i *Instance) Close() error {
	if !i.busy.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer i.busy.Store(false)
	if i.closed {
		return nil
	}
	return i.free()
}

func (i *Instance) free() error {
	i.closed = true
	e := i.comp.eng
	e.liveMu.Lock()
	delete(e.live, i)
	e.liveMu.Unlock()
	e.unwatch(i)
	i.intMu.Lock()
	i.freed = true
	i.intMu.Unlock()
	i.store.Delete() // Wasmtime's stdout/stderr files close with it
	err := i.out.close()
	i.funcs = nil
	i.comp.release()
	return err
}
