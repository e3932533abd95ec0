package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs `airssys-wasm run` with stdin from a file holding in.
func runCmd(t *testing.T, in string, args ...string) (int, string, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(in)
	f.Seek(0, 0)
	defer f.Close()
	var out, errb bytes.Buffer
	code := cmdRun(context.Background(), append([]string{"--cache", "off"}, args...), f, &out, &errb)
	return code, out.String(), errb.String()
}

// `run` runs WASI commands like `wasmtime run`: argv, stdin, stdout,
// stderr, the exit status, for a command component and a core module.
func TestRunCommands(t *testing.T) {
	for _, file := range []string{"cmd.wasm", "core_cmd.wasm"} {
		path := fixture(file)
		code, out, errs := runCmd(t, "", path, "echo", "a", "b c")
		if want := path + "\necho\na\nb c\n"; code != 0 || out != want {
			t.Fatalf("%s echo: exit %d, out %q (want %q), err %q", file, code, out, want, errs)
		}
		code, out, _ = runCmd(t, "from stdin\x00\xff bytes", path, "cat")
		if code != 0 || out != "from stdin\x00\xff bytes" {
			t.Fatalf("%s cat: exit %d, out %q", file, code, out)
		}
		code, out, errs = runCmd(t, "", path, "spam", "70000")
		if code != 0 || len(out) != 70000 || errs != "70000\n" {
			t.Fatalf("%s spam: exit %d, %d bytes out, err %q", file, code, len(out), errs)
		}
		code, out, _ = runCmd(t, "", "--env", "NAME=value", path, "env", "NAME")
		if code != 0 || out != "value\n" {
			t.Fatalf("%s env: exit %d, out %q", file, code, out)
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file"), 0o644)
		code, out, _ = runCmd(t, "", "--dir", dir+"::/d:ro", path, "read", "/d/f.txt")
		if code != 0 || out != "file" {
			t.Fatalf("%s read: exit %d, out %q", file, code, out)
		}
		// A usage error of the command itself: its status and its stderr.
		code, _, errs = runCmd(t, "", path, "nonsense")
		if want := map[string]int{"cmd.wasm": 1, "core_cmd.wasm": 2}[file]; code != want ||
			!strings.Contains(errs, "usage: cmd") {
			t.Fatalf("%s nonsense: exit %d (want %d), err %q", file, code, want, errs)
		}
	}
	// A core module reports any status; a 0.2 component only success or
	// failure (wasi:cli/exit takes a result).
	if code, _, _ := runCmd(t, "", fixture("core_cmd.wasm"), "exit", "9"); code != 9 {
		t.Fatalf("core exit 9: exit %d", code)
	}
	if code, _, _ := runCmd(t, "", fixture("cmd.wasm"), "exit", "9"); code != 1 {
		t.Fatalf("component exit 9: exit %d, want 1", code)
	}
	if code, _, _ := runCmd(t, "", fixture("cmd.wasm"), "exit", "0"); code != 0 {
		t.Fatalf("component exit 0: exit %d", code)
	}
	// Limits apply: a fuel limit stops a command.
	code, _, errs := runCmd(t, "", "--fuel", "1000", fixture("cmd.wasm"), "spam", "100000")
	if code != 1 || !strings.Contains(errs, "out of fuel") {
		t.Fatalf("spam with 1000 fuel: exit %d, err %q", code, errs)
	}
	// Not a command.
	code, _, errs = runCmd(t, "", fixture("minimal.wasm"))
	if code != 2 || !strings.Contains(errs, "not a command") {
		t.Fatalf("run minimal.wasm: exit %d, err %q", code, errs)
	}
}

// `call` finds a function of a versioned interface by the interface name
// without a version, or with a compatible one.
func TestCallWithoutTheExactInterfaceVersion(t *testing.T) {
	for _, name := range []string{"wasi:cli/run#run()", "wasi:cli/run@0.2.0#run()", "wasi:cli/run@0.2.12#run()"} {
		code, _, errs := cli(t, "call", fixture("cmd.wasm"), name)
		// cmd with no arguments prints its usage and exits 1.
		if code != 1 || !strings.Contains(errs, "usage: cmd") {
			t.Fatalf("call %s: exit %d, err %q", name, code, errs)
		}
	}
	for _, name := range []string{"wasi:cli/run@0.3.0#run()", "wasi:cli/run@1.0.0#run()", "wasi:cli/runner#run()"} {
		code, _, errs := cli(t, "call", fixture("cmd.wasm"), name)
		if code != 2 || !strings.Contains(errs, "unknown export") {
			t.Fatalf("call %s: exit %d, err %q", name, code, errs)
		}
	}
}
