// Package wit describes WebAssembly Interface Type (WIT) types and the Go
// values that stand for them.
//
// The engine builds a *Type tree from Wasmtime's type introspection for every
// function it calls, checks Go arguments against it before a call, and decodes
// results into the Go values listed below. Nothing here touches cgo, so other
// packages (the WAVE codec, the runtime, the CLI) can share one value model.
//
// Go value for each WIT type:
//
//	bool                   bool
//	s8 s16 s32 s64         int8 int16 int32 int64 (any Go integer that fits is accepted as input)
//	u8 u16 u32 u64         uint8 uint16 uint32 uint64 (idem)
//	f32 f64                float32 float64 (either float type is accepted as input)
//	char                   Char
//	string                 string
//	list<u8>               []byte
//	list<T>                []any (any Go slice or array is accepted as input)
//	record                 Record (a map[string]any is accepted as input)
//	tuple                  Tuple ([]any is accepted as input)
//	variant                Variant
//	enum                   Enum (a string is accepted as input)
//	option<T>              Option (input: Option, nil for none, any other value for some)
//	result<T, E>           Result
//	flags                  Flags (the set names)
//	own<R>, borrow<R>      a Resource (the engine's resource handle)
package wit

import (
	"fmt"
	"strings"
)

// Kind is the kind of a WIT type.
type Kind uint8

// The WIT type kinds.
const (
	KindInvalid Kind = iota
	KindBool
	KindS8
	KindU8
	KindS16
	KindU16
	KindS32
	KindU32
	KindS64
	KindU64
	KindF32
	KindF64
	KindChar
	KindString
	KindList
	KindRecord
	KindTuple
	KindVariant
	KindEnum
	KindOption
	KindResult
	KindFlags
	KindOwn
	KindBorrow
	KindFuture
	KindStream
	KindErrorContext
)

var kindNames = [...]string{
	KindInvalid: "invalid", KindBool: "bool", KindS8: "s8", KindU8: "u8", KindS16: "s16", KindU16: "u16",
	KindS32: "s32", KindU32: "u32", KindS64: "s64", KindU64: "u64", KindF32: "f32", KindF64: "f64",
	KindChar: "char", KindString: "string", KindList: "list", KindRecord: "record", KindTuple: "tuple",
	KindVariant: "variant", KindEnum: "enum", KindOption: "option", KindResult: "result", KindFlags: "flags",
	KindOwn: "own", KindBorrow: "borrow", KindFuture: "future", KindStream: "stream",
	KindErrorContext: "error-context",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsPrimitive reports whether values of this kind carry no nested values.
func (k Kind) IsPrimitive() bool { return k >= KindBool && k <= KindString }

// Type is a WIT value type. Which fields are set depends on Kind.
// A Type is immutable once built and safe to share between goroutines.
type Type struct {
	Kind Kind
	// Elem is the element of a list, the payload of an option, or the
	// payload of a future or stream (nil when it has none).
	Elem *Type
	// Fields are the fields of a record, in declaration order.
	Fields []Field
	// Types are the members of a tuple.
	Types []*Type
	// Cases are the cases of a variant, in declaration order.
	Cases []Case
	// Names are the names of an enum's cases or a flags' members.
	Names []string
	// Ok and Err are the payloads of a result; nil means no payload.
	Ok, Err *Type
}

// Field is one field of a record type.
type Field struct {
	Name string
	Type *Type
}

// Case is one case of a variant type. Type is nil when the case has no payload.
type Case struct {
	Name string
	Type *Type
}

// Param is one named parameter of a function.
type Param struct {
	Name string
	Type *Type
}

// FuncType is the type of a component function: named parameters and at most
// one result (nil when the function returns nothing).
type FuncType struct {
	Params []Param
	Result *Type
}

// Primitive types, shared.
var (
	Bool   = &Type{Kind: KindBool}
	S8     = &Type{Kind: KindS8}
	U8     = &Type{Kind: KindU8}
	S16    = &Type{Kind: KindS16}
	U16    = &Type{Kind: KindU16}
	S32    = &Type{Kind: KindS32}
	U32    = &Type{Kind: KindU32}
	S64    = &Type{Kind: KindS64}
	U64    = &Type{Kind: KindU64}
	F32    = &Type{Kind: KindF32}
	F64    = &Type{Kind: KindF64}
	CharT  = &Type{Kind: KindChar}
	String = &Type{Kind: KindString}
)

// Primitive returns the shared Type for a primitive kind, or nil.
func Primitive(k Kind) *Type {
	switch k {
	case KindBool:
		return Bool
	case KindS8:
		return S8
	case KindU8:
		return U8
	case KindS16:
		return S16
	case KindU16:
		return U16
	case KindS32:
		return S32
	case KindU32:
		return U32
	case KindS64:
		return S64
	case KindU64:
		return U64
	case KindF32:
		return F32
	case KindF64:
		return F64
	case KindChar:
		return CharT
	case KindString:
		return String
	}
	return nil
}

// ListOf returns list<elem>.
func ListOf(elem *Type) *Type { return &Type{Kind: KindList, Elem: elem} }

// OptionOf returns option<elem>.
func OptionOf(elem *Type) *Type { return &Type{Kind: KindOption, Elem: elem} }

// ResultOf returns result<ok, err>; either may be nil.
func ResultOf(ok, err *Type) *Type { return &Type{Kind: KindResult, Ok: ok, Err: err} }

// TupleOf returns tuple<types...>.
func TupleOf(types ...*Type) *Type { return &Type{Kind: KindTuple, Types: types} }

// RecordOf returns a record with the given fields.
func RecordOf(fields ...Field) *Type { return &Type{Kind: KindRecord, Fields: fields} }

// VariantOf returns a variant with the given cases.
func VariantOf(cases ...Case) *Type { return &Type{Kind: KindVariant, Cases: cases} }

// EnumOf returns an enum with the given cases.
func EnumOf(names ...string) *Type { return &Type{Kind: KindEnum, Names: names} }

// FlagsOf returns a flags type with the given members.
func FlagsOf(names ...string) *Type { return &Type{Kind: KindFlags, Names: names} }

// String prints the type in WIT syntax. Records, variants, enums and flags
// are anonymous in Wasmtime's type information, so they print structurally,
// for example `record { x: s32, y: s32 }`.
func (t *Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t *Type) write(b *strings.Builder) {
	if t == nil {
		b.WriteString("_")
		return
	}
	switch t.Kind {
	case KindList:
		b.WriteString("list<")
		t.Elem.write(b)
		b.WriteString(">")
	case KindOption:
		b.WriteString("option<")
		t.Elem.write(b)
		b.WriteString(">")
	case KindResult:
		b.WriteString("result")
		if t.Ok != nil || t.Err != nil {
			b.WriteString("<")
			t.Ok.write(b)
			if t.Err != nil {
				b.WriteString(", ")
				t.Err.write(b)
			}
			b.WriteString(">")
		}
	case KindTuple:
		b.WriteString("tuple<")
		for i, m := range t.Types {
			if i > 0 {
				b.WriteString(", ")
			}
			m.write(b)
		}
		b.WriteString(">")
	case KindRecord, KindVariant, KindEnum, KindFlags:
		b.WriteString(t.Kind.String())
		b.WriteString(" ")
		t.writeBody(b)
	case KindOwn, KindBorrow:
		b.WriteString(t.Kind.String())
		b.WriteString("<resource>")
	case KindFuture, KindStream:
		b.WriteString(t.Kind.String())
		if t.Elem != nil {
			b.WriteString("<")
			t.Elem.write(b)
			b.WriteString(">")
		}
	default:
		b.WriteString(t.Kind.String())
	}
}

// Definition prints a named type the way WIT declares it, on one line:
// `record point { x: s32, y: s32 }`, `variant shape { circle(f64), empty }`,
// `enum color { red, green }`, `flags perms { read, write }`, and for any
// other type an alias, `type filesize = u64`. Types nested inside print as
// String does (structurally: Wasmtime's type information carries no names).
func (t *Type) Definition(name string) string {
	var b strings.Builder
	if t == nil {
		b.WriteString("type " + name + " = ")
		t.write(&b)
		return b.String()
	}
	switch t.Kind {
	case KindRecord, KindVariant, KindEnum, KindFlags:
		b.WriteString(t.Kind.String())
		b.WriteString(" ")
		b.WriteString(name)
		b.WriteString(" ")
		t.writeBody(&b)
	default:
		b.WriteString("type " + name + " = ")
		t.write(&b)
	}
	return b.String()
}

// writeBody writes the braced part of a record, variant, enum or flags:
// `{ a, b }`, or `{}` when there is nothing in it.
func (t *Type) writeBody(b *strings.Builder) {
	n := len(t.Names)
	switch t.Kind {
	case KindRecord:
		n = len(t.Fields)
	case KindVariant:
		n = len(t.Cases)
	}
	if n == 0 {
		b.WriteString("{}")
		return
	}
	b.WriteString("{ ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		switch t.Kind {
		case KindRecord:
			f := t.Fields[i]
			b.WriteString(f.Name)
			b.WriteString(": ")
			f.Type.write(b)
		case KindVariant:
			c := t.Cases[i]
			b.WriteString(c.Name)
			if c.Type != nil {
				b.WriteString("(")
				c.Type.write(b)
				b.WriteString(")")
			}
		default:
			b.WriteString(t.Names[i])
		}
	}
	b.WriteString(" }")
}

// String prints the function type in WIT syntax: `func(a: s32) -> string`.
func (f *FuncType) String() string {
	var b strings.Builder
	b.WriteString("func(")
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		b.WriteString(": ")
		p.Type.write(&b)
	}
	b.WriteString(")")
	if f.Result != nil {
		b.WriteString(" -> ")
		f.Result.write(&b)
	}
	return b.String()
}

// CaseIndex returns the index of the named variant case, or -1.
func (t *Type) CaseIndex(name string) int {
	for i, c := range t.Cases {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// NameIndex returns the index of the named enum case or flag, or -1.
func (t *Type) NameIndex(name string) int {
	for i, n := range t.Names {
		if n == name {
			return i
		}
	}
	return -1
}
