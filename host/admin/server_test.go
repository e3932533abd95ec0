package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/config"
)

// raw sends a request through c's transport and returns the status,
// headers and body.
func raw(t *testing.T, c *Client, method, path, ctype string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if len(c.token) > 0 {
		req.Header.Set("Authorization", "Bearer "+string(c.token))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorBodyOf decodes an error response's body.
func errorBodyOf(t *testing.T, b []byte) *Error {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error == nil {
		t.Fatalf("not an error body: %q (%v)", b, err)
	}
	return eb.Error
}

// A Backend's sentinels become codes and statuses, and the client's errors
// match the same sentinels.
func TestErrorCodes(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	ctx := context.Background()
	for _, tc := range []struct {
		sentinel error
		code     string
		status   int
	}{
		{ErrBadRequest, CodeBadRequest, 400},
		{ErrInvalid, CodeInvalid, 422},
		{ErrNotFound, CodeNotFound, 404},
		{ErrConflict, CodeConflict, 409},
		{ErrDenied, CodeDenied, 403},
		{ErrUnavailable, CodeUnavailable, 503},
		{ErrTooLarge, CodeTooLarge, 413},
	} {
		f.setErr("Actor", fmt.Errorf("actor: %w", fmt.Errorf("%w: actor ns/a/0 is not running", tc.sentinel)))
		_, err := c.Actor(ctx, "ns/a/0")
		e := asError(t, err)
		if e.Code != tc.code || e.Status != tc.status {
			t.Errorf("%v: code %q status %d, want %q %d", tc.sentinel, e.Code, e.Status, tc.code, tc.status)
		}
		if !errors.Is(err, tc.sentinel) {
			t.Errorf("%v: the client's error %v does not match it", tc.sentinel, err)
		}
		for _, other := range []error{ErrBadRequest, ErrInvalid, ErrNotFound, ErrConflict, ErrDenied, ErrUnavailable, ErrTooLarge} {
			if other != tc.sentinel && errors.Is(err, other) {
				t.Errorf("%v: the client's error also matches %v", tc.sentinel, other)
			}
		}
		if e.Message != "actor: actor ns/a/0 is not running" {
			t.Errorf("%v: message %q", tc.sentinel, e.Message)
		}
	}
	// A context's end (here the backend's own) is unavailable.
	f.setErr("Actor", fmt.Errorf("waiting: %w", context.DeadlineExceeded))
	_, err := c.Actor(ctx, "ns/a/0")
	if e := asError(t, err); e.Code != CodeUnavailable {
		t.Errorf("a deadline: code %q, want unavailable", e.Code)
	}
	// A Backend's *Error (a Client used as a Backend) keeps its code.
	f.setErr("Actor", fmt.Errorf("proxy: %w", &Error{Code: CodeForbidden, Message: "not you"}))
	_, err = c.Actor(ctx, "ns/a/0")
	if e := asError(t, err); e.Code != CodeForbidden || e.Status != 403 || e.Message != "proxy: not you" {
		t.Errorf("a forwarded *Error: %+v", e)
	}
}

// Other errors are internal: logged, and their text shown only when the
// options say so.
func TestInternalErrors(t *testing.T) {
	var logged bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	secret := errors.New("disk /secret/path is full")

	f := newFixture()
	f.setErr("Status", secret)
	c, _ := startHost(t, f, HandlerOptions{Logger: logger})
	_, err := c.Status(context.Background())
	e := asError(t, err)
	if e.Code != CodeInternal || e.Status != 500 || strings.Contains(e.Message, "secret") {
		t.Errorf("hidden internal error: %+v", e)
	}
	mu.Lock()
	if !strings.Contains(logged.String(), "/secret/path") {
		t.Errorf("the internal error was not logged: %q", logged.String())
	}
	mu.Unlock()

	f2 := newFixture()
	f2.setErr("Status", secret)
	c2, _ := startHost(t, f2, HandlerOptions{ExposeErrors: true})
	_, err = c2.Status(context.Background())
	if e := asError(t, err); e.Code != CodeInternal || e.Message != secret.Error() {
		t.Errorf("exposed internal error: %+v", e)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// An app file's problems (config.Error) are invalid, each in the details,
// however the Backend wraps them.
func TestConfigErrors(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	problems := errors.Join(
		&config.Error{File: "shop.toml", Line: 3, Key: "actor[0].id", Msg: "must be set"},
		&config.Error{File: "shop.toml", Line: 9, Key: "route[1].path", Msg: "is not a path"},
		&config.Error{File: "shop.toml", Key: "app.name", Msg: "unknown key"},
	)
	f.setErr("Deploy", fmt.Errorf("deploy shop: %w", problems))
	_, err := c.Deploy(context.Background(), "shop.toml", []byte("x"), nil)
	e := asError(t, err)
	want := []string{"shop.toml:3: actor[0].id: must be set", "shop.toml:9: route[1].path: is not a path",
		"shop.toml: app.name: unknown key"}
	if e.Code != CodeInvalid || e.Status != 422 || !reflect.DeepEqual(e.Details, want) {
		t.Errorf("config errors: %+v, want invalid with details %q", e, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("the client's error does not match ErrInvalid")
	}
	if e.Message != "deploy shop: shop.toml:3: actor[0].id: must be set (and 2 more)" {
		t.Errorf("message %q", e.Message)
	}
	// One problem: the message is the problem.
	f.setErr("Deploy", &config.Error{File: "shop.toml", Line: 1, Key: "app", Msg: "must be set"})
	_, err = c.Deploy(context.Background(), "shop.toml", []byte("x"), nil)
	if e := asError(t, err); e.Code != CodeInvalid || e.Message != "shop.toml:1: app: must be set" || len(e.Details) != 1 {
		t.Errorf("one config error: %+v", e)
	}
}

// Unknown routes and methods are answered in JSON.
func TestUnknownRoutes(t *testing.T) {
	c, _ := startHost(t, newFixture(), HandlerOptions{})
	for _, p := range []string{"/", "/v1", "/v1/apps/", "/v1/nope", "/v2/status", "/v1/actors/a/b/health"} {
		status, h, b := raw(t, c, "GET", p, "", nil)
		if status != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %s", p, status, h.Get("Content-Type"))
			continue
		}
		if e := errorBodyOf(t, b); e.Code != CodeNotFound {
			t.Errorf("GET %s: code %q", p, e.Code)
		}
	}
	status, h, b := raw(t, c, "PUT", "/v1/status", "", nil)
	if status != 405 || h.Get("Allow") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("PUT /v1/status: %d, Allow %q, %s", status, h.Get("Allow"), h.Get("Content-Type"))
	}
	if e := errorBodyOf(t, b); e.Code != CodeBadRequest || !strings.Contains(e.Message, "PUT") {
		t.Errorf("PUT /v1/status: %+v", e)
	}
	status, h, _ = raw(t, c, "DELETE", "/v1/actors/ns%2Fa%2F0", "", nil)
	if status != 405 || !strings.Contains(h.Get("Allow"), "GET") {
		t.Errorf("DELETE an actor: %d, Allow %q", status, h.Get("Allow"))
	}
}

// Bodies over their cap are 413 too_large, whether their length is
// announced or not.
func TestBodyLimits(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{MaxInstallBytes: 4096})
	ctx := context.Background()

	// The default app file cap: 1 MiB passes, a byte more does not.
	if _, err := c.Deploy(ctx, "big.toml", make([]byte, DefaultMaxAppBytes), nil); err != nil {
		t.Errorf("a 1 MiB app file: %v", err)
	}
	_, err := c.Deploy(ctx, "big.toml", make([]byte, DefaultMaxAppBytes+1), nil)
	if e := asError(t, err); e.Code != CodeTooLarge || e.Status != 413 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("an app file over 1 MiB: %+v", e)
	}
	// Without a Content-Length the cap holds while reading.
	status, _, b := raw(t, c, "POST", "/v1/apps", "application/toml",
		io.MultiReader(bytes.NewReader(make([]byte, DefaultMaxAppBytes)), strings.NewReader("x")))
	if status != 413 || errorBodyOf(t, b).Code != CodeTooLarge {
		t.Errorf("a chunked app file over 1 MiB: %d %s", status, b)
	}

	_, err = c.Install(ctx, InstallRequest{Wasm: make([]byte, 4096)})
	if e := asError(t, err); e.Code != CodeTooLarge {
		t.Errorf("an install request over its cap: %+v", e)
	}
	if _, err := c.Install(ctx, InstallRequest{Wasm: make([]byte, 1024)}); err != nil {
		t.Errorf("an install request under its cap: %v", err)
	}
	// The backend never saw the refused bodies.
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, call := range f.calls {
		if strings.HasPrefix(call, fmt.Sprintf("Deploy big.toml %d", DefaultMaxAppBytes+1)) ||
			strings.HasPrefix(call, "Install  4096") {
			t.Errorf("the backend got a body over the cap: %s", call)
		}
	}
}

// Malformed requests are bad_request and never reach the backend.
func TestBadRequests(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/components", `{"ref":"r","bogus":1}`},
		{"POST", "/v1/components", `{"ref":"r"} {"ref":"s"}`},
		{"POST", "/v1/components", `not json`},
		{"POST", "/v1/components", `{}`},
		{"POST", "/v1/components", `{"ref":"r","wasm":"AAAA"}`},
		{"POST", "/v1/actors/ns%2Fa%2F0/update", `{}`},
		{"POST", "/v1/actors/ns%2Fa%2F0/update", `{"component":1}`},
		{"GET", "/v1/dead-letters?limit=-1", ""},
		{"GET", "/v1/dead-letters?limit=many", ""},
		{"GET", "/v1/logs?tail=x", ""},
		{"GET", "/v1/logs?follow=perhaps", ""},
		{"POST", "/v1/apps?progress=perhaps", "[app]"},
	} {
		status, _, b := raw(t, c, tc.method, tc.path, "application/json", strings.NewReader(tc.body))
		if status != 400 || errorBodyOf(t, b).Code != CodeBadRequest {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, status, b)
		}
	}
	if got := f.lastCall(); got != "" {
		t.Errorf("the backend was called: %q", got)
	}
}

// A deploy with progress streams one line per actor, then the report.
func TestDeployProgress(t *testing.T) {
	f := newFixture()
	f.progress = []ActorResult{{ID: "ns/a/0", Action: ActionStarted, To: "a@1.0.0"},
		{ID: "ns/b/0", Action: ActionUpdated, From: "b@1.0.0", To: "b@1.1.0"},
		{ID: "ns/c/0", Action: ActionFailed, Error: "trap"}}
	c, _ := startHost(t, f, HandlerOptions{})
	ctx := context.Background()

	var got []ActorResult
	rep, err := c.Deploy(ctx, "shop.toml", []byte("[app]"), func(a ActorResult) { got = append(got, a) })
	if err != nil {
		t.Fatal(err)
	}
	if f.lastCall() != "Deploy shop.toml 5 true" {
		t.Errorf("backend saw %q", f.lastCall())
	}
	if !reflect.DeepEqual(got, f.progress) || !reflect.DeepEqual(rep.Actors, f.progress) || rep.App != "shop.toml" {
		t.Errorf("progress %+v, report %+v", got, rep)
	}

	// The lines on the wire.
	status, h, b := raw(t, c, "POST", "/v1/apps?progress=1&file=x.toml", "application/toml", strings.NewReader("[app]"))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if status != 200 || h.Get("Content-Type") != "application/x-ndjson" || len(lines) != 4 ||
		!strings.HasPrefix(lines[0], `{"progress":{"id":"ns/a/0"`) || !strings.HasPrefix(lines[3], `{"report":{"app":"x.toml"`) {
		t.Errorf("progress stream: %d %s\n%s", status, h.Get("Content-Type"), b)
	}

	// A deploy that fails after some progress ends with an error line.
	f.setErr("Deploy", fmt.Errorf("%w: actor ns/c/0 failed", ErrConflict))
	got = nil
	_, err = c.Deploy(ctx, "shop.toml", []byte("[app]"), func(a ActorResult) { got = append(got, a) })
	if e := asError(t, err); e.Code != CodeConflict || e.Status != 409 || !errors.Is(err, ErrConflict) || len(got) != 3 {
		t.Errorf("failed deploy: %+v after %d lines", e, len(got))
	}
	_, _, b = raw(t, c, "POST", "/v1/apps?progress=1", "application/toml", strings.NewReader("[app]"))
	if !strings.Contains(string(b), "\n{\"error\":{\"code\":\"conflict\"") {
		t.Errorf("no error line:\n%s", b)
	}

	// One that fails before any line is an ordinary error response.
	f.progress = nil
	f.setErr("Deploy", &config.Error{File: "shop.toml", Line: 2, Key: "app.name", Msg: "must be set"})
	_, err = c.Deploy(ctx, "shop.toml", []byte("[app]"), func(a ActorResult) { t.Error("progress called") })
	if e := asError(t, err); e.Code != CodeInvalid || e.Status != 422 || len(e.Details) != 1 {
		t.Errorf("deploy failing at once: %+v", e)
	}
}

// Logs with follow stream new lines as they come, and end when the client
// goes away: the Backend's context ends too.
func TestLogsFollow(t *testing.T) {
	f := newFixture()
	f.logs = []LogLine{{Message: "old"}}
	c, _ := startHost(t, f, HandlerOptions{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan LogLine)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Logs(ctx, LogQuery{Actor: "ns/a/0", Follow: true}, func(l LogLine) error {
			lines <- l
			return nil
		})
	}()
	if l := waitFor(t, lines, "the old line"); l.Message != "old" {
		t.Errorf("first line %+v", l)
	}
	for _, m := range []string{"new 1", "new 2"} {
		select {
		case f.follow <- LogLine{Message: m}:
		case <-time.After(20 * time.Second):
			t.Fatal("the backend's Logs is not following")
		}
		if l := waitFor(t, lines, m); l.Message != m {
			t.Errorf("line %+v, want %q", l, m)
		}
	}
	cancel()
	if err := waitFor(t, errc, "Logs to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Logs after cancel = %v, want canceled", err)
	}
	waitFor(t, f.logsEnd, "the backend's Logs to end")
}

// A follower ends when the server shuts down, at once, with unavailable.
func TestLogsFollowEndsAtShutdown(t *testing.T) {
	f := newFixture()
	hs := serveUnix(t, NewHandler(f, HandlerOptions{}), ServeOptions{ShutdownGrace: time.Hour}, currentUID())
	c, err := Dial("unix:"+hs.path, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.logs = []LogLine{{Message: "old"}}
	lines := make(chan LogLine, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Logs(context.Background(), LogQuery{Follow: true}, func(l LogLine) error { lines <- l; return nil })
	}()
	waitFor(t, lines, "the first line")
	hs.cancel()
	if err := waitFor(t, errc, "Logs to end at shutdown"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Logs at shutdown = %v, want unavailable", err)
	}
	waitFor(t, hs.done, "Serve to return")
	if hs.err != nil {
		t.Errorf("Serve = %v", hs.err)
	}
	waitFor(t, f.logsEnd, "the backend's Logs to end")
}

// Logs' errors: before any line an error response, after one an error line.
func TestLogsErrors(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	ctx := context.Background()
	f.setErr("Logs", fmt.Errorf("%w: actor ns/x/0", ErrNotFound))
	err := c.Logs(ctx, LogQuery{Actor: "ns/x/0"}, func(LogLine) error { t.Error("a line"); return nil })
	if e := asError(t, err); e.Code != CodeNotFound || e.Status != 404 {
		t.Errorf("Logs of an unknown actor: %+v", e)
	}
	status, _, _ := raw(t, c, "GET", "/v1/logs?actor=ns%2Fx%2F0", "", nil)
	if status != 404 {
		t.Errorf("status %d, want 404", status)
	}
	// With follow the stream is open at once: the error is a line.
	err = c.Logs(ctx, LogQuery{Actor: "ns/x/0", Follow: true}, func(LogLine) error { return nil })
	if e := asError(t, err); e.Code != CodeNotFound || !errors.Is(err, ErrNotFound) {
		t.Errorf("Logs -f of an unknown actor: %+v", e)
	}
	f.logs = []LogLine{{Message: "one"}}
	n := 0
	err = c.Logs(ctx, LogQuery{}, func(LogLine) error { n++; return nil })
	if e := asError(t, err); e.Code != CodeNotFound || n != 1 {
		t.Errorf("Logs failing after a line: %+v after %d lines", e, n)
	}
}

// An export that fails at once is an error response; one that fails once
// data went out reports the error in a trailer.
func TestExportErrors(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	ctx := context.Background()
	f.setErr("ExportStorage", fmt.Errorf("%w: component nope", ErrNotFound))
	var buf bytes.Buffer
	err := c.ExportStorage(ctx, "nope", &buf)
	if e := asError(t, err); e.Code != CodeNotFound || buf.Len() != 0 {
		t.Errorf("export of an unknown component: %+v, wrote %q", e, buf.String())
	}
	f.export = "{\"bucket\":\"b\"}\n"
	f.setErr("ExportStorage", errors.New("disk read failed"))
	err = c.ExportStorage(ctx, "greeter", &buf)
	if e := asError(t, err); e.Code != CodeInternal || buf.String() != f.export {
		t.Errorf("export failing midway: %+v, wrote %q", e, buf.String())
	}
}

// errorOf's order and messages, directly.
func TestErrorOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
		msg  string
	}{
		{fmt.Errorf("%w: x", ErrNotFound), CodeNotFound, "x"},
		{fmt.Errorf("%w: %w", ErrTooLarge, ErrNotFound), CodeTooLarge, "not_found"},
		{&config.Error{File: "f", Msg: "bad"}, CodeInvalid, "f: bad"},
		{context.Canceled, CodeUnavailable, "context canceled"},
		{errors.New("boom"), CodeInternal, "internal error (the host's log has the details)"},
	} {
		e := errorOf(tc.err, false)
		if e.Code != tc.code || e.Message != tc.msg || e.Status != statusOf(tc.code) {
			t.Errorf("errorOf(%v) = %+v, want %s %q", tc.err, e, tc.code, tc.msg)
		}
	}
}

// The headers of a JSON answer.
func TestResponseHeaders(t *testing.T) {
	c, _ := startHost(t, newFixture(), HandlerOptions{})
	status, h, b := raw(t, c, "GET", "/v1/components", "", nil)
	if status != 200 || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" ||
		strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("GET /v1/components: %d %v %q", status, h, b)
	}
	status, _, b = raw(t, c, "POST", "/v1/actors/ns%2Fa%2F0/stop", "", nil)
	if status != 204 || len(b) != 0 {
		t.Errorf("stop: %d %q", status, b)
	}
}

// A stream writes nothing after its last line (a Backend calling progress
// after Deploy returned), and a failure before any line is a plain error
// response.
func TestStreamLastLine(t *testing.T) {
	rec := httptest.NewRecorder()
	st := newStream(rec)
	if err := st.write(progressLine{&ActorResult{ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	st.last(reportLine{&Report{App: "x"}})
	if err := st.write(progressLine{&ActorResult{ID: "late"}}); err != errStreamClosed {
		t.Errorf("a write after the last line: %v", err)
	}
	st.fail(&Error{Code: CodeInternal, Status: 500, Message: "late"})
	want := `{"progress":{"id":"a","action":""}}` + "\n" + `{"report":{"app":"x","digest":"","changed":false,"actors":null}}` + "\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("stream: %d\n%s\nwant\n%s", rec.Code, rec.Body.String(), want)
	}

	rec = httptest.NewRecorder()
	st = newStream(rec)
	st.fail(&Error{Code: CodeNotFound, Status: 404, Message: "no"})
	if err := st.write(LogLine{Message: "late"}); err != errStreamClosed {
		t.Errorf("a write after a failure: %v", err)
	}
	if rec.Code != 404 || errorBodyOf(t, rec.Body.Bytes()).Code != CodeNotFound {
		t.Errorf("failure before any line: %d %s", rec.Code, rec.Body.String())
	}
}

// With follow the response begins before any line: a client learns at once
// that the stream is open.
func TestLogsFollowOpensAtOnce(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/logs?follow=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := c.hc.Do(req)
		got <- result{resp, err}
	}()
	r := waitFor(t, got, "the response's headers while no line was sent")
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.resp.Body.Close()
	if r.resp.StatusCode != 200 || r.resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("%d %s", r.resp.StatusCode, r.resp.Header.Get("Content-Type"))
	}
	cancel()
	waitFor(t, f.logsEnd, "the backend's Logs to end")
}

// A body announced over the cap is refused before it is read.
func TestBodyTooLargeAnnounced(t *testing.T) {
	_, hs := startHost(t, newFixture(), HandlerOptions{})
	conn, err := net.Dial("unix", hs.path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The body never comes: only an answer from the headers can arrive.
	fmt.Fprintf(conn, "POST /v1/apps HTTP/1.1\r\nHost: admin\r\nContent-Length: %d\r\n\r\n", 2*DefaultMaxAppBytes)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestBrowsersRefused: a request a web browser makes (it carries Origin or
// Sec-Fetch-* headers) never reaches the Backend: no web page can stop an
// actor through a tunnel to the socket or by DNS rebinding.
func TestBrowsersRefused(t *testing.T) {
	f := newFixture()
	h := NewHandler(f, HandlerOptions{})
	for _, hdr := range [][2]string{{"Origin", "http://evil.example"}, {"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Mode", "navigate"}} {
		req := httptest.NewRequest("POST", "/v1/actors/a%2Fb%2F1/stop", nil)
		req.Header.Set(hdr[0], hdr[1])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), CodeForbidden) {
			t.Errorf("%s: %s: %d %s", hdr[0], hdr[1], rec.Code, rec.Body.String())
		}
	}
	if c := f.lastCall(); c != "" {
		t.Fatalf("a browser's request reached the backend: %s", c)
	}
	req := httptest.NewRequest("POST", "/v1/actors/a%2Fb%2F1/stop", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("a program's request: %d %s", rec.Code, rec.Body.String())
	}
}
