// Package gobuild builds an actor component from a Go main package that
// uses the guest SDK (package guest): `airssys-wasm build`.
//
// Two steps, each done by the tool whose job it is:
//
//  1. The Go toolchain compiles the package into a core module: GOOS=wasip1
//     GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -trimpath
//     -ldflags=-s (a reactor whose exports are the guest package's
//     go:wasmexport functions).
//  2. wit-component (through jco's wasm-tools, in Node.js) embeds the WIT
//     world airssys:guest/actor@0.2.0 (wit.Files) and turns the core module
//     into a component with the WASI preview1 reactor adapter, splicing the
//     adapter and encoding the types. Nothing of that is re-implemented here.
//
// The tools of step 2 are pinned (tools/package-lock.json, and the jco
// release the adapter comes from) and installed on demand with npm into
// the user's cache directory; the adapter's sha256 is checked before every
// use. The result is checked by its WIT: it must export the actor interface
// and import nothing the host does not provide.
//
// Build runs on the caller's goroutine and starts child processes (go,
// node, npm) that end with ctx.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/airsstack/airssys-wasm-go/wit"
)

//go:embed tools/package.json tools/package-lock.json tools/wrap.mjs
var toolFiles embed.FS

// World is the world a Go actor is built for.
const World = "airssys:guest/actor@0.2.0"

// The WASI preview1 reactor adapter: from the npm package of this jco
// release, with this sha256.
const (
	adapterPackage = "@bytecodealliance/jco@1.35.0"
	adapterFile    = "package/lib/wasi_snapshot_preview1.reactor.wasm"
	AdapterSHA256  = "b857310c4753c8fafaa0f890e9ccf978dc3d9dbe8804b1125291a627485041d0"
)

// Errors a caller can match with errors.Is.
var (
	// ErrNoGo: the go command is not on PATH.
	ErrNoGo = errors.New("gobuild: the go command is not on PATH (install Go 1.24 or later: https://go.dev/dl)")
	// ErrNoNode: node (or npm, to install the tools) is not on PATH.
	ErrNoNode = errors.New("gobuild: Node.js is not on PATH (install Node.js 20 or later with npm: https://nodejs.org); it runs wit-component to wrap the module")
	// ErrAdapter: the adapter's checksum is not the pinned one.
	ErrAdapter = errors.New("gobuild: the WASI adapter's sha256 is not the pinned one")
	// ErrNotActor: the package builds, but not into an actor of the world.
	ErrNotActor = errors.New("gobuild: not an actor")
)

// Options says what to build and with which tools.
type Options struct {
	// Dir is the Go main package's directory ("" is the current one).
	Dir string
	// Out is the component file to write.
	Out string
	// GoFlags go to go build before the package (for example -tags x).
	GoFlags []string
	// ToolsDir holds the wrapping tools (node_modules with
	// @bytecodealliance/jco-transpile, and the adapter). Empty: the
	// user's cache directory, airssys-wasm/build-tools-<hash>, installed
	// there with npm on first use.
	ToolsDir string
	// Progress, when set, gets a line per step.
	Progress io.Writer
}

// Result is what Build made.
type Result struct {
	Out  string
	Size int64
	// WIT is the component's world as wit-component prints it.
	WIT string
	// Imports are the interfaces the component imports.
	Imports []string
	// GoBuild and Wrap are the time of each step; Install is the time
	// spent installing the tools (0 when they were there).
	GoBuild, Wrap, Install time.Duration
}

// Build compiles the Go package in o.Dir and wraps it into the actor
// component o.Out (written whole or not at all).
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.Out == "" {
		return nil, errors.New("gobuild: no output file")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, ErrNoGo
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, ErrNoNode
	}
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("gobuild: %s: not a directory", dir)
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	res := &Result{Out: out}
	tools := o.ToolsDir
	if tools == "" {
		t0 := time.Now()
		if tools, err = installTools(ctx, o.Progress); err != nil {
			return nil, err
		}
		res.Install = time.Since(t0)
	} else if tools, err = filepath.Abs(tools); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	adapter, err := adapterPath(tools)
	if err != nil {
		return nil, err
	}

	scratch, err := os.MkdirTemp("", "airssys-build-")
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	defer os.RemoveAll(scratch)

	// 1. The core module.
	progress(o.Progress, "go build (GOOS=wasip1 GOARCH=wasm, c-shared) %s", dir)
	t0 := time.Now()
	core := filepath.Join(scratch, "core.wasm")
	args := append([]string{"build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s"}, o.GoFlags...)
	args = append(args, "-o", core, ".")
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gobuild: go build: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	res.GoBuild = time.Since(t0)

	// 2. The component.
	progress(o.Progress, "wrap into a component of %s (wit-component, preview1 reactor adapter)", World)
	t0 = time.Now()
	witFile := filepath.Join(scratch, "world.wit")
	src, err := WorldSource()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(witFile, []byte(src), 0o644); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	script := filepath.Join(scratch, "wrap.mjs")
	b, _ := toolFiles.ReadFile("tools/wrap.mjs")
	if err := os.WriteFile(script, b, 0o644); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	var stdout bytes.Buffer
	stderr.Reset()
	cmd = exec.CommandContext(ctx, node, script, tools, core, witFile, World, adapter, tmp)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "exports no actor") || strings.Contains(msg, "not a reactor") {
			return nil, fmt.Errorf("%w: %s", ErrNotActor, msg)
		}
		return nil, fmt.Errorf("gobuild: wrap: %w\n%s", err, msg)
	}
	res.Wrap = time.Since(t0)
	res.WIT = stdout.String()
	if res.Imports, err = CheckWIT(res.WIT); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	res.Size = st.Size()
	return res, nil
}

func progress(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, "build: "+format+"\n", a...)
	}
}

var (
	witImport = regexp.MustCompile(`(?m)^\s*import\s+([^;\s]+);`)
	witExport = regexp.MustCompile(`(?m)^\s*export\s+([^;\s]+);`)
)

// provided are the interface prefixes a built actor may import: its world's
// and the WASI 0.2 interfaces the adapter uses (the host provides WASI p2).
var provided = []string{
	"airssys:actor/types@0.2.0", "airssys:actor/messaging@0.2.0", "wasi:logging/logging@0.1.0-draft",
	"wasi:keyvalue/store@0.2.0-draft2", "wasi:keyvalue/atomics@0.2.0-draft2", "wasi:keyvalue/batch@0.2.0-draft2",
	"airssys:storage/usage@0.1.0",
	"wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:filesystem/", "wasi:random/",
}

// CheckWIT checks a built component's WIT: it exports the actor interface
// of world 0.2.0 and nothing else, and imports only what the host provides.
// It returns the imports.
func CheckWIT(text string) ([]string, error) {
	var exports []string
	for _, m := range witExport.FindAllStringSubmatch(text, -1) {
		exports = append(exports, m[1])
	}
	if len(exports) != 1 || exports[0] != "airssys:actor/actor@0.2.0" {
		return nil, fmt.Errorf("%w: the component exports %q, want airssys:actor/actor@0.2.0 only:\n%s", ErrNotActor, exports, text)
	}
	var imports []string
	for _, m := range witImport.FindAllStringSubmatch(text, -1) {
		name := m[1]
		ok := false
		for _, p := range provided {
			if name == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(name, p)) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: the component imports %s, which the host does not provide", ErrNotActor, name)
		}
		imports = append(imports, name)
	}
	return imports, nil
}

// WorldSource is the WIT of World as one source text: world.wit of
// airssys-guest, then one `package name { ... }` block per package it
// uses, each holding all of that package's files.
func WorldSource() (string, error) {
	fsys := wit.Files()
	main, err := fs.ReadFile(fsys, "airssys-guest/world.wit")
	if err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	pkgDecl := regexp.MustCompile(`(?m)^package\s+([^;\s]+)\s*;[ \t]*$`)
	docComment := regexp.MustCompile(`(?m)^(\s*)///`)
	pkgs := map[string][]string{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".wit" || strings.HasPrefix(p, "airssys-guest/") {
			return err
		}
		text, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m := pkgDecl.FindSubmatchIndex(text)
		if m == nil {
			return fmt.Errorf("%s: no package statement", p)
		}
		name := string(text[m[2]:m[3]])
		// A package's doc comment cannot precede a nested package block.
		body := "// " + p + "\n" + docComment.ReplaceAllString(string(text[:m[0]]), "$1//") + string(text[m[1]:])
		pkgs[name] = append(pkgs[name], body)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("gobuild: WIT: %w", err)
	}
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.Write(main)
	for _, n := range names {
		fmt.Fprintf(&sb, "\npackage %s {\n%s}\n", n, strings.Join(pkgs[n], "\n"))
	}
	return sb.String(), nil
}

// adapterPath finds the adapter in tools and checks its sha256.
func adapterPath(tools string) (string, error) {
	p := filepath.Join(tools, "adapter", "wasi_snapshot_preview1.reactor.wasm")
	if _, err := os.Stat(p); err != nil {
		// A jco installation (testdata/tools) has it in its package.
		alt := filepath.Join(tools, "node_modules", "@bytecodealliance", "jco", "lib", "wasi_snapshot_preview1.reactor.wasm")
		if _, err2 := os.Stat(alt); err2 != nil {
			return "", fmt.Errorf("gobuild: no WASI adapter in %s: %w", tools, err)
		}
		p = alt
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != AdapterSHA256 {
		return "", fmt.Errorf("%w: %s has %s, want %s", ErrAdapter, p, got, AdapterSHA256)
	}
	return p, nil
}
