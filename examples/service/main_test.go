package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDemo runs the service demo end to end (what `make demo` shows), so
// that it cannot rot: it fails if a request fails during the live update,
// if the counter loses an increment or if the host does not stop cleanly.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a host")
	}
	bin := filepath.Join(t.TempDir(), "airssys-wasm")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/airsstack/airssys-wasm-go/cmd/airssys-wasm").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := run(bin, filepath.Join("..", "..", "testdata"), false); err != nil {
		t.Fatal(err)
	}
}
