package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// otherUID is a user that is neither this process's nor root (nobody).
const otherUID = 65534

// privateDir returns a fresh directory only this user can write, whatever
// the umask.
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func mkdir(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	return path
}

func chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
}

func TestCacheDirectoryOwnership(t *testing.T) {
	asRoot := os.Geteuid() == 0
	cases := []struct {
		name string
		root bool // needs root (chown to another user)
		dir  func(t *testing.T, base string) string
		ok   bool
	}{
		// Refusals match ErrUnsafeCacheDir, except this one.
		{"not a directory", false, func(t *testing.T, b string) string {
			os.WriteFile(b+"/f", nil, 0o600)
			return b + "/f"
		}, false},
		{"created by New", false, func(t *testing.T, b string) string { return filepath.Join(b, "a", "cache") }, true},
		{"existing 0700", false, func(t *testing.T, b string) string { return mkdir(t, b+"/c", 0o700) }, true},
		{"existing 0755 (others may read)", false, func(t *testing.T, b string) string { return mkdir(t, b+"/c", 0o755) }, true},
		{"group-writable", false, func(t *testing.T, b string) string { return mkdir(t, b+"/c", 0o770) }, false},
		{"world-writable", false, func(t *testing.T, b string) string { return mkdir(t, b+"/c", 0o777) }, false},
		{"world-writable even if sticky", false, func(t *testing.T, b string) string {
			return mkdir(t, b+"/c", 0o777|os.ModeSticky)
		}, false},
		{"parent group-writable", false, func(t *testing.T, b string) string {
			return mkdir(t, mkdir(t, b+"/p", 0o770)+"/c", 0o700)
		}, false},
		{"parent world-writable", false, func(t *testing.T, b string) string {
			return filepath.Join(mkdir(t, b+"/p", 0o777), "c") // New would create c
		}, false},
		{"parent world-writable and sticky, like /tmp", false, func(t *testing.T, b string) string {
			return mkdir(t, mkdir(t, b+"/p", 0o777|os.ModeSticky)+"/c", 0o700)
		}, true},
		{"grandparent world-writable", false, func(t *testing.T, b string) string {
			return mkdir(t, mkdir(t, mkdir(t, b+"/g", 0o777)+"/p", 0o755)+"/c", 0o700)
		}, false},
		{"symlink to a private directory", false, func(t *testing.T, b string) string {
			real := mkdir(t, b+"/real", 0o700)
			os.Symlink(real, b+"/link")
			return b + "/link"
		}, true},
		{"symlink to a group-writable directory", false, func(t *testing.T, b string) string {
			real := mkdir(t, b+"/real", 0o770)
			os.Symlink(real, b+"/link")
			return b + "/link"
		}, false},
		{"symlink in a world-writable directory", false, func(t *testing.T, b string) string {
			real := mkdir(t, b+"/real", 0o700)
			open := mkdir(t, b+"/open", 0o777)
			os.Symlink(real, open+"/link")
			return open + "/link"
		}, false},
		{"relative symlink through a group-writable directory", false, func(t *testing.T, b string) string {
			mkdir(t, mkdir(t, b+"/g", 0o770)+"/real", 0o700)
			os.Symlink("g/real", b+"/link")
			return b + "/link"
		}, false},
		{"owned by another user", true, func(t *testing.T, b string) string {
			d := mkdir(t, b+"/c", 0o700)
			chown(t, d)
			return d
		}, false},
		{"parent owned by another user", true, func(t *testing.T, b string) string {
			p := mkdir(t, b+"/p", 0o755)
			d := mkdir(t, p+"/c", 0o700)
			chown(t, p)
			return d
		}, false},
		{"symlink of another user in a sticky directory", true, func(t *testing.T, b string) string {
			real := mkdir(t, b+"/real", 0o700)
			tmp := mkdir(t, b+"/tmp", 0o777|os.ModeSticky)
			os.Symlink(real, tmp+"/link")
			chown(t, tmp+"/link")
			return tmp + "/link"
		}, false},
		{"symlink of this user in a sticky directory", false, func(t *testing.T, b string) string {
			real := mkdir(t, b+"/real", 0o700)
			tmp := mkdir(t, b+"/tmp", 0o777|os.ModeSticky)
			os.Symlink(real, tmp+"/link")
			return tmp + "/link"
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && !asRoot {
				t.Skip("needs root to give a file to another user")
			}
			dir := c.dir(t, privateDir(t))
			e, err := engine.New(engine.Config{CacheDir: dir})
			if c.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer e.Close()
				wasm, _ := os.ReadFile(fixture("minimal.wasm"))
				comp, err := e.Compile(context.Background(), wasm)
				if err != nil {
					t.Fatal(err)
				}
				comp.Close()
				if m, _ := filepath.Glob(filepath.Join(dir, "*.cwasm")); len(m) != 1 {
					t.Fatalf("cache entries: %v, want one", m)
				}
				return
			}
			if err == nil {
				e.Close()
				t.Fatal("New accepted the cache directory")
			}
			if !errors.Is(err, engine.ErrUnsafeCacheDir) && c.name != "not a directory" {
				t.Fatalf("err = %v, want ErrUnsafeCacheDir", err)
			}
		})
	}
}

// TestCacheCreatesPrivateFiles checks the modes of what the cache creates.
func TestCacheCreatesPrivateFiles(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: the modes must not depend on it
	defer syscall.Umask(old)
	dir := filepath.Join(privateDir(t), "new", "cache")
	e, err := engine.New(engine.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wasm, _ := os.ReadFile(fixture("minimal.wasm"))
	if _, err := e.Compile(context.Background(), wasm); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, fi.Mode())
		}
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("cache directory holds %v, want one entry", files)
	}
	if fi, _ := files[0].Info(); fi.Mode() != 0o600 {
		t.Errorf("entry mode %v, want 0600", fi.Mode())
	}
}

// cacheSetup is a cache directory filled by compiling minimal.wasm, and the
// entries of other artifacts to plant in its place.
type cacheSetup struct {
	dir   string
	entry string // minimal.wasm's entry
	wasm  []byte // minimal.wasm
}

// entryFor compiles a fixture on an engine with cfg (CacheDir filled in)
// and returns its cache entry's path.
func entryFor(t *testing.T, cfg engine.Config, name string) string {
	t.Helper()
	cfg.CacheDir = filepath.Join(privateDir(t), "cache")
	compileOn(t, cfg, name)
	m, _ := filepath.Glob(filepath.Join(cfg.CacheDir, "*.cwasm"))
	if len(m) != 1 {
		t.Fatalf("cache entries: %v, want one", m)
	}
	return m[0]
}

// checkMinimal checks that the compiled code is minimal.wasm's: the exports
// and a call only it answers that way.
func checkMinimal(t *testing.T, c *engine.Component) {
	t.Helper()
	if got := c.FuncNames(); !slices.Equal(got, []string{"add", "echo-string", "run"}) {
		t.Fatalf("exports %v: not minimal.wasm's code", got)
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

// TestCacheEntryChecks damages or replaces minimal.wasm's cache entry in
// one way each and checks that exactly the check meant for it refuses the
// entry, that minimal.wasm's own code runs, and that the entry is rebuilt.
func TestCacheEntryChecks(t *testing.T) {
	asRoot := os.Geteuid() == 0
	type refusals = engine.CacheRefusals
	flip := func(at func(n int) int) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[at(len(b))] ^= 0x55
			os.WriteFile(path, b, 0o600)
		}
	}
	replaceWith := func(src func(t *testing.T) string) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			b, err := os.ReadFile(src(t))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path, b, 0o600)
		}
	}
	cases := []struct {
		name   string
		root   bool
		damage func(t *testing.T, path string)
		want   refusals
	}{
		// The header is intact: only the checksum can see this.
		{"payload corrupted after the header", false, flip(func(n int) int { return n / 2 }), refusals{Checksum: 1}},
		{"last payload byte corrupted", false, flip(func(n int) int { return n - 1 }), refusals{Checksum: 1}},
		{"payload truncated", false, func(t *testing.T, p string) { os.Truncate(p, 200) }, refusals{Checksum: 1}},
		{"header magic damaged", false, flip(func(int) int { return 3 }), refusals{Malformed: 1}},
		{"shorter than a header", false, func(t *testing.T, p string) { os.Truncate(p, 20) }, refusals{Malformed: 1}},
		{"foreign bytes", false, func(t *testing.T, p string) { os.WriteFile(p, []byte("not an artifact"), 0o600) },
			refusals{Malformed: 1}},
		// Valid entries of the wrong thing, each with its own intact header
		// and checksum: a file copied under another name.
		{"entry of another component", false, replaceWith(func(t *testing.T) string {
			return entryFor(t, engine.Config{}, "scalars.wasm")
		}), refusals{Source: 1}},
		{"entry of another component of the same shape", false, replaceWith(func(t *testing.T) string {
			return entryFor(t, engine.Config{}, "misbehave.wasm")
		}), refusals{Source: 1}},
		// MaxWasmStack is part of the fingerprint but Wasmtime accepts the
		// artifact, so only our engine check refuses it.
		{"entry of another engine configuration", false, replaceWith(func(t *testing.T) string {
			return entryFor(t, engine.Config{MaxWasmStack: 1 << 20}, "minimal.wasm")
		}), refusals{Engine: 1}},
		// Ownership and mode: whoever could write this file could write code.
		{"entry writable by group", false, func(t *testing.T, p string) { os.Chmod(p, 0o620) }, refusals{Unsafe: 1}},
		{"entry writable by others", false, func(t *testing.T, p string) { os.Chmod(p, 0o606) }, refusals{Unsafe: 1}},
		{"entry is a symlink", false, func(t *testing.T, p string) {
			os.Rename(p, p+".real")
			os.Symlink(filepath.Base(p)+".real", p)
		}, refusals{Unsafe: 1}},
		{"entry is a FIFO", false, func(t *testing.T, p string) {
			os.Remove(p)
			syscall.Mkfifo(p, 0o600)
		}, refusals{Unsafe: 1}},
		{"entry owned by another user", true, func(t *testing.T, p string) { chown(t, p) }, refusals{Unsafe: 1}},
	}
	wasm, _ := os.ReadFile(fixture("minimal.wasm"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && !asRoot {
				t.Skip("needs root to give a file to another user")
			}
			entry := entryFor(t, engine.Config{}, "minimal.wasm")
			good, _ := os.ReadFile(entry)
			c.damage(t, entry)
			e, err := engine.New(engine.Config{CacheDir: filepath.Dir(entry)})
			if err != nil {
				t.Fatal(err)
			}
			// Close would wait for a Compile that hangs.
			t.Cleanup(func() {
				if !t.Failed() {
					e.Close()
				}
			})
			comp := compileWithin(t, e, wasm)
			defer comp.Close()
			want := engine.CacheStats{Misses: 1, Stores: 1, Refused: c.want}
			if got := e.CacheStats(); got != want {
				t.Fatalf("stats %+v, want %+v", got, want)
			}
			checkMinimal(t, comp)
			// Rebuilt: a private regular file again, used by the next compile.
			if fi, err := os.Lstat(entry); err != nil || fi.Mode() != 0o600 {
				t.Fatalf("rebuilt entry: %v, %v", fi, err)
			}
			if b, _ := os.ReadFile(entry); len(b) != len(good) {
				t.Fatalf("rebuilt entry has %d bytes, the original %d", len(b), len(good))
			}
			compileWithin(t, e, wasm).Close()
			if got := e.CacheStats(); got.Hits != 1 {
				t.Fatalf("after the rebuild: %+v, want a hit", got)
			}
		})
	}
}

// compileWithin compiles, failing the test if that takes more than a minute
// (a cache entry that blocks the reader, like a FIFO, must not hang).
func compileWithin(t *testing.T, e *engine.Engine, wasm []byte) *engine.Component {
	t.Helper()
	type result struct {
		c   *engine.Component
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := e.Compile(context.Background(), wasm)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.c
	case <-time.After(time.Minute):
		t.Fatal("Compile did not return within a minute")
	}
	return nil
}

func TestCacheStatsCountHitsAndMisses(t *testing.T) {
	e, err := engine.New(engine.Config{CacheDir: filepath.Join(privateDir(t), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for _, name := range []string{"minimal.wasm", "minimal.wasm", "scalars.wasm", "minimal.wasm"} {
		wasm, _ := os.ReadFile(fixture(name))
		c, err := e.Compile(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if got, want := e.CacheStats(), (engine.CacheStats{Hits: 2, Misses: 2, Stores: 2}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	if got := e.CacheStats().Refused.Total(); got != 0 {
		t.Fatalf("refused %d", got)
	}
	noCache, _ := engine.New(engine.Config{})
	defer noCache.Close()
	compileOnEngine(t, noCache, "minimal.wasm")
	if got := noCache.CacheStats(); got != (engine.CacheStats{}) {
		t.Fatalf("stats without a cache: %+v", got)
	}
}

func compileOnEngine(t *testing.T, e *engine.Engine, name string) {
	t.Helper()
	c, err := e.CompileFile(context.Background(), fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestCacheWriteFailureIsCounted: a cache directory removed after New
// cannot take entries; compiles still work.
func TestCacheWriteFailureIsCounted(t *testing.T) {
	dir := filepath.Join(privateDir(t), "cache")
	e, err := engine.New(engine.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	compileOnEngine(t, e, "minimal.wasm")
	if got, want := e.CacheStats(), (engine.CacheStats{Misses: 1, StoreErrors: 1}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// TestCacheErrorNamesTheProblem: the refusal says which path and why.
func TestCacheErrorNamesTheProblem(t *testing.T) {
	dir := mkdir(t, privateDir(t)+"/c", 0o770)
	_, err := engine.New(engine.Config{CacheDir: dir})
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("err = %v", err)
	}
}
