// Package bench holds the benchmarks of airssys-wasm (bench_test.go) and
// the bare baseline they are measured against: the same operations done
// directly on Wasmtime's C API with as little Go as possible (one cgo call
// per operation, no allocation in Go), so that every figure has a ratio to
// bare Wasmtime. See BENCHMARKING.md at the repository root.
//
// The baseline uses the project's own declarations of the C API
// (internal/wt/wt.h) and links the same static library, through the blank
// import of wasmtime-go that package engine already carries.
package bench

/*
#cgo CFLAGS: -O2 -I${SRCDIR}/../internal/wt
#include <stdlib.h>
#include "bare.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	_ "github.com/bytecodealliance/wasmtime-go/v39" // links libwasmtime.a
)

// Flavour selects the Wasmtime configuration of a bare engine.
type Flavour int

// Bare engine flavours.
const (
	// Default is wasm_engine_new(): Wasmtime's own defaults (component
	// model on, epochs off, copy-on-write memory images, Wasmtime's mmap
	// memories).
	Default Flavour = C.BARE_ENGINE_DEFAULT
	// SameFlags sets what engine.New(engine.Config{}) sets: component
	// model, fuel off, epoch interruption on, opt level "speed", no
	// copy-on-write images, a host memory creator.
	SameFlags Flavour = C.BARE_ENGINE_SAME_FLAGS
	// SameFlagsNoEpoch is SameFlags with epoch interruption off.
	SameFlagsNoEpoch Flavour = C.BARE_ENGINE_SAME_NO_EPOCH
)

// BareEngine is a wasm_engine_t.
type BareEngine struct {
	p     *C.wasm_engine_t
	epoch bool
}

// NewBareEngine creates an engine of the given flavour.
func NewBareEngine(f Flavour) (*BareEngine, error) {
	p := C.bare_engine_new(C.int(f))
	if p == nil {
		return nil, errors.New("bare: engine configuration refused")
	}
	return &BareEngine{p: p, epoch: f == SameFlags}, nil
}

// BareEngineCycle creates and deletes an engine: the unit of the engine
// creation benchmark (two cgo calls).
func BareEngineCycle(f Flavour) {
	C.wasm_engine_delete(C.bare_engine_new(C.int(f)))
}

// Close deletes the engine.
func (e *BareEngine) Close() {
	if e.p != nil {
		C.wasm_engine_delete(e.p)
		e.p = nil
	}
}

// takeErr converts and frees a wasmtime_error_t.
func takeErr(e *C.wasmtime_error_t) error {
	if e == nil {
		return nil
	}
	var msg C.wasm_byte_vec_t
	C.wasmtime_error_message(e, &msg)
	s := C.GoStringN((*C.char)(unsafe.Pointer(msg.data)), C.int(msg.size))
	C.wasm_byte_vec_delete(&msg)
	C.wasmtime_error_delete(e)
	return errors.New("bare: " + s)
}

func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// BareComponent is a compiled wasmtime_component_t.
type BareComponent struct {
	p *C.wasmtime_component_t
}

// Compile compiles component bytes (wasmtime_component_new).
func (e *BareEngine) Compile(wasm []byte) (*BareComponent, error) {
	c := &BareComponent{}
	if err := C.wasmtime_component_new(e.p, bytesPtr(wasm), C.size_t(len(wasm)), &c.p); err != nil {
		return nil, takeErr(err)
	}
	return c, nil
}

// Deserialize loads a serialized component (wasmtime_component_deserialize)
// from memory: the bare equivalent of a compile-cache hit.
func (e *BareEngine) Deserialize(data []byte) (*BareComponent, error) {
	c := &BareComponent{}
	if err := C.wasmtime_component_deserialize(e.p, bytesPtr(data), C.size_t(len(data)), &c.p); err != nil {
		return nil, takeErr(err)
	}
	return c, nil
}

// Serialize returns the compiled artifact.
func (c *BareComponent) Serialize() ([]byte, error) {
	var v C.wasm_byte_vec_t
	if err := C.wasmtime_component_serialize(c.p, &v); err != nil {
		return nil, takeErr(err)
	}
	out := C.GoBytes(unsafe.Pointer(v.data), C.int(v.size))
	C.wasm_byte_vec_delete(&v)
	return out, nil
}

// Close deletes the component.
func (c *BareComponent) Close() {
	if c.p != nil {
		C.wasmtime_component_delete(c.p)
		c.p = nil
	}
}

// BareLinker is a component linker: empty, or with the hostcall fixture's
// airssys:test/host@0.1.0 interface defined by C callbacks (get returns 41,
// log does nothing).
type BareLinker struct {
	e *BareEngine
	p *C.wasmtime_component_linker_t
}

// NewLinker creates a linker.
func (e *BareEngine) NewLinker(withHost bool) (*BareLinker, error) {
	h := C.int(0)
	if withHost {
		h = 1
	}
	p := C.bare_linker_new(e.p, h)
	if p == nil {
		return nil, errors.New("bare: cannot define the host functions")
	}
	return &BareLinker{e: e, p: p}, nil
}

// Close deletes the linker.
func (l *BareLinker) Close() {
	if l.p != nil {
		C.wasmtime_component_linker_delete(l.p)
		l.p = nil
	}
}

// BareInstance is a store with one component instance. The C struct lives
// in C memory so that passing it to C costs no Go allocation.
type BareInstance struct {
	p *C.bare_instance
}

// Instantiate creates a store and instantiates c in it.
func (l *BareLinker) Instantiate(c *BareComponent) (*BareInstance, error) {
	i := &BareInstance{p: (*C.bare_instance)(C.calloc(1, C.size_t(unsafe.Sizeof(C.bare_instance{}))))}
	if err := i.Reinstantiate(l, c); err != nil {
		C.free(unsafe.Pointer(i.p))
		return nil, err
	}
	return i, nil
}

// Reinstantiate deletes the store (if any) and instantiates c again in a
// new one, reusing i: the unit of the instantiation benchmark.
func (i *BareInstance) Reinstantiate(l *BareLinker, c *BareComponent) error {
	C.bare_instance_delete(i.p)
	return takeErr(C.bare_instantiate(l.e.p, l.p, c.p, boolInt(l.e.epoch), i.p))
}

// DropStore deletes the store but keeps i reusable by Reinstantiate.
func (i *BareInstance) DropStore() { C.bare_instance_delete(i.p) }

// Close deletes the store.
func (i *BareInstance) Close() {
	if i.p != nil {
		C.bare_instance_delete(i.p)
		C.free(unsafe.Pointer(i.p))
		i.p = nil
	}
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// BareFunc is a component function of a BareInstance, with a C-allocated
// result slot.
type BareFunc struct {
	cx  *C.wasmtime_context_t
	f   *C.wasmtime_component_func_t
	out *C.uint32_t
	n   *C.size_t
}

// Func looks up an exported function.
func (i *BareInstance) Func(c *BareComponent, name string) (*BareFunc, error) {
	f := &BareFunc{
		cx:  i.p.cx,
		f:   (*C.wasmtime_component_func_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.wasmtime_component_func_t{})))),
		out: (*C.uint32_t)(C.calloc(1, 4)),
		n:   (*C.size_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.size_t(0))))),
	}
	cs := C.CString(name)
	ok := C.bare_func(i.p, c.p, cs, C.size_t(len(name)), f.f)
	C.free(unsafe.Pointer(cs))
	if ok == 0 {
		f.Free()
		return nil, errors.New("bare: no export " + name)
	}
	return f, nil
}

// Free frees the C memory of f (not the function, which the store owns).
func (f *BareFunc) Free() {
	C.free(unsafe.Pointer(f.f))
	C.free(unsafe.Pointer(f.out))
	C.free(unsafe.Pointer(f.n))
	f.f, f.out, f.n = nil, nil, nil
}

// CallS32 calls a func() -> s32 (call and post-return).
func (f *BareFunc) CallS32() (int32, error) {
	if err := C.bare_call_ret32(f.cx, f.f, f.out); err != nil {
		return 0, takeErr(err)
	}
	return int32(*f.out), nil
}

// CallU32 calls a func(u32) -> s32 or u32, returning the result's bits.
func (f *BareFunc) CallU32(n uint32) (uint32, error) {
	if err := C.bare_call_u32_ret32(f.cx, f.f, C.uint32_t(n), f.out); err != nil {
		return 0, takeErr(err)
	}
	return uint32(*f.out), nil
}

// CallEcho calls echo-string(s) -> string, copying the result into out and
// returning its length.
func (f *BareFunc) CallEcho(s, out []byte) (int, error) {
	if err := C.bare_call_echo(f.cx, f.f, bytesPtr(s), C.size_t(len(s)), bytesPtr(out), C.size_t(len(out)),
		f.n); err != nil {
		return 0, takeErr(err)
	}
	return int(*f.n), nil
}

// CallEchoBytes calls echo-bytes(s) -> list<u8> like CallEcho: the same
// bytes, one C value per byte in each direction.
func (f *BareFunc) CallEchoBytes(s, out []byte) (int, error) {
	vals := C.malloc(C.size_t(len(s)+1) * C.size_t(unsafe.Sizeof(C.wasmtime_component_val_t{})))
	defer C.free(vals)
	if err := C.bare_call_echo_bytes(f.cx, f.f, bytesPtr(s), C.size_t(len(s)), (*C.wasmtime_component_val_t)(vals),
		bytesPtr(out), C.size_t(len(out)), f.n); err != nil {
		return 0, takeErr(err)
	}
	return int(*f.n), nil
}
