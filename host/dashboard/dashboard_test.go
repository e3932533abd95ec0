package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

func newHandler(t *testing.T, b admin.Backend, o Options) *handler {
	t.Helper()
	h, err := New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*handler)
}

// do serves one request on h; host "" is 127.0.0.1:8080.
func do(h http.Handler, method, host, path string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Host = "127.0.0.1:8080"
	if host != "" {
		r.Host = host
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestSecurityHeaders: every response, a refusal or an error included,
// has the security headers; the page embeds the CSRF token; the assets
// have their types.
func TestSecurityHeaders(t *testing.T) {
	h := newHandler(t, newFixture(), Options{})
	cases := []struct {
		method, host, path string
		code               int
		ctype              string
	}{
		{"GET", "", "/ui/", 200, "text/html; charset=utf-8"},
		{"GET", "", "/ui/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "", "/ui/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "", "/ui/nothing", 404, "application/json"},
		{"GET", "", "/elsewhere", 404, "application/json"},
		{"DELETE", "", "/ui/app.js", 403, "application/json"}, // no Origin
		{"GET", "evil.example", "/ui/", 421, "application/json"},
	}
	for _, c := range cases {
		rec := do(h, c.method, c.host, c.path, nil, "")
		if rec.Code != c.code {
			t.Errorf("%s %s (Host %q): %d, want %d: %s", c.method, c.path, c.host, rec.Code, c.code, rec.Body)
		}
		hd := rec.Header()
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
				"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
			"Content-Type":           c.ctype,
		} {
			if got := hd.Get(k); got != want {
				t.Errorf("%s %s: %s is %q, want %q", c.method, c.path, k, got, want)
			}
		}
	}
	page := do(h, "GET", "", "/ui/", nil, "").Body.String()
	if !strings.Contains(page, `<meta name="csrf-token" content="`+string(h.token)+`">`) || len(h.token) != 64 {
		t.Errorf("the page does not carry the token %q", h.token)
	}
	if strings.Contains(page, csrfPlaceholder) {
		t.Error("the page still has the token's placeholder")
	}
	// A token is per handler (per process in the host), never a constant.
	if h2 := newHandler(t, newFixture(), Options{}); string(h2.token) == string(h.token) {
		t.Error("two handlers have one token")
	}
}

// TestAssetsInsertTextOnly: the script never hands a string to the HTML
// parser, and the page has no inline script or style (the CSP would
// block them anyway). The browser test checks the same on a real page.
func TestAssetsInsertTextOnly(t *testing.T) {
	js, err := fs.ReadFile(assets, "assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
		"DOMParser", "srcdoc", "eval(", "new Function", "setAttribute('style'", "javascript:"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	page, _ := fs.ReadFile(assets, "assets/index.html")
	for _, re := range []string{`<script>`, `<script[^>]*>[^<]`, `style=`, `\son[a-z]+=`, `https?://`} {
		if m := regexp.MustCompile(re).Find(page); m != nil {
			t.Errorf("index.html has %q", m)
		}
	}
}

// TestHostCheck: only the loopback names and the allowed ones reach the
// page (DNS rebinding), whatever the port.
func TestHostCheck(t *testing.T) {
	f := newFixture()
	h := newHandler(t, f, Options{AllowedHosts: []string{"Dash.Example.org", "[fd00::1]:8443", "10.0.0.5"}})
	for host, ok := range map[string]bool{
		"localhost": true, "localhost:8377": true, "LOCALHOST:1": true, "localhost.": true,
		"127.0.0.1": true, "127.0.0.1:9": true, "[::1]": true, "[::1]:8080": true,
		"dash.example.org": true, "dash.example.org:443": true, "[fd00::1]:1": true, "10.0.0.5:80": true,
		"evil.example": false, "evil.example:8080": false, "127.0.0.1.nip.io": false,
		"localhost.evil.example": false, "127.0.0.2": false, "0.0.0.0:8080": false, "[::2]:80": false,
		"example.org": false, "dash.example.org.evil": false,
	} {
		code := do(h, "GET", host, "/ui/", nil, "").Code
		if ok && code != 200 || !ok && code != http.StatusMisdirectedRequest {
			t.Errorf("Host %q: %d (allowed: %v)", host, code, ok)
		}
	}
	r := httptest.NewRequest("GET", "/ui/", nil)
	r.Host = ""
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("no Host: %d", rec.Code)
	}
	// A refused Host reaches nothing, an action included.
	rec = do(h, "POST", "evil.example", "/ui/api/rollback", map[string]string{"Origin": "http://evil.example",
		CSRFHeader: string(h.token), "Content-Type": "application/json"}, `{"id":"shop/counter/1"}`)
	if rec.Code != http.StatusMisdirectedRequest || len(f.rolledBack()) != 0 {
		t.Errorf("a rebound name rolled back: %d %v", rec.Code, f.rolledBack())
	}
	if _, err := New(f, Options{Prefix: "ui"}); err == nil {
		t.Error("a prefix without slashes was taken")
	}
}

// TestActionChecks: an action needs the page's Origin, a same-origin
// fetch, the CSRF token and a JSON body; each refusal leaves the Backend
// alone, and the one request with everything right rolls back.
func TestActionChecks(t *testing.T) {
	f := newFixture()
	h := newHandler(t, f, Options{})
	tok := string(h.token)
	good := map[string]string{"Origin": "http://127.0.0.1:8080", CSRFHeader: tok, "Content-Type": "application/json",
		"Sec-Fetch-Site": "same-origin"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	body := `{"id":"shop/counter/1"}`
	refusals := []struct {
		name string
		hdr  map[string]string
		body string
		code int
	}{
		{"no origin", with("Origin", ""), body, 403},
		{"origin null", with("Origin", "null"), body, 403},
		{"another origin", with("Origin", "http://evil.example"), body, 403},
		{"another port", with("Origin", "http://127.0.0.1:8081"), body, 403},
		{"another scheme", with("Origin", "ftp://127.0.0.1:8080"), body, 403},
		{"a path", with("Origin", "http://127.0.0.1:8080/ui/"), body, 403},
		{"a user", with("Origin", "http://x@127.0.0.1:8080"), body, 403},
		{"a longer host", with("Origin", "http://127.0.0.1:80800"), body, 403},
		{"cross-site fetch", with("Sec-Fetch-Site", "cross-site"), body, 403},
		{"same-site fetch", with("Sec-Fetch-Site", "same-site"), body, 403},
		{"no token", with(CSRFHeader, ""), body, 403},
		{"wrong token", with(CSRFHeader, strings.Repeat("0", 64)), body, 403},
		{"token prefix", with(CSRFHeader, tok[:32]), body, 403},
		{"a form post", with("Content-Type", "application/x-www-form-urlencoded"), "id=shop/counter/1", 415},
		{"text/plain", with("Content-Type", "text/plain"), body, 415},
		{"no id", good, `{}`, 400},
		{"not JSON", good, `shop/counter/1`, 400},
	}
	for _, c := range refusals {
		rec := do(h, "POST", "", "/ui/api/rollback", c.hdr, c.body)
		if rec.Code != c.code {
			t.Errorf("%s: %d, want %d: %s", c.name, rec.Code, c.code, rec.Body)
		}
		if n := len(f.rolledBack()); n != 0 {
			t.Fatalf("%s: the Backend was called (%d rollbacks)", c.name, n)
		}
	}
	if rec := do(h, "GET", "", "/ui/api/rollback", nil, ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET rollback: %d, want 405", rec.Code)
	}
	rec := do(h, "POST", "", "/ui/api/rollback", good, body)
	var res admin.ActorResult
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &res) != nil {
		t.Fatalf("rollback: %d %s", rec.Code, rec.Body)
	}
	if got := f.rolledBack(); len(got) != 1 || got[0] != "shop/counter/1" {
		t.Errorf("Backend.Rollback calls: %q", got)
	}
	if res.Action != admin.ActionRolledBack || res.From != "counter@1.1.0" || res.To != "counter@1.0.0" {
		t.Errorf("rollback answered %+v", res)
	}
	// Without Sec-Fetch-Site (an older browser), Origin and token suffice;
	// behind a proxy the browser's scheme may not be the host's.
	for _, hdr := range []map[string]string{with("Sec-Fetch-Site", ""), with("Origin", "https://127.0.0.1:8080")} {
		if rec := do(h, "POST", "", "/ui/api/rollback", hdr, body); rec.Code != http.StatusNotFound {
			t.Errorf("another rollback (nothing left to roll back): %d, want 404: %s", rec.Code, rec.Body)
		}
	}
}

// TestRollbackErrors: the Backend's error gives the status and code;
// an internal error's text stays in the log.
func TestRollbackErrors(t *testing.T) {
	f := newFixture()
	h := newHandler(t, f, Options{})
	hdr := map[string]string{"Origin": "http://127.0.0.1:8080", CSRFHeader: string(h.token), "Content-Type": "application/json"}
	for _, c := range []struct {
		err  error
		code int
		name string
		msg  string
	}{
		{fmt.Errorf("%w: no rollback for x", admin.ErrConflict), 409, admin.CodeConflict, "conflict: no rollback for x"},
		{fmt.Errorf("%w: no actor", admin.ErrNotFound), 404, admin.CodeNotFound, "not_found: no actor"},
		{fmt.Errorf("%w: draining", admin.ErrUnavailable), 503, admin.CodeUnavailable, "unavailable: draining"},
		{errors.New("disk on fire at /secret/path"), 500, admin.CodeInternal, "the rollback failed (the host's log says why)"},
	} {
		f.mu.Lock()
		f.rbErr = c.err
		f.mu.Unlock()
		rec := do(h, "POST", "", "/ui/api/rollback", hdr, `{"id":"x"}`)
		var body errorBody
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != c.code || body.Error.Code != c.name || body.Error.Message != c.msg {
			t.Errorf("%v: %d %+v", c.err, rec.Code, body.Error)
		}
	}
}

// sse is one server-sent event.
type sse struct {
	name, data string
	datas      int // data lines
}

// readEvent reads one event (up to its blank line).
func readEvent(br *bufio.Reader) (sse, error) {
	var e sse
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return e, nil
		case strings.HasPrefix(line, "event: "):
			e.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			e.data += line[len("data: "):]
			e.datas++
		case strings.HasPrefix(line, "retry: "):
			e.name = "retry"
		default:
			return e, fmt.Errorf("unexpected line %q", line)
		}
	}
}

// newServer serves h until the test's end (after the streams it opened
// are closed).
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// openStream opens the live stream on srv; it ends with the test.
func openStream(t *testing.T, srv *httptest.Server, query string) (*http.Response, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/ui/events"+query, nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res, bufio.NewReader(res.Body)
}

// TestEventsFraming: the stream's framing, a snapshot's content and
// rates, and the selected actor's logs and health; guest text arrives as
// JSON data, escaped, on one data line.
func TestEventsFraming(t *testing.T) {
	f := newFixture()
	h := newHandler(t, f, Options{Interval: 50 * time.Millisecond})
	srv := newServer(t, h)
	res, br := openStream(t, srv, "?actor="+"shop%2Fcounter%2F1")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
		res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("stream: %d %v", res.StatusCode, res.Header)
	}
	var snaps []snapshot
	var logs []admin.LogLine
	var raw []string
	health := ""
	for len(snaps) < 3 || len(logs) < 2 || health == "" {
		e, err := readEvent(br)
		if err != nil {
			t.Fatalf("after %d snapshots, %d log lines: %v", len(snaps), len(logs), err)
		}
		if e.name != "retry" && e.datas != 1 {
			t.Fatalf("event %q has %d data lines", e.name, e.datas)
		}
		raw = append(raw, e.data)
		switch e.name {
		case "retry":
		case "snapshot":
			var s snapshot
			if err := json.Unmarshal([]byte(e.data), &s); err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, s)
			f.addHandled("shop/counter/1", 25) // a rate for the next one
		case "log":
			var l admin.LogLine
			if err := json.Unmarshal([]byte(e.data), &l); err != nil {
				t.Fatal(err)
			}
			logs = append(logs, l)
		case "health":
			var he healthEvent
			json.Unmarshal([]byte(e.data), &he)
			if he.ID != "shop/counter/1" {
				t.Errorf("health of %q", he.ID)
			}
			health = he.Health
		default:
			t.Fatalf("unexpected event %q", e.name)
		}
	}
	s := snaps[0]
	if len(s.Apps) != 1 || s.Apps[0].Name != "shop" || len(s.Apps[0].Actors) != 2 || s.Status.Version != "v-test" ||
		s.DeadLetters.Total != 3 || len(s.Components) != 2 {
		t.Fatalf("snapshot: %+v", s)
	}
	a := s.Apps[0].Actors[0]
	if a.ID != "shop/counter/1" || a.Component != "counter@1.1.0" || a.Restarts != 2 || a.Rollback != "counter@1.0.0" {
		t.Errorf("actor: %+v", a)
	}
	if r := snaps[2].Apps[0].Actors[0].Rate; r <= 0 {
		t.Errorf("no rate in the third snapshot after 25 handled: %v", r)
	}
	if r := snaps[2].Apps[0].Actors[1].Rate; r != 0 {
		t.Errorf("an idle actor's rate is %v", r)
	}
	if health != "healthy" {
		t.Errorf("health %q", health)
	}
	// Guest text: the exact string once decoded, never markup on the wire.
	if logs[0].Message != hostile || logs[1].Message != "two\nlines</script>" {
		t.Errorf("log lines: %+v", logs)
	}
	if got := s.DeadLetters.Letters[0].Reason; got != "trapped: "+hostile {
		t.Errorf("dead letter reason %q", got)
	}
	all := strings.Join(raw, "\n")
	for _, bad := range []string{"<img", "</script", "<"} {
		if strings.Contains(all, bad) {
			t.Errorf("the stream carries %q unescaped", bad)
		}
	}
	if !strings.Contains(all, `\u003cimg src=x onerror=\"window.__pwned=1\"\u003e`) {
		t.Error("the hostile text is not in the stream, JSON-escaped")
	}
}

// TestSlowClientDropped: a client that stops reading is dropped, and the
// hub does not wait for it: another client goes on.
func TestSlowClientDropped(t *testing.T) {
	f := newFixture()
	f.bigApp(2000) // about 600 KB a snapshot: the socket buffers fill fast
	h := newHandler(t, f, Options{Interval: 20 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	srv := newServer(t, h)

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(c, "GET /ui/events HTTP/1.1\r\nHost: localhost\r\n\r\n") // and never read

	_, br := openStream(t, srv, "") // a client that keeps up
	deadline := time.Now().Add(15 * time.Second)
	for h.dropped.Load() == 0 {
		if _, err := readEvent(br); err != nil {
			t.Fatalf("the client that reads lost its stream: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow client was not dropped (%d streams open)", h.active.Load())
		}
	}
	for range 3 { // the reader still gets snapshots
		if e, err := readEvent(br); err != nil || (e.name != "snapshot" && e.name != "retry") {
			t.Fatalf("after the drop: %q %v", e.name, err)
		}
	}
	if n := h.active.Load(); n != 1 {
		t.Errorf("%d streams open after the drop, want 1", n)
	}
	if n := h.dropped.Load(); n != 1 {
		t.Errorf("%d streams dropped, want 1", n)
	}
}

// TestMaxStreams: one stream over the bound is refused, and a place is
// free again once a stream ends.
func TestMaxStreams(t *testing.T) {
	h := newHandler(t, newFixture(), Options{MaxStreams: 2, Interval: 20 * time.Millisecond})
	srv := newServer(t, h)
	var bodies []io.Closer
	for range 2 {
		res, br := openStream(t, srv, "")
		if e, err := readEvent(br); err != nil || e.name != "retry" {
			t.Fatal(e, err)
		}
		bodies = append(bodies, res.Body)
	}
	res, err := srv.Client().Get(srv.URL + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("a third stream: %d", res.StatusCode)
	}
	bodies[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for h.active.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream still counts (%d open)", h.active.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	res, br := openStream(t, srv, "")
	if e, err := readEvent(br); res.StatusCode != 200 || err != nil || e.name != "retry" {
		t.Fatalf("a stream in the freed place: %d %v", res.StatusCode, err)
	}
}

// TestContextEndsStreams: when Options.Context ends, open streams end and
// new ones are refused; with no stream, the Backend is not asked.
func TestContextEndsStreams(t *testing.T) {
	f := newFixture()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHandler(t, f, Options{Interval: 10 * time.Millisecond, Context: ctx})
	srv := newServer(t, h)
	if n := f.calls(); n != 0 {
		t.Errorf("the Backend was asked %d times with no stream open", n)
	}
	_, br := openStream(t, srv, "?actor=shop%2Fcounter%2F1")
	if e, err := readEvent(br); err != nil || e.name != "retry" {
		t.Fatal(e, err)
	}
	cancel()
	for {
		if _, err := readEvent(br); err != nil {
			break // the stream ended
		}
	}
	res, err := srv.Client().Get(srv.URL + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after the end: %d", res.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.hub.mu.Lock()
		running := h.hub.running
		h.hub.mu.Unlock()
		if !running && h.active.Load() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub still runs (%v) or streams are open (%d)", running, h.active.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	n := f.calls()
	time.Sleep(50 * time.Millisecond) // five intervals: an idle hub asks nothing
	if m := f.calls(); m != n {
		t.Errorf("the Backend was asked %d more times with no stream open", m-n)
	}
}

// TestHubIdle: the hub stops when the last stream ends, and starts again
// with the next one.
func TestHubIdle(t *testing.T) {
	f := newFixture()
	h := newHandler(t, f, Options{Interval: 10 * time.Millisecond})
	srv := newServer(t, h)
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/ui/events", nil)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(res.Body)
		for {
			e, err := readEvent(br)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if e.name == "snapshot" {
				break
			}
		}
		cancel()
		res.Body.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			h.hub.mu.Lock()
			running := h.hub.running
			h.hub.mu.Unlock()
			if !running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the hub runs with no stream", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// snapshotOf makes one snapshot of h's hub and decodes it, raw too.
func snapshotOf(t *testing.T, h *handler) (snapshot, map[string]json.RawMessage) {
	t.Helper()
	e, err := readEvent(bufio.NewReader(strings.NewReader(string(h.hub.snapshot()))))
	if err != nil || e.name != "snapshot" {
		t.Fatalf("snapshot event %q: %v", e.name, err)
	}
	var s snapshot
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(e.data), &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(e.data), &raw); err != nil {
		t.Fatal(err)
	}
	return s, raw
}

// TestSnapshotLattice: a snapshot carries the lattice (name, mode, each
// host with its actors and times), once (not in the status too), cut to
// maxLatticeHosts with this host kept and the total said; a host without
// a lattice sends none.
func TestSnapshotLattice(t *testing.T) {
	f := newFixture()
	h := newHandler(t, f, Options{})

	s, raw := snapshotOf(t, h)
	if s.Lattice != nil || raw["lattice"] != nil || strings.Contains(string(raw["status"]), "lattice") {
		t.Errorf("a host without a lattice sends one: %s / %s", raw["lattice"], raw["status"])
	}

	seen := time.Now().Add(-300 * time.Millisecond).Round(0).UTC()
	f.setLattice(&admin.Lattice{Name: "prod", Host: "web-1", Mode: "acknowledged", Hosts: []admin.LatticeHost{
		{Name: "web-1", Self: true, Started: t0, LastSeen: seen, Actors: 12},
		{Name: hostile, Started: t0.Add(time.Hour), LastSeen: seen, Actors: 7}}})
	s, raw = snapshotOf(t, h)
	l := s.Lattice
	if l == nil || l.Name != "prod" || l.Host != "web-1" || l.Mode != "acknowledged" || l.TotalHosts != 2 || len(l.Hosts) != 2 {
		t.Fatalf("lattice: %+v", l)
	}
	if got := l.Hosts[0]; got != (admin.LatticeHost{Name: "web-1", Self: true, Started: t0, LastSeen: seen, Actors: 12}) {
		t.Errorf("this host: %+v", got)
	}
	if got := l.Hosts[1]; got.Name != hostile || got.Self || got.Actors != 7 || !got.Started.Equal(t0.Add(time.Hour)) {
		t.Errorf("the other host: %+v", got)
	}
	if s.Status.Lattice != nil || strings.Contains(string(raw["status"]), "lattice") {
		t.Errorf("the lattice is sent twice (in the status too): %s", raw["status"])
	}
	if strings.Contains(string(raw["lattice"]), "<") {
		t.Errorf("a host name carries markup unescaped: %s", raw["lattice"])
	}

	// 1,000 hosts, this one last: the first ones up to the cap, this one in
	// the last place, and the total.
	big := &admin.Lattice{Name: "big", Host: "self", Mode: "fire-and-forget"}
	for i := range 999 {
		big.Hosts = append(big.Hosts, admin.LatticeHost{Name: fmt.Sprintf("h%04d-%s", i, strings.Repeat("x", 200)), Actors: i})
	}
	big.Hosts = append(big.Hosts, admin.LatticeHost{Name: "self", Self: true, Actors: 1})
	f.setLattice(big)
	s, raw = snapshotOf(t, h)
	l = s.Lattice
	if l == nil || l.TotalHosts != 1000 || len(l.Hosts) != maxLatticeHosts {
		t.Fatalf("a big lattice: %d of %d hosts sent, want %d of 1000", len(l.Hosts), l.TotalHosts, maxLatticeHosts)
	}
	if l.Hosts[0].Actors != 0 || l.Hosts[maxLatticeHosts-2].Actors != maxLatticeHosts-2 || l.Hosts[maxLatticeHosts-1].Name != "self" ||
		!l.Hosts[maxLatticeHosts-1].Self {
		t.Errorf("the hosts kept: first %+v, last two %q %q", l.Hosts[0].Name, l.Hosts[maxLatticeHosts-2].Name, l.Hosts[maxLatticeHosts-1].Name)
	}
	if n := len(raw["lattice"]); n > 100_000 {
		t.Errorf("the lattice takes %d bytes of a snapshot", n)
	}

	// The lattice goes: so does the snapshot's.
	f.setLattice(nil)
	if s, _ := snapshotOf(t, h); s.Lattice != nil {
		t.Errorf("the lattice stays after the host left it: %+v", s.Lattice)
	}
}
