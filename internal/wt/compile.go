package wt

/*
#include "shim.h"
*/
import "C"

import (
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// Component owns a compiled wasmtime_component_t. It is immutable and may be
// instantiated from many goroutines at once (Wasmtime's component is Sync).
type Component struct {
	p *C.wasmtime_component_t
}

// CompileComponent compiles component bytes.
func CompileComponent(e *Engine, wasm []byte) (*Component, error) {
	var out *C.wasmtime_component_t
	err := C.wasmtime_component_new(e.p, bytesPtr(wasm), C.size_t(len(wasm)), &out)
	if err != nil {
		return nil, takeError(err)
	}
	return &Component{p: out}, nil
}

// DeserializeComponent loads a component that Serialize produced with a
// compatible engine. Wasmtime checks the header and engine settings.
func DeserializeComponent(e *Engine, data []byte) (*Component, error) {
	var out *C.wasmtime_component_t
	err := C.wasmtime_component_deserialize(e.p, bytesPtr(data), C.size_t(len(data)), &out)
	if err != nil {
		return nil, takeError(err)
	}
	return &Component{p: out}, nil
}

// Serialize returns the compiled artifact.
func (c *Component) Serialize() ([]byte, error) {
	var v C.wasm_byte_vec_t
	if err := C.wasmtime_component_serialize(c.p, &v); err != nil {
		return nil, takeError(err)
	}
	return takeBytes(&v), nil
}

// Delete frees the component.
func (c *Component) Delete() {
	if c.p != nil {
		C.wasmtime_component_delete(c.p)
		c.p = nil
	}
}

// ExportIndex owns a wasmtime_component_export_index_t.
type ExportIndex struct {
	p *C.wasmtime_component_export_index_t
}

// ExportIndex looks up name inside parent (nil: the component's root).
func (c *Component) ExportIndex(parent *ExportIndex, name string) *ExportIndex {
	var pp *C.wasmtime_component_export_index_t
	if parent != nil {
		pp = parent.p
	}
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	p := C.wasmtime_component_get_export_index(c.p, pp, cs, C.size_t(len(name)))
	if p == nil {
		return nil
	}
	return &ExportIndex{p: p}
}

// Delete frees the index.
func (x *ExportIndex) Delete() {
	if x != nil && x.p != nil {
		C.wasmtime_component_export_index_delete(x.p)
		x.p = nil
	}
}

// Module owns a compiled core wasmtime_module_t.
type Module struct {
	p *C.wasmtime_module_t
}

// CompileModule compiles a core module.
func CompileModule(e *Engine, wasm []byte) (*Module, error) {
	var out *C.wasmtime_module_t
	if err := C.wasmtime_module_new(e.p, bytesPtr(wasm), C.size_t(len(wasm)), &out); err != nil {
		return nil, takeError(err)
	}
	return &Module{p: out}, nil
}

// DeserializeModule loads a serialized core module.
func DeserializeModule(e *Engine, data []byte) (*Module, error) {
	var out *C.wasmtime_module_t
	if err := C.wasmtime_module_deserialize(e.p, bytesPtr(data), C.size_t(len(data)), &out); err != nil {
		return nil, takeError(err)
	}
	return &Module{p: out}, nil
}

// Serialize returns the compiled artifact.
func (m *Module) Serialize() ([]byte, error) {
	var v C.wasm_byte_vec_t
	if err := C.wasmtime_module_serialize(m.p, &v); err != nil {
		return nil, takeError(err)
	}
	return takeBytes(&v), nil
}

// Delete frees the module.
func (m *Module) Delete() {
	if m.p != nil {
		C.wasmtime_module_delete(m.p)
		m.p = nil
	}
}

// CoreFunc is the type of a core function.
type CoreFunc struct {
	Params, Results []CoreType
}

// CoreType is a core value type.
type CoreType uint8

// Core value types (wasm_valkind_t).
const (
	I32       CoreType = 0
	I64       CoreType = 1
	F32       CoreType = 2
	F64       CoreType = 3
	V128      CoreType = 4
	ExternRef CoreType = 128
	FuncRef   CoreType = 129
)

func (t CoreType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case V128:
		return "v128"
	case ExternRef:
		return "externref"
	case FuncRef:
		return "funcref"
	}
	return "unknown"
}

// CoreItem is one import or export of a core module.
type CoreItem struct {
	Module string // imports only
	Name   string
	Kind   string // func, global, table, memory
	Func   *CoreFunc
}

var externKinds = [...]string{"func", "global", "table", "memory"}

func coreItem(ty *C.wasm_externtype_t) (string, *CoreFunc) {
	k := int(C.wasm_externtype_kind(ty))
	kind := "unknown"
	if k < len(externKinds) {
		kind = externKinds[k]
	}
	if k != 0 {
		return kind, nil
	}
	ft := C.wasm_externtype_as_functype_const(ty)
	conv := func(v *C.wasm_valtype_vec_t) []CoreType {
		out := make([]CoreType, 0, int(v.size))
		if v.size == 0 { // v.data may be a dangling non-null pointer
			return out
		}
		for _, vt := range cslice(v.data, v.size) {
			out = append(out, CoreType(C.wasm_valtype_kind(vt)))
		}
		return out
	}
	return kind, &CoreFunc{Params: conv(C.wasm_functype_params(ft)), Results: conv(C.wasm_functype_results(ft))}
}

// Imports lists the module's imports.
func (m *Module) Imports() []CoreItem {
	var v C.wasm_importtype_vec_t
	C.wasmtime_module_imports(m.p, &v)
	defer C.wasm_importtype_vec_delete(&v)
	out := make([]CoreItem, 0, int(v.size))
	if v.size == 0 { // v.data may be a dangling non-null pointer: keep it out of a slice
		return out
	}
	for _, it := range cslice(v.data, v.size) {
		kind, fn := coreItem(C.wasm_importtype_type(it))
		out = append(out, CoreItem{
			Module: nameString(C.wasm_importtype_module(it)),
			Name:   nameString(C.wasm_importtype_name(it)),
			Kind:   kind, Func: fn,
		})
	}
	return out
}

// Exports lists the module's exports.
func (m *Module) Exports() []CoreItem {
	var v C.wasm_exporttype_vec_t
	C.wasmtime_module_exports(m.p, &v)
	defer C.wasm_exporttype_vec_delete(&v)
	out := make([]CoreItem, 0, int(v.size))
	if v.size == 0 { // v.data may be a dangling non-null pointer: keep it out of a slice
		return out
	}
	for _, it := range cslice(v.data, v.size) {
		kind, fn := coreItem(C.wasm_exporttype_type(it))
		out = append(out, CoreItem{Name: nameString(C.wasm_exporttype_name(it)), Kind: kind, Func: fn})
	}
	return out
}

// Item is one import or export of a component.
type Item struct {
	Name    string
	Kind    string // func, instance, module, resource, type, component, core-func
	Func    *wit.FuncType
	Type    *wit.Type // for Kind "type"
	Members []Item    // for Kind "instance"
}

var itemKinds = [...]string{"component", "instance", "module", "func", "resource", "core-func", "type"}

// Types returns the component's imports and exports.
func (c *Component) Types(e *Engine) (imports, exports []Item) {
	ct := C.wasmtime_component_type(c.p)
	defer C.wasmtime_component_type_delete(ct)
	n := int(C.wasmtime_component_type_import_count(ct, e.p))
	for i := 0; i < n; i++ {
		var name *C.char
		var nl C.size_t
		var item C.wasmtime_component_item_t
		if C.wasmtime_component_type_import_nth(ct, e.p, C.size_t(i), &name, &nl, &item) {
			imports = append(imports, convItem(e, cString(name, nl), &item))
		}
	}
	n = int(C.wasmtime_component_type_export_count(ct, e.p))
	for i := 0; i < n; i++ {
		var name *C.char
		var nl C.size_t
		var item C.wasmtime_component_item_t
		if C.wasmtime_component_type_export_nth(ct, e.p, C.size_t(i), &name, &nl, &item) {
			exports = append(exports, convItem(e, cString(name, nl), &item))
		}
	}
	return imports, exports
}

// convItem converts and frees item.
func convItem(e *Engine, name string, item *C.wasmtime_component_item_t) Item {
	defer C.wasmtime_component_item_delete(item)
	out := Item{Name: name, Kind: "unknown"}
	if int(item.kind) < len(itemKinds) {
		out.Kind = itemKinds[item.kind]
	}
	p := unsafe.Pointer(&item.of)
	switch item.kind {
	case 1: // instance
		it := *(**C.wasmtime_component_instance_type_t)(p)
		n := int(C.wasmtime_component_instance_type_export_count(it, e.p))
		for i := 0; i < n; i++ {
			var nm *C.char
			var nl C.size_t
			var sub C.wasmtime_component_item_t
			if C.wasmtime_component_instance_type_export_nth(it, e.p, C.size_t(i), &nm, &nl, &sub) {
				out.Members = append(out.Members, convItem(e, cString(nm, nl), &sub))
			}
		}
	case 3: // func
		out.Func = funcType(*(**C.wasmtime_component_func_type_t)(p))
	case 6: // type
		out.Type = valType((*C.wasmtime_component_valtype_t)(p))
	}
	return out
}

// funcType converts (without freeing) a component function type.
func funcType(ft *C.wasmtime_component_func_type_t) *wit.FuncType {
	out := &wit.FuncType{}
	n := int(C.wasmtime_component_func_type_param_count(ft))
	for i := 0; i < n; i++ {
		var name *C.char
		var nl C.size_t
		var vt C.wasmtime_component_valtype_t
		if C.wasmtime_component_func_type_param_nth(ft, C.size_t(i), &name, &nl, &vt) {
			out.Params = append(out.Params, wit.Param{Name: cString(name, nl), Type: takeValType(&vt)})
		}
	}
	var vt C.wasmtime_component_valtype_t
	if C.wasmtime_component_func_type_result(ft, &vt) {
		out.Result = takeValType(&vt)
	}
	return out
}

func takeValType(vt *C.wasmtime_component_valtype_t) *wit.Type {
	t := valType(vt)
	C.wasmtime_component_valtype_delete(vt)
	return t
}

// Wasmtime's valtype kinds, in its order (which differs from value kinds).
var valTypeKinds = [...]wit.Kind{
	wit.KindBool, wit.KindS8, wit.KindS16, wit.KindS32, wit.KindS64, wit.KindU8, wit.KindU16, wit.KindU32,
	wit.KindU64, wit.KindF32, wit.KindF64, wit.KindChar, wit.KindString, wit.KindList, wit.KindRecord,
	wit.KindTuple, wit.KindVariant, wit.KindEnum, wit.KindOption, wit.KindResult, wit.KindFlags, wit.KindOwn,
	wit.KindBorrow, wit.KindFuture, wit.KindStream, wit.KindErrorContext,
}

// valType converts (without freeing) a valtype.
func valType(vt *C.wasmtime_component_valtype_t) *wit.Type {
	if int(vt.kind) >= len(valTypeKinds) {
		return &wit.Type{Kind: wit.KindInvalid}
	}
	k := valTypeKinds[vt.kind]
	if p := wit.Primitive(k); p != nil {
		return p
	}
	t := &wit.Type{Kind: k}
	of := unsafe.Pointer(&vt.of)
	switch k {
	case wit.KindList:
		var el C.wasmtime_component_valtype_t
		C.wasmtime_component_list_type_element(*(**C.wasmtime_component_list_type_t)(of), &el)
		t.Elem = takeValType(&el)
	case wit.KindRecord:
		r := *(**C.wasmtime_component_record_type_t)(of)
		n := int(C.wasmtime_component_record_type_field_count(r))
		for i := 0; i < n; i++ {
			var name *C.char
			var nl C.size_t
			var ft C.wasmtime_component_valtype_t
			if C.wasmtime_component_record_type_field_nth(r, C.size_t(i), &name, &nl, &ft) {
				t.Fields = append(t.Fields, wit.Field{Name: cString(name, nl), Type: takeValType(&ft)})
			}
		}
	case wit.KindTuple:
		tt := *(**C.wasmtime_component_tuple_type_t)(of)
		n := int(C.wasmtime_component_tuple_type_types_count(tt))
		for i := 0; i < n; i++ {
			var m C.wasmtime_component_valtype_t
			if C.wasmtime_component_tuple_type_types_nth(tt, C.size_t(i), &m) {
				t.Types = append(t.Types, takeValType(&m))
			}
		}
	case wit.KindVariant:
		v := *(**C.wasmtime_component_variant_type_t)(of)
		n := int(C.wasmtime_component_variant_type_case_count(v))
		for i := 0; i < n; i++ {
			var name *C.char
			var nl C.size_t
			var has C.bool
			var pt C.wasmtime_component_valtype_t
			if C.wasmtime_component_variant_type_case_nth(v, C.size_t(i), &name, &nl, &has, &pt) {
				c := wit.Case{Name: cString(name, nl)}
				if has {
					c.Type = takeValType(&pt)
				}
				t.Cases = append(t.Cases, c)
			}
		}
	case wit.KindEnum:
		en := *(**C.wasmtime_component_enum_type_t)(of)
		n := int(C.wasmtime_component_enum_type_names_count(en))
		for i := 0; i < n; i++ {
			var name *C.char
			var nl C.size_t
			if C.wasmtime_component_enum_type_names_nth(en, C.size_t(i), &name, &nl) {
				t.Names = append(t.Names, cString(name, nl))
			}
		}
	case wit.KindFlags:
		fl := *(**C.wasmtime_component_flags_type_t)(of)
		n := int(C.wasmtime_component_flags_type_names_count(fl))
		for i := 0; i < n; i++ {
			var name *C.char
			var nl C.size_t
			if C.wasmtime_component_flags_type_names_nth(fl, C.size_t(i), &name, &nl) {
				t.Names = append(t.Names, cString(name, nl))
			}
		}
	case wit.KindOption:
		var el C.wasmtime_component_valtype_t
		C.wasmtime_component_option_type_ty(*(**C.wasmtime_component_option_type_t)(of), &el)
		t.Elem = takeValType(&el)
	case wit.KindResult:
		r := *(**C.wasmtime_component_result_type_t)(of)
		var ok, er C.wasmtime_component_valtype_t
		if C.wasmtime_component_result_type_ok(r, &ok) {
			t.Ok = takeValType(&ok)
		}
		if C.wasmtime_component_result_type_err(r, &er) {
			t.Err = takeValType(&er)
		}
	}
	return t
}
