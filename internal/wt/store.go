package wt

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime/cgo"
	"sort"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// Env is what host callbacks need from the Go owner of a store.
type Env interface {
	// Context is the context of the call in progress.
	Context() context.Context
	// ImportType returns the type of a component import by its full name
	// ("iface#func" or "func"), or nil.
	ImportType(name string) *wit.FuncType
	// DropResource claims the store (or fails: busy, closed) and calls
	// r.DropNow with the limits of a call.
	DropResource(r *Resource) error
}

// StoreLimits are the per-store resource limits; negative means unlimited.
type StoreLimits struct {
	MemoryBytes   int64 // all linear memories together
	TableElements int64 // per table
	Instances     int64 // core instances
	Tables        int64
	Memories      int64
}

// Store owns a wasmtime_store_t, its C-side state and the arena used to pass
// values into calls. One goroutine at a time.
type Store struct {
	st    *C.wasmtime_store_t
	cx    *C.wasmtime_context_t
	state *C.aw_store_state
	h     cgo.Handle
	arena arena
	epoch bool
	env   Env

	hostErr   error // the error of a failed host function, for the trap
	resources map[*Resource]struct{}
	// borrows collects the borrow handles decoded for host functions in
	// progress (inHost deep); they are only valid during that call and freed
	// after it.
	borrows []*Resource
	inHost  int
	// moved collects the own handles passed as arguments of the call being
	// made: the guest owns them afterwards, so the store forgets them.
	moved []*Resource
	// anys are the handles made for host resources passed into the call or
	// host call in progress (see encode); freed when it returns.
	anys []*C.wasmtime_component_resource_any_t
	// hostTypes are the host resource types of the linker the instance
	// was made with.
	hostTypes map[uint32]*HostResourceType
}

// NewStore creates a store on e. watchEpoch installs the epoch callback that
// implements timeouts and cancellation (the engine must have epochs on).
func NewStore(e *Engine, env Env, limits StoreLimits, watchEpoch bool) *Store {
	s := &Store{env: env, epoch: watchEpoch, resources: map[*Resource]struct{}{}}
	s.h = cgo.NewHandle(s)
	s.state = C.aw_state_new(C.uintptr_t(s.h))
	s.st = C.wasmtime_store_new(e.p, unsafe.Pointer(s.state), nil)
	s.cx = C.wasmtime_store_context(s.st)
	mem := limits.MemoryBytes
	if e.ownMemory && mem >= 0 {
		s.state.mem_limit = C.int64_t(mem)
		mem = -1
	}
	if mem >= 0 || limits.TableElements >= 0 || limits.Instances >= 0 || limits.Tables >= 0 ||
		limits.Memories >= 0 {
		C.wasmtime_store_limiter(s.st, C.int64_t(mem), C.int64_t(limits.TableElements),
			C.int64_t(limits.Instances), C.int64_t(limits.Tables), C.int64_t(limits.Memories))
	}
	if watchEpoch {
		C.aw_store_watch_epoch(s.st, s.state)
	}
	return s
}

// Interrupt stops the guest running in this store at its next epoch check;
// safe from any goroutine. ResetInterrupt clears it before the next call.
func (s *Store) Interrupt() { C.aw_state_interrupt(s.state) }

// ResetInterrupt clears a pending interrupt. The flag is a C atomic_int;
// Go's atomic store is the same sequentially consistent store (on every
// platform Go and C share an ABI on), without the cost of a cgo call on
// every guest call.
func (s *Store) ResetInterrupt() {
	atomic.StoreInt32((*int32)(unsafe.Pointer(&s.state.interrupt)), 0)
}

// Fuel returns the fuel left in the store.
func (s *Store) Fuel() (uint64, error) {
	var f C.uint64_t
	if err := C.wasmtime_context_get_fuel(s.cx, &f); err != nil {
		return 0, takeError(err)
	}
	return uint64(f), nil
}

// Delete frees the store, every resource handle still held, the C state and
// the arena. Host callbacks can no longer reach the store afterwards.
func (s *Store) Delete() {
	if s.st == nil {
		return
	}
	for r := range s.resources {
		r.free()
	}
	s.resources = nil
	C.wasmtime_store_delete(s.st)
	s.st, s.cx = nil, nil
	C.aw_state_free(s.state)
	s.state = nil
	s.h.Delete()
	s.arena.free()
}

func (s *Store) fail(e *C.wasmtime_error_t) *CallError {
	ce := callErrorFrom(e, s.state)
	return ce
}

// HostError returns (and clears) the error of the host function that failed
// during the last call.
func (s *Store) HostError() error {
	err := s.hostErr
	s.hostErr = nil
	return err
}

// CallOptions are the per-call limits.
type CallOptions struct {
	Fuel    uint64 // refilled before the call; 0 when fuel metering is off
	Timeout int64  // nanoseconds; 0 = none (needs the epoch callback)
}

// ComponentLinker owns a wasmtime_component_linker_t.
type ComponentLinker struct {
	p *C.wasmtime_component_linker_t
	// types are the host resource types defined in it, by ID; stores made
	// with it check the host resources they pass against this.
	types map[uint32]*HostResourceType
}

// NewComponentLinker creates a linker, with WASI preview 2 when wasi is set.
func NewComponentLinker(e *Engine, wasi bool) (*ComponentLinker, error) {
	l := &ComponentLinker{p: C.wasmtime_component_linker_new(e.p)}
	if wasi {
		if err := C.wasmtime_component_linker_add_wasip2(l.p); err != nil {
			l.Delete()
			return nil, takeError(err)
		}
	}
	return l, nil
}

// Delete frees the linker (host functions live on in stores that use them).
func (l *ComponentLinker) Delete() {
	if l.p != nil {
		C.wasmtime_component_linker_delete(l.p)
		l.p = nil
	}
}

// HostFunc is a Go function behind a component import.
type HostFunc struct {
	// FullName is the import's full name, "iface#func" or "func".
	FullName string
	Fn       func(ctx context.Context, args []any) (any, error)
}

// DefineInstance defines host resource types and functions inside the
// instance at path (instance names, outermost first; empty for the root).
// Resource type IDs must be unique within the linker.
func (l *ComponentLinker) DefineInstance(path []string, funcs map[string]*HostFunc,
	resources map[string]*HostResourceType) error {
	li := C.wasmtime_component_linker_root(l.p)
	for _, p := range path {
		cs := C.CString(p)
		var next *C.wasmtime_component_linker_instance_t
		err := C.wasmtime_component_linker_instance_add_instance(li, cs, C.size_t(len(p)), &next)
		C.free(unsafe.Pointer(cs))
		C.wasmtime_component_linker_instance_delete(li)
		if err != nil {
			return takeError(err)
		}
		li = next
	}
	defer C.wasmtime_component_linker_instance_delete(li)
	if err := l.defineResources(li, resources); err != nil {
		return err
	}
	names := make([]string, 0, len(funcs))
	for name := range funcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !utf8.ValidString(name) || name == "" {
			return fmt.Errorf("host function name %q is not a valid name", name)
		}
		env := C.aw_func_env_new(C.uintptr_t(cgo.NewHandle(funcs[name])))
		if env == nil {
			panic("wt: out of C memory")
		}
		cs := C.CString(name)
		err := C.aw_component_add_func(li, cs, C.size_t(len(name)), env)
		C.free(unsafe.Pointer(cs))
		C.aw_func_env_defined(env, boolInt(err == nil)) // the handle is deleted exactly once
		if err != nil {
			return fmt.Errorf("host function %q: %w", name, takeError(err))
		}
	}
	return nil
}

// DefineUnknownAsTraps makes every import of c not yet defined a function
// that traps when called.
func (l *ComponentLinker) DefineUnknownAsTraps(c *Component) error {
	return takeError(C.wasmtime_component_linker_define_unknown_imports_as_traps(l.p, c.p))
}

// ComponentInstance is an instance living in a Store.
type ComponentInstance struct {
	inst C.wasmtime_component_instance_t
}

// Instantiate instantiates c in s.
func (s *Store) Instantiate(l *ComponentLinker, c *Component, o CallOptions) (*ComponentInstance, error) {
	var out C.wasmtime_component_instance_t
	s.moved = s.moved[:0]
	s.hostTypes = l.types
	err := C.aw_component_instantiate(l.p, s.cx, s.state, c.p, &out, C.uint64_t(o.Fuel), C.int64_t(o.Timeout),
		boolInt(s.epoch))
	s.forgetMoved() // own results of host functions called by start functions
	derr := s.drainDrops()
	if err != nil {
		return nil, s.fail(err)
	}
	if derr != nil {
		return nil, s.dropFailure(derr)
	}
	return &ComponentInstance{inst: out}, nil
}

// Func is a component function of one instance.
type Func struct {
	f C.wasmtime_component_func_t
}

// Func returns the function at idx, or false.
func (s *Store) Func(i *ComponentInstance, idx *ExportIndex) (Func, bool) {
	var f Func
	ok := C.wasmtime_component_instance_get_func(&i.inst, s.cx, idx.p, &f.f)
	return f, bool(ok)
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ErrResultType is returned when a guest result does not match its type.
var ErrResultType = errors.New("wt: result does not match the function type")

// Call calls f with args (checked against ft), returning the decoded result.
// A *wit.TypeError means the arguments were refused before the call; a
// *CallError means the guest trapped or was stopped.
func (s *Store) Call(f *Func, ft *wit.FuncType, args []any, o CallOptions) (any, error) {
	if len(args) != len(ft.Params) {
		return nil, &wit.TypeError{Path: "arguments", Want: ft.String(),
			Got: itoa(len(args)) + " argument(s)"}
	}
	s.arena.reset()
	s.moved = s.moved[:0]
	var argp *C.wasmtime_component_val_t
	if len(args) > 0 {
		argp = (*C.wasmtime_component_val_t)(s.arena.alloc(uintptr(len(args)) * sizeofVal))
		vals := unsafe.Slice(argp, len(args))
		for i, p := range ft.Params {
			if err := s.encode(p.Type, args[i], &vals[i]); err != nil {
				s.moved = s.moved[:0] // nothing was passed
				s.freeAnys(0)
				return nil, prefixPath(err, p.Name)
			}
		}
	}
	var resp *C.wasmtime_component_val_t
	nres := 0
	if ft.Result != nil {
		resp, nres = (*C.wasmtime_component_val_t)(s.arena.alloc(sizeofVal)), 1
	}
	err := C.aw_component_call(s.cx, s.state, &f.f, argp, C.size_t(len(args)), resp, C.size_t(nres),
		C.uint64_t(o.Fuel), C.int64_t(o.Timeout), boolInt(s.epoch))
	s.forgetMoved()
	s.freeAnys(0)
	derr := s.drainDrops()
	if err != nil {
		return nil, s.fail(err)
	}
	if derr != nil {
		if nres > 0 && (!ft.Result.Kind.IsPrimitive() || ft.Result.Kind == wit.KindString) {
			C.aw_component_vals_delete(resp, 1)
		}
		return nil, s.dropFailure(derr)
	}
	if nres == 0 {
		return nil, nil
	}
	v, derr := s.decode(ft.Result, resp)
	if derr != nil {
		derr = prefixPath(derr, "result")
	}
	if !ft.Result.Kind.IsPrimitive() || ft.Result.Kind == wit.KindString {
		C.aw_component_vals_delete(resp, 1)
	}
	return v, derr
}

// forgetMoved drops the host's handles of the own resources just passed to
// the guest: Wasmtime took them over (or, if the call failed, the instance
// is poisoned and will only be closed).
func (s *Store) forgetMoved() {
	for i, r := range s.moved {
		r.free()
		delete(s.resources, r)
		s.moved[i] = nil
	}
	s.moved = s.moved[:0]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Env returns the Go owner given to NewStore.
func (s *Store) Env() Env { return s.env }
