package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/internal/childtest"

	"github.com/airsstack/airssys-wasm-go/security"
)

const wasiIface = "airssys:test/wasi-probe@0.1.0#"

// setup copies wasi.wasm into a temp dir with a manifest and a policy.
func setup(t *testing.T, manifest, policy string) (dir, wasm, man, pol string) {
	t.Helper()
	dir = t.TempDir()
	real, _ := filepath.EvalSymlinks(dir)
	dir = real
	b, err := os.ReadFile(fixture("wasi.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	wasm = filepath.Join(dir, "probe.wasm")
	os.WriteFile(wasm, b, 0o644)
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.MkdirAll(filepath.Join(dir, "other"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "in.txt"), []byte("granted"), 0o644)
	os.WriteFile(filepath.Join(dir, "other", "in.txt"), []byte("not granted"), 0o644)
	r := strings.NewReplacer("$DIR", dir)
	man = filepath.Join(dir, "Component.toml")
	os.WriteFile(man, []byte(r.Replace(manifest)), 0o644)
	pol = filepath.Join(dir, "policy.toml")
	os.WriteFile(pol, []byte(r.Replace(policy)), 0o644)
	return dir, wasm, man, pol
}

const probeManifest = `[component]
name = "probe"
version = "0.1.0"
[resources]
memory = "16MiB"
timeout-per-message = "2s"
[capabilities]
env = ["GREETING"]
[[capabilities.filesystem]]
host = "$DIR/data"
guest = "/data"
access = "read"
`

const probePolicy = `[deny]
paths = ["/etc"]
[trust.unknown]
env = ["GREETING"]
filesystem = [{ host = "$DIR/data", access = "read" }]
`

func TestCallUnderManifestAndPolicy(t *testing.T) {
	_, wasm, man, pol := setup(t, probeManifest, probePolicy)
	call := func(expr string, extra ...string) (int, string, string) {
		args := append([]string{"call", "--manifest", man, "--policy", pol}, extra...)
		return cli(t, append(args, wasm, wasiIface+expr)...)
	}
	if code, out, errs := call(`read-file("/data/in.txt")`); code != 0 || out != "ok(\"granted\")\n" {
		t.Fatalf("granted read: %d %q %q", code, out, errs)
	}
	// Only the granted directory exists for the guest, read-only.
	if _, out, _ := call(`read-file("/other/in.txt")`); !strings.HasPrefix(out, "err(") {
		t.Fatalf("ungranted dir readable: %q", out)
	}
	if _, out, _ := call(`write-file("/data/new.txt", "x")`); !strings.HasPrefix(out, "err(") {
		t.Fatalf("write to read-only grant: %q", out)
	}
	for _, p := range []string{"/data/../other/in.txt", "/etc/passwd"} {
		if _, out, _ := call(`read-file("` + p + `")`); !strings.HasPrefix(out, "err(") {
			t.Fatalf("%s readable: %q", p, out)
		}
	}
	// Granted env var is there, the other is absent.
	if _, out, _ := call(`get-env("GREETING")`, "--env", "GREETING=hi", "--env", "SECRET=x"); out != "some(\"hi\")\n" {
		t.Fatalf("granted env: %q", out)
	}
	code, out, errs := call(`get-env("SECRET")`, "--env", "SECRET=x")
	if code != 0 || out != "none\n" || !strings.Contains(errs, "SECRET is not granted") {
		t.Fatalf("ungranted env: %d %q %q", code, out, errs)
	}
	if code, _, errs := call(`hello()`, "--dir", "/tmp::/t"); code != 2 || !strings.Contains(errs, "conflicts") {
		t.Fatalf("--dir with --manifest: %d %q", code, errs)
	}
}

func TestManifestBeyondPolicyIsRefusedWithTheFullList(t *testing.T) {
	m := probeManifest + `config = ["x"]
[capabilities.messaging]
send = ["a/b/c"]
`
	m = strings.Replace(m, `memory = "16MiB"`, `memory = "1GiB"`, 1)
	m = strings.Replace(m, "[capabilities]\nenv", "[capabilities]\nlogging = true\nenv", 1)
	// config must sit in [capabilities]: rebuild it properly
	m = strings.Replace(m, `config = ["x"]`+"\n[capabilities.messaging]", "[capabilities.messaging]", 1)
	m = strings.Replace(m, `env = ["GREETING"]`, `env = ["GREETING", "HOME"]`+"\n"+`config = ["x"]`, 1)
	pol := probePolicy + "[ceilings]\nmemory = \"64MiB\"\n"
	_, wasm, man, polPath := setup(t, m, pol)
	code, out, errs := cli(t, "call", "--manifest", man, "--policy", polPath, wasm, wasiIface+"hello()")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
	for _, want := range []string{"env HOME", "config x", "send to a/b/c", "logging", "resources.memory"} {
		if !strings.Contains(errs, want) {
			t.Errorf("refusal does not list %q:\n%s", want, errs)
		}
	}
}

func TestSignVerifyAndRequiredSignatures(t *testing.T) {
	dir, wasm, man, _ := setup(t, probeManifest, "")
	key := filepath.Join(dir, "acme")
	if code, out, errs := cli(t, "keygen", key); code != 0 || !strings.Contains(out, "ed25519:") {
		t.Fatalf("keygen: %d %q %q", code, out, errs)
	}
	if st, err := os.Stat(key + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", st, err)
	}
	if code, _, errs := cli(t, "keygen", key); code != 2 || !strings.Contains(errs, "exists") {
		t.Fatalf("keygen over an existing key: %d %q", code, errs)
	}
	pub, _ := os.ReadFile(key + ".pub")
	policy := "[policy]\nrequire-signatures = true\n[trust.trusted]\nenv = [\"*\"]\nfilesystem = [{ host = \"" + dir +
		"/**\" }]\n[[publisher]]\nname = \"acme\"\nkey = \"" + strings.TrimSpace(string(pub)) + "\"\n"
	pol := filepath.Join(dir, "strict.toml")
	os.WriteFile(pol, []byte(policy), 0o644)
	run := func() (int, string, string) {
		return cli(t, "call", "--manifest", man, "--policy", pol, wasm, wasiIface+`read-file("/data/in.txt")`)
	}
	// Unsigned: refused.
	if code, _, errs := run(); code != 1 || !strings.Contains(errs, "not signed") {
		t.Fatalf("unsigned: %d %q", code, errs)
	}
	if code, _, errs := cli(t, "sign", "--key", key+".key", "--manifest", man, wasm); code != 0 {
		t.Fatalf("sign: %d %q", code, errs)
	}
	if code, out, errs := cli(t, "verify", "--manifest", man, "--policy", pol, wasm); code != 0 ||
		!strings.Contains(out, "signature ok") || !strings.Contains(out, "admitted as trusted") {
		t.Fatalf("verify: %d %q %q", code, out, errs)
	}
	if code, out, errs := run(); code != 0 || out != "ok(\"granted\")\n" {
		t.Fatalf("signed: %d %q %q", code, out, errs)
	}
	// Tampered manifest: the signature covers it.
	orig, _ := os.ReadFile(man)
	os.WriteFile(man, append(orig, []byte("\n# changed\n")...), 0o644)
	if code, _, errs := run(); code != 1 || !strings.Contains(errs, "signature") {
		t.Fatalf("tampered manifest: %d %q", code, errs)
	}
	os.WriteFile(man, orig, 0o644)
	// Tampered component.
	b, _ := os.ReadFile(wasm)
	b[len(b)-1] ^= 1
	os.WriteFile(wasm+".bad", b, 0o644)
	sig, _ := os.ReadFile(wasm + ".sig")
	os.WriteFile(wasm+".bad.sig", sig, 0o644)
	if code, _, errs := cli(t, "call", "--manifest", man, "--policy", pol, wasm+".bad", wasiIface+"hello()"); code != 1 ||
		!strings.Contains(errs, "signature") {
		t.Fatalf("tampered component: %d %q", code, errs)
	}
	// Signed by a key the policy does not know.
	other := filepath.Join(dir, "mallory")
	cli(t, "keygen", other)
	cli(t, "sign", "--key", other+".key", "--manifest", man, wasm)
	if code, _, errs := run(); code != 1 || !strings.Contains(errs, "does not trust") {
		t.Fatalf("untrusted key: %d %q", code, errs)
	}
	if code, _, _ := cli(t, "verify", "--manifest", man, wasm); code != 0 {
		t.Fatal("a valid signature by an unknown key should still verify without a policy")
	}
}

// ---- regression tests of the hardening issue (#7) -----------------------------

// verify must not print "signature ok" (or exit 0) when the manifest was
// changed after signing.
func TestVerifyRefusesATamperedManifest(t *testing.T) {
	dir, wasm, man, _ := setup(t, probeManifest, "")
	key := filepath.Join(dir, "acme")
	if code, _, errs := cli(t, "keygen", key); code != 0 {
		t.Fatalf("keygen: %q", errs)
	}
	if code, _, errs := cli(t, "sign", "--key", key+".key", "--manifest", man, wasm); code != 0 {
		t.Fatalf("sign: %q", errs)
	}
	if code, out, errs := cli(t, "verify", "--manifest", man, wasm); code != 0 || !strings.Contains(out, "signature ok") {
		t.Fatalf("verify before tampering: %d %q %q", code, out, errs)
	}
	orig, _ := os.ReadFile(man)
	tampered := strings.Replace(string(orig), `memory = "16MiB"`, `memory = "1GiB"`, 1)
	if tampered == string(orig) {
		t.Fatal("the manifest was not changed")
	}
	os.WriteFile(man, []byte(tampered), 0o644)
	code, out, errs := cli(t, "verify", "--manifest", man, wasm)
	if code != 1 || strings.Contains(out, "signature ok") || !strings.Contains(errs, "does not match") {
		t.Fatalf("verify of a tampered manifest: exit %d, out %q, err %q; want exit 1 and no \"signature ok\"",
			code, out, errs)
	}
}

// The manifest's memory is a ceiling --memory cannot raise. grow() adds a
// page at a time until memory.grow fails, then traps: under the granted
// 128 KiB it runs out of memory within a few steps; under --memory 1G it
// would need about 16,000 steps and run out of fuel first.
func TestMemoryFlagCannotRaiseTheGrantedLimit(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(fixture("misbehave.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	wasm := filepath.Join(dir, "misbehave.wasm")
	os.WriteFile(wasm, b, 0o644)
	manifest := func(memory string) string {
		man := filepath.Join(dir, "Component-"+memory+".toml")
		os.WriteFile(man, []byte("[component]\nname = \"grower\"\nversion = \"0.1.0\"\n[resources]\nmemory = \""+
			memory+"\"\n"), 0o644)
		return man
	}
	// Without a manifest, --memory 1G lets grow() run out of fuel: the fuel
	// is too small for 1 GiB, so "out of memory" below means the grant won.
	if code, _, errs := cli(t, "call", "--fuel", "20000", "--memory", "1G", wasm, "grow()"); code != 1 ||
		!strings.Contains(errs, "trapped: out of fuel") {
		t.Fatalf("calibration, no manifest: %d %q", code, errs)
	}
	code, _, errs := cli(t, "call", "--manifest", manifest("128KiB"), "--fuel", "20000", "--memory", "1G", wasm, "grow()")
	if code != 1 || !strings.Contains(errs, "trapped: out of memory") {
		t.Fatalf("--memory 1G over a grant of 128KiB: exit %d, %q; want out of memory (the grant)", code, errs)
	}
	// A smaller --memory still narrows the grant.
	code, _, errs = cli(t, "call", "--manifest", manifest("1GiB"), "--fuel", "20000", "--memory", "128K", wasm, "grow()")
	if code != 1 || !strings.Contains(errs, "trapped: out of memory") {
		t.Fatalf("--memory 128K under a grant of 1GiB: exit %d, %q; want out of memory (the flag)", code, errs)
	}
}

// A manifest that does not parse is bad input: exit 2, with file, line and key.
func TestBadManifestExitsTwo(t *testing.T) {
	bad := strings.Replace(probeManifest, `memory = "16MiB"`, `memory = "16 apples"`, 1)
	_, wasm, man, pol := setup(t, bad, probePolicy)
	for _, args := range [][]string{
		{"call", "--manifest", man, "--policy", pol, wasm, wasiIface + "hello()"},
		{"call", "--manifest", man, wasm, wasiIface + "hello()"},
	} {
		code, out, errs := cli(t, args...)
		if code != 2 || out != "" || !strings.Contains(errs, "Component.toml:5: resources.memory") {
			t.Errorf("%v: exit %d, out %q, err %q; want exit 2 naming Component.toml:5: resources.memory", args,
				code, out, errs)
		}
	}
}

// A trap while instantiating (a start function that hits unreachable) is a
// trap: exit 1, not bad input.
func TestTrapDuringInstantiationExitsOne(t *testing.T) {
	code, out, errs := cli(t, "call", fixture("core_start_trap.wasm"), "run()")
	if code != 1 || out != "" || !strings.Contains(errs, "trapped: unreachable") || !strings.Contains(errs, "instantiate") {
		t.Fatalf("exit %d, out %q, err %q; want exit 1 and an unreachable trap while instantiating", code, out, errs)
	}
}

// cliWithin runs the command and fails the test if it does not return in d
// (a read blocked on a FIFO would hang it).
func cliWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		done <- result{code, out.String(), errb.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.errs
	case <-time.After(d):
		t.Fatalf("%v did not return within %v (blocked on a FIFO?)", args, d)
		return 0, "", ""
	}
}

// Signatures, manifests, policies and keys that are FIFOs are refused at
// once, with the exit status of their kind of input.
func TestFIFOInputsAreRefused(t *testing.T) {
	dir, wasm, man, _ := setup(t, probeManifest, probePolicy)
	fifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifoMan, fifoPol, fifoKey := fifo("fifo.toml"), fifo("fifo-policy.toml"), fifo("fifo.key")
	fifo(filepath.Base(wasm) + ".sig")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"verify", "--manifest", man, wasm}, 1},
		{[]string{"call", "--cache", "off", "--manifest", man, wasm, wasiIface + "hello()"}, 1},
		{[]string{"call", "--cache", "off", "--manifest", fifoMan, wasm, wasiIface + "hello()"}, 2},
		{[]string{"call", "--cache", "off", "--manifest", man, "--policy", fifoPol, wasm, wasiIface + "hello()"}, 2},
		{[]string{"sign", "--key", fifoKey, "--manifest", man, wasm}, 2},
	} {
		code, out, errs := cliWithin(t, 20*time.Second, c.args...)
		if code != c.code || out != "" || !strings.Contains(errs, "named pipe") {
			t.Errorf("%v: exit %d, out %q, err %q; want exit %d naming a named pipe", c.args, code, out, errs, c.code)
		}
	}
	// verify and sign read the component themselves.
	cli(t, "keygen", filepath.Join(dir, "k"))
	fifoWasm := fifo("fifo.wasm")
	for _, args := range [][]string{
		{"verify", "--manifest", man, fifoWasm},
		{"sign", "--key", filepath.Join(dir, "k.key"), "--manifest", man, fifoWasm},
	} {
		code, out, errs := cliWithin(t, 20*time.Second, args...)
		if code != 2 || out != "" || !strings.Contains(errs, "not a regular file") {
			t.Errorf("%v: exit %d, out %q, err %q; want exit 2, not a regular file", args, code, out, errs)
		}
	}
	// verify reads the manifest itself.
	os.Remove(wasm + ".sig")
	if code, _, errs := cli(t, "sign", "--key", filepath.Join(dir, "k.key"), "--manifest", man, wasm); code != 0 {
		t.Fatalf("sign: %q", errs)
	}
	code, out, errs := cliWithin(t, 20*time.Second, "verify", "--manifest", fifoMan, wasm)
	if code != 2 || out != "" || !strings.Contains(errs, "named pipe") {
		t.Errorf("verify with a FIFO manifest: exit %d, out %q, err %q", code, out, errs)
	}
}

// A manifest over the size limit is refused before it is parsed.
func TestOversizedManifestIsRefused(t *testing.T) {
	big := probeManifest + strings.Repeat("# padding\n", security.MaxManifestFile/10+1)
	_, wasm, man, pol := setup(t, big, probePolicy)
	code, _, errs := cli(t, "call", "--manifest", man, "--policy", pol, wasm, wasiIface+"hello()")
	if code != 2 || !strings.Contains(errs, "larger than 1048576 bytes") {
		t.Fatalf("exit %d, %q", code, errs)
	}
}

// A .sig or manifest that is a symlink to /dev/zero is refused without
// being read. The commands run in a child process with a capped address
// space and a timeout, so a regression fails instead of eating memory.
func TestDevZeroInputsAreRefused(t *testing.T) {
	inCappedChild(t, func() error {
		dir, err := os.MkdirTemp("", "devzero")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		wasm := filepath.Join(dir, "probe.wasm")
		b, err := os.ReadFile(fixture("wasi.wasm"))
		if err != nil {
			return err
		}
		os.WriteFile(wasm, b, 0o644)
		man := filepath.Join(dir, "Component.toml")
		os.WriteFile(man, []byte(strings.ReplaceAll(probeManifest, "$DIR", dir)), 0o644)
		os.Mkdir(filepath.Join(dir, "data"), 0o755)
		zero := filepath.Join(dir, "zero.toml")
		if err := os.Symlink("/dev/zero", wasm+".sig"); err != nil {
			return err
		}
		if err := os.Symlink("/dev/zero", zero); err != nil {
			return err
		}
		for _, c := range []struct {
			args []string
			code int
		}{
			{[]string{"verify", "--manifest", man, wasm}, 1},
			{[]string{"call", "--cache", "off", "--manifest", man, wasm, wasiIface + "hello()"}, 1},
			{[]string{"call", "--cache", "off", "--manifest", zero, wasm, wasiIface + "hello()"}, 2},
		} {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb)
			if code != c.code || !strings.Contains(errb.String(), "character device") {
				return fmt.Errorf("%v: exit %d, err %q; want exit %d naming a character device", c.args, code,
					errb.String(), c.code)
			}
		}
		return nil
	})
}

// inCappedChild runs f in a child process (childtest) whose address space
// may grow by 2 GiB at most; the child must succeed within 60 s.
func inCappedChild(t *testing.T, f func() error) {
	t.Helper()
	childtest.Run(t, childtest.Options{AddressSpace: 2 << 30, Timeout: 60 * time.Second}, func(t *testing.T) {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	})
}
