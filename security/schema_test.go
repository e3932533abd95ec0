package security

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSchemaExamplesParse keeps SCHEMA.md true: its two examples parse
// (with the example directory replaced by one that exists here), and the
// manifest's storage is granted as documented.
func TestSchemaExamplesParse(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "SCHEMA.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 2 {
		t.Fatalf("%d toml blocks in SCHEMA.md, want 2", len(blocks))
	}
	dir := t.TempDir()
	manifest := strings.ReplaceAll(blocks[0][1], "/srv/billing/data", dir)
	m, err := ParseManifest("SCHEMA.md manifest", []byte(manifest))
	if err != nil {
		t.Fatalf("the manifest example does not parse: %v", err)
	}
	if m.Name != "billing" || len(m.Capabilities.Filesystem) != 1 || m.Capabilities.Filesystem[0].Globs[0] != "*.csv" {
		t.Fatalf("manifest example parsed as %+v", m)
	}
	if s := m.Capabilities.Storage; strings.Join(s.Buckets, ",") != "default,cache" || !s.Read || !s.Write || s.Delete {
		t.Fatalf("manifest example's storage parsed as %+v", s)
	}
	// The policy example's publisher key is a placeholder: use a real one.
	pub, _, _ := GenerateKey()
	policy := strings.ReplaceAll(blocks[1][1], "ed25519:Base64PublicKey=", pub.String())
	p, err := ParsePolicy("SCHEMA.md policy", []byte(policy))
	if err != nil {
		t.Fatalf("the policy example does not parse: %v", err)
	}
	if len(p.Publishers) != 1 || p.Ceilings.MemoryBytes != 256<<20 || len(p.Levels) != 3 {
		t.Fatalf("policy example parsed as %+v", p)
	}
	if s := p.Levels[Trusted].Storage; strings.Join(s.Buckets, ",") != "*" || !s.Read || !s.Write || !s.Delete ||
		s.MaxBytes != 256<<20 || s.MaxKeys != 1_000_000 || s.MaxValueBytes != 1<<20 {
		t.Fatalf("policy example's trusted storage parsed as %+v", s)
	}
	if s := p.Levels[Dev].Storage; strings.Join(s.Buckets, ",") != "default,cache" || !s.Read || !s.Write || s.Delete ||
		s.MaxBytes != 0 {
		t.Fatalf("policy example's dev storage parsed as %+v", s)
	}
	// The manifest example (but its directory) is granted to the example
	// publisher, storage with the trusted quota; its storage alone is granted
	// at trust dev in dev mode, with the documented defaults.
	m.Capabilities.Filesystem = nil
	g, err := p.Evaluate(m, &pub)
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Storage(); g.Trust != Trusted || g.Publisher != pub.String() || !g.AllowBucket("cache") ||
		s.MaxBytes != 256<<20 || s.MaxKeys != 1_000_000 || s.MaxValueBytes != 1<<20 {
		t.Fatalf("the manifest example was granted %+v at trust %s", s, g.Trust)
	}
	p.RequireSignatures, p.DevMode = false, true
	g, err = p.Evaluate(&Manifest{Name: m.Name, Resources: m.Resources,
		Capabilities: Capabilities{Storage: m.Capabilities.Storage}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Storage(); g.Trust != Dev || g.Publisher != "" || !g.AllowBucket("cache") ||
		s.MaxBytes != DefaultStorageMaxBytes || s.MaxKeys != DefaultStorageMaxKeys ||
		s.MaxValueBytes != DefaultStorageMaxValueBytes {
		t.Fatalf("the manifest example's storage was granted %+v at trust %s", s, g.Trust)
	}
}
