package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
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

// openLattice joins the lattice of cfg.Lattice: it starts the embedded
// server (admitting this host and its peers, each by its own key) and
// connects to it in-process, or connects to the external servers; either
// way authenticated as this host.
func (s *Service) openLattice(ctx context.Context) error {
	lc := s.cfg.Lattice
	key, err := loadLatticeKey(s.cfg.KeyPath())
	if err != nil {
		return err
	}
	opts, err := lattice.HostOptions(lc.Name, lc.Host, nil)
	if err != nil {
		return fmt.Errorf("host: lattice: %w", err)
	}
	opts = append(opts, lattice.LogErrors(s.log), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	l := &latticeLink{key: key, mode: "fire-and-forget", pokes: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	s.lat = l
	if len(lc.Servers) > 0 {
		if l.nc, err = connectExternal(lc, key, opts); err != nil {
			return err
		}
	} else {
		if l.srv, err = startEmbedded(ctx, lc, key, s.cfg.DataDir); err != nil {
			return err
		}
		nk, err := lattice.NkeyOption(key.seed)
		if err != nil {
			return fmt.Errorf("host: lattice: %w", err)
		}
		if l.nc, err = l.srv.Connect(lc.Host, append(opts, nk)...); err != nil {
			return fmt.Errorf("host: lattice: %w", err)
		}
	}
	mode := lattice.FireAndForget
	if lc.Acknowledged {
		mode, l.mode = lattice.Acknowledged, "acknowledged"
	}
	l.node, err = lattice.New(l.nc, lattice.Config{Lattice: lc.Name, Host: lc.Host, Mode: mode, Logger: s.log, Labels: lc.Labels,
		Load: func() lattice.Load {
			if s.sys == nil {
				return lattice.Load{}
			}
			return lattice.Load{Actors: len(s.sys.Actors())}
		},
		Apps:        s.appDigests,
		OnChange:    l.poke,
		CheckSender: s.checkRemoteSender,
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
	if l.srv != nil {
		l.srv.Shutdown()
	}
}

// ErrClusterSecret is a cluster secret file that cannot be used.
var ErrClusterSecret = errors.New("host: lattice.cluster-secret-file")

// startEmbedded starts the host's embedded NATS server: it admits this
// host and [lattice.peers], each by its key; its routes need the cluster
// secret; TLS when configured.
func startEmbedded(ctx context.Context, lc config.Lattice, key *latticeKey, dataDir string) (*lattice.Server, error) {
	hosts := []lattice.HostKey{{Host: lc.Host, PublicKey: key.pub}}
	for _, name := range slices.Sorted(maps.Keys(lc.Peers)) {
		hosts = append(hosts, lattice.HostKey{Host: name, PublicKey: lc.Peers[name]})
	}
	scfg := lattice.ServerConfig{Name: lc.Host, Listen: lc.Listen, Lattice: lc.Name, Hosts: hosts,
		Cluster: lattice.ClusterConfig{Name: lc.ClusterName, Listen: lc.ClusterListen, Routes: lc.Routes}}
	if lc.ClusterListen != "" {
		secret, err := readClusterSecret(lc.ClusterSecretFile)
		if err != nil {
			return nil, err
		}
		scfg.Cluster.Secret = secret
	}
	if lc.TLSCert != "" {
		scfg.TLS = &lattice.TLSFiles{Cert: lc.TLSCert, Key: lc.TLSKey, CA: lc.TLSCA}
	}
	if lc.Shared() {
		// JetStream holds what the hosts share: the desired state.
		scfg.JetStreamDir = filepath.Join(dataDir, "jetstream")
	}
	srv, err := lattice.StartServer(ctx, scfg)
	if err != nil {
		return nil, fmt.Errorf("host: lattice: %w", err)
	}
	return srv, nil
}

// connectExternal connects to the external NATS servers of
// lattice.servers, as this host: its key, or the credentials file; TLS
// verified with lattice.tls-ca, presenting lattice.tls-cert when set.
func connectExternal(lc config.Lattice, key *latticeKey, opts []nats.Option) (*nats.Conn, error) {
	if lc.Credentials != "" {
		opts = append(opts, nats.UserCredentials(lc.Credentials))
	} else {
		nk, err := lattice.NkeyOption(key.seed)
		if err != nil {
			return nil, fmt.Errorf("host: lattice: %w", err)
		}
		opts = append(opts, nk)
	}
	if lc.TLSCA != "" {
		var tc *tls.Config
		if lc.TLSCert != "" {
			var err error
			if tc, err = (lattice.TLSFiles{Cert: lc.TLSCert, Key: lc.TLSKey, CA: lc.TLSCA}).Config(); err != nil {
				return nil, fmt.Errorf("host: lattice: %w", err)
			}
		} else {
			pem, err := os.ReadFile(lc.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("host: lattice.tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("host: lattice.tls-ca: %s holds no PEM certificate", lc.TLSCA)
			}
			tc = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		}
		opts = append(opts, nats.Secure(tc))
	}
	opts = append(opts, nats.Name(lc.Host))
	nc, err := nats.Connect(strings.Join(lc.Servers, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("host: lattice: servers %v: %w", lc.Servers, err)
	}
	return nc, nil
}

// readClusterSecret reads the route secret: a file only its owner may
// read, of lattice.MinSecret bytes or more.
func readClusterSecret(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: a cluster needs the secret its routes authenticate with (a file, the same on every host, %d bytes or more)",
			ErrClusterSecret, lattice.MinSecret)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrClusterSecret, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: %s is mode %04o: others may read it; chmod 600", ErrClusterSecret, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrClusterSecret, err)
	}
	secret := strings.TrimSpace(string(b))
	if len(secret) < lattice.MinSecret {
		return "", fmt.Errorf("%w: %s: %d bytes, want %d or more", ErrClusterSecret, path, len(secret), lattice.MinSecret)
	}
	return secret, nil
}

// LatticePublicKey is this host's lattice public key ("U..."), read from
// its key file (made there if there is none): `airssys-wasm hosts key`.
func LatticePublicKey(cfg *config.Host) (string, error) {
	key, err := loadLatticeKey(cfg.KeyPath())
	if err != nil {
		return "", err
	}
	return key.pub, nil
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
