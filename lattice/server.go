package lattice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerConfig is an embedded NATS server. The zero value is a host
// alone: no listener at all, reached in-process only.
type ServerConfig struct {
	// Name of the server (default: a generated one).
	Name string
	// Listen is the client address ("127.0.0.1:4222"); empty: no client
	// listener (in-process connections only), except that a clustered
	// server needs one (nats-server starts routes after it): a random
	// loopback port then.
	Listen string
	// Cluster joins servers into one NATS cluster (a lattice that
	// survives the loss of a host needs three servers or more).
	Cluster ClusterConfig
	// JetStreamDir enables JetStream with its storage there (desired
	// state, durable mailboxes, the key-value backend); empty: off.
	JetStreamDir string
	// SyncAlways makes JetStream fsync every write before acknowledging
	// it (nats-server's sync_interval: always), for the durable mode;
	// otherwise the store file is written at once and fsynced every two
	// minutes (a kill -9 loses nothing acknowledged, a power loss may).
	SyncAlways bool
	// ReadyTimeout bounds the start (default 10s).
	ReadyTimeout time.Duration

	// Lattice is the lattice whose hosts the server admits (default
	// "default"), and Hosts are they: each connects with its own key and
	// gets HostPermissions(Lattice, Host). Empty Hosts: no authorization,
	// allowed only for a server with no listener at all (a host alone,
	// reached in-process); a server with a listener admits no one else.
	Lattice string
	Hosts   []HostKey
	// TLS secures the client and route listeners (mutual TLS: peers need
	// a certificate of the CA). Required when a listener or a route is not
	// on loopback; on loopback, optional.
	TLS *TLSFiles
}

// ClusterConfig is the route side of a clustered server.
type ClusterConfig struct {
	// Name of the cluster, the same on every server of it.
	Name string
	// Listen is the route address ("127.0.0.1:6222"); empty: no cluster.
	Listen string
	// Routes are the other servers' route addresses ("host:port").
	Routes []string
	// Secret authenticates routes: a server dialing a route presents it,
	// a server accepting one requires it (at least MinSecret bytes, the
	// same on every server of the cluster). With TLS, routes also need a
	// certificate of the CA.
	Secret string
}

// Server is an embedded NATS server: the lattice's transport when the
// host runs it itself.
type Server struct {
	s *server.Server
}

// StartServer starts an embedded NATS server and waits until it accepts
// connections.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	opts := &server.Options{
		ServerName: cfg.Name,
		NoLog:      true,
		NoSigs:     true,
		// A lattice message carries up to the actor system's 1 MiB cap plus
		// its headers.
		MaxPayload: 2 << 20,
	}
	if cfg.Lattice == "" {
		cfg.Lattice = "default"
	}
	var tlsc *tls.Config
	if cfg.TLS != nil {
		var err error
		if tlsc, err = cfg.TLS.Config(); err != nil {
			return nil, err
		}
	}
	// open checks a listener or route address: loopback, or TLS.
	open := func(what, hp string) (string, int, error) {
		host, port, err := splitHostPort(hp)
		if err != nil {
			return "", 0, fmt.Errorf("lattice: %s %q: %w", what, hp, err)
		}
		if !isLoopback(host) && tlsc == nil {
			return "", 0, fmt.Errorf("%w: %s %s is not on loopback: it needs TLS", ErrAuth, what, hp)
		}
		return host, port, nil
	}
	switch {
	case cfg.Listen == "" && cfg.Cluster.Listen != "":
		// nats-server starts its routes only once the client listener is
		// up (without one, it waits forever): a loopback port of its own.
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	case cfg.Listen == "":
		opts.DontListen = true
	default:
		host, port, err := open("listen", cfg.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	if !opts.DontListen && len(cfg.Hosts) == 0 {
		return nil, fmt.Errorf("%w: a server with a listener needs the hosts it admits (ServerConfig.Hosts)", ErrAuth)
	}
	if len(cfg.Hosts) > 0 {
		if err := checkHosts(cfg.Hosts); err != nil {
			return nil, err
		}
		for _, h := range cfg.Hosts {
			perms, err := HostPermissions(cfg.Lattice, h.Host)
			if err != nil {
				return nil, err
			}
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: h.PublicKey, Permissions: perms.server()})
		}
	}
	if tlsc != nil && !opts.DontListen {
		opts.TLSConfig, opts.TLSVerify, opts.TLSTimeout = tlsc, true, 2
	}
	if cfg.Cluster.Listen != "" {
		host, port, err := open("cluster listen", cfg.Cluster.Listen)
		if err != nil {
			return nil, err
		}
		if cfg.Cluster.Name == "" {
			return nil, errors.New("lattice: a cluster needs a name")
		}
		if len(cfg.Cluster.Secret) < MinSecret {
			return nil, fmt.Errorf("%w: a cluster needs a secret of %d bytes or more (routes are authenticated with it)", ErrAuth, MinSecret)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.Cluster.Name, Host: host, Port: port,
			Username: routeUser, Password: cfg.Cluster.Secret, AuthTimeout: 2}
		if tlsc != nil {
			opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = tlsc, 2
		}
		for _, r := range cfg.Cluster.Routes {
			if _, _, err := open("route", r); err != nil {
				return nil, err
			}
			u, err := url.Parse("nats-route://" + r)
			if err != nil || u.Host != r {
				return nil, fmt.Errorf("lattice: route %q: not host:port", r)
			}
			u.User = url.UserPassword(routeUser, cfg.Cluster.Secret)
			opts.Routes = append(opts.Routes, u)
		}
	}
	if cfg.JetStreamDir != "" {
		opts.JetStream = true
		opts.StoreDir = cfg.JetStreamDir
		opts.SyncAlways = cfg.SyncAlways
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("lattice: NATS server: %w", err)
	}
	go s.Start()
	wait := cfg.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		wait = time.Until(d)
	}
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		return nil, fmt.Errorf("lattice: NATS server not ready in %v", wait)
	}
	return &Server{s: s}, nil
}

// Connect opens an in-process connection to the server (no socket). Its
// asynchronous errors (a slow consumer dropping messages) are not printed
// to stderr: pass LogErrors to log them.
func (s *Server) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(s.s), nats.Name(name), LogErrors(nil)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("lattice: connect: %w", err)
	}
	return nc, nil
}

// ClientURL is the client listener's URL ("" without one).
func (s *Server) ClientURL() string {
	if s.s.Addr() == nil {
		return ""
	}
	return s.s.ClientURL()
}

// LogErrors makes a connection log its asynchronous errors to log, at
// most one a second (a slow consumer reports every drop; the node counts
// them in Stats.Dropped); nil drops them.
func LogErrors(log *slog.Logger) nats.Option {
	var last atomic.Int64
	return nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		now := time.Now().UnixNano()
		if log == nil || now-last.Load() < int64(time.Second) {
			return
		}
		last.Store(now)
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		log.Warn("lattice: NATS connection error (messages may be dropped; see the node's Dropped count)",
			"subject", subject, "err", err)
	})
}

// Routes is the number of route connections to other servers of the
// cluster: nats-server opens several per peer (a pool, and one for the
// system account), so it is not the number of peers.
func (s *Server) Routes() int { return s.s.NumRoutes() }

// Shutdown stops the server (its connections are closed).
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}

// splitHostPort splits "host:port"; port 0 is a random free port (for
// nats-server, 0 means its default port).
func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}
