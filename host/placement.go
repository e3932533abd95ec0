package host

import (
	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

// placeApp says which ids of app this host does not run: those other
// hosts run, and those no host can (their placement matches no live host,
// or every matching host is at its cap). The hosts are those that have
// the same version of app deployed (their heartbeats say), this one
// included; each [[actor]] is placed with its own [actor.placement]
// (lattice.Place: every host computes the same answer). A host that
// shares no lattice runs every id (nil), placement or not.
func (s *Service) placeApp(app *config.App, digest string) map[actor.ID]bool {
	if s.lat == nil || s.lat.node == nil || !s.cfg.Lattice.Shared() {
		return nil
	}
	self := s.cfg.Lattice.Host
	var cands []lattice.Candidate
	found := false
	for _, c := range s.lat.node.CandidatesFor(app.Name, digest) {
		if c.Name == self {
			found = true
			c.Labels = s.hostLabels() // its own, as configured now
		}
		cands = append(cands, c)
	}
	if !found {
		// The heartbeat does not carry this version yet (a deploy in
		// progress): this host is one of them.
		cands = append(cands, lattice.Candidate{Name: self, Labels: s.hostLabels()})
	}
	out := map[actor.ID]bool{}
	for i := range app.Actors {
		def := &app.Actors[i]
		ids := def.IDs()
		where := lattice.Place(ids, cands, lattice.Constraint{Labels: def.Placement.Labels, MaxPerHost: def.Placement.MaxPerHost})
		for _, id := range ids {
			if where[id] != self {
				out[id] = true
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hostLabels are this host's labels ([lattice] labels), as its
// heartbeats carry them.
func (s *Service) hostLabels() map[string]string { return s.cfg.Lattice.Labels }
