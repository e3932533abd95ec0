package wit

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Char is a WIT char: a Unicode scalar value (not a surrogate).
type Char rune

// NamedValue is one field of a Record value.
type NamedValue struct {
	Name  string
	Value any
}

// Record is a WIT record value: its fields in declaration order.
type Record []NamedValue

// Get returns the value of the named field.
func (r Record) Get(name string) (any, bool) {
	for _, f := range r {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Tuple is a WIT tuple value.
type Tuple []any

// Variant is a WIT variant value. Value is nil for a case without payload.
type Variant struct {
	Case  string
	Value any
}

// Enum is a WIT enum value: the name of its case.
type Enum string

// Option is a WIT option value.
type Option struct {
	IsSome bool
	Value  any
}

// Some returns option some(v).
func Some(v any) Option { return Option{IsSome: true, Value: v} }

// None returns option none.
func None() Option { return Option{} }

// Result is a WIT result value. Value is nil when the taken side has no payload.
type Result struct {
	IsErr bool
	Value any
}

// Ok returns result ok(v).
func Ok(v any) Result { return Result{Value: v} }

// Err returns result err(v).
func Err(v any) Result { return Result{IsErr: true, Value: v} }

// Flags is a WIT flags value: the names of the members that are set.
type Flags []string

// Has reports whether the named flag is set.
func (f Flags) Has(name string) bool {
	for _, n := range f {
		if n == name {
			return true
		}
	}
	return false
}

// ResourceValue is implemented by resource handles (the engine's Resource).
type ResourceValue interface {
	// Owned reports whether the handle is an own (true) or a borrow (false).
	Owned() bool
}

// ErrType is matched (errors.Is) by every *TypeError.
var ErrType = errors.New("wit: value does not match type")

// TypeError says where a Go value failed to match a WIT type.
type TypeError struct {
	Path string // where in the value, e.g. `person.tags[2]`
	Want string // the WIT type expected
	Got  string // what was found
}

func (e *TypeError) Error() string {
	p := e.Path
	if p == "" {
		p = "value"
	}
	return fmt.Sprintf("%s: want %s, got %s", p, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrType) true.
func (e *TypeError) Is(target error) bool { return target == ErrType }

func describe(v any) string {
	if v == nil {
		return "nil"
	}
	s := fmt.Sprintf("%T", v)
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Slice && rv.Kind() != reflect.Map && rv.Kind() != reflect.Struct {
		val := fmt.Sprintf("%v", v)
		if len(val) > 32 {
			val = val[:32] + "…"
		}
		s += " " + val
	}
	return s
}

// Mismatch builds a *TypeError.
func Mismatch(path string, t *Type, v any) *TypeError {
	return &TypeError{Path: path, Want: t.String(), Got: describe(v)}
}

// AsInt64 converts any Go integer to int64, reporting whether it fits.
func AsInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), x <= math.MaxInt64
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case uintptr:
		return int64(x), uint64(x) <= math.MaxInt64
	}
	return 0, false
}

// AsUint64 converts any non-negative Go integer to uint64.
func AsUint64(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint:
		return uint64(x), true
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case uintptr:
		return uint64(x), true
	}
	if i, ok := AsInt64(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// AsFloat64 converts a float32 or float64 to float64.
func AsFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// IntRange returns the bounds of a WIT integer kind.
func IntRange(k Kind) (min int64, max uint64) {
	switch k {
	case KindS8:
		return math.MinInt8, math.MaxInt8
	case KindU8:
		return 0, math.MaxUint8
	case KindS16:
		return math.MinInt16, math.MaxInt16
	case KindU16:
		return 0, math.MaxUint16
	case KindS32:
		return math.MinInt32, math.MaxInt32
	case KindU32:
		return 0, math.MaxUint32
	case KindS64:
		return math.MinInt64, math.MaxInt64
	case KindU64:
		return 0, math.MaxUint64
	}
	return 0, 0
}

// ValidChar reports whether r is a Unicode scalar value.
func ValidChar(r rune) bool { return utf8.ValidRune(r) }

// RecordFields normalises a record input (Record or map[string]any) to the
// field order of t, or returns a *TypeError.
func RecordFields(path string, t *Type, v any) ([]any, error) {
	out := make([]any, len(t.Fields))
	switch r := v.(type) {
	case Record:
		if len(r) != len(t.Fields) {
			return nil, &TypeError{Path: path, Want: t.String(), Got: fmt.Sprintf("record with %d fields", len(r))}
		}
		for i, f := range t.Fields {
			val, ok := r.Get(f.Name)
			if !ok {
				return nil, &TypeError{Path: path, Want: t.String(), Got: "record without field " + f.Name}
			}
			out[i] = val
		}
	case map[string]any:
		if len(r) != len(t.Fields) {
			return nil, &TypeError{Path: path, Want: t.String(), Got: fmt.Sprintf("map with %d keys", len(r))}
		}
		for i, f := range t.Fields {
			val, ok := r[f.Name]
			if !ok {
				return nil, &TypeError{Path: path, Want: t.String(), Got: "map without key " + f.Name}
			}
			out[i] = val
		}
	default:
		return nil, Mismatch(path, t, v)
	}
	return out, nil
}

// Elems returns the elements of a list or tuple input: any slice or array.
func Elems(v any) ([]any, bool) {
	switch s := v.(type) {
	case []any:
		return s, true
	case Tuple:
		return s, true
	case []byte:
		out := make([]any, len(s))
		for i, b := range s {
			out[i] = b
		}
		return out, true
	case []string:
		out := make([]any, len(s))
		for i, b := range s {
			out[i] = b
		}
		return out, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// FlagSet normalises a flags input (Flags or []string) to a bool per member of t.
func FlagSet(path string, t *Type, v any) ([]bool, error) {
	var names []string
	switch f := v.(type) {
	case Flags:
		names = f
	case []string:
		names = f
	default:
		return nil, Mismatch(path, t, v)
	}
	set := make([]bool, len(t.Names))
	for _, n := range names {
		i := t.NameIndex(n)
		if i < 0 {
			return nil, &TypeError{Path: path, Want: t.String(), Got: "unknown flag " + n}
		}
		set[i] = true
	}
	return set, nil
}

// JoinPath appends a path element: a field (".name") or an index ("[3]").
func JoinPath(base, elem string) string {
	if base == "" {
		return strings.TrimPrefix(elem, ".")
	}
	return base + elem
}
