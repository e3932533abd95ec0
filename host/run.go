package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// Addrs are where a running host listens.
type Addrs struct {
	Gateway  string // host:port, "" when off
	Socket   string // the admin API's unix socket
	AdminTCP string // host:port, "" when off
}

// Run serves the admin API (its unix socket, and TCP when host.toml asks)
// and the gateway, each on its own listener, until ctx ends; then it stops
// the host: listeners close, requests in flight finish within the drain
// time, the actors drain their mailboxes within it too, and every part is
// closed (Shutdown). ready, when not nil, is called once every listener is
// open. A listener that cannot be opened is an error before anything is
// served.
func (s *Service) Run(ctx context.Context, ready func(Addrs)) error {
	cfg := s.config()
	var addrs Addrs
	type server struct {
		name string
		run  func(context.Context) error
	}
	var servers []server
	var opened []net.Listener
	fail := func(err error) error {
		for _, l := range opened {
			l.Close()
		}
		return errors.Join(err, s.Shutdown(context.Background()))
	}
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	// The admin listeners serve the API, the pages (the dashboard) and
	// /metrics; never the gateway's.
	mux := http.NewServeMux()
	mux.Handle("/v1/", admin.NewHandler(s, admin.HandlerOptions{Logger: s.log}))
	if s.opts.Pages != nil {
		prefix, pages, err := s.opts.Pages(sctx, s, s.log)
		if err != nil {
			return fail(fmt.Errorf("host: pages: %w", err))
		}
		mux.Handle(prefix, pages)
	}
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics)
	}
	h := http.Handler(mux)
	sopts := admin.ServeOptions{ShutdownGrace: cfg.ShutdownDrain, Logger: s.log}

	sock, err := admin.ListenUnix(cfg.Admin.Socket)
	if err != nil {
		return fail(fmt.Errorf("host: admin socket: %w", err))
	}
	opened = append(opened, sock)
	addrs.Socket = cfg.Admin.Socket
	servers = append(servers, server{"admin socket", func(ctx context.Context) error {
		return admin.Serve(ctx, sock, h, sopts)
	}})
	if cfg.Admin.Listen != "" {
		token, err := admin.ReadTokenFile(cfg.Admin.TokenFile)
		if err != nil {
			return fail(fmt.Errorf("host: admin token: %w", err))
		}
		ln, err := admin.ListenTCP(cfg.Admin.Listen, cfg.Admin.TLSCert, cfg.Admin.TLSKey)
		if err != nil {
			return fail(fmt.Errorf("host: admin listener: %w", err))
		}
		opened = append(opened, ln)
		addrs.AdminTCP = ln.Addr().String()
		authed := admin.Authorize(h, token)
		servers = append(servers, server{"admin tcp", func(ctx context.Context) error {
			return admin.Serve(ctx, ln, authed, sopts)
		}})
	}
	if cfg.Gateway.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Gateway.Listen)
		if err != nil {
			return fail(fmt.Errorf("host: gateway listener: %w", err))
		}
		opened = append(opened, ln)
		addrs.Gateway = ln.Addr().String()
		servers = append(servers, server{"gateway", func(ctx context.Context) error {
			return s.gw.Serve(ctx, ln, cfg.ShutdownDrain)
		}})
	}
	s.mu.Lock()
	s.addrs = addrs
	s.mu.Unlock()
	s.log.Info("host listening", "gateway", addrs.Gateway, "admin", addrs.Socket, "admin-tcp", addrs.AdminTCP)
	if ready != nil {
		ready(addrs)
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(servers))
	for _, sv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.run(sctx); err != nil {
				errs <- fmt.Errorf("%s: %w", sv.name, err)
				stop() // one listener failing stops the host
			}
		}()
	}
	select {
	case <-ctx.Done():
	case <-sctx.Done():
	}
	start := time.Now()
	s.log.Info("host stopping: draining", "deadline", cfg.ShutdownDrain.String())
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	stop()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownDrain)
	defer cancel()
	all = append(all, s.Shutdown(dctx))
	s.log.Info("host stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return errors.Join(all...)
}
