package guest

// The glue is written by hand: this test (which runs on the host, the rest
// of the package being built only for wasip1) checks that it imports and
// exports exactly the functions of world airssys:guest/actor@0.2.0 (the
// actor world airssys:actor/component@0.2.0 plus wasi:keyvalue and
// airssys:storage), by name, as the canonical ABI names them in a core
// module. The core signatures are checked when a component is built: the
// wrapping refuses an import whose type does not match the WIT.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	witInterface = regexp.MustCompile(`^interface\s+([a-z0-9-]+)\s*\{`)
	witResource  = regexp.MustCompile(`^\s*resource\s+([a-z0-9-]+)\s*\{`)
	witFunc      = regexp.MustCompile(`^\s*([a-z0-9-]+):\s*(static\s+)?func\(`)
	witPackage   = regexp.MustCompile(`(?m)^package\s+([^;\s]+)\s*;`)
)

// witFuncs lists "<module> <name>" for every function of the interfaces
// of a WIT file, as a core module imports or exports them: module is
// "<package>/<interface>@<version>" (the package's version split off);
// resources add [method], [static] and [resource-drop] names.
func witFuncs(t *testing.T, path string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pkg := witPackage.FindSubmatch(src)
	if pkg == nil {
		t.Fatalf("%s: no package", path)
	}
	name, version, _ := strings.Cut(string(pkg[1]), "@")
	out := map[string][]string{}
	iface, resource := "", ""
	depth := 0
	for line := range strings.Lines(string(src)) {
		line, _, _ = strings.Cut(line, "//")
		if m := witInterface.FindStringSubmatch(line); m != nil && depth == 0 {
			iface = m[1]
		} else if m := witResource.FindStringSubmatch(line); m != nil && depth == 1 {
			resource = m[1]
			out[iface] = append(out[iface], "[resource-drop]"+resource)
		} else if m := witFunc.FindStringSubmatch(line); m != nil && iface != "" {
			switch {
			case depth == 2 && m[2] != "":
				out[iface] = append(out[iface], "[static]"+resource+"."+m[1])
			case depth == 2:
				out[iface] = append(out[iface], "[method]"+resource+"."+m[1])
			default:
				out[iface] = append(out[iface], m[1])
			}
		}
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if depth == 0 {
			iface = ""
		}
	}
	res := map[string][]string{}
	for i, fs := range out {
		res[name+"/"+i+"@"+version] = fs
	}
	return res
}

var (
	goImport = regexp.MustCompile(`(?m)^//go:wasmimport (\S+) (\S+)$`)
	goExport = regexp.MustCompile(`(?m)^//go:wasmexport (\S+)$`)
)

var (
	witWorldInclude = regexp.MustCompile(`(?m)^\s*include\s+([^;\s]+)\s*;`)
	witWorldImport  = regexp.MustCompile(`(?m)^\s*import\s+([^;\s]+)\s*;`)
)

// The glue covers the world of the guest SDK, airssys:guest/actor@0.2.0
// (wit/airssys-guest/world.wit): the actor world 0.2.0 it includes, and the
// key-value interfaces it imports (guest/kv.go), each resolved against its
// package's WIT files.
func TestGlueMatchesTheWorld(t *testing.T) {
	root := filepath.Join("..", "wit")
	src, err := os.ReadFile(filepath.Join(root, "airssys-guest", "world.wit"))
	if err != nil {
		t.Fatal(err)
	}
	if inc := witWorldInclude.FindAllStringSubmatch(string(src), -1); len(inc) != 1 || inc[0][1] != "airssys:actor/component@0.2.0" {
		t.Fatalf("world.wit includes %q, want only airssys:actor/component@0.2.0", inc)
	}
	world := map[string][]string{}
	for _, f := range []string{
		"airssys-actor-0.2.0/actor.wit",
		"airssys-actor-0.2.0/deps/logging/logging.wit",
		"wasi-keyvalue-0.2.0-draft2/store.wit",
		"wasi-keyvalue-0.2.0-draft2/atomic.wit",
		"wasi-keyvalue-0.2.0-draft2/batch.wit",
		"airssys-storage/storage.wit",
	} {
		for k, v := range witFuncs(t, filepath.Join(root, f)) {
			if world[k] != nil {
				t.Fatalf("%s: interface %s defined twice", f, k)
			}
			world[k] = v
		}
	}
	var wantImports, wantExports []string
	for mod, fs := range world {
		for _, f := range fs {
			switch {
			case strings.HasPrefix(mod, "airssys:actor/actor@"):
				wantExports = append(wantExports, mod+"#"+f)
			case strings.HasPrefix(mod, "airssys:actor/types@"),
				strings.HasPrefix(mod, "airssys:actor/messaging@"),
				strings.HasPrefix(mod, "wasi:logging/logging@"):
				wantImports = append(wantImports, mod+" "+f)
			}
		}
	}
	// The interfaces world.wit imports besides the actor world's.
	imported := witWorldImport.FindAllStringSubmatch(string(src), -1)
	if len(imported) != 4 {
		t.Fatalf("world.wit imports %q, want store, atomics, batch and usage", imported)
	}
	for _, m := range imported {
		fs := world[m[1]]
		if len(fs) == 0 {
			t.Fatalf("world.wit imports %s, which no WIT file read here defines", m[1])
		}
		for _, f := range fs {
			wantImports = append(wantImports, m[1]+" "+f)
		}
	}
	// The glue's own exports: the allocator, and the post-return
	// functions of the exports that return memory.
	wantExports = append(wantExports, "cabi_realloc",
		"cabi_post_airssys:actor/actor@0.2.0#init",
		"cabi_post_airssys:actor/actor@0.2.0#handle-message")

	var imports, exports []string
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(src), "//go:build wasip1\n") {
			t.Errorf("%s: does not start with //go:build wasip1", f)
		}
		for _, m := range goImport.FindAllStringSubmatch(string(src), -1) {
			imports = append(imports, m[1]+" "+m[2])
		}
		for _, m := range goExport.FindAllStringSubmatch(string(src), -1) {
			exports = append(exports, m[1])
		}
	}
	for _, l := range [][]string{imports, exports, wantImports, wantExports} {
		slices.Sort(l)
	}
	if len(wantImports) < 37 || len(wantExports) < 7 {
		t.Fatalf("WIT parse found too little: %q %q", wantImports, wantExports)
	}
	if !slices.Equal(imports, wantImports) {
		t.Errorf("imports:\n%s\nwant (from the WIT):\n%s", strings.Join(imports, "\n"), strings.Join(wantImports, "\n"))
	}
	if !slices.Equal(exports, wantExports) {
		t.Errorf("exports:\n%s\nwant (from the WIT):\n%s", strings.Join(exports, "\n"), strings.Join(wantExports, "\n"))
	}
}
