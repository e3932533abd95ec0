package config

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"oras.land/oras-go/v2/registry"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/internal/subject"
)

// Bounds of an app file (SCHEMA.md).
const (
	MaxInstances = 1024 // instances of one [[actor]]
	MaxActors    = 4096 // actor ids of one app, every [[actor]] together
	MaxRoutes    = 1024 // [[route]] tables of one app
	MaxRoutePath = 1024 // bytes of a route's path pattern
	MaxMailbox   = 1 << 24

	// DefaultRouteTimeout is how long a route waits for the reply (the
	// gateway's default, host/gateway.DefaultTimeout).
	DefaultRouteTimeout = 10 * time.Second
)

// DefaultRouteHeaders are the request headers a route passes on when it
// names none (the gateway's default).
func DefaultRouteHeaders() []string {
	return []string{"content-type", "accept", "traceparent", "tracestate"}
}

// Supervision defaults, the actor runtime's (actor.SupervisorSpec).
const (
	DefaultMaxRestarts = 3
	DefaultPeriod      = 60 * time.Second
	DefaultBackoffMin  = 100 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// App is a parsed app file: the actors of one application, how they are
// supervised and the HTTP routes to them. It names components and says how
// to run them; it grants nothing (the component's signed manifest asks for
// capabilities and the host's policy grants them). Defaults are filled in,
// so that two files that mean the same give equal Apps and the same
// Digest. SCHEMA.md documents the file.
type App struct {
	// File names the source in errors; it is not part of the app (Digest
	// leaves it out).
	File string
	Name string
	// Supervisor supervises every actor of the app, started in the order of
	// Actors (each entry's instances in order).
	Supervisor Supervisor
	Actors     []ActorDef
	Routes     []Route
	// Storage is where its actors' key-value data lives: StorageLocal
	// (the default: this host's file) or StorageLattice (the lattice's
	// JetStream KV, so that the data follows an actor to another host).
	Storage string
}

// Where an app's key-value data lives.
const (
	StorageLocal   = "local"
	StorageLattice = "lattice"
)

// Supervisor is the app's supervision: its strategy and intensity, at most
// MaxRestarts restarts within Period, with a backoff from BackoffMin
// doubling up to BackoffMax (actor.SupervisorSpec).
type Supervisor struct {
	Strategy    actor.Strategy
	MaxRestarts int
	Period      time.Duration
	BackoffMin  time.Duration
	BackoffMax  time.Duration
}

// ActorDef is one [[actor]]: a component run as Instances actors.
type ActorDef struct {
	// ID is the id as written: an actor id ("shop/orders/main") for one
	// instance, or "namespace/name/*" for Instances numbered 1, 2, ...
	// (IDs).
	ID        string
	Component Source
	Instances int
	// Config is passed to the component's init: the keys its manifest may
	// receive and the policy granted, and only those.
	Config map[string]string
	// Subscriptions are topic patterns, as written; the deployer checks
	// them against the grants.
	Subscriptions []string
	// Mailbox, like Resources, may lower what the manifest asks for (0: not
	// set).
	Mailbox  int
	Overflow actor.Overflow
	Restart  actor.RestartPolicy
	// Resources may lower, never raise, what the manifest asks for.
	Resources Resources
	// Placement constrains where its instances run in a lattice of
	// several hosts (ignored by a host alone).
	Placement Placement
	// Durable keeps what is sent to it in the lattice's JetStream until
	// it was handled (durable = true): at least once, across the death
	// of its host (package lattice). A host that shares no lattice
	// ignores it.
	Durable bool
}

// Placement is [actor.placement]: the hosts an actor's instances may run
// on (every label must match the host's) and at most how many of them one
// host runs (0: no cap). Instances that no host can take run nowhere and
// are listed missing.
type Placement struct {
	Labels     map[string]string
	MaxPerHost int
}

// Source is where a component comes from: exactly one of its fields is
// set.
type Source struct {
	Store string // "name@version" in the host's component store
	OCI   string // "host[:port]/repository:tag" or "...@sha256:<hex>"
	Path  string // a file under the host's [apps] allow-paths
}

func (s Source) String() string {
	switch {
	case s.Store != "":
		return "store " + s.Store
	case s.OCI != "":
		return "oci " + s.OCI
	}
	return "path " + s.Path
}

// Resources are limits an app sets on an actor below the manifest's (0:
// not set). A value above the manifest's (or, where it sets none, the
// policy's ceiling) is refused when the app is deployed.
type Resources struct {
	MemoryBytes     int64
	FuelPerMessage  uint64
	TimeoutPerMsg   time.Duration
	MaxMessageBytes int64
}

// Route is one [[route]]: HTTP requests matching Method and Path go to an
// actor as requests, and its reply is the response.
type Route struct {
	Method string // GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS
	// Path is a net/http ServeMux pattern's path: "/orders/{id}",
	// "/files/{rest...}", "/static/" (everything below), "/exact/{$}".
	Path string
	// Actor is an [[actor]]'s id as written (a request goes to one of its
	// instances) or one instance's id.
	Actor   string
	Timeout time.Duration
	// Headers are the request headers passed on to the actor, lower case
	// (DefaultRouteHeaders when the file names none; empty: none).
	Headers []string
	// ExposeErrors returns the handler's error text to the client; else a
	// failed request gets a bare status.
	ExposeErrors bool
}

// IDs are the actor ids of the entry: its ID, or for "ns/name/*" the ids
// "ns/name/1" to "ns/name/<Instances>".
func (d *ActorDef) IDs() []actor.ID {
	base, ok := strings.CutSuffix(d.ID, "/*")
	if !ok {
		return []actor.ID{actor.ID(d.ID)}
	}
	ids := make([]actor.ID, d.Instances)
	for i := range ids {
		ids[i] = actor.ID(base + "/" + strconv.Itoa(i+1))
	}
	return ids
}

type rawApp struct {
	App *struct {
		Name    any `toml:"name"`
		Storage any `toml:"storage"`
	} `toml:"app"`
	Supervisor struct {
		Strategy    any `toml:"strategy"`
		MaxRestarts any `toml:"max-restarts"`
		Period      any `toml:"period"`
		BackoffMin  any `toml:"backoff-min"`
		BackoffMax  any `toml:"backoff-max"`
	} `toml:"supervisor"`
	Actor []struct {
		ID            any `toml:"id"`
		Component     any `toml:"component"`
		Instances     any `toml:"instances"`
		Config        any `toml:"config"`
		Subscriptions any `toml:"subscriptions"`
		Mailbox       any `toml:"mailbox"`
		Overflow      any `toml:"overflow"`
		Restart       any `toml:"restart"`
		Resources     struct {
			Memory     any `toml:"memory"`
			Fuel       any `toml:"fuel-per-message"`
			Timeout    any `toml:"timeout-per-message"`
			MaxMessage any `toml:"max-message"`
		} `toml:"resources"`
		Placement struct {
			Labels     any `toml:"labels"`
			MaxPerHost any `toml:"max-per-host"`
		} `toml:"placement"`
		Durable any `toml:"durable"`
	} `toml:"actor"`
	Route []struct {
		Method       any `toml:"method"`
		Path         any `toml:"path"`
		Actor        any `toml:"actor"`
		Timeout      any `toml:"timeout"`
		Headers      any `toml:"headers"`
		ExposeErrors any `toml:"expose-errors"`
	} `toml:"route"`
}

// MaxLabels bounds the labels of a placement (and of a host).
const MaxLabels = 32

// labelPattern is a label's name.
var labelPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,63}$`)

// capabilityKeys are keys that would grant something: an app file cannot,
// so these are refused with a message that says so.
var capabilityKeys = map[string]bool{"capabilities": true, "filesystem": true, "network": true, "storage": true,
	"messaging": true, "send": true, "request": true, "publish": true, "subscribe": true, "logging": true,
	"env": true, "grants": true, "trust": true, "policy": true, "ceilings": true, "deny": true,
	"publisher": true, "dev-mode": true}

const cannotGrant = "an app file cannot grant capabilities: the component's signed manifest asks for them and the host's policy grants them"

func unknownAppKey(key string) string {
	for _, part := range strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
		if capabilityKeys[part] {
			if part == "subscribe" {
				return cannotGrant + " (an actor's topics are its subscriptions)"
			}
			return cannotGrant
		}
	}
	return "unknown key"
}

var (
	namePattern    = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)
	configPattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	paramPattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

var (
	strategies = map[string]actor.Strategy{"one-for-one": actor.OneForOne, "one-for-all": actor.OneForAll,
		"rest-for-one": actor.RestForOne}
	overflows = map[string]actor.Overflow{"block": actor.Block, "reject": actor.Reject}
	restarts  = map[string]actor.RestartPolicy{"permanent": actor.Permanent, "transient": actor.Transient,
		"temporary": actor.Temporary}
	methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	// hopHeaders belong to one connection, not to the request.
	hopHeaders = []string{"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
		"te", "trailer", "transfer-encoding", "upgrade"}
)

// LoadApp reads an app file (a regular file of at most MaxFile bytes) and
// parses it with ParseApp.
func LoadApp(path string, h *Host) (*App, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseApp(path, data, h)
}

// ParseApp parses an app file; name names it in errors. Paths it names are
// checked against h's [apps] allow-paths (h nil: Defaults, which allow
// none). Every problem is reported at once, each with the file, line and
// key (see Error): unknown keys, any key that would grant a capability,
// values of the wrong type, bad or duplicate actor ids, instance counts
// above MaxInstances (or MaxActors in all), components named badly or
// outside the allow-list, routes with bad methods or paths, duplicate or
// conflicting routes, routes to no actor.
func ParseApp(name string, data []byte, h *Host) (*App, error) {
	if h == nil {
		h = Defaults()
	}
	errs := newErrList(name, data)
	var raw rawApp
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if !errs.fromTOML(dec.Decode(&raw), unknownAppKey) {
		return nil, errs.err()
	}
	a := &App{File: name}
	if raw.App == nil {
		errs.add("app", "missing table [app] (name is required)")
	} else if s, ok := errs.str("app.name", raw.App.Name); !ok && raw.App.Name == nil {
		errs.add("app", "missing required key name")
	} else if ok && !namePattern.MatchString(s) {
		errs.addf("app.name", "%q is not a kebab-case name", s)
	} else {
		a.Name = s
	}
	a.Storage = StorageLocal
	if raw.App != nil {
		if v, ok := errs.str("app.storage", raw.App.Storage); ok {
			if v != StorageLocal && v != StorageLattice {
				errs.addf("app.storage", "%q is not local or lattice", v)
			}
			a.Storage = v
		}
	}
	a.Supervisor = parseSupervisor(errs, &raw)

	// Actors: the ids each entry gives, and where they were first seen.
	seen := map[actor.ID]int{}
	entryIDs := map[string]int{}
	total := 0
	for i := range raw.Actor {
		ra := &raw.Actor[i]
		key := fmt.Sprintf("actor[%d]", i)
		d := ActorDef{Instances: 1}
		if n, ok := errs.positiveInt(key+".instances", ra.Instances, MaxInstances); ok {
			d.Instances = int(n)
		} else if ra.Instances != nil {
			d.Instances = 0 // bad: no ids from this entry
		}
		if s, ok := errs.str(key+".id", ra.ID); ok {
			if err := checkEntryID(s, d.Instances); err != nil {
				errs.add(key+".id", err.Error())
			} else {
				d.ID = s
			}
		} else if ra.ID == nil {
			errs.add(key, "missing required key id")
		}
		if d.ID != "" && d.Instances > 0 {
			entryIDs[d.ID] = i
			for _, id := range d.IDs() {
				if prev, dup := seen[id]; dup {
					errs.addf(key+".id", "%s is already an id of actor[%d]", id, prev)
				} else {
					seen[id] = i
				}
			}
			total += d.Instances
			if total > MaxActors && total-d.Instances <= MaxActors {
				errs.addf(key+".instances", "%d actors with those before: at most %d per app", total, MaxActors)
			}
		}
		d.Component = parseSource(errs, key+".component", ra.Component, h)
		if ra.Config != nil {
			if m, ok := ra.Config.(map[string]any); !ok {
				errs.wrongType(key+".config", ra.Config, "a table of strings")
			} else {
				d.Config = map[string]string{}
				for _, k := range slices.Sorted(maps.Keys(m)) {
					v := m[k]
					if !configPattern.MatchString(k) {
						errs.addf(key+".config."+k, "%q is not a configuration key", k)
					}
					if s, ok := errs.str(key+".config."+k, v); ok {
						d.Config[k] = s
					}
				}
			}
		}
		if ps, ok := errs.strs(key+".subscriptions", ra.Subscriptions); ok {
			for j, p := range ps {
				if err := subject.ValidPattern(p); err != nil {
					errs.add(key+".subscriptions", err.Error())
				} else if slices.Contains(ps[:j], p) {
					errs.addf(key+".subscriptions", "%q is listed twice", p)
				}
			}
			d.Subscriptions = ps
		}
		if n, ok := errs.positiveInt(key+".mailbox", ra.Mailbox, MaxMailbox); ok {
			d.Mailbox = int(n)
		}
		if s, ok := errs.str(key+".overflow", ra.Overflow); ok {
			if o, ok := overflows[s]; ok {
				d.Overflow = o
			} else {
				errs.addf(key+".overflow", "%q is not block or reject", s)
			}
		}
		if s, ok := errs.str(key+".restart", ra.Restart); ok {
			if r, ok := restarts[s]; ok {
				d.Restart = r
			} else {
				errs.addf(key+".restart", "%q is not permanent, transient or temporary", s)
			}
		}
		rr := ra.Resources
		if n, ok := errs.size(key+".resources.memory", rr.Memory); ok {
			d.Resources.MemoryBytes = n
		}
		if n, ok := errs.integer(key+".resources.fuel-per-message", rr.Fuel); ok {
			if n <= 0 {
				errs.add(key+".resources.fuel-per-message", "must be positive")
			} else {
				d.Resources.FuelPerMessage = uint64(n)
			}
		}
		if t, ok := errs.duration(key+".resources.timeout-per-message", rr.Timeout); ok {
			d.Resources.TimeoutPerMsg = t
		}
		if n, ok := errs.size(key+".resources.max-message", rr.MaxMessage); ok {
			d.Resources.MaxMessageBytes = n
			if m := d.Resources.MemoryBytes; m > 0 && n > m {
				errs.add(key+".resources.max-message", "is larger than resources.memory: no message that big could be handled")
			}
		}
		rp := ra.Placement
		if rp.Labels != nil {
			if m, ok := rp.Labels.(map[string]any); !ok {
				errs.wrongType(key+".placement.labels", rp.Labels, "a table of strings")
			} else {
				if len(m) > MaxLabels {
					errs.addf(key+".placement.labels", "%d labels: at most %d", len(m), MaxLabels)
				}
				d.Placement.Labels = map[string]string{}
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if !labelPattern.MatchString(k) {
						errs.addf(key+".placement.labels."+k, "%q is not a label name (1 to 63 of [A-Za-z0-9_.-])", k)
					}
					if v, ok := errs.str(key+".placement.labels."+k, m[k]); ok {
						if len(v) > 128 {
							errs.add(key+".placement.labels."+k, "longer than 128 bytes")
						}
						d.Placement.Labels[k] = v
					}
				}
			}
		}
		if n, ok := errs.positiveInt(key+".placement.max-per-host", rp.MaxPerHost, MaxActors); ok {
			d.Placement.MaxPerHost = int(n)
		}
		if b, ok := errs.boolean(key+".durable", ra.Durable); ok {
			d.Durable = b
		}
		a.Actors = append(a.Actors, d)
	}
	if len(raw.Route) > MaxRoutes {
		errs.addf(fmt.Sprintf("route[%d]", MaxRoutes), "%d routes: at most %d per app", len(raw.Route), MaxRoutes)
	}
	mux := http.NewServeMux()
	patterns := map[string]int{}
	for i := range raw.Route {
		rr := &raw.Route[i]
		key := fmt.Sprintf("route[%d]", i)
		r := Route{Timeout: DefaultRouteTimeout}
		okMethod, okPath := false, false
		if s, ok := errs.str(key+".method", rr.Method); ok {
			if slices.Contains(methods, s) {
				r.Method, okMethod = s, true
			} else {
				errs.addf(key+".method", "%q is not one of %s", s, strings.Join(methods, ", "))
			}
		} else if rr.Method == nil {
			errs.add(key, "missing required key method")
		}
		if s, ok := errs.str(key+".path", rr.Path); ok {
			if err := checkRoutePath(s); err != nil {
				errs.add(key+".path", err.Error())
			} else {
				r.Path, okPath = s, true
			}
		} else if rr.Path == nil {
			errs.add(key, "missing required key path")
		}
		if okMethod && okPath {
			pat := r.Method + " " + r.Path
			if prev, dup := patterns[pat]; dup {
				errs.addf(key+".path", "%s is already route[%d]", pat, prev)
			} else if err := register(mux, pat, patterns); err != nil {
				errs.add(key+".path", err.Error())
			} else {
				patterns[pat] = i
			}
		}
		if s, ok := errs.str(key+".actor", rr.Actor); ok {
			_, entry := entryIDs[s]
			_, one := seen[actor.ID(s)]
			if !entry && !one {
				errs.addf(key+".actor", "%q is not the id of an [[actor]] or of one of its instances", s)
			} else {
				r.Actor = s
			}
		} else if rr.Actor == nil {
			errs.add(key, "missing required key actor")
		}
		if t, ok := errs.duration(key+".timeout", rr.Timeout); ok {
			r.Timeout = t
		}
		if rr.Headers == nil {
			r.Headers = DefaultRouteHeaders()
		}
		if hs, ok := errs.strs(key+".headers", rr.Headers); ok {
			r.Headers = []string{}
			for _, hd := range hs {
				l := strings.ToLower(hd)
				switch {
				case !validHeaderName(hd):
					errs.addf(key+".headers", "%q is not a header name", hd)
				case slices.Contains(hopHeaders, l):
					errs.addf(key+".headers", "%s belongs to the connection, not to the request", hd)
				case slices.Contains(r.Headers, l):
					errs.addf(key+".headers", "%s is listed twice", hd)
				default:
					r.Headers = append(r.Headers, l)
				}
			}
		}
		if b, ok := errs.boolean(key+".expose-errors", rr.ExposeErrors); ok {
			r.ExposeErrors = b
		}
		a.Routes = append(a.Routes, r)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return a, nil
}

func parseSupervisor(errs *errList, raw *rawApp) Supervisor {
	s := Supervisor{Strategy: actor.OneForOne, MaxRestarts: DefaultMaxRestarts, Period: DefaultPeriod,
		BackoffMin: DefaultBackoffMin, BackoffMax: DefaultBackoffMax}
	rs := raw.Supervisor
	if v, ok := errs.str("supervisor.strategy", rs.Strategy); ok {
		if st, ok := strategies[v]; ok {
			s.Strategy = st
		} else {
			errs.addf("supervisor.strategy", "%q is not one-for-one, one-for-all or rest-for-one", v)
		}
	}
	if n, ok := errs.positiveInt("supervisor.max-restarts", rs.MaxRestarts, 1_000_000); ok {
		s.MaxRestarts = int(n)
	}
	if d, ok := errs.duration("supervisor.period", rs.Period); ok {
		s.Period = d
	}
	okMin, okMax := false, false
	if d, ok := errs.duration("supervisor.backoff-min", rs.BackoffMin); ok {
		s.BackoffMin, okMin = d, true
	}
	if d, ok := errs.duration("supervisor.backoff-max", rs.BackoffMax); ok {
		s.BackoffMax, okMax = d, true
	}
	if s.BackoffMax < s.BackoffMin && (okMin || okMax) {
		key := "supervisor.backoff-max"
		if !okMax {
			key = "supervisor.backoff-min"
		}
		errs.addf(key, "backoff-max %v is shorter than backoff-min %v", s.BackoffMax, s.BackoffMin)
	}
	return s
}

// checkEntryID checks an [[actor]] id: an actor id, or "ns/name/*".
func checkEntryID(s string, instances int) error {
	base, pattern := strings.CutSuffix(s, "/*")
	if pattern {
		// Instance numbers are short: if the first id is valid, all are.
		if _, err := actor.ParseID(base + "/1"); err != nil || strings.Contains(base, "*") {
			return fmt.Errorf("%q is not an actor id (namespace/name/instance) or namespace/name/*", s)
		}
		return nil
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("%q: only the instance may be *, for instances numbered 1, 2, ...", s)
	}
	if _, err := actor.ParseID(s); err != nil {
		return fmt.Errorf("%q is not an actor id (namespace/name/instance) or namespace/name/*", s)
	}
	if instances > 1 {
		return fmt.Errorf("%q names one actor but instances = %d: write %q", s, instances,
			s[:strings.LastIndexByte(s, '/')]+"/*")
	}
	return nil
}

// parseSource reads a component = { store | oci | path = "..." } table.
func parseSource(errs *errList, key string, v any, h *Host) Source {
	var src Source
	if v == nil {
		errs.add(strings.TrimSuffix(key, ".component"), "missing required key component")
		return src
	}
	m, ok := v.(map[string]any)
	if !ok {
		errs.wrongType(key, v, `a table: { store = "name@version" }, { oci = "host/repository:tag" } or { path = "/..." }`)
		return src
	}
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		x := m[k]
		switch k {
		case "store", "oci", "path":
			kinds = append(kinds, k)
		default:
			if capabilityKeys[k] {
				errs.add(key+"."+k, cannotGrant)
			} else {
				errs.add(key+"."+k, "unknown key (store, oci or path)")
			}
			continue
		}
		s, ok := errs.str(key+"."+k, x)
		if !ok {
			continue
		}
		switch k {
		case "store":
			name, version, found := strings.Cut(s, "@")
			switch {
			case !found:
				errs.addf(key+".store", "%q is not name@version: a version is required, so that the app means the same bytes every time", s)
			case !namePattern.MatchString(name):
				errs.addf(key+".store", "%q: %q is not a kebab-case component name", s, name)
			case !versionPattern.MatchString(version):
				errs.addf(key+".store", "%q: %q is not a semantic version (1.2.3)", s, version)
			default:
				src.Store = s
			}
		case "oci":
			ref, err := registry.ParseReference(s)
			switch {
			case err != nil:
				errs.addf(key+".oci", "%q is not a reference (host[:port]/repository:tag or @sha256:...)", s)
			case ref.Reference == "":
				errs.addf(key+".oci", "%q has no tag or digest", s)
			default:
				src.OCI = s
			}
		case "path":
			if _, err := h.CheckPath(s); err != nil {
				errs.add(key+".path", err.Error())
			} else {
				src.Path = s
			}
		}
	}
	switch {
	case len(kinds) == 0 && len(m) == 0:
		errs.add(key, "empty: set one of store, oci or path")
	case len(kinds) > 1:
		slices.Sort(kinds)
		errs.addf(key, "sets %s: set only one of store, oci or path", strings.Join(kinds, " and "))
		return Source{}
	}
	return src
}

// checkRoutePath checks a route's path pattern: "/" then segments that are
// literal text, "{name}", or, last, "{name...}" or "{$}"; a trailing "/"
// matches everything below. No "." or ".." segment, no empty one inside,
// no query or fragment, no escapes.
func checkRoutePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q does not start with /", p)
	}
	if len(p) > MaxRoutePath {
		return fmt.Errorf("%d bytes: at most %d", len(p), MaxRoutePath)
	}
	segs := strings.Split(p[1:], "/")
	names := map[string]bool{}
	for i, s := range segs {
		last := i == len(segs)-1
		switch {
		case s == "" && last:
			// "/" itself, or a trailing slash: everything below.
		case s == "":
			return fmt.Errorf("%q has an empty segment", p)
		case s == "." || s == "..":
			return fmt.Errorf("%q has a %q segment", p, s)
		case s == "{$}":
			if !last {
				return fmt.Errorf("%q: {$} must end the path", p)
			}
		case strings.HasPrefix(s, "{"):
			name, ok := strings.CutSuffix(s, "}")
			name = strings.TrimPrefix(name, "{")
			if !ok {
				return fmt.Errorf("%q: a wildcard is a whole segment, {name}", p)
			}
			if n, rest := strings.CutSuffix(name, "..."); rest {
				if !last {
					return fmt.Errorf("%q: {%s} must end the path", p, name)
				}
				name = n
			}
			if !paramPattern.MatchString(name) {
				return fmt.Errorf("%q: %q is not a wildcard name (letters, digits, _)", p, name)
			}
			if names[name] {
				return fmt.Errorf("%q: {%s} is used twice", p, name)
			}
			names[name] = true
		default:
			for _, c := range s {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
					strings.ContainsRune("-._~!$&'()*+,;=:@", c)) {
					return fmt.Errorf("%q: %q may not appear in a path (write it unescaped, or use a wildcard)", p, c)
				}
			}
		}
	}
	return nil
}

// register adds a route's pattern to mux, which refuses a pattern that
// conflicts with one already there: both match some request and neither
// is more specific (net/http's rules). The error names the earlier route.
func register(mux *http.ServeMux, pattern string, earlier map[string]int) error {
	if handle(mux, pattern) == nil {
		return nil
	}
	prev := slices.SortedFunc(maps.Keys(earlier), func(a, b string) int { return earlier[a] - earlier[b] })
	for _, p := range prev {
		m := http.NewServeMux()
		if handle(m, p) == nil && handle(m, pattern) != nil {
			return fmt.Errorf("%s conflicts with route[%d] (%s): both match some requests and neither is more specific",
				pattern, earlier[p], p)
		}
	}
	return fmt.Errorf("%s is not a valid route", pattern)
}

func handle(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// validHeaderName: an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}
