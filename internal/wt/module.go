package wt

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unicode/utf8"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// Linker owns a core wasmtime_linker_t.
type Linker struct {
	p *C.wasmtime_linker_t
}

// NewLinker creates a core linker, with WASI preview 1 when wasi is set.
func NewLinker(e *Engine, wasi bool) (*Linker, error) {
	l := &Linker{p: C.wasmtime_linker_new(e.p)}
	if wasi {
		if err := C.wasmtime_linker_define_wasi(l.p); err != nil {
			l.Delete()
			return nil, takeError(err)
		}
	}
	return l, nil
}

// Delete frees the linker.
func (l *Linker) Delete() {
	if l.p != nil {
		C.wasmtime_linker_delete(l.p)
		l.p = nil
	}
}

// DefineFunc defines module.name as a Go function of the given type.
func (l *Linker) DefineFunc(module string, f *CoreHostFunc) error {
	kinds := func(ts []CoreType) (*C.uint8_t, C.size_t) {
		if len(ts) == 0 {
			return nil, 0
		}
		return (*C.uint8_t)(unsafe.Pointer(&ts[0])), C.size_t(len(ts)) // CoreType is a uint8; read during the call only
	}
	pp, np := kinds(f.Type.Params)
	rp, nr := kinds(f.Type.Results)
	ft := C.aw_functype_new(pp, np, rp, nr)
	if ft == nil {
		panic("wt: out of C memory")
	}
	defer C.wasm_functype_delete(ft)
	if !utf8.ValidString(module) || !utf8.ValidString(f.Name) {
		return fmt.Errorf("host function name %q.%q is not valid UTF-8", module, f.Name)
	}
	cm, cn := C.CString(module), C.CString(f.Name)
	defer C.free(unsafe.Pointer(cm))
	defer C.free(unsafe.Pointer(cn))
	env := C.aw_func_env_new(C.uintptr_t(cgo.NewHandle(f)))
	if env == nil {
		panic("wt: out of C memory")
	}
	err := C.aw_module_add_func(l.p, cm, C.size_t(len(module)), cn, C.size_t(len(f.Name)), ft, env)
	C.aw_func_env_defined(env, boolInt(err == nil)) // the handle is deleted exactly once
	return takeError(err)
}

// ModuleInstance is a core instance in a Store.
type ModuleInstance struct {
	inst C.wasmtime_instance_t
}

// InstantiateModule instantiates m in s.
func (s *Store) InstantiateModule(l *Linker, m *Module, o CallOptions) (*ModuleInstance, error) {
	var out C.wasmtime_instance_t
	var trap *C.wasm_trap_t
	err := C.aw_module_instantiate(l.p, s.cx, s.state, m.p, &out, &trap, C.uint64_t(o.Fuel),
		C.int64_t(o.Timeout), boolInt(s.epoch))
	if err != nil {
		return nil, s.fail(err)
	}
	if trap != nil {
		return nil, callErrorFromTrap(trap, s.state)
	}
	return &ModuleInstance{inst: out}, nil
}

// CoreExport is an exported core function.
type CoreExport struct {
	f C.wasmtime_func_t
}

// ModuleFunc returns the exported function name, or false.
func (s *Store) ModuleFunc(i *ModuleInstance, name string) (CoreExport, bool) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var ext C.wasmtime_extern_t
	if !C.wasmtime_instance_export_get(s.cx, &i.inst, cs, C.size_t(len(name)), &ext) || ext.kind != 0 {
		return CoreExport{}, false
	}
	return CoreExport{f: *(*C.wasmtime_func_t)(unsafe.Pointer(&ext.of))}, true
}

// MemorySize returns the byte size of the exported memory name, or -1.
func (s *Store) MemorySize(i *ModuleInstance, name string) int64 {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var ext C.wasmtime_extern_t
	if !C.wasmtime_instance_export_get(s.cx, &i.inst, cs, C.size_t(len(name)), &ext) || ext.kind != 3 {
		return -1
	}
	return int64(C.wasmtime_memory_data_size(s.cx, (*C.wasmtime_memory_t)(unsafe.Pointer(&ext.of))))
}

// CallModule calls a core function with Go numbers.
func (s *Store) CallModule(f CoreExport, ft *CoreFunc, args []any, o CallOptions) ([]any, error) {
	if len(args) != len(ft.Params) {
		return nil, &wit.TypeError{Path: "arguments", Want: itoa(len(ft.Params)) + " argument(s)",
			Got: itoa(len(args))}
	}
	s.arena.reset()
	n := len(args) + len(ft.Results)
	sz := unsafe.Sizeof(C.wasmtime_val_t{})
	var vals []C.wasmtime_val_t
	if n > 0 {
		vals = unsafe.Slice((*C.wasmtime_val_t)(s.arena.alloc(uintptr(n)*sz)), n)
	}
	for i, t := range ft.Params {
		if err := coreEncode(t, args[i], &vals[i]); err != nil {
			err.(*wit.TypeError).Path = "argument " + itoa(i)
			return nil, err
		}
	}
	var argp, resp *C.wasmtime_val_t
	if len(args) > 0 {
		argp = &vals[0]
	}
	if len(ft.Results) > 0 {
		resp = &vals[len(args)]
	}
	var trap *C.wasm_trap_t
	err := C.aw_module_call(s.cx, s.state, &f.f, argp, C.size_t(len(args)), resp, C.size_t(len(ft.Results)),
		&trap, C.uint64_t(o.Fuel), C.int64_t(o.Timeout), boolInt(s.epoch))
	if err != nil {
		return nil, s.fail(err)
	}
	if trap != nil {
		return nil, callErrorFromTrap(trap, s.state)
	}
	out := make([]any, len(ft.Results))
	for i := range out {
		out[i] = coreDecode(&vals[len(args)+i])
	}
	return out, nil
}
