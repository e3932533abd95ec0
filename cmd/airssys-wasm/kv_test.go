package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// kv runs `airssys-wasm kv ARGS` with stdin.
func kv(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cmdKV(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// kvOK runs kv and fails the test unless it exits 0; it returns stdout.
func kvOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := kv(t, stdin, args...)
	if code != 0 {
		t.Fatalf("kv %q: exit %d, stderr %q", args, code, errs)
	}
	return out
}

// usageOf reads an owner's usage straight from the database file.
func usageOf(t *testing.T, dir string, o storage.Owner) storage.Usage {
	t.Helper()
	db, err := storage.OpenDir(dir, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.Usage(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var kvcall = fixture("kvcall.wasm")

func TestKVPutGetRmLs(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "data") // created by put

	// A missing database: reading creates nothing and is "not found".
	if code, _, errs := kv(t, "", "get", "--data", d, "app", "b", "k"); code != 1 || !strings.Contains(errs, "no database") {
		t.Fatalf("get without a database: %d %q", code, errs)
	}
	if code, _, _ := kv(t, "", "rm", "--data", d, "app", "b", "k"); code != 1 {
		t.Fatalf("rm without a database: %d", code)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatalf("get/rm created %s: %v", d, err)
	}

	kvOK(t, "", "put", "--data", d, "app", "b", "k", "value one")
	kvOK(t, "bin\x00\xff", "put", "--data", d, "app", "b", "k2") // from stdin
	kvOK(t, "", "put", "--data", d, "app", "other", "x", "")
	kvOK(t, "", "put", "--data", d, "app2", "b", "k", "app2's")
	if _, err := os.Stat(filepath.Join(d, storage.FileName)); err != nil {
		t.Fatal(err)
	}
	if out := kvOK(t, "", "get", "--data", d, "app", "b", "k"); out != "value one" {
		t.Fatalf("get k: %q", out)
	}
	if out := kvOK(t, "", "get", "--data", d, "app", "b", "k2"); out != "bin\x00\xff" {
		t.Fatalf("get k2: %q", out)
	}
	if out := kvOK(t, "", "get", "--data", d, "app", "other", "x"); out != "" {
		t.Fatalf("get empty value: %q", out)
	}
	if out := kvOK(t, "", "get", "--data", d, "app2", "b", "k"); out != "app2's" {
		t.Fatalf("get app2: %q", out)
	}

	// ls: owners with usage, buckets, keys.
	out := kvOK(t, "", "ls", "--data", d)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PUBLISHER") {
		t.Fatalf("ls: %q", out)
	}
	// app: "k"+"value one" (10) + "k2"+5 bytes (7) + "x" (1) = 18 bytes, 3 keys.
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "dev space (unsigned) app 3 18" {
		t.Fatalf("ls line for app: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "dev space (unsigned) app2 1 7" {
		t.Fatalf("ls line for app2: %q", lines[2])
	}
	out = kvOK(t, "", "ls", "--data", d, "app")
	if out != "# \"app\" in the dev space (unsigned): 3 keys, 18 bytes, 2 buckets\nb\nother\n" {
		t.Fatalf("ls app: %q", out)
	}
	out = kvOK(t, "", "ls", "--data", d, "app", "b")
	if out != "# \"app\" in the dev space (unsigned), bucket \"b\": 2 keys\nk\nk2\n" {
		t.Fatalf("ls app b: %q", out)
	}

	// rm; then the key is gone, and rm again is "not found".
	kvOK(t, "", "rm", "--data", d, "app", "b", "k")
	code, out, errs := kv(t, "", "get", "--data", d, "app", "b", "k")
	if code != 1 || out != "" || !strings.Contains(errs, `no key "k" in bucket "b"`) || !strings.Contains(errs, "dev space") {
		t.Fatalf("get after rm: %d %q %q", code, out, errs)
	}
	if code, _, errs := kv(t, "", "rm", "--data", d, "app", "b", "k"); code != 1 || !strings.Contains(errs, "no key") {
		t.Fatalf("rm again: %d %q", code, errs)
	}
	if u := usageOf(t, d, storage.Owner{Name: "app"}); u != (storage.Usage{Bytes: 8, Keys: 2}) {
		t.Fatalf("usage after rm: %+v", u)
	}

	// Usage errors and bad input: 2.
	for _, args := range [][]string{
		{},
		{"frob", "--data", d, "app"},
		{"get", "app", "b", "k2"},        // no --data
		{"get", "--data", d, "app", "b"}, // too few
		{"rm", "--data", d, "app", "b", "k", "x"}, // too many
		{"get", "--data", d, "app", "b", ""},      // empty key
		{"put", "--data", d, "app", "", "k", "v"}, // empty bucket
		{"ls", "--data", d, ""},                   // empty component
		{"get", "--data", d, "--publisher", "ed25519:nope", "app", "b", "k2"},
		{"get", "--data", d, "--publisher", filepath.Join(dir, "missing.pub"), "app", "b", "k2"},
	} {
		if code, _, errs := kv(t, "", args...); code != 2 || errs == "" {
			t.Errorf("kv %q: exit %d (want 2), stderr %q", args, code, errs)
		}
	}
	// Values are held to storage's limit: refused (1), from stdin or not.
	big := strings.Repeat("x", storage.MaxValueBytes+1)
	if code, _, errs := kv(t, big, "put", "--data", d, "app", "b", "big"); code != 1 || !strings.Contains(errs, "too large") {
		t.Fatalf("put of a value too large from stdin: %d %q", code, errs)
	}
	if code, _, errs := kv(t, "", "put", "--data", d, "app", "b", "big", big); code != 1 || !strings.Contains(errs, "too large") {
		t.Fatalf("put of a value too large: %d %q", code, errs)
	}
	// Through the command's dispatch too.
	if code, out, errs := cli(t, "kv", "get", "--data", d, "app", "b", "k2"); code != 0 || out != "bin\x00\xff" {
		t.Fatalf("airssys-wasm kv get: %d %q %q", code, out, errs)
	}
}

// ls lists every key of a bucket, past storage's page of ListPage keys.
func TestKVLsAllPages(t *testing.T) {
	d := t.TempDir()
	n := storage.ListPage*2 + 7
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, `{"bucket":"b","key":"k%05d","value":"v"}`+"\n", i)
	}
	kvOK(t, in.String(), "import", "--data", d, "app")
	out := kvOK(t, "", "ls", "--data", d, "app", "b")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n+1 || !strings.Contains(lines[0], fmt.Sprintf(": %d keys", n)) {
		t.Fatalf("ls: %d lines, header %q", len(lines), lines[0])
	}
	for i, l := range lines[1:] {
		if want := fmt.Sprintf("k%05d", i); l != want {
			t.Fatalf("key %d: %q, want %q", i, l, want)
		}
	}
}

// A signed component's space is apart from the dev space of the same name;
// --publisher takes the key or the .pub file keygen writes.
func TestKVPublisherSpaces(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "data")
	key := filepath.Join(dir, "acme")
	if code, _, errs := cli(t, "keygen", key); code != 0 {
		t.Fatalf("keygen: %q", errs)
	}
	pubText, _ := os.ReadFile(key + ".pub")
	pub := strings.TrimSpace(string(pubText))

	kvOK(t, "", "put", "--data", d, "--publisher", key+".pub", "app", "b", "k", "signed")
	kvOK(t, "", "put", "--data", d, "app", "b", "k", "dev")
	if out := kvOK(t, "", "get", "--data", d, "--publisher", pub, "app", "b", "k"); out != "signed" {
		t.Fatalf("get with the key: %q", out)
	}
	if out := kvOK(t, "", "get", "--data", d, "app", "b", "k"); out != "dev" {
		t.Fatalf("get in the dev space: %q", out)
	}
	out := kvOK(t, "", "ls", "--data", d)
	if !strings.Contains(out, "\n"+pub+"  ") || !strings.Contains(strings.Join(strings.Fields(out), " "), pub+" app 1 7") {
		t.Fatalf("ls does not show the publisher: %q", out)
	}
	if !strings.Contains(out, "dev space (unsigned)") {
		t.Fatalf("ls does not show the dev space: %q", out)
	}
	// --publisher with ls alone: that publisher's components only.
	out = kvOK(t, "", "ls", "--data", d, "--publisher", pub)
	if strings.Contains(out, "dev space") || !strings.Contains(out, pub) {
		t.Fatalf("ls --publisher: %q", out)
	}
	out = kvOK(t, "", "ls", "--data", d, "--publisher", pub, "app")
	if !strings.HasPrefix(out, "# \"app\" of publisher "+pub+": 1 keys") {
		t.Fatalf("ls --publisher app: %q", out)
	}
	if u := usageOf(t, d, storage.Owner{Publisher: pub, Name: "app"}); u.Keys != 1 || u.Bytes != 7 {
		t.Fatalf("signed usage: %+v", u)
	}
}

func TestKVExportImportRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	kvOK(t, "", "put", "--data", src, "app", "b", "k", "text value")
	kvOK(t, "\x00\x01\xfe\xff", "put", "--data", src, "app", "b", "bin")
	kvOK(t, "", "put", "--data", src, "app", "c", "ünï", "\"quoted\" <tag> & \n newline")
	kvOK(t, "", "put", "--data", src, "app", "c", "empty", "")
	kvOK(t, "", "put", "--data", src, "someone-else", "b", "k", "not exported")
	exp := kvOK(t, "", "export", "--data", src, "app")
	if n := strings.Count(exp, "\n"); n != 4 || !strings.Contains(exp, `"base64":true`) || strings.Contains(exp, "not exported") {
		t.Fatalf("export: %q", exp)
	}
	file := filepath.Join(t.TempDir(), "app.jsonl")
	os.WriteFile(file, []byte(exp), 0o644)
	out := kvOK(t, "", "import", "--data", dst, "app", file)
	if !strings.Contains(out, "now 4 keys") {
		t.Fatalf("import: %q", out)
	}
	if again := kvOK(t, "", "export", "--data", dst, "app"); again != exp {
		t.Fatalf("export after import differs:\n%q\n%q", exp, again)
	}
	if a, b := usageOf(t, src, storage.Owner{Name: "app"}), usageOf(t, dst, storage.Owner{Name: "app"}); a != b || a.Keys != 4 {
		t.Fatalf("usage: %+v, after import %+v", a, b)
	}
	if out := kvOK(t, "", "get", "--data", dst, "app", "b", "bin"); out != "\x00\x01\xfe\xff" {
		t.Fatalf("binary value after import: %q", out)
	}
	// From stdin, into another component of the same directory.
	kvOK(t, exp, "import", "--data", dst, "copy")
	if again := kvOK(t, "", "export", "--data", dst, "copy"); again != exp {
		t.Fatalf("export after import from stdin differs: %q", again)
	}
}

func TestKVImportMalformedLineWritesNothing(t *testing.T) {
	d := t.TempDir()
	kvOK(t, "", "put", "--data", d, "app", "b", "old", "kept")
	before := kvOK(t, "", "export", "--data", d, "app")
	good := `{"bucket":"b","key":"new1","value":"v"}` + "\n" + `{"bucket":"b","key":"new2","value":"v"}` + "\n"
	for _, c := range []struct{ name, input, line string }{
		{"not JSON", good + "{oops\n", "line 3"},
		{"unknown field", good + `{"bucket":"b","key":"x","value":"v","extra":1}` + "\n", "line 3"},
		{"empty key", `{"bucket":"b","key":"","value":"v"}` + "\n" + good, "line 1"},
		{"bad base64", good + "\n" + `{"bucket":"b","key":"x","value":"%%","base64":true}` + "\n", "line 4"},
	} {
		file := filepath.Join(t.TempDir(), "in.jsonl")
		os.WriteFile(file, []byte(c.input), 0o644)
		code, _, errs := kv(t, "", "import", "--data", d, "app", file)
		if code != 2 || !strings.Contains(errs, c.line+":") || !strings.Contains(errs, "nothing was imported") {
			t.Errorf("%s: exit %d, stderr %q (want 2 and %q)", c.name, code, errs, c.line)
		}
		if after := kvOK(t, "", "export", "--data", d, "app"); after != before {
			t.Fatalf("%s: a refused import wrote %q", c.name, after)
		}
	}
	if u := usageOf(t, d, storage.Owner{Name: "app"}); u.Keys != 1 {
		t.Fatalf("usage after refused imports: %+v", u)
	}
	if code, _, _ := kv(t, "", "import", "--data", d, "app", filepath.Join(d, "missing.jsonl")); code != 2 {
		t.Fatalf("import of a missing file: %d", code)
	}
}

// While another process holds the file (here: this one, through another
// handle; bbolt's flock conflicts the same), every verb gives up after the
// timeout with a message that says so, and so does call --data.
func TestKVLockedDatabase(t *testing.T) {
	d := t.TempDir()
	kvOK(t, "", "put", "--data", d, "app", "b", "k", "v")
	held, err := storage.OpenDir(d, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	old := kvLockTimeout
	kvLockTimeout = 300 * time.Millisecond
	defer func() { kvLockTimeout = old }()
	check := func(what string, code int, errs string, took time.Duration) {
		t.Helper()
		if code != 1 || !strings.Contains(errs, "held by another process") || !strings.Contains(errs, "running host") ||
			!strings.Contains(errs, storage.FileName) {
			t.Errorf("%s on a held database: exit %d, stderr %q", what, code, errs)
		}
		if took < kvLockTimeout/2 { // bbolt stops one retry (50ms) early
			t.Errorf("%s gave up after %v, before the timeout", what, took)
		}
	}
	for _, args := range [][]string{
		{"get", "--data", d, "app", "b", "k"}, // read-only
		{"ls", "--data", d},
		{"put", "--data", d, "app", "b", "k", "w"},
		{"import", "--data", d, "app"},
	} {
		start := time.Now()
		code, _, errs := kv(t, "", args...)
		check("kv "+args[0], code, errs, time.Since(start))
	}
	start := time.Now()
	code, _, errs := cli(t, "call", "--data", d, "--name", "app", kvcall, `get("b", "k")`)
	check("call --data", code, errs, time.Since(start))
	held.Close()
	if out := kvOK(t, "", "get", "--data", d, "app", "b", "k"); out != "v" {
		t.Fatalf("get after the holder closed: %q", out)
	}
	// A reader shares the file with readers: the read verbs open it
	// read-only, put does not.
	reader, err := storage.OpenDir(d, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if out := kvOK(t, "", "get", "--data", d, "app", "b", "k"); out != "v" {
		t.Fatalf("get beside a reader: %q", out)
	}
	kvOK(t, "", "export", "--data", d, "app")
	kvOK(t, "", "ls", "--data", d, "app", "b")
	start = time.Now()
	code, _, errs = kv(t, "", "put", "--data", d, "app", "b", "k", "w")
	check("kv put beside a reader", code, errs, time.Since(start))
}

// call --data runs a component that imports wasi:keyvalue with the data of
// --name (dev space), the same data kv shows; without --data its buckets
// are refused (access-denied, not a trap).
func TestCallData(t *testing.T) {
	d := filepath.Join(t.TempDir(), "data")
	call := func(args ...string) (int, string, string) {
		t.Helper()
		return cli(t, append([]string{"call"}, args...)...)
	}
	if code, out, errs := call(kvcall, `set("b", "k", [104, 105])`); code != 0 || out != "err(\"access-denied\")\n" {
		t.Fatalf("set without --data: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatal("call without --data made a data directory")
	}
	if code, out, errs := call("--data", d, "--name", "app", kvcall, `set("b", "k", [104, 105])`); code != 0 || out != "ok\n" {
		t.Fatalf("set: %d %q %q", code, out, errs)
	}
	if code, out, errs := call("--data", d, "--name", "app", kvcall, `get("b", "k")`); code != 0 || out != "ok(some([104, 105]))\n" {
		t.Fatalf("get: %d %q %q", code, out, errs)
	}
	// The same data through kv, both ways.
	if out := kvOK(t, "", "get", "--data", d, "app", "b", "k"); out != "hi" {
		t.Fatalf("kv get of what call set: %q", out)
	}
	kvOK(t, "", "put", "--data", d, "app", "b", "k2", "AB")
	if code, out, errs := call("--data", d, "--name", "app", kvcall, `get("b", "k2")`); code != 0 || out != "ok(some([65, 66]))\n" {
		t.Fatalf("get of what kv put: %d %q %q", code, out, errs)
	}
	// Another name is another owner.
	if code, out, errs := call("--data", d, "--name", "other", kvcall, `get("b", "k")`); code != 0 || out != "ok(none)\n" {
		t.Fatalf("get as another component: %d %q %q", code, out, errs)
	}
	// A bucket identifier that cannot exist: no-such-store.
	if code, out, _ := call("--data", d, "--name", "app", kvcall, `get("", "k")`); code != 0 || out != "err(\"no-such-store\")\n" {
		t.Fatalf("get from bucket \"\": %d %q", code, out)
	}
	// Flags that do not go together.
	for _, args := range [][]string{
		{"--data", d, kvcall, `get("b", "k")`},                             // whose data?
		{"--name", "app", kvcall, `get("b", "k")`},                         // --name without --data
		{"--data", d, "--name", "", kvcall, `get("b", "k")`},               // empty name
		{"--data", d, "--name", strings.Repeat("n", 300), kvcall, `run()`}, // too long
	} {
		if code, _, errs := call(args...); code != 2 || errs == "" {
			t.Errorf("call %q: exit %d (want 2), stderr %q", args, code, errs)
		}
	}
	// A component that does not import storage runs as before.
	if code, out, errs := call("--data", d, "--name", "x", fixture("minimal.wasm"), "run()"); code != 0 || out != "42\n" {
		t.Fatalf("minimal with --data: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCmd(t, "", "--data", d, "--name", "x", fixture("cmd.wasm"), "echo", "hi"); code != 0 ||
		!strings.HasSuffix(out, "echo\nhi\n") {
		t.Fatalf("run with --data: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCmd(t, "", "--data", d, fixture("cmd.wasm"), "echo", "hi"); code != 2 || !strings.Contains(errs, "--name") {
		t.Fatalf("run --data without a name: %d %q", code, errs)
	}
}

const kvManifest = `[component]
name = "kvapp"
version = "0.1.0"
[resources]
memory = "16MiB"
[capabilities.storage]
buckets = ["b"]
read = true
write = true
`

// Under --manifest the owner is the manifest's name and signer, and the
// grant the admission's: the buckets it listed, what the policy allows.
func TestCallDataUnderManifestAndPolicy(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "data")
	wasm := filepath.Join(dir, "kvapp.wasm")
	b, err := os.ReadFile(kvcall)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(wasm, b, 0o644)
	man := filepath.Join(dir, "Component.toml")
	os.WriteFile(man, []byte(kvManifest), 0o644)
	key := filepath.Join(dir, "acme")
	cli(t, "keygen", key)
	pubText, _ := os.ReadFile(key + ".pub")
	pub := strings.TrimSpace(string(pubText))
	if code, _, errs := cli(t, "sign", "--key", key+".key", "--manifest", man, wasm); code != 0 {
		t.Fatalf("sign: %q", errs)
	}
	pol := filepath.Join(dir, "policy.toml")
	os.WriteFile(pol, []byte(fmt.Sprintf(`[trust.trusted]
storage-buckets = ["*"]
storage-read = true
storage-write = true
[[publisher]]
name = "acme"
key = %q
`, pub)), 0o644)
	call := func(expr string, extra ...string) (int, string, string) {
		t.Helper()
		args := append([]string{"call", "--manifest", man}, extra...)
		return cli(t, append(args, "--data", d, wasm, expr)...)
	}
	if code, out, errs := call(`set("b", "k", [115])`, "--policy", pol); code != 0 || out != "ok\n" {
		t.Fatalf("granted bucket: %d %q %q", code, out, errs)
	}
	// Not in the manifest: refused, though the policy allows "*".
	if code, out, errs := call(`set("c", "k", [115])`, "--policy", pol); code != 0 || out != "err(\"access-denied\")\n" {
		t.Fatalf("bucket not in the manifest: %d %q %q", code, out, errs)
	}
	if code, out, errs := call(`get("b", "k")`, "--policy", pol); code != 0 || out != "ok(some([115]))\n" {
		t.Fatalf("get: %d %q %q", code, out, errs)
	}
	// The data is the signed component's: kv finds it with --publisher only.
	if out := kvOK(t, "", "get", "--data", d, "--publisher", pub, "kvapp", "b", "k"); out != "s" {
		t.Fatalf("kv get --publisher: %q", out)
	}
	if code, _, _ := kv(t, "", "get", "--data", d, "kvapp", "b", "k"); code != 1 {
		t.Fatalf("the signed component's data is in the dev space: exit %d", code)
	}
	// Without a policy nothing of storage is granted: a manifest that asks
	// for it is refused, one that does not gets no storage, and is told.
	code, _, errs := call(`get("b", "k")`)
	if code != 1 || !strings.Contains(errs, `storage bucket "b"`) {
		t.Fatalf("manifest asking for storage without a policy: %d %q", code, errs)
	}
	plain := filepath.Join(t.TempDir(), "Component.toml")
	os.WriteFile(plain, []byte(kvManifest[:strings.Index(kvManifest, "[capabilities.storage]")]), 0o644)
	unsigned := filepath.Join(t.TempDir(), "kvapp.wasm")
	os.WriteFile(unsigned, b, 0o644)
	code, out, errs := cli(t, "call", "--manifest", plain, "--data", d, unsigned, `get("b", "k")`)
	if code != 0 || out != "err(\"access-denied\")\n" || !strings.Contains(errs, "storage is not granted to kvapp") {
		t.Fatalf("manifest without storage: %d %q %q", code, out, errs)
	}
	// With --audit, a refusal is an audit event.
	code, out, errs = call(`set("c", "k", [115])`, "--policy", pol, "--audit")
	if code != 0 || out != "err(\"access-denied\")\n" || !strings.Contains(errs, "storage.open") {
		t.Fatalf("audit of a refused bucket: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, "call", "--manifest", man, "--name", "x", "--data", d, wasm, `get("b", "k")`); code != 2 ||
		!strings.Contains(errs, "conflicts") {
		t.Fatalf("--name with --manifest: %d %q", code, errs)
	}
}
