package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// Options configure New (zero: the defaults given).
type Options struct {
	// Prefix is the path the page is mounted at, with its slashes
	// (default "/ui/"): the handler answers only below it.
	Prefix string
	// AllowedHosts are the host names and addresses (no port needed; any
	// port is taken) the page may be reached by, besides "localhost",
	// "127.0.0.1" and "::1". A request naming another Host is refused (421):
	// a DNS name rebound to 127.0.0.1 does not reach the page.
	AllowedHosts []string
	// Interval is the time between two snapshots of a stream (default 1s).
	Interval time.Duration
	// MaxStreams bounds the live streams open at once (default 16); one more
	// is refused (503).
	MaxStreams int
	// WriteTimeout drops a stream whose client has not taken an event
	// within it (default 10s). A client more than two snapshots behind is
	// dropped too.
	WriteTimeout time.Duration
	// DeadLetters is how many recent dead letters a snapshot carries
	// (default 50).
	DeadLetters int
	// LogTail is how many recent lines of the selected actor a stream sends
	// first (default 100).
	LogTail int
	// Context, when it ends, ends every stream and refuses new ones: the
	// host passes the context whose end shuts its listeners down (a live
	// stream would otherwise hold the shutdown for its whole grace).
	Context context.Context
	// Logger receives the handler's errors (default: discard).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultPrefix       = "/ui/"
	DefaultInterval     = time.Second
	DefaultMaxStreams   = 16
	DefaultWriteTimeout = 10 * time.Second
	DefaultDeadLetters  = 50
	DefaultLogTail      = 100
)

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(o.Prefix, "/") || !strings.HasSuffix(o.Prefix, "/") || strings.ContainsAny(o.Prefix, "{}") {
		return o, fmt.Errorf("dashboard: prefix %q must start and end with a slash", o.Prefix)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.DeadLetters <= 0 {
		o.DeadLetters = DefaultDeadLetters
	}
	if o.LogTail <= 0 {
		o.LogTail = DefaultLogTail
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// The security headers of every response.
const (
	// ContentSecurityPolicy allows the page's own script, style and
	// connections, and nothing else: no inline script or style, no frame.
	ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	// CSRFHeader carries the page's token on every POST.
	CSRFHeader = "X-CSRF-Token"
)

//go:embed assets
var assets embed.FS

// csrfPlaceholder, in index.html, is replaced by the token.
const csrfPlaceholder = "{{CSRF_TOKEN}}"

// handler is the dashboard.
type handler struct {
	b     admin.Backend
	o     Options
	token []byte   // the CSRF token as the page has it (hex)
	tsum  [32]byte // its hash: compared in constant time
	index []byte
	hosts map[string]bool
	mux   *http.ServeMux
	hub   *hub
	slots chan struct{} // one per open stream

	active  atomic.Int64  // streams open
	dropped atomic.Uint64 // streams dropped for being slow
}

// New is the dashboard of b: a page and its live stream, served below
// o.Prefix. See the package doc for what it serves and how it is
// protected. It does not authenticate: the host puts it behind the admin
// listeners' checks (peer uid, bearer token).
func New(b admin.Backend, o Options) (http.Handler, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("dashboard: the CSRF token: %w", err)
	}
	h := &handler{b: b, o: o, token: []byte(hex.EncodeToString(raw)), hosts: map[string]bool{},
		mux: http.NewServeMux(), slots: make(chan struct{}, o.MaxStreams)}
	h.tsum = sha256.Sum256(h.token)
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(page), csrfPlaceholder) {
		return nil, errors.New("dashboard: index.html has no place for the CSRF token")
	}
	h.index = []byte(strings.Replace(string(page), csrfPlaceholder, string(h.token), 1))
	for _, n := range []string{"localhost", "127.0.0.1", "::1"} {
		h.hosts[n] = true
	}
	for _, n := range o.AllowedHosts {
		if n = normalHost(n); n != "" {
			h.hosts[n] = true
		}
	}
	h.hub = newHub(b, o)

	p := o.Prefix
	h.mux.HandleFunc("GET "+p+"{$}", h.page)
	for _, f := range []string{"app.js", "app.css"} {
		h.mux.HandleFunc("GET "+p+f, h.asset("assets/"+f))
	}
	h.mux.HandleFunc("GET "+p+"events", h.events)
	h.mux.HandleFunc("POST "+p+"api/rollback", h.rollback)
	return h, nil
}

// ServeHTTP checks the Host of every request, and the Origin and the
// CSRF token of every request that is not a GET or HEAD, before routing.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !h.hosts[normalHost(r.Host)] {
		writeError(w, http.StatusMisdirectedRequest, admin.CodeForbidden,
			"this host does not serve its dashboard under that name (Host header); add it to the allowed hosts")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if code, msg := h.checkAction(r); code != 0 {
			writeError(w, code, admin.CodeForbidden, msg)
			return
		}
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// No route: net/http says whether it is the path or the method.
		rec := &statusRecorder{header: http.Header{}}
		h.mux.ServeHTTP(rec, r)
		if rec.code == http.StatusMethodNotAllowed {
			hd.Set("Allow", rec.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, admin.CodeBadRequest, r.Method+" is not allowed here")
			return
		}
		writeError(w, http.StatusNotFound, admin.CodeNotFound, "no such page")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// checkAction refuses a state-changing request that does not come from
// the page itself: its Origin must be the page's, and it must carry the
// page's CSRF token.
func (h *handler) checkAction(r *http.Request) (int, string) {
	if !sameOrigin(r.Header.Get("Origin"), r.Host) {
		return http.StatusForbidden, "an action must come from the dashboard's own page (Origin)"
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return http.StatusForbidden, "an action must come from the dashboard's own page (Sec-Fetch-Site)"
	}
	sum := sha256.Sum256([]byte(r.Header.Get(CSRFHeader)))
	if subtle.ConstantTimeCompare(sum[:], h.tsum[:]) != 1 {
		return http.StatusForbidden, "an action needs the page's CSRF token (" + CSRFHeader + "): reload the page"
	}
	return 0, ""
}

// sameOrigin reports whether origin (an Origin header) is the page's own:
// http or https, with the Host of the request. Either scheme is taken: a
// proxy in front (`airssys-wasm dashboard`) may speak HTTP to the browser
// and HTTPS to the host, and one host:port serves one of them.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && host != "" &&
		strings.EqualFold(u.Host, host) && u.Path == "" && u.RawQuery == "" && u.User == nil
}

// normalHost is the host of a Host header or a configured name, without
// its port and brackets, in lower case ("" when there is none).
func normalHost(s string) string {
	s = strings.TrimSpace(s)
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// statusRecorder keeps the status and headers of net/http's answer to a
// request without a route.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.code = code }

// page is index.html with the CSRF token.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(h.index)
}

// asset serves an embedded file.
func (h *handler) asset(name string) http.HandlerFunc {
	body, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded: a missing file is a build mistake
	}
	ctype := mime.TypeByExtension(name[strings.LastIndexByte(name, '.'):])
	switch {
	case strings.HasSuffix(name, ".js"):
		ctype = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		ctype = "text/css; charset=utf-8"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	}
}

// rollbackRequest is the body of POST api/rollback.
type rollbackRequest struct {
	ID string `json:"id"`
}

// maxActionBody caps an action's JSON body.
const maxActionBody = 4 << 10

func (h *handler) rollback(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, admin.CodeBadRequest, "an action's body is JSON (Content-Type: application/json)")
		return
	}
	var req rollbackRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxActionBody))
	if err := dec.Decode(&req); err != nil || req.ID == "" {
		writeError(w, http.StatusBadRequest, admin.CodeBadRequest, `the body is {"id": "<actor id>"}`)
		return
	}
	res, err := h.b.Rollback(r.Context(), req.ID)
	if err != nil {
		code, name := statusOf(err)
		msg := err.Error()
		if code == http.StatusInternalServerError {
			h.o.Logger.Error("dashboard: rollback", "actor", req.ID, "err", err)
			msg = "the rollback failed (the host's log says why)"
		}
		writeError(w, code, name, msg)
		return
	}
	h.o.Logger.Info("dashboard: actor rolled back", "actor", req.ID, "from", res.From, "to", res.To)
	writeJSON(w, http.StatusOK, res)
}

// statusOf is the HTTP status and code of a Backend's error.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, admin.ErrNotFound):
		return http.StatusNotFound, admin.CodeNotFound
	case errors.Is(err, admin.ErrConflict):
		return http.StatusConflict, admin.CodeConflict
	case errors.Is(err, admin.ErrBadRequest):
		return http.StatusBadRequest, admin.CodeBadRequest
	case errors.Is(err, admin.ErrInvalid):
		return http.StatusUnprocessableEntity, admin.CodeInvalid
	case errors.Is(err, admin.ErrDenied):
		return http.StatusForbidden, admin.CodeDenied
	case errors.Is(err, admin.ErrUnavailable):
		return http.StatusServiceUnavailable, admin.CodeUnavailable
	case errors.Is(err, admin.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, admin.CodeTooLarge
	}
	return http.StatusInternalServerError, admin.CodeInternal
}

// errorBody is an error response, in the admin API's shape.
type errorBody struct {
	Error admin.Error `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{admin.Error{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
