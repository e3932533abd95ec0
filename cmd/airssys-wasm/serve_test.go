package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/security"
)

// TestMain lets a test run this test binary as the command itself (the
// host, as a child process that can be killed): with AIRSSYS_AS_CLI=1 it
// is airssys-wasm.
func TestMain(m *testing.M) {
	if os.Getenv("AIRSSYS_AS_CLI") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// hostProc is `airssys-wasm serve` running as a child process.
type hostProc struct {
	cmd     *exec.Cmd
	sock    string
	gateway string
	mu      sync.Mutex
	log     strings.Builder
	exited  chan struct{}
	waitErr error
}

// hostFixture is a data directory with a policy that trusts key.
type hostFixture struct {
	dir, cfg, policy string
	key              security.PrivateKey
}

const serveTestPolicy = `[policy]
require-signatures = true

[trust.trusted]
logging = true
storage-buckets = ["default"]
storage-read = true
storage-write = true
storage-delete = true

[[publisher]]
name = "test"
key = %q
`

func newHostFixture(t *testing.T) *hostFixture {
	t.Helper()
	_, priv, err := security.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "aw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &hostFixture{dir: dir, cfg: filepath.Join(dir, "host.toml"), policy: filepath.Join(dir, "policy.toml"), key: priv}
	f.setPolicy(t, fmt.Sprintf(serveTestPolicy, priv.Public().String()))
	host := fmt.Sprintf("[host]\ndata-dir = %q\npolicy = %q\nshutdown-drain = \"10s\"\n[gateway]\nlisten = \"127.0.0.1:0\"\n",
		filepath.Join(dir, "data"), f.policy)
	if err := os.WriteFile(f.cfg, []byte(host), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *hostFixture) setPolicy(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(f.policy, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs serve and waits until it listens.
func (f *hostFixture) start(t *testing.T) *hostProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", f.cfg)
	cmd.Env = append(os.Environ(), "AIRSSYS_AS_CLI=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &hostProc{cmd: cmd, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "airssys-wasm serve: admin "); ok {
				ready <- rest
			}
		}
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	select {
	case line := <-ready:
		sock, gw, _ := strings.Cut(line, ", gateway ")
		p.sock, p.gateway = sock, gw
	case <-p.exited:
		t.Fatalf("serve exited: %v\n%s", p.waitErr, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start\n%s", p.logs())
	}
	return p
}

func (p *hostProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *hostProc) client(t *testing.T) *admin.Client {
	t.Helper()
	c, err := admin.Dial("unix:"+p.sock, admin.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *hostProc) waitExit(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(within):
		t.Fatalf("serve did not exit within %v\n%s", within, p.logs())
	}
	return nil
}

func (f *hostFixture) install(t *testing.T, c admin.Backend, wasm, name, version string) {
	t.Helper()
	w, err := os.ReadFile(filepath.Join("..", "..", "testdata", wasm+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	m := []byte(fmt.Sprintf("[component]\nname = %q\nversion = %q\n[resources]\nmemory = \"64MiB\"\n"+
		"[capabilities]\nlogging = true\n[capabilities.storage]\nbuckets = [\"default\"]\nread = true\nwrite = true\n", name, version))
	sig := security.Sign(f.key, w, m)
	if _, err := c.Install(context.Background(), admin.InstallRequest{Wasm: w, Manifest: m, Signature: sig.Marshal()}); err != nil {
		t.Fatalf("install %s: %v", name, err)
	}
}

const counterApp = `[app]
name = "tally"

[[actor]]
id = "tally/counter/1"
component = { store = "counter@1.0.0" }

[[actor]]
id = "tally/echo/*"
component = { store = "echo@1.0.0" }
instances = 3

[[route]]
method = "POST"
path = "/count"
actor = "tally/counter/1"

[[route]]
method = "POST"
path = "/echo"
actor = "tally/echo/*"
`

func gwPost(t *testing.T, gw, path, body string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	r, err := c.Post("http://"+gw+path, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestServeSurvivesKill9: apps deployed through the admin API come back
// after a kill -9 of the host, with their versions and their data, and the
// host says what it restored.
func TestServeSurvivesKill9(t *testing.T) {
	f := newHostFixture(t)
	p := f.start(t)
	c := p.client(t)
	f.install(t, c, "actor2_kv", "counter", "1.0.0")
	f.install(t, c, "actor2_echo", "echo", "1.0.0")
	rep, err := c.Deploy(context.Background(), "app.toml", []byte(counterApp), nil)
	if err != nil || len(rep.Actors) != 4 {
		t.Fatalf("deploy: %+v %v", rep, err)
	}
	for i := 1; i <= 5; i++ {
		if code, body := gwPost(t, p.gateway, "/count", "count|default|n"); code != 200 || body != fmt.Sprint(i) {
			t.Fatalf("count %d: %d %q", i, code, body)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 10*time.Second)

	p = f.start(t)
	c = p.client(t)
	st, err := c.Status(context.Background())
	if err != nil || len(st.Restored) != 1 || st.Restored[0] != "tally" || st.Actors != 4 || len(st.Problems) != 0 {
		t.Fatalf("status after kill -9: %+v %v\n%s", st, err, p.logs())
	}
	if !strings.Contains(p.logs(), `"msg":"restored app","app":"tally"`) {
		t.Fatalf("the host did not say what it restored:\n%s", p.logs())
	}
	if code, body := gwPost(t, p.gateway, "/count", "count|default|n"); code != 200 || body != "6" {
		t.Fatalf("counter after kill -9: %d %q (its data must survive)", code, body)
	}
	rep, err = c.Deploy(context.Background(), "app.toml", []byte(counterApp), nil)
	if err != nil || rep.Changed {
		t.Fatalf("the same app after a restore changed something: %+v %v", rep, err)
	}
}

// TestServeSIGTERMDrains: on SIGTERM the host refuses new work, lets the
// queued messages be handled within the drain time and exits 0.
func TestServeSIGTERMDrains(t *testing.T) {
	f := newHostFixture(t)
	p := f.start(t)
	c := p.client(t)
	f.install(t, c, "actor2_kv", "counter", "1.0.0")
	f.install(t, c, "actor2_echo", "echo", "1.0.0")
	if _, err := c.Deploy(context.Background(), "app.toml", []byte(counterApp), nil); err != nil {
		t.Fatal(err)
	}
	// Load from 4 clients; SIGTERM once 40 requests were answered.
	var ok, answered sync.WaitGroup
	var mu sync.Mutex
	done := 0
	answered.Add(40)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		ok.Add(1)
		go func() {
			defer ok.Done()
			hc := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := hc.Post("http://"+p.gateway+"/count", "text/plain", strings.NewReader("count|default|n"))
				if err != nil {
					return // the listener closed
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode != 200 {
					return
				}
				mu.Lock()
				done++
				if done <= 40 {
					answered.Done()
				}
				mu.Unlock()
			}
		}()
	}
	answered.Wait()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ok.Wait()
	close(stop)
	if err := p.waitExit(t, 20*time.Second); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, p.logs())
	}
	logs := p.logs()
	for _, want := range []string{`"msg":"host stopping: draining"`, `"msg":"actors stopped"`, `"msg":"host stopped"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("no %s in the log:\n%s", want, logs)
		}
	}
	if _, err := os.Stat(p.sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the admin socket is left behind: %v", err)
	}
	// Every request answered 200 was counted, and none more: nothing was
	// lost or half done by the stop.
	p = f.start(t)
	if code, body := gwPost(t, p.gateway, "/count", "count|default|n"); code != 200 || body != fmt.Sprint(done+1) {
		t.Fatalf("after the drain the counter says %q (status %d); %d requests were answered 200", body, code, done)
	}
}

// TestServeSIGHUPReadmits: SIGHUP reads the policy again; actors it no
// longer admits are stopped, and status says so.
func TestServeSIGHUPReadmits(t *testing.T) {
	f := newHostFixture(t)
	p := f.start(t)
	c := p.client(t)
	f.install(t, c, "actor2_kv", "counter", "1.0.0")
	f.install(t, c, "actor2_echo", "echo", "1.0.0")
	if _, err := c.Deploy(context.Background(), "app.toml", []byte(counterApp), nil); err != nil {
		t.Fatal(err)
	}
	f.setPolicy(t, "[policy]\nrequire-signatures = true\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := c.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Actors == 0 && len(st.Problems) == 4 && !st.Reloaded.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: %+v\n%s", st, p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := gwPost(t, p.gateway, "/count", "count|default|n"); code != http.StatusServiceUnavailable {
		t.Fatalf("a route to an actor the policy stopped: %d", code)
	}
}

// TestServeUpdateUnderLoad: redeploying an app with a new version moves
// its actors by live update while HTTP requests flow: no request fails.
func TestServeUpdateUnderLoad(t *testing.T) {
	f := newHostFixture(t)
	p := f.start(t)
	c := p.client(t)
	f.install(t, c, "actor2_kv", "counter", "1.0.0")
	f.install(t, c, "actor2_echo", "echo", "1.0.0")
	f.install(t, c, "actor2_echotext", "echo", "1.1.0")
	if _, err := c.Deploy(context.Background(), "app.toml", []byte(counterApp), nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	okN, bad := 0, []string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	progressed := func(n int) bool { mu.Lock(); defer mu.Unlock(); return okN >= n }
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("w%d-%d", w, i)
				r, err := hc.Post("http://"+p.gateway+"/echo", "text/plain", strings.NewReader(body))
				mu.Lock()
				if err != nil {
					bad = append(bad, err.Error())
				} else {
					b, _ := io.ReadAll(r.Body)
					r.Body.Close()
					if r.StatusCode != 200 || string(b) != body {
						bad = append(bad, fmt.Sprintf("%d %q", r.StatusCode, b))
					} else {
						okN++
					}
				}
				mu.Unlock()
			}
		}()
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for !progressed(n) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d requests answered", okN)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(100)
	rep, err := c.Deploy(context.Background(), "app.toml", []byte(strings.ReplaceAll(counterApp, "echo@1.0.0", "echo@1.1.0")), nil)
	if err != nil {
		t.Fatal(err)
	}
	updated := 0
	for _, r := range rep.Actors {
		if r.Action == admin.ActionUpdated {
			updated++
		}
	}
	if updated != 3 {
		t.Fatalf("redeploy with a new version: %+v", rep)
	}
	mu.Lock()
	at := okN
	mu.Unlock()
	waitFor(at + 100)
	if _, err := c.Rollback(context.Background(), "tally/echo/2"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	at = okN
	mu.Unlock()
	waitFor(at + 100)
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of %d requests failed during the update, e.g. %v", len(bad), okN+len(bad), bad[0])
	}
	a, _ := c.Actor(context.Background(), "tally/echo/1")
	if a.Component != "echo@1.1.0" || a.Restarts != 0 {
		t.Fatalf("after the update: %+v", a)
	}
}

// TestServeAdminAuth: the admin API on TCP refuses a request without the
// token or with a wrong one, answers with the right one, and never shares
// the gateway's listener; the socket's directory and file are private.
func TestServeAdminAuth(t *testing.T) {
	f := newHostFixture(t)
	token := filepath.Join(f.dir, "admin.token")
	if err := os.WriteFile(token, []byte("s3cret-token-of-enough-length\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(f.cfg)
	cfg = append(cfg, fmt.Sprintf("[admin]\nlisten = \"127.0.0.1:0\"\ntoken-file = %q\n", token)...)
	os.WriteFile(f.cfg, cfg, 0o600)
	p := f.start(t)
	st, err := p.client(t).Status(context.Background())
	if err != nil || st.AdminTCP == "" || st.AdminTCP == st.Gateway {
		t.Fatalf("status: %+v %v", st, err)
	}
	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer s3cret-token-of-enough-lengtX", http.StatusUnauthorized},
		{"basic", "Basic czNjcmV0", http.StatusUnauthorized},
		{"right token", "Bearer s3cret-token-of-enough-length", http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", "http://"+st.AdminTCP+"/v1/status", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, r.StatusCode, c.want)
		}
	}
	// The admin API is not on the gateway's listener.
	if r, err := http.Get("http://" + st.Gateway + "/v1/status"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Fatalf("the gateway answers the admin API: %v %v", r, err)
	}
	// The token client works through Dial too.
	c, err := admin.Dial("http://"+st.AdminTCP, admin.ClientOptions{Token: []byte("s3cret-token-of-enough-length")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apps(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad, _ := admin.Dial("http://"+st.AdminTCP, admin.ClientOptions{Token: []byte("nope")})
	var ae *admin.Error
	if _, err := bad.Apps(context.Background()); !errors.As(err, &ae) || ae.Code != admin.CodeUnauthorized {
		t.Fatalf("a wrong token through the client: %v", err)
	}
	for path, want := range map[string]os.FileMode{filepath.Dir(p.sock): 0o700, p.sock: 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: %v %v, want %v", path, fi.Mode().Perm(), err, want)
		}
	}
}

// TestServeConfigErrorsAllAtOnce: a bad host.toml is refused before
// anything starts, every problem on a line of its own with file, line and
// key, exit status 2.
func TestServeConfigErrorsAllAtOnce(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "host.toml")
	os.WriteFile(bad, []byte("[host]\ndata-dir = \"rel\"\nbogus = 1\n[gateway]\nmax-body = -1\n"), 0o600)
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"serve", "--config", bad}, &out, &errb); code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, errb.String())
	}
	for _, want := range []string{bad + ":2: host.data-dir", bad + ":3: host.bogus: unknown key", bad + ":5: gateway.max-body"} {
		if !strings.Contains(errb.String(), want+"") || !strings.Contains(errb.String(), "\n") {
			t.Errorf("no %q in\n%s", want, errb.String())
		}
	}
	if n := strings.Count(errb.String(), "\n"); n != 3 {
		t.Errorf("%d lines, want one per problem:\n%s", n, errb.String())
	}
}

// TestServeDashboardThroughTheCommand: `airssys-wasm dashboard` serves the
// running host's page to a browser on this machine (the key, then the
// cookie), and the admin API refuses the browser's own requests.
func TestServeDashboardThroughTheCommand(t *testing.T) {
	f := newHostFixture(t)
	p := f.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"dashboard", "--host", "unix:" + p.sock}, out, io.Discard) }()
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if s, ok := strings.CutPrefix(out.String(), "dashboard: "); ok {
			url, _, _ = strings.Cut(s, " ")
		} else if time.Now().After(deadline) {
			t.Fatal("the dashboard command printed no address")
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	r, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(page), "<html") || r.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("the page: %d %q", r.StatusCode, page)
	}
	base, _, _ := strings.Cut(url, "/?")
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/ui/"); err != nil || r.StatusCode != http.StatusForbidden {
		t.Fatalf("the page without the key: %v %v", r, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("dashboard exited %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dashboard did not stop with its context")
	}
}
