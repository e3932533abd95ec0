package wit

import (
	"errors"
	"reflect"
	"testing"
)

func TestTypeString(t *testing.T) {
	point := RecordOf(Field{"x", S32}, Field{"y", S32})
	cases := map[string]*Type{
		"list<u8>":                  ListOf(U8),
		"option<option<string>>":    OptionOf(OptionOf(String)),
		"result":                    ResultOf(nil, nil),
		"result<u32>":               ResultOf(U32, nil),
		"result<_, string>":         ResultOf(nil, String),
		"result<u32, string>":       ResultOf(U32, String),
		"tuple<u32, string, bool>":  TupleOf(U32, String, Bool),
		"record { x: s32, y: s32 }": point,
		"variant { circle(f64), rect(record { x: s32, y: s32 }), empty }": VariantOf(Case{"circle", F64}, Case{"rect", point}, Case{"empty", nil}),
		"enum { red, green }":   EnumOf("red", "green"),
		"flags { read, write }": FlagsOf("read", "write"),
		"char":                  CharT,
		"record {}":             RecordOf(),
		"flags {}":              FlagsOf(),
	}
	for want, typ := range cases {
		if got := typ.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	ft := &FuncType{Params: []Param{{"a", S32}, {"b", ListOf(String)}}, Result: OptionOf(U8)}
	if got := ft.String(); got != "func(a: s32, b: list<string>) -> option<u8>" {
		t.Errorf("FuncType.String() = %q", got)
	}
	if got := (&FuncType{}).String(); got != "func()" {
		t.Errorf("empty FuncType = %q", got)
	}
}

func TestRecordFieldsAcceptsRecordAndMap(t *testing.T) {
	point := RecordOf(Field{"x", S32}, Field{"y", S32})
	for _, in := range []any{
		Record{{"y", int32(2)}, {"x", int32(1)}},
		map[string]any{"x": int32(1), "y": int32(2)},
	} {
		got, err := RecordFields("p", point, in)
		if err != nil || !reflect.DeepEqual(got, []any{int32(1), int32(2)}) {
			t.Errorf("RecordFields(%v) = %v, %v", in, got, err)
		}
	}
	_, err := RecordFields("p", point, map[string]any{"x": 1})
	var te *TypeError
	if !errors.As(err, &te) || !errors.Is(err, ErrType) || te.Path != "p" {
		t.Fatalf("missing field: %v", err)
	}
	if _, err := RecordFields("p", point, 5); !errors.Is(err, ErrType) {
		t.Fatalf("non-record: %v", err)
	}
}

func TestElemsAndFlags(t *testing.T) {
	if e, ok := Elems([]int32{1, 2}); !ok || !reflect.DeepEqual(e, []any{int32(1), int32(2)}) {
		t.Errorf("Elems([]int32) = %v", e)
	}
	if e, ok := Elems([2]string{"a", "b"}); !ok || !reflect.DeepEqual(e, []any{"a", "b"}) {
		t.Errorf("Elems(array) = %v", e)
	}
	if _, ok := Elems("nope"); ok {
		t.Error("Elems accepted a string")
	}
	perms := FlagsOf("read", "write", "exec")
	set, err := FlagSet("f", perms, Flags{"exec", "read"})
	if err != nil || !reflect.DeepEqual(set, []bool{true, false, true}) {
		t.Errorf("FlagSet = %v, %v", set, err)
	}
	if _, err := FlagSet("f", perms, []string{"fly"}); !errors.Is(err, ErrType) {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestIntegerConversions(t *testing.T) {
	if v, ok := AsInt64(uint64(1 << 63)); ok {
		t.Errorf("AsInt64(2^63) = %d, ok", v)
	}
	if v, ok := AsUint64(-1); ok {
		t.Errorf("AsUint64(-1) = %d, ok", v)
	}
	if v, ok := AsUint64(uint8(7)); !ok || v != 7 {
		t.Errorf("AsUint64(7) = %d, %v", v, ok)
	}
	lo, hi := IntRange(KindS8)
	if lo != -128 || hi != 127 {
		t.Errorf("IntRange(s8) = %d, %d", lo, hi)
	}
	if ValidChar(0xD800) || !ValidChar('x') {
		t.Error("ValidChar")
	}
}

func TestTypeDefinition(t *testing.T) {
	point := RecordOf(Field{"x", S32}, Field{"y", S32})
	cases := []struct {
		name string
		typ  *Type
		want string
	}{
		{"point", point, "record point { x: s32, y: s32 }"},
		{"empty", RecordOf(), "record empty {}"},
		{"shape", VariantOf(Case{"circle", F64}, Case{"rect", point}, Case{"empty", nil}),
			"variant shape { circle(f64), rect(record { x: s32, y: s32 }), empty }"},
		{"color", EnumOf("red", "green", "blue"), "enum color { red, green, blue }"},
		{"perms", FlagsOf("read", "write", "exec"), "flags perms { read, write, exec }"},
		{"no-flags", FlagsOf(), "flags no-flags {}"},
		{"bytes", ListOf(U8), "type bytes = list<u8>"},
		{"filesize", U64, "type filesize = u64"},
		{"maybe", OptionOf(point), "type maybe = option<record { x: s32, y: s32 }>"},
		{"outcome", ResultOf(nil, String), "type outcome = result<_, string>"},
		{"pair", TupleOf(U32, String), "type pair = tuple<u32, string>"},
		{"handle", &Type{Kind: KindOwn}, "type handle = own<resource>"},
		{"nothing", nil, "type nothing = _"},
	}
	for _, c := range cases {
		if got := c.typ.Definition(c.name); got != c.want {
			t.Errorf("Definition(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}
