package wt

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"unicode/utf8"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/wit"
)

type cval = C.wasmtime_component_val_t

const (
	sizeofVal   = unsafe.Sizeof(C.wasmtime_component_val_t{})
	sizeofEntry = unsafe.Sizeof(C.wasmtime_component_valrecord_entry_t{})
	sizeofName  = unsafe.Sizeof(C.wasm_name_t{})
)

// Value kinds of wasmtime_component_val_t (WASMTIME_COMPONENT_*).
const (
	vkBool = iota
	vkS8
	vkU8
	vkS16
	vkU16
	vkS32
	vkU32
	vkS64
	vkU64
	vkF32
	vkF64
	vkChar
	vkString
	vkList
	vkRecord
	vkTuple
	vkVariant
	vkEnum
	vkOption
	vkResult
	vkFlags
	vkResource
)

// valKindOf maps wit kinds to value kinds; noValKind marks kinds a value
// cannot have (futures, streams, error contexts).
var valKindOf = [...]uint8{
	wit.KindInvalid: noValKind,
	wit.KindBool:    vkBool, wit.KindS8: vkS8, wit.KindU8: vkU8, wit.KindS16: vkS16, wit.KindU16: vkU16,
	wit.KindS32: vkS32, wit.KindU32: vkU32, wit.KindS64: vkS64, wit.KindU64: vkU64, wit.KindF32: vkF32,
	wit.KindF64: vkF64, wit.KindChar: vkChar, wit.KindString: vkString, wit.KindList: vkList,
	wit.KindRecord: vkRecord, wit.KindTuple: vkTuple, wit.KindVariant: vkVariant, wit.KindEnum: vkEnum,
	wit.KindOption: vkOption, wit.KindResult: vkResult, wit.KindFlags: vkFlags, wit.KindOwn: vkResource,
	wit.KindBorrow: vkResource, wit.KindFuture: noValKind, wit.KindStream: noValKind,
	wit.KindErrorContext: noValKind,
}

const noValKind = 0xff

func valKind(k wit.Kind) (uint8, bool) {
	if int(k) >= len(valKindOf) || valKindOf[k] == noValKind {
		return 0, false
	}
	return valKindOf[k], true
}

// arena is C memory for values passed into Wasmtime, which only reads them.
// Chunks never move, so pointers stay valid until reset.
type arena struct {
	chunks []unsafe.Pointer
	sizes  []uintptr
	cur    int
	off    uintptr
}

const arenaChunk = 64 << 10

func (a *arena) alloc(n uintptr) unsafe.Pointer {
	n = (n + 7) &^ 7
	for a.cur < len(a.chunks) {
		if a.off+n <= a.sizes[a.cur] {
			p := unsafe.Add(a.chunks[a.cur], a.off)
			a.off += n
			clear(unsafe.Slice((*byte)(p), n))
			return p
		}
		a.cur++
		a.off = 0
	}
	size := uintptr(arenaChunk)
	if n > size {
		size = n
	}
	p := C.malloc(C.size_t(size))
	if p == nil {
		panic("wt: out of C memory")
	}
	a.chunks = append(a.chunks, p)
	a.sizes = append(a.sizes, size)
	a.cur = len(a.chunks) - 1
	a.off = n
	clear(unsafe.Slice((*byte)(p), n))
	return p
}

// reset makes all chunks reusable; chunks past the first megabyte are freed
// so one huge call does not pin memory for the store's life.
func (a *arena) reset() {
	var total uintptr
	for i, s := range a.sizes {
		total += s
		if total > 1<<20 {
			for _, p := range a.chunks[i:] {
				C.free(p)
			}
			a.chunks, a.sizes = a.chunks[:i], a.sizes[:i]
			break
		}
	}
	a.cur, a.off = 0, 0
}

// arenaMark is a position in the arena.
type arenaMark struct {
	cur, chunks int
	off         uintptr
}

func (a *arena) mark() arenaMark { return arenaMark{a.cur, len(a.chunks), a.off} }

// release frees everything allocated since m for reuse. Chunks added since
// m are given back to C beyond the first megabyte, as reset does: a guest
// that makes a host function return ever larger results, call after call,
// must not make the arena hold them all until its call ends.
func (a *arena) release(m arenaMark) {
	a.cur, a.off = m.cur, m.off
	var total uintptr
	for i, size := range a.sizes {
		total += size
		if i >= m.chunks && total > 1<<20 {
			for _, p := range a.chunks[i:] {
				C.free(p)
			}
			a.chunks, a.sizes = a.chunks[:i], a.sizes[:i]
			return
		}
	}
}

func (a *arena) free() {
	for _, p := range a.chunks {
		C.free(p)
	}
	a.chunks, a.sizes = nil, nil
	a.cur, a.off = 0, 0
}

func (a *arena) name(dst *C.wasm_name_t, s string) {
	dst.size = C.size_t(len(s))
	if len(s) == 0 {
		dst.data = nil
		return
	}
	p := a.alloc(uintptr(len(s)))
	copy(unsafe.Slice((*byte)(p), len(s)), s)
	dst.data = (*C.uint8_t)(p)
}

func (a *arena) bytes(dst *C.wasm_name_t, b []byte) {
	dst.size = C.size_t(len(b))
	if len(b) == 0 {
		dst.data = nil
		return
	}
	p := a.alloc(uintptr(len(b)))
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	dst.data = (*C.uint8_t)(p)
}

func of(v *cval) unsafe.Pointer { return unsafe.Pointer(&v.of) }

// encode writes Go value v of type t into dst, in arena memory. A
// *wit.TypeError's Path is relative to v; callers prefix their segment on
// the way out, so the success path builds no strings.
func (s *Store) encode(t *wit.Type, v any, dst *cval) error {
	k, ok := valKind(t.Kind)
	if !ok {
		return &wit.TypeError{Want: t.String(), Got: "a type this host cannot pass"}
	}
	dst.kind = C.uint8_t(k)
	p := of(dst)
	switch t.Kind {
	case wit.KindBool:
		b, ok := v.(bool)
		if !ok {
			return wit.Mismatch("", t, v)
		}
		*(*bool)(p) = b
	case wit.KindS8, wit.KindS16, wit.KindS32, wit.KindS64:
		i, ok := wit.AsInt64(v)
		lo, hi := wit.IntRange(t.Kind)
		if !ok || i < lo || (i > 0 && uint64(i) > hi) {
			return wit.Mismatch("", t, v)
		}
		switch t.Kind {
		case wit.KindS8:
			*(*int8)(p) = int8(i)
		case wit.KindS16:
			*(*int16)(p) = int16(i)
		case wit.KindS32:
			*(*int32)(p) = int32(i)
		default:
			*(*int64)(p) = i
		}
	case wit.KindU8, wit.KindU16, wit.KindU32, wit.KindU64:
		u, ok := wit.AsUint64(v)
		_, hi := wit.IntRange(t.Kind)
		if !ok || u > hi {
			return wit.Mismatch("", t, v)
		}
		switch t.Kind {
		case wit.KindU8:
			*(*uint8)(p) = uint8(u)
		case wit.KindU16:
			*(*uint16)(p) = uint16(u)
		case wit.KindU32:
			*(*uint32)(p) = uint32(u)
		default:
			*(*uint64)(p) = u
		}
	case wit.KindF32, wit.KindF64:
		f, ok := wit.AsFloat64(v)
		if !ok {
			return wit.Mismatch("", t, v)
		}
		if t.Kind == wit.KindF32 {
			*(*float32)(p) = float32(f)
		} else {
			*(*float64)(p) = f
		}
	case wit.KindChar:
		var r rune
		switch x := v.(type) {
		case wit.Char:
			r = rune(x)
		case rune:
			r = x
		default:
			return wit.Mismatch("", t, v)
		}
		if !wit.ValidChar(r) {
			return &wit.TypeError{Want: "char", Got: "invalid Unicode scalar value"}
		}
		*(*uint32)(p) = uint32(r)
	case wit.KindString:
		str, ok := v.(string)
		if !ok {
			return wit.Mismatch("", t, v)
		}
		// Wasmtime's C API aborts the process on a string that is not
		// UTF-8 (v39: an unwrap in its conversion); refuse it here.
		if !utf8.ValidString(str) {
			return &wit.TypeError{Want: "string", Got: "a string that is not valid UTF-8"}
		}
		s.arena.name((*C.wasm_name_t)(p), str)
	case wit.KindList:
		l := (*C.wasmtime_component_vallist_t)(p)
		if b, ok := v.([]byte); ok && t.Elem.Kind == wit.KindU8 {
			vals := s.allocVals(len(b))
			for i, x := range b {
				vals[i].kind = vkU8
				*(*uint8)(of(&vals[i])) = x
			}
			l.size, l.data = C.size_t(len(b)), ptrOf(vals)
			return nil
		}
		elems, ok := wit.Elems(v)
		if !ok {
			return wit.Mismatch("", t, v)
		}
		vals := s.allocVals(len(elems))
		for i, e := range elems {
			if err := s.encode(t.Elem, e, &vals[i]); err != nil {
				return prefixPath(err, "["+itoa(i)+"]")
			}
		}
		l.size, l.data = C.size_t(len(elems)), ptrOf(vals)
	case wit.KindTuple:
		elems, ok := wit.Elems(v)
		if !ok || len(elems) != len(t.Types) {
			return wit.Mismatch("", t, v)
		}
		l := (*C.wasmtime_component_valtuple_t)(p)
		vals := s.allocVals(len(elems))
		for i, e := range elems {
			if err := s.encode(t.Types[i], e, &vals[i]); err != nil {
				return prefixPath(err, "."+itoa(i))
			}
		}
		l.size, l.data = C.size_t(len(elems)), ptrOf(vals)
	case wit.KindRecord:
		fields, err := recordFields(t, v)
		if err != nil {
			return err
		}
		r := (*C.wasmtime_component_valrecord_t)(p)
		n := len(t.Fields)
		var entries []C.wasmtime_component_valrecord_entry_t
		r.data = nil
		if n > 0 {
			ep := s.arena.alloc(uintptr(n) * sizeofEntry)
			entries = unsafe.Slice((*C.wasmtime_component_valrecord_entry_t)(ep), n)
			r.data = &entries[0]
		}
		r.size = C.size_t(n)
		for i, f := range t.Fields {
			s.arena.name(&entries[i].name, f.Name)
			if err := s.encode(f.Type, fields.at(i), &entries[i].val); err != nil {
				return prefixPath(err, "."+f.Name)
			}
		}
	case wit.KindVariant:
		vv, ok := v.(wit.Variant)
		if !ok {
			return wit.Mismatch("", t, v)
		}
		ci := t.CaseIndex(vv.Case)
		if ci < 0 {
			return &wit.TypeError{Want: t.String(), Got: "unknown case " + vv.Case}
		}
		dv := (*C.wasmtime_component_valvariant_t)(p)
		s.arena.name(&dv.discriminant, vv.Case)
		dv.val = nil
		if ct := t.Cases[ci].Type; ct != nil {
			dv.val = s.allocOne()
			if err := s.encode(ct, vv.Value, dv.val); err != nil {
				return prefixPath(err, "("+vv.Case+")")
			}
		} else if vv.Value != nil {
			return &wit.TypeError{Want: "case " + vv.Case + " without payload", Got: "a payload"}
		}
	case wit.KindEnum:
		var name string
		switch x := v.(type) {
		case wit.Enum:
			name = string(x)
		case string:
			name = x
		default:
			return wit.Mismatch("", t, v)
		}
		if t.NameIndex(name) < 0 {
			return &wit.TypeError{Want: t.String(), Got: "unknown case " + name}
		}
		s.arena.name((*C.wasm_name_t)(p), name)
	case wit.KindOption:
		var inner any
		some := true
		switch x := v.(type) {
		case wit.Option:
			some, inner = x.IsSome, x.Value
		case nil:
			some = false
		default:
			inner = v
		}
		slot := (**cval)(p)
		*slot = nil
		if some {
			*slot = s.allocOne()
			if err := s.encode(t.Elem, inner, *slot); err != nil {
				return prefixPath(err, "?")
			}
		}
	case wit.KindResult:
		rv, ok := v.(wit.Result)
		if !ok {
			return wit.Mismatch("", t, v)
		}
		r := (*C.wasmtime_component_valresult_t)(p)
		r.is_ok = C.bool(!rv.IsErr)
		r.val = nil
		pt := t.Ok
		side := "ok"
		if rv.IsErr {
			pt, side = t.Err, "err"
		}
		if pt == nil {
			if rv.Value != nil {
				return &wit.TypeError{Want: t.String(), Got: side + " with a payload"}
			}
			return nil
		}
		r.val = s.allocOne()
		if err := s.encode(pt, rv.Value, r.val); err != nil {
			return prefixPath(err, "."+side)
		}
	case wit.KindFlags:
		set, err := wit.FlagSet("", t, v)
		if err != nil {
			return err
		}
		n := 0
		for _, b := range set {
			if b {
				n++
			}
		}
		f := (*C.wasmtime_component_valflags_t)(p)
		f.size, f.data = C.size_t(n), nil
		if n > 0 {
			names := unsafe.Slice((*C.wasm_name_t)(s.arena.alloc(uintptr(n)*sizeofName)), n)
			j := 0
			for i, b := range set {
				if b {
					s.arena.name(&names[j], t.Names[i])
					j++
				}
			}
			f.data = &names[0]
		}
	case wit.KindOwn, wit.KindBorrow:
		if hr, ok := v.(HostResource); ok {
			return s.encodeHost(t, hr, p)
		}
		r, ok := v.(*Resource)
		if !ok || r == nil || r.p == nil {
			return wit.Mismatch("", t, v)
		}
		if r.store != s {
			return &wit.TypeError{Want: t.String(), Got: "a resource of another instance"}
		}
		if t.Kind == wit.KindOwn && r.owned {
			// Ownership passes to the guest with the call (see Call).
			s.moved = append(s.moved, r)
		}
		*(**C.wasmtime_component_resource_any_t)(p) = r.p
	}
	return nil
}

func ptrOf(v []cval) *cval {
	if len(v) == 0 {
		return nil
	}
	return &v[0]
}

func (s *Store) allocVals(n int) []cval {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*cval)(s.arena.alloc(uintptr(n)*sizeofVal)), n)
}

func (s *Store) allocOne() *cval { return (*cval)(s.arena.alloc(sizeofVal)) }

var errKind = errors.New("value kind does not match its type")

// prefixPath puts seg in front of a type error's path.
func prefixPath(err error, seg string) error {
	var te *wit.TypeError
	if errors.As(err, &te) {
		te.Path = seg + te.Path
	}
	return err
}

// fieldValues are a record's input values in the type's field order.
type fieldValues struct {
	rec  wit.Record // input already in order, or
	vals []any      // reordered
}

func (f fieldValues) at(i int) any {
	if f.rec != nil {
		return f.rec[i].Value
	}
	return f.vals[i]
}

// recordFields matches a record input to t without allocating when it is a
// wit.Record in field order (the common case).
func recordFields(t *wit.Type, v any) (fieldValues, error) {
	if r, ok := v.(wit.Record); ok && len(r) == len(t.Fields) {
		inOrder := true
		for i := range r {
			if r[i].Name != t.Fields[i].Name {
				inOrder = false
				break
			}
		}
		if inOrder {
			return fieldValues{rec: r}, nil
		}
	}
	vals, err := wit.RecordFields("", t, v)
	return fieldValues{vals: vals}, err
}

// decode reads a Wasmtime-produced value of type t. Resource handles are
// cloned so the store owns them independently of src.
func (s *Store) decode(t *wit.Type, src *cval) (any, error) {
	want, ok := valKind(t.Kind)
	if !ok || uint8(src.kind) != want {
		return nil, &wit.TypeError{Want: t.String(), Got: "value of kind " + itoa(int(src.kind))}
	}
	p := of(src)
	switch t.Kind {
	case wit.KindBool:
		return *(*bool)(p), nil
	case wit.KindS8:
		return *(*int8)(p), nil
	case wit.KindU8:
		return *(*uint8)(p), nil
	case wit.KindS16:
		return *(*int16)(p), nil
	case wit.KindU16:
		return *(*uint16)(p), nil
	case wit.KindS32:
		return *(*int32)(p), nil
	case wit.KindU32:
		return *(*uint32)(p), nil
	case wit.KindS64:
		return *(*int64)(p), nil
	case wit.KindU64:
		return *(*uint64)(p), nil
	case wit.KindF32:
		return *(*float32)(p), nil
	case wit.KindF64:
		return *(*float64)(p), nil
	case wit.KindChar:
		return wit.Char(*(*uint32)(p)), nil
	case wit.KindString:
		return nameString((*C.wasm_name_t)(p)), nil
	case wit.KindEnum:
		return wit.Enum(nameString((*C.wasm_name_t)(p))), nil
	case wit.KindList:
		l := (*C.wasmtime_component_vallist_t)(p)
		vals := cslice(l.data, l.size)
		if t.Elem.Kind == wit.KindU8 {
			out := make([]byte, len(vals))
			for i := range vals {
				if vals[i].kind != vkU8 {
					return nil, errKind
				}
				out[i] = *(*uint8)(of(&vals[i]))
			}
			return out, nil
		}
		out := make([]any, len(vals))
		for i := range vals {
			e, err := s.decode(t.Elem, &vals[i])
			if err != nil {
				return nil, prefixPath(err, "["+itoa(i)+"]")
			}
			out[i] = e
		}
		return out, nil
	case wit.KindTuple:
		l := (*C.wasmtime_component_valtuple_t)(p)
		vals := cslice(l.data, l.size)
		if len(vals) != len(t.Types) {
			return nil, errKind
		}
		out := make(wit.Tuple, len(vals))
		for i := range vals {
			e, err := s.decode(t.Types[i], &vals[i])
			if err != nil {
				return nil, prefixPath(err, "."+itoa(i))
			}
			out[i] = e
		}
		return out, nil
	case wit.KindRecord:
		r := (*C.wasmtime_component_valrecord_t)(p)
		entries := cslice(r.data, r.size)
		if len(entries) != len(t.Fields) {
			return nil, errKind
		}
		out := make(wit.Record, len(entries))
		for i := range entries {
			e, err := s.decode(t.Fields[i].Type, &entries[i].val)
			if err != nil {
				return nil, prefixPath(err, "."+t.Fields[i].Name)
			}
			out[i] = wit.NamedValue{Name: nameString(&entries[i].name), Value: e}
		}
		return out, nil
	case wit.KindVariant:
		dv := (*C.wasmtime_component_valvariant_t)(p)
		name := nameString(&dv.discriminant)
		ci := t.CaseIndex(name)
		if ci < 0 {
			return nil, errKind
		}
		out := wit.Variant{Case: name}
		if ct := t.Cases[ci].Type; ct != nil && dv.val != nil {
			e, err := s.decode(ct, dv.val)
			if err != nil {
				return nil, prefixPath(err, "("+name+")")
			}
			out.Value = e
		}
		return out, nil
	case wit.KindOption:
		inner := *(**cval)(p)
		if inner == nil {
			return wit.None(), nil
		}
		e, err := s.decode(t.Elem, inner)
		if err != nil {
			return nil, prefixPath(err, "?")
		}
		return wit.Some(e), nil
	case wit.KindResult:
		r := (*C.wasmtime_component_valresult_t)(p)
		out := wit.Result{IsErr: !bool(r.is_ok)}
		pt := t.Ok
		if out.IsErr {
			pt = t.Err
		}
		if pt != nil && r.val != nil {
			e, err := s.decode(pt, r.val)
			if err != nil {
				return nil, prefixPath(err, "")
			}
			out.Value = e
		}
		return out, nil
	case wit.KindFlags:
		f := (*C.wasmtime_component_valflags_t)(p)
		names := cslice(f.data, f.size)
		out := make(wit.Flags, 0, len(names))
		for i := range names {
			out = append(out, nameString(&names[i]))
		}
		return out, nil
	case wit.KindOwn, wit.KindBorrow:
		rp := *(**C.wasmtime_component_resource_any_t)(p)
		if rp == nil {
			return nil, errKind
		}
		if hr, ok := s.decodeHost(rp); ok {
			return hr, nil
		}
		r := &Resource{p: C.wasmtime_component_resource_any_clone(rp), store: s}
		r.owned = bool(C.wasmtime_component_resource_any_owned(r.p))
		s.resources[r] = struct{}{}
		if !r.owned && s.inHost > 0 {
			s.borrows = append(s.borrows, r)
		}
		return r, nil
	}
	return nil, errKind
}

// Resource is a handle to a component resource, owned by the store it came
// from. The store frees it when it is deleted; Drop frees it earlier.
type Resource struct {
	p     *C.wasmtime_component_resource_any_t
	owned bool
	store *Store
}

// Owned reports whether this is an own handle (true) or a borrow.
func (r *Resource) Owned() bool { return r.owned }

// Valid reports whether the handle can still be used.
func (r *Resource) Valid() bool { return r.p != nil }

// ErrResourceGone is returned for a resource handle that was dropped
// before, moved into the guest as an own argument, or whose instance
// closed.
var ErrResourceGone = errors.New("resource handle is no longer valid (dropped, moved into the guest, or its instance closed)")

// Drop runs the resource's destructor (for an own handle) and frees the
// handle. The store's owner decides when that may happen (see
// Env.DropResource): not while another goroutine calls into the store, not
// after it closed, and with the same fuel and time limits as a call.
func (r *Resource) Drop() error {
	if r.store == nil {
		return ErrResourceGone
	}
	// r.p and the store's state are read only once the owner has claimed
	// the store (DropNow), never here: another goroutine may be using it.
	return r.store.env.DropResource(r)
}

// DropNow is Drop for the store's owner, which has claimed the store. An own
// handle's destructor runs in the guest within o's limits; a failure is a
// *CallError.
func (r *Resource) DropNow(o CallOptions) error {
	s := r.store
	if r.p == nil || s == nil || s.st == nil {
		return ErrResourceGone
	}
	var err error
	if r.owned {
		if e := C.aw_resource_drop(s.cx, s.state, r.p, C.uint64_t(o.Fuel), C.int64_t(o.Timeout),
			boolInt(s.epoch)); e != nil {
			err = s.fail(e)
		}
	}
	r.free()
	delete(s.resources, r)
	s.forgetMoved()
	if derr := s.drainDrops(); derr != nil && err == nil {
		err = s.dropFailure(derr)
	}
	return err
}

func (r *Resource) free() {
	if r.p != nil {
		C.wasmtime_component_resource_any_delete(r.p)
		r.p = nil
	}
}
