package fileread

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// endless yields zeros and counts what it gave; it fails after 1 MiB so
// that a reader without a limit ends the test instead of the memory.
type endless struct{ n int64 }

var errReadTooMuch = errors.New("read 1 MiB from the endless reader")

func (r *endless) Read(p []byte) (int, error) {
	if r.n > 1<<20 {
		return 0, errReadTooMuch
	}
	clear(p)
	r.n += int64(len(p))
	return len(p), nil
}

// TestReadLimitedStopsAtTheLimit: whatever the size hint says, no more than
// limit+1 bytes are read.
func TestReadLimitedStopsAtTheLimit(t *testing.T) {
	for _, hint := range []int64{0, 10, 1 << 20} {
		r := &endless{}
		done := make(chan error, 1)
		go func() {
			_, err := ReadLimited(r, hint, 1000)
			done <- err
		}()
		select {
		case err := <-done:
			if _, ok := err.(*Refused); !ok {
				t.Fatalf("hint %d: err = %v, want refused as too large", hint, err)
			}
			if r.n > 1001 {
				t.Fatalf("hint %d: read %d bytes for a limit of 1000", hint, r.n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("hint %d: an endless reader was read for 10s", hint)
		}
	}
}

// Read refuses what is not a regular file without blocking (a FIFO), and a
// file over the limit by its size; it reads one at the limit.
func TestReadRefusesWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Read(fifo, 10); done <- err }()
	select {
	case err := <-done:
		var r *Refused
		if !errors.As(err, &r) || r.Kind != "a named pipe (FIFO)" {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	for _, tc := range []struct {
		size int
		ok   bool
	}{{10, true}, {11, false}} {
		p := filepath.Join(dir, "f")
		os.WriteFile(p, make([]byte, tc.size), 0o600)
		data, err := Read(p, 10)
		var r *Refused
		if tc.ok && (err != nil || len(data) != tc.size) || !tc.ok && (!errors.As(err, &r) || r.Size != 11) {
			t.Fatalf("%d bytes, limit 10: %d bytes, %v", tc.size, len(data), err)
		}
	}
}
