package host

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

// latticeLink is the host's part of a lattice: its embedded NATS server,
// the in-process connection to it and the Node the actor system reaches
// other hosts through. Open makes it before the actor system; Shutdown
// and closeParts end it after.
type latticeLink struct {
	srv      *lattice.Server
	nc       *nats.Conn
	node     *lattice.Node
	key      *latticeKey // this host's identity in the lattice
	mode     string
	closed   atomic.Bool
	started  atomic.Bool // the rebalancer runs
	stopOnce sync.Once
	// pokes wakes the rebalancer: the hosts or their apps changed.
	pokes chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

// stopRebalance ends the rebalancer and waits for it (idempotent).
func (l *latticeLink) stopRebalance() {
	if l == nil {
		return
	}
	l.stopOnce.Do(func() { close(l.stop) })
	if l.started.Load() {
		<-l.done
	}
}

// poke asks for a rebalance (never blocks).
func (l *latticeLink) poke() {
	select {
	case l.pokes <- struct{}{}:
	default:
	}
}

// openLattice starts the embedded server of cfg.Lattice and joins it.
func (s *Service) openLattice(ctx context.Context) error {
	lc := s.cfg.Lattice
	key, err := loadLatticeKey(s.cfg.KeyPath())
	if err != nil {
		return err
	}
	scfg := lattice.ServerConfig{Name: lc.Host, Listen: lc.Listen,
		Cluster: lattice.ClusterConfig{Name: lc.ClusterName, Listen: lc.ClusterListen, Routes: lc.Routes}}
	if s.cfg.Lattice.Shared() {
		// JetStream holds what the hosts share: the desired state.
		scfg.JetStreamDir = filepath.Join(s.cfg.DataDir, "jetstream")
	}
	srv, err := lattice.StartServer(ctx, scfg)
	if err != nil {
		return fmt.Errorf("host: lattice: %w", err)
	}
	l := &latticeLink{srv: srv, key: key, mode: "fire-and-forget", pokes: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	s.lat = l
	if l.nc, err = srv.Connect(lc.Host, lattice.LogErrors(s.log), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond)); err != nil {
		return fmt.Errorf("host: lattice: %w", err)
	}
	mode := lattice.FireAndForget
	if lc.Acknowledged {
		mode, l.mode = lattice.Acknowledged, "acknowledged"
	}
	l.node, err = lattice.New(l.nc, lattice.Config{Lattice: lc.Name, Host: lc.Host, Mode: mode, Logger: s.log,
		Load: func() lattice.Load {
			if s.sys == nil {
				return lattice.Load{}
			}
			return lattice.Load{Actors: len(s.sys.Actors())}
		},
		Apps:     s.appDigests,
		OnChange: l.poke,
	})
	if err != nil {
		return fmt.Errorf("host: lattice: %w", err)
	}
	return nil
}

// close ends the link: the node (a last heartbeat says this host stops),
// the connection, the server. Calling it again does nothing.
func (l *latticeLink) close() {
	if l == nil || l.closed.Swap(true) {
		return
	}
	l.stopRebalance()
	if l.node != nil {
		l.node.Close()
	}
	if l.nc != nil {
		l.nc.Close()
	}
	l.srv.Shutdown()
}

// status is the lattice as Status reports it.
func (l *latticeLink) status(name, host string) *admin.Lattice {
	if l == nil || l.node == nil {
		return nil
	}
	out := &admin.Lattice{Name: name, Host: host, Mode: l.mode}
	for _, h := range l.node.Hosts() {
		out.Hosts = append(out.Hosts, admin.LatticeHost{Name: h.Name, Self: h.Self, Started: h.Started,
			LastSeen: h.LastSeen, Actors: h.Load.Actors})
	}
	return out
}

// appDigests are the apps this host has deployed, for its heartbeats.
func (s *Service) appDigests() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(s.apps))
	for name, run := range s.apps {
		out[name] = run.rec.Digest
	}
	return out
}

// placedElsewhere are the ids of app that other hosts run: with other
// hosts that have the same version of app deployed, each runs its share
// (lattice.Place over them); alone, this host runs them all (nil).
func (s *Service) placedElsewhere(app string, digest string, order []actor.ID) map[actor.ID]bool {
	if s.lat == nil || s.lat.node == nil {
		return nil
	}
	cands := s.lat.node.CandidatesFor(app, digest)
	self := s.cfg.Lattice.Host
	found := false
	for _, c := range cands {
		found = found || c.Name == self
	}
	if !found {
		// The heartbeat does not carry this version yet (a deploy in
		// progress): this host is one of them.
		cands = append(cands, lattice.Candidate{Name: self, Labels: nil})
	}
	if len(cands) <= 1 {
		return nil
	}
	where := lattice.Place(order, cands, lattice.Constraint{})
	out := map[actor.ID]bool{}
	for _, id := range order {
		if where[id] != self {
			out[id] = true
		}
	}
	return out
}

// rebalance runs until the link closes: when the hosts or their apps
// change, every app is reconciled again (as a restore: nothing fetched),
// so that this host starts the actors now placed here (a host died, or
// left) and stops those placed elsewhere (a host joined).
func (s *Service) rebalance(l *latticeLink) {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case <-l.pokes:
		}
		// Let a burst of changes settle (hosts starting together).
		select {
		case <-l.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		s.reconcileAll(l.stop)
	}
}

// reconcileAll brings every deployed app to its placement now.
func (s *Service) reconcileAll(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.op.Lock()
	defer s.op.Unlock()
	s.mu.RLock()
	if s.closed || s.draining {
		s.mu.RUnlock()
		return
	}
	runs := make([]*appRun, 0, len(s.apps))
	for _, run := range s.apps {
		runs = append(runs, run)
	}
	s.mu.RUnlock()
	for _, run := range runs {
		rep, err := s.reconcile(ctx, run.app, run.rec, nil, true)
		if err != nil {
			s.log.Error("lattice: rebalancing an app", "app", run.app.Name, "err", err)
			continue
		}
		if rep.Changed {
			s.log.Info("lattice: rebalanced an app", "app", run.app.Name, "actors", actionsText(rep))
		}
	}
}

// actionsText is a report's actors as "id:action" for a log line.
func actionsText(rep admin.Report) string {
	var b strings.Builder
	for i, r := range rep.Actors {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.ID + ":" + r.Action)
	}
	return b.String()
}
