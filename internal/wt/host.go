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

// storeOf finds the Go store behind a Wasmtime context inside a callback.
func storeOf(cx *C.wasmtime_context_t) *Store {
	st := (*C.aw_store_state)(C.wasmtime_context_get_data(cx))
	if st == nil {
		return nil
	}
	s, _ := cgo.Handle(st.go_handle).Value().(*Store)
	return s
}

// hostFailure records why a host function failed and returns the error that
// makes Wasmtime trap the guest's call.
func (s *Store) hostFailure(err error) *C.wasmtime_error_t {
	s.hostErr = err
	s.state.host_failed = 1
	msg := C.CString("host function failed: " + err.Error())
	defer C.free(unsafe.Pointer(msg))
	return C.wasmtime_error_new(msg)
}

//export awGoComponentHostCall
func awGoComponentHostCall(env C.uintptr_t, storeHandle C.uintptr_t, args *C.wasmtime_component_val_t,
	nargs C.size_t, res *C.wasmtime_component_val_t, nres C.size_t) (ret *C.wasmtime_error_t) {
	f := cgo.Handle(env).Value().(*HostFunc)
	var s *Store
	if storeHandle != 0 {
		s, _ = cgo.Handle(storeHandle).Value().(*Store)
	}
	if s == nil {
		msg := C.CString("host function called outside an airssys store")
		defer C.free(unsafe.Pointer(msg))
		return C.wasmtime_error_new(msg)
	}
	defer func() {
		if r := recover(); r != nil {
			ret = s.hostFailure(fmt.Errorf("%s: panic: %v", f.FullName, r))
		}
	}()
	// Host resources the guest dropped since its last host call are
	// forgotten first, so that what this call makes fits in their room.
	if err := s.drainDrops(); err != nil {
		return s.hostFailure(err)
	}
	ft := s.env.ImportType(f.FullName)
	if ft == nil {
		return s.hostFailure(fmt.Errorf("%s: no type known for this import", f.FullName))
	}
	if int(nargs) != len(ft.Params) || int(nres) > 1 || (int(nres) == 1) != (ft.Result != nil) {
		return s.hostFailure(fmt.Errorf("%s: called with %d args and %d results, type is %s", f.FullName,
			nargs, nres, ft))
	}
	mark := len(s.borrows)
	s.inHost++
	// What this host call puts in the arena (its result, before Wasmtime
	// copies it) is freed when it returns: a guest looping over an import
	// reuses the same memory instead of growing the arena until the end of
	// its call.
	amark := s.arena.mark()
	defer s.arena.release(amark)
	defer s.freeAnys(len(s.anys))
	defer func() {
		// Borrowed handles end with the call that lent them.
		for _, r := range s.borrows[mark:] {
			r.free()
			delete(s.resources, r)
		}
		clear(s.borrows[mark:])
		s.borrows = s.borrows[:mark]
		s.inHost--
	}()
	in := make([]any, len(ft.Params))
	cargs := cslice(args, nargs)
	for i, p := range ft.Params {
		v, err := s.decode(p.Type, &cargs[i])
		if err != nil {
			err = prefixPath(err, p.Name)
			return s.hostFailure(fmt.Errorf("%s: %w", f.FullName, err))
		}
		in[i] = v
	}
	out, err := f.Fn(s.env.Context(), in)
	if err != nil {
		return s.hostFailure(fmt.Errorf("%s: %w", f.FullName, err))
	}
	if ft.Result == nil {
		return nil
	}
	if fastBytesResult(ft.Result, out, res) {
		return nil
	}
	// Encode into the arena (type-checked), then deep-copy into memory that
	// Wasmtime owns and frees.
	tmp := s.allocOne()
	if err := s.encode(ft.Result, out, tmp); err != nil {
		err = prefixPath(err, "result")
		return s.hostFailure(fmt.Errorf("%s returned a bad result: %w", f.FullName, err))
	}
	if k := ft.Result.Kind; k.IsPrimitive() && k != wit.KindString {
		*res = *tmp // plain data, nothing for Wasmtime to own
	} else {
		C.wasmtime_component_val_clone(tmp, res)
	}
	return nil
}

// CoreHostFunc is a Go function behind a core-module import.
type CoreHostFunc struct {
	Name string
	Type CoreFunc
	Fn   func(s *Store, args []any) ([]any, error)
}

//export awGoModuleHostCall
func awGoModuleHostCall(env C.uintptr_t, cx *C.wasmtime_context_t, args *C.wasmtime_val_t, nargs C.size_t,
	res *C.wasmtime_val_t, nres C.size_t) (ret *C.wasm_trap_t) {
	f := cgo.Handle(env).Value().(*CoreHostFunc)
	s := storeOf(cx)
	fail := func(err error) *C.wasm_trap_t {
		msg := "host function failed: " + err.Error()
		if s != nil {
			s.hostErr = err
			s.state.host_failed = 1
		}
		cs := C.CString(msg)
		defer C.free(unsafe.Pointer(cs))
		return C.wasmtime_trap_new(cs, C.size_t(len(msg)))
	}
	if s == nil {
		return fail(fmt.Errorf("%s: called outside an airssys store", f.Name))
	}
	defer func() {
		if r := recover(); r != nil {
			ret = fail(fmt.Errorf("%s: panic: %v", f.Name, r))
		}
	}()
	in := make([]any, int(nargs))
	for i, a := range cslice(args, nargs) {
		in[i] = coreDecode(&a)
	}
	out, err := f.Fn(s, in)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", f.Name, err))
	}
	if len(out) != int(nres) {
		return fail(fmt.Errorf("%s returned %d results, want %d", f.Name, len(out), nres))
	}
	for i, r := range cslice(res, nres) {
		if err := coreEncode(f.Type.Results[i], out[i], &r); err != nil {
			return fail(fmt.Errorf("%s result %d: %w", f.Name, i, err))
		}
		cslice(res, nres)[i] = r
	}
	return nil
}

func coreDecode(v *C.wasmtime_val_t) any {
	p := unsafe.Pointer(&v.of)
	switch CoreType(v.kind) {
	case 0:
		return *(*int32)(p)
	case 1:
		return *(*int64)(p)
	case 2:
		return *(*float32)(p)
	case 3:
		return *(*float64)(p)
	}
	return nil
}

// Wasmtime's own core value kinds (wasmtime_valkind_t) for numbers match
// wasm_valkind_t: i32 0, i64 1, f32 2, f64 3.
func coreEncode(t CoreType, v any, dst *C.wasmtime_val_t) error {
	p := unsafe.Pointer(&dst.of)
	dst.kind = C.uint8_t(t)
	switch t {
	case I32:
		i, ok := wit.AsInt64(v)
		if !ok {
			if u, uok := wit.AsUint64(v); uok && u <= 0xFFFFFFFF {
				i, ok = int64(int32(uint32(u))), true
			}
		}
		if !ok || i < -1<<31 || i > 1<<32-1 {
			return &wit.TypeError{Want: "i32", Got: fmt.Sprintf("%T %v", v, v)}
		}
		*(*int32)(p) = int32(i)
	case I64:
		i, ok := wit.AsInt64(v)
		if !ok {
			if u, uok := wit.AsUint64(v); uok {
				i, ok = int64(u), true
			}
		}
		if !ok {
			return &wit.TypeError{Want: "i64", Got: fmt.Sprintf("%T %v", v, v)}
		}
		*(*int64)(p) = i
	case F32, F64:
		f, ok := wit.AsFloat64(v)
		if !ok {
			return &wit.TypeError{Want: t.String(), Got: fmt.Sprintf("%T %v", v, v)}
		}
		if t == F32 {
			*(*float32)(p) = float32(f)
		} else {
			*(*float64)(p) = f
		}
	default:
		return &wit.TypeError{Want: "a number type", Got: t.String()}
	}
	return nil
}

// fastBytesResult writes the common results of byte-moving host functions
// (string, list<u8>, and those inside ok(...), some(...) or ok(some(...)))
// straight into
// Wasmtime's memory: one copy, no arena and no deep clone, which for a
// list<u8> would convert every byte twice more. It reports false for any
// other result, which takes the general path.
func fastBytesResult(t *wit.Type, v any, res *C.wasmtime_component_val_t) bool {
	wrap, wrapKind := 0, uint8(0)
	inner := t
	switch t.Kind {
	case wit.KindResult:
		r, ok := v.(wit.Result)
		if !ok || r.IsErr || t.Ok == nil {
			return false
		}
		wrap, wrapKind, inner, v = 1, vkResult, t.Ok, r.Value
		if inner.Kind == wit.KindOption { // ok(some(...)): a key-value get
			o, ok := v.(wit.Option)
			if !ok || !o.IsSome || inner.Elem == nil {
				return false
			}
			wrap, inner, v = 3, inner.Elem, o.Value
		}
	case wit.KindOption:
		o, ok := v.(wit.Option)
		if !ok || !o.IsSome || t.Elem == nil {
			return false
		}
		wrap, wrapKind, inner, v = 2, vkOption, t.Elem, o.Value
	}
	var p *byte
	var n int
	asString := 0
	switch {
	case inner.Kind == wit.KindString:
		s, ok := v.(string)
		if !ok || !utf8.ValidString(s) {
			return false // the general path refuses it with a clear error
		}
		p, n, asString = unsafe.StringData(s), len(s), 1
	case inner.Kind == wit.KindList && inner.Elem != nil && inner.Elem.Kind == wit.KindU8:
		b, ok := v.([]byte)
		if !ok {
			return false
		}
		p, n = unsafe.SliceData(b), len(b)
	default:
		return false
	}
	vk := uint8(vkList)
	if asString == 1 {
		vk = vkString
	}
	C.aw_host_result_bytes(res, (*C.uint8_t)(p), C.size_t(n), C.int(asString), C.uint8_t(vk), C.uint8_t(vkU8),
		C.uint8_t(wrapKind), C.int(wrap), C.uint8_t(vkOption))
	return true
}
