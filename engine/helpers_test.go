package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// fixture returns the path of a built test component.
func fixture(name string) string { return filepath.Join("..", "testdata", name) }

// testCacheDir is the compile cache of this run of the test binary, made
// by TestMain and removed when the run ends: no entry of an earlier run, of
// another package or of another user can make a test pass or fail.
var testCacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "airssys-engine-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = filepath.Join(dir, "cache")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	sharedOnce sync.Once
	sharedEng  *engine.Engine
	sharedErr  error
	compMu     sync.Mutex
	compiled   = map[string]*engine.Component{}
)

// shared returns one engine (fuel on, epochs on, this run's cache) for
// tests that do not test engine settings themselves. Fixtures are compiled
// once per run through load, so the JavaScript component (seconds to
// compile) is compiled once.
func shared(t testing.TB) *engine.Engine {
	t.Helper()
	sharedOnce.Do(func() {
		sharedEng, sharedErr = engine.New(engine.Config{ConsumeFuel: true, CacheDir: testCacheDir})
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

// TestSharedCacheIsThisRuns: the shared engine's cache starts empty in each
// run and load compiles each fixture once, so the shared engine never hits:
// a hit would be an entry from before this run.
func TestSharedCacheIsThisRuns(t *testing.T) {
	load(t, "minimal.wasm")
	compMu.Lock()
	n := len(compiled)
	compMu.Unlock()
	if got := shared(t).CacheStats(); got.Hits != 0 || got.Misses < uint64(n) {
		t.Fatalf("shared engine cache: %+v after compiling %d fixtures, want at least %d misses and no hit", got, n, n)
	}
	if dir := shared(t).Config().CacheDir; dir != testCacheDir {
		t.Fatalf("shared cache in %s, want %s", dir, testCacheDir)
	}
}
