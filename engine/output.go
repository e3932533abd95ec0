package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Guest stdout and stderr reach the caller's io.Writer through a pipe per
// stream. Wasmtime is given the pipe's write end as a file
// (/proc/self/fd/N), which it writes synchronously on the guest's thread:
// when a call returns, every byte the guest wrote is in the pipe. A pump
// goroutine per stream copies what arrives to the writer while the guest
// runs (so a guest that writes more than the pipe holds never blocks for
// good), and the calling goroutine drains the rest before the call returns.
// The pipe is the only buffer: at most one pipe's worth (64 KiB) plus one
// read chunk is held per stream, whatever the guest writes; a slow writer
// slows the guest down, as it would slow a process.
//
// Both streams of an instance share one mutex, so the writers (possibly
// the same io.Writer twice) are never called concurrently, and every call
// to a writer happens before the guest call that produced the bytes
// returns. After Close nothing reaches the writers. A writer that fails or
// panics is not called again: the guest's later output is discarded and the
// failure is returned once, as an *OutputError, by the call (or Close)
// during which it happened.

// OutputError reports that the io.Writer given for a guest's stdout or
// stderr failed (or panicked). The guest's own call completed; its output
// from then on was discarded.
type OutputError struct {
	Stream string // "stdout" or "stderr"
	Err    error
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("engine: guest %s writer failed, output discarded from then on: %v", e.Stream, e.Err)
}

func (e *OutputError) Unwrap() error { return e.Err }

// ErrWriterPanic is wrapped by an OutputError whose writer panicked.
var ErrWriterPanic = errors.New("writer panicked")

// outputs are the captured streams of one instance.
type outputs struct {
	mu      sync.Mutex // serialises pipe reads and writer calls of both streams
	streams []*outPipe
	// The call in progress is over its deadline (UnixNano, 0: none) or was
	// interrupted: what the guest writes from then on is discarded instead
	// of waiting for the writers, so a slow writer cannot keep a guest
	// blocked in write(2), where no timeout or interrupt reaches it.
	deadline atomic.Int64
	stopped  atomic.Bool
}

// ErrOutputDiscarded is wrapped by the OutputError of a call whose output
// was discarded because the call ran out of time or was interrupted while
// its writers were slower than the guest.
var ErrOutputDiscarded = errors.New("output discarded: the call ran out of time or was interrupted")

type outPipe struct {
	o       *outputs
	name    string
	dst     io.Writer
	r       *os.File // read end, non-blocking, in Go's poller
	raw     syscall.RawConn
	w       *os.File // write end, open until Wasmtime has opened its own
	path    string   // what Wasmtime opens: /proc/self/fd/<w>
	closed  bool     // under o.mu: nothing reaches dst any more
	err     error    // under o.mu: the writer failed; not yet reported
	failed  bool     // under o.mu: the writer failed (reported or not)
	pumping bool     // the pump goroutine was started
	dropped int64    // under o.mu: bytes discarded (see expired)
	done    chan struct{}
}

// readChunk is how much is read from a pipe at a time (a pipe holds 64 KiB).
const readChunk = 16 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// open makes the pipe of one stream. The caller passes p.path to WASI, then
// calls started.
func (o *outputs) open(name string, dst io.Writer) (*outPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("engine: guest %s: %w", name, err)
	}
	p := &outPipe{o: o, name: name, dst: dst, r: r, w: w, done: make(chan struct{})}
	if p.raw, err = r.SyscallConn(); err == nil {
		p.path, err = fdPath(w)
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("engine: guest %s: %w", name, err)
	}
	o.streams = append(o.streams, p)
	return p, nil
}

// started closes our write end (Wasmtime holds its own now) and starts the
// pump. Without it, every call also works: the caller drains at the end.
func (o *outputs) started() {
	if o == nil {
		return
	}
	for _, p := range o.streams {
		if p.w != nil {
			p.w.Close()
			p.w = nil
		}
		p.pumping = true
		go p.pump()
	}
}

// pump copies what the guest writes while it runs. It ends when the pipe
// reaches end of file (the store, Wasmtime's writer, is gone) or is closed.
func (p *outPipe) pump() {
	defer close(p.done)
	for {
		eof := false
		err := p.raw.Read(func(fd uintptr) bool {
			p.o.mu.Lock()
			defer p.o.mu.Unlock()
			if p.closed {
				return true
			}
			var again bool
			eof, again = p.drainLocked(int(fd))
			return !again
		})
		if err != nil || eof {
			return
		}
		p.o.mu.Lock()
		closed := p.closed
		p.o.mu.Unlock()
		if closed {
			return
		}
	}
}

// drainLocked reads the pipe until it is empty (again: wait for more) or
// at end of file, handing the bytes to the writer. o.mu is held.
func (p *outPipe) drainLocked(fd int) (eof, again bool) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	for {
		n, err := syscall.Read(fd, buf)
		switch {
		case n > 0:
			p.emitLocked(buf[:n])
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			return false, true
		default: // 0: end of file (no writer left), or a read error
			return true, false
		}
	}
}

// emitLocked gives b to the writer unless it failed before, or the call is
// out of time (then b is discarded, and the call told so).
func (p *outPipe) emitLocked(b []byte) {
	if p.failed || p.closed {
		return
	}
	if p.o.expired() {
		p.dropped += int64(len(b))
		if p.err == nil {
			p.err = &OutputError{Stream: p.name, Err: ErrOutputDiscarded}
		}
		return
	}
	if err := safeWrite(p.dst, b); err != nil {
		p.failed, p.err = true, &OutputError{Stream: p.name, Err: err}
	}
}

func safeWrite(w io.Writer, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrWriterPanic, r)
		}
	}()
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// begin is called before every guest call, with the call's deadline (zero:
// none). What the caller did to its writers before the call (say, a
// bytes.Buffer's Reset) happens before the pump's writes during the call.
func (o *outputs) begin(deadline time.Time) {
	if o != nil {
		o.mu.Lock()
		o.stopped.Store(false)
		if deadline.IsZero() {
			o.deadline.Store(0)
		} else {
			o.deadline.Store(deadline.UnixNano())
		}
		o.mu.Unlock()
	}
}

// stop makes the rest of the current call's output be discarded (the call
// is being interrupted).
func (o *outputs) stop() {
	if o != nil {
		o.stopped.Store(true)
	}
}

// expired reports whether the current call's output should be discarded.
func (o *outputs) expired() bool {
	if o.stopped.Load() {
		return true
	}
	d := o.deadline.Load()
	return d != 0 && time.Now().UnixNano() > d
}

// flush hands everything the guest has written so far to the writers, on
// the calling goroutine, and returns a writer failure not yet reported.
// Called after every guest call: Wasmtime writes synchronously, so what the
// guest wrote before returning is all in the pipes.
func (o *outputs) flush() error {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for _, p := range o.streams {
		if !p.closed {
			p.raw.Control(func(fd uintptr) { p.drainLocked(int(fd)) })
		}
		if p.err != nil {
			errs = append(errs, p.err)
			p.err = nil
		}
	}
	return errors.Join(errs...)
}

// close flushes what is left (the store, and with it Wasmtime's writer, is
// already gone) and stops the pumps; the writers are never called again.
func (o *outputs) close() error {
	if o == nil {
		return nil
	}
	err := o.flush()
	o.mu.Lock()
	for _, p := range o.streams {
		p.closed = true
		if p.w != nil {
			p.w.Close()
			p.w = nil
		}
	}
	o.mu.Unlock()
	for _, p := range o.streams {
		p.r.Close() // wakes a pump waiting for data
		if p.pumping {
			<-p.done
		}
	}
	return err
}
