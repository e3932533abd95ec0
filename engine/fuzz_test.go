package engine_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// FuzzCompileInstantiate feeds arbitrary bytes to Compile and, when they
// compile, instantiates them under tight limits and calls every export with
// zero values. Nothing may crash the process; failures must be errors.
func FuzzCompileInstantiate(f *testing.F) {
	for _, name := range []string{"minimal.wasm", "core_minimal.wasm", "core_host.wasm", "scalars.wasm",
		"hostcall.wasm", "misbehave.wasm", "rawout.wasm", "res.wasm", "core_multimem.wasm", "core_table.wasm",
		"nest.wasm"} {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x0d\x00\x01\x00"))
	e, err := engine.New(engine.Config{ConsumeFuel: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ctx := context.Background()
		c, err := e.Compile(ctx, wasm)
		if err != nil {
			if !errors.Is(err, engine.ErrInvalidWasm) {
				t.Fatalf("compile error does not match ErrInvalidWasm: %v", err)
			}
			return
		}
		defer c.Close()
		i, err := c.Instantiate(ctx, engine.InstanceConfig{Fuel: 100_000, Timeout: 100 * time.Millisecond,
			MemoryLimit: 16 << 20})
		if err != nil {
			return // unresolved imports, traps in start functions: errors, fine
		}
		defer i.Close()
		for _, name := range c.FuncNames() {
			args := zeroArgs(c, name)
			if args == nil {
				continue
			}
			i2, err := c.Instantiate(ctx, engine.InstanceConfig{Fuel: 100_000, Timeout: 100 * time.Millisecond,
				MemoryLimit: 16 << 20})
			if err != nil {
				continue
			}
			i2.Call(ctx, name, args...)
			i2.Close()
		}
	})
}

// zeroArgs builds zero arguments for scalar-only signatures, nil otherwise.
func zeroArgs(c *engine.Component, name string) []any {
	if c.Kind() == engine.KindModule {
		ct, err := c.CoreFuncType(name)
		if err != nil {
			return nil
		}
		args := []any{}
		for _, p := range ct.Params {
			switch p {
			case engine.I32:
				args = append(args, int32(0))
			case engine.I64:
				args = append(args, int64(0))
			case engine.F32:
				args = append(args, float32(0))
			case engine.F64:
				args = append(args, float64(0))
			default:
				return nil
			}
		}
		return args
	}
	ft, err := c.FuncType(name)
	if err != nil {
		return nil
	}
	args := []any{}
	for _, p := range ft.Params {
		switch p.Type.Kind {
		case wit.KindString:
			args = append(args, "")
		case wit.KindF32, wit.KindF64:
			args = append(args, float64(0))
		case wit.KindS8, wit.KindU8, wit.KindS16, wit.KindU16, wit.KindS32, wit.KindU32, wit.KindS64, wit.KindU64:
			args = append(args, 0)
		case wit.KindBool:
			args = append(args, false)
		default:
			return nil
		}
	}
	return args
}
