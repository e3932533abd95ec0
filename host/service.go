package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/host/gateway"
	"github.com/airsstack/airssys-wasm-go/host/state"
	"github.com/airsstack/airssys-wasm-go/host/telemetry"
	"github.com/airsstack/airssys-wasm-go/lattice"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/storage/jskv"
)

// Options configure a Service beyond host.toml: what only the command
// line or an embedding program decides.
type Options struct {
	// Logger receives the host's log and the components' wasi:logging
	// lines (default: JSON on stderr at host.toml's level). The Service
	// also keeps the recent lines for the admin API's logs.
	Logger *slog.Logger
	// Dev allows everything: unsigned components are admitted and actors
	// run with every capability (no grants). Never set it in production;
	// host.toml has no such setting.
	Dev bool
	// Version names the build in Status.
	Version string
	// Engine and Actors tune the runtime; the Service sets the compile
	// cache, the logger, the storage and the observer itself.
	Engine engine.Config
	Actors actor.Options
	// LogLines is how many recent log lines are kept for the admin API
	// (default 10,000).
	LogLines int
	// Tracing is where spans go beyond host.toml's OTLP endpoint (an
	// embedder's exporter or span processor, a test's in-memory one); the
	// endpoint and the sampling come from host.toml.
	Tracing telemetry.TracingOptions
	// Pages, when set, makes the web pages Run serves on the admin
	// listeners beside the API, under prefix: the dashboard (package
	// host/dashboard), as the serve command wires it. ctx ends when Run
	// stops (long-lived streams end with it).
	Pages func(ctx context.Context, b admin.Backend, log *slog.Logger) (prefix string, h http.Handler, err error)
}

// Service is a running host. See the package doc.
type Service struct {
	cfg  *config.Host
	opts Options
	log  *slog.Logger
	book *logbook

	eng *engine.Engine
	cat *catalog.Catalog
	kv  *storage.DB
	st  state.Store
	sys *actor.System
	gw  *gateway.Gateway
	// metrics serves /metrics on the admin listeners (nil: none).
	metrics http.Handler
	tracing *telemetry.Tracing
	lat     *latticeLink     // the lattice (package lattice); nil before Open made it
	senders senderCheck      // who may send as whom, from other hosts (senders.go)
	durable *lattice.Durable // durable mailboxes, for a host that shares a lattice (nil otherwise)
	kvMu    sync.Mutex
	latKV   *jskv.Backend // the lattice's key-value store, opened on first use (shared.go)

	started time.Time

	op sync.Mutex // serializes the operations that change what runs
	// onStart, during a deploy's tree start, hears of each actor started.
	onStart atomic.Pointer[func(actor.ID)]

	mu        sync.RWMutex // guards the view below
	cfgNow    *config.Host
	policy    *security.Policy
	policyGen int
	apps      map[string]*appRun
	actors    map[actor.ID]*actorRun
	comps     map[string]*engine.Component // compiled, by component digest
	starting  map[actor.ID]string          // versions of actors being started (their init's log lines)
	restored  []string
	reloaded  time.Time
	addrs     Addrs // where Run listens
	draining  bool
	closed    bool
}

// appRun is a deployed app as the host runs it.
type appRun struct {
	app    *config.App
	rec    state.App
	ids    []actor.ID // in start order
	supKey string
}

// actorRun is one actor the host runs for an app.
type actorRun struct {
	id       actor.ID
	app      string
	def      *config.ActorDef
	settings string // everything of def but the component
	ver      *catalog.Version
	name     string           // ver.String(): name@version
	grants   *security.Grants // nil in dev mode
	gen      int              // the policy generation it was admitted under
	pin      *catalog.Pin
	prev     *catalog.Version // rollback target, or nil
	prevPin  *catalog.Pin
	// halted: stopped by an operator (or refused by a reloaded policy)
	// while its app still asks for it: its versions stay pinned, ps shows
	// it stopped, and a deploy or a restart starts it again.
	halted bool
}

// Open opens the data directory of cfg and starts an empty host (Restore
// brings back the apps; Run serves the listeners). On the first start
// with no policy named, it writes the default policy (deny by default).
func Open(ctx context.Context, cfg *config.Host, o Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.LogLines <= 0 {
		o.LogLines = 10_000
	}
	s := &Service{cfg: cfg, cfgNow: cfg, opts: o, started: time.Now(),
		apps: map[string]*appRun{}, actors: map[actor.ID]*actorRun{}, comps: map[string]*engine.Component{},
		starting: map[actor.ID]string{}}
	inner := slog.Handler(nil)
	if o.Logger != nil {
		inner = o.Logger.Handler()
	} else {
		inner = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})
	}
	s.book = newLogbook(inner, cfg.LogLevel, o.LogLines)
	s.book.version = func(id string) string {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if a := s.actors[actor.ID(id)]; a != nil {
			return a.name
		}
		return s.starting[actor.ID(id)]
	}
	s.log = slog.New(s.book)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("host: data directory: %w", err)
	}
	var err error
	if s.policy, err = loadPolicy(cfg, o.Dev, s.log); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.closeParts()
		}
	}()
	if s.st, err = state.OpenBolt(cfg.DataDir, time.Second); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if s.cat, err = catalog.Open(cfg.CatalogDir(), catalog.Options{}); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if s.kv, err = storage.OpenDir(cfg.DataDir, storage.Options{}); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	ecfg := o.Engine
	if ecfg.CacheDir == "" {
		ecfg.CacheDir = filepath.Join(cfg.DataDir, "cache")
	}
	if ecfg.Logger == nil {
		ecfg.Logger = s.log
	}
	if s.eng, err = engine.New(ecfg); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	ao := o.Actors
	ao.Logger, ao.Storage = s.log, s.kv
	ao.HandleTimes = ao.HandleTimes || cfg.Telemetry.HandleTimes
	user := ao.Observer
	ao.Observer = func(e actor.Event) {
		if e.Kind == actor.EventStarted {
			if f := s.onStart.Load(); f != nil {
				(*f)(e.Actor)
			}
		}
		if user != nil {
			user(e)
		}
	}
	if ao.HostName == "" {
		ao.HostName = "serve"
	}
	// Traces: the OpenTelemetry SDK only when host.toml names an OTLP
	// endpoint (or an embedder gives an exporter); otherwise no Tracer, and
	// no message costs anything for tracing.
	tel := cfg.Telemetry
	to := o.Tracing
	to.Endpoint, to.Sample, to.Labels = tel.OTLPEndpoint, tel.Sample, s.labels
	if to.ServiceVersion == "" {
		to.ServiceVersion = o.Version
	}
	if to.Logger == nil {
		to.Logger = s.log
	}
	if s.tracing, err = telemetry.NewTracing(ctx, to); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if s.tracing.Enabled() {
		ao.Tracer, ao.TraceSample = s.tracing.Tracer(), s.tracing.Sample()
	}
	if err := s.openLattice(ctx); err != nil {
		return nil, err
	}
	var remote interface {
		actor.Remote
		Attach(*actor.System) error
	} = s.lat.node
	if cfg.Lattice.Shared() {
		// Durable mailboxes for the actors whose app file asks.
		if s.durable, err = lattice.NewDurable(s.lat.node, s.durableMailbox,
			lattice.MailboxConfig{Replicas: min(3, 1+len(cfg.Lattice.Routes)), CheckStored: s.checkStoredSender}); err != nil {
			return nil, fmt.Errorf("host: lattice: %w", err)
		}
		remote = s.durable
	}
	ao.Remote = remote
	s.sys = actor.NewSystem(s.eng, ao)
	if err := remote.Attach(s.sys); err != nil {
		return nil, fmt.Errorf("host: lattice: %w", err)
	}
	s.lat.started.Store(true)
	go s.rebalance(s.lat)
	if cfg.Lattice.Shared() {
		if err := s.shareState(); err != nil {
			return nil, err
		}
	}
	m, err := telemetry.NewMetrics(telemetry.MetricsOptions{System: s.sys, Labels: s.labels,
		PerActor: tel.MetricsPerActor, Engine: s.eng, Storage: s.kv, Owners: s.storageOwners, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	s.metrics = m.Handler()
	gwc := cfg.Gateway
	gwo := gateway.Options{MaxBodyBytes: gwc.MaxBodyBytes,
		ReadHeaderTimeout: gwc.ReadHeaderTimeout, ReadTimeout: gwc.ReadTimeout, WriteTimeout: gwc.WriteTimeout,
		IdleTimeout: gwc.IdleTimeout, MaxHeaderBytes: gwc.MaxHeaderBytes, MaxConns: gwc.MaxConnections,
		Logger: s.log, Observe: m.ObserveRequest}
	if s.tracing.Enabled() {
		gwo.Trace = s.tracing.GatewayTrace()
	}
	if s.gw, err = gateway.New(s.sys, nil, gwo); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	ok = true
	if sh, shared := s.st.(*sharedState); shared {
		sh.started.Store(true)
		go sh.follow(s.lat) // last: it may apply apps at once
	}
	s.log.Info("host opened", "data", cfg.DataDir, "policy", cfg.Policy, "dev", o.Dev)
	return s, nil
}

// devPolicy admits everything (unsigned components get trust "dev",
// signed ones by unlisted keys "unknown"); actors then run with no grants.
const devPolicy = "[policy]\nrequire-signatures = false\ndev-mode = true\n" +
	"[trust.dev]\n" + everything + "[trust.unknown]\n" + everything

// everything is a trust level's grants of every capability.
const everything = `env = ["*"]
config = ["*"]
send = ["*/*/*"]
request = ["*/*/*"]
publish = [">"]
subscribe = [">"]
logging = true
storage-buckets = ["*"]
storage-read = true
storage-write = true
storage-delete = true
`

// loadPolicy reads the host's policy, writing the default one on the
// first start when host.toml names none.
func loadPolicy(cfg *config.Host, dev bool, log *slog.Logger) (*security.Policy, error) {
	if dev {
		log.Warn("dev mode: every component is admitted and gets every capability")
		return security.ParsePolicy("dev policy", []byte(devPolicy))
	}
	if cfg.PolicyDefault {
		path, created, err := config.WriteDefaultPolicy(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("host: %w", err)
		}
		if created {
			log.Info("wrote the default policy: it admits no component until you list a publisher key", "policy", path)
		}
	}
	p, err := security.LoadPolicy(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	return p, nil
}

// Gateway is the HTTP gateway's handler (Run serves it on its listener).
func (s *Service) Gateway() http.Handler { return s.gw }

// System is the actor system the host runs (for embedding programs and
// tests; changing what runs behind the Service's back is not tracked).
func (s *Service) System() *actor.System { return s.sys }

// Shutdown stops the host: the actors drain their mailboxes within ctx
// (or the configured drain), then every part is closed. The desired state
// is left as it is, so that the next start brings the apps back.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.draining = true
	s.mu.Unlock()
	s.lat.stopRebalance() // before op: it may wait for op
	if sh, ok := s.st.(*sharedState); ok {
		sh.stopFollow() // before op: it takes op to apply changes
	}
	s.op.Lock()
	defer s.op.Unlock()
	s.mu.RLock()
	closed := s.closed // by a Shutdown that held op before this one
	s.mu.RUnlock()
	if closed {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.ShutdownDrain)
		defer cancel()
	}
	start := time.Now()
	err := s.sys.Shutdown(ctx)
	if terr := s.tracing.Shutdown(ctx); terr != nil { // the last spans are sent
		s.log.Warn("traces not sent at shutdown", "err", terr)
	}
	s.log.Info("actors stopped", "took", time.Since(start).Round(time.Millisecond).String(), "err", err)
	s.mu.Lock()
	s.closed = true
	for _, a := range s.actors {
		a.releasePins()
	}
	s.mu.Unlock()
	return errors.Join(err, s.closeParts())
}

func (s *Service) closeParts() error {
	var errs []error
	if s.latKV != nil { // before its connection closes
		errs = append(errs, s.latKV.Close())
	}
	if s.durable != nil { // what this host held goes back to the stream
		errs = append(errs, s.durable.Close())
	}
	s.lat.close() // other hosts hear this one stop
	if s.cat != nil {
		errs = append(errs, s.cat.Close())
	}
	if s.kv != nil {
		errs = append(errs, s.kv.Close())
	}
	if s.st != nil {
		errs = append(errs, s.st.Close())
	}
	for _, c := range s.comps {
		c.Close()
	}
	if s.eng != nil {
		errs = append(errs, s.eng.Close())
	}
	return errors.Join(errs...)
}

func (a *actorRun) releasePins() {
	if a.pin != nil {
		a.pin.Release()
		a.pin = nil
	}
	if a.prevPin != nil {
		a.prevPin.Release()
		a.prevPin = nil
	}
}

// Status implements admin.Backend.
func (s *Service) Status(ctx context.Context) (admin.Status, error) {
	// Outside mu: the node asks this service for its apps (appDigests),
	// which takes mu itself.
	lat := s.lat.status(s.cfg.Lattice.Name, s.cfg.Lattice.Host)
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := admin.Status{Version: s.opts.Version, Started: s.started, PID: os.Getpid(), DataDir: s.cfg.DataDir,
		Policy: s.cfgNow.Policy, Gateway: s.addrs.Gateway, AdminTCP: s.addrs.AdminTCP,
		Apps: len(s.apps), DevMode: s.opts.Dev, Restored: append([]string{}, s.restored...),
		Draining: s.draining, Reloaded: s.reloaded}
	if s.opts.Dev {
		st.Policy = "(dev: everything allowed)"
	}
	for name, run := range s.apps {
		for _, id := range run.ids {
			stats, err := s.sys.Stats(id)
			switch {
			case s.actors[id] != nil && s.actors[id].halted:
				st.Problems = append(st.Problems, fmt.Sprintf("%s (app %s): stopped", id, name))
			case err != nil:
				st.Problems = append(st.Problems, fmt.Sprintf("%s (app %s): not running", id, name))
			case stats.State == actor.Running || stats.State == actor.Starting || stats.State == actor.Restarting:
				st.Actors++
			default:
				st.Problems = append(st.Problems, fmt.Sprintf("%s (app %s): %s", id, name, stats.State))
			}
		}
	}
	sortStrings(st.Problems)
	if vs, err := s.cat.List(); err == nil {
		st.Component = len(vs)
	}
	st.Lattice = lat
	return st, nil
}

// labels names an actor's app, component and version for metrics and
// spans (a map read: cheap, from any goroutine).
func (s *Service) labels(id actor.ID) (app, component, version string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.actors[id]
	if a == nil || a.ver == nil {
		return "", "", "", false
	}
	return a.app, a.ver.Name, a.ver.Version, true
}

// storageOwners are the owners of the components that run, with the
// quotas their grants give (the storage series).
func (s *Service) storageOwners() []telemetry.StorageOwner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[storage.Owner]bool{}
	var out []telemetry.StorageOwner
	for _, a := range s.actors {
		o := storage.Owner{Publisher: a.ver.Publisher, Name: a.ver.Name}
		if seen[o] {
			continue
		}
		seen[o] = true
		so := telemetry.StorageOwner{Owner: o}
		if a.grants != nil {
			g := a.grants.Storage()
			so.Limits = storage.Limits{MaxBytes: g.MaxBytes, MaxKeys: g.MaxKeys, MaxValueBytes: g.MaxValueBytes}
		}
		out = append(out, so)
	}
	return out
}
