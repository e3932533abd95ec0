package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// hostile is text a guest chooses: markup that runs script if a page
// inserts it as HTML.
const hostile = `<img src=x onerror="window.__pwned=1">`

// fixture is a test Backend: apps and actors from its fields, calls
// counted. It is not a host.
type fixture struct {
	mu        sync.Mutex
	apps      []admin.App
	dead      admin.DeadLetters
	comps     []admin.Component
	logs      []admin.LogLine // sent by Logs, then it follows until its context ends
	rollbacks []string        // the ids Rollback was called with
	rbErr     error           // what Rollback returns
	lattice   *admin.Lattice  // Status's lattice (nil: none)
	appsCalls int
}

var _ admin.Backend = (*fixture)(nil)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newFixture has app "shop" with actors shop/counter/1 (with a rollback
// target) and shop/audit/1, a dead letter and a log line with hostile
// text, and two versions in the store.
func newFixture() *fixture {
	return &fixture{
		apps: []admin.App{{Name: "shop", Digest: "sha256:ab", Deployed: t0, Actors: []admin.Actor{
			{ID: "shop/counter/1", App: "shop", Component: "counter@1.1.0", State: "running", Handled: 10, Restarts: 2,
				Rollback: "counter@1.0.0"},
			{ID: "shop/audit/1", App: "shop", Component: "audit@1.0.0", State: "running"},
		}}},
		dead: admin.DeadLetters{Total: 3, Letters: []admin.DeadLetter{
			{Time: t0, To: "shop/counter/1", From: "gateway", Reason: "trapped: " + hostile, PayloadLen: 4}}},
		comps: []admin.Component{
			{Name: "counter", Version: "1.0.0", Digest: "sha256:01", Size: 1000, Installed: t0, InUse: []string{"shop/counter/1"}},
			{Name: "counter", Version: "1.1.0", Digest: "sha256:02", Size: 1100, Installed: t0, InUse: []string{"shop/counter/1"}},
		},
		logs: []admin.LogLine{
			{Time: t0, Level: "INFO", Actor: "shop/counter/1", Message: hostile},
			{Time: t0, Level: "WARN", Actor: "shop/counter/1", Message: "two\nlines</script>"},
		},
	}
}

// addHandled adds n to an actor's handled count.
func (f *fixture) addHandled(id string, n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.apps {
		for j := range f.apps[i].Actors {
			if f.apps[i].Actors[j].ID == id {
				f.apps[i].Actors[j].Handled += n
			}
		}
	}
}

// bigApp adds an app of n actors with long ids (for big snapshots).
func (f *fixture) bigApp(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := admin.App{Name: "big", Deployed: t0}
	for i := range n {
		a.Actors = append(a.Actors, admin.Actor{ID: fmt.Sprintf("big/%0200d/%d", i, i), App: "big", Component: "echo@1.0.0",
			State: "running", Handled: uint64(i)})
	}
	f.apps = append(f.apps, a)
}

func (f *fixture) Status(ctx context.Context) (admin.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := admin.Status{Version: "v-test", Started: t0, PID: 42, Apps: len(f.apps), Actors: 2, Component: len(f.comps)}
	if f.lattice != nil {
		l := *f.lattice
		l.Hosts = append([]admin.LatticeHost(nil), l.Hosts...)
		st.Lattice = &l
	}
	return st, nil
}

// setLattice sets the lattice Status reports (nil: none).
func (f *fixture) setLattice(l *admin.Lattice) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lattice = l
}

func (f *fixture) Apps(ctx context.Context) ([]admin.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appsCalls++
	out := make([]admin.App, len(f.apps))
	for i, a := range f.apps {
		a.Actors = append([]admin.Actor(nil), a.Actors...)
		out[i] = a
	}
	return out, nil
}

func (f *fixture) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.appsCalls
}

func (f *fixture) App(ctx context.Context, name string) (admin.App, error) {
	return admin.App{}, admin.ErrNotFound
}

func (f *fixture) Deploy(ctx context.Context, file string, source []byte, progress func(admin.ActorResult)) (admin.Report, error) {
	return admin.Report{}, errors.ErrUnsupported
}

func (f *fixture) DeleteApp(ctx context.Context, name string) (admin.Report, error) {
	return admin.Report{}, errors.ErrUnsupported
}

func (f *fixture) Components(ctx context.Context) ([]admin.Component, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]admin.Component(nil), f.comps...), nil
}

func (f *fixture) Component(ctx context.Context, name, version string) (admin.Component, error) {
	return admin.Component{}, admin.ErrNotFound
}

func (f *fixture) Install(ctx context.Context, req admin.InstallRequest) (admin.Component, error) {
	return admin.Component{}, errors.ErrUnsupported
}

func (f *fixture) Uninstall(ctx context.Context, name, version string) error {
	return errors.ErrUnsupported
}

func (f *fixture) Actors(ctx context.Context) ([]admin.Actor, error) {
	apps, _ := f.Apps(ctx)
	var out []admin.Actor
	for _, a := range apps {
		out = append(out, a.Actors...)
	}
	return out, nil
}

func (f *fixture) Actor(ctx context.Context, id string) (admin.Actor, error) {
	return admin.Actor{}, admin.ErrNotFound
}

func (f *fixture) Health(ctx context.Context, id string) (string, error) { return "healthy", nil }

func (f *fixture) Stop(ctx context.Context, id string) error    { return errors.ErrUnsupported }
func (f *fixture) Restart(ctx context.Context, id string) error { return errors.ErrUnsupported }

func (f *fixture) Update(ctx context.Context, id, component string) (admin.ActorResult, error) {
	return admin.ActorResult{}, errors.ErrUnsupported
}

// Rollback records the call; an actor with a target moves to it.
func (f *fixture) Rollback(ctx context.Context, id string) (admin.ActorResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rollbacks = append(f.rollbacks, id)
	if f.rbErr != nil {
		return admin.ActorResult{}, f.rbErr
	}
	for i := range f.apps {
		for j := range f.apps[i].Actors {
			a := &f.apps[i].Actors[j]
			if a.ID == id && a.Rollback != "" {
				r := admin.ActorResult{ID: id, Action: admin.ActionRolledBack, From: a.Component, To: a.Rollback}
				a.Component, a.Rollback = a.Rollback, ""
				return r, nil
			}
		}
	}
	return admin.ActorResult{}, fmt.Errorf("%w: no actor %q with a rollback target", admin.ErrNotFound, id)
}

func (f *fixture) rolledBack() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.rollbacks...)
}

func (f *fixture) DeadLetters(ctx context.Context, limit int) (admin.DeadLetters, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dead
	d.Letters = append([]admin.DeadLetter(nil), d.Letters...)
	return d, nil
}

func (f *fixture) Logs(ctx context.Context, q admin.LogQuery, fn func(admin.LogLine) error) error {
	f.mu.Lock()
	lines := append([]admin.LogLine(nil), f.logs...)
	f.mu.Unlock()
	for _, l := range lines {
		if q.Actor != "" && l.Actor != q.Actor {
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if q.Follow {
		<-ctx.Done()
	}
	return nil
}

func (f *fixture) ExportStorage(ctx context.Context, component string, w io.Writer) error {
	return errors.ErrUnsupported
}
