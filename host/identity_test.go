package host

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLatticeKey: the key file is made at the first start (0600), read
// back as the same key afterwards, and refused when others may read it or
// when it holds something else than a user seed.
func TestLatticeKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "lattice.key")
	k1, err := loadLatticeKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v", fi, err)
	}
	k2, err := loadLatticeKey(path)
	if err != nil || k2.pub != k1.pub || !k1.signer.Equal(k2.signer) {
		t.Fatalf("reloaded %v, %v", k2, err)
	}
	msg := []byte("entry")
	names, keys, err := peerKeys(map[string]string{"n2": k1.pub})
	if err != nil || len(names) != 1 || names[0] != "n2" || !ed25519.Verify(keys[0], msg, ed25519.Sign(k1.signer, msg)) {
		t.Fatalf("the public key does not verify the signer's signature: %v %v", names, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadLatticeKey(path); !errors.Is(err, ErrKeyFile) {
		t.Errorf("a world-readable key: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	for _, content := range []string{"", "hello", string(k1.pub)} {
		if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadLatticeKey(bad); !errors.Is(err, ErrKeyFile) {
			t.Errorf("%q: %v", content, err)
		}
	}
}
