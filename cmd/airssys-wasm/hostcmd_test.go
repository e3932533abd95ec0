package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// fakeHost is an admin.Backend with canned answers that records what it
// was asked.
type fakeHost struct {
	mu    sync.Mutex
	calls []string
	err   error // every method's error when set

	status      admin.Status
	apps        []admin.App
	actors      []admin.Actor
	components  []admin.Component
	report      admin.Report
	result      admin.ActorResult
	health      string
	deadLetters admin.DeadLetters
	logs        []admin.LogLine
	follow      chan admin.LogLine // lines after logs, with Follow
	export      string

	deployed  []byte // the source Deploy was given
	installed admin.InstallRequest
	query     admin.LogQuery
	limit     int
}

func (f *fakeHost) call(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

// setErr sets the error of every method.
func (f *fakeHost) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// called is what the host was asked, in order.
func (f *fakeHost) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeHost) Status(context.Context) (admin.Status, error) { return f.status, f.call("Status") }
func (f *fakeHost) Apps(context.Context) ([]admin.App, error)    { return f.apps, f.call("Apps") }
func (f *fakeHost) App(_ context.Context, name string) (admin.App, error) {
	for _, a := range f.apps {
		if a.Name == name {
			return a, f.call("App %s", name)
		}
	}
	return admin.App{}, errors.Join(f.call("App %s", name), &admin.Error{Code: admin.CodeNotFound,
		Message: "no app " + name})
}

func (f *fakeHost) Deploy(_ context.Context, file string, source []byte, progress func(admin.ActorResult)) (admin.Report, error) {
	if err := f.call("Deploy %s", file); err != nil {
		return admin.Report{}, err
	}
	f.deployed = source
	for _, a := range f.report.Actors {
		if progress != nil {
			progress(a)
		}
	}
	return f.report, nil
}

func (f *fakeHost) DeleteApp(_ context.Context, name string) (admin.Report, error) {
	return f.report, f.call("DeleteApp %s", name)
}

func (f *fakeHost) Components(context.Context) ([]admin.Component, error) {
	return f.components, f.call("Components")
}

func (f *fakeHost) Component(_ context.Context, name, version string) (admin.Component, error) {
	return f.components[0], f.call("Component %s %s", name, version)
}

func (f *fakeHost) Install(_ context.Context, req admin.InstallRequest) (admin.Component, error) {
	f.installed = req
	return f.components[0], f.call("Install")
}

func (f *fakeHost) Uninstall(_ context.Context, name, version string) error {
	return f.call("Uninstall %s %s", name, version)
}
func (f *fakeHost) Actors(context.Context) ([]admin.Actor, error) { return f.actors, f.call("Actors") }
func (f *fakeHost) Actor(_ context.Context, id string) (admin.Actor, error) {
	return f.actors[0], f.call("Actor %s", id)
}

func (f *fakeHost) Health(_ context.Context, id string) (string, error) {
	return f.health, f.call("Health %s", id)
}
func (f *fakeHost) Stop(_ context.Context, id string) error    { return f.call("Stop %s", id) }
func (f *fakeHost) Restart(_ context.Context, id string) error { return f.call("Restart %s", id) }
func (f *fakeHost) Update(_ context.Context, id, component string) (admin.ActorResult, error) {
	return f.result, f.call("Update %s %s", id, component)
}

func (f *fakeHost) Rollback(_ context.Context, id string) (admin.ActorResult, error) {
	return f.result, f.call("Rollback %s", id)
}

func (f *fakeHost) DeadLetters(_ context.Context, limit int) (admin.DeadLetters, error) {
	f.limit = limit
	return f.deadLetters, f.call("DeadLetters %d", limit)
}

func (f *fakeHost) Logs(ctx context.Context, q admin.LogQuery, fn func(admin.LogLine) error) error {
	f.query = q
	if err := f.call("Logs"); err != nil {
		return err
	}
	for _, l := range f.logs {
		if err := fn(l); err != nil {
			return err
		}
	}
	if !q.Follow {
		return nil
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

func (f *fakeHost) ExportStorage(_ context.Context, component string, w io.Writer) error {
	if err := f.call("ExportStorage %s", component); err != nil {
		return err
	}
	_, err := io.WriteString(w, f.export)
	return err
}

// dialed is what a hostCLI run dialed.
type dialed struct {
	n      int
	target string
	opts   admin.ClientOptions
}

// hostRunResult is one run of the command line against a fake host.
type hostRunResult struct {
	code           int
	stdout, stderr string
	dial           dialed
}

// runHost runs the command line args against host, with env as the
// environment cliEnv.getenv reads.
func runHost(t *testing.T, ctx context.Context, host admin.Backend, env map[string]string, args ...string) hostRunResult {
	t.Helper()
	var out, errb bytes.Buffer
	var d dialed
	e := &cliEnv{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] },
		dial: func(target string, o admin.ClientOptions) (admin.Backend, error) {
			d.n++
			d.target, d.opts = target, o
			return host, nil
		}}
	code := e.execute(ctx, args)
	return hostRunResult{code, out.String(), errb.String(), d}
}

// hostOK runs args and wants exit status 0.
func hostOK(t *testing.T, host admin.Backend, args ...string) hostRunResult {
	t.Helper()
	r := runHost(t, context.Background(), host, nil, args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// want fails unless s has each of parts.
func want(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

// t0 is the time of the sample data.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// sampleActors are three actors, not in order.
func sampleActors() []admin.Actor {
	return []admin.Actor{
		{ID: "shop/orders/2", App: "shop", Component: "orders@1.1.0", State: "running", Handled: 7, Errors: 1,
			Restarts: 2, MailboxDepth: 3},
		{ID: "shop/cart/1", App: "shop", Component: "cart@0.3.0", State: "restarting", Handled: 12345},
		{ID: "shop/orders/1", App: "shop", Component: "orders@1.1.0", State: "running", Handled: 9},
	}
}

// sampleHost is a host with an app of three actors.
func sampleHost() *fakeHost {
	return &fakeHost{
		actors: sampleActors(),
		apps: []admin.App{{Name: "shop", Digest: "sha256:0123456789abcdef0123", Deployed: t0, Actors: sampleActors(),
			Routes: []admin.Route{{Method: "GET", Path: "/orders/{id}", Actor: "shop/orders/*"}},
			Source: "[app]\nname = \"shop\"\n"}},
		components: []admin.Component{{Name: "orders", Version: "1.1.0", Digest: "sha256:aaaabbbbccccdddd",
			Size: 4096, Installed: t0, InUse: []string{"shop/orders/1", "shop/orders/2"}}},
	}
}

func TestHostTargetFromFlagEnvAndDefault(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	h := sampleHost()

	r := hostOK(t, h, "ps")
	if want := "unix:" + filepath.Join(data, "airssys-wasm", "admin.sock"); r.dial.target != want {
		t.Errorf("default target %q, want %q", r.dial.target, want)
	}
	r = runHost(t, context.Background(), h, map[string]string{hostEnvVar: "https://h.example:8443"}, "ps")
	if r.code != 0 || r.dial.target != "https://h.example:8443" {
		t.Errorf("$%s: exit %d, target %q", hostEnvVar, r.code, r.dial.target)
	}
	r = runHost(t, context.Background(), h, map[string]string{hostEnvVar: "https://h.example:8443"},
		"ps", "--host", "unix:/run/x.sock")
	if r.code != 0 || r.dial.target != "unix:/run/x.sock" {
		t.Errorf("--host over $%s: exit %d, target %q", hostEnvVar, r.code, r.dial.target)
	}

	// The token file is read and trimmed; the CA file is passed on.
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("  s3cret\n\n"), 0o600)
	r = hostOK(t, h, "ps", "--host", "https://127.0.0.1:9", "--token-file", tok, "--ca", "ca.pem")
	if string(r.dial.opts.Token) != "s3cret" || r.dial.opts.CAFile != "ca.pem" {
		t.Errorf("options %+v", r.dial.opts)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	for _, f := range []string{empty, filepath.Join(dir, "missing"), dir} {
		r = runHost(t, context.Background(), h, nil, "ps", "--token-file", f)
		if r.code != 2 || r.dial.n != 0 || !strings.Contains(r.stderr, "--token-file") {
			t.Errorf("--token-file %s: exit %d, dialed %d, %q", f, r.code, r.dial.n, r.stderr)
		}
	}
}

func TestHostTargetsAreChecked(t *testing.T) {
	for _, ok := range []string{"unix:/run/admin.sock", "unix:rel.sock", "https://h.example:8443",
		"https://h.example", "https://[::1]:8443", "http://127.0.0.1:7000", "http://localhost:7000",
		"http://[::1]:7000", "https://10.0.0.1:443/"} {
		if err := checkTarget(ok); err != nil {
			t.Errorf("checkTarget(%q): %v", ok, err)
		}
	}
	for bad, says := range map[string]string{
		"":                         "want unix:PATH",
		"unix:":                    "no socket path",
		"/run/admin.sock":          "unix:/run/admin.sock",
		"h.example:8443":           "want unix:PATH",
		"tcp://h.example:8443":     "want unix:PATH",
		"http://h.example:8443":    "loopback",
		"http://10.0.0.1:80":       "loopback",
		"https://u:p@h.example:1":  "token",
		"https://h.example:1/api":  "no path",
		"https://h.example:1?x=1":  "no path",
		"https://h.example:99999":  "port",
		"https://h.example:0":      "port",
		"https://:8443":            "no host",
		"https://h.example:1#frag": "no path",
		"unix:/a\x00b":             "NUL",
	} {
		err := checkTarget(bad)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("checkTarget(%q) = %v, want an error saying %q", bad, err, says)
		}
	}
	// On the command line: exit 2, nothing dialed, the origin named.
	r := runHost(t, context.Background(), sampleHost(), nil, "ps", "--host", "tcp://x:1")
	if r.code != 2 || r.dial.n != 0 || !strings.Contains(r.stderr, `airssys-wasm: --host "tcp://x:1"`) {
		t.Errorf("bad --host: exit %d, dialed %d, %q", r.code, r.dial.n, r.stderr)
	}
	r = runHost(t, context.Background(), sampleHost(), map[string]string{hostEnvVar: "nowhere"}, "status")
	if r.code != 2 || r.dial.n != 0 || !strings.Contains(r.stderr, "$"+hostEnvVar+` "nowhere"`) {
		t.Errorf("bad $%s: exit %d, dialed %d, %q", hostEnvVar, r.code, r.dial.n, r.stderr)
	}
}

func TestPsTableAndJSON(t *testing.T) {
	h := sampleHost()
	r := hostOK(t, h, "ps")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("ps: %d lines:\n%s", len(lines), r.stdout)
	}
	for i, f := range [][]string{
		{"ID", "APP", "STATE", "VERSION", "HANDLED", "ERRORS", "RESTARTS", "MAILBOX"},
		{"shop/cart/1", "shop", "restarting", "cart@0.3.0", "12345", "0", "0", "0"},
		{"shop/orders/1", "shop", "running", "orders@1.1.0", "9", "0", "0", "0"},
		{"shop/orders/2", "shop", "running", "orders@1.1.0", "7", "1", "2", "3"},
	} {
		if got := strings.Fields(lines[i]); !reflect.DeepEqual(got, f) {
			t.Errorf("ps line %d: %q, want %q", i, got, f)
		}
	}
	// Columns line up.
	if strings.Index(lines[0], "STATE") != strings.Index(lines[1], "restarting") {
		t.Errorf("ps columns do not line up:\n%s", r.stdout)
	}

	r = hostOK(t, h, "ps", "-o", "json")
	var got []admin.Actor
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 3 || got[0].ID != "shop/cart/1" ||
		got[2].MailboxDepth != 3 {
		t.Errorf("ps -o json: %v %+v\n%s", err, got, r.stdout)
	}
	r = hostOK(t, &fakeHost{}, "ps", "--output", "json")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("ps -o json of no actors: %q", r.stdout)
	}
	r = hostOK(t, &fakeHost{}, "ps")
	if r.stdout != "no actors\n" {
		t.Errorf("ps of no actors: %q", r.stdout)
	}
	// In a lattice, a HOST column says where each runs.
	hl := sampleHost()
	for i, a := range hl.actors {
		hl.actors[i].Host = map[string]string{"shop/cart/1": "n1", "shop/orders/1": "n2"}[a.ID]
	}
	r = hostOK(t, hl, "ps")
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for i, f := range [][]string{
		{"ID", "HOST", "APP", "STATE", "VERSION", "HANDLED", "ERRORS", "RESTARTS", "MAILBOX"},
		{"shop/cart/1", "n1", "shop", "restarting", "cart@0.3.0", "12345", "0", "0", "0"},
		{"shop/orders/1", "n2", "shop", "running", "orders@1.1.0", "9", "0", "0", "0"},
		{"shop/orders/2", "-", "shop", "running", "orders@1.1.0", "7", "1", "2", "3"},
	} {
		if got := strings.Fields(lines[i]); !reflect.DeepEqual(got, f) {
			t.Errorf("ps line %d in a lattice: %q, want %q", i, got, f)
		}
	}
	r = runHost(t, context.Background(), h, nil, "ps", "-o", "yaml")
	if r.code != 2 || r.dial.n != 0 || !strings.Contains(r.stderr, `-o "yaml"`) {
		t.Errorf("-o yaml: exit %d, dialed %d, %q", r.code, r.dial.n, r.stderr)
	}
}

func TestDeployShowsProgressAndTheReport(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "shop.toml")
	src := "[app]\nname = \"shop\"\n"
	os.WriteFile(app, []byte(src), 0o644)
	h := sampleHost()
	h.report = admin.Report{App: "shop", Digest: "sha256:0123456789abcdef0123", Changed: true, Actors: []admin.ActorResult{
		{ID: "shop/orders/1", Action: admin.ActionStarted, To: "orders@1.0.0"},
		{ID: "shop/orders/2", Action: admin.ActionUpdated, From: "orders@0.9.0", To: "orders@1.0.0"},
		{ID: "shop/cart/1", Action: admin.ActionUnchanged, From: "cart@0.3.0", To: "cart@0.3.0"},
		{ID: "shop/old/1", Action: admin.ActionStopped, From: "old@0.1.0"},
	}}
	r := hostOK(t, h, "deploy", app)
	if got := h.called(); !reflect.DeepEqual(got, []string{"Deploy " + app}) || string(h.deployed) != src {
		t.Errorf("deploy asked %v with %q", got, h.deployed)
	}
	wantProgress := "  started shop/orders/1 (orders@1.0.0)\n" +
		"  updated shop/orders/2 (orders@0.9.0 -> orders@1.0.0)\n" +
		"  stopped shop/old/1 (old@0.1.0)\n"
	if r.stderr != wantProgress {
		t.Errorf("progress:\n%s\nwant:\n%s", r.stderr, wantProgress)
	}
	want(t, "deploy report", r.stdout, "ACTOR", "ACTION", "shop/orders/2", "orders@0.9.0",
		"shop: deployed, 1 started, 1 updated, 1 stopped, 1 unchanged (sha256:0123456789ab)\n")
	if strings.Contains(r.stdout, "shop/cart/1") {
		t.Errorf("the report lists an unchanged actor:\n%s", r.stdout)
	}

	// JSON: the report as it is.
	r = hostOK(t, h, "deploy", "-o", "json", app)
	var rep admin.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !reflect.DeepEqual(rep, h.report) {
		t.Errorf("deploy -o json: %v\n%s", err, r.stdout)
	}

	// The same file again: nothing changed, said so.
	h.report = admin.Report{App: "shop", Digest: "sha256:0123456789abcdef0123", Actors: []admin.ActorResult{
		{ID: "shop/orders/1", Action: admin.ActionUnchanged, To: "orders@1.0.0"}}}
	r = hostOK(t, h, "deploy", app)
	if r.stdout != "shop: nothing changed (the host already runs sha256:0123456789ab)\n" || r.stderr != "" {
		t.Errorf("deploy unchanged: %q %q", r.stdout, r.stderr)
	}

	// A failed actor: the report, then exit 1.
	h.report = admin.Report{App: "shop", Changed: true, Actors: []admin.ActorResult{
		{ID: "shop/orders/1", Action: admin.ActionFailed, To: "orders@2.0.0", Error: "trap: unreachable\x1b[2J"}}}
	r = runHost(t, context.Background(), h, nil, "deploy", app)
	if r.code != 1 || !strings.Contains(r.stdout, "trap: unreachable") || strings.Contains(r.stdout, "\x1b") ||
		!strings.Contains(r.stderr, "1 actor(s) failed") || !strings.Contains(r.stderr, "  failed shop/orders/1") {
		t.Errorf("deploy with a failure: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// A file that is not there, or not a file: bad input, nothing sent.
	h = sampleHost()
	for _, f := range []string{filepath.Join(dir, "missing.toml"), dir} {
		r = runHost(t, context.Background(), h, nil, "deploy", f)
		if r.code != 2 || len(h.called()) != 0 {
			t.Errorf("deploy %s: exit %d, asked %v, %q", f, r.code, h.called(), r.stderr)
		}
	}
	r = runHost(t, context.Background(), h, nil, "deploy")
	if r.code != 2 || !strings.Contains(r.stderr, "deploy: want one APP.toml") {
		t.Errorf("deploy without a file: exit %d, %q", r.code, r.stderr)
	}
}

func TestUndeploy(t *testing.T) {
	h := sampleHost()
	h.report = admin.Report{App: "shop", Changed: true, Actors: []admin.ActorResult{
		{ID: "shop/orders/1", Action: admin.ActionStopped, From: "orders@1.0.0"}}}
	r := hostOK(t, h, "undeploy", "shop")
	if !reflect.DeepEqual(h.called(), []string{"DeleteApp shop"}) {
		t.Errorf("undeploy asked %v", h.called())
	}
	want(t, "undeploy", r.stdout, "shop/orders/1", "shop: undeployed, 1 stopped\n")
}

func TestErrorsExitWithTheirCode(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{&admin.Error{Code: admin.CodeBadRequest, Message: "bad body"}, 2},
		{&admin.Error{Code: admin.CodeInvalid, Message: "shop.toml has 2 errors",
			Details: []string{"shop.toml:3: actor.id: bad", "shop.toml:7: route.path: bad\x1b]0;pwned\x07"}}, 2},
		{&admin.Error{Code: admin.CodeNotFound, Message: "no actor x"}, 1},
		{&admin.Error{Code: admin.CodeConflict, Message: "in use"}, 1},
		{&admin.Error{Code: admin.CodeDenied, Message: "policy says no"}, 1},
		{&admin.Error{Code: admin.CodeUnavailable, Message: "draining"}, 1},
		{&admin.Error{Code: admin.CodeTooLarge, Message: "too large"}, 1},
		{&admin.Error{Code: admin.CodeUnauthorized, Message: "no token"}, 1},
		{&admin.Error{Code: admin.CodeForbidden, Message: "another uid"}, 1},
		{&admin.Error{Code: admin.CodeInternal, Message: "oops"}, 1},
		{fmt.Errorf("%w: wrapped", admin.ErrInvalid), 2},
		{fmt.Errorf("%w: wrapped", admin.ErrBadRequest), 2},
		{fmt.Errorf("%w: wrapped", admin.ErrNotFound), 1},
		{errors.New("anything else"), 1},
	}
	for _, c := range cases {
		h := sampleHost()
		h.err = c.err
		r := runHost(t, context.Background(), h, nil, "stop", "shop/orders/1")
		if r.code != c.code || r.stdout != "" || !strings.HasPrefix(r.stderr, "airssys-wasm: stop shop/orders/1: ") ||
			!strings.Contains(r.stderr, c.err.Error()) {
			t.Errorf("%v: exit %d (want %d), out %q, err %q", c.err, r.code, c.code, r.stdout, r.stderr)
		}
		var ae *admin.Error
		if errors.As(c.err, &ae) {
			for _, d := range ae.Details {
				if !strings.Contains(r.stderr, "\n  "+printable(d)+"\n") {
					t.Errorf("%v: detail %q missing:\n%s", c.err, d, r.stderr)
				}
			}
			if ae.Code == admin.CodeUnauthorized && !strings.Contains(r.stderr, "--token-file") {
				t.Errorf("unauthorized without a hint: %s", r.stderr)
			}
		}
		if strings.ContainsAny(r.stderr, "\x1b\x07") {
			t.Errorf("%v: control characters printed: %q", c.err, r.stderr)
		}
	}
	// No host there: a hint.
	h := sampleHost()
	h.err = fmt.Errorf("%w: cannot reach the host at unix:/x: dial unix /x: %w", admin.ErrUnavailable,
		syscall.ECONNREFUSED)
	r := runHost(t, context.Background(), h, nil, "status")
	if r.code != 1 || !strings.Contains(r.stderr, "airssys-wasm serve") {
		t.Errorf("no host: exit %d, %q", r.code, r.stderr)
	}
}

func TestLogsStripControlCharacters(t *testing.T) {
	h := sampleHost()
	h.logs = []admin.LogLine{
		{Time: t0, Level: "info", Actor: "shop/orders/1", Message: "\x1b[31mred\x1b[0m and \x1b]0;title\x07plain",
			Attrs: map[string]string{"b": "two words", "a": "1", "evil\x1b[2Jkey": "\u009b2Jv\x7f\x00"}},
		{Time: t0, Level: "warn", Message: "bell\a tab\tnl\nC1\u0085 bad\xff end"},
		{Time: t0, Dropped: 12},
	}
	r := hostOK(t, h, "logs")
	wantOut := "2025-03-04T05:06:07.890Z INFO shop/orders/1 red and plain a=1 b=\"two words\" evilkey=v\n" +
		"2025-03-04T05:06:07.890Z WARN - bell tab nl C1 bad\ufffd end\n" +
		"2025-03-04T05:06:07.890Z WARN - 12 line(s) dropped: this reader fell behind\n"
	if r.stdout != wantOut {
		t.Errorf("logs:\n%q\nwant:\n%q", r.stdout, wantOut)
	}
	if h.query != (admin.LogQuery{Tail: admin.DefaultTail}) {
		t.Errorf("logs asked %+v", h.query)
	}

	// JSON lines keep the data as it is, with every control character
	// escaped.
	r = hostOK(t, h, "logs", "-o", "json", "--tail", "5", "shop/orders/1")
	if h.query != (admin.LogQuery{Actor: "shop/orders/1", Tail: 5}) {
		t.Errorf("logs asked %+v", h.query)
	}
	for _, c := range r.stdout {
		if c != '\n' && (c < 0x20 || c >= 0x7f && c <= 0x9f) {
			t.Fatalf("logs -o json prints %U:\n%q", c, r.stdout)
		}
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("logs -o json: %d lines:\n%s", len(lines), r.stdout)
	}
	var first admin.LogLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Message != h.logs[0].Message ||
		!reflect.DeepEqual(first.Attrs, h.logs[0].Attrs) || !strings.Contains(lines[0], `\u009b`) {
		t.Errorf("logs -o json: %v %+v\n%s", err, first, lines[0])
	}

	r = runHost(t, context.Background(), h, nil, "logs", "--tail", "-1")
	if r.code != 2 {
		t.Errorf("--tail -1: exit %d", r.code)
	}
}

func TestLogsFollowUntilInterrupted(t *testing.T) {
	h := sampleHost()
	h.logs = []admin.LogLine{{Time: t0, Level: "info", Message: "before"}}
	h.follow = make(chan admin.LogLine)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan hostRunResult)
	go func() { done <- runHost(t, ctx, h, nil, "logs", "-f", "shop/orders/1") }()
	h.follow <- admin.LogLine{Time: t0, Level: "info", Message: "after"}
	h.follow <- admin.LogLine{Time: t0, Level: "info", Message: "later"} // the first was handled
	cancel()                                                             // Ctrl-C
	r := <-done
	if r.code != 0 || !h.query.Follow || h.query.Actor != "shop/orders/1" {
		t.Fatalf("logs -f: exit %d, %+v, %q", r.code, h.query, r.stderr)
	}
	want(t, "logs -f", r.stdout, " before\n", " after\n", " later\n")
}

func TestActorCommands(t *testing.T) {
	h := sampleHost()
	h.result = admin.ActorResult{ID: "shop/orders/1", Action: admin.ActionUpdated, From: "orders@1.0.0",
		To: "orders@1.1.0"}
	r := hostOK(t, h, "update", "shop/orders/1", "orders@1.1.0")
	if r.stdout != "updated shop/orders/1 (orders@1.0.0 -> orders@1.1.0)\n" {
		t.Errorf("update: %q", r.stdout)
	}
	h.result = admin.ActorResult{ID: "shop/orders/1", Action: admin.ActionRolledBack, From: "orders@1.1.0",
		To: "orders@1.0.0"}
	r = hostOK(t, h, "rollback", "shop/orders/1")
	if r.stdout != "rolled-back shop/orders/1 (orders@1.1.0 -> orders@1.0.0)\n" {
		t.Errorf("rollback: %q", r.stdout)
	}
	r = hostOK(t, h, "stop", "shop/orders/1")
	if r.stdout != "stopped shop/orders/1\n" {
		t.Errorf("stop: %q", r.stdout)
	}
	r = hostOK(t, h, "restart", "-o", "json", "shop/orders/1")
	if strings.Join(strings.Fields(r.stdout), "") != `{"id":"shop/orders/1","action":"restarted"}` {
		t.Errorf("restart -o json: %q", r.stdout)
	}
	h.health = "ok\x1b[5m"
	r = hostOK(t, h, "health", "shop/orders/1")
	if r.stdout != "shop/orders/1: ok\n" {
		t.Errorf("health: %q", r.stdout)
	}
	wantCalls := []string{"Update shop/orders/1 orders@1.1.0", "Rollback shop/orders/1", "Stop shop/orders/1",
		"Restart shop/orders/1", "Health shop/orders/1"}
	if got := h.called(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("asked %v, want %v", got, wantCalls)
	}

	// Bad usage: nothing asked.
	h = sampleHost()
	for _, args := range [][]string{
		{"update", "shop/orders/1", "orders"},
		{"update", "shop/orders/1"},
		{"stop"},
		{"restart", "a", "b"},
		{"health", "--bogus", "a"},
	} {
		r := runHost(t, context.Background(), h, nil, args...)
		if r.code != 2 || len(h.called()) != 0 || !strings.Contains(r.stderr, "--help shows its usage") {
			t.Errorf("%v: exit %d, asked %v, %q", args, r.code, h.called(), r.stderr)
		}
	}

	// A failed update: its result, then exit 1.
	h.result = admin.ActorResult{ID: "shop/orders/1", Action: admin.ActionFailed, To: "orders@9.0.0", Error: "no"}
	r = runHost(t, context.Background(), h, nil, "update", "shop/orders/1", "orders@9.0.0")
	if r.code != 1 || r.stdout != "failed shop/orders/1 (orders@9.0.0): no\n" {
		t.Errorf("failed update: exit %d, %q", r.code, r.stdout)
	}
}

func TestAppsListAndShow(t *testing.T) {
	h := sampleHost()
	r := hostOK(t, h, "apps")
	want(t, "apps", r.stdout, "NAME", "shop", "2/3 running", "sha256:0123456789ab", "2025-03-04T05:06:07Z")
	r = hostOK(t, h, "apps", "shop")
	want(t, "apps shop", r.stdout, "app shop\n", "digest", "ID", "shop/cart/1", "METHOD", "/orders/{id}",
		"shop/orders/*")
	if strings.Index(r.stdout, "shop/cart/1") > strings.Index(r.stdout, "shop/orders/2") {
		t.Errorf("apps shop: actors not sorted:\n%s", r.stdout)
	}
	r = hostOK(t, h, "apps", "shop", "--source")
	if r.stdout != h.apps[0].Source {
		t.Errorf("apps shop --source: %q", r.stdout)
	}
	r = hostOK(t, h, "apps", "shop", "-o", "json")
	var app admin.App
	if err := json.Unmarshal([]byte(r.stdout), &app); err != nil || app.Name != "shop" || len(app.Actors) != 3 {
		t.Errorf("apps shop -o json: %v\n%s", err, r.stdout)
	}
	r = runHost(t, context.Background(), h, nil, "apps", "nope")
	if r.code != 1 || !strings.Contains(r.stderr, "airssys-wasm: apps nope: ") || !strings.Contains(r.stderr, "no app nope") {
		t.Errorf("apps nope: exit %d, %q", r.code, r.stderr)
	}
	r = hostOK(t, &fakeHost{}, "apps")
	if r.stdout != "no apps deployed\n" {
		t.Errorf("apps of none: %q", r.stdout)
	}
}

// TestHosts: `hosts` lists the lattice's hosts (this one marked), `status`
// names the lattice, -o json is the lattice as the API gives it, and a
// host without a lattice says so (exit 1).
func TestHosts(t *testing.T) {
	h := sampleHost()
	h.status = admin.Status{PID: 1, Started: t0, Lattice: &admin.Lattice{Name: "prod", Host: "web-1", Mode: "acknowledged",
		Hosts: []admin.LatticeHost{{Name: "web-1", Self: true, Started: t0, LastSeen: time.Now(), Actors: 12},
			{Name: "web-2", Started: t0, LastSeen: time.Now().Add(-200 * time.Millisecond), Actors: 7}}}}
	r := hostOK(t, h, "hosts")
	want(t, "hosts", r.stdout, "lattice prod (acknowledged)", "web-1 (this host)", "12", "web-2", "7", " ago")
	r = hostOK(t, h, "status")
	want(t, "status", r.stdout, "prod as web-1 (acknowledged), 2 host(s)")
	r = hostOK(t, h, "hosts", "-o", "json")
	var l admin.Lattice
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Hosts) != 2 || l.Hosts[1].Actors != 7 {
		t.Errorf("hosts -o json: %v\n%s", err, r.stdout)
	}
	h.status.Lattice = nil
	if r := runHost(t, context.Background(), h, nil, "hosts"); r.code != 1 || !strings.Contains(r.stderr, "without a lattice") {
		t.Errorf("hosts without a lattice: exit %d, %q", r.code, r.stderr)
	}
}

func TestStatusAndDeadLetters(t *testing.T) {
	h := sampleHost()
	h.status = admin.Status{Version: "0.9.0", PID: 4242, DataDir: "/srv/data", Policy: "/srv/data/policy.toml",
		Gateway: "127.0.0.1:8080", Apps: 1, Actors: 3, Component: 2, Started: t0, Restored: []string{"shop"},
		Problems: []string{"shop/cart/1 is restarting"}}
	r := hostOK(t, h, "status")
	want(t, "status", r.stdout, "0.9.0", "4242", "/srv/data/policy.toml", "127.0.0.1:8080",
		"off (the unix socket only)", "restored", "shop", "problems   1\n    shop/cart/1 is restarting\n")
	h.status.DevMode = true
	r = hostOK(t, h, "status")
	want(t, "status in dev mode", r.stdout, "DEV MODE")
	r = hostOK(t, h, "status", "-o", "json")
	var st admin.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.PID != 4242 || !st.DevMode {
		t.Errorf("status -o json: %v\n%s", err, r.stdout)
	}

	h.deadLetters = admin.DeadLetters{Total: 40, Letters: []admin.DeadLetter{
		{Time: t0, To: "shop/orders/9", From: "shop/cart/1", Reason: "unknown target", PayloadLen: 12}}}
	r = hostOK(t, h, "dead-letters")
	if h.limit != defaultDeadLetters {
		t.Errorf("dead-letters asked for %d", h.limit)
	}
	want(t, "dead-letters", r.stdout, "TIME", "REASON", "shop/orders/9", "unknown target", "12", "1 shown, 40 in all")
	hostOK(t, h, "dead-letters", "--limit", "3")
	if h.limit != 3 {
		t.Errorf("dead-letters --limit 3 asked for %d", h.limit)
	}
	for _, bad := range []string{"0", "x"} {
		if r := runHost(t, context.Background(), h, nil, "dead-letters", "--limit", bad); r.code != 2 {
			t.Errorf("--limit %s: exit %d", bad, r.code)
		}
	}
}

func TestComponentCommands(t *testing.T) {
	h := sampleHost()
	r := hostOK(t, h, "components")
	want(t, "components", r.stdout, "NAME", "VERSION", "orders", "1.1.0", "unsigned", "sha256:aaaabbbbcccc", "4096")

	// install FILE: the file, its manifest beside it and its signature are
	// sent as bytes.
	dir := t.TempDir()
	wasm, err := os.ReadFile(fixture("minimal.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "orders.wasm")
	os.WriteFile(file, wasm, 0o644)
	os.WriteFile(filepath.Join(dir, "Component.toml"), []byte("[component]\nname = \"orders\"\n"), 0o644)
	os.WriteFile(file+".sig", []byte("signature text"), 0o644)
	r = hostOK(t, h, "component", "install", file)
	if !bytes.Equal(h.installed.Wasm, wasm) || string(h.installed.Manifest) != "[component]\nname = \"orders\"\n" ||
		string(h.installed.Signature) != "signature text" || h.installed.Ref != "" {
		t.Errorf("install FILE sent %+v", h.installed)
	}
	want(t, "install progress", r.stderr, "sending "+file)
	want(t, "install", r.stdout, "installed orders@1.1.0\n", "shop/orders/1, shop/orders/2")

	// --manifest and --sig elsewhere.
	other := filepath.Join(t.TempDir(), "M.toml")
	os.WriteFile(other, []byte("other manifest"), 0o644)
	os.Remove(file + ".sig")
	hostOK(t, h, "component", "install", "--manifest", other, file)
	if string(h.installed.Manifest) != "other manifest" || h.installed.Signature != nil {
		t.Errorf("install --manifest sent %+v", h.installed)
	}

	// install REF: the host pulls it.
	r = hostOK(t, h, "component", "install", "--plain-http", "localhost:5000/orders:1.1.0")
	if h.installed.Ref != "localhost:5000/orders:1.1.0" || !h.installed.PlainHTTP || h.installed.Wasm != nil {
		t.Errorf("install REF sent %+v", h.installed)
	}
	if r.stderr != "pulling localhost:5000/orders:1.1.0...\n" {
		t.Errorf("install REF progress %q", r.stderr)
	}

	r = hostOK(t, h, "component", "info", "orders@1.1.0")
	want(t, "component info", r.stdout, "orders@1.1.0\n", "sha256:aaaabbbbccccdddd", "unsigned (dev space)")
	r = hostOK(t, h, "component", "uninstall", "orders@1.1.0")
	if r.stdout != "uninstalled orders@1.1.0\n" {
		t.Errorf("uninstall: %q", r.stdout)
	}
	h.export = "{\"bucket\":\"b\",\"key\":\"k\",\"value\":\"dg==\"}\n"
	r = hostOK(t, h, "component", "export", "orders")
	if r.stdout != h.export {
		t.Errorf("export: %q", r.stdout)
	}
	wantCalls := []string{"Components", "Install", "Install", "Install", "Component orders 1.1.0",
		"Uninstall orders 1.1.0", "ExportStorage orders"}
	if got := h.called(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("asked %v, want %v", got, wantCalls)
	}

	// Bad usage: exit 2, nothing asked.
	h = sampleHost()
	noManifest := filepath.Join(t.TempDir(), "x.wasm")
	os.WriteFile(noManifest, wasm, 0o644)
	for _, args := range [][]string{
		{"component"},
		{"component", "frobnicate"},
		{"component", "install"},
		{"component", "install", "no-such-file.wasm"},
		{"component", "install", noManifest},
		{"component", "install", "--plain-http", file},
		{"component", "install", "--manifest", other, "localhost:5000/orders:1"},
		{"component", "info", "orders"},
		{"component", "uninstall", "@1.0.0"},
		{"component", "export", "orders@1.1.0"},
	} {
		r := runHost(t, context.Background(), h, nil, args...)
		if r.code != 2 || len(h.called()) != 0 || r.stdout != "" {
			t.Errorf("%v: exit %d, asked %v, out %q, err %q", args, r.code, h.called(), r.stdout, r.stderr)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errs := cli(t, "completion", shell)
		if code != 0 || len(out) < 1000 || !strings.Contains(out, "airssys-wasm") || errs != "" {
			t.Errorf("completion %s: exit %d, %d bytes, %q", shell, code, len(out), errs)
		}
		if !strings.Contains(out, "__complete") {
			t.Errorf("completion %s does not ask the command for completions", shell)
		}
	}
	if code, _, errs := cli(t, "completion", "tcsh"); code != 2 || !strings.Contains(errs, "tcsh") {
		t.Errorf("completion tcsh: exit %d, %q", code, errs)
	}

	// Verbs, and the ids a running host has.
	h := sampleHost()
	r := hostOK(t, h, "__complete", "")
	want(t, "verbs", r.stdout, "deploy\t", "ps\t", "logs\t", "call\t", "inspect\t", "completion\t", "component\t")
	r = hostOK(t, h, "__complete", "stop", "shop/or")
	if r.stdout != "shop/orders/1\nshop/orders/2\n:4\n" {
		t.Errorf("complete stop shop/or: %q", r.stdout)
	}
	r = hostOK(t, h, "__complete", "update", "shop/orders/1", "")
	if !strings.HasPrefix(r.stdout, "orders@1.1.0\n") {
		t.Errorf("complete update's version: %q", r.stdout)
	}
	r = hostOK(t, h, "__complete", "ps", "-o", "")
	if !strings.HasPrefix(r.stdout, "text\njson\n") {
		t.Errorf("complete -o: %q", r.stdout)
	}
}

func TestOlderVerbsStillDispatch(t *testing.T) {
	code, out, errs := cli(t, "inspect")
	if code != 2 || out != "" || !strings.Contains(errs, "inspect: want one FILE") {
		t.Errorf("inspect: exit %d, %q, %q", code, out, errs)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, _ = cli(t, args...)
		if code != 0 || out != usage {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	// Flags are the verb's own: cobra passes them on untouched.
	code, out, _ = cli(t, "install", "--help")
	if code != 0 || out != catalogUsage {
		t.Errorf("install --help: exit %d, %q", code, out)
	}
	code, _, errs = cli(t, "kv", "frob")
	var kvErr bytes.Buffer
	if want := cmdKV(context.Background(), []string{"frob"}, nil, io.Discard, &kvErr); code != want ||
		errs != kvErr.String() {
		t.Errorf("kv frob: exit %d, %q; want %d, %q", code, errs, want, kvErr.String())
	}
	// A command's own exit status comes through: a core module exits with it.
	code, _, _ = cli(t, "run", "--cache", "off", fixture("core_cmd.wasm"), "exit", "7")
	if code != 7 {
		t.Errorf("run ... exit 7: exit %d", code)
	}
	code, out, _ = cli(t, "call", fixture("minimal.wasm"), "add(40, 2)")
	if code != 0 || out != "42\n" {
		t.Errorf("call: exit %d, %q", code, out)
	}
	code, out, _ = cli(t, "serve", "--help")
	if code != 0 || !strings.Contains(out, "serve") {
		t.Errorf("serve --help: exit %d, %q", code, out)
	}
	code, _, errs = cli(t, "pss")
	if code != 2 || !strings.Contains(errs, `unknown command "pss"`) || !strings.Contains(errs, "did you mean: ") ||
		!strings.Contains(errs, " ps,") {
		t.Errorf("pss: exit %d, %q", code, errs)
	}
}

// TestMainExitStatus runs the command as a process: the exit status of
// each kind of failure reaches the shell through main.
func TestMainExitStatus(t *testing.T) {
	if os.Getenv("AIRSSYS_TEST_MAIN") == "1" {
		os.Args = append([]string{"airssys-wasm"}, strings.Fields(os.Getenv("AIRSSYS_TEST_ARGS"))...)
		main()
		return
	}
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, c := range []struct {
		args string
		code int
	}{
		{"help", 0},
		{"completion bash", 0},
		{"inspect", 2},
		{"ps --host nowhere", 2},
		{"ps --host unix:" + sock, 1}, // no host there
		{"frobnicate", 2},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainExitStatus$")
		cmd.Env = append(os.Environ(), "AIRSSYS_TEST_MAIN=1", "AIRSSYS_TEST_ARGS="+c.args)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code {
			t.Errorf("airssys-wasm %s: exit %d, want %d\n%s", c.args, code, c.code, out)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                               "plain text",
		"ünïcødé 😀":                                "ünïcødé 😀",
		"\x1b[1;31mred\x1b[0m":                     "red",
		"\x1b[?25lhidden cursor":                   "hidden cursor",
		"\x1b]0;window title\x07after":             "after",
		"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\": "link",
		"\x1bPdevice control\x1b\\after":           "after",
		"\x1b(Bcharset":                            "charset",
		"\x1b7save\x1b8":                           "save",
		"\x1bcreset":                               "reset",
		"esc at end\x1b":                           "esc at end",
		"\u009b31mC1 csi":                          "C1 csi",
		"\u009d0;title\u009cafter":                 "after",
		"nul\x00bel\x07bs\x08del\x7f":              "nulbelbsdel",
		"c1\u0080\u0085\u009f":                     "c1",
		"tab\tnl\ncr\r":                            "tab nl cr ",
		"bad \xff\xfe utf8":                        "bad \ufffd\ufffd utf8",
		"\x1b]unterminated title":                  "",
		"\x1b]title\x1b[31mred":                    "red",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteJSONEscapesEveryControl(t *testing.T) {
	var b bytes.Buffer
	v := map[string]string{"m": "\x1b[2J\u009b\x7f\u0085ok 😀"}
	if err := writeJSON(&b, v, ""); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != `{"m":"\u001b[2J\u009b\u007f\u0085ok 😀"}`+"\n" {
		t.Errorf("writeJSON: %q", got)
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("round trip: %v %q", err, back)
	}
}

// TestAgainstTheAdminAPI runs the commands through admin.Dial's client and
// the admin API's handler, on a unix socket and on loopback HTTP: what the
// commands print and their exit statuses survive the HTTP layer.
func TestAgainstTheAdminAPI(t *testing.T) {
	h := sampleHost()
	h.report = admin.Report{App: "shop", Digest: "sha256:0123456789abcdef0123", Changed: true, Actors: []admin.ActorResult{
		{ID: "shop/orders/1", Action: admin.ActionStarted, To: "orders@1.0.0"},
		{ID: "shop/orders/2", Action: admin.ActionStarted, To: "orders@1.0.0"}}}
	h.logs = []admin.LogLine{{Time: t0, Level: "info", Actor: "shop/orders/1", Message: "\x1b[31mred\x1b[0m"}}

	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	unixSrv := &http.Server{Handler: admin.NewHandler(h, admin.HandlerOptions{})}
	go unixSrv.Serve(ln)
	defer unixSrv.Close()
	tcp := httptest.NewServer(admin.NewHandler(h, admin.HandlerOptions{}))
	defer tcp.Close()

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		e := &cliEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, dial: dialAdmin}
		code := e.execute(context.Background(), args)
		return code, out.String(), errb.String()
	}
	for _, host := range []string{"unix:" + sock, tcp.URL} {
		code, out, errs := run("ps", "--host", host)
		if code != 0 || !strings.Contains(out, "shop/orders/2") {
			t.Fatalf("ps --host %s: exit %d, %q, %q", host, code, out, errs)
		}
	}
	app := filepath.Join(t.TempDir(), "shop.toml")
	os.WriteFile(app, []byte("[app]\n"), 0o644)
	code, out, errs := run("deploy", "--host", tcp.URL, app)
	if code != 0 || errs != "  started shop/orders/1 (orders@1.0.0)\n  started shop/orders/2 (orders@1.0.0)\n" ||
		!strings.Contains(out, "shop: deployed, 2 started") {
		t.Errorf("deploy: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run("logs", "--host", tcp.URL)
	if code != 0 || out != "2025-03-04T05:06:07.890Z INFO shop/orders/1 red\n" {
		t.Errorf("logs: exit %d, %q", code, out)
	}
	code, _, errs = run("apps", "--host", tcp.URL, "nope")
	if code != 1 || !strings.Contains(errs, "no app nope") {
		t.Errorf("apps nope: exit %d, %q", code, errs)
	}
	h.setErr(&admin.Error{Code: admin.CodeInvalid, Message: "shop.toml: 2 errors",
		Details: []string{"shop.toml:3: actor.id: bad", "shop.toml:9: route.path: bad"}})
	code, _, errs = run("deploy", "--host", "unix:"+sock, app)
	if code != 2 || !strings.Contains(errs, "\n  shop.toml:3: actor.id: bad\n  shop.toml:9: route.path: bad\n") {
		t.Errorf("deploy of an invalid app: exit %d, %q", code, errs)
	}
	h.setErr(fmt.Errorf("%w: no actor x", admin.ErrNotFound))
	if code, _, errs = run("stop", "--host", tcp.URL, "x"); code != 1 || !strings.Contains(errs, "no actor x") {
		t.Errorf("stop x: exit %d, %q", code, errs)
	}
}
