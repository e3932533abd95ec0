package dashboard

// The dashboard in a real browser: Debian's Chromium, headless, driven by
// chromedp, against a real host (host.Service over a temporary data
// directory) or the test fixture. Without Chromium the tests skip, unless
// AIRSSYS_BROWSER_TESTS=1 (CI) makes its absence a failure. Screenshots
// go to $AIRSSYS_SCREENSHOTS when set (docs/screenshots keeps the ones the
// docs show), else to the test's temporary directory.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/airsstack/airssys-wasm-go/host"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/security"
)

// waitTimeout bounds every wait for the page.
const waitTimeout = 30 * time.Second

// browserPath is Chromium's executable; the test skips without it unless
// AIRSSYS_BROWSER_TESTS is "1".
func browserPath(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("AIRSSYS_BROWSER_TESTS") == "1" {
		t.Fatal("AIRSSYS_BROWSER_TESTS=1 but Chromium is not installed (apt-get install chromium)")
	}
	t.Skip("Chromium is not installed (apt-get install chromium): the browser tests are skipped; " +
		"AIRSSYS_BROWSER_TESTS=1 makes this a failure")
	return ""
}

// newBrowser starts headless Chromium for the test.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browserPath(t)),
		chromedp.WindowSize(1280, 1000), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses root (CI runs as root)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	return bctx
}

// watcher runs before the page's own script: it keeps the page's errors
// and the content security policy's refusals.
const watcher = `window.__errors = [];
window.addEventListener('error', (e) => window.__errors.push('error: ' + e.message));
window.addEventListener('unhandledrejection', (e) => window.__errors.push('rejection: ' + e.reason));
window.addEventListener('securitypolicyviolation', (e) => window.__errors.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));`

// newTab opens a tab of browser with the watcher, 1280x1000.
func newTab(t testing.TB, browser context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 1000)); err != nil {
		cancel()
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watcher}); err != nil {
		cancel()
		t.Fatal(err)
	}
	return tab, cancel
}

// waitFor waits until the JavaScript expression is true on the page.
func waitFor(t testing.TB, tab context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		t.Fatalf("waiting for %s: %v (page: %q)", what, err, pageErrors(tab))
	}
}

func act(t testing.TB, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (page: %q)", what, err, pageErrors(tab))
	}
}

func eval[T any](t testing.TB, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func pageErrors(tab context.Context) []string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	errs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(window.__errors || []).concat(
		['notice: ' + ((document.getElementById('notice') || {}).textContent || '')])`))
	return errs
}

// screenshotDir is where screenshots go.
func screenshotDir(t testing.TB) string {
	dir := os.Getenv("AIRSSYS_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t testing.TB, tab context.Context, dir, name string) {
	t.Helper()
	// Two frames first: rows of the tree (content-visibility: auto) that
	// a change of the layout just moved into view are painted a frame
	// after it.
	eval[chromedp.Void](t, tab, `window.__framed = false;
		requestAnimationFrame(() => requestAnimationFrame(() => { window.__framed = true; }))`)
	waitFor(t, tab, "two frames before "+name, `window.__framed === true`)
	buf, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// actorSel selects an actor's row in the tree.
func actorSel(id string) chromedp.CSS { return chromedp.CSS(`button.actor[data-id="` + id + `"]`) }

// rowJS is an actor's row in the page's JavaScript.
func rowJS(id string) string { return `document.querySelector('button.actor[data-id="` + id + `"]')` }

// ---- a real host ----------------------------------------------------------------

// liveHost is a host.Service over a temporary data directory, whose
// policy trusts key, with the dashboard and the admin API on a loopback
// test server.
type liveHost struct {
	s   *host.Service
	key security.PrivateKey
	srv *httptest.Server
	h   *handler
}

const livePolicy = `[policy]
require-signatures = true

[trust.trusted]
logging = true
storage-buckets = ["default"]
storage-read = true
storage-write = true
publish = ["counters.>"]
subscribe = ["counters.>"]

[[publisher]]
name = "test"
key = %q
`

func startHost(t testing.TB, o Options) *liveHost {
	t.Helper()
	_, priv, err := security.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(pol, []byte(fmt.Sprintf(livePolicy, priv.Public().String())), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("host.toml", []byte(fmt.Sprintf("[host]\ndata-dir = %q\npolicy = %q\nshutdown-drain = \"5s\"\n",
		filepath.Join(dir, "data"), pol)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := host.Open(context.Background(), cfg, host.Options{Logger: slog.New(slog.DiscardHandler), Version: "browser-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	lh := &liveHost{s: s, key: priv}
	o.Context = ctx
	d, err := New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	lh.h = d.(*handler)
	mux := http.NewServeMux()
	mux.Handle("/v1/", admin.NewHandler(s, admin.HandlerOptions{}))
	mux.Handle(DefaultPrefix, d)
	lh.srv = httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(func() {
		stop() // the streams end, then the server can close
		lh.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return lh
}

// install signs testdata/<wasm>.wasm as name@version, with caps added to
// its manifest's [capabilities], and installs it.
func (lh *liveHost) install(t testing.TB, wasm, name, version, caps string) {
	t.Helper()
	w, err := os.ReadFile(filepath.Join("..", "..", "testdata", wasm+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	m := []byte(fmt.Sprintf("[component]\nname = %q\nversion = %q\n\n[resources]\nmemory = \"16MiB\"\n"+
		"timeout-per-message = \"2s\"\n\n[capabilities]\nlogging = true\n%s", name, version, caps))
	sig := security.Sign(lh.key, w, m)
	if _, err := lh.s.Install(context.Background(), admin.InstallRequest{Wasm: w, Manifest: m, Signature: sig.Marshal()}); err != nil {
		t.Fatalf("install %s@%s: %v", name, version, err)
	}
}

func (lh *liveHost) deploy(t testing.TB, app string) admin.Report {
	t.Helper()
	rep, err := lh.s.Deploy(context.Background(), "app.toml", []byte(app), nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	for _, a := range rep.Actors {
		if a.Action != admin.ActionStarted {
			t.Fatalf("deploy: %s %s %s", a.ID, a.Action, a.Error)
		}
	}
	return rep
}

// call sends an HTTP request through the host's gateway.
func (lh *liveHost) call(method, path, body string) (int, string) {
	rec := httptest.NewRecorder()
	lh.s.Gateway().ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

// The demo app of examples/service, with a trapping actor and a
// scriptable one beside it.
const (
	storageCaps = "\n[capabilities.storage]\nbuckets = [\"default\"]\nread = true\nwrite = true\n"
	shopApp     = `[app]
name = "shop"

[[actor]]
id = "shop/counter/*"
component = { store = "counter@1.0.0" }
instances = 2

[[actor]]
id = "shop/audit/1"
component = { store = "audit@1.0.0" }
subscriptions = ["counters.changed"]

[[actor]]
id = "shop/trapper/1"
component = { store = "trapper@1.0.0" }

[[actor]]
id = "shop/agent/1"
component = { store = "agent@1.0.0" }

[[route]]
method = "POST"
path = "/api/counters/{name}"
actor = "shop/counter/*"

[[route]]
method = "POST"
path = "/trap"
actor = "shop/trapper/1"

[[route]]
method = "POST"
path = "/agent"
actor = "shop/agent/1"
`
)

// TestBrowserDashboard: the demo app on a real host, the page in
// Chromium: the tree, a chart that moves under traffic, a dead letter
// from a trapping actor with its reason, guest markup shown as text, a
// rollback clicked and the version changing, the keyboard, a narrow
// screen; screenshots of each.
func TestBrowserDashboard(t *testing.T) {
	browserPath(t)
	lh := startHost(t, Options{})
	lh.install(t, "demo_counter_v1", "counter", "1.0.0", "\n[capabilities.messaging]\npublish = [\"counters.changed\"]\n"+storageCaps)
	lh.install(t, "demo_counter_v2", "counter", "1.1.0", "\n[capabilities.messaging]\npublish = [\"counters.changed\"]\n"+storageCaps)
	lh.install(t, "demo_audit", "audit", "1.0.0", "\n[capabilities.messaging]\nsubscribe = [\"counters.changed\"]\n"+storageCaps)
	lh.install(t, "actor_trapper", "trapper", "1.0.0", "")
	lh.install(t, "actor2_agent", "agent", "1.0.0", "")
	rep := lh.deploy(t, shopApp)
	if code, body := lh.call("POST", "/api/counters/apples", ""); code != 200 {
		t.Fatalf("the demo app does not answer: %d %s", code, body)
	}
	shots := screenshotDir(t)

	// Traffic on the counters while the test runs.
	ctx, stopTraffic := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				lh.call("POST", "/api/counters/apples", "")
			}
		}
	}()
	defer func() {
		stopTraffic()
		wg.Wait()
	}()

	browser := newBrowser(t)
	tab, closeTab := newTab(t, browser)
	defer closeTab()
	act(t, tab, "open the page", chromedp.Navigate(lh.srv.URL+"/ui/"))

	// The tree: every actor of the app, with its state and version.
	for _, a := range rep.Actors {
		act(t, tab, "the tree shows "+a.ID, chromedp.WaitVisible(actorSel(a.ID)))
	}
	waitFor(t, tab, "counter 1 running 1.0.0", rowJS("shop/counter/1")+`.querySelector('.state').textContent === 'running' && `+
		rowJS("shop/counter/1")+`.querySelector('.ver').textContent === 'counter@1.0.0'`)
	if got := eval[string](t, tab, `document.querySelector('#tree summary').textContent`); !strings.Contains(got, "shop") {
		t.Errorf("the tree's app: %q", got)
	}

	// A chart that moves: the rate of a counter under traffic.
	act(t, tab, "select counter 1", chromedp.Click(actorSel("shop/counter/1")), chromedp.WaitVisible(chromedp.ID("rate-chart")))
	waitFor(t, tab, "a rate above zero", `Number(document.getElementById('rate-value').textContent) > 0`)
	eval[chromedp.Void](t, tab, `window.__chart0 = document.getElementById('rate-chart').toDataURL();
		window.__points0 = Number(document.getElementById('rate-chart').dataset.points)`)
	waitFor(t, tab, "the chart to move", `Number(document.getElementById('rate-chart').dataset.points) > window.__points0 &&
		document.getElementById('rate-chart').toDataURL() !== window.__chart0`)
	waitFor(t, tab, "the tree's rate", `/[1-9]/.test(`+rowJS("shop/counter/1")+`.querySelector('.rate').textContent)`)
	waitFor(t, tab, "the actor's health", `Array.from(document.querySelectorAll('#detail-facts dd')).some(d => d.textContent === 'healthy')`)
	screenshot(t, tab, shots, "dashboard")

	// A dead letter from a trapping actor, with its reason.
	if code, _ := lh.call("POST", "/trap", "trap"); code < 500 {
		t.Errorf("a trapping handler answered %d", code)
	}
	dl, err := lh.s.DeadLetters(context.Background(), 10)
	if err != nil || len(dl.Letters) == 0 || dl.Letters[len(dl.Letters)-1].Reason == "" {
		t.Fatalf("the host has no dead letter with a reason: %+v %v", dl, err)
	}
	reason := dl.Letters[len(dl.Letters)-1].Reason
	waitFor(t, tab, "the dead letter", `Array.from(document.querySelectorAll('#dead-letters tbody tr')).some(tr =>
		tr.cells[1].textContent === 'shop/trapper/1' && tr.cells[3].textContent === `+jsString(reason)+`)`)
	waitFor(t, tab, "the trapper's restart", rowJS("shop/trapper/1")+`.querySelector('.restarts').textContent === '↻1'`)

	// Guest text: markup an actor logs is shown as text, and runs nothing.
	evil := `<img src=x onerror="window.__pwned=1"><b>bold</b>`
	act(t, tab, "select the agent", chromedp.Click(actorSel("shop/agent/1")))
	waitFor(t, tab, "the agent's stream", `document.getElementById('detail-id').textContent === 'shop/agent/1'`)
	if code, body := lh.call("POST", "/agent", "log|info|"+evil); code != 200 && code != 204 {
		t.Fatalf("the agent: %d %s", code, body)
	}
	waitFor(t, tab, "the agent's log line", `Array.from(document.querySelectorAll('#logs li')).some(li => li.textContent.includes(`+
		jsString(evil)+`))`)
	if n := eval[int](t, tab, `document.querySelectorAll('img, b').length`); n != 0 {
		t.Errorf("guest markup became %d elements", n)
	}
	if eval[bool](t, tab, `window.__pwned !== undefined`) {
		t.Error("guest script ran")
	}

	// Rollback: counter 1 goes to 1.1.0 through the Backend, then back
	// with the page's button.
	if _, err := lh.s.Update(context.Background(), "shop/counter/1", "counter@1.1.0"); err != nil {
		t.Fatal(err)
	}
	act(t, tab, "select counter 1", chromedp.Click(actorSel("shop/counter/1")))
	waitFor(t, tab, "counter 1 on 1.1.0 with a rollback", rowJS("shop/counter/1")+`.querySelector('.ver').textContent === 'counter@1.1.0' &&
		!document.getElementById('detail-rollback').hidden`)
	if got := eval[string](t, tab, `document.getElementById('rollback-button').textContent`); got != "Roll back to counter@1.0.0" {
		t.Errorf("the rollback button says %q", got)
	}
	waitFor(t, tab, "the store's rollback list", `Array.from(document.querySelectorAll('#rollbacks button')).some(b => b.dataset.id === 'shop/counter/1')`)
	act(t, tab, "click rollback", chromedp.Click(chromedp.ID("rollback-button")))
	// Back on 1.0.0, with 1.1.0 as the version to go back to.
	waitFor(t, tab, "counter 1 back on 1.0.0", rowJS("shop/counter/1")+`.querySelector('.ver').textContent === 'counter@1.0.0' &&
		document.getElementById('rollback-button').textContent === 'Roll back to counter@1.1.0'`)
	waitFor(t, tab, "the rollback's notice", `document.getElementById('notice').textContent.includes('rolled back: counter@1.1.0 → counter@1.0.0')`)
	if a, err := lh.s.Actor(context.Background(), "shop/counter/1"); err != nil || a.Component != "counter@1.0.0" {
		t.Errorf("after the click the host runs %+v (%v)", a, err)
	}
	screenshot(t, tab, shots, "dashboard-rollback")

	// The keyboard: the tree is one tab stop; arrows move, Enter selects,
	// and the focus is visible.
	eval[chromedp.Void](t, tab, `document.querySelector('#tree button.actor[tabindex="0"]').focus()`)
	act(t, tab, "keys", chromedp.KeyEvent(kb.Home), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	second := rep.Actors[1].ID
	waitFor(t, tab, "the second actor selected by keyboard", rowJS(second)+`.getAttribute('aria-pressed') === 'true' &&
		document.activeElement === `+rowJS(second)+` && document.getElementById('detail-id').textContent === `+jsString(second))
	if n := eval[int](t, tab, `document.querySelectorAll('#tree button.actor[tabindex="0"]').length`); n != 1 {
		t.Errorf("%d actor buttons in the tab order, want 1", n)
	}
	if got := eval[string](t, tab, `getComputedStyle(document.activeElement).outlineStyle`); got != "solid" {
		t.Errorf("the keyboard focus has outline %q", got)
	}

	// A narrow screen: one column.
	act(t, tab, "a narrow screen", chromedp.EmulateViewport(400, 900))
	waitFor(t, tab, "one column", `getComputedStyle(document.querySelector('main.grid')).gridTemplateColumns.trim().split(/\s+/).length === 1`)
	screenshot(t, tab, shots, "dashboard-narrow")

	if errs := eval[[]string](t, tab, `window.__errors`); len(errs) > 0 {
		t.Errorf("the page reported errors: %q", errs)
	}
}

// TestBrowserGuestText: hostile text from the Backend (a log line, a dead
// letter's reason) shows as text in a real browser and runs nothing, and
// the content security policy refuses nothing the page does.
func TestBrowserGuestText(t *testing.T) {
	browserPath(t)
	f := newFixture()
	d, err := New(f, Options{Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, d)
	browser := newBrowser(t)
	tab, closeTab := newTab(t, browser)
	defer closeTab()
	act(t, tab, "open the page on counter 1", chromedp.Navigate(srv.URL+"/ui/#shop%2Fcounter%2F1"))
	waitFor(t, tab, "the log lines", `document.querySelectorAll('#logs li').length >= 2`)
	waitFor(t, tab, "the dead letter", `document.querySelectorAll('#dead-letters tbody tr').length === 1`)
	if got := eval[string](t, tab, `document.querySelector('#logs li').textContent`); !strings.HasSuffix(got, " INFO "+hostile) {
		t.Errorf("the log line shows %q", got)
	}
	if got := eval[string](t, tab, `document.querySelector('#dead-letters tbody tr').cells[3].textContent`); got != "trapped: "+hostile {
		t.Errorf("the dead letter's reason shows %q", got)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("guest markup became %d img elements", n)
	}
	if eval[bool](t, tab, `window.__pwned !== undefined`) {
		t.Error("guest script ran")
	}
	if errs := eval[[]string](t, tab, `window.__errors`); len(errs) > 0 {
		t.Errorf("the page reported errors (CSP refusals included): %q", errs)
	}
}

// TestBrowserLattice: the fixture's host in a lattice of two hosts, then
// one, then a thousand, then none: the page shows the lattice's name and
// mode and each host (this one marked) with its actors, uptime and last
// heartbeat, live; a host that leaves goes away; a host name with markup
// in it shows as text; a list cut to the cap says so; with no lattice the
// panel is gone; on a narrow screen it fits one column.
func TestBrowserLattice(t *testing.T) {
	browserPath(t)
	f := newFixture()
	d, err := New(f, Options{Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, d)
	browser := newBrowser(t)
	tab, closeTab := newTab(t, browser)
	defer closeTab()
	act(t, tab, "open the page", chromedp.Navigate(srv.URL+"/ui/"), chromedp.WaitVisible(actorSel("shop/counter/1")))
	if eval[bool](t, tab, `!document.getElementById('lattice').hidden || document.querySelectorAll('#lattice-hosts tbody tr').length > 0`) {
		t.Error("a host without a lattice shows one")
	}

	// Two hosts: this one and one whose name is markup.
	now := time.Now()
	evil := `<img src=x onerror="window.__pwned=1"><b>web-2</b>`
	f.setLattice(&admin.Lattice{Name: "prod", Host: "web-1", Mode: "acknowledged", Hosts: []admin.LatticeHost{
		{Name: "web-1", Self: true, Started: now.Add(-65*time.Minute - 10*time.Second), LastSeen: now, Actors: 12},
		{Name: evil, Started: now.Add(-30 * time.Second), LastSeen: now.Add(-2 * time.Second), Actors: 7}}})
	const rows = `Array.from(document.querySelectorAll('#lattice-hosts tbody tr'))`
	// cellsJS is each row's cells' text, the host name without its badge.
	const cellsJS = rows + `.map(tr => [tr.cells[0].firstChild.textContent, tr.querySelector('.badge').hidden ? '' : 'self',
		tr.cells[1].textContent, tr.cells[2].textContent, tr.cells[3].textContent])`
	waitFor(t, tab, "two hosts", `!document.getElementById('lattice').hidden && `+rows+`.length === 2`)
	got := eval[[][]string](t, tab, cellsJS)
	if len(got) != 2 || got[0][0] != "web-1" || got[0][1] != "self" || got[0][2] != "12" || got[0][3] != "1h 5m" || got[0][4] != "now" {
		t.Errorf("this host's row: %q", got)
	}
	if len(got) == 2 && (got[1][0] != evil || got[1][1] != "" || got[1][2] != "7" ||
		!regexp.MustCompile(`^[34][0-9](\.[0-9])?s$`).MatchString(got[1][3]) ||
		!regexp.MustCompile(`^[2-9](\.[0-9])?s ago$`).MatchString(got[1][4])) {
		t.Errorf("the other host's row: %q", got[1])
	}
	if got := eval[string](t, tab, `document.getElementById('lattice-title').textContent`); got != "Lattice prod (acknowledged, 2 hosts)" {
		t.Errorf("the lattice's title: %q", got)
	}
	if !eval[bool](t, tab, `document.getElementById('lattice-cut').hidden`) {
		t.Error("a lattice of two hosts is said to be cut")
	}
	if got := eval[string](t, tab, `document.getElementById('host').textContent`); !strings.Contains(got, "lattice prod as web-1") {
		t.Errorf("the header: %q", got)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('img, b').length`); n != 0 {
		t.Errorf("a host name became %d elements", n)
	}
	// Live: the other host's last heartbeat ages with the host's clock.
	waitFor(t, tab, "the last heartbeat to age", rows+`[1].cells[3].textContent !== `+jsString(got[1][4]))
	screenshot(t, tab, screenshotDir(t), "dashboard-lattice")

	// The other host leaves, this one runs more actors.
	f.setLattice(&admin.Lattice{Name: "prod", Host: "web-1", Mode: "acknowledged", Hosts: []admin.LatticeHost{
		{Name: "web-1", Self: true, Started: now.Add(-65 * time.Minute), LastSeen: time.Now(), Actors: 13}}})
	waitFor(t, tab, "one host left", rows+`.length === 1 && `+rows+`[0].cells[1].textContent === '13'`)
	if got := eval[[][]string](t, tab, cellsJS); len(got) != 1 || got[0][0] != "web-1" || got[0][1] != "self" {
		t.Errorf("after the other host left: %q", got)
	}
	if got := eval[string](t, tab, `document.getElementById('lattice-mode').textContent`); got != "(acknowledged, 1 host)" {
		t.Errorf("the lattice's mode and size: %q", got)
	}

	// A narrow screen: the lattice in the one column, within the screen.
	act(t, tab, "a narrow screen", chromedp.EmulateViewport(400, 900))
	waitFor(t, tab, "one column", `getComputedStyle(document.querySelector('main.grid')).gridTemplateColumns.trim().split(/\s+/).length === 1`)
	if !eval[bool](t, tab, `(() => { const r = document.getElementById('lattice').getBoundingClientRect();
		return r.left >= 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth; })()`) {
		t.Error("the lattice does not fit a narrow screen")
	}
	if !eval[bool](t, tab, `(() => { const b = document.querySelector('#lattice-hosts .badge');
		return b.getClientRects().length === 1 && b.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(b).lineHeight) &&
			b.closest('td').getBoundingClientRect().width >= 100; })()`) {
		t.Error("on a narrow screen the host's name column is squeezed (its badge wraps)")
	}
	screenshot(t, tab, screenshotDir(t), "dashboard-lattice-narrow")
	act(t, tab, "a wide screen", chromedp.EmulateViewport(1280, 1000))

	// A thousand hosts: the cap's worth shown, and the page says so.
	big := &admin.Lattice{Name: "big", Host: "web-1", Mode: "fire-and-forget",
		Hosts: []admin.LatticeHost{{Name: "web-1", Self: true, Started: now, LastSeen: now, Actors: 1}}}
	for i := range 999 {
		big.Hosts = append(big.Hosts, admin.LatticeHost{Name: fmt.Sprintf("h%03d", i), Started: now, LastSeen: now, Actors: i})
	}
	f.setLattice(big)
	waitFor(t, tab, "the cut list", fmt.Sprintf(`%s.length === %d && !document.getElementById('lattice-cut').hidden`, rows, maxLatticeHosts))
	if got, want := eval[string](t, tab, `document.getElementById('lattice-cut').textContent`),
		fmt.Sprintf("The lattice has 1000 hosts: only %d are shown, this one among them.", maxLatticeHosts); got != want {
		t.Errorf("the cut says %q, want %q", got, want)
	}

	// No lattice: nothing of it.
	f.setLattice(nil)
	waitFor(t, tab, "the lattice gone", `document.getElementById('lattice').hidden && `+rows+`.length === 0 &&
		!document.getElementById('host').textContent.includes('lattice')`)

	if eval[bool](t, tab, `window.__pwned !== undefined`) {
		t.Error("a host name's script ran")
	}
	if errs := eval[[]string](t, tab, `window.__errors`); len(errs) > 0 {
		t.Errorf("the page reported errors (CSP refusals included): %q", errs)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == '<' || r == '>' || r > 0x7e:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// BenchmarkFirstPaint: a host with 1,000 actors (actor2_echo), the page
// opened in headless Chromium: the time from the navigation's start to
// the tree of all 1,000 actors painted (the frame after the page rendered
// its first snapshot, by the Performance API's clock). Target: at most
// 1 s.
func BenchmarkFirstPaint(b *testing.B) {
	browserPath(b)
	lh := startHost(b, Options{})
	lh.install(b, "actor2_echo", "echo", "1.0.0", "")
	lh.deploy(b, "[app]\nname = \"bench\"\n\n[[actor]]\nid = \"bench/echo/*\"\ncomponent = { store = \"echo@1.0.0\" }\ninstances = 1000\n")
	browser := newBrowser(b)
	var paint, snap float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		lh.waitIdle(b) // no snapshot kept from the tab before
		tab, closeTab := newTab(b, browser)
		b.StartTimer()
		act(b, tab, "open the page", chromedp.Navigate(lh.srv.URL+"/ui/"))
		waitFor(b, tab, "the first paint", `document.documentElement.dataset.firstPaint !== undefined`)
		b.StopTimer()
		if n := eval[int](b, tab, `document.querySelectorAll('#tree button.actor').length`); n != 1000 {
			b.Fatalf("the tree shows %d actors", n)
		}
		paint += eval[float64](b, tab, `Number(document.documentElement.dataset.firstPaint)`)
		snap += eval[float64](b, tab, `Number(document.documentElement.dataset.firstSnapshot)`)
		closeTab()
		b.StartTimer()
	}
	b.ReportMetric(paint/float64(b.N), "ms-first-paint")
	b.ReportMetric(snap/float64(b.N), "ms-first-snapshot")
}

// waitIdle waits until no stream is open and the hub has stopped.
func (lh *liveHost) waitIdle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		lh.h.hub.mu.Lock()
		running := lh.h.hub.running
		lh.h.hub.mu.Unlock()
		if !running && lh.h.active.Load() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard is still busy (%d streams)", lh.h.active.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
