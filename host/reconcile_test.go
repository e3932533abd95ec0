package host

// Reconcile in every combination, from a review: each test under "bugs"
// failed on a bug it found (fixed since), the others cover behaviours
// worth keeping.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/host/state"
	"github.com/airsstack/airssys-wasm-go/security"
)

var bg = context.Background()

// installManifest signs wasm with manifest and installs it (unsigned in dev
// mode when sign is false).
func (f *fixture) installManifest(t testing.TB, s *Service, wasm string, manifest []byte, sign bool) admin.Component {
	t.Helper()
	w := fixtureWasm(t, wasm)
	req := admin.InstallRequest{Wasm: w, Manifest: manifest}
	if sign {
		sig := security.Sign(f.key, w, manifest)
		req.Signature = sig.Marshal()
	}
	c, err := s.Install(bg, req)
	if err != nil {
		t.Fatalf("install %s: %v", wasm, err)
	}
	return c
}

func trapperManifest(version string) []byte {
	return []byte(fmt.Sprintf(`[component]
name = "trapper"
version = %q

[resources]
memory = "64MiB"

[capabilities]
config = ["fail-init"]
`, version))
}

func pinsOf(t testing.TB, s *Service, name, version string) []string {
	t.Helper()
	c, err := s.Component(bg, name, version)
	if err != nil {
		t.Fatalf("component %s@%s: %v", name, version, err)
	}
	return c.InUse
}

// ---- bugs ------------------------------------------------------------------

// An app may name an actor id that another app runs: reconcile then
// adopts the other app's actor (actorOf finds it), and deleting the second
// app stops the first app's actor.
func TestActorIDOfAnotherApp(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	other := "[app]\nname = \"other\"\n\n[[actor]]\nid = \"demo/echo/1\"\ncomponent = { store = \"echo@1.0.0\" }\n"
	rep, err := s.Deploy(bg, "other.toml", []byte(other), nil)
	if !errors.Is(err, admin.ErrConflict) {
		t.Errorf("an app naming another app's actor: %s %v, want conflict", actions(rep), err)
	}
	if err == nil {
		if _, err := s.DeleteApp(bg, "other"); err != nil {
			t.Fatal(err)
		}
	}
	if code, _ := post(t, s.Gateway(), "/echo", "x"); code != 200 {
		t.Errorf("app demo lost its actor to app other: gateway %d", code)
	}
	a, _ := s.Actor(bg, "demo/echo/1")
	if a.App != "demo" || a.State != "running" {
		t.Errorf("demo/echo/1: %+v", a)
	}
}

// Stop releases the pins of the actor's version although the desired
// state still names it: the version can be uninstalled, and then neither
// the same file nor a restart brings the app back.
func TestStoppedActorVersionStaysPinned(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	app := echoAppFile("1.0.0", 1, "")
	deploy(t, s, app)
	if err := s.Stop(bg, "demo/echo/1"); err != nil {
		t.Fatal(err)
	}
	err := s.Uninstall(bg, "echo", "1.0.0")
	if !errors.Is(err, admin.ErrConflict) {
		t.Errorf("uninstalling the version of a stopped actor of a deployed app: %v, want conflict", err)
	}
	if err == nil {
		if _, err := s.Deploy(bg, "app.toml", []byte(app), nil); err != nil {
			t.Errorf("then the same file again fails: %v", err)
		}
		s.Shutdown(bg)
		s = f.open(t, Options{})
		if names, err := s.Restore(bg); err != nil || len(names) != 1 {
			t.Errorf("and a restart loses the app: %v %v", names, err)
		}
	}
}

// A changed [supervisor] restarts every actor, but they are reported as
// started, not replaced: stopActor forgets them in step 1, so step 2 never
// sees them (the restartAll branch that sets replaced is dead code).
func TestSupervisorChangeReportsReplaced(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 2, ""))
	rep := deploy(t, s, echoAppFile("1.0.0", 2, "[supervisor]\nstrategy = \"one-for-all\"\n"))
	if got := actions(rep); got != "demo/echo/1:replaced demo/echo/2:replaced" {
		t.Errorf("supervisor change: %s", got)
	}
	for _, r := range rep.Actors {
		if r.From != "echo@1.0.0" {
			t.Errorf("%s: from %q", r.ID, r.From)
		}
	}
	if rep := deploy(t, s, echoAppFile("1.0.0", 2, "[supervisor]\nstrategy = \"one-for-all\"\n")); rep.Changed {
		t.Errorf("the same file again: %s", actions(rep))
	}
}

// An actor updated by a deploy keeps echo@1.0.0 as its rollback target,
// but a later settings change (replace) or supervisor change drops it:
// markStarted only knows operator rollback targets (rec.Actors).
func TestReplaceKeepsRollbackTarget(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	deploy(t, s, echoAppFile("1.1.0", 1, ""))
	if a, _ := s.Actor(bg, "demo/echo/1"); a.Rollback != "echo@1.0.0" {
		t.Fatalf("after the update: %+v", a)
	}
	rep := deploy(t, s, echoAppFile("1.1.0", 1, "[actor.config]\ngreeting = \"hi\"\n"))
	if actions(rep) != "demo/echo/1:replaced" {
		t.Fatalf("config change: %s", actions(rep))
	}
	if a, _ := s.Actor(bg, "demo/echo/1"); a.Rollback != "echo@1.0.0" {
		t.Errorf("a settings change dropped the rollback target: %+v", a)
	}
	if err := s.Uninstall(bg, "echo", "1.0.0"); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("the former rollback target is no longer pinned: %v", err)
	}
}

// Reconcile compares versions by the component's bytes only
// (a.ver.Digest != w.adm.ver.Digest): a file that moves an actor to
// another version (or another component) with the same wasm bytes is
// "unchanged", and the actor goes on as the old version (its manifest's
// grants, its pins, what ps shows), while the desired state says the new.
func TestSameBytesOtherVersion(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echo", "echo", "1.0.1") // same bytes, another manifest
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	rep := deploy(t, s, echoAppFile("1.0.1", 1, ""))
	if got := actions(rep); got != "demo/echo/1:updated" {
		t.Errorf("1.0.0 -> 1.0.1: %s", got)
	}
	if a, _ := s.Actor(bg, "demo/echo/1"); a.Component != "echo@1.0.1" {
		t.Errorf("after the deploy of 1.0.1 the actor runs %q", a.Component)
	}
	if p := pinsOf(t, s, "echo", "1.0.1"); len(p) == 0 {
		t.Errorf("echo@1.0.1 is not pinned although the app runs it")
	}
	// The operator's update has the same blind spot (moveTo: cur.Digest == v.Digest).
	deploy(t, s, echoAppFile("1.0.0", 1, "[actor.config]\ngreeting = \"x\"\n")) // replaced: runs 1.0.0
	r, err := s.Update(bg, "demo/echo/1", "echo@1.0.1")
	if a, _ := s.Actor(bg, "demo/echo/1"); err != nil || r.Action != admin.ActionUpdated || a.Component != "echo@1.0.1" {
		t.Errorf("update 1.0.0 -> 1.0.1: %+v %v; runs %q", r, err, a.Component)
	}
}

// In dev mode the actor's data owner comes from Spec.Owner (no grants);
// a file that gives an id another component goes through UpdateAll, which
// keeps the live spec's Owner: the new component reads and writes the old
// one's data. (moveTo refuses a change of component for this very reason.)
func TestComponentChangeKeepsIdentity(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{Dev: true})
	f.installManifest(t, s, "actor2_kv", manifestFor("counter", "1.0.0", ""), false)
	f.installManifest(t, s, "demo_counter_v1", manifestFor("other", "1.0.0", ""), false)
	deploy(t, s, "[app]\nname = \"kv\"\n\n[[actor]]\nid = \"kv/c/1\"\ncomponent = { store = \"counter@1.0.0\" }\n\n"+
		"[[route]]\nmethod = \"POST\"\npath = \"/count\"\nactor = \"kv/c/1\"\n")
	for i := 1; i <= 3; i++ {
		if code, body := post(t, s.Gateway(), "/count", "count|default|visits"); code != 200 || body != fmt.Sprint(i) {
			t.Fatalf("count %d: %d %q", i, code, body)
		}
	}
	rep := deploy(t, s, "[app]\nname = \"kv\"\n\n[[actor]]\nid = \"kv/c/1\"\ncomponent = { store = \"other@1.0.0\" }\n\n"+
		"[[route]]\nmethod = \"POST\"\npath = \"/api/counters/{name}\"\nactor = \"kv/c/1\"\n")
	t.Logf("component change: %s", actions(rep))
	code, body := post(t, s.Gateway(), "/api/counters/visits", "")
	if code != 200 || !strings.Contains(body, `"count":1,`) {
		t.Errorf("component other reached counter's data: %d %s, want count 1", code, body)
	}
}

// Scaling down stops the dropped instances before the gateway's routes
// lose them: requests round-robined to a stopped instance fail while the
// deploy runs (the issue asks for no failed request during an update).
func TestScaleDownRoutesFirst(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 3, ""))
	var codes []int
	_, err := s.Deploy(bg, "app.toml", []byte(echoAppFile("1.0.0", 2, "")), func(r admin.ActorResult) {
		if r.Action == admin.ActionStopped {
			for range 3 {
				code, _ := post(t, s.Gateway(), "/echo", "x")
				codes = append(codes, code)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if c != 200 {
			t.Errorf("requests during a scale down: %v", codes)
			break
		}
	}
}

// Restore says an app was restored when none of its actors started (the
// tree failed): reconcile returns no error, only failed actor results.
func TestRestoreOfAppThatDidNotStart(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.installManifest(t, s, "actor_trapper", trapperManifest("1.0.0"), true)
	src := "[app]\nname = \"t\"\n\n[[actor]]\nid = \"t/trap/1\"\ncomponent = { store = \"trapper@1.0.0\" }\n" +
		"[actor.config]\nfail-init = \"1\"\n"
	app, err := config.ParseApp("t.toml", []byte(src), s.config())
	if err != nil {
		t.Fatal(err)
	}
	// The desired state as a host left it before its actor stopped starting.
	rec := state.App{Name: "t", Digest: app.Digest(), Source: []byte(src), Deployed: time.Now().UTC(),
		Resolved: map[string]string{app.Actors[0].Component.String(): "trapper@1.0.0"}}
	if err := s.st.Put(bg, rec); err != nil {
		t.Fatal(err)
	}
	names, err := s.Restore(bg)
	if len(s.System().Actors()) != 0 {
		t.Fatalf("actors: %v", s.System().Actors())
	}
	if err == nil && len(names) == 1 {
		t.Errorf("restore reports app t restored (%v, err %v) but none of its actors runs", names, err)
	}
}

// Stop's doc says the actor stays in its app and ps shows it stopped; it
// shows "missing" (stopActor forgets the actorRun and the system cell).
func TestStoppedActorShowsStopped(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	if err := s.Stop(bg, "demo/echo/1"); err != nil {
		t.Fatal(err)
	}
	a, err := s.Actor(bg, "demo/echo/1")
	if err != nil || a.State != "stopped" || a.Component != "echo@1.0.0" {
		t.Errorf("a stopped actor: %+v %v", a, err)
	}
}

// logbook.WithAttrs keeps only the last attribute of the slice it gets
// (each iteration starts again from b.attrs).
func TestLogbookWithAttrs(t *testing.T) {
	book := newLogbook(slog.DiscardHandler, slog.LevelInfo, 10)
	log := slog.New(book).With("actor", "a/b/1", "component", "echo@1.0.0", "app", "demo")
	log.Info("hello")
	lines := book.core.recent("", 10)
	if len(lines) != 1 {
		t.Fatalf("lines: %+v", lines)
	}
	l := lines[0]
	if l.Actor != "a/b/1" || l.Attrs["component"] != "echo@1.0.0" || l.Attrs["app"] != "demo" {
		t.Errorf("With's attributes lost: actor %q attrs %v", l.Actor, l.Attrs)
	}
}

// ---- behaviours that hold (keep) --------------------------------------------

// A version change, a settings change and a scale down in one deploy; then
// a scale up with a version change; the same file twice changes nothing,
// and the pins follow the running versions exactly.
func TestEverythingAtOnce(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")
	deploy(t, s, echoAppFile("1.0.0", 3, ""))
	cfg := "[actor.config]\ngreeting = \"hi\"\n"
	rep := deploy(t, s, echoAppFile("1.1.0", 2, cfg))
	if got := actions(rep); got != "demo/echo/1:replaced demo/echo/2:replaced demo/echo/3:stopped" {
		t.Fatalf("version+settings+scale down: %s", got)
	}
	for _, r := range rep.Actors[:2] {
		if r.From != "echo@1.0.0" || r.To != "echo@1.1.0" {
			t.Fatalf("%+v", r)
		}
	}
	if rep := deploy(t, s, echoAppFile("1.1.0", 2, cfg)); rep.Changed {
		t.Fatalf("same file twice: %s", actions(rep))
	}
	rep = deploy(t, s, echoAppFile("1.0.0", 4, cfg))
	if got := actions(rep); got != "demo/echo/1:updated demo/echo/2:updated demo/echo/3:started demo/echo/4:started" {
		t.Fatalf("version change + scale up: %s", got)
	}
	for i := 1; i <= 4; i++ {
		a, _ := s.Actor(bg, fmt.Sprintf("demo/echo/%d", i))
		if a.Component != "echo@1.0.0" || a.State != "running" {
			t.Fatalf("actor %d: %+v", i, a)
		}
	}
	if p := pinsOf(t, s, "echo", "1.0.0"); len(p) != 4 {
		t.Fatalf("pins of 1.0.0: %v", p)
	}
	if p := pinsOf(t, s, "echo", "1.1.0"); len(p) != 2 { // rollback targets of 1 and 2
		t.Fatalf("pins of 1.1.0: %v", p)
	}
	for i := 0; i < 8; i++ {
		if code, _ := post(t, s.Gateway(), "/echo", "x"); code != 200 {
			t.Fatalf("gateway: %d", code)
		}
	}
	if _, err := s.DeleteApp(bg, "demo"); err != nil {
		t.Fatal(err)
	}
	if p := pinsOf(t, s, "echo", "1.0.0"); len(p) != 0 {
		t.Fatalf("pins left after delete: %v", p)
	}
	if p := pinsOf(t, s, "echo", "1.1.0"); len(p) != 0 {
		t.Fatalf("pins left after delete: %v", p)
	}
	if len(s.comps) != 0 {
		t.Fatalf("compiled components left: %d", len(s.comps))
	}
}

// An actor whose supervisor gave up is started again by the same file,
// with one running pin.
func TestDeployMendsAnAppItsSupervisorGaveUp(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.installManifest(t, s, "actor_trapper", trapperManifest("1.0.0"), true)
	src := "[app]\nname = \"t\"\n\n[supervisor]\nmax-restarts = 1\nbackoff-min = \"1ms\"\nbackoff-max = \"1ms\"\n\n" +
		"[[actor]]\nid = \"t/trap/*\"\ninstances = 2\ncomponent = { store = \"trapper@1.0.0\" }\n"
	deploy(t, s, src)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.System().Actors()) != 0 {
		s.System().Send(bg, "t/trap/1", []byte("trap"), "")
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor did not give up: %v", s.System().Actors())
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, _ := s.Status(bg)
	if len(st.Problems) != 2 {
		t.Fatalf("problems: %v", st.Problems)
	}
	rep := deploy(t, s, src)
	if got := actions(rep); got != "t/trap/1:started t/trap/2:started" {
		t.Fatalf("mend: %s", got)
	}
	if p := pinsOf(t, s, "trapper", "1.0.0"); len(p) != 2 {
		t.Fatalf("pins: %v", p)
	}
	if rep := deploy(t, s, src); rep.Changed {
		t.Fatalf("same file: %s", actions(rep))
	}
}

// After an operator's update and rollback the same file changes nothing,
// and a changed file takes over from the operator's change.
func TestDeployAfterOperatorChanges(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")
	app := echoAppFile("1.0.0", 2, "")
	deploy(t, s, app)
	if _, err := s.Update(bg, "demo/echo/1", "echo@1.1.0"); err != nil {
		t.Fatal(err)
	}
	if rep := deploy(t, s, app); rep.Changed {
		t.Fatalf("same file after an update: %s", actions(rep))
	}
	if a, _ := s.Actor(bg, "demo/echo/1"); a.Component != "echo@1.1.0" {
		t.Fatalf("the operator's update was undone: %+v", a)
	}
	if _, err := s.Rollback(bg, "demo/echo/1"); err != nil {
		t.Fatal(err)
	}
	if rep := deploy(t, s, app); rep.Changed {
		t.Fatalf("same file after a rollback: %s", actions(rep))
	}
	a, _ := s.Actor(bg, "demo/echo/1")
	if a.Component != "echo@1.0.0" || a.Rollback != "echo@1.1.0" {
		t.Fatalf("after rollback: %+v", a)
	}
	if p := pinsOf(t, s, "echo", "1.1.0"); len(p) != 1 {
		t.Fatalf("pins of 1.1.0: %v", p)
	}
}

// Error codes of the operator verbs.
func TestErrorCodes(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 1, ""))
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	_, err := s.Update(bg, "demo/echo/1", "echo")
	check("update to no version", err, admin.ErrBadRequest)
	_, err = s.Update(bg, "demo/echo/9", "echo@1.0.0")
	check("update of no actor", err, admin.ErrNotFound)
	_, err = s.Update(bg, "demo/echo/1", "echo@9.9.9")
	check("update to a version not installed", err, admin.ErrNotFound)
	_, err = s.Rollback(bg, "demo/echo/1")
	check("rollback never updated", err, admin.ErrConflict)
	check("stop of no actor", s.Stop(bg, "x/y/1"), admin.ErrNotFound)
	check("restart of no actor", s.Restart(bg, "x/y/1"), admin.ErrNotFound)
	_, err = s.Health(bg, "x/y/1")
	check("health of no actor", err, admin.ErrNotFound)
	check("uninstall running", s.Uninstall(bg, "echo", "1.0.0"), admin.ErrConflict)
	check("uninstall missing", s.Uninstall(bg, "echo", "7.0.0"), admin.ErrNotFound)
	_, err = s.App(bg, "nope")
	check("app missing", err, admin.ErrNotFound)
	_, err = s.Component(bg, "echo", "7.0.0")
	check("component missing", err, admin.ErrNotFound)
	// A version installed again with other bytes.
	w := fixtureWasm(t, "actor2_echotext")
	m := manifestFor("echo", "1.0.0", "")
	sig := security.Sign(f.key, w, m)
	_, err = s.Install(bg, admin.InstallRequest{Wasm: w, Manifest: m, Signature: sig.Marshal()})
	check("install over a version", err, admin.ErrConflict)
	// Unsigned under a policy that requires signatures.
	_, err = s.Install(bg, admin.InstallRequest{Wasm: w, Manifest: manifestFor("echo", "2.0.0", "")})
	check("unsigned", err, admin.ErrDenied)
	// A path source with no allow-paths is refused when the file is read.
	_, err = s.Deploy(bg, "p.toml", []byte("[app]\nname = \"p\"\n[[actor]]\nid = \"p/a/1\"\ncomponent = { path = \"/tmp/x.wasm\" }\n"), nil)
	check("path with no allow-paths", err, admin.ErrInvalid)
}

// Operations during and after Shutdown; Shutdown twice, concurrently.
func TestShutdownTwiceAndOperationsAfter(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 2, ""))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Shutdown(bg)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("shutdown twice: %v", errs)
	}
	if _, err := s.Deploy(bg, "app.toml", []byte(echoAppFile("1.0.0", 2, "")), nil); !errors.Is(err, admin.ErrUnavailable) {
		t.Fatalf("deploy after shutdown: %v", err)
	}
	if err := s.Stop(bg, "demo/echo/1"); !errors.Is(err, admin.ErrUnavailable) {
		t.Fatalf("stop after shutdown: %v", err)
	}
	if _, err := s.Reload(bg, f.config(t, "")); !errors.Is(err, admin.ErrUnavailable) {
		t.Fatalf("reload after shutdown: %v", err)
	}
}

// The read side (Status, Actors, Apps, Logs) runs while operations change
// what runs: for the race detector. Under -race it finds appView reading
// run.rec (actors.go:48) after its RLock while moveTo writes run.rec
// (actors.go:257) under mu.
func TestReadsDuringOperationsRace(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	f.install(t, s, "actor2_echotext", "echo", "1.1.0")
	deploy(t, s, echoAppFile("1.0.0", 2, ""))
	ctx, cancel := context.WithCancel(bg)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				s.Status(bg)
				s.Actors(bg)
				s.Apps(bg)
				s.Actor(bg, "demo/echo/1")
				s.Components(bg)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Logs(ctx, admin.LogQuery{Follow: true}, func(admin.LogLine) error { return nil })
	}()
	for i := 0; i < 12; i++ {
		if _, err := s.Update(bg, "demo/echo/1", "echo@1.1.0"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rollback(bg, "demo/echo/1"); err != nil {
			t.Fatal(err)
		}
		deploy(t, s, echoAppFile([]string{"1.0.0", "1.1.0"}[i%2], 2+i%2, ""))
		if _, err := s.Reload(bg, f.config(t, "")); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if !strings.Contains(fmt.Sprint(s.System().Actors()), "demo/echo/1") {
		t.Fatal("actors gone")
	}
}

// A temporary actor that was its app's only child leaves the app's
// supervisor registered with no child (actor: childFailed's temporary
// branch never removes an empty root). The next deploy gets
// ErrNoSupervisor from DeployChild (it finds that dead root first) and
// starts a second "app/t" root; every later scale-up starts yet another
// root, so the app's one-for-all strategy no longer covers its actors.
func TestTemporaryActorSplitsTheSupervisor(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, Options{})
	f.installManifest(t, s, "actor_trapper", trapperManifest("1.0.0"), true)
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	head := "[app]\nname = \"t\"\n\n[supervisor]\nstrategy = \"one-for-all\"\nmax-restarts = 100\nbackoff-min = \"1ms\"\nbackoff-max = \"1ms\"\n\n" +
		"[[actor]]\nid = \"t/tmp/1\"\nrestart = \"temporary\"\ncomponent = { store = \"trapper@1.0.0\" }\n"
	deploy(t, s, head)
	s.System().Send(bg, "t/tmp/1", []byte("trap"), "")
	deadline := time.Now().Add(5 * time.Second)
	for len(s.System().Actors()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the temporary actor did not go")
		}
		time.Sleep(5 * time.Millisecond)
	}
	v2 := head + "\n[[actor]]\nid = \"t/p/1\"\ncomponent = { store = \"trapper@1.0.0\" }\n" +
		"\n[[actor]]\nid = \"t/e/*\"\ninstances = %d\ncomponent = { store = \"echo@1.0.0\" }\n"
	if rep := deploy(t, s, fmt.Sprintf(v2, 1)); strings.Contains(actions(rep), "failed") {
		t.Fatal(actions(rep))
	}
	if rep := deploy(t, s, fmt.Sprintf(v2, 2)); actions(rep) != "t/tmp/1:unchanged t/p/1:unchanged t/e/1:unchanged t/e/2:started" {
		t.Fatal(actions(rep))
	}
	// One-for-all: a trap of t/p/1 restarts every actor of the app.
	s.System().Send(bg, "t/p/1", []byte("trap"), "")
	deadline = time.Now().Add(5 * time.Second)
	for {
		e1, _ := s.System().Stats("t/e/1")
		e2, _ := s.System().Stats("t/e/2")
		if e1.Restarts > 0 && e2.Restarts > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("one-for-all restarted t/e/1 %d times, t/e/2 %d times: t/e/2 is under another supervisor",
				e1.Restarts, e2.Restarts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
