package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDemo runs the lattice demo end to end (what `make demo` shows), so
// that it cannot rot: three hosts, one killed under load; it fails if a
// host never joins, if an instance never answers again, if a count is lost
// or if a host does not stop cleanly.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three hosts")
	}
	bin := filepath.Join(t.TempDir(), "airssys-wasm")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/airsstack/airssys-wasm-go/cmd/airssys-wasm").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := run(bin, filepath.Join("..", "..", "testdata"), false, 6); err != nil {
		t.Fatal(err)
	}
}
