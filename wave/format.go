package wave

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// maxFormatDepth stops printing self-referencing values.
const maxFormatDepth = 1000

// Format prints v (a value of type t in the wit value model) in WAVE, on one line.
//
// It accepts the input forms package wit accepts (any Go integer for an
// integer type, a string for an enum, nil for none, map[string]any for a
// record, ...). A value that does not fit t is printed as FormatValue would.
func Format(v any, t *wit.Type) string {
	w := writer{}
	w.typed(v, t)
	return w.b.String()
}

// FormatValue prints without a type (best effort from the Go value's dynamic type), for core wasm values and debugging.
//
// Integers print in decimal (an int32 is a number, not a char), wit.Char as a
// char, Go slices and arrays as lists, nil as <nil>, and types outside the
// wit value model as <%T %v>.
func FormatValue(v any) string {
	w := writer{}
	w.untyped(v)
	return w.b.String()
}

type writer struct {
	b     strings.Builder
	depth int
}

var keywords = map[string]bool{
	"true": true, "false": true, "some": true, "none": true,
	"ok": true, "err": true, "inf": true, "nan": true,
}

// caseLabel writes a variant or enum case, escaping keywords with '%'.
func (w *writer) caseLabel(name string) {
	if keywords[name] {
		w.b.WriteByte('%')
	}
	w.b.WriteString(name)
}

func (w *writer) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		w.b.WriteString("nan")
	case math.IsInf(f, 1):
		w.b.WriteString("inf")
	case math.IsInf(f, -1):
		w.b.WriteString("-inf")
	default:
		// Shortest decimal that reads back to f, without exponent: the
		// form Rust's Display (and so Wasmtime) uses.
		w.b.WriteString(strconv.FormatFloat(f, 'f', -1, bits))
	}
}

// char writes r escaped for a char or string literal.
func (w *writer) char(r rune) {
	switch r {
	case '\\':
		w.b.WriteString(`\\`)
	case '"':
		w.b.WriteString(`\"`)
	case '\'':
		w.b.WriteString(`\'`)
	case '\t':
		w.b.WriteString(`\t`)
	case '\n':
		w.b.WriteString(`\n`)
	case '\r':
		w.b.WriteString(`\r`)
	default:
		if !utf8.ValidRune(r) || !unicode.IsGraphic(r) || unicode.In(r, unicode.Mn, unicode.Me) {
			fmt.Fprintf(&w.b, `\u{%x}`, r)
		} else {
			w.b.WriteRune(r)
		}
	}
}

func (w *writer) quote(s string) {
	w.b.WriteByte('"')
	for _, r := range s {
		w.char(r)
	}
	w.b.WriteByte('"')
}

func (w *writer) quoteChar(r rune) {
	w.b.WriteByte('\'')
	w.char(r)
	w.b.WriteByte('\'')
}

func (w *writer) bytes(s []byte) {
	w.b.WriteByte('[')
	for i, c := range s {
		if i > 0 {
			w.b.WriteString(", ")
		}
		w.b.WriteString(strconv.Itoa(int(c)))
	}
	w.b.WriteByte(']')
}

// payload writes `(v)` after a case label, if there is something to write.
func (w *writer) payload(v any, t *wit.Type) {
	if t == nil && v == nil {
		return
	}
	w.b.WriteByte('(')
	w.typed(v, t)
	w.b.WriteByte(')')
}

func isNone(v any) bool {
	switch o := v.(type) {
	case nil:
		return true
	case wit.Option:
		return !o.IsSome
	case *wit.Option:
		return o == nil || !o.IsSome
	}
	return false
}

func (w *writer) typed(v any, t *wit.Type) {
	if t == nil {
		w.untyped(v)
		return
	}
	if w.depth >= maxFormatDepth {
		w.b.WriteString("…")
		return
	}
	w.depth++
	defer func() { w.depth-- }()

	switch t.Kind {
	case wit.KindBool:
		if x, ok := v.(bool); ok {
			w.b.WriteString(strconv.FormatBool(x))
			return
		}
	case wit.KindS8, wit.KindS16, wit.KindS32, wit.KindS64, wit.KindU8, wit.KindU16, wit.KindU32, wit.KindU64:
		if i, ok := wit.AsInt64(v); ok {
			w.b.WriteString(strconv.FormatInt(i, 10))
			return
		}
		if u, ok := wit.AsUint64(v); ok {
			w.b.WriteString(strconv.FormatUint(u, 10))
			return
		}
	case wit.KindF32:
		switch x := v.(type) {
		case float32:
			w.float(float64(x), 32)
			return
		case float64:
			w.float(float64(float32(x)), 32)
			return
		}
	case wit.KindF64:
		switch x := v.(type) {
		case float64:
			w.float(x, 64)
			return
		case float32:
			w.float(float64(x), 64)
			return
		}
	case wit.KindChar:
		switch x := v.(type) {
		case wit.Char:
			w.quoteChar(rune(x))
			return
		case rune:
			w.quoteChar(x)
			return
		}
	case wit.KindString:
		if s, ok := v.(string); ok {
			w.quote(s)
			return
		}
	case wit.KindList:
		if s, ok := v.([]byte); ok && t.Elem != nil && t.Elem.Kind == wit.KindU8 {
			w.bytes(s)
			return
		}
		if elems, ok := wit.Elems(v); ok {
			w.b.WriteByte('[')
			for i, e := range elems {
				if i > 0 {
					w.b.WriteString(", ")
				}
				w.typed(e, t.Elem)
			}
			w.b.WriteByte(']')
			return
		}
	case wit.KindTuple:
		if elems, ok := wit.Elems(v); ok && len(elems) == len(t.Types) {
			w.b.WriteByte('(')
			for i, e := range elems {
				if i > 0 {
					w.b.WriteString(", ")
				}
				w.typed(e, t.Types[i])
			}
			w.b.WriteByte(')')
			return
		}
	case wit.KindRecord:
		if vals, err := wit.RecordFields("", t, v); err == nil {
			w.b.WriteByte('{')
			n := 0
			for i, f := range t.Fields {
				// Like Wasmtime, leave out option fields that are none.
				if f.Type != nil && f.Type.Kind == wit.KindOption && isNone(vals[i]) {
					continue
				}
				if n > 0 {
					w.b.WriteString(", ")
				}
				n++
				w.b.WriteString(f.Name)
				w.b.WriteString(": ")
				w.typed(vals[i], f.Type)
			}
			if n == 0 {
				w.b.WriteByte(':')
			}
			w.b.WriteByte('}')
			return
		}
	case wit.KindVariant:
		var x wit.Variant
		switch y := v.(type) {
		case wit.Variant:
			x = y
		case *wit.Variant:
			if y == nil {
				break
			}
			x = *y
		}
		if i := t.CaseIndex(x.Case); i >= 0 {
			w.caseLabel(x.Case)
			w.payload(x.Value, t.Cases[i].Type)
			return
		}
	case wit.KindEnum:
		var name string
		switch y := v.(type) {
		case wit.Enum:
			name = string(y)
		case string:
			name = y
		}
		if t.NameIndex(name) >= 0 {
			w.caseLabel(name)
			return
		}
	case wit.KindOption:
		switch o := v.(type) {
		case nil:
			w.b.WriteString("none")
		case wit.Option:
			w.option(o, t)
		case *wit.Option:
			if o == nil {
				w.b.WriteString("none")
			} else {
				w.option(*o, t)
			}
		default:
			w.option(wit.Some(v), t)
		}
		return
	case wit.KindResult:
		switch r := v.(type) {
		case wit.Result:
			w.result(r, t)
			return
		case *wit.Result:
			if r != nil {
				w.result(*r, t)
				return
			}
		}
	case wit.KindFlags:
		if set, err := wit.FlagSet("", t, v); err == nil {
			w.b.WriteByte('{')
			n := 0
			for i, on := range set {
				if on {
					if n > 0 {
						w.b.WriteString(", ")
					}
					n++
					w.b.WriteString(t.Names[i])
				}
			}
			w.b.WriteByte('}')
			return
		}
	case wit.KindOwn, wit.KindBorrow:
		w.b.WriteString("<resource>")
		return
	case wit.KindFuture, wit.KindStream, wit.KindErrorContext:
		w.b.WriteString("<" + t.Kind.String() + ">")
		return
	}
	w.untyped(v)
}

func (w *writer) option(o wit.Option, t *wit.Type) {
	if !o.IsSome {
		w.b.WriteString("none")
		return
	}
	w.b.WriteString("some(")
	w.typed(o.Value, t.Elem)
	w.b.WriteByte(')')
}

func (w *writer) result(r wit.Result, t *wit.Type) {
	if r.IsErr {
		w.b.WriteString("err")
		w.payload(r.Value, t.Err)
	} else {
		w.b.WriteString("ok")
		w.payload(r.Value, t.Ok)
	}
}

func (w *writer) seq(open, close byte, elems []any) {
	w.b.WriteByte(open)
	for i, e := range elems {
		if i > 0 {
			w.b.WriteString(", ")
		}
		w.untyped(e)
	}
	w.b.WriteByte(close)
}

func (w *writer) untyped(v any) {
	if w.depth >= maxFormatDepth {
		w.b.WriteString("…")
		return
	}
	w.depth++
	defer func() { w.depth-- }()

	switch x := v.(type) {
	case nil:
		w.b.WriteString("<nil>")
	case bool:
		w.b.WriteString(strconv.FormatBool(x))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		if i, ok := wit.AsInt64(x); ok {
			w.b.WriteString(strconv.FormatInt(i, 10))
		} else {
			u, _ := wit.AsUint64(x)
			w.b.WriteString(strconv.FormatUint(u, 10))
		}
	case float32:
		w.float(float64(x), 32)
	case float64:
		w.float(x, 64)
	case wit.Char:
		w.quoteChar(rune(x))
	case string:
		w.quote(x)
	case []byte:
		w.bytes(x)
	case wit.Tuple:
		w.seq('(', ')', x)
	case []any:
		w.seq('[', ']', x)
	case wit.Record:
		w.b.WriteByte('{')
		n := 0
		for _, f := range x {
			if o, ok := f.Value.(wit.Option); ok && !o.IsSome {
				continue
			}
			if n > 0 {
				w.b.WriteString(", ")
			}
			n++
			w.b.WriteString(f.Name)
			w.b.WriteString(": ")
			w.untyped(f.Value)
		}
		if n == 0 {
			w.b.WriteByte(':')
		}
		w.b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		rec := make(wit.Record, len(keys))
		for i, k := range keys {
			rec[i] = wit.NamedValue{Name: k, Value: x[k]}
		}
		w.depth--
		w.untyped(rec)
		w.depth++
	case wit.Variant:
		w.caseLabel(x.Case)
		if x.Value != nil {
			w.b.WriteByte('(')
			w.untyped(x.Value)
			w.b.WriteByte(')')
		}
	case *wit.Variant:
		if x == nil {
			w.b.WriteString("<nil>")
		} else {
			w.depth--
			w.untyped(*x)
			w.depth++
		}
	case wit.Enum:
		w.caseLabel(string(x))
	case wit.Option:
		if !x.IsSome {
			w.b.WriteString("none")
		} else {
			w.b.WriteString("some(")
			w.untyped(x.Value)
			w.b.WriteByte(')')
		}
	case *wit.Option:
		if x == nil {
			w.b.WriteString("none")
		} else {
			w.depth--
			w.untyped(*x)
			w.depth++
		}
	case wit.Result:
		if x.IsErr {
			w.b.WriteString("err")
		} else {
			w.b.WriteString("ok")
		}
		if x.Value != nil {
			w.b.WriteByte('(')
			w.untyped(x.Value)
			w.b.WriteByte(')')
		}
	case *wit.Result:
		if x == nil {
			w.b.WriteString("<nil>")
		} else {
			w.depth--
			w.untyped(*x)
			w.depth++
		}
	case wit.Flags:
		w.b.WriteByte('{')
		w.b.WriteString(strings.Join(x, ", "))
		w.b.WriteByte('}')
	case wit.ResourceValue:
		w.b.WriteString("<resource>")
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			elems, _ := wit.Elems(v)
			w.seq('[', ']', elems)
			return
		}
		fmt.Fprintf(&w.b, "<%T %v>", v, v)
	}
}
