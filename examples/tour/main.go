// Command tour runs the bundled test components through the engine: a
// component built from WAT, one built by componentize-js (JavaScript) with
// Go host functions, a WASI preview 2 component with files and output, and
// guests that loop, trap and grow memory, each stopped by its limit.
//
//	go run ./examples/tour
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wave"
	"github.com/airsstack/airssys-wasm-go/wit"
)

func main() {
	if err := tour(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func tour(ctx context.Context) error {
	testdata := "testdata"
	if _, err := os.Stat(testdata); err != nil {
		testdata = filepath.Join("..", "..", "testdata")
	}
	cache, _ := os.UserCacheDir()
	eng, err := engine.New(engine.Config{ConsumeFuel: true, CacheDir: filepath.Join(cache, "airssys-wasm", "tour")})
	if err != nil {
		return err
	}
	defer eng.Close()
	load := func(name string) (*engine.Component, error) {
		start := time.Now()
		c, err := eng.CompileFile(ctx, filepath.Join(testdata, name))
		if err == nil {
			fmt.Printf("loaded %-15s (%s) in %v\n", name, c.Kind(), time.Since(start).Round(time.Microsecond))
		}
		return c, err
	}

	section("1. A component: typed calls")
	minimal, err := load("minimal.wasm")
	if err != nil {
		return err
	}
	fmt.Print(minimal.Describe())
	inst, err := minimal.Instantiate(ctx, engine.InstanceConfig{})
	if err != nil {
		return err
	}
	show(inst, ctx, "add", int32(40), int32(2))
	show(inst, ctx, "echo-string", "héllo, component ✓")
	inst.Close()

	section("2. JavaScript (componentize-js) with Go host functions, every WIT type")
	types, err := load("types.wasm")
	if err != nil {
		return err
	}
	host := engine.NewHost()
	for _, fn := range []string{"person", "shape", "perms", "nested-option", "result", "list-point", "tuple", "u64",
		"bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "f32", "f64", "char", "string", "list-u8",
		"list-string", "point", "color", "option", "result-unit"} {
		host.Func("airssys:test/host-echo@0.1.0", "echo-"+fn, func(ctx context.Context, args []any) (any, error) {
			return args[0], nil // the guest's value, back again
		})
	}
	js, err := types.Instantiate(ctx, engine.InstanceConfig{Host: host})
	if err != nil {
		return err
	}
	person := wit.Record{{Name: "name", Value: "Ada"}, {Name: "age", Value: uint8(36)},
		{Name: "tags", Value: []string{"engines", "math"}},
		{Name: "home", Value: wit.Some(wit.Record{{Name: "x", Value: int32(1)}, {Name: "y", Value: int32(2)}})}}
	show(js, ctx, "airssys:test/echo@0.1.0#echo-person", person)
	show(js, ctx, "airssys:test/relay@0.1.0#relay-person", person)
	show(js, ctx, "airssys:test/echo@0.1.0#echo-shape", wit.Variant{Case: "circle", Value: 1.5})
	show(js, ctx, "airssys:test/relay@0.1.0#relay-perms", wit.Flags{"read", "exec"})
	show(js, ctx, "airssys:test/echo@0.1.0#multi", uint8(1), int16(2), float32(0.5), "hi")
	counter, err := js.Call(ctx, "airssys:test/counters@0.1.0#make-counter", uint32(41))
	if err != nil {
		return err
	}
	show(js, ctx, "airssys:test/counters@0.1.0#[method]counter.inc", counter)
	show(js, ctx, "airssys:test/counters@0.1.0#counter-value", counter)
	js.Close()

	section("3. WASI preview 2: output, environment, a read-only directory")
	wasi, err := load("wasi.wasm")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "airssys-tour")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("a file from the host"), 0o644)
	w, err := wasi.Instantiate(ctx, engine.InstanceConfig{WASI: engine.WASI{
		Stdout: os.Stdout, Stderr: os.Stdout, Env: map[string]string{"GREETING": "hi"},
		Dirs: []engine.Dir{{HostPath: dir, GuestPath: "/data", ReadOnly: true}}}})
	if err != nil {
		return err
	}
	const probe = "airssys:test/wasi-probe@0.1.0#"
	show(w, ctx, probe+"hello")
	show(w, ctx, probe+"get-env", "GREETING")
	show(w, ctx, probe+"get-env", "HOME")
	show(w, ctx, probe+"read-file", "/data/hello.txt")
	show(w, ctx, probe+"write-file", "/data/new.txt", "refused")
	show(w, ctx, probe+"read-file", "/etc/passwd")
	w.Close()

	section("4. Misbehaving guests are stopped, the host carries on")
	bad, err := load("misbehave.wasm")
	if err != nil {
		return err
	}
	for _, c := range []struct {
		what string
		cfg  engine.InstanceConfig
		fn   string
		args []any
	}{
		{"infinite loop, 50ms timeout", engine.InstanceConfig{Timeout: 50 * time.Millisecond}, "spin", nil},
		{"infinite loop, 1M fuel", engine.InstanceConfig{Fuel: 1_000_000}, "spin", nil},
		{"endless memory.grow, 4 MiB limit", engine.InstanceConfig{MemoryLimit: 4 << 20}, "grow", nil},
		{"unbounded recursion", engine.InstanceConfig{}, "recurse", []any{uint32(1)}},
		{"divide by zero", engine.InstanceConfig{}, "divide", []any{int32(1), int32(0)}},
	} {
		i, err := bad.Instantiate(ctx, c.cfg)
		if err != nil {
			return err
		}
		start := time.Now()
		_, err = i.Call(ctx, c.fn, c.args...)
		var trap *engine.Trap
		if !errors.As(err, &trap) {
			return fmt.Errorf("%s: expected a trap, got %v", c.what, err)
		}
		fmt.Printf("%-34s -> trap %-22q after %v\n", c.what, trap.Kind.String(), time.Since(start).Round(time.Millisecond))
		i.Close()
	}
	fmt.Println("\nthe host process is still here.")
	return nil
}

func section(title string) { fmt.Printf("\n== %s\n", title) }

func show(i *engine.Instance, ctx context.Context, name string, args ...any) {
	v, err := i.Call(ctx, name, args...)
	if err != nil {
		fmt.Printf("%s -> error: %v\n", name, err)
		return
	}
	ft, _ := i.Component().FuncType(name)
	out := "()"
	if ft != nil && ft.Result != nil {
		out = wave.Format(v, ft.Result)
	}
	in := make([]string, len(args))
	for k, a := range args {
		in[k] = wave.Format(a, ft.Params[k].Type)
	}
	fmt.Printf("%s(%s) -> %s\n", short(name), join(in), out)
}

func short(name string) string {
	for k := len(name) - 1; k >= 0; k-- {
		if name[k] == '#' {
			return name[k+1:]
		}
	}
	return name
}

func join(s []string) string {
	out := ""
	for k, x := range s {
		if k > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
