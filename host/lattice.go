package host

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

// latticeLink is the host's part of a lattice: its embedded NATS server,
// the in-process connection to it and the Node the actor system reaches
// other hosts through. Open makes it before the actor system; Shutdown
// and closeParts end it after.
type latticeLink struct {
	srv    *lattice.Server
	nc     *nats.Conn
	node   *lattice.Node
	mode   string
	closed atomic.Bool
}

// openLattice starts the embedded server of cfg.Lattice and joins it.
func (s *Service) openLattice(ctx context.Context) error {
	lc := s.cfg.Lattice
	srv, err := lattice.StartServer(ctx, lattice.ServerConfig{Name: lc.Host, Listen: lc.Listen,
		Cluster: lattice.ClusterConfig{Name: lc.ClusterName, Listen: lc.ClusterListen, Routes: lc.Routes}})
	if err != nil {
		return fmt.Errorf("host: lattice: %w", err)
	}
	l := &latticeLink{srv: srv, mode: "fire-and-forget"}
	s.lat = l
	if l.nc, err = srv.Connect(lc.Host, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond)); err != nil {
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
		}})
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
