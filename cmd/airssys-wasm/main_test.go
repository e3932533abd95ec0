package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(name string) string { return filepath.Join("..", "..", "testdata", name) }

// cli runs the command with a private cache and returns exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if len(args) > 0 && (args[0] == "call" || args[0] == "inspect") {
		args = append([]string{args[0], "--cache", "off"}, args[1:]...)
	}
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCallPrintsWAVE(t *testing.T) {
	cases := []struct{ file, expr, want string }{
		{"minimal.wasm", "run()", "42\n"},
		{"minimal.wasm", "run", "42\n"},
		{"minimal.wasm", "add(40, 2)", "42\n"},
		{"minimal.wasm", `echo-string("tab\there \u{1F600}")`, "\"tab\\there 😀\"\n"},
		{"scalars.wasm", "echo-u64(18446744073709551615)", "18446744073709551615\n"},
		{"scalars.wasm", "echo-char('x')", "'x'\n"},
		{"scalars.wasm", "echo-f64(-inf)", "-inf\n"},
		{"core_minimal.wasm", "add(2, 3)", "5\n"},
		{"misbehave.wasm", "divide(7, 2)", "3\n"},
	}
	for _, c := range cases {
		code, out, errs := cli(t, "call", fixture(c.file), c.expr)
		if code != 0 || out != c.want {
			t.Errorf("call %s %s: exit %d, out %q, err %q; want %q", c.file, c.expr, code, out, errs, c.want)
		}
	}
}

func TestCallWASIAndFlags(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("file text"), 0o644)
	const iface = "airssys:test/wasi-probe@0.1.0#"
	code, out, errs := cli(t, "call", "--env", "GREETING=hi there", "--dir", dir+"::/data:ro",
		fixture("wasi.wasm"), iface+`get-env("GREETING")`)
	if code != 0 || out != "some(\"hi there\")\n" {
		t.Fatalf("get-env: %d %q %q", code, out, errs)
	}
	code, out, _ = cli(t, "call", "--dir", dir+"::/data:ro", fixture("wasi.wasm"), iface+`read-file("/data/in.txt")`)
	if code != 0 || out != "ok(\"file text\")\n" {
		t.Fatalf("read-file: %d %q", code, out)
	}
	code, out, _ = cli(t, "call", "--dir", dir+"::/data:ro", fixture("wasi.wasm"),
		iface+`write-file("/data/x", "y")`)
	if code != 0 || !strings.HasPrefix(out, "err(") {
		t.Fatalf("write to read-only dir: %d %q", code, out)
	}
	// Guest stdout goes to our stdout, before the (empty) result line.
	code, out, errs = cli(t, "call", fixture("wasi.wasm"), iface+"hello()")
	if code != 0 || out != "hello from wasi\n" || !strings.Contains(errs, "oops") {
		t.Fatalf("hello: %d %q %q", code, out, errs)
	}
}

func TestCallTrapsExitOne(t *testing.T) {
	cases := []struct {
		args []string
		kind string
	}{
		{[]string{"--timeout", "50ms", fixture("misbehave.wasm"), "spin()"}, "timeout"},
		{[]string{"--fuel", "10000", fixture("misbehave.wasm"), "spin()"}, "out of fuel"},
		{[]string{"--memory", "1M", fixture("misbehave.wasm"), "grow()"}, "out of memory"},
		{[]string{fixture("misbehave.wasm"), "trap()"}, "unreachable"},
		{[]string{fixture("misbehave.wasm"), "recurse(1)"}, "stack overflow"},
		{[]string{fixture("misbehave.wasm"), "divide(1, 0)"}, "integer divide by zero"},
	}
	for _, c := range cases {
		code, out, errs := cli(t, append([]string{"call"}, c.args...)...)
		if code != 1 || out != "" || !strings.Contains(errs, "trapped: "+c.kind) {
			t.Errorf("%v: exit %d, out %q, err %q; want exit 1 and %q", c.args, code, out, errs, c.kind)
		}
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.wasm")
	os.WriteFile(junk, []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"call", fixture("minimal.wasm")}, "want FILE"},
		{[]string{"call", "/nonexistent.wasm", "run()"}, "no such file"},
		{[]string{"call", junk, "run()"}, "invalid WebAssembly"},
		{[]string{"call", fixture("minimal.wasm"), "nope()"}, "unknown export"},
		{[]string{"call", fixture("minimal.wasm"), `add("a", 1)`}, "expected s32"},
		{[]string{"call", fixture("minimal.wasm"), "add(1)"}, "expected 2 arguments"},
		{[]string{"call", fixture("minimal.wasm"), "add(1, 99999999999)"}, "s32"},
		{[]string{"call", fixture("minimal.wasm"), "add(1, 2"}, "wave"},
		{[]string{"call", "--memory", "lots", fixture("minimal.wasm"), "run()"}, "--memory"},
		{[]string{"call", "--dir", "nohostsep", fixture("minimal.wasm"), "run()"}, "--dir"},
		{[]string{"call", "--env", "NOEQUALS", fixture("minimal.wasm"), "run()"}, "--env"},
		{[]string{"call", "--bogus", fixture("minimal.wasm"), "run()"}, "flag provided but not defined"},
		{[]string{"call", fixture("hostcall.wasm"), "call-get()"}, "airssys:test/host@0.1.0"},
		{[]string{"inspect", junk}, "invalid WebAssembly"},
	}
	for _, c := range cases {
		code, out, errs := cli(t, c.args...)
		if code != 2 || out != "" || !strings.Contains(strings.ToLower(errs), strings.ToLower(c.want)) {
			t.Errorf("%v: exit %d, out %q, err %q; want exit 2 mentioning %q", c.args, code, out, errs, c.want)
		}
	}
}

func TestInspect(t *testing.T) {
	code, out, _ := cli(t, "inspect", fixture("hostcall.wasm"))
	want := "component\n  import airssys:test/host@0.1.0 {\n    get: func() -> s32\n    log: func(msg: string)\n  }\n" +
		"  export call-get: func() -> s32\n  export call-log: func(msg: string)\n" +
		"  export call-get-n: func(n: u32) -> s32\n"
	if code != 0 || out != want {
		t.Fatalf("inspect: %d\n%s\nwant:\n%s", code, out, want)
	}
	code, out, _ = cli(t, "inspect", fixture("wasi.wasm"))
	if code != 0 || !strings.Contains(out, "airssys:test/wasi-probe@0.1.0#get-env: func(name: string) -> option<string>") {
		t.Fatalf("inspect wasi:\n%s", out)
	}
	code, out, _ = cli(t, "inspect", fixture("core_host.wasm"))
	if code != 0 || !strings.Contains(out, "import env.get: func() -> (i32)") {
		t.Fatalf("inspect core:\n%s", out)
	}
}

// TestInspectPrintsTypeDefinitions checks that type and resource items print
// their definitions (as wasm-tools does), not just "point: type".
func TestInspectPrintsTypeDefinitions(t *testing.T) {
	t.Parallel() // compiling the 12 MB JavaScript component takes a while
	code, out, errs := cli(t, "inspect", fixture("types.wasm"))
	if code != 0 {
		t.Fatalf("inspect types.wasm: exit %d, %s", code, errs)
	}
	types := "    record point { x: s32, y: s32 }\n" +
		"    record person { name: string, age: u8, tags: list<string>, home: option<record { x: s32, y: s32 }> }\n" +
		"    variant shape { circle(f64), rect(record { x: s32, y: s32 }), empty }\n" +
		"    enum color { red, green, blue }\n" +
		"    flags perms { read, write, exec }\n"
	for _, want := range []string{
		// The interface that defines them, one that uses them, an export.
		"  import airssys:test/types@0.1.0 {\n" + types + "  }\n",
		"  import airssys:test/host-echo@0.1.0 {\n" + types + "    echo-bool: func(v: bool) -> bool\n",
		"  export airssys:test/echo@0.1.0 {\n" + types + "    airssys:test/echo@0.1.0#echo-bool: func(v: bool) -> bool\n",
		// Resources, and a variant type that refers to one.
		"  export airssys:test/counters@0.1.0 {\n    resource counter\n",
		"  import wasi:io/streams@0.2.12 {\n    resource input-stream\n    resource output-stream\n    resource error\n" +
			"    variant stream-error { last-operation-failed(own<resource>), closed }\n    resource pollable\n",
		// An alias of a primitive type, and a record of them.
		"    type filesize = u64\n",
		"    record datetime { seconds: u64, nanoseconds: u32 }\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect types.wasm: missing\n%s\nin:\n%s", want, out)
		}
	}
	for _, bad := range []string{": type\n", ": resource\n"} {
		if strings.Contains(out, bad) {
			t.Errorf("inspect types.wasm still prints %q:\n%s", strings.TrimSpace(bad), out)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "64K": 64 << 10, "2M": 2 << 20, "1GiB": 1 << 30,
		"3mb": 3 << 20} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "x", "1T", "99999999999G"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}
