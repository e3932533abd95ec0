package wave

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// labelPool holds valid labels, keywords included, for generated types.
var labelPool = []string{
	"a", "b", "q", "c-d", "e1", "two-words", "HTTP3", "method-GET", "x-1-y",
	"true", "false", "some", "none", "ok", "err", "inf", "nan",
}

func genLabels(r *rand.Rand, n int) []string {
	p := r.Perm(len(labelPool))
	out := make([]string, n)
	for i := range out {
		out[i] = labelPool[p[i]]
	}
	return out
}

// genType returns a random type; depth bounds how deeply it nests.
func genType(r *rand.Rand, depth int) *wit.Type {
	prims := []*wit.Type{wit.Bool, wit.S8, wit.U8, wit.S16, wit.U16, wit.S32, wit.U32, wit.S64, wit.U64, wit.F32, wit.F64, wit.CharT, wit.String}
	if depth <= 0 || r.IntN(3) == 0 {
		return prims[r.IntN(len(prims))]
	}
	d := depth - 1
	maybe := func() *wit.Type {
		if r.IntN(3) == 0 {
			return nil
		}
		return genType(r, d)
	}
	switch r.IntN(9) {
	case 0:
		if r.IntN(3) == 0 {
			return wit.ListOf(wit.U8)
		}
		return wit.ListOf(genType(r, d))
	case 1:
		n := 1 + r.IntN(3)
		ts := make([]*wit.Type, n)
		for i := range ts {
			ts[i] = genType(r, d)
		}
		return wit.TupleOf(ts...)
	case 2:
		names := genLabels(r, r.IntN(4))
		fs := make([]wit.Field, len(names))
		for i, n := range names {
			ft := genType(r, d)
			if r.IntN(3) == 0 {
				ft = wit.OptionOf(ft)
			}
			fs[i] = wit.Field{Name: n, Type: ft}
		}
		return wit.RecordOf(fs...)
	case 3:
		names := genLabels(r, 1+r.IntN(4))
		cs := make([]wit.Case, len(names))
		for i, n := range names {
			cs[i] = wit.Case{Name: n, Type: maybe()}
		}
		return wit.VariantOf(cs...)
	case 4:
		return wit.EnumOf(genLabels(r, 1+r.IntN(4))...)
	case 5:
		return wit.OptionOf(genType(r, d))
	case 6:
		return wit.ResultOf(maybe(), maybe())
	case 7:
		return wit.FlagsOf(genLabels(r, r.IntN(6))...)
	}
	return wit.OptionOf(wit.OptionOf(genType(r, d)))
}

func genRune(r *rand.Rand) rune {
	special := []rune{'\'', '"', '\\', '\n', '\r', '\t', 0, 0x7f, 0x85, 0x301, 0x200b, 0xfeff, 0xe000, 0xfffd, 0x10ffff, '😀', '☃', ' ', '/', '{', '%'}
	switch r.IntN(3) {
	case 0:
		return special[r.IntN(len(special))]
	case 1:
		return rune(0x20 + r.IntN(0x5f))
	}
	for {
		c := rune(r.IntN(0x110000))
		if c < 0xd800 || c > 0xdfff {
			return c
		}
	}
}

func genFloat64(r *rand.Rand) float64 {
	special := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e21, 1e-7, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	if r.IntN(2) == 0 {
		return special[r.IntN(len(special))]
	}
	return math.Float64frombits(r.Uint64())
}

func genFloat32(r *rand.Rand) float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, 0.1, 16777217, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}
	if r.IntN(2) == 0 {
		return special[r.IntN(len(special))]
	}
	return math.Float32frombits(r.Uint32())
}

// genValue returns a random value of t, in the form Parse produces.
func genValue(r *rand.Rand, t *wit.Type) any {
	switch t.Kind {
	case wit.KindBool:
		return r.IntN(2) == 0
	case wit.KindS8:
		return int8(r.Uint32())
	case wit.KindU8:
		return uint8(r.Uint32())
	case wit.KindS16:
		return int16(r.Uint32())
	case wit.KindU16:
		return uint16(r.Uint32())
	case wit.KindS32:
		return int32(r.Uint32())
	case wit.KindU32:
		return r.Uint32()
	case wit.KindS64:
		return int64(r.Uint64())
	case wit.KindU64:
		return r.Uint64()
	case wit.KindF32:
		return genFloat32(r)
	case wit.KindF64:
		return genFloat64(r)
	case wit.KindChar:
		return wit.Char(genRune(r))
	case wit.KindString:
		var b strings.Builder
		for n := r.IntN(8); n > 0; n-- {
			b.WriteRune(genRune(r))
		}
		return b.String()
	case wit.KindList:
		n := r.IntN(4)
		if t.Elem.Kind == wit.KindU8 {
			out := make([]byte, n)
			for i := range out {
				out[i] = uint8(r.Uint32())
			}
			return out
		}
		out := make([]any, n)
		for i := range out {
			out[i] = genValue(r, t.Elem)
		}
		return out
	case wit.KindTuple:
		out := make(wit.Tuple, len(t.Types))
		for i, m := range t.Types {
			out[i] = genValue(r, m)
		}
		return out
	case wit.KindRecord:
		out := make(wit.Record, len(t.Fields))
		for i, f := range t.Fields {
			out[i] = wit.NamedValue{Name: f.Name, Value: genValue(r, f.Type)}
		}
		return out
	case wit.KindVariant:
		c := t.Cases[r.IntN(len(t.Cases))]
		if c.Type == nil {
			return wit.Variant{Case: c.Name}
		}
		return wit.Variant{Case: c.Name, Value: genValue(r, c.Type)}
	case wit.KindEnum:
		return wit.Enum(t.Names[r.IntN(len(t.Names))])
	case wit.KindOption:
		if r.IntN(3) == 0 {
			return wit.None()
		}
		return wit.Some(genValue(r, t.Elem))
	case wit.KindResult:
		isErr := r.IntN(2) == 0
		pt := t.Ok
		if isErr {
			pt = t.Err
		}
		var v any
		if pt != nil {
			v = genValue(r, pt)
		}
		return wit.Result{IsErr: isErr, Value: v}
	case wit.KindFlags:
		out := wit.Flags{}
		for _, n := range t.Names {
			if r.IntN(2) == 0 {
				out = append(out, n)
			}
		}
		return out
	}
	panic("genValue: unexpected kind " + t.Kind.String())
}

// TestRoundTrip checks Parse(Format(v, t), t) == v for random types and values.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(20240601, 7))
	for i := 0; i < 5000; i++ {
		typ := genType(r, 4)
		v := genValue(r, typ)
		text := Format(v, typ)
		if strings.ContainsAny(text, "\n\r") {
			t.Fatalf("Format printed more than one line for %s: %q", typ, text)
		}
		got, err := Parse(text, typ)
		if err != nil {
			t.Fatalf("#%d: Parse(Format(v)) failed\ntype: %s\ntext: %s\nerr:  %v", i, typ, text, err)
		}
		if !equal(got, v) {
			t.Fatalf("#%d: round trip changed the value\ntype: %s\ntext: %s\nwant: %#v\ngot:  %#v", i, typ, text, v, got)
		}
		if again := Format(got, typ); again != text {
			t.Fatalf("#%d: Format not stable: %s then %s", i, text, again)
		}
	}
}

// TestRoundTripArgs checks that ParseCall and ParseArgs read back a call
// built from formatted random arguments.
func TestRoundTripArgs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		ft := &wit.FuncType{}
		var vals []any
		var texts []string
		for j, n := 0, r.IntN(4); j < n; j++ {
			typ := genType(r, 3)
			v := genValue(r, typ)
			ft.Params = append(ft.Params, wit.Param{Name: "p", Type: typ})
			vals = append(vals, v)
			texts = append(texts, Format(v, typ))
		}
		call := "ns:pkg/iface@1.0.0#do-it(" + strings.Join(texts, ", ") + ")"
		name, args, err := ParseCall(call)
		if err != nil || name != "ns:pkg/iface@1.0.0#do-it" {
			t.Fatalf("ParseCall(%s) = %q, %v", call, name, err)
		}
		got, err := ParseArgs(args, ft)
		if err != nil {
			t.Fatalf("ParseArgs for %s (%s): %v", call, ft, err)
		}
		if !equal(any(got), any(vals)) && !(len(got) == 0 && len(vals) == 0) {
			t.Fatalf("call %s: got %#v, want %#v", call, got, vals)
		}
	}
}
