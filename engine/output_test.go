package engine_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// digits is what spam(n) writes: the digits 0-9 repeated.
func digits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(byte('0' + i%10))
	}
	return b.String()
}

// Every byte a guest writes during a call is in the writer when the call
// returns, for small writes (thousands of one-byte writes) and for more than
// a pipe holds; a plain bytes.Buffer as the writer is race-free. Nothing
// reaches the writer after Close.
func TestWASIOutputIsCompleteWhenTheCallReturns(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		for _, tc := range []struct{ fixture, fn string }{
			{"wasi.wasm", wasiIface + "spam"}, {"core_wasi.wasm", "spam"},
		} {
			t.Logf("%s", tc.fixture)
			var out, errb bytes.Buffer
			i, err := load(t, tc.fixture).Instantiate(context.Background(),
				engine.InstanceConfig{WASI: engine.WASI{Stdout: &out, Stderr: &errb}})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{4000, 200_000} {
				out.Reset()
				errb.Reset()
				if _, err := i.Call(context.Background(), tc.fn, 1, n); err != nil {
					t.Fatalf("%s: spam(1, %d): %v", tc.fixture, n, err)
				}
				if out.String() != digits(n) {
					t.Fatalf("%s: stdout has %d of %d bytes when the call returns", tc.fixture, out.Len(), n)
				}
				if _, err := i.Call(context.Background(), tc.fn, 2, n); err != nil {
					t.Fatal(err)
				}
				if errb.String() != digits(n) || out.Len() != n {
					t.Fatalf("%s: stderr has %d of %d bytes, stdout %d", tc.fixture, errb.Len(), n, out.Len())
				}
			}
			// Unflushed writes, then Close at once: nothing arrives later.
			out.Reset()
			if _, err := i.Call(context.Background(), tc.fn, 1, 3000); err != nil {
				t.Fatal(err)
			}
			if err := i.Close(); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			time.Sleep(50 * time.Millisecond) // a late writer would show up here
			if got != digits(3000) || out.String() != got {
				t.Fatalf("%s: %d bytes at Close, %d later", tc.fixture, len(got), out.Len())
			}
		}
	})
}

// Output written with wasi:io/streams write and no flush is complete when
// the call returns too.
func TestWASIUnflushedOutputIsCompleteWhenTheCallReturns(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		var out bytes.Buffer
		i := instance(t, "rawout.wasm", engine.InstanceConfig{WASI: engine.WASI{Stdout: &out}})
		for _, n := range []int{1, 4000, 150_000} {
			out.Reset()
			if v, err := i.Call(context.Background(), "spam", n); err != nil || v != uint32(n) {
				t.Fatalf("spam(%d) = %v, %v", n, v, err)
			}
			if out.String() != digits(n) {
				t.Fatalf("stdout has %d of %d bytes when the call returns", out.Len(), n)
			}
		}
	})
}

// lateWriter records whether it was called after the instance was closed.
type lateWriter struct {
	mu     sync.Mutex
	closed bool
	late   int
	n      int
}

func (w *lateWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.late += len(p)
	}
	w.n += len(p)
	return len(p), nil
}

// The crash of the issue: thousands of one-byte writes with
// wasi:io/streams write and no flush (rawout.wasm), Close, many times over.
// Before, Wasmtime's worker thread called the writer after the call
// returned and after the store was freed: output was lost, and the process
// died.
func TestWASIOutputAfterCloseNeverReachesTheWriter(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		comp := load(t, "rawout.wasm")
		for round := 0; round < 30; round++ {
			w := &lateWriter{}
			i, err := comp.Instantiate(context.Background(), engine.InstanceConfig{WASI: engine.WASI{Stdout: w}})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := i.Call(context.Background(), "spam", 5000); err != nil || n != uint32(5000) {
				t.Fatalf("spam: %v, %v", n, err)
			}
			i.Close()
			w.mu.Lock()
			w.closed = true
			n := w.n
			w.mu.Unlock()
			if n != 5000 {
				t.Fatalf("round %d: %d of 5000 bytes by Close", round, n)
			}
		}
		time.Sleep(100 * time.Millisecond)
	})
}

type panicWriter struct{ calls int }

func (w *panicWriter) Write(p []byte) (int, error) {
	w.calls++
	panic("writer exploded")
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

// A writer that panics or fails is an error of the call, not an abort; the
// guest's call itself completed and the instance stays usable.
func TestWASIOutputWriterFailureIsAnError(t *testing.T) {
	inChild(t, nil, func(t *testing.T) {
		pw := &panicWriter{}
		var errb bytes.Buffer
		i := instance(t, "wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{Stdout: pw, Stderr: &errb}})
		_, err := i.Call(context.Background(), wasiIface+"spam", 1, 100_000)
		var oe *engine.OutputError
		if !errors.As(err, &oe) || oe.Stream != "stdout" || !errors.Is(err, engine.ErrWriterPanic) {
			t.Fatalf("err = %v, want an OutputError for stdout wrapping ErrWriterPanic", err)
		}
		if pw.calls != 1 {
			t.Fatalf("the panicking writer was called %d times, want once", pw.calls)
		}
		// Reported once; later output is discarded; stderr still works.
		if _, err := i.Call(context.Background(), wasiIface+"hello"); err != nil {
			t.Fatalf("next call: %v", err)
		}
		if errb.String() != "oops\n" {
			t.Fatalf("stderr = %q", errb.String())
		}
		i2 := instance(t, "core_wasi.wasm", engine.InstanceConfig{WASI: engine.WASI{Stderr: failWriter{}}})
		if _, err := i2.Call(context.Background(), "spam", 2, 10); !errors.As(err, &oe) || oe.Stream != "stderr" {
			t.Fatalf("failing writer: err = %v", err)
		}
	})
}

// slowWriter takes its time over every write and notes when each began.
type slowWriter struct {
	mu     sync.Mutex
	starts []time.Time
}

func (w *slowWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.starts = append(w.starts, time.Now())
	w.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	return len(p), nil
}

// A writer slower than the guest does not defeat the call's timeout: once
// the call is out of time, no new write begins (what the guest wrote is
// discarded and the call is told so). Before, the call ended only when the
// writer had been given everything left in the pipe, 64 KiB more.
func TestSlowWriterDoesNotDefeatTheTimeout(t *testing.T) {
	w := &slowWriter{}
	const timeout = 100 * time.Millisecond
	i := instance(t, "rawout.wasm", engine.InstanceConfig{Timeout: timeout, WASI: engine.WASI{Stdout: w}})
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := i.Call(context.Background(), "spam", uint32(2_000_000)); done <- err }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the call never ended: the slow writer held the guest")
	}
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapTimeout || !errors.Is(err, engine.ErrOutputDiscarded) {
		t.Fatalf("err = %v, want a timeout trap and the output discarded", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	late := 0
	for _, s := range w.starts {
		if s.After(start.Add(timeout + 50*time.Millisecond)) {
			late++
		}
	}
	if late > 0 {
		t.Fatalf("%d of %d writes began after the call's deadline", late, len(w.starts))
	}
}
