package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// fixture returns the path of a built test component.
func fixture(name string) string { return filepath.Join("..", "testdata", name) }

// sharedCacheDir keeps compiled fixtures between test runs on one machine
// (the JavaScript component takes seconds to compile).
func sharedCacheDir() string {
	return filepath.Join(os.TempDir(), "airssys-wasm-test-cache")
}

var (
	sharedOnce sync.Once
	sharedEng  *engine.Engine
	sharedErr  error
	compMu     sync.Mutex
	compiled   = map[string]*engine.Component{}
)

// shared returns one engine (fuel on, epochs on, shared cache) for tests
// that do not test engine settings themselves.
func shared(t testing.TB) *engine.Engine {
	t.Helper()
	sharedOnce.Do(func() {
		sharedEng, sharedErr = engine.New(engine.Config{ConsumeFuel: true, CacheDir: sharedCacheDir()})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedEng
}

// load compiles a fixture once per test binary on the shared engine.
func load(t testing.TB, name string) *engine.Component {
	t.Helper()
	compMu.Lock()
	defer compMu.Unlock()
	if c, ok := compiled[name]; ok {
		return c
	}
	c, err := shared(t).CompileFile(context.Background(), fixture(name))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	compiled[name] = c
	return c
}

// instance instantiates a fixture and closes it at the end of the test.
func instance(t testing.TB, name string, cfg engine.InstanceConfig) *engine.Instance {
	t.Helper()
	i, err := load(t, name).Instantiate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("instantiate %s: %v", name, err)
	}
	t.Cleanup(func() { i.Close() })
	return i
}

func call(t testing.TB, i *engine.Instance, name string, args ...any) any {
	t.Helper()
	v, err := i.Call(context.Background(), name, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// compileOn makes an engine with cfg, compiles a fixture on it, and closes
// both at the end of the test.
func compileOn(t testing.TB, cfg engine.Config, name string) (*engine.Engine, *engine.Component) {
	t.Helper()
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := e.CompileFile(context.Background(), fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return e, c
}
