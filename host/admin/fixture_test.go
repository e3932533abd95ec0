package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fixture is a test Backend: it answers from its fields, echoes its
// arguments in what it returns, and records every call, so that tests see
// what crossed the HTTP layer. It is not a host.
type fixture struct {
	mu    sync.Mutex
	calls []string
	errs  map[string]error // method name -> the error it returns

	progress []ActorResult // what Deploy reports as it goes
	logs     []LogLine     // what Logs sends first
	export   string        // what ExportStorage writes before its error

	follow  chan LogLine  // Logs with Follow: new lines
	logsEnd chan struct{} // closed when a Logs call returns
	// block: Status signals entered and waits for its context to end,
	// then closes left.
	block         bool
	entered, left chan struct{}
}

var _ Backend = (*fixture)(nil)

func newFixture() *fixture {
	return &fixture{errs: map[string]error{}, follow: make(chan LogLine), logsEnd: make(chan struct{}, 16),
		entered: make(chan struct{}), left: make(chan struct{})}
}

// call records a call and returns the error set for the method.
func (f *fixture) call(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := method
	for _, a := range args {
		s += fmt.Sprintf(" %v", a)
	}
	f.calls = append(f.calls, s)
	return f.errs[method]
}

func (f *fixture) setErr(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

func (f *fixture) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fixture) Status(ctx context.Context) (Status, error) {
	if f.block {
		close(f.entered)
		<-ctx.Done()
		close(f.left)
		return Status{}, ctx.Err()
	}
	return Status{Version: "v-test", Started: t0, PID: 42, Apps: 1, Restored: []string{"shop"}}, f.call("Status")
}

func (f *fixture) Apps(ctx context.Context) ([]App, error) {
	return []App{{Name: "shop", Digest: "sha256:1", Deployed: t0}}, f.call("Apps")
}

func (f *fixture) App(ctx context.Context, name string) (App, error) {
	return App{Name: name, Source: "[app]\n", Actors: []Actor{{ID: "ns/a/0"}}}, f.call("App", name)
}

func (f *fixture) Deploy(ctx context.Context, file string, source []byte, progress func(ActorResult)) (Report, error) {
	err := f.call("Deploy", file, len(source), progress != nil)
	if progress != nil {
		for _, p := range f.progress {
			progress(p)
		}
	}
	return Report{App: file, Digest: fmt.Sprintf("len=%d", len(source)), Changed: true, Actors: f.progress}, err
}

func (f *fixture) DeleteApp(ctx context.Context, name string) (Report, error) {
	return Report{App: name, Changed: true}, f.call("DeleteApp", name)
}

func (f *fixture) Components(ctx context.Context) ([]Component, error) {
	return nil, f.call("Components")
}

func (f *fixture) Component(ctx context.Context, name, version string) (Component, error) {
	return Component{Name: name, Version: version, Installed: t0}, f.call("Component", name, version)
}

func (f *fixture) Install(ctx context.Context, req InstallRequest) (Component, error) {
	return Component{Name: "installed", Size: int64(len(req.Wasm)), Digest: req.Ref},
		f.call("Install", req.Ref, len(req.Wasm), string(req.Manifest), string(req.Signature))
}

func (f *fixture) Uninstall(ctx context.Context, name, version string) error {
	return f.call("Uninstall", name, version)
}

func (f *fixture) Actors(ctx context.Context) ([]Actor, error) {
	return []Actor{{ID: "ns/a/0", State: "running", Handled: 7}}, f.call("Actors")
}

func (f *fixture) Actor(ctx context.Context, id string) (Actor, error) {
	return Actor{ID: id, State: "running", MailboxDepth: 3}, f.call("Actor", id)
}

func (f *fixture) Health(ctx context.Context, id string) (string, error) {
	return "healthy", f.call("Health", id)
}

func (f *fixture) Stop(ctx context.Context, id string) error    { return f.call("Stop", id) }
func (f *fixture) Restart(ctx context.Context, id string) error { return f.call("Restart", id) }

func (f *fixture) Update(ctx context.Context, id, component string) (ActorResult, error) {
	return ActorResult{ID: id, Action: ActionUpdated, To: component}, f.call("Update", id, component)
}

func (f *fixture) Rollback(ctx context.Context, id string) (ActorResult, error) {
	return ActorResult{ID: id, Action: ActionRolledBack}, f.call("Rollback", id)
}

func (f *fixture) DeadLetters(ctx context.Context, limit int) (DeadLetters, error) {
	return DeadLetters{Total: 9, Letters: []DeadLetter{{To: "ns/a/0", Reason: "full", Time: t0}}}, f.call("DeadLetters", limit)
}

func (f *fixture) Logs(ctx context.Context, q LogQuery, fn func(LogLine) error) error {
	defer func() { f.logsEnd <- struct{}{} }()
	err := f.call("Logs", q.Actor, q.Tail, q.Follow)
	for _, l := range f.logs {
		if err := fn(l); err != nil {
			return err
		}
	}
	if err != nil || !q.Follow {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case l := <-f.follow:
			if err := fn(l); err != nil {
				return err
			}
		}
	}
}

func (f *fixture) ExportStorage(ctx context.Context, component string, w io.Writer) error {
	err := f.call("ExportStorage", component)
	if f.export != "" {
		if _, werr := io.WriteString(w, f.export); werr != nil {
			return werr
		}
	}
	return err
}

// ---- a host on a unix socket --------------------------------------------------------

// shortDir is a new directory with a path short enough for unix sockets
// (t.TempDir's can be too long), removed at the end of the test.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "adm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// host is a Handler of a Backend served on a unix socket.
type host struct {
	path   string
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returns
	err    error         // what Serve returned
}

// serveUnix serves h on a new unix socket, with the peer uid uid, until
// the test ends.
func serveUnix(t *testing.T, h http.Handler, so ServeOptions, uid uint32) *host {
	t.Helper()
	path := filepath.Join(shortDir(t), "run", "admin.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &host{path: path, cancel: cancel, done: make(chan struct{})}
	go func() {
		hs.err = serve(ctx, ln, h, so, uid)
		close(hs.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-hs.done:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return hs
}

// startHost serves f with o on a unix socket and returns a client of it.
func startHost(t *testing.T, f Backend, o HandlerOptions) (*Client, *host) {
	t.Helper()
	hs := serveUnix(t, NewHandler(f, o), ServeOptions{}, currentUID())
	c, err := Dial("unix:"+hs.path, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, hs
}

// waitFor waits for ch, failing the test after a while.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// asError is err's *Error, failing the test if there is none.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

func currentUID() uint32 { return uint32(os.Getuid()) }
