package security

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func manifestText(dir string) string {
	return `# a complete manifest
[component]
name = "billing"
version = "1.2.0"
description = "bills things"
authors = ["Ada <ada@example.com>"]

[resources]
memory = "64MiB"
fuel-per-message = 1000000
timeout-per-message = "100ms"
mailbox = 2048
max-message = "1MiB"

[capabilities]
env = ["LANG"]
config = ["region"]
logging = true

[[capabilities.filesystem]]
host = "` + dir + `"
guest = "/data"
access = "read-write"

[capabilities.messaging]
send = ["payments/*/*"]
request = ["ledger/main/1"]
publish = ["billing.>"]
subscribe = ["orders.created"]
`
}

func TestParseManifest(t *testing.T) {
	dir := t.TempDir()
	m, err := ParseManifest("Component.toml", []byte(manifestText(dir)))
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if m.Name != "billing" || m.Version != "1.2.0" || m.Resources.MemoryBytes != 64<<20 ||
		m.Resources.TimeoutPerMsg != 100*time.Millisecond || m.Resources.Mailbox != 2048 ||
		m.Resources.MaxMessageBytes != 1<<20 || m.Resources.FuelPerMessage != 1000000 {
		t.Fatalf("manifest %+v", m)
	}
	if len(m.Capabilities.Filesystem) != 1 || m.Capabilities.Filesystem[0].Host != real ||
		!m.Capabilities.Filesystem[0].ReadWrite || m.Capabilities.Filesystem[0].Guest != "/data" {
		t.Fatalf("filesystem %+v", m.Capabilities.Filesystem)
	}
}

func TestManifestErrorsNameKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, text string
		want       []string // substrings, each must appear
	}{
		{"unknown key", "[component]\nname = \"a\"\nversion = \"1.0.0\"\ncolour = \"red\"\n[resources]\nmemory = 1\n",
			[]string{"Component.toml:4", "component.colour", "unknown key"}},
		{"wrong type", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\nmailbox = \"big\"\n",
			[]string{"Component.toml", "mailbox"}},
		{"missing required", "[component]\nname = \"a\"\n[resources]\nmemory = 1\n",
			[]string{"Component.toml:1", "component", "version"}},
		{"missing memory", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmailbox = 4\n",
			[]string{"Component.toml:4", "resources", "memory"}},
		{"bad size", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = \"64 apples\"\n",
			[]string{"Component.toml:5", "resources.memory", "not a size"}},
		{"contradiction", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = \"1MiB\"\nmax-message = \"2MiB\"\n",
			[]string{"Component.toml:6", "resources.max-message", "larger than resources.memory"}},
		{"network", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n[capabilities.network]\noutbound = [\"x:80\"]\n",
			[]string{"capabilities.network", "denied to every component"}},
		{"duplicate guest", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n" +
			"[[capabilities.filesystem]]\nhost = \"" + dir + "\"\nguest = \"/d\"\n" +
			"[[capabilities.filesystem]]\nhost = \"" + dir + "\"\nguest = \"/d\"\n",
			[]string{"Component.toml:11", "capabilities.filesystem[1].guest", "already mapped"}},
		{"bad access", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n" +
			"[[capabilities.filesystem]]\nhost = \"" + dir + "\"\nguest = \"/d\"\naccess = \"write-only\"\n",
			[]string{"Component.toml:9", "access", "write-only"}},
		{"relative host", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n" +
			"[[capabilities.filesystem]]\nhost = \"data\"\nguest = \"/d\"\n",
			[]string{"Component.toml:7", "host", "not an absolute path"}},
		{"bad pattern", "[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n[capabilities.messaging]\nsend = [\"x/y\"]\n",
			[]string{"Component.toml:7", "capabilities.messaging.send"}},
		{"not toml", "[component\nname =", []string{"Component.toml"}},
		{"bad name", "[component]\nname = \"Bad Name\"\nversion = \"1\"\n[resources]\nmemory = 1\n",
			[]string{"component.name", "component.version"}},
	}
	for _, c := range cases {
		_, err := ParseManifest("Component.toml", []byte(c.text))
		if !errors.Is(err, ErrManifest) {
			t.Errorf("%s: err = %v, want ErrManifest", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func policyText(dir string) string {
	return `[policy]
require-signatures = false

[ceilings]
memory = "128MiB"
timeout-per-message = "1s"

[deny]
paths = ["/etc", "/root/.ssh"]
env = ["AWS_SECRET_ACCESS_KEY"]

[trust.unknown]
env = ["LANG"]
config = ["*"]
send = ["payments/*/*"]
request = ["ledger/main/1"]
publish = ["billing.>"]
subscribe = ["orders.*"]
logging = true
filesystem = [{ host = "` + dir + `/**", access = "read-write" }]
`
}

func TestEvaluateGrantsWhatIsAsked(t *testing.T) {
	dir := t.TempDir()
	real, _ := filepath.EvalSymlinks(dir)
	p, err := ParsePolicy("policy.toml", []byte(policyText(real)))
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(real, "inner")
	os.Mkdir(sub, 0o755)
	m, err := ParseManifest("Component.toml", []byte(manifestText(sub)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Evaluate(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"send payments/gateway/1":  g.AllowSend("payments/gateway/1"),
		"!send ledger/main/1":      !g.AllowSend("ledger/main/1"),
		"request ledger/main/1":    g.AllowRequest("ledger/main/1"),
		"!request ledger/main/2":   !g.AllowRequest("ledger/main/2"),
		"publish billing.x.y":      g.AllowPublish("billing.x.y"),
		"!publish billing":         !g.AllowPublish("billing"),
		"!publish other.x":         !g.AllowPublish("other.x"),
		"subscribe orders.created": g.AllowSubscribe("orders.created"),
		"!subscribe orders.*":      !g.AllowSubscribe("orders.*"),
		"env LANG":                 g.AllowEnv("LANG"),
		"!env HOME":                !g.AllowEnv("HOME"),
		"config region":            g.AllowConfig("region"),
		"!config secret":           !g.AllowConfig("secret"),
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s: wrong answer", what)
		}
	}
}

func TestEvaluateListsEveryMissingGrant(t *testing.T) {
	dir := t.TempDir()
	real, _ := filepath.EvalSymlinks(dir)
	strict := `[ceilings]
memory = "16MiB"
[deny]
paths = ["` + real + `/secret"]
env = ["LANG"]
[trust.unknown]
send = ["payments/gateway/1"]
`
	p, err := ParsePolicy("policy.toml", []byte(strict))
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(real, "secret")
	os.Mkdir(secret, 0o755)
	m, err := ParseManifest("Component.toml", []byte(manifestText(secret)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Evaluate(m, nil)
	var de *DeniedError
	if !errors.As(err, &de) || !errors.Is(err, ErrDenied) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"always denied", "env LANG: always denied", "config region", "send to payments/*/*",
		"request from ledger/main/1", "publish to billing.>", "subscribe to orders.created", "logging",
		"resources.memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if len(de.Missing) != 9 {
		t.Errorf("%d missing grants listed: %q", len(de.Missing), de.Missing)
	}
}

func TestPathTraversalAndSymlinksAreResolvedBeforeChecks(t *testing.T) {
	base := t.TempDir()
	real, _ := filepath.EvalSymlinks(base)
	allowed := filepath.Join(real, "allowed")
	outside := filepath.Join(real, "outside")
	os.Mkdir(allowed, 0o755)
	os.Mkdir(outside, 0o755)
	os.Symlink(outside, filepath.Join(allowed, "escape"))
	p, err := ParsePolicy("policy.toml", []byte(`[deny]
paths = ["`+outside+`"]
[trust.unknown]
filesystem = [{ host = "`+allowed+`/**" }]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{
		allowed + "/../outside", // ../
		outside,                 // absolute path elsewhere
		allowed + "/escape",     // symlink out of the granted tree
	} {
		text := "[component]\nname = \"x\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n" +
			"[[capabilities.filesystem]]\nhost = \"" + host + "\"\nguest = \"/d\"\n"
		m, err := ParseManifest("Component.toml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Evaluate(m, nil); !errors.Is(err, ErrDenied) {
			t.Errorf("%s: granted (%v)", host, err)
		}
	}
	// Writing needs a read-write grant.
	m, _ := ParseManifest("Component.toml", []byte("[component]\nname = \"x\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n"+
		"[[capabilities.filesystem]]\nhost = \""+allowed+"\"\nguest = \"/d\"\naccess = \"read-write\"\n"))
	if _, err := p.Evaluate(m, nil); !errors.Is(err, ErrDenied) {
		t.Errorf("read-write granted on a read-only grant: %v", err)
	}
}

func TestSignatures(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	comp, man := []byte("\x00asm component"), []byte("[component]\nname = \"x\"\n")
	sig := Sign(priv, comp, man)
	parsed, err := ParseSignature(sig.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if k, err := parsed.Verify(comp, man); err != nil || !k.Equal(pub) {
		t.Fatalf("verify: %v", err)
	}
	for name, f := range map[string]func() error{
		"tampered component": func() error { _, err := parsed.Verify(append([]byte{1}, comp...), man); return err },
		"tampered manifest":  func() error { _, err := parsed.Verify(comp, append(man, ' ')); return err },
		"swapped": func() error {
			_, err := parsed.Verify(man, comp)
			return err
		},
		"other key": func() error {
			other, _, _ := GenerateKey()
			_, err := Signature{Key: other, Sig: parsed.Sig}.Verify(comp, man)
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Keys round-trip through their text forms.
	k2, err := ParsePrivateKey(priv.String())
	if err != nil || !k2.Public().Equal(pub) {
		t.Fatalf("private key round trip: %v", err)
	}
	if _, err := ParseSignature([]byte("key nope\n")); err == nil {
		t.Fatal("bad signature file accepted")
	}
}

func TestRequireSignaturesAndTrust(t *testing.T) {
	pub, priv, _ := GenerateKey()
	stranger, strangerPriv, _ := GenerateKey()
	_ = stranger
	dir := t.TempDir()
	man := []byte("[component]\nname = \"x\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n[capabilities]\nenv = [\"LANG\"]\n")
	comp := []byte("\x00asm....")
	p, err := ParsePolicy("policy.toml", []byte(`[policy]
require-signatures = true
[trust.trusted]
env = ["*"]
[[publisher]]
name = "acme"
key = "`+pub.String()+`"
`))
	if err != nil {
		t.Fatal(err)
	}
	_ = dir
	good := Sign(priv, comp, man)
	a, err := Admit(p, comp, man, "Component.toml", &good)
	if err != nil || a.Grants.Trust != Trusted || !a.Grants.AllowEnv("LANG") {
		t.Fatalf("signed by a trusted key: %+v %v", a, err)
	}
	if _, err := Admit(p, comp, man, "Component.toml", nil); !errors.Is(err, ErrSignature) {
		t.Errorf("unsigned: %v", err)
	}
	tampered := Sign(priv, comp, man)
	if _, err := Admit(p, append(comp, 0), man, "Component.toml", &tampered); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered: %v", err)
	}
	wrong := Sign(strangerPriv, comp, man)
	if _, err := Admit(p, comp, man, "Component.toml", &wrong); !errors.Is(err, ErrSignature) {
		t.Errorf("untrusted key: %v", err)
	}
}

func TestPolicyErrors(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key":   "[policy]\nrequire-signature = true\n",
		"contradiction": "[policy]\nrequire-signatures = true\ndev-mode = true\n",
		"bad level":     "[trust.admin]\nenv = [\"*\"]\n",
		"bad key":       "[[publisher]]\nname = \"x\"\nkey = \"rsa:abc\"\n",
		"relative deny": "[deny]\npaths = [\"etc\"]\n",
		"bad ceiling":   "[ceilings]\nmemory = \"lots\"\n",
	} {
		if _, err := ParsePolicy("policy.toml", []byte(text)); !errors.Is(err, ErrManifest) ||
			!strings.Contains(err.Error(), "policy.toml") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAuditRateLimitsDenials(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf).WithLimit(5, time.Hour)
	for i := 0; i < 100_000; i++ {
		a.Denied("evil/x/1", "send", "victim/x/1", "not granted")
	}
	a.Denied("other/x/1", "send", "victim/x/1", "not granted")
	lines := strings.Count(buf.String(), "\n")
	if lines != 6 {
		t.Fatalf("%d lines for 100,001 denials, want 5 + 1", lines)
	}
	if a.Denials.Load() != 100_001 || a.Suppressed.Load() != 99_995 {
		t.Fatalf("counters %d %d", a.Denials.Load(), a.Suppressed.Load())
	}
	if !strings.Contains(buf.String(), `"event":"denied"`) || !strings.Contains(buf.String(), `"component":"evil/x/1"`) {
		t.Fatalf("log: %s", buf.String())
	}
	// The held-back count is reported when the window reopens.
	a2 := NewAudit(&buf).WithLimit(1, 20*time.Millisecond)
	buf.Reset()
	a2.Denied("c", "send", "t", "r")
	a2.Denied("c", "send", "t", "r")
	a2.Denied("c", "send", "t", "r")
	time.Sleep(30 * time.Millisecond)
	a2.Denied("c", "send", "t", "r")
	if !strings.Contains(buf.String(), `"suppressed":2`) {
		t.Fatalf("suppressed count not reported: %s", buf.String())
	}
}

func TestMatchID(t *testing.T) {
	for _, c := range []struct {
		p, id string
		want  bool
	}{
		{"a/b/c", "a/b/c", true}, {"a/b/c", "a/b/d", false}, {"a/*/c", "a/x/c", true}, {"*/*/*", "x/y/z", true},
		{"a/b/*", "a/b", false}, {"a/b/*", "a/b/c/d", false}, {"a/*/*", "a/b/c", true}, {"a/b/c", "a/b/cc", false},
		{"a/b/c", "a/b/", false},
	} {
		if got := matchID(c.p, c.id); got != c.want {
			t.Errorf("matchID(%q, %q) = %v", c.p, c.id, got)
		}
	}
}
