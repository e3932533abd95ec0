package engine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

const wasiIface = "airssys:test/wasi-probe@0.1.0#"

func TestWASIStdoutStderr(t *testing.T) {
	var out, errb bytes.Buffer
	i := instance(t, "wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{Stdout: &out, Stderr: &errb}})
	call(t, i, wasiIface+"hello")
	if out.String() != "hello from wasi\n" || errb.String() != "oops\n" {
		t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
	}
}

func TestWASIEnvArgsStdin(t *testing.T) {
	t.Setenv("AIRSSYS_HOST_SECRET", "leak")
	i := instance(t, "wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{
		Args:  []string{"prog", "--flag"},
		Env:   map[string]string{"GREETING": "hi"},
		Stdin: []byte("from stdin"),
	}})
	if v := call(t, i, wasiIface+"get-env", "GREETING"); !reflect.DeepEqual(v, wit.Some("hi")) {
		t.Fatalf("get-env GREETING = %#v", v)
	}
	// Nothing is inherited from the host process.
	for _, name := range []string{"AIRSSYS_HOST_SECRET", "PATH", "HOME"} {
		if v := call(t, i, wasiIface+"get-env", name); !reflect.DeepEqual(v, wit.None()) {
			t.Fatalf("get-env %s = %#v, want none", name, v)
		}
	}
	if v := call(t, i, wasiIface+"get-args"); !reflect.DeepEqual(v, []any{"prog", "--flag"}) {
		t.Fatalf("get-args = %#v", v)
	}
	if v := call(t, i, wasiIface+"read-stdin"); v != "from stdin" {
		t.Fatalf("read-stdin = %#v", v)
	}
}

func TestWASIFiles(t *testing.T) {
	rw, ro := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(rw, "in.txt"), []byte("rw data"), 0o644)
	os.WriteFile(filepath.Join(ro, "in.txt"), []byte("ro data"), 0o644)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("secret"), 0o644)
	os.Symlink(secret, filepath.Join(rw, "link.txt"))

	i := instance(t, "wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{Dirs: []engine.Dir{
		{HostPath: rw, GuestPath: "/data"},
		{HostPath: ro, GuestPath: "/ro", ReadOnly: true},
	}}})
	if v := call(t, i, wasiIface+"read-file", "/data/in.txt"); !reflect.DeepEqual(v, wit.Ok("rw data")) {
		t.Fatalf("read /data/in.txt = %#v", v)
	}
	if v := call(t, i, wasiIface+"write-file", "/data/out.txt", "written"); !reflect.DeepEqual(v, wit.Ok(nil)) {
		t.Fatalf("write /data/out.txt = %#v", v)
	}
	if b, _ := os.ReadFile(filepath.Join(rw, "out.txt")); string(b) != "written" {
		t.Fatalf("host sees %q", b)
	}
	if v := call(t, i, wasiIface+"read-file", "/ro/in.txt"); !reflect.DeepEqual(v, wit.Ok("ro data")) {
		t.Fatalf("read /ro/in.txt = %#v", v)
	}
	// Denied: writing to the read-only directory, escaping the preopens.
	denied := []struct{ fn, path string }{
		{"write-file", "/ro/new.txt"},
		{"read-file", "/data/../../etc/passwd"},
		{"read-file", "/etc/passwd"},
		{"read-file", "/data/link.txt"},
		{"read-file", secret},
	}
	for _, d := range denied {
		args := []any{d.path}
		if d.fn == "write-file" {
			args = append(args, "x")
		}
		v := call(t, i, wasiIface+d.fn, args...)
		r, ok := v.(wit.Result)
		if !ok || !r.IsErr {
			t.Errorf("%s %s = %#v, want err", d.fn, d.path, v)
		}
	}
	if _, err := os.Stat(filepath.Join(ro, "new.txt")); err == nil {
		t.Fatal("a file was created in the read-only directory")
	}
}

func TestWASIBadPreopenIsAnError(t *testing.T) {
	_, err := load(t, "wasi.wasm").Instantiate(context.Background(), engine.InstanceConfig{WASI: engine.WASI{
		Dirs: []engine.Dir{{HostPath: filepath.Join(t.TempDir(), "missing"), GuestPath: "/x"}}}})
	if err == nil || !strings.Contains(err.Error(), "preopen") {
		t.Fatalf("err = %v", err)
	}
}

func TestCoreModuleWASIPreview1(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("core file\n"), 0o644)
	var out, errb bytes.Buffer
	i := instance(t, "core_wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{
		Stdout: &out, Stderr: &errb, Env: map[string]string{"GREETING": "hey"},
		Dirs: []engine.Dir{{HostPath: dir, GuestPath: "/data"}},
	}})
	call(t, i, "hello")
	call(t, i, "print_env")
	if v := call(t, i, "read_file"); v != int32(0) {
		t.Fatalf("read_file = %v", v)
	}
	if v := call(t, i, "write_file"); v != int32(0) {
		t.Fatalf("write_file = %v", v)
	}
	if want := "hello from wasi\nhey\ncore file\n"; out.String() != want {
		t.Fatalf("stdout %q, want %q", out.String(), want)
	}
	if errb.String() != "oops\n" {
		t.Fatalf("stderr %q", errb.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out.txt")); string(b) != "written\n" {
		t.Fatalf("out.txt = %q", b)
	}
}

// Item 10: a directory given by its open handle stays the directory that
// was admitted. A guest with write access above a granted directory renames
// it and puts a relative symlink in its place; the next instance (an actor's
// restart, say) preopening the path again would follow the symlink out of
// the granted tree. With Dir.Handle it gets the directory itself.
func TestDirHandleSurvivesASymlinkSwap(t *testing.T) {
	root := t.TempDir()
	app, data := filepath.Join(root, "app"), filepath.Join(root, "app", "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "f.txt"), []byte("inside"), 0o644)
	os.WriteFile(filepath.Join(root, "secret.txt"), []byte("outside"), 0o644)
	h, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dirs := []engine.Dir{{HostPath: app, GuestPath: "/app"},
		{HostPath: data, GuestPath: "/data", ReadOnly: true, Handle: h}}
	attacker := instance(t, "wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{Dirs: dirs}})
	for _, c := range [][3]string{{"rename", "/app/data", "/app/moved"}, {"symlink", "..", "/app/data"}} {
		if v := call(t, attacker, wasiIface+c[0], c[1], c[2]); !reflect.DeepEqual(v, wit.Ok(nil)) {
			t.Fatalf("%s: %v", c[0], v)
		}
	}
	if fi, err := os.Lstat(data); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the swap did not happen on the host: %v %v", fi, err)
	}
	next := instance(t, "wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{Dirs: dirs}})
	if v := call(t, next, wasiIface+"read-file", "/data/secret.txt"); !reflect.DeepEqual(v, wit.Err("No such file or directory")) {
		t.Fatalf("read /data/secret.txt after the swap: %v (the symlink was followed)", v)
	}
	if v := call(t, next, wasiIface+"read-file", "/data/f.txt"); !reflect.DeepEqual(v, wit.Ok("inside")) {
		t.Fatalf("read /data/f.txt: %v", v)
	}
}
