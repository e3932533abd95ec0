package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// TestHostsKey: `hosts key` prints the public key of the key file host.toml
// names, making the file (mode 0600) at the first use and reading the
// same key after.
func TestHostsKey(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys", "lattice.key")
	cfg := filepath.Join(dir, "host.toml")
	toml := fmt.Sprintf("[host]\ndata-dir = %q\n[lattice]\nkey-file = %q\n", filepath.Join(dir, "data"), keyFile)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	keyOf := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"hosts", "key", "--config", cfg}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	first := keyOf()
	if !nkeys.IsValidPublicUserKey(first) {
		t.Fatalf("printed %q, not a user public key", first)
	}
	seed, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o", fi.Mode().Perm())
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := kp.PublicKey(); pub != first {
		t.Fatalf("printed %s, the key file's is %s", first, pub)
	}
	if again := keyOf(); again != first {
		t.Fatalf("a second run printed %s, the first %s", again, first)
	}
}
