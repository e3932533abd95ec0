package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestForgedCacheEntryNeedsOwnership plants the perfect forgery under
// minimal.wasm's key: scalars.wasm's compiled code with a header that is
// valid for minimal.wasm, written by the cache's own store. Nothing in the
// file can tell it apart, so only the file's owner and mode protect the
// host: with them wrong the entry is refused and minimal.wasm runs.
func TestForgedCacheEntryNeedsOwnership(t *testing.T) {
	minimal, _ := os.ReadFile("../testdata/minimal.wasm")
	scalars, _ := os.ReadFile("../testdata/scalars.wasm")
	cases := []struct {
		name    string
		root    bool
		prepare func(t *testing.T, path string)
		refused bool
	}{
		// The trust boundary: whoever runs as this user can write code.
		{"owned by this user, 0600", false, func(*testing.T, string) {}, false},
		{"writable by group", false, func(t *testing.T, p string) { os.Chmod(p, 0o660) }, true},
		{"writable by others", false, func(t *testing.T, p string) { os.Chmod(p, 0o666) }, true},
		{"owned by another user", true, func(t *testing.T, p string) {
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			base := t.TempDir()
			os.Chmod(base, 0o700)
			e, err := New(Config{CacheDir: filepath.Join(base, "cache")})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			other, err := e.Compile(ctx, scalars)
			if err != nil {
				t.Fatal(err)
			}
			payload, err := other.serialize()
			other.Close()
			if err != nil {
				t.Fatal(err)
			}
			src := sha256.Sum256(minimal)
			key := e.cache.key(src)
			if err := e.cache.store(key, src, payload); err != nil {
				t.Fatal(err)
			}
			c.prepare(t, e.cache.path(key))
			before := e.CacheStats()
			comp, err := e.Compile(ctx, minimal)
			if err != nil {
				t.Fatal(err)
			}
			defer comp.Close()
			names := comp.FuncNames()
			isMinimal := slices.Equal(names, []string{"add", "echo-string", "run"})
			refused := e.CacheStats().Refused.Unsafe - before.Refused.Unsafe
			switch {
			case c.refused && (!isMinimal || refused != 1):
				t.Fatalf("forged entry used: exports %v, %d refused as unsafe", names, refused)
			case !c.refused && isMinimal:
				t.Fatal("the forgery did not work: this test proves nothing")
			}
		})
	}
}

// TestCacheDirMustBeOurs: a directory of root's is fine above the cache
// directory but not as the cache directory of another user.
func TestCacheDirMustBeOurs(t *testing.T) {
	fi, err := os.Stat("/")
	if err != nil || owner(fi) != 0 || writableByOthers(fi) {
		t.Skip("/ is not root's, or is writable by others")
	}
	if _, err := checkCacheDir("/", 0); err != nil {
		t.Fatalf("root's / for root: %v", err)
	}
	if _, err := checkCacheDir("/", 65534); !errors.Is(err, ErrUnsafeCacheDir) {
		t.Fatalf("root's / for user 65534: err = %v, want ErrUnsafeCacheDir", err)
	}
}
