package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/security"
)

// fixture is a host's data directory, its policy and the key its
// components are signed with.
type fixture struct {
	dir    string
	policy string
	key    security.PrivateKey
	cfg    *config.Host
}

// trustedPolicy lists the fixture's key as a trusted publisher that may
// log and keep data in bucket "default".
const trustedPolicy = `[policy]
require-signatures = true

[trust.trusted]
logging = true
config = ["*"]
storage-buckets = ["default"]
storage-read = true
storage-write = true
storage-delete = true

[[publisher]]
name = "test"
key = %q
`

func newFixture(t testing.TB) *fixture {
	t.Helper()
	_, priv, err := security.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &fixture{dir: filepath.Join(dir, "data"), policy: filepath.Join(dir, "policy.toml"), key: priv}
	f.writePolicy(t, fmt.Sprintf(trustedPolicy, priv.Public().String()))
	f.cfg = f.config(t, "")
	return f
}

func (f *fixture) writePolicy(t testing.TB, text string) {
	t.Helper()
	if err := os.WriteFile(f.policy, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) config(t testing.TB, extra string) *config.Host {
	t.Helper()
	cfg, err := config.Parse("host.toml", []byte(fmt.Sprintf("[host]\ndata-dir = %q\npolicy = %q\nshutdown-drain = \"5s\"\n%s",
		f.dir, f.policy, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (f *fixture) open(t testing.TB, o Options) *Service {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(context.Background(), f.cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func fixtureWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// manifestFor asks for logging, configuration and bucket "default".
func manifestFor(name, version string, extra string) []byte {
	return []byte(fmt.Sprintf(`[component]
name = %q
version = %q

[resources]
memory = "64MiB"
mailbox = 4096

[capabilities]
logging = true
config = ["greeting", "topic"]

[capabilities.storage]
buckets = ["default"]
read = true
write = true
delete = true
%s`, name, version, extra))
}

// install signs fixture wasm as name@version and installs it.
func (f *fixture) install(t testing.TB, s *Service, wasm, name, version string) admin.Component {
	t.Helper()
	w := fixtureWasm(t, wasm)
	m := manifestFor(name, version, "")
	sig := security.Sign(f.key, w, m)
	c, err := s.Install(context.Background(), admin.InstallRequest{Wasm: w, Manifest: m, Signature: sig.Marshal()})
	if err != nil {
		t.Fatalf("install %s@%s: %v", name, version, err)
	}
	return c
}

func deploy(t testing.TB, s *Service, app string) admin.Report {
	t.Helper()
	rep, err := s.Deploy(context.Background(), "app.toml", []byte(app), nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return rep
}

// actions is a report as "id:action" in order.
func actions(rep admin.Report) string {
	var out []string
	for _, r := range rep.Actors {
		s := r.ID + ":" + r.Action
		if r.Error != "" {
			s += "(" + r.Error + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func post(t testing.TB, h http.Handler, path, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

const echoApp = `[app]
name = "demo"

[[actor]]
id = "demo/echo/*"
component = { store = "echo@%s" }
instances = %d
%s

[[route]]
method = "POST"
path = "/echo"
actor = "demo/echo/*"
`

func echoAppFile(version string, instances int, extra string) string {
	return fmt.Sprintf(echoApp, version, instances, extra)
}

// TestDeployReconciles: a deploy starts what is missing, stops what was
// removed, updates what changed through the live path, replaces what
// changed settings, and the same file twice changes nothing.
func TestDeployReconciles(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")

	var mu sync.Mutex
	var heard []string
	rep, err := s.Deploy(context.Background(), "app.toml", []byte(echoAppFile("1.0.0", 2, "")), func(r admin.ActorResult) {
		mu.Lock()
		heard = append(heard, r.ID+":"+r.Action)
		mu.Unlock()
	})
	if got := actions(rep); err != nil || got != "demo/echo/1:started demo/echo/2:started" || !rep.Changed {
		t.Fatalf("first deploy: %s %v", got, err)
	}
	mu.Lock()
	if len(heard) != 2 || !strings.Contains(strings.Join(heard, " "), "demo/echo/2:started") {
		t.Fatalf("progress: %v", heard)
	}
	mu.Unlock()
	if code, body := post(t, s.Gateway(), "/echo", "hello"); code != 200 || body != "hello" {
		t.Fatalf("gateway: %d %q", code, body)
	}
	rep = deploy(t, s, echoAppFile("1.0.0", 2, ""))
	if got := actions(rep); rep.Changed || got != "demo/echo/1:unchanged demo/echo/2:unchanged" {
		t.Fatalf("the same file again: changed=%v %s", rep.Changed, got)
	}
	// A new version and one more instance: two live updates, one start.
	rep = deploy(t, s, echoAppFile("1.1.0", 3, ""))
	if got := actions(rep); got != "demo/echo/1:updated demo/echo/2:updated demo/echo/3:started" {
		t.Fatalf("update and scale up: %s", got)
	}
	a, err := s.Actor(context.Background(), "demo/echo/2")
	if err != nil || a.Component != "echo@1.1.0" || a.Rollback != "echo@1.0.0" || a.State != "running" || a.Restarts != 0 {
		t.Fatalf("after the update: %+v %v", a, err)
	}
	// Settings changed (configuration): replaced; one instance fewer: stopped.
	rep = deploy(t, s, echoAppFile("1.1.0", 2, "[actor.config]\ngreeting = \"hi\"\n"))
	if got := actions(rep); got != "demo/echo/1:replaced demo/echo/2:replaced demo/echo/3:stopped" {
		t.Fatalf("config change and scale down: %s", got)
	}
	if _, err := s.Actor(context.Background(), "demo/echo/3"); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("a removed actor is still there: %v", err)
	}
	for i := 0; i < 4; i++ {
		if code, _ := post(t, s.Gateway(), "/echo", "x"); code != 200 {
			t.Fatalf("gateway after the changes: %d", code)
		}
	}
	// An actor stopped by hand is started again by the same file.
	if err := s.Stop(context.Background(), "demo/echo/1"); err != nil {
		t.Fatal(err)
	}
	rep = deploy(t, s, echoAppFile("1.1.0", 2, "[actor.config]\ngreeting = \"hi\"\n"))
	if got := actions(rep); got != "demo/echo/1:started demo/echo/2:unchanged" {
		t.Fatalf("mending a stopped actor: %s", got)
	}
	st, _ := s.Status(context.Background())
	if st.Apps != 1 || st.Actors != 2 || len(st.Problems) != 0 {
		t.Fatalf("status %+v", st)
	}
	// Delete: everything stops and the route goes.
	rep, err = s.DeleteApp(context.Background(), "demo")
	if err != nil || actions(rep) != "demo/echo/1:stopped demo/echo/2:stopped" {
		t.Fatalf("delete: %s %v", actions(rep), err)
	}
	if code, _ := post(t, s.Gateway(), "/echo", "x"); code != 404 {
		t.Fatalf("route of a deleted app: %d", code)
	}
	if len(s.System().Actors()) != 0 {
		t.Fatalf("actors left: %v", s.System().Actors())
	}
	if _, err := s.DeleteApp(context.Background(), "demo"); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

// TestDeployRefusalsChangeNothing: a bad file, a version not installed,
// resources above the manifest's and a policy that refuses the component
// are errors with their codes, and nothing runs or is recorded.
func TestDeployRefusalsChangeNothing(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	cases := []struct {
		name, app string
		code      error
	}{
		{"bad file", "[app]\nname = \"demo\"\n[[actor]]\nid = \"x\"\n", admin.ErrInvalid},
		{"grants in the file", echoAppFile("1.0.0", 1, "[actor.capabilities]\nlogging = true\n"), admin.ErrInvalid},
		{"not installed", echoAppFile("9.0.0", 1, ""), admin.ErrNotFound},
		{"raises resources", echoAppFile("1.0.0", 1, "[actor.resources]\nmemory = \"1GiB\"\n"), admin.ErrDenied},
		{"raises the mailbox", echoAppFile("1.0.0", 1, "mailbox = 100000\n"), admin.ErrDenied},
	}
	for _, c := range cases {
		_, err := s.Deploy(context.Background(), "app.toml", []byte(c.app), nil)
		if !errors.Is(err, c.code) {
			t.Errorf("%s: %v, want %v", c.name, err, c.code)
		}
	}
	if apps, _ := s.st.List(context.Background()); len(apps) != 0 || len(s.System().Actors()) != 0 {
		t.Fatalf("refused deploys left %d apps, %v", len(apps), s.System().Actors())
	}

	// A policy that lists no publisher (the default one) admits nothing.
	g := newFixture(t)
	g.cfg = g.config(t, "")
	g.cfg.Policy, g.cfg.PolicyDefault = filepath.Join(g.dir, "policy.toml"), true
	s2 := g.open(t, Options{})
	w := fixtureWasm(t, "actor2_echo")
	m := manifestFor("echo", "1.0.0", "")
	sig := security.Sign(g.key, w, m)
	if _, err := s2.Install(context.Background(), admin.InstallRequest{Wasm: w, Manifest: m, Signature: sig.Marshal()}); !errors.Is(err, admin.ErrDenied) {
		t.Fatalf("the default policy admitted a component: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(g.dir, "policy.toml")); err != nil || !bytes.Contains(b, []byte("require-signatures = true")) {
		t.Fatalf("default policy not written: %v", err)
	}
	// Dev mode is the explicit way to allow everything.
	h := newFixture(t)
	h.cfg = h.config(t, "")
	s3 := h.open(t, Options{Dev: true})
	if _, err := s3.Install(context.Background(), admin.InstallRequest{Wasm: w, Manifest: m}); err != nil {
		t.Fatalf("dev mode refused an unsigned component: %v", err)
	}
	if rep := deploy(t, s3, echoAppFile("1.0.0", 1, "")); actions(rep) != "demo/echo/1:started" {
		t.Fatalf("dev deploy: %s", actions(rep))
	}
}

// TestRestoreBringsBackAppsVersionsAndData: after the host stops (and
// after a crash: see the serve command's kill -9 test), Restore starts the
// same apps, the versions an operator updated to, and the actors' data.
func TestRestoreBringsBackAppsVersionsAndData(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_kv", "counter", "1.0.0")
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")
	app := `[app]
name = "keep"

[[actor]]
id = "keep/counter/1"
component = { store = "counter@1.0.0" }

[[actor]]
id = "keep/echo/1"
component = { store = "echo@1.0.0" }

[[route]]
method = "POST"
path = "/count"
actor = "keep/counter/1"
`
	deploy(t, s, app)
	for i := 1; i <= 3; i++ {
		if code, body := post(t, s.Gateway(), "/count", "count|default|visits"); code != 200 || body != fmt.Sprint(i) {
			t.Fatalf("count %d: %d %q", i, code, body)
		}
	}
	if r, err := s.Update(context.Background(), "keep/echo/1", "echo@1.1.0"); err != nil || r.Action != admin.ActionUpdated {
		t.Fatalf("update: %+v %v", r, err)
	}
	// The version it runs and its rollback target are pinned.
	if err := s.Uninstall(context.Background(), "echo", "1.0.0"); !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("uninstalling a rollback target: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	s = f.open(t, Options{})
	names, err := s.Restore(context.Background())
	if err != nil || len(names) != 1 || names[0] != "keep" {
		t.Fatalf("restore: %v %v", names, err)
	}
	a, _ := s.Actor(context.Background(), "keep/echo/1")
	if a.Component != "echo@1.1.0" || a.Rollback != "echo@1.0.0" || a.State != "running" {
		t.Fatalf("restored echo: %+v", a)
	}
	if code, body := post(t, s.Gateway(), "/count", "count|default|visits"); code != 200 || body != "4" {
		t.Fatalf("restored counter: %d %q (its data must survive)", code, body)
	}
	if r, err := s.Rollback(context.Background(), "keep/echo/1"); err != nil || r.To != "echo@1.0.0" {
		t.Fatalf("rollback after restore: %+v %v", r, err)
	}
	if _, err := s.Rollback(context.Background(), "keep/counter/1"); !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("rollback of an actor never updated: %v", err)
	}
	if _, err := s.Update(context.Background(), "keep/echo/1", "counter@1.0.0"); !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("an update to another component: %v", err)
	}
	// The same file again changes nothing, and keeps the operator's version.
	rep := deploy(t, s, app)
	if rep.Changed {
		t.Fatalf("redeploy after restore changed: %s", actions(rep))
	}
	st, _ := s.Status(context.Background())
	if len(st.Restored) != 1 || st.Actors != 2 {
		t.Fatalf("status: %+v", st)
	}
	var buf bytes.Buffer
	if err := s.ExportStorage(context.Background(), "counter", &buf); err != nil || !strings.Contains(buf.String(), "visits") {
		t.Fatalf("export: %v %q", err, buf.String())
	}
}

// TestReloadReadmitsUnderTheNewPolicy: a policy that no longer lists the
// publisher stops its actors at the reload.
func TestReloadReadmitsUnderTheNewPolicy(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 2, ""))
	// The same policy: nothing changes.
	res, err := s.Reload(context.Background(), f.config(t, ""))
	if err != nil || len(res) != 0 {
		t.Fatalf("reload, same policy: %+v %v", res, err)
	}
	// A broken policy changes nothing.
	f.writePolicy(t, "[policy]\nbogus = 1\n")
	if _, err := s.Reload(context.Background(), f.config(t, "")); err == nil {
		t.Fatal("a broken policy was accepted")
	}
	if len(s.System().Actors()) != 2 {
		t.Fatal("a refused reload stopped actors")
	}
	f.writePolicy(t, "[policy]\nrequire-signatures = true\n")
	res, err = s.Reload(context.Background(), f.config(t, ""))
	if err != nil || len(res) != 2 || res[0].Action != admin.ActionStopped {
		t.Fatalf("reload, publisher removed: %+v %v", res, err)
	}
	if len(s.System().Actors()) != 0 {
		t.Fatalf("actors the policy refuses still run: %v", s.System().Actors())
	}
	st, _ := s.Status(context.Background())
	if len(st.Problems) != 2 {
		t.Fatalf("status problems: %v", st.Problems)
	}
}

// TestLogsFollow: the components' log lines reach a follower live, and
// the backlog is served first.
func TestLogsFollow(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	s.log.Info("before", "actor", "x/y/1")
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []admin.LogLine
	done := make(chan error, 1)
	go func() {
		done <- s.Logs(ctx, admin.LogQuery{Actor: "x/y/1", Follow: true}, func(l admin.LogLine) error {
			mu.Lock()
			got = append(got, l)
			mu.Unlock()
			return nil
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.log.Info("live", "actor", "x/y/1")
		s.log.Info("other", "actor", "x/z/1")
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follower got %d lines", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Logs did not end with its context")
	}
	mu.Lock()
	defer mu.Unlock()
	if got[0].Message != "before" || got[1].Message != "live" {
		t.Fatalf("lines: %+v", got)
	}
	for _, l := range got {
		if l.Actor != "x/y/1" {
			t.Fatalf("a line of another actor: %+v", l)
		}
	}
}

// TestRoutesOfTwoAppsMustNotClash: an app whose route is another app's is
// refused, and nothing of it runs.
func TestRoutesOfTwoAppsMustNotClash(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	other := strings.ReplaceAll(strings.ReplaceAll(echoAppFile("1.0.0", 1, ""), `name = "demo"`, `name = "other"`), "demo/echo", "other/echo")
	if _, err := s.Deploy(context.Background(), "other.toml", []byte(other), nil); !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("a clashing route: %v", err)
	}
	if len(s.System().Actors()) != 1 {
		t.Fatalf("actors: %v", s.System().Actors())
	}
	if code, _ := post(t, s.Gateway(), "/echo", "x"); code != 200 {
		t.Fatalf("the first app's route: %d", code)
	}
}

// TestRestartStartsAStoppedActor: an operator's restart of a stopped actor
// starts it again (admitted anew); an update of a stopped actor is refused.
func TestRestartStartsAStoppedActor(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	ctx := context.Background()
	if err := s.Stop(ctx, "demo/echo/1"); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, s.Gateway(), "/echo", "x"); code != http.StatusServiceUnavailable {
		t.Fatalf("a stopped actor's route: %d", code)
	}
	if _, err := s.Update(ctx, "demo/echo/1", "echo@1.1.0"); !errors.Is(err, admin.ErrConflict) {
		t.Fatalf("update of a stopped actor: %v", err)
	}
	if err := s.Restart(ctx, "demo/echo/1"); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Actor(ctx, "demo/echo/1"); a.State != "running" || a.Component != "echo@1.0.0" {
		t.Fatalf("after restart: %+v", a)
	}
	if code, body := post(t, s.Gateway(), "/echo", "back"); code != 200 || body != "back" {
		t.Fatalf("after restart: %d %q", code, body)
	}
	if rep := deploy(t, s, echoAppFile("1.0.0", 1, "")); rep.Changed {
		t.Fatalf("the same file after a restart changed: %s", actions(rep))
	}
}

// TestComponentLogLinesCarryTheVersion: a component's wasi:logging line
// names its actor and the version it runs, in the host's JSON log and in
// what logs -f shows.
func TestComponentLogLinesCarryTheVersion(t *testing.T) {
	f := newFixture(t)
	var buf syncBuffer
	s := f.open(t, Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	f.install(t, s, "demo_counter_v1", "echo", "1.0.0") // logs "counter 1.0.0 ready" at init
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	var got []admin.LogLine
	s.Logs(context.Background(), admin.LogQuery{Actor: "demo/echo/1"}, func(l admin.LogLine) error {
		got = append(got, l)
		return nil
	})
	found := false
	for _, l := range got {
		if strings.Contains(l.Message, "ready") && l.Attrs["version"] == "echo@1.0.0" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no init line with its version: %+v", got)
	}
	if !strings.Contains(buf.String(), `"actor":"demo/echo/1"`) || !strings.Contains(buf.String(), `"version":"echo@1.0.0"`) {
		t.Fatalf("the JSON log lacks actor or version:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestQuantile(t *testing.T) {
	b := actor.HandleTimeBounds
	h := actor.Histogram{Bounds: b, Counts: make([]uint64, len(b)+1)}
	if quantile(h, 0.5) != 0 {
		t.Fatal("an empty histogram has a median")
	}
	h.Counts[0], h.Counts[3], h.Counts[len(b)] = 50, 49, 1
	h.Count = 100
	if q := quantile(h, 0.5); q != b[0] {
		t.Fatalf("p50 %v, want %v", q, b[0])
	}
	if q := quantile(h, 0.99); q != b[3] {
		t.Fatalf("p99 %v, want %v", q, b[3])
	}
	if q := quantile(h, 1); q != b[len(b)-1] {
		t.Fatalf("p100 %v, want the last bound", q)
	}
}

// TestActorsReportHandleTimes: with telemetry.handle-times (the default)
// an actor's view has its median and 99th percentile handling times.
func TestActorsReportHandleTimes(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	for i := 0; i < 20; i++ {
		post(t, s.Gateway(), "/echo", "x")
	}
	a, _ := s.Actor(context.Background(), "demo/echo/1")
	if a.HandleP50us <= 0 || a.HandleP99us < a.HandleP50us {
		t.Fatalf("handle times: p50 %d µs, p99 %d µs", a.HandleP50us, a.HandleP99us)
	}
}
