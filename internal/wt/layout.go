package wt

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Layout reports the sizes and field offsets of the C API structs as
// declared in wt.h, for the test that compares them with Wasmtime's own
// headers.
func Layout() map[string]uintptr {
	var v C.wasmtime_component_val_t
	var e C.wasmtime_component_valrecord_entry_t
	var vv C.wasmtime_component_valvariant_t
	var vr C.wasmtime_component_valresult_t
	var vt C.wasmtime_component_valtype_t
	var it C.wasmtime_component_item_t
	var cv C.wasmtime_val_t
	var ex C.wasmtime_extern_t
	var lm C.wasmtime_linear_memory_t
	return map[string]uintptr{
		"wasmtime_component_val_t":                 unsafe.Sizeof(v),
		"wasmtime_component_val_t.of":              unsafe.Offsetof(v.of),
		"wasmtime_component_valrecord_entry_t":     unsafe.Sizeof(e),
		"wasmtime_component_valrecord_entry_t.val": unsafe.Offsetof(e.val),
		"wasmtime_component_valvariant_t":          unsafe.Sizeof(vv),
		"wasmtime_component_valvariant_t.val":      unsafe.Offsetof(vv.val),
		"wasmtime_component_valresult_t":           unsafe.Sizeof(vr),
		"wasmtime_component_valresult_t.val":       unsafe.Offsetof(vr.val),
		"wasmtime_component_valtype_t":             unsafe.Sizeof(vt),
		"wasmtime_component_valtype_t.of":          unsafe.Offsetof(vt.of),
		"wasmtime_component_item_t":                unsafe.Sizeof(it),
		"wasmtime_component_item_t.of":             unsafe.Offsetof(it.of),
		"wasmtime_component_func_t":                unsafe.Sizeof(C.wasmtime_component_func_t{}),
		"wasmtime_component_instance_t":            unsafe.Sizeof(C.wasmtime_component_instance_t{}),
		"wasmtime_component_vallist_t":             unsafe.Sizeof(C.wasmtime_component_vallist_t{}),
		"wasmtime_component_valflags_t":            unsafe.Sizeof(C.wasmtime_component_valflags_t{}),
		"wasmtime_val_t":                           unsafe.Sizeof(cv),
		"wasmtime_val_t.of":                        unsafe.Offsetof(cv.of),
		"wasmtime_extern_t":                        unsafe.Sizeof(ex),
		"wasmtime_extern_t.of":                     unsafe.Offsetof(ex.of),
		"wasmtime_func_t":                          unsafe.Sizeof(C.wasmtime_func_t{}),
		"wasmtime_instance_t":                      unsafe.Sizeof(C.wasmtime_instance_t{}),
		"wasmtime_memory_t":                        unsafe.Sizeof(C.wasmtime_memory_t{}),
		"wasm_byte_vec_t":                          unsafe.Sizeof(C.wasm_byte_vec_t{}),
		"wasmtime_linear_memory_t":                 unsafe.Sizeof(lm),
		"wasmtime_linear_memory_t.finalizer":       unsafe.Offsetof(lm.finalizer),
		"wasmtime_memory_creator_t":                unsafe.Sizeof(C.wasmtime_memory_creator_t{}),
	}
}
