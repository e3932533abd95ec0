package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/host/state"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
)

var _ admin.Backend = (*Service)(nil)

// Apps implements admin.Backend.
func (s *Service) Apps(ctx context.Context) ([]admin.App, error) {
	s.mu.RLock()
	names := slices.Sorted(maps.Keys(s.apps))
	s.mu.RUnlock()
	out := make([]admin.App, 0, len(names))
	for _, n := range names {
		if a, err := s.appView(n, false); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// App implements admin.Backend.
func (s *Service) App(ctx context.Context, name string) (admin.App, error) {
	return s.appView(name, true)
}

func (s *Service) appView(name string, withSource bool) (admin.App, error) {
	s.mu.RLock()
	run := s.apps[name]
	var rec state.App
	var ids []actor.ID
	var app *config.App
	if run != nil { // copied under the lock: an update replaces run.rec
		rec, ids, app = run.rec, run.ids, run.app
	}
	s.mu.RUnlock()
	if run == nil {
		return admin.App{}, coded(admin.ErrNotFound, fmt.Errorf("no app %q", name))
	}
	a := admin.App{Name: name, Digest: rec.Digest, Deployed: rec.Deployed, Actors: []admin.Actor{},
		Routes: []admin.Route{}}
	if withSource {
		a.Source = string(rec.Source)
	}
	for _, id := range ids {
		a.Actors = append(a.Actors, s.actorView(id, name))
	}
	for _, r := range app.Routes {
		a.Routes = append(a.Routes, admin.Route{Method: r.Method, Path: r.Path, Actor: r.Actor})
	}
	return a, nil
}

// actorView is id as the host sees it; app names the app that asks for
// it (an id no app asks for is reported with app "").
func (s *Service) actorView(id actor.ID, app string) admin.Actor {
	v := admin.Actor{ID: string(id), App: app, State: "missing"}
	s.mu.RLock()
	halted := false
	if a := s.actors[id]; a != nil {
		v.App, v.Component = a.app, a.verString()
		v.Publisher = a.ver.Publisher
		if a.prev != nil {
			v.Rollback = a.prev.String()
		}
		halted = a.halted
	}
	s.mu.RUnlock()
	if halted {
		v.State = actor.Stopped.String()
	} else if st, err := s.sys.Stats(id); err == nil {
		v.State, v.Busy, v.MailboxDepth = st.State.String(), st.Busy, st.MailboxDepth
		v.Handled, v.Errors, v.Failed, v.DeadLettered = st.Handled, st.Errors, st.Failed, st.DeadLettered
		v.Restarts, v.Handles, v.LogLinesDropped = st.Restarts, st.Handles, st.LogLinesDropped
		v.HandleP50us = quantile(st.HandleTime, 0.50).Microseconds()
		v.HandleP99us = quantile(st.HandleTime, 0.99).Microseconds()
	}
	return v
}

// Actors implements admin.Backend: every actor an app asks for, by id; in
// a lattice of several hosts, every host's (lattice_ps.go).
func (s *Service) Actors(ctx context.Context) ([]admin.Actor, error) {
	return s.latticeActors(ctx, s.localActors()), nil
}

// Actor implements admin.Backend.
func (s *Service) Actor(ctx context.Context, id string) (admin.Actor, error) {
	app, ok := s.appOf(actor.ID(id))
	if !ok {
		return admin.Actor{}, coded(admin.ErrNotFound, fmt.Errorf("no actor %q", id))
	}
	return s.actorView(actor.ID(id), app), nil
}

// appOf finds the app that asks for id.
func (s *Service) appOf(id actor.ID) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.actors[id]; a != nil {
		return a.app, true
	}
	for name, run := range s.apps {
		if slices.Contains(run.ids, id) {
			return name, true
		}
	}
	return "", false
}

// Health implements admin.Backend.
func (s *Service) Health(ctx context.Context, id string) (string, error) {
	h, err := s.sys.Health(ctx, actor.ID(id))
	if err != nil {
		return "", classify(err)
	}
	return string(h), nil
}

// Stop implements admin.Backend: the actor drains its mailbox and stops.
// It stays in its app (ps shows it stopped); deploying the app again, or
// restarting the host, starts it again.
func (s *Service) Stop(ctx context.Context, id string) error {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	a := s.actorOf(actor.ID(id))
	if a == nil {
		return coded(admin.ErrNotFound, fmt.Errorf("no actor %q", id))
	}
	s.mu.RLock()
	halted := a.halted
	s.mu.RUnlock()
	if halted {
		return nil
	}
	err := s.haltActor(ctx, actor.ID(id))
	s.log.Info("actor stopped by the operator", "actor", id, "err", err)
	return classify(err)
}

// Restart implements admin.Backend.
func (s *Service) Restart(ctx context.Context, id string) error {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	a := s.actorOf(actor.ID(id))
	if a == nil {
		return coded(admin.ErrNotFound, fmt.Errorf("no actor %q", id))
	}
	s.mu.RLock()
	halted, ver := a.halted, a.ver
	run := s.apps[a.app]
	s.mu.RUnlock()
	if halted && run != nil {
		// Stopped: start it again, admitted under the policy as it is now.
		adm, err := s.admit(ctx, ver)
		if err != nil {
			return err
		}
		spec, err := s.specFor(a.id, a.def, adm)
		if err != nil {
			return err
		}
		w := &want{id: a.id, def: a.def, settings: a.settings, adm: adm, spec: spec}
		if a.prev != nil {
			w.prev = a.prev.String()
		}
		s.stopActor(ctx, a.id) // forget the halted record; w carries what it had
		err = s.startActor(ctx, run.app, w)
		if errors.Is(err, actor.ErrNoSupervisor) {
			err = s.startTree(ctx, run.app, []*want{w}, nil, nil)
		}
		return classify(err)
	}
	if err := s.sys.Restart(ctx, actor.ID(id)); err != nil {
		if errors.Is(err, actor.ErrActorStopped) {
			return coded(admin.ErrConflict, err)
		}
		return classify(err)
	}
	return nil
}

// Update implements admin.Backend: the actor moves to component
// (name@version, installed) through the live update path, admitted under
// the policy as it is now. The change is kept in the desired state.
func (s *Service) Update(ctx context.Context, id, component string) (admin.ActorResult, error) {
	s.op.Lock()
	defer s.op.Unlock()
	name, version, ok := strings.Cut(component, "@")
	if !ok || name == "" || version == "" {
		return admin.ActorResult{}, coded(admin.ErrBadRequest, fmt.Errorf("%q is not name@version", component))
	}
	return s.moveTo(ctx, actor.ID(id), name, version, admin.ActionUpdated)
}

// Rollback implements admin.Backend: the actor returns to the version it
// ran before its last update (the way Update goes).
func (s *Service) Rollback(ctx context.Context, id string) (admin.ActorResult, error) {
	s.op.Lock()
	defer s.op.Unlock()
	a := s.actorOf(actor.ID(id))
	if a == nil {
		return admin.ActorResult{}, coded(admin.ErrNotFound, fmt.Errorf("no running actor %q", id))
	}
	s.mu.RLock()
	prev := a.prev
	s.mu.RUnlock()
	if prev == nil {
		return admin.ActorResult{}, coded(admin.ErrConflict, fmt.Errorf("%w: %s", actor.ErrNoRollback, id))
	}
	return s.moveTo(ctx, actor.ID(id), prev.Name, prev.Version, admin.ActionRolledBack)
}

// moveTo updates one actor to name@version (the caller holds op).
func (s *Service) moveTo(ctx context.Context, id actor.ID, name, version, action string) (admin.ActorResult, error) {
	if err := s.usable(); err != nil {
		return admin.ActorResult{}, err
	}
	a := s.actorOf(id)
	if a == nil {
		return admin.ActorResult{}, coded(admin.ErrNotFound, fmt.Errorf("no running actor %q", id))
	}
	v, err := s.cat.Get(name, version)
	if err != nil {
		return admin.ActorResult{}, classify(err)
	}
	s.mu.RLock()
	cur := a.ver
	run := s.apps[a.app]
	s.mu.RUnlock()
	if v.Name != cur.Name {
		// Another component would be another identity with other data.
		return admin.ActorResult{}, coded(admin.ErrConflict, fmt.Errorf("%s runs %s: an update keeps the component, %s is another one",
			id, cur.Name, v.Name))
	}
	adm, err := s.admit(ctx, v)
	if err != nil {
		return admin.ActorResult{}, err
	}
	spec, err := s.specFor(id, a.def, adm)
	if err != nil {
		return admin.ActorResult{}, err
	}
	r := admin.ActorResult{ID: string(id), Action: action, From: cur.String(), To: v.String()}
	s.mu.RLock()
	halted := a.halted
	s.mu.RUnlock()
	if halted {
		return r, coded(admin.ErrConflict, fmt.Errorf("%s is stopped: restart it first", id))
	}
	if cur.String() == v.String() && cur.Digest == v.Digest {
		r.Action = admin.ActionUnchanged
		return r, nil
	}
	if err := s.sys.Update(ctx, id, adm.comp, spec.Grants); err != nil {
		if errors.Is(err, actor.ErrUpdateFailed) {
			return r, coded(admin.ErrConflict, err)
		}
		return r, classify(err)
	}
	s.switchVersion(a, adm, spec.Grants)
	// Keep it in the desired state, so that a restart brings it back.
	if run != nil {
		rec := run.rec
		rec.Actors = maps.Clone(rec.Actors)
		if rec.Actors == nil {
			rec.Actors = map[string]state.ActorState{}
		}
		rec.Actors[string(id)] = state.ActorState{Component: v.String(), Previous: cur.String()}
		if err := s.st.Put(ctx, rec); err != nil {
			s.log.Error("recording an update in the desired state", "actor", string(id), "err", err)
		} else {
			s.mu.Lock()
			run.rec = rec
			s.mu.Unlock()
		}
	}
	s.pruneComponents()
	s.log.Info("actor "+action, "actor", string(id), "from", r.From, "to", r.To)
	return r, nil
}

// DeadLetters implements admin.Backend.
func (s *Service) DeadLetters(ctx context.Context, limit int) (admin.DeadLetters, error) {
	dead, total := s.sys.DeadLetters()
	if limit <= 0 || limit > len(dead) {
		limit = len(dead)
	}
	out := admin.DeadLetters{Total: total, Letters: make([]admin.DeadLetter, 0, limit)}
	for _, d := range dead[len(dead)-limit:] {
		l := admin.DeadLetter{Time: d.Time, To: string(d.To), From: string(d.Message.Sender),
			ContentType: d.Message.ContentType, PayloadLen: len(d.Message.Payload)}
		if d.PayloadDropped {
			l.PayloadLen = d.PayloadLen
		}
		if d.Reason != nil {
			l.Reason = d.Reason.Error()
		}
		out.Letters = append(out.Letters, l)
	}
	return out, nil
}

// ---- components ------------------------------------------------------------

// Components implements admin.Backend.
func (s *Service) Components(ctx context.Context) ([]admin.Component, error) {
	vs, err := s.cat.List()
	if err != nil {
		return nil, classify(err)
	}
	out := make([]admin.Component, len(vs))
	for i, v := range vs {
		out[i] = s.componentView(v)
	}
	return out, nil
}

func (s *Service) componentView(v *catalog.Version) admin.Component {
	c := admin.Component{Name: v.Name, Version: v.Version, Digest: v.Digest, Publisher: v.Publisher, Size: v.Size,
		Installed: v.Installed}
	if pins, err := s.cat.Pins(v.Name, v.Version); err == nil {
		slices.Sort(pins)
		c.InUse = pins
	}
	return c
}

// Component implements admin.Backend.
func (s *Service) Component(ctx context.Context, name, version string) (admin.Component, error) {
	v, err := s.cat.Get(name, version)
	if err != nil {
		return admin.Component{}, classify(err)
	}
	return s.componentView(v), nil
}

// Install implements admin.Backend: a component from a registry or from
// its bytes, admitted under the policy.
func (s *Service) Install(ctx context.Context, req admin.InstallRequest) (admin.Component, error) {
	if err := s.usable(); err != nil {
		return admin.Component{}, err
	}
	var v *catalog.Version
	var err error
	switch {
	case req.Ref != "" && req.Wasm == nil:
		v, err = s.pull(ctx, req.Ref, req.PlainHTTP)
	case req.Ref == "" && req.Wasm != nil:
		if req.Manifest == nil {
			return admin.Component{}, coded(admin.ErrBadRequest, errors.New("a component's bytes come with its Component.toml"))
		}
		var sig *security.Signature
		if req.Signature != nil {
			sg, perr := security.ParseSignature(req.Signature)
			if perr != nil {
				return admin.Component{}, coded(admin.ErrDenied, fmt.Errorf("its signature: %w", perr))
			}
			sig = &sg
		}
		v, err = s.install(ctx, req.Wasm, req.Manifest, sig)
	default:
		return admin.Component{}, coded(admin.ErrBadRequest, errors.New("give a reference or the component's bytes, not both"))
	}
	if err != nil {
		return admin.Component{}, err
	}
	s.log.Info("component installed", "component", v.String(), "digest", v.Digest, "publisher", v.Publisher)
	return s.componentView(v), nil
}

// Uninstall implements admin.Backend (a version that runs, or that an
// actor would roll back to, is refused: conflict). It waits for an
// operation in progress, which may be about to pin the version.
func (s *Service) Uninstall(ctx context.Context, name, version string) error {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.cat.Uninstall(name, version); err != nil {
		return classify(err)
	}
	s.log.Info("component uninstalled", "component", name+"@"+version)
	return nil
}

// ExportStorage implements admin.Backend: the data belongs to the name's
// owner in the store (the publisher that first installed it).
func (s *Service) ExportStorage(ctx context.Context, component string, w io.Writer) error {
	names, err := s.cat.Names()
	if err != nil {
		return classify(err)
	}
	for _, n := range names {
		if n.Name == component {
			return s.kv.Export(ctx, storage.Owner{Publisher: n.Publisher, Name: n.Name}, w)
		}
	}
	return coded(admin.ErrNotFound, fmt.Errorf("no component %q in the store", component))
}

// quantile is the upper bound of the bucket of h where the q quantile
// falls (the last bound when it falls above them all); 0 when h counted
// nothing.
func quantile(h actor.Histogram, q float64) time.Duration {
	if h.Count == 0 || len(h.Counts) == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(h.Count)))
	var seen uint64
	for i, n := range h.Counts {
		seen += n
		if seen >= want {
			if i < len(h.Bounds) {
				return h.Bounds[i]
			}
			break
		}
	}
	return h.Bounds[len(h.Bounds)-1]
}
