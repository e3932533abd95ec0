package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
)

type ctxKey struct{}

func hostcallHost(get engine.HostFunc, logged *[]string) *engine.Host {
	return engine.NewHost().Interface("airssys:test/host@0.1.0", map[string]engine.HostFunc{
		"get": get,
		"log": func(ctx context.Context, args []any) (any, error) {
			*logged = append(*logged, args[0].(string))
			return nil, nil
		},
	})
}

func TestHostFunctions(t *testing.T) {
	var logged []string
	var sawCtx any
	h := hostcallHost(func(ctx context.Context, args []any) (any, error) {
		sawCtx = ctx.Value(ctxKey{})
		return int32(41), nil
	}, &logged)
	i := instance(t, "hostcall.wasm", engine.InstanceConfig{Host: h})
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller's context")
	v, err := i.Call(ctx, "call-get")
	if err != nil || v != int32(42) {
		t.Fatalf("call-get = %v, %v; want 42", v, err)
	}
	if sawCtx != "caller's context" {
		t.Fatalf("host function saw context value %v", sawCtx)
	}
	call(t, i, "call-log", "hello host")
	if len(logged) != 1 || logged[0] != "hello host" {
		t.Fatalf("logged %q", logged)
	}
	if v := call(t, i, "call-get-n", uint32(10)); v != int32(410) {
		t.Fatalf("call-get-n(10) = %v", v)
	}
}

func TestHostFunctionErrorAndPanicTrapTheCall(t *testing.T) {
	boom := errors.New("boom")
	for name, get := range map[string]engine.HostFunc{
		"error": func(context.Context, []any) (any, error) { return nil, boom },
		"panic": func(context.Context, []any) (any, error) { panic("host bug") },
	} {
		var logged []string
		i := instance(t, "hostcall.wasm", engine.InstanceConfig{Host: hostcallHost(get, &logged)})
		_, err := i.Call(context.Background(), "call-get")
		trap := trapOf(t, err)
		if trap.Kind != engine.TrapHostFunction {
			t.Fatalf("%s: kind %v", name, trap.Kind)
		}
		if name == "error" && !errors.Is(err, boom) {
			t.Fatalf("error: %v does not wrap the host error", err)
		}
		if name == "panic" && !containsAll(err.Error(), "panic", "host bug") {
			t.Fatalf("panic: %v", err)
		}
	}
}

func TestMissingImportIsAClearError(t *testing.T) {
	_, err := load(t, "hostcall.wasm").Instantiate(context.Background(), engine.InstanceConfig{})
	if err == nil || !containsAll(err.Error(), "airssys:test/host@0.1.0") {
		t.Fatalf("err = %v", err)
	}
}

func TestCoreModuleHostFunction(t *testing.T) {
	h := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32},
		func(ctx context.Context, args []any) ([]any, error) { return []any{int32(99)}, nil })
	i := instance(t, "core_host.wasm", engine.InstanceConfig{Host: h})
	if v := call(t, i, "call_get"); v != int32(100) {
		t.Fatalf("call_get = %v", v)
	}
	hp := engine.NewHost().CoreFunc("env", "get", nil, []engine.CoreType{engine.I32},
		func(ctx context.Context, args []any) ([]any, error) { panic("core host bug") })
	i2 := instance(t, "core_host.wasm", engine.InstanceConfig{Host: hp})
	_, err := i2.Call(context.Background(), "call_get")
	if trapOf(t, err).Kind != engine.TrapHostFunction {
		t.Fatalf("err = %v", err)
	}
}

func TestHostIsFrozenAfterUse(t *testing.T) {
	var logged []string
	h := hostcallHost(func(context.Context, []any) (any, error) { return int32(1), nil }, &logged)
	instance(t, "hostcall.wasm", engine.InstanceConfig{Host: h})
	defer func() {
		if recover() == nil {
			t.Fatal("changing a used Host did not panic")
		}
	}()
	h.Func("x", "y", nil)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !contains(s, sub) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
