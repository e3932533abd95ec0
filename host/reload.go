package host

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/security"
)

// Reload applies a new host.toml (SIGHUP): the policy is read again and
// every running actor is admitted again under it. An actor the new policy
// refuses is stopped; one whose grants changed moves to them through the
// live update path (same version). Settings that only a restart can change
// (the data directory, the listeners, the gateway's limits) keep their
// running values, and Reload says so in the log. On an error in the new
// file or policy nothing changes.
func (s *Service) Reload(ctx context.Context, cfg *config.Host) ([]admin.ActorResult, error) {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, coded(admin.ErrInvalid, err)
	}
	old := s.config()
	if cfg.DataDir != old.DataDir || cfg.Admin != old.Admin || cfg.Gateway != old.Gateway {
		s.log.Warn("reload: the data directory, the admin API and the gateway change at the next start only")
		next := *cfg
		next.DataDir, next.Admin, next.Gateway = old.DataDir, old.Admin, old.Gateway
		if next.PolicyDefault { // the default policy of the data directory in use
			next.Policy = old.Policy
		}
		cfg = &next
	}
	pol, err := loadPolicy(cfg, s.opts.Dev, s.log)
	if err != nil {
		return nil, coded(admin.ErrInvalid, err)
	}
	s.mu.Lock()
	s.cfgNow, s.policy = cfg, pol
	s.policyGen++
	s.reloaded = time.Now()
	runs := make([]*actorRun, 0, len(s.actors))
	for _, a := range s.actors {
		if !a.halted {
			runs = append(runs, a)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(runs, func(a, b *actorRun) int {
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})

	var results []admin.ActorResult
	var changes []actor.Change
	var moved []*actorRun
	var admits []*admitted
	for _, a := range runs {
		s.mu.RLock()
		v := a.ver
		s.mu.RUnlock()
		adm, err := s.admit(ctx, v)
		if err == nil {
			var spec actor.Spec
			if spec, err = s.specFor(a.id, a.def, adm); err == nil {
				if grantsKey(spec.Grants) != grantsKey(s.liveGrants(a)) {
					changes = append(changes, actor.Change{ID: a.id, Component: adm.comp, Grants: spec.Grants})
					moved, admits = append(moved, a), append(admits, adm)
				} else {
					s.mu.Lock()
					a.gen = s.policyGen
					s.mu.Unlock()
				}
				continue
			}
		}
		// Refused now: it stops.
		r := admin.ActorResult{ID: string(a.id), Action: admin.ActionStopped, From: v.String(),
			Error: "refused under the new policy: " + err.Error()}
		if serr := s.haltActor(ctx, a.id); serr != nil {
			r.Error += "; stopping it: " + serr.Error()
		}
		s.log.Warn("reload: actor stopped, the new policy refuses it", "actor", string(a.id), "err", err)
		results = append(results, r)
	}
	for i, a := range moved {
		r := admin.ActorResult{ID: string(a.id), Action: admin.ActionUpdated, From: a.verString(), To: admits[i].ver.String()}
		if err := s.sys.Update(ctx, a.id, changes[i].Component, changes[i].Grants); err != nil {
			// Its old grants are wider than the policy now allows: stop it.
			r.Action, r.Error = admin.ActionStopped, fmt.Sprintf("new grants did not start (%v): stopped", err)
			s.haltActor(ctx, a.id)
		} else {
			s.mu.Lock()
			a.grants, a.gen = changes[i].Grants, s.policyGen
			s.mu.Unlock()
		}
		results = append(results, r)
	}
	s.pruneComponents()
	s.log.Info("reloaded", "policy", cfg.Policy, "actors", len(runs), "changed", len(results))
	return results, nil
}

// liveGrants are the grants a runs with (nil in dev mode).
func (s *Service) liveGrants(a *actorRun) *security.Grants {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return a.grants
}

// grantsKey compares grants by what they give.
func grantsKey(g *security.Grants) string {
	if g == nil {
		return ""
	}
	return keyOf(struct {
		P string
		T security.Trust
		C security.Capabilities
		R security.Resources
	}{g.Publisher, g.Trust, g.Caps, g.Resources})
}
