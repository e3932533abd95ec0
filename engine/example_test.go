package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// Compile a component, look at its exports, call one with Go values.
func Example() {
	ctx := context.Background()
	eng, err := engine.New(engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	comp, err := eng.CompileFile(ctx, "../testdata/minimal.wasm")
	if err != nil {
		panic(err)
	}
	defer comp.Close()
	fmt.Print(comp.Describe())

	inst, err := comp.Instantiate(ctx, engine.InstanceConfig{})
	if err != nil {
		panic(err)
	}
	defer inst.Close()
	sum, _ := inst.Call(ctx, "add", int32(40), int32(2))
	echo, _ := inst.Call(ctx, "echo-string", "hello")
	fmt.Println(sum, echo)
	// Output:
	// component
	//   export run: func() -> s32
	//   export echo-string: func(s: string) -> string
	//   export add: func(a: s32, b: s32) -> s32
	// 42 hello
}

// Give a component Go functions for its imports.
func ExampleHost() {
	ctx := context.Background()
	eng, _ := engine.New(engine.Config{})
	defer eng.Close()
	comp, _ := eng.CompileFile(ctx, "../testdata/hostcall.wasm")
	host := engine.NewHost().Interface("airssys:test/host@0.1.0", map[string]engine.HostFunc{
		"get": func(ctx context.Context, args []any) (any, error) { return int32(41), nil },
		"log": func(ctx context.Context, args []any) (any, error) {
			fmt.Println("guest logs:", args[0])
			return nil, nil
		},
	})
	inst, _ := comp.Instantiate(ctx, engine.InstanceConfig{Host: host})
	defer inst.Close()
	v, _ := inst.Call(ctx, "call-get") // the guest calls get() and adds one
	fmt.Println(v)
	inst.Call(ctx, "call-log", "hi")
	// Output:
	// 42
	// guest logs: hi
}

// Limits stop a misbehaving guest; the error says why.
func ExampleTrap() {
	ctx := context.Background()
	eng, _ := engine.New(engine.Config{ConsumeFuel: true})
	defer eng.Close()
	comp, _ := eng.CompileFile(ctx, "../testdata/misbehave.wasm")
	for _, cfg := range []engine.InstanceConfig{
		{Timeout: 10 * time.Millisecond},
		{Fuel: 1000},
	} {
		inst, _ := comp.Instantiate(ctx, cfg)
		_, err := inst.Call(ctx, "spin")
		var trap *engine.Trap
		if errors.As(err, &trap) {
			fmt.Println(trap.Kind, errors.Is(err, engine.ErrTimeout))
		}
		inst.Close()
	}
	// Output:
	// timeout true
	// out of fuel false
}

// Records, variants and the other compound WIT types are wit values.
func Example_values() {
	ctx := context.Background()
	eng, _ := engine.New(engine.Config{})
	defer eng.Close()
	comp, _ := eng.CompileFile(ctx, "../testdata/scalars.wasm")
	inst, _ := comp.Instantiate(ctx, engine.InstanceConfig{})
	defer inst.Close()
	v, _ := inst.Call(ctx, "echo-char", wit.Char('λ'))
	fmt.Printf("%T %c\n", v, v)
	_, err := inst.Call(ctx, "echo-u8", 300)
	fmt.Println(errors.Is(err, wit.ErrType), err)
	// Output:
	// wit.Char λ
	// true engine: call echo-u8: v: want u8, got int 300
}
