// Package gateway turns HTTP requests into actor messages and their replies
// into HTTP responses: the HTTP gateway of the host service.
//
// Components cannot serve wasi:http here (the Wasmtime v39 C API has no
// wasi:http and keeps its wasi:io types internal), so HTTP reaches actors
// as world 0.2.0 messages:
//
//   - A route maps a method and a path pattern (net/http's: "/orders/{id}",
//     "/files/{path...}") to an actor. The request becomes a request message:
//     the body is the payload (read into the cap, never buffered without
//     limit), its Content-Type the content type, and headers carry the rest:
//     http-method, http-path, http-query, one http-param-<name> per path
//     wildcard, and the request headers the route passes on (lower-cased;
//     content-type, accept and traceparent by default).
//   - The reply becomes the response: the status the responder set (0: 200),
//     its headers and content type, its payload as the body. A status out of
//     200-599 or a malformed header is the guest's error: 502. Hop-by-hop
//     headers and those the server owns (Content-Length, Date) are dropped.
//   - Errors map to statuses: no reply in the route's time 504, the actor's
//     error or trap 500 (its text only when the route allows it), a body over
//     the cap 413, an unknown route 404, a full mailbox 503 with
//     Retry-After, an actor that is not running 503.
//   - Routes can be replaced at once (SetRoutes: a host deploying an app),
//     and a route can spread its requests over a pool of actors in turn.
//   - The server has read-header, read, write and idle timeouts, a header
//     size limit and a cap on connections.
//   - Two hooks let the host measure and trace (package host/telemetry):
//     Options.Observe sees each request's route, status and duration, and
//     Options.Trace starts a request's span and gives the traceparent its
//     message carries instead of the incoming one. Unset, they cost
//     nothing.
//
// The gateway never shares a listener with the admin API.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Route maps requests to an actor.
type Route struct {
	// Method is the HTTP method ("" for any).
	Method string
	// Pattern is a net/http path pattern: "/orders/{id}", "/static/{rest...}".
	Pattern string
	// Actor receives the requests; or, when Pool is set, one of Pool's
	// actors in turn (the instances of an app's "ns/name/*" actor).
	Actor actor.ID
	Pool  []actor.ID
	// Timeout bounds the wait for the reply (default 10s): then 504.
	Timeout time.Duration
	// Headers are the request headers passed on to the actor (default:
	// content-type, accept, traceparent, tracestate).
	Headers []string
	// ExposeErrors sends the actor's error text in a 500's body; otherwise
	// the body says only that the request failed.
	ExposeErrors bool
}

// Options configure a Gateway (zero: the defaults given).
type Options struct {
	// MaxBodyBytes caps a request body (default 1 MiB, the message cap).
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout of the
	// server (defaults 5s, 30s, 30s, 120s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers (default 64 KiB).
	MaxHeaderBytes int
	// MaxConns caps the open connections (default 1024); past it new
	// connections wait in the kernel's accept queue.
	MaxConns int
	// Logger receives the gateway's errors (default: discard).
	Logger *slog.Logger

	// Observe, when set, is called once per request, after the response:
	// route is the pattern of the route that served it, as registered
	// ("GET /orders/{id}"; "" when no route matched), status the status
	// sent (499 when the client went away before one was), d the time
	// from the request's arrival at the gateway. It must not block.
	Observe func(route string, status int, d time.Duration)
	// Trace, when set, is called for each request a route serves, before
	// its message is sent: traceparent, when not "", replaces the
	// request's traceparent in the message (the request's span, or an
	// unsampled context so that no actor starts a trace of its own), and
	// end, when not nil, is called once with the status sent (499 when
	// the client went away).
	Trace func(r *http.Request, route string) (traceparent string, end func(status int))
}

// Defaults of Options and Route.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultTimeout           = 10 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConns          = 1024
)

var defaultHeaders = []string{"content-type", "accept", "traceparent", "tracestate"}

// Gateway is an http.Handler that serves routes from actors.
type Gateway struct {
	sys  *actor.System
	opts Options
	mux  atomic.Pointer[http.ServeMux] // replaced whole by SetRoutes
}

// New builds a gateway of routes to actors of sys. A bad pattern or two
// routes for the same requests are errors.
func New(sys *actor.System, routes []Route, o Options) (g *Gateway, err error) {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	g = &Gateway{sys: sys, opts: o}
	if err := g.SetRoutes(routes); err != nil {
		return nil, err
	}
	return g, nil
}

// SetRoutes replaces every route at once (a host deploying an app): a
// request is served by the old routes or the new ones, never a mix. On an
// error the routes stay as they were.
func (g *Gateway) SetRoutes(routes []Route) error {
	mux := http.NewServeMux()
	for _, r := range routes {
		if !strings.HasPrefix(r.Pattern, "/") || strings.ContainsAny(r.Pattern, " \t") {
			return fmt.Errorf("gateway: route %q: the pattern must be a path", r.Pattern)
		}
		if len(r.Pool) == 0 {
			r.Pool = []actor.ID{r.Actor}
		}
		for _, id := range r.Pool {
			if _, err := actor.ParseID(string(id)); err != nil {
				return fmt.Errorf("gateway: route %s: %w", r.Pattern, err)
			}
		}
		if r.Timeout <= 0 {
			r.Timeout = DefaultTimeout
		}
		if r.Headers == nil {
			r.Headers = defaultHeaders
		}
		pattern := r.Pattern
		if r.Method != "" {
			pattern = strings.ToUpper(r.Method) + " " + pattern
		}
		if err := register(mux, pattern, g.handler(r, pattern)); err != nil {
			return fmt.Errorf("gateway: route %q: %w", pattern, err)
		}
	}
	g.mux.Store(mux)
	return nil
}

// register adds a pattern; net/http panics on a bad or clashing one.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// ServeHTTP implements http.Handler: unknown routes are 404.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.opts.Observe == nil {
		g.mux.Load().ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	g.mux.Load().ServeHTTP(sw, r)
	g.opts.Observe(r.Pattern, sw.sent(), time.Since(start))
}

// statusWriter remembers the status sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// statusGone stands for a response never sent: the client went away.
const statusGone = 499

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) sent() int {
	if w.status == 0 {
		return statusGone
	}
	return w.status
}

// Serve serves ln until ctx ends, then shuts the server down, letting the
// requests in flight finish within grace.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{Handler: g, ReadHeaderTimeout: g.opts.ReadHeaderTimeout, ReadTimeout: g.opts.ReadTimeout,
		WriteTimeout: g.opts.WriteTimeout, IdleTimeout: g.opts.IdleTimeout, MaxHeaderBytes: g.opts.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(g.opts.Logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limitListener(ln, g.opts.MaxConns)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		err := srv.Shutdown(sctx)
		<-errc
		return err
	}
}

// ---- one request ---------------------------------------------------------------

// handler serves a route; pattern is the route as registered (with its
// method), for the Observe and Trace hooks.
func (g *Gateway) handler(rt Route, pattern string) http.Handler {
	params := wildcards(rt.Pattern)
	var next atomic.Uint64 // round robin over rt.Pool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.opts.Trace == nil {
			g.serve(w, r, rt, params, &next, "")
			return
		}
		tp, end := g.opts.Trace(r, pattern)
		status := g.serve(w, r, rt, params, &next, tp)
		if end != nil {
			end(status)
		}
	})
}

// serve answers one request of route rt and returns the status sent
// (statusGone when none was). traceparent, when not "", replaces the
// request's.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, rt Route, params []string, next *atomic.Uint64,
	traceparent string) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.opts.MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mb.Limit))
		}
		return problem(w, http.StatusBadRequest, "could not read the request body")
	}
	m := actor.Message{Payload: body, ContentType: r.Header.Get("Content-Type"), Headers: []actor.Header{
		{Name: "http-method", Value: r.Method}, {Name: "http-path", Value: r.URL.Path},
		{Name: "http-query", Value: r.URL.RawQuery}}}
	for _, p := range params {
		m.Headers = append(m.Headers, actor.Header{Name: "http-param-" + p, Value: r.PathValue(p)})
	}
	traced := false
	for _, h := range rt.Headers {
		for _, v := range r.Header.Values(h) {
			name := strings.ToLower(h)
			if traceparent != "" && name == "traceparent" {
				if traced {
					continue
				}
				v, traced = traceparent, true
			}
			m.Headers = append(m.Headers, actor.Header{Name: name, Value: v})
		}
	}
	if traceparent != "" && !traced {
		m.Headers = append(m.Headers, actor.Header{Name: "traceparent", Value: traceparent})
	}
	if r.Context().Err() != nil {
		// The client went away before anything was sent: the actor is not
		// asked (a reply ready at once could otherwise win the race with
		// the cancellation in Call.Wait's select).
		return statusGone
	}
	ctx, cancel := context.WithTimeout(r.Context(), rt.Timeout)
	defer cancel()
	to := rt.Pool[0]
	if n := uint64(len(rt.Pool)); n > 1 {
		to = rt.Pool[(next.Add(1)-1)%n]
	}
	reply, err := g.sys.RequestMessage(ctx, to, m)
	if err != nil {
		return g.fail(w, r, rt, err)
	}
	return respond(w, reply)
}

// fail maps a request's failure to a status, and returns it.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, rt Route, err error) int {
	var he *actor.HandlerError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, actor.ErrRequestTimeout):
		return problem(w, http.StatusGatewayTimeout, "no reply in time")
	case errors.As(err, &he):
		text := "the request failed"
		if rt.ExposeErrors {
			text = he.Message
		}
		return problem(w, http.StatusInternalServerError, text)
	case errors.Is(err, actor.ErrActorFailed):
		return problem(w, http.StatusInternalServerError, "the request failed")
	case errors.Is(err, actor.ErrMailboxFull):
		w.Header().Set("Retry-After", "1")
		return problem(w, http.StatusServiceUnavailable, "busy: try again")
	case errors.Is(err, actor.ErrTooLarge):
		return problem(w, http.StatusRequestEntityTooLarge, "request too large")
	case errors.Is(err, actor.ErrNotUTF8):
		return problem(w, http.StatusBadRequest, "a header is not valid UTF-8")
	case errors.Is(err, actor.ErrUnknownActor), errors.Is(err, actor.ErrActorStopped), errors.Is(err, actor.ErrClosed):
		w.Header().Set("Retry-After", "1")
		return problem(w, http.StatusServiceUnavailable, "not available")
	case errors.Is(err, context.Canceled):
		// The client went away: nothing to answer.
		return statusGone
	default:
		g.opts.Logger.Warn("gateway request failed", "path", r.URL.Path, "actor", string(rt.Actor), "err", err)
		return problem(w, http.StatusBadGateway, "the request failed")
	}
}

// respond writes a reply as the response, after checking what the guest
// set, and returns the status sent.
func respond(w http.ResponseWriter, m actor.Message) int {
	status := int(m.Status)
	if status == 0 {
		status = http.StatusOK
	}
	if status < 200 || status > 599 {
		return problem(w, http.StatusBadGateway, "the actor replied with an invalid status")
	}
	h := w.Header()
	for _, x := range m.Headers {
		if !validHeader(x.Name, x.Value) {
			return problem(w, http.StatusBadGateway, "the actor replied with an invalid header")
		}
	}
	for _, x := range m.Headers {
		if !ownedHeader(x.Name) {
			h.Add(x.Name, x.Value)
		}
	}
	if m.ContentType != "" && validHeader("Content-Type", m.ContentType) {
		h.Set("Content-Type", m.ContentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(m.Payload)))
	w.WriteHeader(status)
	w.Write(m.Payload)
	return status
}

func problem(w http.ResponseWriter, status int, text string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
	return status
}

// validHeader: a token name and a value without control characters.
func validHeader(name, value string) bool {
	if name == "" || len(name) > 256 || len(value) > 8<<10 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// ownedHeader: hop-by-hop headers and those the server writes itself.
func ownedHeader(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
		"transfer-encoding", "upgrade", "content-length", "date", "host":
		return true
	}
	return false
}

// wildcards lists the names of a pattern's {wildcards}.
func wildcards(pattern string) []string {
	var out []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(seg[1:len(seg)-1], "..."), "$")
			if name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// ---- connection cap ---------------------------------------------------------------

type limitedListener struct {
	net.Listener
	sem chan struct{}
}

// limitListener accepts at most n connections at once.
func limitListener(l net.Listener, n int) net.Listener {
	return &limitedListener{Listener: l, sem: make(chan struct{}, n)}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
