package engine_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// withCustomSection appends a custom section named "pad" whose whole
// encoding brings wasm to exactly size bytes (size must leave room for it).
func withCustomSection(t *testing.T, wasm []byte, size int) []byte {
	t.Helper()
	name := []byte{3, 'p', 'a', 'd'}
	for lebLen := 1; lebLen <= 5; lebLen++ {
		body := size - len(wasm) - 1 - lebLen
		if body < len(name) {
			break
		}
		hdr := binary.AppendUvarint([]byte{0}, uint64(body))
		if len(hdr) != 1+lebLen {
			continue
		}
		out := append(append(append([]byte(nil), wasm...), hdr...), name...)
		return append(out, make([]byte, body-len(name))...)
	}
	t.Fatalf("cannot pad %d bytes to %d", len(wasm), size)
	return nil
}

func TestCompileSizeLimit(t *testing.T) {
	ctx := context.Background()
	minimal, _ := os.ReadFile(fixture("minimal.wasm"))
	limit := int64(len(minimal) + 1000)
	e, err := engine.New(engine.Config{MaxWasmBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Config().MaxWasmBytes; got != limit {
		t.Fatalf("Config().MaxWasmBytes = %d", got)
	}

	atLimit := withCustomSection(t, minimal, int(limit))
	c, err := e.Compile(ctx, atLimit)
	if err != nil {
		t.Fatalf("component of exactly the limit: %v", err)
	}
	c.Close()
	over := withCustomSection(t, minimal, int(limit)+1)
	_, err = e.Compile(ctx, over)
	if !errors.Is(err, engine.ErrTooLarge) || !errors.Is(err, engine.ErrInvalidWasm) {
		t.Fatalf("one byte over the limit: err = %v, want ErrTooLarge (and ErrInvalidWasm)", err)
	}

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if c, err := e.CompileFile(ctx, write("at.wasm", atLimit)); err != nil {
		t.Fatalf("file of exactly the limit: %v", err)
	} else {
		c.Close()
	}
	if _, err := e.CompileFile(ctx, write("over.wasm", over)); !errors.Is(err, engine.ErrTooLarge) {
		t.Fatalf("file over the limit: err = %v, want ErrTooLarge", err)
	}
}

// TestDefaultSizeLimit: a 256 MiB custom section is refused by default,
// from a file without reading it (the file is sparse: no disk, no memory).
func TestDefaultSizeLimit(t *testing.T) {
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Config().MaxWasmBytes; got != engine.DefaultMaxWasmBytes || engine.DefaultMaxWasmBytes != 128<<20 {
		t.Fatalf("default MaxWasmBytes = %d, want %d (128 MiB)", got, engine.DefaultMaxWasmBytes)
	}
	minimal, _ := os.ReadFile(fixture("minimal.wasm"))
	const size = 256 << 20
	// The section header announces the whole size; Truncate adds the zeros.
	head := binary.AppendUvarint(append(append([]byte(nil), minimal...), 0), uint64(size-len(minimal)-1-4))
	if len(head) != len(minimal)+1+4 {
		t.Fatal("section size does not take 4 bytes")
	}
	head = append(head, 3, 'p', 'a', 'd')
	path := filepath.Join(t.TempDir(), "big.wasm")
	if err := os.WriteFile(path, head, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = e.CompileFile(context.Background(), path)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, engine.ErrTooLarge) {
		t.Fatalf("256 MiB component: err = %v, want ErrTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("refusing the file allocated %d MiB: it was read", grew>>20)
	}
}

func TestReadWasmFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.wasm")
	os.WriteFile(p, make([]byte, 100), 0o600)
	if b, err := engine.ReadWasmFile(p, 100); err != nil || len(b) != 100 {
		t.Fatalf("100 bytes, limit 100: %d bytes, %v", len(b), err)
	}
	if _, err := engine.ReadWasmFile(p, 99); !errors.Is(err, engine.ErrTooLarge) {
		t.Fatalf("100 bytes, limit 99: %v", err)
	}
	if _, err := engine.ReadWasmFile(filepath.Join(dir, "missing"), 100); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	// A regular file whose size stat does not tell (procfs says 0): the
	// read itself must stop at the limit.
	if _, err := os.Stat("/proc/self/maps"); err == nil {
		if _, err := engine.ReadWasmFile("/proc/self/maps", 64); !errors.Is(err, engine.ErrTooLarge) {
			t.Fatalf("/proc/self/maps, limit 64: %v", err)
		}
	}
}

// TestCompileFileRefusesSpecialFiles: a FIFO would block forever and
// /dev/zero never ends; both are refused at once.
func TestCompileFileRefusesSpecialFiles(t *testing.T) {
	e := shared(t)
	fifo := filepath.Join(t.TempDir(), "fifo.wasm")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", t.TempDir()} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		done := make(chan error, 1)
		go func() {
			_, err := e.CompileFile(context.Background(), path)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, engine.ErrNotRegularFile) {
				t.Errorf("%s: err = %v, want ErrNotRegularFile", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: CompileFile did not return within 10s", path)
		}
		done2 := make(chan error, 1)
		go func() {
			_, err := engine.ReadWasmFile(path, 1<<20)
			done2 <- err
		}()
		select {
		case err := <-done2:
			if !errors.Is(err, engine.ErrNotRegularFile) {
				t.Errorf("ReadWasmFile %s: err = %v, want ErrNotRegularFile", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadWasmFile %s: did not return within 10s", path)
		}
	}
}
