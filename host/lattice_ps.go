package host

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// The lattice-wide actor list (`ps` on any host lists every host's
// actors). Each host of a lattice answers requests on
// airssys.<lattice>.admin.actors.<its name> with the actors it runs (JSON,
// []admin.Actor with Host set); Actors asks every other live host at once,
// waits at most psTimeout for each, and lists, for the ids the apps ask for
// that no host reported, a "missing" entry. A host that does not answer in
// time is listed as one entry of state "unreachable" (its id is the
// host's name in brackets) rather than hiding the rest.

// psTimeout bounds the wait for each host's list.
const psTimeout = 2 * time.Second

// psSubject is where host answers with its actors.
func psSubject(lattice, host string) string { return "airssys." + lattice + ".admin.actors." + host }

// servePS subscribes this host's ps subject (nil for a host alone: no
// other host can ask).
func (s *Service) servePS() (*nats.Subscription, error) {
	l := s.lat
	if l == nil || l.nc == nil || !s.cfg.Lattice.Shared() {
		return nil, nil
	}
	return l.nc.Subscribe(psSubject(s.cfg.Lattice.Name, s.cfg.Lattice.Host), func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		b, err := json.Marshal(s.localActors())
		if err == nil && int64(len(b)) > l.nc.MaxPayload() {
			err = fmt.Errorf("%d bytes of actors, more than NATS carries (%d)", len(b), l.nc.MaxPayload())
		}
		if err != nil {
			b, _ = json.Marshal(map[string]string{"error": err.Error()})
		}
		_ = m.Respond(b)
	})
}

// localActors are the actors this host runs (or should run), by id.
func (s *Service) localActors() []admin.Actor {
	s.mu.RLock()
	type idApp struct {
		id  actor.ID
		app string
	}
	var ids []idApp
	for name, run := range s.apps {
		for _, id := range run.ids {
			ids = append(ids, idApp{id, name})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(ids, func(a, b idApp) int { return strings.Compare(string(a.id), string(b.id)) })
	out := make([]admin.Actor, len(ids))
	self := ""
	if s.lat != nil && s.cfg.Lattice.Shared() {
		self = s.cfg.Lattice.Host
	}
	for i, x := range ids {
		out[i] = s.actorView(x.id, x.app)
		out[i].Host = self
	}
	return out
}

// latticeActors adds the other hosts' actors to local, and a "missing"
// entry for every id an app asks for that no host reported.
func (s *Service) latticeActors(ctx context.Context, local []admin.Actor) []admin.Actor {
	l := s.lat
	if l == nil || l.node == nil || !s.cfg.Lattice.Shared() {
		return local
	}
	var mu sync.Mutex
	out := slices.Clone(local)
	var wg sync.WaitGroup
	for _, h := range l.node.Hosts() {
		if h.Self {
			continue
		}
		wg.Add(1)
		go func(host string) {
			defer wg.Done()
			got, err := s.askPS(ctx, host)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out = append(out, admin.Actor{ID: "[" + host + "]", Host: host, State: "unreachable", Component: err.Error()})
				return
			}
			for i := range got {
				got[i].Host = host // what the subject says, not what it claims
			}
			out = append(out, got...)
		}(h.Name)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, a := range out {
		if a.State != "missing" {
			seen[a.ID] = true
		}
	}
	// Entries "missing" on one host (placed there, not running yet) stay
	// only if no host runs the id.
	out = slices.DeleteFunc(out, func(a admin.Actor) bool { return a.State == "missing" && seen[a.ID] })
	s.mu.RLock()
	for name, run := range s.apps {
		for i := range run.app.Actors {
			for _, id := range run.app.Actors[i].IDs() {
				if !seen[string(id)] {
					seen[string(id)] = true
					out = append(out, admin.Actor{ID: string(id), App: name, State: "missing"})
				}
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b admin.Actor) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Host, b.Host)
	})
	return out
}

// askPS asks host for its actors.
func (s *Service) askPS(ctx context.Context, host string) ([]admin.Actor, error) {
	ctx, cancel := context.WithTimeout(ctx, psTimeout)
	defer cancel()
	m, err := s.lat.nc.RequestWithContext(ctx, psSubject(s.cfg.Lattice.Name, host), nil)
	if err != nil {
		return nil, fmt.Errorf("no answer: %v", err)
	}
	var got []admin.Actor
	if err := json.Unmarshal(m.Data, &got); err != nil {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(m.Data, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s", e.Error)
		}
		return nil, fmt.Errorf("an answer that is not a list of actors: %v", err)
	}
	return got, nil
}
