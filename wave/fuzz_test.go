package wave

import (
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// fuzzTypes are the types FuzzParse picks from by index.
var fuzzTypes = []*wit.Type{
	wit.U8,
	wit.S64,
	wit.F32,
	wit.F64,
	wit.CharT,
	wit.String,
	bytesType,
	wit.ListOf(wit.String),
	people,
	shape,
	lifetime,
	optOpt,
	resTuple,
	perms,
	color,
	allOpt,
	wit.TupleOf(wit.Bool, wit.CharT, wit.S16),
	deepList(120),
	wit.ListOf(wit.VariantOf(wit.Case{Name: "leaf", Type: wit.U32}, wit.Case{Name: "pair", Type: wit.TupleOf(wit.F64, wit.OptionOf(wit.String))})),
}

func FuzzParse(f *testing.F) {
	seeds := []struct {
		typ  int
		text string
	}{
		{0, "255"}, {0, "-0"}, {0, "256"}, {1, "-9223372036854775808"}, {1, "1e3"},
		{2, "nan"}, {2, "-inf"}, {2, "3.4028235e38"}, {3, "6.022e+23"}, {3, "-0"}, {3, "0.1"},
		{4, `'\u{1F600}'`}, {4, `'\''`}, {4, "'ab'"},
		{5, `"abc\t\"123\" \u{0}"`}, {5, "\"\"\"\n  a\n   b\n  \"\"\""}, {5, `"unterminated`},
		{6, "[1, 2, 3,]"}, {6, "[]"}, {7, `["a", // c` + "\n" + `"b"]`},
		{8, `[{name: "a", age: 1, nick: some("b")}, {age: 2, name: "c"}]`}, {8, `[{name: "a"}]`},
		{9, "move({x: 1, y: -2})"}, {9, "stop"}, {10, `%ok("x")`}, {10, "days(3)"},
		{11, "some(none)"}, {11, "some(some(4))"}, {11, "none"},
		{12, `ok((1, "a"))`}, {12, `err("e")`},
		{13, "{read, write}"}, {13, "{}"}, {14, "%none"}, {14, "red"},
		{15, "{:}"}, {15, "{a: some(1)}"}, {16, `(true, 'x', -3)`},
		{17, strings.Repeat("[", 101) + strings.Repeat("]", 101)},
		{18, `[leaf(1), pair((nan, some("s"))), pair((-1.5e-7, none))]`},
		{0, "run(1, [2], \"x\")"},
	}
	for _, s := range seeds {
		f.Add(uint8(s.typ), s.text)
	}
	f.Fuzz(func(t *testing.T, idx uint8, text string) {
		typ := fuzzTypes[int(idx)%len(fuzzTypes)]

		// Call splitting must not panic either.
		if _, args, err := ParseCall(text); err == nil {
			for _, a := range args {
				Parse(a, typ)
			}
		}

		v, err := Parse(text, typ)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "wave: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		out := Format(v, typ)
		v2, err := Parse(out, typ)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v, but its Format %q does not parse: %v", text, v, out, err)
		}
		if !equal(v, v2) {
			t.Fatalf("Parse(%q) = %#v, Format %q parses to %#v", text, v, out, v2)
		}
		if again := Format(v2, typ); again != out {
			t.Fatalf("Format not stable: %q then %q", out, again)
		}
	})
}
