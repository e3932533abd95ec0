package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/host/gateway"
	"github.com/airsstack/airssys-wasm-go/host/state"
	"github.com/airsstack/airssys-wasm-go/oci"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
)

// supervisorName is the top-level supervisor of an app.
func supervisorName(app string) string { return "app/" + app }

// admitted is a version admitted and compiled, ready to run.
type admitted struct {
	ver    *catalog.Version
	name   string // ver.String(), made once
	comp   *engine.Component
	grants *security.Grants // nil in dev mode
	owner  storage.Owner
}

// want is one actor as the app file (and the operator's changes) ask.
type want struct {
	id       actor.ID
	def      *config.ActorDef
	settings string
	adm      *admitted
	spec     actor.Spec
	prev     string // name@version of its rollback target after a restart, or ""
}

// Deploy implements admin.Backend: it reconciles the host to the app file
// (see the package doc).
func (s *Service) Deploy(ctx context.Context, file string, source []byte, progress func(admin.ActorResult)) (admin.Report, error) {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.usable(); err != nil {
		return admin.Report{}, err
	}
	cfg := s.config()
	app, err := config.ParseApp(file, source, cfg)
	if err != nil {
		return admin.Report{}, coded(admin.ErrInvalid, err)
	}
	rec := state.App{Name: app.Name, Digest: app.Digest(), Source: source, Deployed: time.Now().UTC()}
	s.mu.RLock()
	cur := s.apps[app.Name]
	s.mu.RUnlock()
	if cur != nil && cur.rec.Digest == rec.Digest {
		// The same app: keep what was resolved and what the operator
		// changed, and only mend what does not run as it should.
		rec.Resolved, rec.Actors, rec.Deployed = cur.rec.Resolved, cur.rec.Actors, cur.rec.Deployed
	}
	return s.reconcile(ctx, app, rec, progress, false)
}

// reconcile brings app to rec (the caller holds op). restoring: the
// versions come from rec.Resolved and nothing is fetched.
func (s *Service) reconcile(ctx context.Context, app *config.App, rec state.App, progress func(admin.ActorResult), restoring bool) (admin.Report, error) {
	rep := admin.Report{App: app.Name, Digest: rec.Digest}
	wants, resolved, err := s.prepare(ctx, app, rec, restoring)
	if err != nil {
		return rep, err
	}
	rec.Resolved = resolved
	for id := range rec.Actors { // forget operator changes to ids the file dropped
		if _, ok := wants[actor.ID(id)]; !ok {
			delete(rec.Actors, id)
		}
	}
	if err := s.checkOwners(app.Name, wants); err != nil {
		return rep, err
	}
	if err := s.checkRoutes(app); err != nil {
		return rep, err
	}
	pctx := ctx
	if restoring {
		pctx = context.WithValue(ctx, restoringKey{}, true)
	}
	if err := s.st.Put(pctx, rec); err != nil {
		return rep, fmt.Errorf("host: recording the desired state: %w", err)
	}

	s.mu.RLock()
	cur := s.apps[app.Name]
	s.mu.RUnlock()
	order := make([]actor.ID, 0, len(wants))
	for i := range app.Actors {
		order = append(order, app.Actors[i].IDs()...)
	}
	report := func(r admin.ActorResult) {
		if r.Action != admin.ActionUnchanged {
			rep.Changed = true
		}
		rep.Actors = append(rep.Actors, r)
		if progress != nil {
			progress(r)
		}
	}
	// In a lattice, other hosts with this version of the app run their
	// share of its actors: this host plans only its own, and stops those
	// placed elsewhere (routes still reach them, through the lattice).
	elsewhere := s.placeApp(app, rec.Digest)
	all := order
	if len(elsewhere) > 0 {
		order = slices.DeleteFunc(slices.Clone(order), func(id actor.ID) bool { return elsewhere[id] })
	}
	supKey := keyOf(app.Supervisor)
	run := &appRun{app: app, rec: rec, ids: order, supKey: supKey}
	s.reindex(app) // before its actors start: which are durable, who may send as them
	supChanged := cur != nil && cur.supKey != supKey

	// Plan, per actor of the file, changing nothing yet.
	type kind uint8
	const (
		keep kind = iota
		update
		start   // not running: started (again)
		replace // stopped, then started: settings, supervision or component changed
	)
	plan := make(map[actor.ID]kind, len(order))
	carried := map[actor.ID]*catalog.Version{} // rollback targets a replace keeps
	from := map[actor.ID]string{}
	for _, id := range order {
		w, a := wants[id], s.actorOf(id)
		switch {
		case a == nil:
			plan[id] = start
		case a.ver.Name != w.adm.ver.Name:
			// Another component is another identity, with other data: a live
			// update would keep the old one's.
			plan[id], from[id] = replace, a.name
		case supChanged || a.settings != w.settings:
			plan[id], from[id] = replace, a.name
			carried[id] = a.prev
		case a.halted || !s.running(id):
			plan[id], from[id] = start, a.name
			carried[id] = a.prev
		case a.name != w.adm.name || grantsKey(a.grants) != grantsKey(w.spec.Grants):
			plan[id] = update
		default:
			plan[id] = keep
		}
	}
	var removed []actor.ID
	if cur != nil {
		for _, id := range slices.Backward(cur.ids) {
			if _, ok := wants[id]; !ok || elsewhere[id] {
				removed = append(removed, id)
			}
		}
	}

	// 1. Routes first point only at actors that go on running, so that no
	// request reaches an actor about to stop.
	if err := s.setRoutesWith(app, func(id actor.ID) bool {
		k, ok := plan[id]
		return elsewhere[id] || (ok && (k == keep || k == update))
	}); err != nil {
		s.log.Error("gateway routes", "app", app.Name, "err", err)
	}
	// 2. Stop what the file dropped, then what is replaced (a changed
	// supervision replaces them all, last started first).
	for _, id := range removed {
		a := s.actorOf(id)
		r := admin.ActorResult{ID: string(id), Action: admin.ActionStopped, From: a.verString()}
		if err := s.stopActor(ctx, id); err != nil {
			r.Error = err.Error()
		}
		report(r)
	}
	for _, id := range slices.Backward(order) {
		if k := plan[id]; k == replace || k == start {
			if err := s.stopActor(ctx, id); err != nil && k == replace {
				s.log.Warn("stopping an actor to replace it", "actor", string(id), "err", err)
			}
		}
	}
	// 3. Live updates, all or none.
	var changes []actor.Change
	var updated []*want
	for _, id := range order {
		if plan[id] == update {
			w := wants[id]
			changes = append(changes, actor.Change{ID: id, Component: w.adm.comp, Grants: w.spec.Grants})
			updated = append(updated, w)
		}
	}
	if len(changes) > 0 {
		err := s.sys.UpdateAll(ctx, changes)
		for _, w := range updated {
			a := s.actorOf(w.id)
			r := admin.ActorResult{ID: string(w.id), Action: admin.ActionUpdated, From: a.verString(), To: w.adm.name}
			if err != nil {
				r.Action, r.Error, r.To = admin.ActionFailed, err.Error(), ""
			} else {
				s.switchVersion(a, w.adm, w.spec.Grants)
			}
			report(r)
		}
	}
	// 4. Starts, in the file's order, under the app's supervisor; when it
	// does not run (a new app, a restore, a changed supervision), as one
	// tree started on every core.
	var starts []*want
	for _, id := range order {
		switch plan[id] {
		case keep:
			report(admin.ActorResult{ID: string(id), Action: admin.ActionUnchanged, To: wants[id].adm.name})
		case start, replace:
			w := wants[id]
			if w.prev == "" && carried[id] != nil {
				w.prev = carried[id].String()
			}
			starts = append(starts, w)
		}
	}
	result := func(w *want) admin.ActorResult {
		r := admin.ActorResult{ID: string(w.id), Action: admin.ActionStarted, To: w.adm.name}
		if plan[w.id] == replace {
			r.Action, r.From = admin.ActionReplaced, from[w.id]
		}
		return r
	}
	s.mu.Lock()
	for _, w := range starts {
		s.starting[w.id] = w.adm.name
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		clear(s.starting)
		s.mu.Unlock()
	}()
	for i, w := range starts {
		err := s.startActor(ctx, app, w)
		if errors.Is(err, actor.ErrNoSupervisor) {
			rest := starts[i:]
			if err := s.startTree(ctx, app, rest, progress, result); err != nil {
				for _, w := range rest {
					r := result(w)
					r.Action, r.Error = admin.ActionFailed, err.Error()
					report(r)
				}
			} else {
				for _, w := range rest {
					rep.Changed = true
					rep.Actors = append(rep.Actors, result(w)) // progress heard each start
				}
			}
			break
		}
		r := result(w)
		if err != nil {
			r.Action, r.Error = admin.ActionFailed, err.Error()
		}
		report(r)
	}
	// Results in the file's order, stops last.
	pos := map[string]int{}
	for i, id := range order {
		pos[string(id)] = i
	}
	slices.SortStableFunc(rep.Actors, func(a, b admin.ActorResult) int {
		pa, oka := pos[a.ID]
		pb, okb := pos[b.ID]
		switch {
		case oka && okb:
			return pa - pb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	s.mu.Lock()
	s.apps[app.Name] = run
	s.mu.Unlock()
	s.reindex()
	if err := s.setRoutes(); err != nil {
		s.log.Error("gateway routes", "app", app.Name, "err", err)
	}
	s.pruneComponents()
	failed := 0
	for _, r := range rep.Actors {
		if r.Action == admin.ActionFailed {
			failed++
		}
	}
	s.log.Info("app deployed", "app", app.Name, "digest", rec.Digest, "changed", rep.Changed, "actors", len(order),
		"elsewhere", len(all)-len(order), "failed", failed)
	if s.lat != nil && s.lat.node != nil && !restoring {
		s.lat.node.Announce() // the other hosts place this version now
	}
	return rep, nil
}

// checkOwners refuses ids that another app runs.
func (s *Service) checkOwners(name string, wants map[actor.ID]*want) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var clash []string
	for other, run := range s.apps {
		if other == name {
			continue
		}
		for _, id := range run.ids {
			if _, ok := wants[id]; ok {
				clash = append(clash, fmt.Sprintf("%s (app %s)", id, other))
			}
		}
	}
	if len(clash) > 0 {
		sort.Strings(clash)
		return coded(admin.ErrConflict, fmt.Errorf("actor ids of another app: %s", strings.Join(clash, ", ")))
	}
	return nil
}

// prepare resolves, admits and compiles every actor of app, changing
// nothing.
func (s *Service) prepare(ctx context.Context, app *config.App, rec state.App, restoring bool) (map[actor.ID]*want, map[string]string, error) {
	resolved := map[string]string{}
	byVersion := map[string]*admitted{} // name@version
	admit := func(nv string) (*admitted, error) {
		if a, ok := byVersion[nv]; ok {
			return a, nil
		}
		name, version, _ := strings.Cut(nv, "@")
		v, err := s.cat.Get(name, version)
		if sh, ok := s.st.(*sharedState); ok && errors.Is(err, catalog.ErrNotFound) {
			// Deployed on another host of the lattice: its bundle is
			// there, installed here under this host's policy.
			v, err = sh.fetch(ctx, name, version)
		}
		if err != nil {
			return nil, classify(err)
		}
		a, err := s.admit(ctx, v)
		if err != nil {
			return nil, err
		}
		byVersion[nv] = a
		return a, nil
	}
	wants := map[actor.ID]*want{}
	var errs []error
	for i := range app.Actors {
		def := &app.Actors[i]
		src := def.Component.String()
		nv, ok := rec.Resolved[src]
		if !ok {
			if restoring {
				errs = append(errs, fmt.Errorf("actor %s: %s was never resolved", def.ID, src))
				continue
			}
			v, err := s.resolve(ctx, def.Component)
			if err != nil {
				errs = append(errs, fmt.Errorf("actor %s: %s: %w", def.ID, src, err))
				continue
			}
			nv = v.String()
		}
		resolved[src] = nv
		settings := settingsOf(def)
		var kv storage.Backend
		if app.Storage == config.StorageLattice {
			// Another backend is other data: its actors start again.
			settings += " storage=lattice"
			var err error
			if kv, err = s.latticeStorage(ctx); err != nil {
				errs = append(errs, fmt.Errorf("actor %s: %w", def.ID, err))
				continue
			}
		}
		for _, id := range def.IDs() {
			use, prev := nv, ""
			if o, ok := rec.Actors[string(id)]; ok && o.Component != "" {
				use, prev = o.Component, o.Previous
			}
			a, err := admit(use)
			if err != nil {
				errs = append(errs, fmt.Errorf("actor %s: %s: %w", id, use, err))
				break
			}
			spec, err := s.specFor(id, def, a)
			if err != nil {
				errs = append(errs, fmt.Errorf("actor %s: %w", id, err))
				break
			}
			if kv != nil {
				spec.Storage = kv
			}
			wants[id] = &want{id: id, def: def, settings: settings, adm: a, spec: spec, prev: prev}
		}
	}
	if len(errs) > 0 {
		return nil, nil, firstCoded(errs)
	}
	return wants, resolved, nil
}

// firstCoded joins errs under the code of the first that has one.
func firstCoded(errs []error) error {
	joined := errors.Join(errs...)
	for _, code := range []error{admin.ErrDenied, admin.ErrNotFound, admin.ErrConflict, admin.ErrInvalid, admin.ErrUnavailable} {
		for _, e := range errs {
			if errors.Is(e, code) {
				return coded(code, joined)
			}
		}
	}
	return joined
}

// resolve finds the installed version a source names, installing a path
// or an OCI artifact into the catalog first (admitted under the policy).
func (s *Service) resolve(ctx context.Context, src config.Source) (*catalog.Version, error) {
	switch {
	case src.Store != "":
		name, version, _ := strings.Cut(src.Store, "@")
		v, err := s.cat.Get(name, version)
		if err != nil {
			return nil, classify(err)
		}
		return v, nil
	case src.Path != "":
		cfg := s.config()
		p, err := cfg.CheckPath(src.Path)
		if err != nil {
			return nil, coded(admin.ErrDenied, err)
		}
		wasm, err := engine.ReadWasmFile(p, catalog.DefaultMaxComponentBytes)
		if err != nil {
			return nil, coded(admin.ErrInvalid, err)
		}
		man, err := security.ReadSmallFile(filepath.Join(filepath.Dir(p), "Component.toml"), "manifest", security.MaxManifestFile)
		if err != nil {
			return nil, coded(admin.ErrInvalid, fmt.Errorf("its Component.toml (beside it): %w", err))
		}
		sig, err := security.ReadSignature(p)
		if err != nil {
			return nil, coded(admin.ErrDenied, err)
		}
		return s.install(ctx, wasm, man, sig)
	default:
		return s.pull(ctx, src.OCI, false)
	}
}

// pull installs an OCI artifact (it must carry its Component.toml).
func (s *Service) pull(ctx context.Context, ref string, plain bool) (*catalog.Version, error) {
	cfg := s.config()
	host, _, _ := strings.Cut(ref, "/")
	if slices.Contains(cfg.Registry.PlainHTTP, host) {
		plain = true
	}
	a, _, err := oci.Pull(ctx, ref, oci.Options{PlainHTTP: plain, CredentialsFile: cfg.Registry.Credentials})
	if err != nil {
		switch {
		case errors.Is(err, oci.ErrNotFound):
			return nil, coded(admin.ErrNotFound, err)
		case errors.Is(err, oci.ErrPlainHTTP), errors.Is(err, oci.ErrDigest), errors.Is(err, oci.ErrTooLarge), errors.Is(err, oci.ErrNotWasm):
			return nil, coded(admin.ErrDenied, err)
		}
		return nil, coded(admin.ErrUnavailable, err)
	}
	if a.Manifest == nil {
		return nil, coded(admin.ErrDenied, fmt.Errorf("%s has no Component.toml: install it with `airssys-wasm install --name --version` first", ref))
	}
	var sig *security.Signature
	if a.Signature != nil {
		sg, err := security.ParseSignature(a.Signature)
		if err != nil {
			return nil, coded(admin.ErrDenied, fmt.Errorf("%s: its signature: %w", ref, err))
		}
		sig = &sg
	}
	return s.install(ctx, a.Wasm, a.Manifest, sig)
}

func (s *Service) install(ctx context.Context, wasm, man []byte, sig *security.Signature) (*catalog.Version, error) {
	v, err := s.cat.Install(ctx, wasm, man, sig, s.currentPolicy())
	if err != nil {
		return nil, classify(err)
	}
	return v, nil
}

// admit admits v under the policy as it is now and compiles it.
func (s *Service) admit(ctx context.Context, v *catalog.Version) (*admitted, error) {
	l, adm, err := s.cat.Admit(v, s.currentPolicy())
	if err != nil {
		return nil, classify(err)
	}
	a := &admitted{ver: l.Version, name: l.Version.String(), owner: storage.Owner{Publisher: v.Publisher, Name: v.Name}}
	if !s.opts.Dev {
		a.grants = adm.Grants
	}
	s.mu.RLock()
	c := s.comps[v.Digest]
	s.mu.RUnlock()
	if c == nil {
		if c, err = s.eng.Compile(ctx, l.Component); err != nil {
			return nil, coded(admin.ErrInvalid, fmt.Errorf("%s: %w", v, err))
		}
		s.mu.Lock()
		if old := s.comps[v.Digest]; old != nil {
			c.Close()
			c = old
		} else {
			s.comps[v.Digest] = c
		}
		s.mu.Unlock()
	}
	a.comp = c
	return a, nil
}

// specFor is the actor.Spec of one id of def running a.
func (s *Service) specFor(id actor.ID, def *config.ActorDef, a *admitted) (actor.Spec, error) {
	spec := actor.Spec{ID: id, Component: a.comp, Config: maps.Clone(def.Config), MailboxSize: def.Mailbox,
		Overflow: def.Overflow, Subscriptions: slices.Clone(def.Subscriptions), Restart: def.Restart,
		Durable: def.Durable && s.cfg.Lattice.Shared()}
	r := def.Resources
	if a.grants == nil {
		spec.Owner = a.owner
		spec.Limits.MemoryLimit = r.MemoryBytes
		spec.Limits.Fuel = r.FuelPerMessage
		spec.Limits.Timeout = r.TimeoutPerMsg
		spec.MaxMessageBytes = int(r.MaxMessageBytes)
		return spec, nil
	}
	// The app may lower what the manifest asks for, never raise it.
	res := a.grants.Resources
	m := &res
	var raised []string
	lower := func(name string, app, manifest int64, set func(int64)) {
		switch {
		case app <= 0:
		case manifest > 0 && app > manifest:
			raised = append(raised, fmt.Sprintf("%s %d is above the manifest's %d", name, app, manifest))
		default:
			set(app)
		}
	}
	lower("memory", r.MemoryBytes, m.MemoryBytes, func(v int64) { m.MemoryBytes = v })
	lower("fuel-per-message", int64(r.FuelPerMessage), int64(m.FuelPerMessage), func(v int64) { m.FuelPerMessage = uint64(v) })
	lower("timeout-per-message", int64(r.TimeoutPerMsg), int64(m.TimeoutPerMsg), func(v int64) { m.TimeoutPerMsg = time.Duration(v) })
	lower("max-message", r.MaxMessageBytes, m.MaxMessageBytes, func(v int64) { m.MaxMessageBytes = v })
	if def.Mailbox > 0 && m.Mailbox > 0 && def.Mailbox > m.Mailbox {
		raised = append(raised, fmt.Sprintf("mailbox %d is above the manifest's %d", def.Mailbox, m.Mailbox))
	} else if def.Mailbox > 0 {
		m.Mailbox = def.Mailbox
	}
	if len(raised) > 0 {
		return spec, coded(admin.ErrDenied, fmt.Errorf("resources: %s", strings.Join(raised, "; ")))
	}
	spec.Grants = a.grants.WithResources(res)
	return spec, nil
}

// settingsOf is everything of def that a live update cannot change.
func settingsOf(def *config.ActorDef) string {
	return keyOf(struct {
		Config        map[string]string
		Subscriptions []string
		Mailbox       int
		Overflow      actor.Overflow
		Restart       actor.RestartPolicy
		Resources     config.Resources
		Durable       bool `json:",omitempty"`
	}{def.Config, def.Subscriptions, def.Mailbox, def.Overflow, def.Restart, def.Resources, def.Durable})
}

func keyOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data
	}
	return string(b)
}

// startActor starts w under its app's running supervisor
// (actor.ErrNoSupervisor when none runs).
func (s *Service) startActor(ctx context.Context, app *config.App, w *want) error {
	if err := s.sys.DeployChild(ctx, supervisorName(app.Name), w.spec); err != nil {
		return err
	}
	s.markStarted(app, w)
	return nil
}

// startTree starts the app's supervisor with ws, up to GOMAXPROCS actors
// at once: all start, or none (the error). progress hears of each start.
func (s *Service) startTree(ctx context.Context, app *config.App, ws []*want, progress func(admin.ActorResult),
	result func(*want) admin.ActorResult) error {
	sv := app.Supervisor
	tree := actor.SupervisorSpec{Name: supervisorName(app.Name), Strategy: sv.Strategy,
		MaxRestarts: sv.MaxRestarts, Period: sv.Period, BackoffMin: sv.BackoffMin, BackoffMax: sv.BackoffMax,
		StartConcurrency: runtime.GOMAXPROCS(0)}
	byID := make(map[actor.ID]*want, len(ws))
	for _, w := range ws {
		tree.Children = append(tree.Children, w.spec)
		byID[w.id] = w
	}
	if progress != nil {
		var mu sync.Mutex // starts are reported from several goroutines
		f := func(id actor.ID) {
			if w := byID[id]; w != nil {
				mu.Lock()
				progress(result(w))
				mu.Unlock()
			}
		}
		s.onStart.Store(&f)
		defer s.onStart.Store(nil)
	}
	if err := s.sys.DeploySupervisor(ctx, tree); err != nil {
		return err
	}
	for _, w := range ws {
		s.markStarted(app, w)
	}
	return nil
}

// markStarted records that w runs.
func (s *Service) markStarted(app *config.App, w *want) {
	a := &actorRun{id: w.id, app: app.Name, def: w.def, settings: w.settings}
	s.switchVersion(a, w.adm, w.spec.Grants)
	if name, version, ok := strings.Cut(w.prev, "@"); ok {
		if v, err := s.cat.Get(name, version); err == nil {
			a.prev = v
			if p, err := s.cat.Pin(name, version, "rollback target of "+string(a.id)); err == nil {
				a.prevPin = p
			}
		}
	}
	s.mu.Lock()
	s.actors[w.id] = a
	s.mu.Unlock()
}

// switchVersion records that a now runs adm, pinning it, and keeps the
// version it ran before as its rollback target.
func (s *Service) switchVersion(a *actorRun, adm *admitted, grants *security.Grants) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ver != nil && a.ver.Digest != adm.ver.Digest {
		if a.prevPin != nil {
			a.prevPin.Release()
		}
		a.prev, a.prevPin = a.ver, nil
		if p, err := s.cat.Pin(a.ver.Name, a.ver.Version, "rollback target of "+string(a.id)); err == nil {
			a.prevPin = p
		}
	}
	if a.pin != nil {
		a.pin.Release()
		a.pin = nil
	}
	a.ver, a.grants, a.gen = adm.ver, grants, s.policyGen
	a.name = adm.name
	if p, err := s.cat.Pin(adm.ver.Name, adm.ver.Version, "running "+string(a.id)); err == nil {
		a.pin = p
	}
}

// stopActor stops id (draining its mailbox within the drain time) and
// forgets it.
func (s *Service) stopActor(ctx context.Context, id actor.ID) error {
	sctx, cancel := context.WithTimeout(ctx, s.config().ShutdownDrain)
	defer cancel()
	err := s.sys.Stop(sctx, id)
	if errors.Is(err, actor.ErrUnknownActor) {
		err = nil
	}
	s.mu.Lock()
	if a := s.actors[id]; a != nil {
		a.releasePins()
		delete(s.actors, id)
	}
	s.mu.Unlock()
	return err
}

// haltActor stops id (draining its mailbox) but keeps it in its app:
// pinned, shown stopped, started again by a deploy or a restart.
func (s *Service) haltActor(ctx context.Context, id actor.ID) error {
	sctx, cancel := context.WithTimeout(ctx, s.config().ShutdownDrain)
	defer cancel()
	err := s.sys.Stop(sctx, id)
	if errors.Is(err, actor.ErrUnknownActor) {
		err = nil
	}
	s.mu.Lock()
	if a := s.actors[id]; a != nil {
		a.halted = true
	}
	s.mu.Unlock()
	return err
}

func (s *Service) actorOf(id actor.ID) *actorRun {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.actors[id]
}

func (a *actorRun) verString() string {
	if a == nil || a.ver == nil {
		return ""
	}
	return a.name
}

// running: the system runs id (not stopped or failed).
func (s *Service) running(id actor.ID) bool {
	st, err := s.sys.Stats(id)
	return err == nil && st.State != actor.Stopped && st.State != actor.Failed
}

// setRoutes gives the gateway every app's routes.
func (s *Service) setRoutes() error { return s.setRoutesWith(nil, nil) }

// setRoutesWith gives the gateway every app's routes, app's (when not nil)
// in place of the deployed one's, its pools kept to the ids live accepts
// (while it changes), or whole where none would be left.
func (s *Service) setRoutesWith(app *config.App, live func(actor.ID) bool) error {
	s.mu.RLock()
	apps := make(map[string]*config.App, len(s.apps)+1)
	for n, run := range s.apps {
		apps[n] = run.app
	}
	s.mu.RUnlock()
	if app != nil {
		apps[app.Name] = app
	}
	routes := routesOf(apps)
	if app != nil && live != nil {
		for i := range routes {
			if routes[i].App != app.Name {
				continue
			}
			var pool []actor.ID
			for _, id := range routes[i].Pool {
				if live(id) {
					pool = append(pool, id)
				}
			}
			if len(pool) > 0 {
				routes[i].Pool, routes[i].Actor = pool, pool[0]
			}
		}
	}
	return s.gw.SetRoutes(routes.routes())
}

// checkRoutes refuses an app whose routes clash with another app's.
func (s *Service) checkRoutes(app *config.App) error {
	s.mu.RLock()
	apps := map[string]*config.App{app.Name: app}
	for n, run := range s.apps {
		if n != app.Name {
			apps[n] = run.app
		}
	}
	s.mu.RUnlock()
	if _, err := gateway.New(s.sys, routesOf(apps).routes(), gateway.Options{}); err != nil {
		return coded(admin.ErrConflict, fmt.Errorf("its routes and those of the apps deployed: %w", err))
	}
	return nil
}

// appRoute is a gateway route and the app it belongs to.
type appRoute struct {
	App string
	gateway.Route
}

type appRoutes []appRoute

func (rs appRoutes) routes() []gateway.Route {
	out := make([]gateway.Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	return out
}

// routesOf are the gateway routes of apps, by app name.
func routesOf(apps map[string]*config.App) appRoutes {
	var routes appRoutes
	for _, n := range slices.Sorted(maps.Keys(apps)) {
		app := apps[n]
		for _, r := range app.Routes {
			gr := gateway.Route{Method: r.Method, Pattern: r.Path, Timeout: r.Timeout, Headers: r.Headers,
				ExposeErrors: r.ExposeErrors, Actor: actor.ID(r.Actor), Pool: []actor.ID{actor.ID(r.Actor)}}
			if gr.Headers == nil {
				gr.Headers = []string{}
			}
			for i := range app.Actors {
				if app.Actors[i].ID == r.Actor {
					gr.Pool = app.Actors[i].IDs()
				}
			}
			gr.Actor = gr.Pool[0]
			routes = append(routes, appRoute{App: n, Route: gr})
		}
	}
	return routes
}

// pruneComponents closes compiled components no actor runs.
func (s *Service) pruneComponents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	used := map[string]bool{}
	for _, a := range s.actors {
		used[a.ver.Digest] = true
	}
	for d, c := range s.comps {
		if !used[d] {
			c.Close()
			delete(s.comps, d)
		}
	}
}

// DeleteApp implements admin.Backend: it stops the app's actors (last
// started first) and forgets it.
func (s *Service) DeleteApp(ctx context.Context, name string) (admin.Report, error) {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.usable(); err != nil {
		return admin.Report{}, err
	}
	return s.deleteApp(ctx, name)
}

// deleteApp is DeleteApp with op held.
func (s *Service) deleteApp(ctx context.Context, name string) (admin.Report, error) {
	s.mu.RLock()
	cur := s.apps[name]
	s.mu.RUnlock()
	if cur == nil {
		return admin.Report{}, coded(admin.ErrNotFound, fmt.Errorf("no app %q", name))
	}
	if err := s.st.Delete(ctx, name); err != nil {
		return admin.Report{}, fmt.Errorf("host: %w", err)
	}
	rep := admin.Report{App: name, Digest: cur.rec.Digest, Changed: true}
	for _, id := range slices.Backward(cur.ids) {
		a := s.actorOf(id)
		r := admin.ActorResult{ID: string(id), Action: admin.ActionStopped, From: a.verString()}
		if err := s.stopActor(ctx, id); err != nil {
			r.Error = err.Error()
		}
		rep.Actors = append(rep.Actors, r)
	}
	slices.Reverse(rep.Actors)
	s.mu.Lock()
	delete(s.apps, name)
	s.mu.Unlock()
	s.reindex()
	if err := s.setRoutes(); err != nil {
		s.log.Error("gateway routes", "err", err)
	}
	s.pruneComponents()
	s.log.Info("app deleted", "app", name)
	return rep, nil
}

// Restore brings back the apps of the desired state (after a restart or a
// crash), each with the versions it ran; it returns the names restored. An
// app that cannot be restored is logged and reported by Status; the others
// are restored anyway.
func (s *Service) Restore(ctx context.Context) ([]string, error) {
	s.op.Lock()
	defer s.op.Unlock()
	apps, err := s.st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("host: reading the desired state: %w", err)
	}
	var done []string
	var errs []error
	for _, rec := range apps {
		app, err := config.ParseApp(rec.Name+" (stored)", rec.Source, s.config())
		if err == nil {
			var rep admin.Report
			rep, err = s.reconcile(ctx, app, rec, nil, true)
			failed := 0
			for _, r := range rep.Actors {
				if r.Action == admin.ActionFailed {
					failed++
					s.log.Error("restore: actor did not start", "app", rec.Name, "actor", r.ID, "err", r.Error)
				}
			}
			if err == nil && failed > 0 && failed == len(rep.Actors) {
				err = fmt.Errorf("none of its %d actors started", failed)
			}
		}
		if err != nil {
			s.log.Error("restore: app not restored", "app", rec.Name, "err", err)
			errs = append(errs, fmt.Errorf("app %s: %w", rec.Name, err))
			continue
		}
		done = append(done, rec.Name)
		s.log.Info("restored app", "app", rec.Name, "digest", rec.Digest, "actors", len(s.apps[rec.Name].ids))
	}
	s.mu.Lock()
	s.restored = done
	s.mu.Unlock()
	return done, errors.Join(errs...)
}

func (s *Service) usable() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || s.draining {
		return coded(admin.ErrUnavailable, errors.New("the host is shutting down"))
	}
	return nil
}

func (s *Service) config() *config.Host {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfgNow
}

func (s *Service) currentPolicy() *security.Policy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.policy
}

// ---- errors ----------------------------------------------------------------

// codedError gives err the admin API's code: errors.Is matches both.
type codedError struct {
	code error
	err  error
}

func (e *codedError) Error() string   { return e.err.Error() }
func (e *codedError) Unwrap() []error { return []error{e.code, e.err} }

func coded(code, err error) error {
	if err == nil || errors.Is(err, code) {
		return err
	}
	return &codedError{code: code, err: err}
}

// classify gives the errors of the parts below their admin code.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, actor.ErrUnknownActor), errors.Is(err, os.ErrNotExist):
		return coded(admin.ErrNotFound, err)
	case errors.Is(err, catalog.ErrNotOwner), errors.Is(err, catalog.ErrVersionExists), errors.Is(err, catalog.ErrInUse),
		errors.Is(err, actor.ErrExists), errors.Is(err, actor.ErrNoRollback), errors.Is(err, actor.ErrActorStopped):
		return coded(admin.ErrConflict, err)
	case errors.Is(err, security.ErrDenied), errors.Is(err, security.ErrSignature), errors.Is(err, catalog.ErrTampered),
		errors.Is(err, actor.ErrDenied):
		return coded(admin.ErrDenied, err)
	case errors.Is(err, security.ErrManifest), errors.Is(err, catalog.ErrInvalid), errors.Is(err, engine.ErrInvalidWasm):
		return coded(admin.ErrInvalid, err)
	}
	return err
}
