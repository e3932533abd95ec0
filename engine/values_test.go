package engine_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

const (
	echoIface  = "airssys:test/echo@0.1.0#"
	relayIface = "airssys:test/relay@0.1.0#"
	hostIface  = "airssys:test/host-echo@0.1.0"
)

var point = wit.Record{{Name: "x", Value: int32(-3)}, {Name: "y", Value: int32(7)}}

// valueCases: for each type, inputs and the value expected back.
var valueCases = []struct {
	fn   string
	in   any
	want any
}{
	{"bool", true, true},
	{"bool", false, false},
	{"s8", int8(-128), int8(-128)},
	{"u8", uint8(255), uint8(255)},
	{"s16", int16(-32768), int16(-32768)},
	{"u16", uint16(65535), uint16(65535)},
	{"s32", int32(math.MinInt32), int32(math.MinInt32)},
	{"s32", 12345, int32(12345)}, // any Go integer that fits
	// componentize-js 0.23 garbles u32 >= 2^31 and traps on negative 64-bit
	// core values in its generated glue; testdata/build.sh patches that glue
	// (see testdata/README.md), and these cases keep the patch honest.
	{"u32", uint32(math.MaxUint32), uint32(math.MaxUint32)},
	{"u32", uint32(1 << 31), uint32(1 << 31)},
	{"s64", int64(math.MinInt64), int64(math.MinInt64)},
	{"s64", int64(-1), int64(-1)},
	{"u64", uint64(math.MaxUint64), uint64(math.MaxUint64)},
	{"f32", float32(1.5), float32(1.5)},
	{"f64", -2.25, -2.25},
	{"f64", math.Inf(1), math.Inf(1)},
	{"char", wit.Char('€'), wit.Char('€')},
	{"char", wit.Char('😀'), wit.Char('😀')},
	{"string", "", ""},
	{"string", "héllo, wörld ✓", "héllo, wörld ✓"},
	{"list-u8", []byte{0, 1, 254, 255}, []byte{0, 1, 254, 255}},
	{"list-u8", []byte{}, []byte{}},
	{"list-string", []string{"a", "", "ccc"}, []any{"a", "", "ccc"}},
	{"list-point", []any{point, point}, []any{point, point}},
	{"point", point, point},
	{"point", map[string]any{"y": int32(7), "x": int32(-3)}, point},
	{"person",
		wit.Record{{Name: "name", Value: "Ada"}, {Name: "age", Value: uint8(36)},
			{Name: "tags", Value: []string{"math", "engines"}}, {Name: "home", Value: wit.Some(point)}},
		wit.Record{{Name: "name", Value: "Ada"}, {Name: "age", Value: uint8(36)},
			{Name: "tags", Value: []any{"math", "engines"}}, {Name: "home", Value: wit.Some(point)}}},
	{"person",
		wit.Record{{Name: "name", Value: "Bob"}, {Name: "age", Value: uint8(0)},
			{Name: "tags", Value: []any{}}, {Name: "home", Value: wit.None()}},
		wit.Record{{Name: "name", Value: "Bob"}, {Name: "age", Value: uint8(0)},
			{Name: "tags", Value: []any{}}, {Name: "home", Value: wit.None()}}},
	{"tuple", wit.Tuple{uint32(9), "nine", true}, wit.Tuple{uint32(9), "nine", true}},
	{"shape", wit.Variant{Case: "circle", Value: 2.5}, wit.Variant{Case: "circle", Value: 2.5}},
	{"shape", wit.Variant{Case: "circle", Value: -2.5}, wit.Variant{Case: "circle", Value: -2.5}},
	{"shape", wit.Variant{Case: "rect", Value: point}, wit.Variant{Case: "rect", Value: point}},
	{"shape", wit.Variant{Case: "empty"}, wit.Variant{Case: "empty"}},
	{"color", wit.Enum("green"), wit.Enum("green")},
	{"color", "blue", wit.Enum("blue")},
	{"option", wit.Some("x"), wit.Some("x")},
	{"option", wit.None(), wit.None()},
	{"option", nil, wit.None()},
	{"nested-option", wit.Some(wit.None()), wit.Some(wit.None())},
	{"nested-option", wit.Some(wit.Some(uint32(4))), wit.Some(wit.Some(uint32(4)))},
	{"nested-option", wit.None(), wit.None()},
	{"result", wit.Ok(uint32(1)), wit.Ok(uint32(1))},
	{"result", wit.Err("bad"), wit.Err("bad")},
	{"result-unit", wit.Ok(nil), wit.Ok(nil)},
	{"result-unit", wit.Err(nil), wit.Err(nil)},
	{"perms", wit.Flags{"read", "exec"}, wit.Flags{"read", "exec"}},
	{"perms", wit.Flags{}, wit.Flags{}},
}

// identityHost implements the host-echo interface with identity functions,
// counting calls so the relay test proves the host was really crossed.
func identityHost(calls *int) *engine.Host {
	h := engine.NewHost()
	for _, fn := range []string{"bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64",
		"char", "string", "list-u8", "list-string", "list-point", "point", "person", "tuple", "shape", "color",
		"option", "nested-option", "result", "result-unit", "perms"} {
		h.Func(hostIface, "echo-"+fn, func(ctx context.Context, args []any) (any, error) {
			*calls++
			return args[0], nil
		})
	}
	return h
}

func typesInstance(t *testing.T, calls *int) *engine.Instance {
	return instance(t, "types.wasm", engine.InstanceConfig{Host: identityHost(calls)})
}

// TestEveryValueTypeThroughJSComponent sends each WIT type into a component
// built by componentize-js and back (guest exports), then through the guest
// into a Go host function and back (guest imports).
func TestEveryValueTypeThroughJSComponent(t *testing.T) {
	var calls int
	i := typesInstance(t, &calls)
	for _, tc := range valueCases {
		for _, prefix := range []string{echoIface + "echo-", relayIface + "relay-"} {
			before := calls
			got, err := i.Call(context.Background(), prefix+tc.fn, tc.in)
			if err != nil {
				t.Fatalf("%s(%#v): %v", prefix+tc.fn, tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s(%#v) = %#v, want %#v", prefix+tc.fn, tc.in, got, tc.want)
			}
			if strings.HasPrefix(prefix, relayIface) && calls != before+1 {
				t.Errorf("%s did not reach the host function", prefix+tc.fn)
			}
		}
	}
}

func TestMultiParams(t *testing.T) {
	var calls int
	i := typesInstance(t, &calls)
	got := call(t, i, echoIface+"multi", uint8(1), int16(-2), float32(0.5), "hi")
	want := wit.Tuple{-0.5, "hi!"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("multi = %#v, want %#v", got, want)
	}
}

func TestNaNRoundTrip(t *testing.T) {
	var calls int
	i := typesInstance(t, &calls)
	got := call(t, i, echoIface+"echo-f64", math.NaN())
	if f, ok := got.(float64); !ok || !math.IsNaN(f) {
		t.Fatalf("echo-f64(NaN) = %#v", got)
	}
}

func TestResources(t *testing.T) {
	var calls int
	i := typesInstance(t, &calls)
	const iface = "airssys:test/counters@0.1.0#"
	r := call(t, i, iface+"make-counter", uint32(41))
	res, ok := r.(*engine.Resource)
	if !ok || !res.Owned() {
		t.Fatalf("make-counter returned %#v, want an own resource", r)
	}
	call(t, i, iface+"[method]counter.inc", res)
	if v := call(t, i, iface+"[method]counter.get", res); v != uint32(42) {
		t.Fatalf("counter.get after inc = %v, want 42", v)
	}
	if v := call(t, i, iface+"counter-value", res); v != uint32(42) {
		t.Fatalf("counter-value (borrow) = %v, want 42", v)
	}
	r2 := call(t, i, iface+"[constructor]counter", uint32(5)).(*engine.Resource)
	if v := call(t, i, iface+"[method]counter.get", r2); v != uint32(5) {
		t.Fatalf("constructor(5).get = %v", v)
	}
	if err := res.Drop(); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if _, err := i.Call(context.Background(), iface+"counter-value", res); !errors.Is(err, wit.ErrType) {
		t.Fatalf("using a dropped resource: %v, want a type error", err)
	}
	// A resource of one instance is refused by another.
	other := typesInstance(t, &calls)
	if _, err := other.Call(context.Background(), iface+"counter-value", r2); !errors.Is(err, wit.ErrType) {
		t.Fatalf("foreign resource: %v, want a type error", err)
	}
}

func TestArgumentsAreCheckedBeforeTheCall(t *testing.T) {
	var calls int
	i := typesInstance(t, &calls)
	bad := []struct {
		fn   string
		args []any
		want string
	}{
		{"echo-u8", []any{256}, "want u8"},
		{"echo-u8", []any{-1}, "want u8"},
		{"echo-s32", []any{"12"}, "want s32"},
		{"echo-bool", []any{1}, "want bool"},
		{"echo-string", []any{[]byte("x")}, "want string"},
		{"echo-char", []any{wit.Char(0xD800)}, "invalid Unicode"},
		{"echo-point", []any{wit.Record{{Name: "x", Value: int32(1)}}}, "record with 1 fields"},
		{"echo-point", []any{map[string]any{"x": int32(1), "z": int32(2)}}, "without key y"},
		{"echo-person", []any{wit.Record{{Name: "name", Value: "a"}, {Name: "age", Value: uint8(1)},
			{Name: "tags", Value: []any{"ok", 7}}, {Name: "home", Value: nil}}}, "tags[1]: want string"},
		{"echo-shape", []any{wit.Variant{Case: "square"}}, "unknown case square"},
		{"echo-shape", []any{wit.Variant{Case: "empty", Value: 1}}, "without payload"},
		{"echo-color", []any{"purple"}, "unknown case purple"},
		{"echo-perms", []any{wit.Flags{"fly"}}, "unknown flag fly"},
		{"echo-result", []any{wit.Ok("no")}, "want u32"},
		{"echo-tuple", []any{wit.Tuple{uint32(1), "a"}}, "want tuple"},
		{"echo-s32", nil, "0 argument"},
		{"echo-s32", []any{1, 2}, "2 argument"},
	}
	for _, b := range bad {
		_, err := i.Call(context.Background(), echoIface+b.fn, b.args...)
		if !errors.Is(err, wit.ErrType) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s(%v): err = %v, want a type error mentioning %q", b.fn, b.args, err, b.want)
		}
	}
	// A refused argument does not poison the instance.
	if v := call(t, i, echoIface+"echo-u8", 7); v != uint8(7) {
		t.Fatalf("after refusals: %v", v)
	}
}

func TestHostResultOfWrongTypeTrapsTheCall(t *testing.T) {
	h := engine.NewHost().Func("airssys:test/host@0.1.0", "get", func(context.Context, []any) (any, error) {
		return "not a number", nil
	}).Func("airssys:test/host@0.1.0", "log", func(context.Context, []any) (any, error) { return nil, nil })
	i := instance(t, "hostcall.wasm", engine.InstanceConfig{Host: h})
	_, err := i.Call(context.Background(), "call-get")
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapHostFunction || !errors.Is(err, wit.ErrType) {
		t.Fatalf("err = %v, want a host-function trap wrapping a type error", err)
	}
}

// TestScalarExtremes uses a hand-written WAT component (identity core
// functions lifted at every scalar type) for the edge values.
func TestScalarExtremes(t *testing.T) {
	i := instance(t, "scalars.wasm", engine.InstanceConfig{})
	cases := []struct {
		fn string
		v  any
	}{
		{"echo-bool", true}, {"echo-s8", int8(math.MinInt8)}, {"echo-s8", int8(math.MaxInt8)},
		{"echo-u8", uint8(math.MaxUint8)}, {"echo-s16", int16(math.MinInt16)}, {"echo-u16", uint16(math.MaxUint16)},
		{"echo-s32", int32(math.MinInt32)}, {"echo-s32", int32(math.MaxInt32)},
		{"echo-u32", uint32(1 << 31)}, {"echo-u32", uint32(math.MaxUint32)},
		{"echo-s64", int64(math.MinInt64)}, {"echo-s64", int64(-1)}, {"echo-u64", uint64(math.MaxUint64)},
		{"echo-f32", float32(math.SmallestNonzeroFloat32)}, {"echo-f32", float32(math.Inf(-1))},
		{"echo-f64", math.MaxFloat64}, {"echo-f64", math.Copysign(0, -1)},
		{"echo-char", wit.Char(0x10FFFF)}, {"echo-char", wit.Char(0)},
	}
	for _, c := range cases {
		got := call(t, i, c.fn, c.v)
		if !reflect.DeepEqual(got, c.v) {
			t.Errorf("%s(%#v) = %#v", c.fn, c.v, got)
		}
	}
	if got := call(t, i, "echo-f64", math.Copysign(0, -1)).(float64); !math.Signbit(got) {
		t.Errorf("-0 lost its sign")
	}
}
