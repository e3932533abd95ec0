package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
