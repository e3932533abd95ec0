package security

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSchemaExamplesParse keeps SCHEMA.md true: its two examples parse
// (with the example directory replaced by one that exists here).
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
}
