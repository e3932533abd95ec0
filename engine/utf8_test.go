package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// TestStringsThatAreNotUTF8AreRefused: Wasmtime's C API aborts the whole
// process on a string that is not UTF-8 (v39), so the engine refuses one
// before it gets there: as an argument (a *wit.TypeError, the instance
// unharmed) and as a host function's result (the guest's call traps with
// TrapHostFunction, the host carries on).
func TestStringsThatAreNotUTF8AreRefused(t *testing.T) {
	ctx := context.Background()
	i := instance(t, "minimal.wasm", engine.InstanceConfig{})
	_, err := i.Call(ctx, "echo-string", "a\xffb")
	var te *wit.TypeError
	if !errors.As(err, &te) {
		t.Fatalf("echo-string of invalid UTF-8: %v, want a *wit.TypeError", err)
	}
	if v, err := i.Call(ctx, "echo-string", "ok"); err != nil || v != "ok" {
		t.Fatalf("after the refusal: %v %v", v, err)
	}

	if testing.Short() {
		t.Skip("the JavaScript component takes seconds to compile")
	}
	var calls int
	h := identityHost(&calls)
	h.Func(hostIface, "echo-string", func(context.Context, []any) (any, error) { return "a\xffb", nil })
	j := instance(t, "types.wasm", engine.InstanceConfig{Host: h})
	_, err = j.Call(ctx, relayIface+"relay-string", "x")
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapHostFunction {
		t.Fatalf("a host function returning invalid UTF-8: %v, want a host-function trap", err)
	}
}
