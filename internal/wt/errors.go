package wt

/*
#include "shim.h"
*/
import "C"

// Wasmtime's trap codes (wasmtime_trap_code_t).
const (
	CodeStackOverflow = iota
	CodeMemoryOutOfBounds
	CodeHeapMisaligned
	CodeTableOutOfBounds
	CodeIndirectCallToNull
	CodeBadSignature
	CodeIntegerOverflow
	CodeIntegerDivisionByZero
	CodeBadConversionToInteger
	CodeUnreachable
	CodeInterrupt
	CodeAlwaysTrapAdapter
	CodeOutOfFuel
	CodeAtomicWaitNonShared
	CodeNullReference
	CodeArrayOutOfBounds
	CodeAllocationTooLarge
	CodeCastFailure
	CodeCannotEnterComponent
	CodeNoAsyncResult
	CodeDisabledOpcode
)

// Why the epoch callback stopped a guest.
const (
	StopNone      = 0
	StopTimeout   = C.AW_STOP_TIMEOUT
	StopCancelled = C.AW_STOP_CANCELLED
)

// Frame is one guest stack frame of a trap.
type Frame struct {
	Module       string
	Func         string
	FuncIndex    uint32
	ModuleOffset uint64
}

// CallError is everything Wasmtime said about a failed instantiate or call.
type CallError struct {
	Message    string
	Code       int // a Code* constant, or -1 when the error is not a trap
	Stop       int // Stop* from the store state
	HostFailed bool
	// MemoryLimitHit: a memory.grow (or a memory's creation) was refused by
	// the store's memory limit during this call.
	MemoryLimitHit bool
	ExitCode       int
	HasExit        bool
	Frames         []Frame
}

func (e *CallError) Error() string { return e.Message }

func framesFrom(v *C.wasm_frame_vec_t) []Frame {
	if v.size == 0 {
		C.wasm_frame_vec_delete(v)
		return nil
	}
	n := int(v.size)
	if n > 64 {
		n = 64
	}
	frames := make([]Frame, 0, n)
	for _, f := range cslice(v.data, v.size)[:n] {
		frames = append(frames, Frame{
			Module:       nameString(C.wasmtime_frame_module_name(f)),
			Func:         nameString(C.wasmtime_frame_func_name(f)),
			FuncIndex:    uint32(C.wasm_frame_func_index(f)),
			ModuleOffset: uint64(C.wasm_frame_module_offset(f)),
		})
	}
	C.wasm_frame_vec_delete(v)
	return frames
}

// callErrorFrom converts and frees e.
func callErrorFrom(e *C.wasmtime_error_t, s *C.aw_store_state) *CallError {
	var msg C.wasm_name_t
	C.wasmtime_error_message(e, &msg)
	ce := &CallError{Message: string(takeBytes(&msg)), Code: -1}
	var code C.uint8_t
	if C.aw_error_trap_code(e, &code) != 0 {
		ce.Code = int(code)
	}
	var status C.int
	if C.wasmtime_error_exit_status(e, &status) {
		ce.HasExit, ce.ExitCode = true, int(status)
	}
	var fv C.wasm_frame_vec_t
	C.wasmtime_error_wasm_trace(e, &fv)
	ce.Frames = framesFrom(&fv)
	C.wasmtime_error_delete(e)
	if s != nil {
		ce.Stop = int(s.reason)
		ce.HostFailed = s.host_failed != 0
		ce.MemoryLimitHit = s.mem_limit_hit != 0
	}
	return ce
}

// callErrorFromTrap converts and frees a core-module trap.
func callErrorFromTrap(t *C.wasm_trap_t, s *C.aw_store_state) *CallError {
	var msg C.wasm_name_t
	C.wasm_trap_message(t, &msg)
	b := takeBytes(&msg)
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	ce := &CallError{Message: string(b), Code: -1}
	var code C.uint8_t
	if C.wasmtime_trap_code(t, &code) {
		ce.Code = int(code)
	}
	var fv C.wasm_frame_vec_t
	C.wasm_trap_trace(t, &fv)
	ce.Frames = framesFrom(&fv)
	C.wasm_trap_delete(t)
	if s != nil {
		ce.Stop = int(s.reason)
		ce.HostFailed = s.host_failed != 0
		ce.MemoryLimitHit = s.mem_limit_hit != 0
	}
	return ce
}
