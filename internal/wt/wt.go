// Package wt is the cgo boundary to Wasmtime's C API: the only package in
// the project that imports "C".
//
// Ownership rules, kept everywhere in this package:
//   - every C object has exactly one Go owner (a struct here) and is freed
//     once, by that owner's Delete method;
//   - no Go pointer is ever stored in C memory: C keeps cgo.Handle numbers
//     (store state, host functions, WASI output) and C-allocated buffers;
//   - a Store and everything in it (instances, functions, resources) is
//     used by one goroutine at a time; the engine package enforces that.
//
// The declarations of the C API live in wt.h (our own); the static library
// is linked through the blank import of wasmtime-go, whose cgo flags carry
// -lwasmtime for the final link.
package wt

/*
#cgo CFLAGS: -O2
#include "shim.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"unsafe"

	_ "github.com/bytecodealliance/wasmtime-go/v39" // links libwasmtime.a
)

// EngineConfig selects the engine-wide Wasmtime settings.
type EngineConfig struct {
	Fuel              bool
	Epoch             bool
	MemoryReservation uint64 // bytes; 0 keeps Wasmtime's default
	MemoryGuard       uint64 // bytes; 0 keeps Wasmtime's default
	MaxWasmStack      uint64 // bytes; 0 keeps Wasmtime's default
	Pooling           bool
	PoolInstances     uint32 // pooling: instances (and memories, tables, stacks)
	PoolMaxMemory     uint64 // pooling: largest linear memory, bytes
	OptLevel          int    // 0 none, 1 speed (default), 2 speed and size
	MaxMemories       int64  // live linear memories allowed (our memory creator); 0: no limit
}

// Engine owns a wasm_engine_t.
type Engine struct {
	p *C.wasm_engine_t
	// ownMemory: linear memories come from our memory creator, which
	// enforces the per-store memory limit itself.
	ownMemory bool
}

// NewEngine creates an engine; it cannot fail except for a bad config,
// which Wasmtime reports by returning NULL.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	o := C.aw_engine_opts{
		fuel: boolInt(cfg.Fuel), epoch: boolInt(cfg.Epoch), pooling: boolInt(cfg.Pooling),
		opt_level:          C.int(cfg.OptLevel),
		memory_reservation: C.uint64_t(cfg.MemoryReservation),
		memory_guard:       C.uint64_t(cfg.MemoryGuard),
		max_wasm_stack:     C.uint64_t(cfg.MaxWasmStack),
		pool_max_memory:    C.uint64_t(cfg.PoolMaxMemory),
		pool_instances:     C.uint32_t(cfg.PoolInstances),
		max_memories:       C.long(cfg.MaxMemories),
	}
	p := C.aw_engine_new(&o)
	if p == nil {
		return nil, errors.New("wasmtime rejected the engine configuration")
	}
	return &Engine{p: p, ownMemory: !cfg.Pooling}, nil
}

// NewBareEngine creates an engine with Wasmtime's defaults plus the component
// model: the baseline the benchmarks compare against.
func NewBareEngine() *Engine { return &Engine{p: C.wasm_engine_new()} }

// DefaultThreadStack is the stack size of the threads the Go runtime
// creates, on which guests run; 0 if unknown.
func DefaultThreadStack() uint64 { return uint64(C.aw_default_thread_stack()) }

// MallocInUse is the C heap in use, in bytes (malloc'd chunks and
// mmapped blocks; Wasmtime allocates through malloc). For leak checks.
func MallocInUse() uint64 { return uint64(C.aw_malloc_in_use()) }

// LiveMemories is how many linear memories made by our memory creator are
// alive in the process (all engines).
func LiveMemories() int64 { return int64(C.aw_live_memories()) }

// Delete frees the engine. Everything created from it must be gone first.
func (e *Engine) Delete() {
	if e.p != nil {
		C.wasm_engine_delete(e.p)
		e.p = nil
	}
}

// IncrementEpoch advances the engine's epoch; safe from any goroutine.
func (e *Engine) IncrementEpoch() { C.wasmtime_engine_increment_epoch(e.p) }

// takeError converts and frees a wasmtime_error_t.
func takeError(e *C.wasmtime_error_t) error {
	if e == nil {
		return nil
	}
	ce := callErrorFrom(e, nil)
	return errors.New(ce.Message)
}

// cslice views n elements at p, C memory that Wasmtime filled. An empty
// vector from Wasmtime can carry a dangling non-null pointer (Rust's empty
// Vec, 0x8 and the like), which the Go runtime refuses to find in a pointer
// slot of a goroutine stack when it copies the stack: so an empty view is
// nil, never a slice of that pointer.
func cslice[T any](p *T, n C.size_t) []T {
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice(p, int(n))
}

func nameString(n *C.wasm_name_t) string {
	if n == nil || n.size == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(n.data)), int(n.size)))
}

func cString(p *C.char, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
}

// bytesPtr returns a pointer to b's first byte, or nil for an empty slice.
// The pointer is only passed into a C call that copies the bytes.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// takeBytes copies a wasm_byte_vec_t into Go memory and frees it.
func takeBytes(v *C.wasm_byte_vec_t) []byte {
	out := C.GoBytes(unsafe.Pointer(v.data), C.int(v.size))
	C.wasm_byte_vec_delete(v)
	return out
}

//export awGoDeleteHandle
func awGoDeleteHandle(h C.uintptr_t) { cgo.Handle(h).Delete() }
