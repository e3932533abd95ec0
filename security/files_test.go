package security

// Signatures, manifests and policies are read as small regular files
// (issue #7, item 20).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/internal/childtest"
)

// withTimeout fails the test if f has not returned after d.
func withTimeout(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v (blocked on a FIFO?)", what, d)
	}
}

func TestInputFilesRefuseAFIFO(t *testing.T) {
	dir := tree(t)
	comp := filepath.Join(dir, "c.wasm")
	for _, p := range []string{comp + ".sig", filepath.Join(dir, "Component.toml"), filepath.Join(dir, "policy.toml")} {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var errs [3]error
	withTimeout(t, 10*time.Second, "reading FIFOs", func() {
		_, errs[0] = ReadSignature(comp)
		_, _, errs[1] = LoadManifest(filepath.Join(dir, "Component.toml"))
		_, errs[2] = LoadPolicy(filepath.Join(dir, "policy.toml"))
	})
	for i, err := range errs {
		if !errors.Is(err, ErrNotRegularFile) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("file %d: %v, want ErrNotRegularFile naming a named pipe", i, err)
		}
	}
}

func TestInputFilesHaveASizeLimit(t *testing.T) {
	dir := tree(t)
	comp := filepath.Join(dir, "c.wasm")
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("#"), size), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("c.wasm.sig", MaxSignatureFile+1)
	if _, err := ReadSignature(comp); !errors.Is(err, ErrFileTooLarge) || !strings.Contains(err.Error(), "4096") {
		t.Errorf("signature of 4 KiB + 1: %v", err)
	}
	if _, _, err := LoadManifest(write("big.toml", MaxManifestFile+1)); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("manifest of 1 MiB + 1: %v", err)
	}
	if _, err := LoadPolicy(write("bigpolicy.toml", MaxPolicyFile+1)); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("policy of 1 MiB + 1: %v", err)
	}
	// At the limit, the file is read (and parsed: comments only).
	if _, err := LoadPolicy(write("ok.toml", MaxPolicyFile)); err != nil {
		t.Errorf("policy of exactly 1 MiB: %v", err)
	}
	// A directory is not a regular file either.
	if _, err := LoadPolicy(dir); !errors.Is(err, ErrNotRegularFile) {
		t.Errorf("directory as policy: %v", err)
	}
	// No signature file at all is still "unsigned", not an error.
	if s, err := ReadSignature(filepath.Join(dir, "unsigned.wasm")); s != nil || err != nil {
		t.Errorf("missing signature: %v %v", s, err)
	}
}

// A .sig that is a symlink to /dev/zero is refused without reading it. The
// read runs in a child process with a capped address space and a timeout,
// so that a regression (reading until memory runs out) fails this test
// instead of taking the machine's memory.
func TestInputFilesRefuseASymlinkToDevZero(t *testing.T) {
	inCappedChild(t, func() error {
		dir, err := os.MkdirTemp("", "devzero")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		comp := filepath.Join(dir, "c.wasm")
		for _, p := range []string{comp + ".sig", filepath.Join(dir, "Component.toml"), filepath.Join(dir, "policy.toml")} {
			if err := os.Symlink("/dev/zero", p); err != nil {
				return err
			}
		}
		_, err1 := ReadSignature(comp)
		_, _, err2 := LoadManifest(filepath.Join(dir, "Component.toml"))
		_, err3 := LoadPolicy(filepath.Join(dir, "policy.toml"))
		for _, err := range []error{err1, err2, err3} {
			if !errors.Is(err, ErrNotRegularFile) || !strings.Contains(err.Error(), "device") {
				return fmt.Errorf("want ErrNotRegularFile naming a device, got %v", err)
			}
		}
		return nil
	})
}

// inCappedChild runs f in a child process (childtest) whose address space
// may grow by 1 GiB at most; the child must succeed within 60 s.
func inCappedChild(t *testing.T, f func() error) {
	t.Helper()
	childtest.Run(t, childtest.Options{AddressSpace: 1 << 30, Timeout: 60 * time.Second}, func(t *testing.T) {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	})
}
