package engine_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
)

func TestDetectKindAndDescribe(t *testing.T) {
	c := load(t, "minimal.wasm")
	if c.Kind() != engine.KindComponent {
		t.Fatalf("kind %v", c.Kind())
	}
	want := "component\n  export run: func() -> s32\n  export echo-string: func(s: string) -> string\n" +
		"  export add: func(a: s32, b: s32) -> s32\n"
	if got := c.Describe(); got != want {
		t.Fatalf("Describe:\n%s\nwant:\n%s", got, want)
	}
	m := load(t, "core_minimal.wasm")
	if m.Kind() != engine.KindModule {
		t.Fatalf("kind %v", m.Kind())
	}
	if d := m.Describe(); !strings.Contains(d, "export run: func() -> (i32)") ||
		!strings.Contains(d, "export add: func(i32, i32) -> (i32)") {
		t.Fatalf("module Describe:\n%s", d)
	}
	h := load(t, "hostcall.wasm").Describe()
	if !strings.Contains(h, "import airssys:test/host@0.1.0 {\n    get: func() -> s32\n") {
		t.Fatalf("hostcall Describe:\n%s", h)
	}
}

func TestCoreModuleCalls(t *testing.T) {
	i := instance(t, "core_minimal.wasm", engine.InstanceConfig{})
	if v := call(t, i, "add", int32(40), int32(2)); v != int32(42) {
		t.Fatalf("add = %v", v)
	}
	if _, err := i.Call(context.Background(), "add", "x", 1); err == nil {
		t.Fatal("a string argument to an i32 parameter was accepted")
	}
	if _, err := i.Call(context.Background(), "nope"); !errors.Is(err, engine.ErrUnknownExport) {
		t.Fatalf("unknown export: %v", err)
	}
}

func TestUnknownExport(t *testing.T) {
	i := instance(t, "minimal.wasm", engine.InstanceConfig{})
	_, err := i.Call(context.Background(), "missing")
	if !errors.Is(err, engine.ErrUnknownExport) || !strings.Contains(err.Error(), "run") {
		t.Fatalf("err = %v, want ErrUnknownExport listing the exports", err)
	}
}

func TestBadBytesAreErrors(t *testing.T) {
	e := shared(t)
	good, _ := os.ReadFile(fixture("minimal.wasm"))
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	flipped := append([]byte(nil), good...)
	for i := 40; i < len(flipped); i += 7 {
		flipped[i] ^= 0x5a
	}
	inputs := map[string][]byte{
		"empty":          nil,
		"header only":    []byte("\x00asm"),
		"bad version":    []byte("\x00asm\x02\x00\x00\x00"),
		"truncated":      good[:len(good)/2],
		"random":         random,
		"random + magic": append([]byte("\x00asm\x01\x00\x00\x00"), random...),
		"flipped bytes":  flipped,
		"text":           []byte("(module)"),
	}
	for name, in := range inputs {
		_, err := e.Compile(context.Background(), in)
		if !errors.Is(err, engine.ErrInvalidWasm) {
			t.Errorf("%s: err = %v, want ErrInvalidWasm", name, err)
		}
	}
	if _, err := e.CompileFile(context.Background(), filepath.Join(t.TempDir(), "missing.wasm")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestCompileCache(t *testing.T) {
	dir := t.TempDir()
	wasm, _ := os.ReadFile(fixture("minimal.wasm"))
	open := func() *engine.Engine {
		e, err := engine.New(engine.Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	check := func(e *engine.Engine) {
		t.Helper()
		c, err := e.Compile(context.Background(), wasm)
		if err != nil {
			t.Fatal(err)
		}
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer i.Close()
		if v := call(t, i, "run"); v != int32(42) {
			t.Fatalf("run = %v", v)
		}
	}
	entries := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.cwasm"))
		return m
	}
	check(open())
	files := entries()
	if len(files) != 1 {
		t.Fatalf("cache has %d entries after one compile", len(files))
	}
	first, _ := os.Stat(files[0])

	// A hit deserializes the entry and leaves it as it was.
	check(open())
	again, _ := os.Stat(files[0])
	if !again.ModTime().Equal(first.ModTime()) {
		t.Fatal("cache entry was rewritten on a hit")
	}

	// Damaged, replaced and unsafe entries: TestCacheEntryChecks and
	// TestForgedCacheEntryNeedsOwnership.

	// A different engine configuration does not share entries.
	e2, err := engine.New(engine.Config{CacheDir: dir, ConsumeFuel: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	check(e2)
	if n := len(entries()); n != 2 {
		t.Fatalf("cache has %d entries, want 2 (one per configuration)", n)
	}
}

func TestClosedEngineAndComponent(t *testing.T) {
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.CompileFile(context.Background(), fixture("minimal.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // the instance keeps the compiled code alive
	if v := call(t, i, "run"); v != int32(42) {
		t.Fatalf("run after component Close = %v", v)
	}
	if _, err := c.Instantiate(context.Background(), engine.InstanceConfig{}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("instantiate closed component: %v", err)
	}
	e.Close()
	if _, err := i.Call(context.Background(), "run"); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("call after engine Close: %v", err)
	}
	if _, err := e.CompileFile(context.Background(), fixture("minimal.wasm")); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("compile after Close: %v", err)
	}
	i.Close()
	i.Close()
	e.Close()
}
