package gobuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

const echoWIT = `package root:component;

world root {
  import airssys:actor/types@0.2.0;
  import airssys:actor/messaging@0.2.0;
  import wasi:logging/logging@0.1.0-draft;
  import wasi:cli/environment@0.2.12;
  import wasi:random/random@0.2.12;
  %s
  export airssys:actor/actor@0.2.0;
  %s
}
`

func witWith(extraImport, extraExport string) string {
	return strings.Replace(strings.Replace(echoWIT, "%s", extraImport, 1), "%s", extraExport, 1)
}

func TestCheckWIT(t *testing.T) {
	imps, err := CheckWIT(witWith("import wasi:keyvalue/store@0.2.0-draft2;\n  import airssys:storage/usage@0.1.0;", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(imps) != 7 || imps[5] != "wasi:keyvalue/store@0.2.0-draft2" {
		t.Fatalf("imports %q", imps)
	}
	for _, bad := range []string{
		witWith("import wasi:http/outgoing-handler@0.2.0;", ""),
		witWith("import airssys:actor/messaging@0.1.0;", ""),
		witWith("", "export wasi:cli/run@0.2.0;"),
		strings.Replace(witWith("", ""), "export airssys:actor/actor@0.2.0;", "", 1),
	} {
		if _, err := CheckWIT(bad); !errors.Is(err, ErrNotActor) {
			t.Errorf("CheckWIT(%s) = %v, want ErrNotActor", bad, err)
		}
	}
}

// TestWorldSource: the world's file first, then each package it uses
// once, all of its files inside.
func TestWorldSource(t *testing.T) {
	src, err := WorldSource()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(src, "/// The world a guest SDK targets") {
		t.Fatalf("does not start with world.wit:\n%.200s", src)
	}
	for _, pkg := range []string{"airssys:actor@0.2.0", "wasi:logging@0.1.0-draft", "wasi:keyvalue@0.2.0-draft2", "airssys:storage@0.1.0"} {
		if n := strings.Count(src, "\npackage "+pkg+" {\n"); n != 1 {
			t.Errorf("package %s appears %d times", pkg, n)
		}
	}
	for _, iface := range []string{"interface store {", "interface atomics {", "interface batch {", "interface usage {", "interface messaging {"} {
		if n := strings.Count(src, iface); n != 1 {
			t.Errorf("%s appears %d times", iface, n)
		}
	}
}

// TestAdapterChecksum: an adapter that is not the pinned one is refused.
func TestAdapterChecksum(t *testing.T) {
	tools := t.TempDir()
	os.MkdirAll(filepath.Join(tools, "adapter"), 0o755)
	os.WriteFile(filepath.Join(tools, "adapter", "wasi_snapshot_preview1.reactor.wasm"), []byte("\x00asm not it"), 0o644)
	if _, err := adapterPath(tools); !errors.Is(err, ErrAdapter) {
		t.Fatalf("adapterPath = %v, want ErrAdapter", err)
	}
	if _, err := adapterPath(t.TempDir()); err == nil {
		t.Fatal("no adapter: no error")
	}
}

// TestNoNode: without node on PATH, Build says what to install.
func TestNoNode(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	bin := t.TempDir()
	if err := os.Symlink(goBin, filepath.Join(bin, "go")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	_, err = Build(context.Background(), Options{Dir: t.TempDir(), Out: filepath.Join(t.TempDir(), "x.wasm")})
	if !errors.Is(err, ErrNoNode) || !strings.Contains(err.Error(), "Node.js") {
		t.Fatalf("Build = %v, want ErrNoNode", err)
	}
}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"go", "node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("AIRSSYS_BUILD_TESTS") == "1" {
				t.Fatalf("%s is not on PATH (AIRSSYS_BUILD_TESTS=1)", tool)
			}
			t.Skipf("%s is not on PATH", tool)
		}
	}
}

// writeModule makes a main package inside this module (so it can import
// the guest package) from the given source.
func writeModule(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp(".", "testpkg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBuildErrors: a package that does not compile, one that is not an
// actor (no guest.Register, or a command), each a clear error and no file
// written.
func TestBuildErrors(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out.wasm")
	cases := []struct {
		src  string
		is   error
		text string
	}{
		{"package main\nfunc main() { undefined() }\n", nil, "undefined: undefined"},
		{"package main\n//go:wasmexport hello\nfunc hello() {}\nfunc main() {}\n", ErrNotActor, "guest.Register"},
	}
	for _, c := range cases {
		_, err := Build(ctx, Options{Dir: writeModule(t, c.src), Out: out})
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Build(%q) = %v, want %v mentioning %q", c.src, err, c.is, c.text)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Fatalf("a failed build left %s", out)
		}
	}
}

// TestBuildEcho builds the echo actor of testdata and runs it: the
// component answers, and imports no key-value interface (it opens no
// bucket).
func TestBuildEcho(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "echo.wasm")
	r, err := Build(ctx, Options{Dir: filepath.Join("..", "..", "testdata", "src", "goactor", "echo"), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if r.Size < 100<<10 || r.GoBuild <= 0 || r.Wrap <= 0 {
		t.Fatalf("result %+v", r)
	}
	for _, imp := range r.Imports {
		if strings.Contains(imp, "keyvalue") || strings.Contains(imp, "storage") {
			t.Fatalf("echo imports %s", imp)
		}
	}
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	comp, err := eng.CompileFile(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(eng, actor.Options{})
	defer sys.Shutdown(ctx)
	if err := sys.Deploy(ctx, actor.Spec{ID: "t/echo/1", Component: comp}); err != nil {
		t.Fatal(err)
	}
	m, err := sys.Request(ctx, "t/echo/1", []byte("built here"), "text/plain")
	if err != nil || string(m.Payload) != "built here" {
		t.Fatalf("echo: %q, %v", m.Payload, err)
	}
}
