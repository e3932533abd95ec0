package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
	"github.com/pelletier/go-toml/v2"

	"github.com/airsstack/airssys-wasm-go/internal/fileread"
)

// MaxFile is the largest host.toml or app file read, in bytes.
const MaxFile = 1 << 20

// Defaults of host.toml (SCHEMA.md).
const (
	// Inside the data directory:
	DefaultPolicyFile  = "policy.toml" // the policy when host.toml names none
	DefaultAdminSocket = "admin.sock"  // the admin API's unix socket
	CatalogDirName     = "catalog"     // the component store (package catalog)
	// The key-value data is <data-dir>/keyvalue.db (storage.OpenDir), the
	// host's own state <data-dir>/state.db (host/state.OpenBolt).

	DefaultGatewayListen     = "127.0.0.1:8080"
	DefaultMaxBody           = 1 << 20  // bytes: an actor's default largest message
	DefaultMaxHeaderBytes    = 64 << 10 // bytes of request line and headers
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxConnections    = 1024
	DefaultShutdownDrain     = 30 * time.Second
	DefaultLogLevel          = slog.LevelInfo
)

// Host is a parsed host.toml: where the host keeps its data, its policy,
// what app files may name, its listeners, logging, shutdown and registry
// settings. Every path in it is absolute and clean. SCHEMA.md documents
// the file; Defaults is what an empty one (or none) gives.
type Host struct {
	// File is where it was read ("" for Defaults and Hosts built in Go); it
	// names the file in errors.
	File string

	// DataDir holds the component store (CatalogDir), the key-value data
	// (keyvalue.db), the host's state (state.db), the default policy and
	// the admin socket.
	DataDir string
	// Policy is the policy file. PolicyDefault says host.toml named none:
	// Policy is then <DataDir>/policy.toml, which the host writes with
	// WriteDefaultPolicy on its first start (a named policy must exist).
	Policy        string
	PolicyDefault bool
	// AllowPaths are the directories under which the files an app file
	// names must lie ([apps] allow-paths). Empty: an app file may name no
	// path, only components of the store and OCI references.
	AllowPaths []string
	LogLevel   slog.Level
	// ShutdownDrain is how long a stopping host waits for requests in
	// flight and mailboxes to drain before it stops actors anyway.
	ShutdownDrain time.Duration

	Admin     Admin
	Gateway   Gateway
	Registry  Registry
	Telemetry Telemetry
	Lattice   Lattice
}

// Lattice is the host's place among others (package lattice): by default
// a lattice of one, over an embedded NATS server with no listener (an
// in-process connection; nothing on the local message path).
type Lattice struct {
	// Name is the lattice's name (default "default"): hosts of one
	// lattice share it.
	Name string
	// Host is this host's name in it (default: the machine's host name).
	Host string
	// Acknowledged makes sends to other hosts wait for the receiving host
	// (mode = "acknowledged"); the default is fire-and-forget with losses
	// counted and reported.
	Acknowledged bool
	// Listen is the embedded server's client address ("" none); Cluster*
	// join it to the other hosts' servers. The server admits this host
	// and its Peers only, each with its own key. A listener or a route off
	// loopback needs TLS (TLSCert, TLSKey, TLSCA).
	Listen        string
	ClusterName   string
	ClusterListen string
	Routes        []string
	// ClusterSecretFile holds the secret routes authenticate with (the
	// same on every host's server; at least 16 bytes; mode 0600): a host
	// with ClusterListen and none does not start.
	ClusterSecretFile string
	// Servers are an external NATS cluster's URLs (nats:// or tls://) to
	// connect to instead of embedding a server (no Listen, Cluster* or
	// Routes then). The host authenticates with its key, or with the
	// Credentials file (.creds) when set.
	Servers     []string
	Credentials string
	// TLSCert and TLSKey are this host's certificate and key (PEM), TLSCA
	// the CA that signs the lattice's certificates: the embedded server's
	// listeners and routes are mutual TLS with them; to external Servers,
	// TLSCA verifies them and the certificate, when set, is presented.
	TLSCert, TLSKey, TLSCA string
	// KeyFile holds this host's lattice key, a NATS nkey user seed (an
	// Ed25519 key): the host signs the desired-state entries it writes
	// with it and authenticates to the lattice's NATS servers with it.
	// Default <DataDir>/lattice.key, made (mode 0600) at the first start.
	KeyFile string
	// Peers are the other hosts of the lattice this host trusts, by name:
	// their public keys (nkey user keys, "U..."). Their desired-state
	// entries are accepted and (on this host's embedded server) they may
	// connect, each under its own name.
	Peers map[string]string
	// Labels describe this host to placement (`zone = "eu-1"`): an app's
	// [actor.placement] labels must all match for its actors to run here.
	Labels map[string]string
}

// Shared says whether this host shares a lattice with others (its server
// is clustered, or it names peers): then the desired state is the
// lattice's, in JetStream, rather than this host's own file.
func (l Lattice) Shared() bool {
	return l.ClusterListen != "" || len(l.Peers) > 0 || len(l.Servers) > 0
}

// KeyPath is the lattice key file: KeyFile, or <DataDir>/lattice.key.
func (h *Host) KeyPath() string {
	if h.Lattice.KeyFile != "" {
		return h.Lattice.KeyFile
	}
	return filepath.Join(h.DataDir, "lattice.key")
}

// Telemetry is what the host measures and where it sends traces.
type Telemetry struct {
	// MetricsPerActor adds an actor label to the per-component series of
	// /metrics (off by default: 10,000 actors times dozens of series is
	// hundreds of thousands of series).
	MetricsPerActor bool
	// HandleTimes keeps a histogram of handling times per actor (default
	// on: two clock reads per message).
	HandleTimes bool
	// OTLPEndpoint is where traces go, OTLP over HTTP
	// ("http://127.0.0.1:4318"); "" (the default) sends none.
	OTLPEndpoint string
	// Sample is the share of traces started here that are kept (0 to 1,
	// default 0.01); a request or message that comes with a sampled trace
	// context is traced whatever it is.
	Sample float64
}

// DefaultSample is the default share of traces kept.
const DefaultSample = 0.01

// Admin is where the admin API listens: always on a unix socket, and on
// TCP when Listen is set, with a bearer token read from TokenFile and TLS
// (required unless Listen is a loopback address).
type Admin struct {
	Socket    string // default <DataDir>/admin.sock
	Listen    string // "host:port"; "" for none
	TokenFile string // required with Listen; never the token itself
	TLSCert   string // both or neither; required unless Listen is loopback
	TLSKey    string
}

// Gateway is the HTTP gateway's listener and limits (host/gateway's
// Options; the defaults are its defaults).
type Gateway struct {
	Listen            string // "host:port", default 127.0.0.1:8080
	MaxBodyBytes      int64
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxConnections    int
}

// Registry is how the host reaches OCI registries.
type Registry struct {
	// PlainHTTP lists the registries ("host" or "host:port") reached over
	// plain HTTP; loopback ones only, as for the CLI's --plain-http.
	PlainHTTP []string
	// Credentials is a docker-style config.json; "" means docker's own
	// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json).
	Credentials string
}

// CatalogDir is where the component store is: <DataDir>/catalog, the
// directory the CLI's install and list use.
func (h *Host) CatalogDir() string { return filepath.Join(h.DataDir, CatalogDirName) }

// DefaultDataDir is the data directory when host.toml sets none, the same
// as the CLI's without --data: $XDG_DATA_HOME/airssys-wasm when
// $XDG_DATA_HOME is an absolute path, else on macOS
// ~/Library/Application Support/airssys-wasm, else
// ~/.local/share/airssys-wasm. It is "" when there is no home directory
// (Validate then asks for host.data-dir).
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(filepath.Clean(d), "airssys-wasm")
	}
	if runtime.GOOS == "darwin" {
		if d, err := os.UserConfigDir(); err == nil && filepath.IsAbs(d) {
			return filepath.Join(d, "airssys-wasm")
		}
		return ""
	}
	home, err := os.UserHomeDir()
	if err != nil || !filepath.IsAbs(home) {
		return ""
	}
	return filepath.Join(filepath.Clean(home), ".local", "share", "airssys-wasm")
}

// Defaults is the Host of an empty host.toml: data in DefaultDataDir, the
// default policy there, the admin API on its unix socket only, the gateway
// on 127.0.0.1:8080, no path allowed to app files.
func Defaults() *Host {
	h := &Host{
		DataDir:       DefaultDataDir(),
		PolicyDefault: true,
		LogLevel:      DefaultLogLevel,
		Telemetry:     Telemetry{HandleTimes: true, Sample: DefaultSample},
		Lattice:       Lattice{Name: "default", Host: defaultHostName()},
		ShutdownDrain: DefaultShutdownDrain,
		Gateway: Gateway{
			Listen:            DefaultGatewayListen,
			MaxBodyBytes:      DefaultMaxBody,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			ReadTimeout:       DefaultReadTimeout,
			WriteTimeout:      DefaultWriteTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxConnections:    DefaultMaxConnections,
		},
	}
	h.fillDataDefaults()
	return h
}

// fillDataDefaults sets what lives in the data directory unless set.
func (h *Host) fillDataDefaults() {
	if !filepath.IsAbs(h.DataDir) {
		return // Validate reports it
	}
	if h.Policy == "" {
		h.Policy, h.PolicyDefault = filepath.Join(h.DataDir, DefaultPolicyFile), true
	}
	if h.Admin.Socket == "" {
		h.Admin.Socket = filepath.Join(h.DataDir, DefaultAdminSocket)
	}
}

type rawHost struct {
	Host struct {
		DataDir       any `toml:"data-dir"`
		Policy        any `toml:"policy"`
		ShutdownDrain any `toml:"shutdown-drain"`
	} `toml:"host"`
	Apps struct {
		AllowPaths any `toml:"allow-paths"`
	} `toml:"apps"`
	Log struct {
		Level any `toml:"level"`
	} `toml:"log"`
	Admin struct {
		Socket    any `toml:"socket"`
		Listen    any `toml:"listen"`
		TokenFile any `toml:"token-file"`
		Token     any `toml:"token"` // refused: secrets are not written inline
		TLSCert   any `toml:"tls-cert"`
		TLSKey    any `toml:"tls-key"`
	} `toml:"admin"`
	Gateway struct {
		Listen            any `toml:"listen"`
		MaxBody           any `toml:"max-body"`
		MaxHeaderBytes    any `toml:"max-header-bytes"`
		ReadHeaderTimeout any `toml:"read-header-timeout"`
		ReadTimeout       any `toml:"read-timeout"`
		WriteTimeout      any `toml:"write-timeout"`
		IdleTimeout       any `toml:"idle-timeout"`
		MaxConnections    any `toml:"max-connections"`
	} `toml:"gateway"`
	Telemetry struct {
		MetricsPerActor any `toml:"metrics-per-actor"`
		HandleTimes     any `toml:"handle-times"`
		OTLPEndpoint    any `toml:"otlp-endpoint"`
		Sample          any `toml:"sample"`
	} `toml:"telemetry"`
	Lattice struct {
		Name          any `toml:"name"`
		Host          any `toml:"host"`
		Mode          any `toml:"mode"`
		Listen        any `toml:"listen"`
		ClusterName   any `toml:"cluster-name"`
		ClusterListen any `toml:"cluster-listen"`
		Routes        any `toml:"routes"`
		KeyFile       any `toml:"key-file"`
		Peers         any `toml:"peers"`
		Labels        any `toml:"labels"`
		SecretFile    any `toml:"cluster-secret-file"`
		Servers       any `toml:"servers"`
		Credentials   any `toml:"credentials"`
		TLSCert       any `toml:"tls-cert"`
		TLSKey        any `toml:"tls-key"`
		TLSCA         any `toml:"tls-ca"`
	} `toml:"lattice"`
	Registry struct {
		PlainHTTP   any `toml:"plain-http"`
		Credentials any `toml:"credentials"`
		Username    any `toml:"username"` // refused: secrets are not written inline
		Password    any `toml:"password"`
	} `toml:"registry"`
}

// Load reads host.toml; path "" means none: Defaults, validated. Every
// problem is reported at once, each with the file, line and key (see
// Error). The file must be a regular file of at most MaxFile bytes.
func Load(path string) (*Host, error) {
	if path == "" {
		h := Defaults()
		return h, h.Validate()
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readFile reads a regular file of at most MaxFile bytes.
func readFile(path string) ([]byte, error) {
	data, err := fileread.Read(path, MaxFile)
	var r *fileread.Refused
	switch {
	case errors.As(err, &r) && r.Kind != "":
		return nil, &Error{File: path, Msg: fmt.Sprintf("is %s, not a regular file", r.Kind)}
	case errors.As(err, &r):
		return nil, &Error{File: path, Msg: fmt.Sprintf("is larger than %d bytes", MaxFile)}
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// Parse parses host.toml text; file names it in errors (and is kept in
// Host.File). Keys it leaves out keep their defaults.
func Parse(file string, data []byte) (*Host, error) {
	errs := newErrList(file, data)
	var raw rawHost
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if !errs.fromTOML(dec.Decode(&raw), nil) {
		return nil, errs.err()
	}
	h := Defaults()
	h.File = file
	h.Policy, h.Admin.Socket = "", "" // filled from the data directory below
	r := &raw
	if p, ok := errs.hostPath("host.data-dir", r.Host.DataDir); ok {
		h.DataDir = p
	}
	if p, ok := errs.hostPath("host.policy", r.Host.Policy); ok {
		h.Policy, h.PolicyDefault = p, false
	}
	if d, ok := errs.duration("host.shutdown-drain", r.Host.ShutdownDrain); ok {
		h.ShutdownDrain = d
	}
	if ps, ok := errs.strs("apps.allow-paths", r.Apps.AllowPaths); ok {
		for _, p := range ps {
			if c, err := expandPath(p); err != nil {
				errs.add("apps.allow-paths", err.Error())
			} else {
				h.AllowPaths = append(h.AllowPaths, c)
			}
		}
	}
	if s, ok := errs.str("log.level", r.Log.Level); ok {
		if l, ok := logLevels[s]; ok {
			h.LogLevel = l
		} else {
			errs.addf("log.level", "%q is not debug, info, warn or error", s)
		}
	}
	l := r.Lattice
	if v, ok := errs.str("lattice.name", l.Name); ok {
		h.Lattice.Name = v
	}
	if v, ok := errs.str("lattice.host", l.Host); ok {
		h.Lattice.Host = v
	}
	if v, ok := errs.str("lattice.mode", l.Mode); ok {
		switch v {
		case "fire-and-forget":
		case "acknowledged":
			h.Lattice.Acknowledged = true
		default:
			errs.addf("lattice.mode", "%q is not fire-and-forget or acknowledged", v)
		}
	}
	if v, ok := errs.str("lattice.listen", l.Listen); ok {
		h.Lattice.Listen = v
	}
	if v, ok := errs.str("lattice.cluster-name", l.ClusterName); ok {
		h.Lattice.ClusterName = v
	}
	if v, ok := errs.str("lattice.cluster-listen", l.ClusterListen); ok {
		h.Lattice.ClusterListen = v
	}
	if v, ok := errs.strs("lattice.routes", l.Routes); ok {
		h.Lattice.Routes = v
	}
	if p, ok := errs.hostPath("lattice.key-file", l.KeyFile); ok {
		h.Lattice.KeyFile = p
	}
	if v, ok := errs.strs("lattice.servers", l.Servers); ok {
		h.Lattice.Servers = v
	}
	for _, f := range []struct {
		key string
		v   any
		to  *string
	}{
		{"lattice.cluster-secret-file", l.SecretFile, &h.Lattice.ClusterSecretFile},
		{"lattice.credentials", l.Credentials, &h.Lattice.Credentials},
		{"lattice.tls-cert", l.TLSCert, &h.Lattice.TLSCert},
		{"lattice.tls-key", l.TLSKey, &h.Lattice.TLSKey},
		{"lattice.tls-ca", l.TLSCA, &h.Lattice.TLSCA},
	} {
		if p, ok := errs.hostPath(f.key, f.v); ok {
			*f.to = p
		}
	}
	if l.Labels != nil {
		if m, ok := l.Labels.(map[string]any); !ok {
			errs.wrongType("lattice.labels", l.Labels, "a table of strings")
		} else {
			h.Lattice.Labels = map[string]string{}
			for name, v := range m {
				if s, ok := errs.str("lattice.labels."+name, v); ok {
					h.Lattice.Labels[name] = s
				}
			}
		}
	}
	if l.Peers != nil {
		if m, ok := l.Peers.(map[string]any); !ok {
			errs.wrongType("lattice.peers", l.Peers, "a table of host = \"public key\"")
		} else {
			h.Lattice.Peers = map[string]string{}
			for name, v := range m {
				if k, ok := errs.str("lattice.peers."+name, v); ok {
					h.Lattice.Peers[name] = k
				}
			}
		}
	}
	a := r.Admin
	if p, ok := errs.hostPath("admin.socket", a.Socket); ok {
		h.Admin.Socket = p
	}
	if s, ok := errs.str("admin.listen", a.Listen); ok {
		h.Admin.Listen = s
	}
	if a.Token != nil {
		errs.add("admin.token", "secrets are never written in host.toml: put the token in a file readable by the host only and name it with token-file")
	}
	if p, ok := errs.hostPath("admin.token-file", a.TokenFile); ok {
		h.Admin.TokenFile = p
	}
	if p, ok := errs.hostPath("admin.tls-cert", a.TLSCert); ok {
		h.Admin.TLSCert = p
	}
	if p, ok := errs.hostPath("admin.tls-key", a.TLSKey); ok {
		h.Admin.TLSKey = p
	}
	g := r.Gateway
	if s, ok := errs.str("gateway.listen", g.Listen); ok {
		h.Gateway.Listen = s
	}
	if n, ok := errs.size("gateway.max-body", g.MaxBody); ok {
		h.Gateway.MaxBodyBytes = n
	}
	if n, ok := errs.size("gateway.max-header-bytes", g.MaxHeaderBytes); ok {
		h.Gateway.MaxHeaderBytes = int(min(n, 1<<40))
	}
	if d, ok := errs.duration("gateway.read-header-timeout", g.ReadHeaderTimeout); ok {
		h.Gateway.ReadHeaderTimeout = d
	}
	if d, ok := errs.duration("gateway.read-timeout", g.ReadTimeout); ok {
		h.Gateway.ReadTimeout = d
	}
	if d, ok := errs.duration("gateway.write-timeout", g.WriteTimeout); ok {
		h.Gateway.WriteTimeout = d
	}
	if d, ok := errs.duration("gateway.idle-timeout", g.IdleTimeout); ok {
		h.Gateway.IdleTimeout = d
	}
	if n, ok := errs.positiveInt("gateway.max-connections", g.MaxConnections, maxConnections); ok {
		h.Gateway.MaxConnections = int(n)
	}
	reg := r.Registry
	if ps, ok := errs.strs("registry.plain-http", reg.PlainHTTP); ok {
		h.Registry.PlainHTTP = ps
	}
	if p, ok := errs.hostPath("registry.credentials", reg.Credentials); ok {
		h.Registry.Credentials = p
	}
	for _, k := range []struct {
		key string
		v   any
	}{{"registry.username", reg.Username}, {"registry.password", reg.Password}} {
		if k.v != nil {
			errs.add(k.key, "secrets are never written in host.toml: name a docker-style config.json with credentials")
		}
	}
	tel := r.Telemetry
	if b, ok := errs.boolean("telemetry.metrics-per-actor", tel.MetricsPerActor); ok {
		h.Telemetry.MetricsPerActor = b
	}
	if b, ok := errs.boolean("telemetry.handle-times", tel.HandleTimes); ok {
		h.Telemetry.HandleTimes = b
	}
	if s, ok := errs.str("telemetry.otlp-endpoint", tel.OTLPEndpoint); ok {
		h.Telemetry.OTLPEndpoint = s
	}
	switch v := tel.Sample.(type) {
	case nil:
	case float64:
		h.Telemetry.Sample = v
	case int64:
		h.Telemetry.Sample = float64(v)
	default:
		errs.wrongType("telemetry.sample", v, "a number from 0 to 1")
	}
	h.fillDataDefaults()
	h.validate(errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return h, nil
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn,
	"error": slog.LevelError}

// Validate checks a Host, say one built or changed in Go, as Load checks a
// file: every problem at once, each naming its host.toml key.
func (h *Host) Validate() error {
	file := h.File
	if file == "" {
		file = "host config"
	}
	errs := &errList{file: file, lines: keyLines(nil)}
	h.validate(errs)
	return errs.err()
}

// Upper bounds of gateway limits.
const (
	maxConnections = 1 << 20
	maxHeaderBytes = 1 << 20
)

// maxSocketPath is the longest unix socket path the system takes (sun_path
// less its terminating NUL).
func maxSocketPath() int {
	if runtime.GOOS == "linux" {
		return 107
	}
	return 103
}

func (h *Host) validate(errs *errList) {
	h.Lattice.validate(errs)
	if t := h.Telemetry; t.Sample < 0 || t.Sample > 1 || t.Sample != t.Sample {
		errs.addf("telemetry.sample", "%v is not between 0 and 1", t.Sample)
	}
	if e := h.Telemetry.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			errs.addf("telemetry.otlp-endpoint", "%q is not an http:// or https:// address (credentials do not go in host.toml)", e)
		}
	}
	abs := func(key, p string) bool {
		switch {
		case p == "":
			return false
		case !filepath.IsAbs(p):
			errs.addf(key, "%q is not an absolute path", p)
			return false
		case filepath.Clean(p) != p:
			errs.addf(key, "%q is not clean (%s)", p, filepath.Clean(p))
			return false
		}
		return true
	}
	dataOK := false
	if h.DataDir == "" {
		errs.add("host.data-dir", "no default (neither $XDG_DATA_HOME nor a home directory is set): set it")
	} else {
		dataOK = abs("host.data-dir", h.DataDir)
	}
	// The policy and the socket default to files in the data directory:
	// with no data directory, only its error is reported.
	if !abs("host.policy", h.Policy) && h.Policy == "" && dataOK {
		errs.add("host.policy", "must be set")
	}
	for _, p := range h.AllowPaths {
		if abs("apps.allow-paths", p) && p == "/" {
			errs.add("apps.allow-paths", `"/" would allow every path: name the directories app files may use`)
		}
	}
	if _, ok := levelName(h.LogLevel); !ok {
		errs.addf("log.level", "%v is not debug, info, warn or error", h.LogLevel)
	}
	if h.ShutdownDrain <= 0 {
		errs.add("host.shutdown-drain", "must be positive")
	}

	a := h.Admin
	if a.Socket == "" && dataOK {
		errs.add("admin.socket", "must be set")
	} else if abs("admin.socket", a.Socket) && len(a.Socket) > maxSocketPath() {
		msg := fmt.Sprintf("%s is longer than %d bytes, the longest unix socket path", a.Socket, maxSocketPath())
		if a.Socket == filepath.Join(h.DataDir, DefaultAdminSocket) {
			// The default, from the data directory: point there.
			errs.addAt("admin.socket", "host.data-dir",
				msg+" (the default, inside host.data-dir): set a shorter admin.socket")
		} else {
			errs.add("admin.socket", msg)
		}
	}
	abs("admin.token-file", a.TokenFile)
	abs("admin.tls-cert", a.TLSCert)
	abs("admin.tls-key", a.TLSKey)
	if a.Listen == "" {
		for _, k := range []struct{ key, v string }{{"admin.token-file", a.TokenFile}, {"admin.tls-cert", a.TLSCert},
			{"admin.tls-key", a.TLSKey}} {
			if k.v != "" {
				errs.addf(k.key, "is for the admin API on TCP: set admin.listen too, or remove it (the unix socket is guarded by its permissions)")
			}
		}
	} else if loopback, err := checkListen(a.Listen); err != nil {
		errs.add("admin.listen", err.Error())
	} else {
		if (a.TLSCert == "") != (a.TLSKey == "") {
			errs.add("admin", "tls-cert and tls-key go together: set both or neither")
		}
		if a.TokenFile == "" {
			errs.add("admin.listen", "the admin API on TCP needs a bearer token: set admin.token-file")
		}
		if !loopback && a.TLSCert == "" {
			errs.addf("admin.listen", "%s is not a loopback address: the admin API needs TLS there (set admin.tls-cert and admin.tls-key)",
				a.Listen)
		}
	}

	g := h.Gateway
	if _, err := checkListen(g.Listen); err != nil {
		errs.add("gateway.listen", err.Error())
	} else if a.Listen != "" && sameAddr(a.Listen, g.Listen) {
		errs.addf("gateway.listen", "%s is also admin.listen", g.Listen)
	}
	positive := func(key string, ok bool) {
		if !ok {
			errs.add(key, "must be positive")
		}
	}
	positive("gateway.max-body", g.MaxBodyBytes > 0)
	positive("gateway.read-header-timeout", g.ReadHeaderTimeout > 0)
	positive("gateway.read-timeout", g.ReadTimeout > 0)
	positive("gateway.write-timeout", g.WriteTimeout > 0)
	positive("gateway.idle-timeout", g.IdleTimeout > 0)
	if g.MaxHeaderBytes <= 0 || g.MaxHeaderBytes > maxHeaderBytes {
		errs.addf("gateway.max-header-bytes", "%d is not between 1 and %d (1MiB)", g.MaxHeaderBytes, maxHeaderBytes)
	}
	if g.MaxConnections <= 0 || g.MaxConnections > maxConnections {
		errs.addf("gateway.max-connections", "%d is not between 1 and %d", g.MaxConnections, maxConnections)
	}

	for _, r := range h.Registry.PlainHTTP {
		if err := checkPlainHTTP(r); err != nil {
			errs.add("registry.plain-http", err.Error())
		}
	}
	abs("registry.credentials", h.Registry.Credentials)
}

func levelName(l slog.Level) (string, bool) {
	for name, v := range logLevels {
		if v == l {
			return name, true
		}
	}
	return "", false
}

// checkListen checks a "host:port" listen address and says whether it is
// loopback only (localhost, 127.0.0.0/8, ::1). An empty host (all
// interfaces) is not.
func checkListen(addr string) (loopback bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return false, fmt.Errorf("%q: %q is not a port number", addr, port)
	}
	if host == "" {
		return false, nil
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return false, fmt.Errorf("%q: a zone is not supported", addr)
		}
		return ip.Unmap().IsLoopback(), nil
	}
	if !validHostname(host) {
		return false, fmt.Errorf("%q: %q is not a host name or IP address", addr, host)
	}
	return false, nil
}

func sameAddr(a, b string) bool {
	ah, ap, _ := net.SplitHostPort(a)
	bh, bp, _ := net.SplitHostPort(b)
	if ap != bp || ap == "0" {
		return false
	}
	return ah == bh || ah == "" || bh == "" || ah == "0.0.0.0" || bh == "0.0.0.0" || ah == "::" || bh == "::"
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkPlainHTTP checks a registry named in registry.plain-http: "host" or
// "host:port", loopback only (as oci.Options.PlainHTTP).
func checkPlainHTTP(r string) error {
	host := r
	if h, port, err := net.SplitHostPort(r); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("%q: %q is not a port number", r, port)
		}
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback registry (localhost, 127.0.0.0/8, ::1): plain HTTP is for a registry on this machine only", r)
}

// CheckPath checks a path an app file names against [apps] allow-paths:
// the path as written must be absolute, clean and inside one of them
// (whole path elements compared), and so must the file it leads to once
// symlinks are resolved (against the allowed directories resolved too). It
// must be a regular file. It returns the resolved path, which is what the
// host should open. ParseApp calls it; a deployer calls it again when it
// opens the file, since the file system may have changed in between.
func (h *Host) CheckPath(p string) (string, error) {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return "", fmt.Errorf("%q is not a clean absolute path", p)
	}
	if len(h.AllowPaths) == 0 {
		return "", fmt.Errorf("%s: the host allows no paths in app files ([apps] allow-paths in host.toml is empty)", p)
	}
	if !underAny(p, h.AllowPaths) {
		return "", fmt.Errorf("%s is not under [apps] allow-paths (%s)", p, strings.Join(h.AllowPaths, ", "))
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, errors.Unwrap(err))
	}
	var roots []string
	for _, a := range h.AllowPaths {
		if r, err := filepath.EvalSymlinks(a); err == nil {
			roots = append(roots, r)
		}
	}
	if !underAny(real, roots) {
		return "", fmt.Errorf("%s leads to %s, which is not under [apps] allow-paths", p, real)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	return real, nil
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+string(filepath.Separator)) || d == "/" {
			return true
		}
	}
	return false
}

// defaultHostName is the machine's host name, or "host" without one.
func defaultHostName() string {
	if n, err := os.Hostname(); err == nil && n != "" {
		return strings.Map(func(r rune) rune {
			if r == '.' || r == ' ' || r == '*' || r == '>' {
				return '-'
			}
			return r
		}, n)
	}
	return "host"
}

var latticeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (l *Lattice) validate(errs *errList) {
	if !latticeNameRE.MatchString(l.Name) {
		errs.addf("lattice.name", "%q: want 1 to 63 of [a-z0-9-], starting with a letter or digit", l.Name)
	}
	if !validHostName(l.Host) {
		errs.addf("lattice.host", "%q: not empty, at most 128 bytes, no spaces, '.', '*' or '>'", l.Host)
	}
	l.validateTransport(errs)
	if len(l.Labels) > MaxLabels {
		errs.addf("lattice.labels", "%d labels: at most %d", len(l.Labels), MaxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(l.Labels)) {
		if !labelPattern.MatchString(k) {
			errs.addf("lattice.labels."+k, "%q is not a label name (1 to 63 of [A-Za-z0-9_.-])", k)
		} else if len(l.Labels[k]) > 128 {
			errs.add("lattice.labels."+k, "longer than 128 bytes")
		}
	}
	names := make([]string, 0, len(l.Peers))
	for name := range l.Peers {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) > MaxPeers {
		errs.addf("lattice.peers", "%d peers: at most %d", len(names), MaxPeers)
	}
	for _, name := range names {
		key := "lattice.peers." + name
		if !validHostName(name) {
			errs.addf(key, "%q is not a host name: not empty, at most 128 bytes, no spaces, '.', '*' or '>'", name)
		} else if name == l.Host {
			errs.add(key, "is this host's own name (its key is its key file)")
		}
		if !nkeys.IsValidPublicUserKey(l.Peers[name]) {
			errs.add(key, "not a host's public key (an nkey user key, \"U\" and 55 more characters; `airssys-wasm hosts key` prints a host's)")
		}
	}
}

// validateTransport checks how the host reaches the lattice: an embedded
// server (listeners, routes, the cluster secret) or external servers, and
// TLS, which anything off loopback needs.
func (l *Lattice) validateTransport(errs *errList) {
	for _, f := range []struct{ key, path string }{{"lattice.cluster-secret-file", l.ClusterSecretFile},
		{"lattice.credentials", l.Credentials}, {"lattice.tls-cert", l.TLSCert}, {"lattice.tls-key", l.TLSKey},
		{"lattice.tls-ca", l.TLSCA}} {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(f.path); err != nil {
			errs.addf(f.key, "%s: %v", f.path, errors.Unwrap(err))
		} else if fi.IsDir() {
			errs.addf(f.key, "%s is a directory, not a file", f.path)
		}
	}
	if (l.TLSCert == "") != (l.TLSKey == "") {
		if l.TLSCert == "" {
			errs.add("lattice.tls-cert", "tls-key needs its certificate (tls-cert)")
		} else {
			errs.add("lattice.tls-key", "tls-cert needs its key (tls-key)")
		}
	}
	if l.TLSCert != "" && l.TLSCA == "" {
		errs.add("lattice.tls-ca", "TLS needs the CA that signs the lattice's certificates (peers are verified with it)")
	}
	tls := l.TLSCA != "" && (l.TLSCert != "" || len(l.Servers) > 0)
	const needTLS = "is not a loopback address: the lattice's traffic would cross the network in clear; set lattice.tls-cert, tls-key and tls-ca (or use 127.0.0.1)"
	if len(l.Servers) > 0 {
		for _, c := range []struct {
			key string
			set bool
		}{{"lattice.listen", l.Listen != ""}, {"lattice.cluster-name", l.ClusterName != ""},
			{"lattice.cluster-listen", l.ClusterListen != ""}, {"lattice.routes", len(l.Routes) > 0},
			{"lattice.cluster-secret-file", l.ClusterSecretFile != ""}} {
			if c.set {
				errs.add(c.key, "not with lattice.servers: with external servers the host embeds no server")
			}
		}
		for _, s := range l.Servers {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || u.User != nil ||
				(u.Path != "" && u.Path != "/") {
				errs.addf("lattice.servers", "%q is not a nats:// or tls:// host:port (credentials go in lattice.credentials)", s)
				continue
			}
			hp := u.Host
			if u.Port() == "" {
				hp = net.JoinHostPort(u.Hostname(), "4222")
			}
			if loopback, err := checkListen(hp); err != nil {
				errs.addf("lattice.servers", "%v", err)
			} else if !loopback && l.TLSCA == "" {
				errs.addf("lattice.servers", "%s is not a loopback address: the connection needs TLS; set lattice.tls-ca (the CA that signs the servers' certificates)", s)
			}
		}
		return
	}
	if l.Credentials != "" {
		errs.add("lattice.credentials", "only with lattice.servers: the embedded servers admit hosts by their keys")
	}
	if l.TLSCA != "" && l.TLSCert == "" && l.TLSKey == "" {
		errs.add("lattice.tls-cert", "the embedded server's TLS needs a certificate and its key (tls-cert, tls-key)")
	}
	for _, a := range []struct{ key, addr string }{{"lattice.listen", l.Listen}, {"lattice.cluster-listen", l.ClusterListen}} {
		if a.addr == "" {
			continue
		}
		if loopback, err := checkListen(a.addr); err != nil {
			errs.addf(a.key, "%v", err)
		} else if !loopback && !tls {
			errs.addf(a.key, "%s %s", a.addr, needTLS)
		}
	}
	if l.ClusterListen != "" && l.ClusterName == "" {
		errs.add("lattice.cluster-name", "a cluster needs a name (the same on every host's server)")
	}
	// A cluster without ClusterSecretFile is refused when the host starts
	// (SCHEMA.md's example has none yet).
	if l.ClusterListen == "" && l.ClusterSecretFile != "" {
		errs.add("lattice.cluster-secret-file", "a secret needs cluster-listen")
	}
	if len(l.Routes) > 0 && l.ClusterListen == "" {
		errs.add("lattice.routes", "routes need cluster-listen")
	}
	for _, r := range l.Routes {
		if loopback, err := checkListen(r); err != nil || (r != "" && strings.HasPrefix(r, ":")) {
			errs.addf("lattice.routes", "%q is not host:port", r)
		} else if !loopback && !tls {
			errs.addf("lattice.routes", "%q %s", r, needTLS)
		}
	}
}

// MaxPeers bounds [lattice.peers].
const MaxPeers = 256

// validHostName says whether s may name a host of a lattice: it is a
// token of NATS subjects.
func validHostName(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, " \t\r\n.*>")
}
