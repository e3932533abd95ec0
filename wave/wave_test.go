package wave

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// equal compares values of the wit value model like reflect.DeepEqual,
// except that floats compare by bits and every NaN equals every NaN.
func equal(a, b any) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	switch x := a.(type) {
	case float32:
		y := b.(float32)
		if x != x {
			return y != y
		}
		return math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y := b.(float64)
		if x != x {
			return y != y
		}
		return math.Float64bits(x) == math.Float64bits(y)
	case []any:
		return equalSlices(x, b.([]any))
	case wit.Tuple:
		return equalSlices(x, b.(wit.Tuple))
	case wit.Record:
		y := b.(wit.Record)
		if len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if x[i].Name != y[i].Name || !equal(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case wit.Variant:
		y := b.(wit.Variant)
		return x.Case == y.Case && equal(x.Value, y.Value)
	case wit.Option:
		y := b.(wit.Option)
		return x.IsSome == y.IsSome && equal(x.Value, y.Value)
	case wit.Result:
		y := b.(wit.Result)
		return x.IsErr == y.IsErr && equal(x.Value, y.Value)
	}
	return reflect.DeepEqual(a, b)
}

func equalSlices(x, y []any) bool {
	if len(x) != len(y) || (x == nil) != (y == nil) {
		return false
	}
	for i := range x {
		if !equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// Types shared by the tests.
var (
	person = wit.RecordOf(
		wit.Field{Name: "name", Type: wit.String},
		wit.Field{Name: "age", Type: wit.U8},
		wit.Field{Name: "nick", Type: wit.OptionOf(wit.String)},
	)
	point     = wit.RecordOf(wit.Field{Name: "x", Type: wit.S32}, wit.Field{Name: "y", Type: wit.S32})
	allOpt    = wit.RecordOf(wit.Field{Name: "a", Type: wit.OptionOf(wit.U8)}, wit.Field{Name: "b", Type: wit.OptionOf(wit.String)})
	emptyRec  = wit.RecordOf()
	kwRecord  = wit.RecordOf(wit.Field{Name: "true", Type: wit.U8}, wit.Field{Name: "ok", Type: wit.Bool})
	color     = wit.EnumOf("red", "green", "blue", "none")
	perms     = wit.FlagsOf("read", "write", "exec")
	kwFlags   = wit.FlagsOf("ok", "err")
	lifetime  = wit.VariantOf(wit.Case{Name: "forever"}, wit.Case{Name: "days", Type: wit.U32}, wit.Case{Name: "ok", Type: wit.String})
	shape     = wit.VariantOf(wit.Case{Name: "move", Type: point}, wit.Case{Name: "stop"})
	optOpt    = wit.OptionOf(wit.OptionOf(wit.U32))
	resTuple  = wit.ResultOf(wit.TupleOf(wit.U8, wit.String), wit.String)
	resBare   = wit.ResultOf(nil, nil)
	resErr    = wit.ResultOf(nil, wit.String)
	resOk     = wit.ResultOf(wit.U8, nil)
	pair      = wit.TupleOf(wit.String, wit.U32)
	people    = wit.ListOf(person)
	ownType   = &wit.Type{Kind: wit.KindOwn}
	bytesType = wit.ListOf(wit.U8)
)

func rec(kv ...any) wit.Record {
	r := wit.Record{}
	for i := 0; i < len(kv); i += 2 {
		r = append(r, wit.NamedValue{Name: kv[i].(string), Value: kv[i+1]})
	}
	return r
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		text string
		typ  *wit.Type
		want any
	}{
		{"true", "true", wit.Bool, true},
		{"false with space and comment", "  false // no\n", wit.Bool, false},
		{"s8 min", "-128", wit.S8, int8(-128)},
		{"s8 max", "127", wit.S8, int8(127)},
		{"u8 max", "255", wit.U8, uint8(255)},
		{"u8 minus zero", "-0", wit.U8, uint8(0)},
		{"s16", "-32768", wit.S16, int16(-32768)},
		{"u16", "65535", wit.U16, uint16(65535)},
		{"s32", "-9", wit.S32, int32(-9)},
		{"u32", "4294967295", wit.U32, uint32(4294967295)},
		{"s64 min", "-9223372036854775808", wit.S64, int64(math.MinInt64)},
		{"u64 max", "18446744073709551615", wit.U64, uint64(math.MaxUint64)},
		{"f32", "1.5", wit.F32, float32(1.5)},
		{"f32 exponent", "6.022e+23", wit.F32, float32(6.022e23)},
		{"f32 integral", "3", wit.F32, float32(3)},
		{"f64 exponent", "1E-3", wit.F64, 0.001},
		{"f64 nan", "nan", wit.F64, math.NaN()},
		{"f64 inf", "inf", wit.F64, math.Inf(1)},
		{"f64 -inf", "-inf", wit.F64, math.Inf(-1)},
		{"f32 -inf", "-inf", wit.F32, float32(math.Inf(-1))},
		{"f64 -0", "-0", wit.F64, math.Copysign(0, -1)},
		{"char", "'x'", wit.CharT, wit.Char('x')},
		{"char snowman", "'☃'", wit.CharT, wit.Char('☃')},
		{"char quote", `'\''`, wit.CharT, wit.Char('\'')},
		{"char dquote bare", `'"'`, wit.CharT, wit.Char('"')},
		{"char backslash", `'\\'`, wit.CharT, wit.Char('\\')},
		{"char newline", `'\n'`, wit.CharT, wit.Char('\n')},
		{"char unicode", `'\u{1F600}'`, wit.CharT, wit.Char(0x1F600)},
		{"char nul", `'\u{0}'`, wit.CharT, wit.Char(0)},
		{"string", `"abc\t123"`, wit.String, "abc\t123"},
		{"string escapes", `"say \"hi\"\\\r\n\u{48}\'"`, wit.String, "say \"hi\"\\\r\nH'"},
		{"string single quote bare", `"it's"`, wit.String, "it's"},
		{"string empty", `""`, wit.String, ""},
		{"string unicode", `"👋 Hello"`, wit.String, "👋 Hello"},
		{"multiline", "\"\"\"\n  A single line\n  \"\"\"", wit.String, "A single line"},
		{"multiline indent", "\"\"\"\n    Indentation determined\n      by ending delimiter\n  \"\"\"", wit.String, "  Indentation determined\n    by ending delimiter"},
		{"multiline crlf and escapes", "\"\"\"\r\n  a \\r\r\n  \"\"\\\"\"\r\n  \"\"\"", wit.String, "a \r\n\"\"\"\""},
		{"multiline empty", "\"\"\"\n\"\"\"", wit.String, ""},
		{"bytes", "[1, 2, 3]", bytesType, []byte{1, 2, 3}},
		{"bytes empty", "[]", bytesType, []byte{}},
		{"list strings trailing comma", `["a", "b",]`, wit.ListOf(wit.String), []any{"a", "b"}},
		{"list empty", `[ ]`, wit.ListOf(wit.String), []any{}},
		{"list of lists", `[[1], [], [2, 3]]`, wit.ListOf(wit.ListOf(wit.U32)), []any{[]any{uint32(1)}, []any{}, []any{uint32(2), uint32(3)}}},
		{"list with comments", "[ 1 , // one\n 2 // two\n ]", wit.ListOf(wit.S32), []any{int32(1), int32(2)}},
		{"tuple", `("abc", 123)`, pair, wit.Tuple{"abc", uint32(123)}},
		{"tuple trailing comma", `("abc", 123,)`, pair, wit.Tuple{"abc", uint32(123)}},
		{"record", `{name: "x", age: 3}`, person, rec("name", "x", "age", uint8(3), "nick", wit.None())},
		{"record any order", `{nick: some("y"), age: 3, name: "x",}`, person, rec("name", "x", "age", uint8(3), "nick", wit.Some("y"))},
		{"record explicit none", `{name: "x", age: 3, nick: none}`, person, rec("name", "x", "age", uint8(3), "nick", wit.None())},
		{"record escaped field", `{%name: "x", %age: 3}`, person, rec("name", "x", "age", uint8(3), "nick", wit.None())},
		{"record keyword fields", `{true: 1, ok: false}`, kwRecord, rec("true", uint8(1), "ok", false)},
		{"record all optional {:}", `{:}`, allOpt, rec("a", wit.None(), "b", wit.None())},
		{"record all optional {}", `{}`, allOpt, rec("a", wit.None(), "b", wit.None())},
		{"record empty", `{:}`, emptyRec, wit.Record{}},
		{"variant no payload", `forever`, lifetime, wit.Variant{Case: "forever"}},
		{"variant payload", `days(30)`, lifetime, wit.Variant{Case: "days", Value: uint32(30)}},
		{"variant keyword case", `%ok("x")`, lifetime, wit.Variant{Case: "ok", Value: "x"}},
		{"variant keyword case bare", `ok("x")`, lifetime, wit.Variant{Case: "ok", Value: "x"}},
		{"variant record payload", `move({x: 1, y: -2})`, shape, wit.Variant{Case: "move", Value: rec("x", int32(1), "y", int32(-2))}},
		{"enum", `green`, color, wit.Enum("green")},
		{"enum keyword", `%none`, color, wit.Enum("none")},
		{"option none", `none`, wit.OptionOf(wit.U8), wit.None()},
		{"option some", `some(1)`, wit.OptionOf(wit.U8), wit.Some(uint8(1))},
		{"option option none", `none`, optOpt, wit.None()},
		{"option some none", `some(none)`, optOpt, wit.Some(wit.None())},
		{"option some some", `some(some(5))`, optOpt, wit.Some(wit.Some(uint32(5)))},
		{"result ok bare", `ok`, resBare, wit.Ok(nil)},
		{"result err bare", `err`, resBare, wit.Err(nil)},
		{"result ok payload", `ok(1)`, resOk, wit.Ok(uint8(1))},
		{"result err payload", `err("e")`, resErr, wit.Err("e")},
		{"result ok no payload", `ok`, resErr, wit.Ok(nil)},
		{"result of tuple", `ok((1, "a"))`, resTuple, wit.Ok(wit.Tuple{uint8(1), "a"})},
		{"result of tuple err", `err("bad")`, resTuple, wit.Err("bad")},
		{"flags", `{read, write}`, perms, wit.Flags{"read", "write"}},
		{"flags reordered trailing comma", `{exec, read,}`, perms, wit.Flags{"read", "exec"}},
		{"flags empty", `{}`, perms, wit.Flags{}},
		{"flags escaped", `{%write}`, perms, wit.Flags{"write"}},
		{"flags keywords", `{err, ok}`, kwFlags, wit.Flags{"ok", "err"}},
		{"list of records with options", `[{name: "a", age: 1, nick: some("b")}, {age: 2, name: "c"}]`, people,
			[]any{rec("name", "a", "age", uint8(1), "nick", wit.Some("b")), rec("name", "c", "age", uint8(2), "nick", wit.None())}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.text, tc.typ)
			if err != nil {
				t.Fatalf("Parse(%q, %s): %v", tc.text, tc.typ, err)
			}
			if !equal(got, tc.want) {
				t.Fatalf("Parse(%q, %s) = %#v, want %#v", tc.text, tc.typ, got, tc.want)
			}
		})
	}
}

type fakeResource struct{}

func (fakeResource) Owned() bool { return true }

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		v    any
		typ  *wit.Type
		want string
	}{
		{"bool", true, wit.Bool, "true"},
		{"s8", int8(-128), wit.S8, "-128"},
		{"u64 max", uint64(math.MaxUint64), wit.U64, "18446744073709551615"},
		{"s64 min", int64(math.MinInt64), wit.S64, "-9223372036854775808"},
		{"int input", 7, wit.U16, "7"},
		{"f64 integral", 1.0, wit.F64, "1"},
		{"f64 fraction", 0.1, wit.F64, "0.1"},
		{"f64 large no exponent", 1e21, wit.F64, "1000000000000000000000"},
		{"f64 small no exponent", 1e-7, wit.F64, "0.0000001"},
		{"f64 negative zero", math.Copysign(0, -1), wit.F64, "-0"},
		{"f64 nan", math.NaN(), wit.F64, "nan"},
		{"f64 inf", math.Inf(1), wit.F64, "inf"},
		{"f64 -inf", math.Inf(-1), wit.F64, "-inf"},
		{"f32 shortest", float32(0.1), wit.F32, "0.1"},
		{"f32 from f64", 0.1, wit.F32, "0.1"},
		{"f32 nan", float32(math.NaN()), wit.F32, "nan"},
		{"char", wit.Char('x'), wit.CharT, "'x'"},
		{"char quote", wit.Char('\''), wit.CharT, `'\''`},
		{"char dquote", wit.Char('"'), wit.CharT, `'\"'`},
		{"char control", wit.Char(7), wit.CharT, `'\u{7}'`},
		{"char combining", wit.Char(0x301), wit.CharT, `'\u{301}'`},
		{"char emoji", wit.Char(0x1F600), wit.CharT, "'😀'"},
		{"string", "say \"hi\"\n\tit's \\ ☃", wit.String, `"say \"hi\"\n\tit\'s \\ ☃"`},
		{"string nul and del", "a\x00b\x7f", wit.String, `"a\u{0}b\u{7f}"`},
		{"bytes", []byte{1, 2, 3}, bytesType, "[1, 2, 3]"},
		{"bytes empty", []byte{}, bytesType, "[]"},
		{"list from []any", []any{uint8(1), uint8(2)}, bytesType, "[1, 2]"},
		{"list of strings", []any{"a", "b"}, wit.ListOf(wit.String), `["a", "b"]`},
		{"list from []string", []string{"a"}, wit.ListOf(wit.String), `["a"]`},
		{"tuple", wit.Tuple{"abc", uint32(123)}, pair, `("abc", 123)`},
		{"record", rec("name", "x", "age", uint8(3), "nick", wit.Some("y")), person, `{name: "x", age: 3, nick: some("y")}`},
		{"record omits none", rec("name", "x", "age", uint8(3), "nick", wit.None()), person, `{name: "x", age: 3}`},
		{"record from map", map[string]any{"x": 1, "y": -2}, point, `{x: 1, y: -2}`},
		{"record all none", rec("a", wit.None(), "b", nil), allOpt, `{:}`},
		{"record empty", wit.Record{}, emptyRec, `{:}`},
		{"record keyword fields", rec("true", uint8(1), "ok", true), kwRecord, `{true: 1, ok: true}`},
		{"variant", wit.Variant{Case: "days", Value: uint32(30)}, lifetime, "days(30)"},
		{"variant no payload", wit.Variant{Case: "forever"}, lifetime, "forever"},
		{"variant keyword", wit.Variant{Case: "ok", Value: "x"}, lifetime, `%ok("x")`},
		{"variant record payload", wit.Variant{Case: "move", Value: rec("x", int32(1), "y", int32(2))}, shape, "move({x: 1, y: 2})"},
		{"enum", wit.Enum("red"), color, "red"},
		{"enum keyword", wit.Enum("none"), color, "%none"},
		{"enum from string", "blue", color, "blue"},
		{"option some", wit.Some(uint8(1)), wit.OptionOf(wit.U8), "some(1)"},
		{"option none", wit.None(), wit.OptionOf(wit.U8), "none"},
		{"option nil", nil, wit.OptionOf(wit.U8), "none"},
		{"option bare input", uint8(5), wit.OptionOf(wit.U8), "some(5)"},
		{"option option", wit.Some(wit.None()), optOpt, "some(none)"},
		{"option option some", wit.Some(wit.Some(uint32(2))), optOpt, "some(some(2))"},
		{"result ok", wit.Ok(uint8(1)), resOk, "ok(1)"},
		{"result ok bare", wit.Ok(nil), resBare, "ok"},
		{"result err", wit.Err("x"), resErr, `err("x")`},
		{"result err bare", wit.Err(nil), resOk, "err"},
		{"result of tuple", wit.Ok(wit.Tuple{uint8(1), "a"}), resTuple, `ok((1, "a"))`},
		{"flags", wit.Flags{"read", "write"}, perms, "{read, write}"},
		{"flags declaration order", wit.Flags{"exec", "read"}, perms, "{read, exec}"},
		{"flags empty", wit.Flags{}, perms, "{}"},
		{"resource", fakeResource{}, ownType, "<resource>"},
		{"resource borrow", fakeResource{}, &wit.Type{Kind: wit.KindBorrow}, "<resource>"},
		{"mismatch falls back", "x", wit.U8, `"x"`},
		{"list of records", []any{rec("name", "a", "age", uint8(1), "nick", wit.None())}, people, `[{name: "a", age: 1}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Format(tc.v, tc.typ)
			if got != tc.want {
				t.Fatalf("Format(%#v, %s) = %s, want %s", tc.v, tc.typ, got, tc.want)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{int32(-5), "-5"},
		{int64(1) << 40, "1099511627776"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{float32(1.5), "1.5"},
		{2.0, "2"},
		{math.NaN(), "nan"},
		{true, "true"},
		{nil, "<nil>"},
		{wit.Char('\n'), `'\n'`},
		{"hi\"", `"hi\""`},
		{[]byte{1, 2}, "[1, 2]"},
		{[]int{3, 4}, "[3, 4]"},
		{[]any{uint8(1), "a"}, `[1, "a"]`},
		{wit.Tuple{1, "a"}, `(1, "a")`},
		{rec("a", 1, "b", wit.None(), "c", wit.Some("x")), `{a: 1, c: some("x")}`},
		{wit.Record{}, "{:}"},
		{map[string]any{"b": 2, "a": 1}, "{a: 1, b: 2}"},
		{wit.Variant{Case: "err", Value: 1}, "%err(1)"},
		{&wit.Variant{Case: "x"}, "x"},
		{wit.Enum("ok"), "%ok"},
		{wit.Ok(nil), "ok"},
		{wit.Err("e"), `err("e")`},
		{wit.Flags{"a", "b"}, "{a, b}"},
		{fakeResource{}, "<resource>"},
		{struct{ A int }{1}, "<struct { A int } {1}>"},
	}
	for _, tc := range tests {
		if got := FormatValue(tc.v); got != tc.want {
			t.Errorf("FormatValue(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestFormatValueCycle(t *testing.T) {
	a := []any{nil}
	a[0] = a
	if s := FormatValue(a); !strings.Contains(s, "…") {
		t.Fatalf("cyclic value printed without cut-off: %.40s", s)
	}
}

// deepList returns list<list<...<u8>>> n levels deep.
func deepList(n int) *wit.Type {
	t := wit.U8
	for i := 0; i < n; i++ {
		t = wit.ListOf(t)
	}
	return t
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		typ  *wit.Type
		want []string // substrings of the message
	}{
		{"label for u8", `abc`, wit.U8, []string{"wave: at 0: expected u8, found \"abc\""}},
		{"string for u8", `  "abc"`, wit.U8, []string{"at 2", "expected u8", `found string "abc"`}},
		{"u8 too big", `256`, wit.U8, []string{"256 out of range for u8 (0 to 255)"}},
		{"u32 negative", `-1`, wit.U32, []string{"-1 out of range for u32"}},
		{"s8 too small", `-129`, wit.S8, []string{"out of range for s8 (-128 to 127)"}},
		{"u64 huge", `99999999999999999999999`, wit.U64, []string{"out of range for u64"}},
		{"s32 fraction", `1.5`, wit.S32, []string{"expected s32", "not an integer"}},
		{"s32 nan", `nan`, wit.S32, []string{"expected s32", `found "nan"`}},
		{"leading zero", `01`, wit.U8, []string{"invalid number \"01\""}},
		{"bad number", `1.`, wit.F64, []string{"invalid number"}},
		{"lone minus", `-`, wit.S8, []string{"unexpected character '-'"}},
		{"escaped true is not bool", `%true`, wit.Bool, []string{"expected bool", `"%true"`}},
		{"unknown enum case", `purple`, color, []string{`unknown enum case "purple"`, "red, green, blue"}},
		{"mixed case label", `rEd`, color, []string{`invalid label "rEd"`}},
		{"unknown record field", `{x: 1, z: 2}`, point, []string{"at 7", `unknown field "z"`, "fields: x, y"}},
		{"missing field", `{x: 1}`, point, []string{"at 0", `missing field "y"`}},
		{"missing field in {}", `{}`, point, []string{`missing field "x"`}},
		{"duplicate field", `{x: 1, x: 2, y: 3}`, point, []string{`duplicate field "x"`}},
		{"record without colon", `{x, y}`, point, []string{"expected ':' after field x"}},
		{"nested path", `[{name: "a", age: 1}, {name: "b", age: "old"}]`, people, []string{"at 39 in [1].age: expected u8"}},
		{"path through variant", `move({x: 1, y: true})`, shape, []string{"in move.y: expected s32", `found "true"`}},
		{"path through option", `some(some(x))`, optOpt, []string{"in some.some: expected u32"}},
		{"unterminated string", `"abc`, wit.String, []string{"at 0: unterminated string"}},
		{"newline in string", "\"a\nb\"", wit.String, []string{"unterminated string", `\n`}},
		{"invalid escape", `"a\qb"`, wit.String, []string{"at 2: invalid escape \\q"}},
		{"bad unicode escape", `"\u{110000}"`, wit.String, []string{"not a Unicode scalar value"}},
		{"surrogate escape", `'\u{d800}'`, wit.CharT, []string{"not a Unicode scalar value"}},
		{"unicode escape no braces", `"\u0041"`, wit.String, []string{"invalid unicode escape"}},
		{"unicode escape too long", `"\u{0000041}"`, wit.String, []string{"invalid unicode escape"}},
		{"invalid utf8", "\"a\xffb\"", wit.String, []string{"at 2: invalid UTF-8"}},
		{"char two chars", `'ab'`, wit.CharT, []string{"more than one character"}},
		{"char empty", `''`, wit.CharT, []string{"empty char literal"}},
		{"char unterminated", `'a`, wit.CharT, []string{"unterminated char literal"}},
		{"string for char", `"a"`, wit.CharT, []string{"expected char"}},
		{"trailing input", `1 2`, wit.U8, []string{"at 2: unexpected trailing input \"2\""}},
		{"trailing comma at top", `1,`, wit.U8, []string{"trailing input"}},
		{"empty input", ``, wit.U8, []string{"expected u8, found end of input"}},
		{"only comment", `// nothing`, wit.U8, []string{"found end of input"}},
		{"bare value for option", `5`, wit.OptionOf(wit.U8), []string{"expected option<u8> (some(…) or none)", `found "5"`}},
		{"some without parens", `some`, wit.OptionOf(wit.U8), []string{"some needs a payload"}},
		{"escaped none for option", `%none`, wit.OptionOf(wit.U8), []string{"expected option<u8>"}},
		{"ok needs payload", `ok`, resOk, []string{"ok needs a payload of type u8"}},
		{"err has no payload", `err(1)`, resOk, []string{"err has no payload"}},
		{"bare value for result", `1`, resOk, []string{"expected result<u8> (ok, ok(…), err or err(…))"}},
		{"case has no payload", `forever(1)`, lifetime, []string{"case forever has no payload"}},
		{"case needs payload", `days`, lifetime, []string{"case days needs a payload of type u32"}},
		{"unknown case", `weeks(2)`, lifetime, []string{`unknown variant case "weeks"`, "forever, days, ok"}},
		{"payload unclosed", `days(1`, lifetime, []string{"expected ')'"}},
		{"unknown flag", `{read, fly}`, perms, []string{`unknown flag "fly"`}},
		{"duplicate flag", `{read, read}`, perms, []string{`duplicate flag "read"`}},
		{"record form for flags", `{read: true}`, perms, []string{"expected ',' or '}'"}},
		{"tuple too few", `("a")`, pair, []string{"too few elements", "want 2, found 1"}},
		{"tuple too many", `("a", 1, 2)`, pair, []string{"at 9", "too many elements"}},
		{"list unterminated", `[1, 2`, bytesType, []string{"missing ']' for '[' at 0"}},
		{"list missing comma", `[1 2]`, bytesType, []string{"at 3: expected ',' or ']'"}},
		{"list empty element", `[1,,2]`, bytesType, []string{"expected u8", `found ","`}},
		{"list element path", `[1, 2, x]`, bytesType, []string{"at 7 in [2]: expected u8"}},
		{"list for record", `[1]`, point, []string{"expected record"}},
		{"unexpected character", `@`, wit.U8, []string{"unexpected character '@'"}},
		{"resource", `x`, ownType, []string{"resources have no text form"}},
		{"nil type", `1`, nil, []string{"no type"}},
		{"too deep", strings.Repeat("[", 150) + strings.Repeat("]", 150), deepList(200), []string{"nested too deeply"}},
		{"deep text shallow type", strings.Repeat("[", 10000), bytesType, []string{"expected u8"}},
		{"multiline no newline", `"""abc"""`, wit.String, []string{"followed immediately by a line break"}},
		{"multiline closing not alone", "\"\"\"\nabc\"\"\"", wit.String, []string{"closing \"\"\" must be on its own line"}},
		{"multiline bad indent", "\"\"\"\n a\n  \"\"\"", wit.String, []string{"indented less"}},
		{"multiline unterminated", "\"\"\"\nabc", wit.String, []string{"unterminated multiline string"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Parse(tc.text, tc.typ)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want error", tc.text, v)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "wave: ") {
				t.Errorf("error %q does not start with \"wave: \"", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", 99) + "1" + strings.Repeat("]", 99)
	if _, err := Parse(ok, deepList(99)); err != nil {
		t.Fatalf("100 levels: %v", err)
	}
	bad := strings.Repeat("[", 100) + "1" + strings.Repeat("]", 100)
	if _, err := Parse(bad, deepList(100)); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("101 levels: err = %v", err)
	}
}

func TestParseCall(t *testing.T) {
	tests := []struct {
		text string
		name string
		args []string
	}{
		{"run", "run", nil},
		{"  run  ", "run", nil},
		{"run()", "run", []string{}},
		{"run ( )", "run", []string{}},
		{`airssys:test/echo@0.1.0#echo-string("hi")`, "airssys:test/echo@0.1.0#echo-string", []string{`"hi"`}},
		{`f(1, [2, 3], {a: "x,y"}, ')', "(", )`, "f", []string{"1", "[2, 3]", `{a: "x,y"}`, "')'", `"("`}},
		{`f('\'', "\")", some((1, 2)))`, "f", []string{`'\''`, `"\")"`, "some((1, 2))"}},
		{"f(\n  1, // one, (\n  2 // two\n)", "f", []string{"1", "// one, (\n  2 // two"}},
		{"f(\"\"\"\n  a \"(\" )\n  \"\"\", 2)", "f", []string{"\"\"\"\n  a \"(\" )\n  \"\"\"", "2"}},
		{"f() // done", "f", []string{}},
	}
	for _, tc := range tests {
		name, args, err := ParseCall(tc.text)
		if err != nil {
			t.Errorf("ParseCall(%q): %v", tc.text, err)
			continue
		}
		if name != tc.name || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("ParseCall(%q) = %q, %q; want %q, %q", tc.text, name, args, tc.name, tc.args)
		}
	}
}

func TestParseCallErrors(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", []string{"missing function name"}},
		{"(1)", []string{"at 0: missing function name"}},
		{"my func(1)", []string{"at 2: invalid character ' ' in function name"}},
		{`f"x"(1)`, []string{"invalid character '\"'"}},
		{"f(1,,2)", []string{"at 4: empty argument"}},
		{"f(,)", []string{"empty argument"}},
		{"f(1", []string{"missing ')' for '(' at 1"}},
		{"f([1)", []string{"at 4: expected ']' to close '[' at 2, found ')'"}},
		{"f(1))", []string{"at 4: unexpected trailing input"}},
		{"f(1) x", []string{"at 5: unexpected trailing input"}},
		{"f(1])", []string{"unexpected ']'"}},
		{`f("abc)`, []string{"at 2: unterminated string"}},
		{`f('a)`, []string{"unterminated char literal"}},
		{"f(\"\"\"\nabc)", []string{"unterminated multiline string"}},
		{"f([1, 2", []string{"missing ']' for '[' at 2"}},
	}
	for _, tc := range tests {
		name, args, err := ParseCall(tc.text)
		if err == nil {
			t.Errorf("ParseCall(%q) = %q, %q; want error", tc.text, name, args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseCall(%q) error %q does not mention %q", tc.text, err, w)
			}
		}
	}
}

func TestParseArgs(t *testing.T) {
	ft := &wit.FuncType{Params: []wit.Param{{Name: "a", Type: wit.U8}, {Name: "b", Type: wit.String}, {Name: "c", Type: people}}}
	name, args, err := ParseCall("pkg:x/y#f(7, \"s\", [{name: \"n\", age: 1}, // c\n])")
	if err != nil || name != "pkg:x/y#f" {
		t.Fatalf("ParseCall: %q, %v", name, err)
	}
	got, err := ParseArgs(args, ft)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{uint8(7), "s", []any{rec("name", "n", "age", uint8(1), "nick", wit.None())}}
	if !equal(got, want) {
		t.Fatalf("ParseArgs = %#v, want %#v", got, want)
	}

	none, err := ParseArgs(nil, &wit.FuncType{})
	if err != nil || len(none) != 0 {
		t.Fatalf("no args: %v, %v", none, err)
	}

	_, err = ParseArgs([]string{"1"}, ft)
	if err == nil || !strings.Contains(err.Error(), "expected 3 arguments") || !strings.Contains(err.Error(), "found 1") {
		t.Fatalf("count mismatch error = %v", err)
	}
	_, err = ParseArgs([]string{"1", "2", "[]"}, ft)
	if err == nil || !strings.Contains(err.Error(), "wave: argument 2 (b): at 0: expected string") {
		t.Fatalf("typed error = %v", err)
	}
	_, err = ParseArgs([]string{"1"}, nil)
	if err == nil {
		t.Fatal("nil FuncType accepted")
	}
}

// TestFormatParseSamples checks Parse(Format(v)) for hand-picked tricky values.
func TestFormatParseSamples(t *testing.T) {
	samples := []struct {
		v   any
		typ *wit.Type
	}{
		{"\u0301 starts with a combining mark \u200b\ufeff\U0010FFFF \x7f", wit.String},
		{wit.Char(0xE000), wit.CharT},
		{math.SmallestNonzeroFloat64, wit.F64},
		{math.MaxFloat64, wit.F64},
		{float32(math.SmallestNonzeroFloat32), wit.F32},
		{float32(math.MaxFloat32), wit.F32},
		{float32(16777217), wit.F32},
		{wit.Some(wit.Some(uint32(0))), optOpt},
	}
	for _, s := range samples {
		text := Format(s.v, s.typ)
		got, err := Parse(text, s.typ)
		if err != nil || !equal(got, s.v) {
			t.Errorf("Parse(Format(%#v)) via %s = %#v, %v", s.v, text, got, err)
		}
	}
}
