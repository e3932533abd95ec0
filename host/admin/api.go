package admin

import (
	"context"
	"errors"
	"io"
	"time"
)

// Backend is what the admin API serves: the running host (host.Service)
// on the server side, and Client, the same operations over HTTP, on the
// CLI's side. Every method takes the caller's context; streaming methods
// (Deploy's progress, Logs, ExportStorage) end when it does.
type Backend interface {
	Status(ctx context.Context) (Status, error)

	// Apps, App, Deploy and DeleteApp: the desired state. Deploy reconciles
	// the host to the app file source (named file in errors) and reports,
	// per actor, what it did; progress, when not nil, is called once per
	// actor as it is done. Deploying the same file twice changes nothing.
	Apps(ctx context.Context) ([]App, error)
	App(ctx context.Context, name string) (App, error)
	Deploy(ctx context.Context, file string, source []byte, progress func(ActorResult)) (Report, error)
	DeleteApp(ctx context.Context, name string) (Report, error)

	// Components in the host's store (its catalog).
	Components(ctx context.Context) ([]Component, error)
	Component(ctx context.Context, name, version string) (Component, error)
	Install(ctx context.Context, req InstallRequest) (Component, error)
	Uninstall(ctx context.Context, name, version string) error

	// Actors that run.
	Actors(ctx context.Context) ([]Actor, error)
	Actor(ctx context.Context, id string) (Actor, error)
	Health(ctx context.Context, id string) (string, error)
	Stop(ctx context.Context, id string) error
	Restart(ctx context.Context, id string) error
	// Update moves one actor to component ("name@version" in the store)
	// through the live update path; Rollback returns it to the version it
	// ran before.
	Update(ctx context.Context, id, component string) (ActorResult, error)
	Rollback(ctx context.Context, id string) (ActorResult, error)

	DeadLetters(ctx context.Context, limit int) (DeadLetters, error)
	// Logs calls fn with the recent lines matching q, oldest first, then,
	// with q.Follow, with every new line until ctx ends or fn fails.
	Logs(ctx context.Context, q LogQuery, fn func(LogLine) error) error
	// ExportStorage writes the key-value data of a component (its name in
	// the store; the data is its owner's: publisher and name) as JSON
	// lines (storage.DB.Export).
	ExportStorage(ctx context.Context, component string, w io.Writer) error
}

// Status is the host as a whole.
type Status struct {
	Version   string    `json:"version"` // the airssys-wasm build
	Started   time.Time `json:"started"`
	PID       int       `json:"pid"`
	DataDir   string    `json:"data_dir"`
	Policy    string    `json:"policy"`
	Gateway   string    `json:"gateway"`    // listen address, "" when off
	AdminTCP  string    `json:"admin_tcp"`  // "" when only the socket
	Apps      int       `json:"apps"`       // apps deployed
	Actors    int       `json:"actors"`     // actors running
	DevMode   bool      `json:"dev_mode"`   // the allow-everything dev flag
	Restored  []string  `json:"restored"`   // apps brought back at start
	Draining  bool      `json:"draining"`   // SIGTERM received
	Reloaded  time.Time `json:"reloaded"`   // last SIGHUP (zero: never)
	Problems  []string  `json:"problems"`   // apps or actors not as desired
	Component int       `json:"components"` // versions in the store
	// Lattice is the host's lattice and the hosts alive in it, this one
	// first (nil when the host runs without one).
	Lattice *Lattice `json:"lattice,omitempty"`
}

// Lattice is a lattice as one of its hosts sees it.
type Lattice struct {
	Name  string        `json:"name"`
	Host  string        `json:"host"` // this host
	Mode  string        `json:"mode"` // "fire-and-forget" or "acknowledged"
	Hosts []LatticeHost `json:"hosts"`
}

// LatticeHost is a host of the lattice, as its heartbeats tell.
type LatticeHost struct {
	Name     string    `json:"name"`
	Self     bool      `json:"self,omitempty"`
	Started  time.Time `json:"started"`
	LastSeen time.Time `json:"last_seen"`
	Actors   int       `json:"actors"`
}

// App is a deployed app: its file and its actors' state.
type App struct {
	Name     string    `json:"name"`
	Digest   string    `json:"digest"`
	Deployed time.Time `json:"deployed"`
	Source   string    `json:"source,omitempty"` // the app file (App only, not Apps)
	Actors   []Actor   `json:"actors"`
	Routes   []Route   `json:"routes"`
}

// Route is an HTTP route of an app.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Actor  string `json:"actor"`
}

// Actor is one actor id of the host: what its app asks for and how it is.
type Actor struct {
	ID        string `json:"id"`
	App       string `json:"app"`
	Component string `json:"component"` // name@version it runs
	Publisher string `json:"publisher"` // "" unsigned
	// Host is the lattice host that runs it ("" for a host alone, and for
	// an id no host runs).
	Host string `json:"host,omitempty"`
	// The counters are left out of the JSON when zero (a list of 10,000
	// idle actors is half the size).
	// State: starting, running, restarting, stopped, failed, missing (the
	// app asks for it, no host runs it), or unreachable (in a lattice: an
	// entry for a host that did not answer, its id the host's name in
	// brackets).
	State           string `json:"state"`
	Busy            bool   `json:"busy,omitempty"`
	MailboxDepth    int    `json:"mailbox_depth,omitempty"`
	Handled         uint64 `json:"handled,omitempty"`
	Errors          uint64 `json:"errors,omitempty"`
	Failed          uint64 `json:"failed,omitempty"` // trapped handlings
	DeadLettered    uint64 `json:"dead_lettered,omitempty"`
	Restarts        uint64 `json:"restarts,omitempty"`
	Handles         int    `json:"handles,omitempty"`
	LogLinesDropped uint64 `json:"log_lines_dropped,omitempty"`
	// HandleP50us and HandleP99us are the median and 99th percentile of
	// the actor's handling times since it started, in microseconds (the
	// upper bound of the histogram bucket they fall in; 0 when unmeasured:
	// host.toml telemetry.handle-times off, or nothing handled).
	HandleP50us int64 `json:"handle_p50_us,omitempty"`
	HandleP99us int64 `json:"handle_p99_us,omitempty"`
	// Rollback is the version Rollback would return to ("" none).
	Rollback string `json:"rollback,omitempty"`
}

// Report is what a deploy or a delete did.
type Report struct {
	App     string        `json:"app"`
	Digest  string        `json:"digest"`
	Changed bool          `json:"changed"` // false: the host already ran it
	Actors  []ActorResult `json:"actors"`
}

// Actions of an ActorResult.
const (
	ActionStarted    = "started"
	ActionStopped    = "stopped"
	ActionUpdated    = "updated"  // live update to another version
	ActionReplaced   = "replaced" // stopped and started (settings changed)
	ActionUnchanged  = "unchanged"
	ActionRolledBack = "rolled-back"
	ActionFailed     = "failed"
)

// ActorResult is what happened to one actor.
type ActorResult struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	From   string `json:"from,omitempty"` // name@version before
	To     string `json:"to,omitempty"`   // name@version after
	Error  string `json:"error,omitempty"`
}

// Component is an installed version in the store.
type Component struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Digest    string    `json:"digest"`
	Publisher string    `json:"publisher"` // "" unsigned
	Size      int64     `json:"size"`
	Installed time.Time `json:"installed"`
	// InUse lists the actors that run it (or would roll back to it).
	InUse []string `json:"in_use,omitempty"`
}

// InstallRequest installs a component: from an OCI reference (Ref), or
// from its bytes (Wasm, Manifest and Signature, the file's text).
type InstallRequest struct {
	Ref       string `json:"ref,omitempty"`
	PlainHTTP bool   `json:"plain_http,omitempty"` // loopback registries only
	Wasm      []byte `json:"wasm,omitempty"`
	Manifest  []byte `json:"manifest,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

// DeadLetters are the most recent dead letters and how many there were.
type DeadLetters struct {
	Total   uint64       `json:"total"`
	Letters []DeadLetter `json:"letters"`
}

// DeadLetter is one message that could not be delivered or handled.
type DeadLetter struct {
	Time        time.Time `json:"time"`
	To          string    `json:"to"`
	From        string    `json:"from"`
	Reason      string    `json:"reason"`
	ContentType string    `json:"content_type,omitempty"`
	PayloadLen  int       `json:"payload_len"`
}

// LogQuery selects log lines.
type LogQuery struct {
	Actor  string // "" every actor and the host
	Tail   int    // recent lines first sent (0: DefaultTail)
	Follow bool
}

// DefaultTail is how many recent lines Logs sends when asked for none.
const DefaultTail = 100

// LogLine is one line of the host's log or a component's wasi:logging.
type LogLine struct {
	Time    time.Time         `json:"time"`
	Level   string            `json:"level"`
	Actor   string            `json:"actor,omitempty"`
	Message string            `json:"msg"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	// Dropped, on a line of its own, counts lines a slow follower missed.
	Dropped uint64 `json:"dropped,omitempty"`
}

// Error codes, stable: clients match on them.
const (
	CodeBadRequest   = "bad_request" // malformed request
	CodeInvalid      = "invalid"     // an app file or manifest with errors (Details lists them)
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"     // exists, in use, owned by another publisher
	CodeDenied       = "denied"       // refused by the policy or a signature check
	CodeUnauthorized = "unauthorized" // no or wrong token
	CodeForbidden    = "forbidden"    // a peer of another uid
	CodeTooLarge     = "too_large"
	CodeUnavailable  = "unavailable" // draining, or a registry unreachable
	CodeInternal     = "internal"
)

// Sentinels a Backend wraps its errors with, so that the server gives
// them their code (errors.Is).
var (
	ErrBadRequest  = errors.New(CodeBadRequest)
	ErrInvalid     = errors.New(CodeInvalid)
	ErrNotFound    = errors.New(CodeNotFound)
	ErrConflict    = errors.New(CodeConflict)
	ErrDenied      = errors.New(CodeDenied)
	ErrUnavailable = errors.New(CodeUnavailable)
	ErrTooLarge    = errors.New(CodeTooLarge)
)

// Error is an error as the API carries it: {"error": {"code", "message",
// "details"}}. Client returns it; errors.Is matches it against the
// sentinel of its code.
type Error struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
	Status  int      `json:"-"` // the HTTP status it came with
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel of e's code.
func (e *Error) Is(target error) bool {
	s, ok := target.(interface{ Error() string })
	return ok && isSentinel(target) && s.Error() == e.Code
}

func isSentinel(err error) bool {
	switch err {
	case ErrBadRequest, ErrInvalid, ErrNotFound, ErrConflict, ErrDenied, ErrUnavailable, ErrTooLarge:
		return true
	}
	return false
}
