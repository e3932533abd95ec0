package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/security"
)

// TestDefaultPolicyGrantsNothing: the default policy parses, admits no
// component until a publisher is listed, and grants a listed publisher's
// components no capability at all; its ceilings and denials are the
// documented ones.
func TestDefaultPolicyGrantsNothing(t *testing.T) {
	dataDir := t.TempDir()
	p, err := security.ParsePolicy("policy.toml", DefaultPolicy(dataDir))
	if err != nil {
		t.Fatalf("the default policy does not parse: %v", err)
	}
	if !p.RequireSignatures || p.DevMode || len(p.Levels) != 0 || len(p.Publishers) != 0 {
		t.Fatalf("default policy: signatures %v, dev %v, levels %v, publishers %v", p.RequireSignatures, p.DevMode,
			p.Levels, p.Publishers)
	}
	if want := (security.Resources{MemoryBytes: 256 << 20, TimeoutPerMsg: 30 * time.Second, Mailbox: 65536,
		MaxMessageBytes: 4 << 20}); p.Ceilings != want {
		t.Fatalf("ceilings %+v, want %+v", p.Ceilings, want)
	}
	for _, d := range []string{dataDir, "/etc", "/root", "/proc", "/sys", "/dev", "/boot"} {
		if !slices.Contains(p.DenyPaths, d) {
			t.Errorf("%s is not always denied: %v", d, p.DenyPaths)
		}
	}
	if !slices.Contains(p.DenyEnv, "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("deny.env %v", p.DenyEnv)
	}

	nothing := &security.Manifest{Name: "plain", Version: "1.0.0", Resources: security.Resources{MemoryBytes: 1 << 20}}
	if _, err := p.Evaluate(nothing, nil); !errors.Is(err, security.ErrSignature) {
		t.Fatalf("an unsigned component: %v", err)
	}
	pub, _, err := security.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Evaluate(nothing, &pub); !errors.Is(err, security.ErrSignature) {
		t.Fatalf("a component signed by an unlisted key: %v", err)
	}

	// Once the operator lists a publisher, its components that ask for
	// nothing run, with nothing; any capability is refused.
	p.Publishers = append(p.Publishers, security.Publisher{Name: "me", Key: pub, Trust: security.Trusted})
	g, err := p.Evaluate(nothing, &pub)
	if err != nil {
		t.Fatalf("a listed publisher's component asking for nothing: %v", err)
	}
	if !reflect.DeepEqual(g.Caps, security.Capabilities{}) || g.AllowLogging() || g.AllowSend("a/b/c") ||
		g.AllowEnv("HOME") || g.AllowBucket("default") {
		t.Fatalf("granted %+v", g.Caps)
	}
	if g.Resources.MemoryBytes != 1<<20 || g.Resources.TimeoutPerMsg != 30*time.Second || g.Resources.Mailbox != 65536 {
		t.Fatalf("resources %+v: the ceilings do not bound what the manifest left unset", g.Resources)
	}
	for name, caps := range map[string]security.Capabilities{
		"logging":    {Logging: true},
		"env":        {Env: []string{"LANG"}},
		"config":     {Config: []string{"region"}},
		"send":       {Send: []string{"a/b/c"}},
		"request":    {Request: []string{"a/b/c"}},
		"publish":    {Publish: []string{"a.b"}},
		"subscribe":  {Subscribe: []string{"a.b"}},
		"storage":    {Storage: security.StorageAccess{Buckets: []string{"default"}, Read: true}},
		"filesystem": {Filesystem: []security.FileGrant{{Host: t.TempDir(), Guest: "/data"}}},
	} {
		m := *nothing
		m.Capabilities = caps
		if _, err := p.Evaluate(&m, &pub); !errors.Is(err, security.ErrDenied) {
			t.Errorf("%s: %v, want denied", name, err)
		}
	}
	// Above a ceiling: refused.
	big := *nothing
	big.Resources.MemoryBytes = 512 << 20
	if _, err := p.Evaluate(&big, &pub); !errors.Is(err, security.ErrDenied) {
		t.Errorf("512MiB of memory: %v", err)
	}
	// The data directory stays denied even to a publisher granted every
	// directory.
	p.Publishers[0].Grants = &security.LevelGrants{Filesystem: []security.PathGrant{{Pattern: "/**", ReadWrite: true}}}
	m := *nothing
	m.Capabilities.Filesystem = []security.FileGrant{{Host: filepath.Join(dataDir), Guest: "/data"}}
	if _, err := p.Evaluate(&m, &pub); err == nil || !strings.Contains(err.Error(), "always denied") {
		t.Fatalf("the data directory: %v", err)
	}
}

// TestDefaultPolicyQuotes: a data directory with quotes and backslashes is
// written as a TOML string that reads back as itself.
func TestDefaultPolicyQuotes(t *testing.T) {
	dir := `/srv/a "b" \c` + "\t"
	p, err := security.ParsePolicy("policy.toml", DefaultPolicy(dir))
	if err != nil {
		t.Fatal(err)
	}
	if p.DenyPaths[0] != dir {
		t.Fatalf("deny.paths[0] = %q, want %q", p.DenyPaths[0], dir)
	}
}

func TestWriteDefaultPolicy(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	path, created, err := WriteDefaultPolicy(dataDir)
	if err != nil || !created || path != filepath.Join(dataDir, "policy.toml") {
		t.Fatalf("first write: %s %v %v", path, created, err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, DefaultPolicy(dataDir)) {
		t.Fatalf("wrote %q, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("policy file mode: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode: %v %v", fi.Mode(), err)
	}
	if _, err := security.LoadPolicy(path); err != nil {
		t.Fatal(err)
	}
	// The operator's edits stay.
	edited := []byte("[policy]\nrequire-signatures = false\n")
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	path2, created, err := WriteDefaultPolicy(dataDir)
	if err != nil || created || path2 != path {
		t.Fatalf("second write: %s %v %v", path2, created, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, edited) {
		t.Fatalf("the edited policy was overwritten: %q", got)
	}
	// No temporary file left behind.
	if ents, _ := os.ReadDir(dataDir); len(ents) != 1 {
		t.Fatalf("data directory holds %v", ents)
	}
	// A policy written by someone else between the check and the link
	// stays too.
	other := filepath.Join(t.TempDir(), "other")
	testHookBeforeLink = func(path string) {
		if err := os.WriteFile(path, edited, 0o600); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookBeforeLink = nil }()
	if _, created, err := WriteDefaultPolicy(other); err != nil || created {
		t.Fatalf("a policy that appeared meanwhile: created %v, %v", created, err)
	}
	if got, _ := os.ReadFile(filepath.Join(other, "policy.toml")); !bytes.Equal(got, edited) {
		t.Fatalf("a policy that appeared meanwhile was replaced: %q", got)
	}
	if _, _, err := WriteDefaultPolicy("data"); err == nil {
		t.Fatal("a relative data directory was accepted")
	}
	if _, _, err := WriteDefaultPolicy("/tmp/\xff"); err == nil {
		t.Fatal("a data directory that is not UTF-8 was accepted")
	}
}
