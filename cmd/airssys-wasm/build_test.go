package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// needBuildTools skips a test that builds a Go actor when Node.js or npm
// is missing, unless AIRSSYS_BUILD_TESTS=1 (set by .ci/run, which installs
// them) makes that a failure.
func needBuildTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"go", "node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("AIRSSYS_BUILD_TESTS") == "1" {
				t.Fatalf("%s is not on PATH (AIRSSYS_BUILD_TESTS=1)", tool)
			}
			t.Skipf("%s is not on PATH (set AIRSSYS_BUILD_TESTS=1 to fail instead)", tool)
		}
	}
}

// TestGuideGoActor runs docs/go-actors.md: a module made as the guide says
// (with the checkout replace it gives), its main.go taken from the guide's
// code block, `airssys-wasm build`, then `dev` with "world" on stdin must
// print "hello, world". The tools are installed on first use into the
// user cache (the same path a guest author takes).
func TestGuideGoActor(t *testing.T) {
	needBuildTools(t)
	guide, err := os.ReadFile(filepath.Join("..", "..", "docs", "go-actors.md"))
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(guide)
	if code == nil {
		t.Fatal("docs/go-actors.md has no go code block")
	}
	for _, step := range []string{"go mod init example.com/hello", "airssys-wasm build -o hello.wasm",
		"echo world | airssys-wasm dev hello.wasm"} {
		if !strings.Contains(string(guide), step) {
			t.Fatalf("the guide no longer says %q: update this test with it", step)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goCmd("mod", "init", "example.com/hello")
	goCmd("mod", "edit", "-require=github.com/airsstack/airssys-wasm-go@v0.0.0",
		"-replace=github.com/airsstack/airssys-wasm-go="+root)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), code[1], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello.wasm")
	var stdout, stderr lockedBuffer
	e := newCLIEnv(nil, &stdout, &stderr)
	if c := e.execute(context.Background(), []string{"build", dir, "-o", out}); c != 0 {
		t.Fatalf("build: exit %d\n%s\n%s", c, stdout.String(), stderr.String())
	}
	for _, want := range []string{"built " + out, "exports airssys:actor/actor@0.2.0",
		"imports airssys:actor/types@0.2.0, airssys:actor/messaging@0.2.0, wasi:logging/logging@0.1.0-draft\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("build printed\n%s\nwithout %q", stdout.String(), want)
		}
	}
	var devOut, devErr lockedBuffer
	if c := cmdDev(context.Background(), []string{out}, strings.NewReader("world\n"), &devOut, &devErr); c != 0 {
		t.Fatalf("dev: exit %d\n%s\n%s", c, devOut.String(), devErr.String())
	}
	if !strings.Contains(devOut.String(), "hello, world") {
		t.Fatalf("dev printed\n%s\n%s\nwithout hello, world", devOut.String(), devErr.String())
	}
}

// TestBuildUsage: a directory that is not one, and too many arguments,
// are bad usage (exit 2) before anything runs.
func TestBuildUsage(t *testing.T) {
	for _, args := range [][]string{{"build", filepath.Join(t.TempDir(), "nope")}, {"build", "a", "b"}} {
		var stdout, stderr lockedBuffer
		if c := newCLIEnv(nil, &stdout, &stderr).execute(context.Background(), args); c != exitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, c, exitUsage, stderr.String())
		}
	}
}
