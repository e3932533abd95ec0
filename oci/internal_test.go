package oci

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
)

var allFixtures = flag.Bool("all", false, "TestComponentNames: the large fixtures too")

// TestComponentNames compares the names the config lists with what Wasmtime
// reads from every component fixture: its top-level function and interface
// imports and exports. The two 12 MB JavaScript components take seconds to
// compile and are left out (they agree too: -run ComponentNames -all).
func TestComponentNames(t *testing.T) {
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	files, _ := filepath.Glob("../testdata/*.wasm")
	components := 0
	for _, f := range files {
		wasm, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(wasm) > 1<<20 && !*allFixtures {
			continue
		}
		if !isComponent(wasm) {
			if _, _, err := componentNames(wasm); err == nil {
				t.Fatalf("%s: a core module read as a component", f)
			}
			continue
		}
		components++
		imports, exports, err := componentNames(wasm)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c, err := eng.Compile(context.Background(), wasm)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		names := func(items []engine.Item) []string {
			var out []string
			for _, it := range items {
				if it.Kind == "func" || it.Kind == "instance" {
					out = append(out, it.Name)
				}
			}
			slices.Sort(out)
			return out
		}
		if got, want := slices.Sorted(slices.Values(imports)), names(c.Imports()); !slices.Equal(got, want) {
			t.Errorf("%s imports: got %q, want %q", filepath.Base(f), got, want)
		}
		if got, want := slices.Sorted(slices.Values(exports)), names(c.Exports()); !slices.Equal(got, want) {
			t.Errorf("%s exports: got %q, want %q", filepath.Base(f), got, want)
		}
	}
	if components < 10 {
		t.Fatalf("only %d component fixtures", components)
	}
}

// TestComponentNamesMalformed: every truncation of a component is an error
// or a prefix of the names, never a panic.
func TestComponentNamesMalformed(t *testing.T) {
	wasm, err := os.ReadFile("../testdata/wasi.wasm")
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(wasm) {
		componentNames(wasm[:n])
	}
	bad := append(append([]byte(nil), componentPreamble...), 10, 3, 1, 0x07, 0)
	if _, _, err := componentNames(bad); !errors.Is(err, errMalformed) {
		t.Fatalf("bad extern name: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:5000": true, "127.0.0.1": true, "127.1.2.3:80": true, "[::1]:5000": true, "::1": true,
		"[::ffff:127.0.0.1]:1": true,
		"10.0.0.1":             false, "example.com": false, "localhost.example.com": false, "[fe80::1]:5000": false, "0.0.0.0": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80", "10.1.2.3:5000"} {
		if _, err := dialLoopbackOnly(context.Background(), "tcp", addr); !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("dial %s: %v", addr, err)
		}
	}
}
