package engine

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"weak"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
)

// HostFunc implements a component import in Go. It receives the arguments
// as wit values (see package wit) and returns the result (nil when the
// function has none). A returned error or a panic traps the guest's call
// with TrapHostFunction; the host process carries on.
type HostFunc func(ctx context.Context, args []any) (any, error)

// CoreHostFunc implements a core-module import in Go (int32, int64,
// float32, float64 values).
type CoreHostFunc func(ctx context.Context, args []any) ([]any, error)

// CoreType is a core WebAssembly value type.
type CoreType = wt.CoreType

// Core value types for CoreFunc.
const (
	I32 = wt.I32
	I64 = wt.I64
	F32 = wt.F32
	F64 = wt.F64
)

type coreDef struct {
	module, name string
	typ          wt.CoreFunc
	fn           CoreHostFunc
}

// Host is a set of Go functions that satisfy imports. Build it once, then
// use it for any number of instances; it cannot change after its first use.
// Its Wasmtime linkers are freed when the Host is garbage collected, which
// cannot happen while one of its functions refers to the Host itself (the
// functions are held by Wasmtime until the linkers go): keep such functions
// free of the Host, or keep the Host for the life of the engine.
// WASI is always provided on top of it (preview 2 for components, preview 1
// for core modules), configured per instance.
type Host struct {
	mu     sync.Mutex
	frozen bool
	funcs  map[string]map[string]HostFunc // interface ("" = root) -> name -> func
	core   []coreDef
	res    map[string]map[string]*ResourceType // interface -> resource name -> type
	nres   uint32
}

// NewHost returns an empty Host.
func NewHost() *Host { return &Host{funcs: map[string]map[string]HostFunc{}} }

func (h *Host) mutable() {
	if h.frozen {
		panic("engine: Host changed after it was used to instantiate")
	}
}

// Func defines one component import: name inside interface iface (a full
// interface name such as "my:pkg/api@1.0.0"), or at the root when iface is "".
func (h *Host) Func(iface, name string, fn HostFunc) *Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mutable()
	if h.funcs[iface] == nil {
		h.funcs[iface] = map[string]HostFunc{}
	}
	h.funcs[iface][name] = fn
	return h
}

// Interface defines a whole interface at once.
func (h *Host) Interface(iface string, funcs map[string]HostFunc) *Host {
	for name, fn := range funcs {
		h.Func(iface, name, fn)
	}
	return h
}

// ResourceType is a resource type defined by a Host (see Host.Resource).
type ResourceType = wt.HostResourceType

// HostResource is a handle to a host-defined resource, as a wit value. A
// host function receives one for an own or borrow parameter of a host
// resource type (Own tells which); a host function result or a call
// argument of type own<T> takes one to hand the guest a new handle. The
// host can only create own handles: a borrow of a host resource cannot be
// made outside a host call (Wasmtime v39 aborts the process), so Encode
// refuses a HostResource where a borrow is expected.
type HostResource = wt.HostResource

// Resource defines a resource type that the host implements, named name in
// interface iface (as the guest imports it, e.g. "message" in
// "my:pkg/types@1.0.0"). Its methods, static functions and constructor are
// ordinary functions of the same interface, defined with Func under their
// component-model names ("[method]message.text", "[static]message.new",
// "[constructor]message"); a method receives the HostResource of self as
// args[0].
//
// What a handle stands for lives on the host, found by the rep the host
// chose when it made the handle (HostResource.Rep); the guest can neither
// forge nor read it. drop is called, on the goroutine of the guest's call
// and with its context, for every own handle the guest dropped: batched,
// at the guest's next host call or when its call returns (so a drop costs
// no callback from Wasmtime into Go); an error traps that call. It is not
// called for handles the guest passes back to the host as own arguments
// (the host has them again), nor for handles still held when the instance
// closes: the host must forget those itself (the instance's end is the end
// of every handle).
func (h *Host) Resource(iface, name string, drop func(ctx context.Context, rep uint32) error) *ResourceType {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mutable()
	if h.res == nil {
		h.res = map[string]map[string]*ResourceType{}
	}
	if h.res[iface] == nil {
		h.res[iface] = map[string]*ResourceType{}
	}
	if rt := h.res[iface][name]; rt != nil {
		panic(fmt.Sprintf("engine: host resource %s#%s defined twice", iface, name))
	}
	h.nres++
	rt := &ResourceType{Name: name, ID: h.nres, Drop: func(s *wt.Store, rep uint32) error {
		return drop(s.Env().Context(), rep)
	}}
	h.res[iface][name] = rt
	return rt
}

// CoreFunc defines a core-module import module.name with the given type.
func (h *Host) CoreFunc(module, name string, params, results []CoreType, fn CoreHostFunc) *Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mutable()
	h.core = append(h.core, coreDef{module: module, name: name,
		typ: wt.CoreFunc{Params: params, Results: results}, fn: fn})
	return h
}

// linkKey names the linkers of one Host. It holds the Host weakly: an
// embedder that makes a Host per request must not make the engine keep a
// linker per Host forever. When a Host is garbage collected its linkers are
// freed (runtime.AddCleanup); instances made with it keep working, as
// Wasmtime keeps what they use alive. The zero key is for the nil Host.
type linkKey struct{ host weak.Pointer[Host] }

// linkers are the Wasmtime linkers of one Host on one engine.
type linkers struct {
	once sync.Once
	err  error
	comp *wt.ComponentLinker
	mod  *wt.Linker
}

func (l *linkers) delete() {
	if l.comp != nil {
		l.comp.Delete()
		l.comp = nil
	}
	if l.mod != nil {
		l.mod.Delete()
		l.mod = nil
	}
}

// linkersFor returns the (cached) linkers for h; h may be nil. The caller
// holds e.use() and keeps h alive while it uses the linkers.
func (e *Engine) linkersFor(h *Host) (*linkers, error) {
	var key linkKey
	if h != nil {
		key.host = weak.Make(h)
	}
	e.linkMu.Lock()
	if e.linkers == nil {
		e.linkMu.Unlock()
		return nil, ErrClosed
	}
	l := e.linkers[key]
	if l == nil {
		l = &linkers{}
		e.linkers[key] = l
		if h != nil {
			runtime.AddCleanup(h, e.dropLinkers, key)
		}
	}
	e.linkMu.Unlock()
	l.once.Do(func() {
		if l.err = l.build(e, h); l.err != nil {
			l.delete() // nothing half-built is kept; the error is
		}
	})
	return l, l.err
}

// dropLinkers frees the linkers of a Host that was garbage collected.
func (e *Engine) dropLinkers(key linkKey) {
	e.linkMu.Lock()
	l := e.linkers[key]
	delete(e.linkers, key)
	e.linkMu.Unlock()
	if l != nil {
		l.delete()
	}
}

func (l *linkers) build(e *Engine, h *Host) error {
	var err error
	if l.comp, err = wt.NewComponentLinker(e.wt, true); err != nil {
		return fmt.Errorf("engine: linking WASI preview 2: %w", err)
	}
	if l.mod, err = wt.NewLinker(e.wt, true); err != nil {
		return fmt.Errorf("engine: linking WASI preview 1: %w", err)
	}
	if h == nil {
		return nil
	}
	h.mu.Lock()
	h.frozen = true
	h.mu.Unlock()
	ifaces := make([]string, 0, len(h.funcs))
	for iface := range h.funcs {
		ifaces = append(ifaces, iface)
	}
	for iface := range h.res {
		if h.funcs[iface] == nil {
			ifaces = append(ifaces, iface)
		}
	}
	sort.Strings(ifaces)
	for _, iface := range ifaces {
		defs := map[string]*wt.HostFunc{}
		for name, fn := range h.funcs[iface] {
			full := name
			if iface != "" {
				full = iface + "#" + name
			}
			defs[name] = &wt.HostFunc{FullName: full, Fn: fn}
		}
		var path []string
		if iface != "" {
			path = []string{iface}
		}
		if err := l.comp.DefineInstance(path, defs, h.res[iface]); err != nil {
			return fmt.Errorf("engine: defining host interface %q: %w", iface, err)
		}
	}
	for _, d := range h.core {
		fn := d.fn
		def := &wt.CoreHostFunc{Name: d.name, Type: d.typ, Fn: func(s *wt.Store, args []any) ([]any, error) {
			return fn(s.Env().Context(), args)
		}}
		if err := l.mod.DefineFunc(d.module, def); err != nil {
			return fmt.Errorf("engine: defining host function %s.%s: %w", d.module, d.name, err)
		}
	}
	return nil
}

// describe lists what h defines, for error messages.
func (h *Host) describe() string {
	if h == nil {
		return "nothing"
	}
	var names []string
	for iface, fs := range h.funcs {
		for n := range fs {
			if iface == "" {
				names = append(names, n)
			} else {
				names = append(names, iface+"#"+n)
			}
		}
	}
	for _, d := range h.core {
		names = append(names, d.module+"."+d.name)
	}
	for iface, rs := range h.res {
		for n := range rs {
			names = append(names, iface+"#"+n+" (resource)")
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Resource is a handle to a component resource (own or borrow), as returned
// by a call and accepted as an argument by calls on the same instance. The
// instance frees it when it closes; Drop frees it (and, for an own handle,
// runs the guest's destructor, with the instance's fuel and timeout) earlier.
// Drop claims the instance like a call: it fails with ErrBusy while another
// goroutine calls into the instance and with ErrClosed after Close. An own
// handle passed to the guest as an own argument belongs to the guest from
// then on: the host's handle is no longer valid (ErrResourceGone).
type Resource = wt.Resource

// ErrResourceGone is returned when a Resource is used after Drop, after it
// was moved into the guest, or after its instance closed.
var ErrResourceGone = wt.ErrResourceGone
