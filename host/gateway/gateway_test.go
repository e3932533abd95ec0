package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

var (
	engOnce sync.Once
	eng     *engine.Engine
	compMu  sync.Mutex
	comps   = map[string]*engine.Component{}
)

func component(t testing.TB, name string) *engine.Component {
	t.Helper()
	engOnce.Do(func() {
		var err error
		if eng, err = engine.New(engine.Config{}); err != nil {
			panic(err)
		}
	})
	compMu.Lock()
	defer compMu.Unlock()
	if c, ok := comps[name]; ok {
		return c
	}
	c, err := eng.CompileFile(context.Background(), filepath.Join("..", "..", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	comps[name] = c
	return c
}

func system(t *testing.T, specs ...actor.Spec) *actor.System {
	t.Helper()
	component(t, "actor2_agent2")
	sys := actor.NewSystem(eng, actor.Options{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	for _, s := range specs {
		if err := sys.Deploy(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	return sys
}

func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func bodyOf(t *testing.T, r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// TestRequestsBecomeMessagesAndRepliesResponses: the reply's status,
// content type and headers make the response; the request's method, path,
// query, path parameters and chosen headers reach the actor.
func TestRequestsBecomeMessagesAndRepliesResponses(t *testing.T) {
	sys := system(t,
		actor.Spec{ID: "app/agent/1", Component: component(t, "actor2_agent2")},
		actor.Spec{ID: "app/fwd/1", Component: component(t, "actor2_forward"), Config: map[string]string{"topic": "seen"}})
	g, err := New(sys, []Route{
		{Method: "POST", Pattern: "/mirror", Actor: "app/agent/1"},
		{Method: "GET", Pattern: "/orders/{id}/{rest...}", Actor: "app/fwd/1", Headers: []string{"x-test"}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, g, "POST", "/mirror", "mirror|201|application/json")
	if r.StatusCode != 201 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Mirror") != "1" ||
		bodyOf(t, r) != "mirror|201|application/json" {
		t.Fatalf("mirror: %d %v", r.StatusCode, r.Header)
	}
	sub, _ := sys.Subscribe("seen", 4)
	defer sub.Close()
	r = do(t, g, "GET", "/orders/42/a/b?x=1&y=2", "", "X-Test", "hello", "X-Other", "not passed")
	if r.StatusCode != 200 {
		t.Fatalf("forwarded GET: %d %s", r.StatusCode, bodyOf(t, r))
	}
	select {
	case m := <-sub.C:
		want := map[string]string{"http-method": "GET", "http-path": "/orders/42/a/b", "http-query": "x=1&y=2",
			"http-param-id": "42", "http-param-rest": "a/b", "x-test": "hello"}
		for k, v := range want {
			if got, _ := m.Header(k); got != v {
				t.Errorf("header %s = %q, want %q (all: %v)", k, got, v, m.Headers)
			}
		}
		if _, ok := m.Header("x-other"); ok {
			t.Error("a header the route does not pass reached the actor")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the actor")
	}
}

// TestErrorsMapToStatuses: unknown route 404, body over the cap 413,
// timeout 504, the actor's error 500 (its text only when allowed), a full
// mailbox 503 with Retry-After, an invalid status from the guest 502.
func TestErrorsMapToStatuses(t *testing.T) {
	sys := system(t,
		actor.Spec{ID: "app/agent/1", Component: component(t, "actor2_agent2")},
		actor.Spec{ID: "app/silent/1", Component: component(t, "actor2_silent")},
		actor.Spec{ID: "app/spin/1", Component: component(t, "actor2_trapper"), MailboxSize: 1, Overflow: actor.Reject,
			Limits: engine.InstanceConfig{Timeout: 2 * time.Second}})
	g, err := New(sys, []Route{
		{Pattern: "/mirror", Actor: "app/agent/1"},
		{Pattern: "/silent", Actor: "app/silent/1"},
		{Pattern: "/silent-open", Actor: "app/silent/1", ExposeErrors: true},
		{Pattern: "/spin", Actor: "app/spin/1", Timeout: 100 * time.Millisecond},
		{Pattern: "/gone", Actor: "app/nobody/1"},
	}, Options{MaxBodyBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, r *http.Response, status int, body string) {
		t.Helper()
		b := bodyOf(t, r)
		if r.StatusCode != status || !strings.Contains(b, body) {
			t.Fatalf("%s: %d %q, want %d with %q", name, r.StatusCode, b, status, body)
		}
	}
	check("unknown route", do(t, g, "GET", "/nowhere", ""), 404, "")
	check("body over the cap", do(t, g, "POST", "/mirror", strings.Repeat("x", 65)), 413, "over 64 bytes")
	check("actor error", do(t, g, "POST", "/silent", "fail"), 500, "the request failed")
	if b := bodyOf(t, do(t, g, "POST", "/silent", "fail")); strings.Contains(b, "on purpose") {
		t.Fatal("the guest's error text leaked")
	}
	check("actor error, exposed", do(t, g, "POST", "/silent-open", "fail"), 500, "failed on purpose")
	check("invalid status", do(t, g, "POST", "/mirror", "mirror|1000|x"), 502, "invalid status")
	check("no such actor", do(t, g, "GET", "/gone", ""), 503, "not available")
	// The spinning actor: its first request times out (504), and while it
	// spins its one-message mailbox fills: then 503 with Retry-After.
	if err := sys.Send(context.Background(), "app/spin/1", []byte("spin"), ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, _ := sys.Stats("app/spin/1"); st.Busy && st.MailboxDepth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the actor never started spinning")
		}
	}
	check("timeout", do(t, g, "POST", "/spin", "x"), 504, "no reply")
	r := do(t, g, "POST", "/spin", "x")
	if r.StatusCode != 503 || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("full mailbox: %d %v", r.StatusCode, r.Header)
	}
}

func TestBadRoutesAndHeaders(t *testing.T) {
	sys := system(t)
	for _, rs := range [][]Route{
		{{Pattern: "orders", Actor: "a/b/1"}},
		{{Pattern: "/a", Actor: "not an id"}},
		{{Pattern: "/a", Actor: "a/b/1"}, {Pattern: "/a", Actor: "a/b/2"}},
	} {
		if _, err := New(sys, rs, Options{}); err == nil {
			t.Errorf("routes %v accepted", rs)
		}
	}
	for _, h := range [][2]string{{"x-ok", "fine"}, {"bad name", "v"}, {"x", "a\r\nb"}, {"", "v"}, {"x", "nul\x00"}} {
		want := h[0] == "x-ok"
		if got := validHeader(h[0], h[1]); got != want {
			t.Errorf("validHeader(%q, %q) = %v", h[0], h[1], got)
		}
	}
	for _, n := range []string{"Connection", "transfer-encoding", "Content-Length"} {
		if !ownedHeader(n) {
			t.Errorf("%s is passed through", n)
		}
	}
}

// TestServeHasLimits: a real server on loopback with the connection cap and
// timeouts, shut down with its context.
func TestServeHasLimits(t *testing.T) {
	sys := system(t, actor.Spec{ID: "app/agent/1", Component: component(t, "actor2_agent2")})
	g, err := New(sys, []Route{{Pattern: "/mirror", Actor: "app/agent/1"}}, Options{MaxConns: 2,
		ReadHeaderTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln, time.Second) }()
	url := "http://" + ln.Addr().String() + "/mirror"
	resp, err := http.Post(url, "text/plain", strings.NewReader("mirror|200|text/plain"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("through the server: %v %v", resp, err)
	}
	resp.Body.Close()
	// A client that never finishes its headers is cut off.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("POST /mirror HTTP/1.1\r\nHost: x\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("a slow client was not cut off: %v", err)
	}
	c.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestPoolsAndSetRoutes: a route to a pool spreads requests over its
// actors in turn; SetRoutes replaces every route at once, and a bad set
// leaves the old routes in place.
func TestPoolsAndSetRoutes(t *testing.T) {
	sys := system(t,
		actor.Spec{ID: "app/echo/1", Component: component(t, "actor2_echo")},
		actor.Spec{ID: "app/echo/2", Component: component(t, "actor2_echo")})
	g, err := New(sys, []Route{{Method: "POST", Pattern: "/echo", Pool: []actor.ID{"app/echo/1", "app/echo/2"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if r := do(t, g, "POST", "/echo", "hi"); r.StatusCode != 200 || bodyOf(t, r) != "hi" {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	for _, id := range []actor.ID{"app/echo/1", "app/echo/2"} {
		if st, _ := sys.Stats(id); st.Handled != 2 {
			t.Fatalf("%s handled %d of 4 requests, want 2", id, st.Handled)
		}
	}
	if err := g.SetRoutes([]Route{{Pattern: "/new", Actor: "app/echo/1"}}); err != nil {
		t.Fatal(err)
	}
	if r := do(t, g, "POST", "/echo", "x"); r.StatusCode != 404 {
		t.Fatalf("a replaced route still answers: %d", r.StatusCode)
	}
	if r := do(t, g, "PUT", "/new", "x"); r.StatusCode != 200 {
		t.Fatalf("new route: %d", r.StatusCode)
	}
	if err := g.SetRoutes([]Route{{Pattern: "/a", Actor: "app/echo/1"}, {Pattern: "/a", Actor: "app/echo/2"}}); err == nil {
		t.Fatal("two routes for the same requests accepted")
	}
	if r := do(t, g, "PUT", "/new", "x"); r.StatusCode != 200 {
		t.Fatalf("a refused SetRoutes changed the routes: %d", r.StatusCode)
	}
}

// TestObserveAndTraceHooks: Observe sees every request once, with its
// route's pattern (none for an unmatched one), its status and duration;
// Trace's traceparent replaces the request's in the message (added when
// the route passes none) and its end hears the status; a request the
// client gave up on is 499.
func TestObserveAndTraceHooks(t *testing.T) {
	sys := system(t,
		actor.Spec{ID: "app/inspect/1", Component: component(t, "actor2_inspect")},
		actor.Spec{ID: "app/fwd/1", Component: component(t, "actor2_forward"), Config: map[string]string{"topic": "seen"}})
	const (
		incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		ours     = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	)
	type obs struct {
		route  string
		status int
	}
	var mu sync.Mutex
	var observed []obs
	var traced []string // routes
	var ended []int
	g, err := New(sys, []Route{
		{Method: "GET", Pattern: "/inspect/{id}", Actor: "app/inspect/1"},
		{Pattern: "/bare", Actor: "app/inspect/1", Headers: []string{"x-test"}},
		{Pattern: "/fwd", Actor: "app/fwd/1"},
		{Pattern: "/gone", Actor: "app/nobody/1"},
	}, Options{
		Observe: func(route string, status int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if d <= 0 || d > 5*time.Second {
				t.Errorf("%s: duration %v", route, d)
			}
			observed = append(observed, obs{route, status})
		},
		Trace: func(r *http.Request, route string) (string, func(int)) {
			if r.Header.Get("X-Untraced") != "" {
				return "", nil
			}
			mu.Lock()
			traced = append(traced, route)
			mu.Unlock()
			return ours, func(status int) {
				mu.Lock()
				ended = append(ended, status)
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	trace := func(path string, hdr ...string) string {
		t.Helper()
		r := do(t, g, "GET", path, "", hdr...)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		return r.Header.Get("X-Trace")
	}
	if got := trace("/inspect/7", "Traceparent", incoming); got != ours {
		t.Errorf("traced request: the actor saw traceparent %q", got)
	}
	if got := trace("/bare"); got != ours {
		t.Errorf("a route that passes no traceparent: the actor saw %q", got)
	}
	if got := trace("/inspect/7", "Traceparent", incoming, "X-Untraced", "1"); got != incoming {
		t.Errorf("no traceparent from Trace: the actor saw %q", got)
	}
	// The message carries one traceparent, ours, and the tracestate.
	sub, _ := sys.Subscribe("seen", 4)
	defer sub.Close()
	if r := do(t, g, "POST", "/fwd", "x", "Traceparent", incoming, "Traceparent", incoming,
		"Tracestate", "k=v"); r.StatusCode != 200 {
		t.Fatalf("/fwd: %d", r.StatusCode)
	}
	select {
	case m := <-sub.C:
		var tps []string
		for _, h := range m.Headers {
			if h.Name == "traceparent" {
				tps = append(tps, h.Value)
			}
		}
		if len(tps) != 1 || tps[0] != ours {
			t.Errorf("traceparents in the message: %q", tps)
		}
		if v, _ := m.Header("tracestate"); v != "k=v" {
			t.Errorf("tracestate %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the actor")
	}
	if r := do(t, g, "GET", "/nowhere", ""); r.StatusCode != 404 {
		t.Fatalf("/nowhere: %d", r.StatusCode)
	}
	if r := do(t, g, "GET", "/gone", ""); r.StatusCode != 503 {
		t.Fatalf("/gone: %d", r.StatusCode)
	}
	// A client gone before the reply: nothing is sent, 499 is reported.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/inspect/8", nil).WithContext(ctx)
	g.ServeHTTP(httptest.NewRecorder(), req)

	mu.Lock()
	defer mu.Unlock()
	wantObs := []obs{{"GET /inspect/{id}", 200}, {"/bare", 200}, {"GET /inspect/{id}", 200}, {"/fwd", 200},
		{"", 404}, {"/gone", 503}, {"GET /inspect/{id}", 499}}
	if fmt.Sprint(observed) != fmt.Sprint(wantObs) {
		t.Errorf("observed %v, want %v", observed, wantObs)
	}
	wantTraced := []string{"GET /inspect/{id}", "/bare", "/fwd", "/gone", "GET /inspect/{id}"}
	if fmt.Sprint(traced) != fmt.Sprint(wantTraced) {
		t.Errorf("traced %v, want %v", traced, wantTraced)
	}
	if want := []int{200, 200, 200, 503, 499}; fmt.Sprint(ended) != fmt.Sprint(want) {
		t.Errorf("span ends %v, want %v", ended, want)
	}
}
