package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/config"
)

// HandlerOptions configure NewHandler (zero: the defaults given).
type HandlerOptions struct {
	// MaxAppBytes caps an app file (POST /v1/apps; default 1 MiB).
	MaxAppBytes int64
	// MaxInstallBytes caps an install request, its JSON with the
	// component's bytes in base64 (POST /v1/components; default 96 MiB).
	MaxInstallBytes int64
	// BodyTimeout bounds the reading of a request body (default 5m).
	BodyTimeout time.Duration
	// ExposeErrors puts the text of an internal error (one the Backend
	// did not wrap with a sentinel) in its response; otherwise the
	// response says only that the request failed, and the text is logged.
	ExposeErrors bool
	// Logger receives internal errors (default: discard).
	Logger *slog.Logger
}

// Defaults of HandlerOptions.
const (
	DefaultMaxAppBytes     = 1 << 20
	DefaultMaxInstallBytes = 96 << 20
	DefaultBodyTimeout     = 5 * time.Minute
)

// maxSmallBody caps the small JSON bodies (an update request).
const maxSmallBody = 64 << 10

func (o HandlerOptions) withDefaults() HandlerOptions {
	if o.MaxAppBytes <= 0 {
		o.MaxAppBytes = DefaultMaxAppBytes
	}
	if o.MaxInstallBytes <= 0 {
		o.MaxInstallBytes = DefaultMaxInstallBytes
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// route is one operation of the API.
type route struct {
	method, path string
	serve        func(*server, http.ResponseWriter, *http.Request)
}

// routes is the whole API; Routes and NewHandler read it.
func routes() []route {
	return []route{
		{"GET", "/v1/status", (*server).status},
		{"GET", "/v1/apps", (*server).apps},
		{"POST", "/v1/apps", (*server).deploy},
		{"GET", "/v1/apps/{name}", (*server).app},
		{"DELETE", "/v1/apps/{name}", (*server).deleteApp},
		{"GET", "/v1/components", (*server).components},
		{"POST", "/v1/components", (*server).install},
		{"GET", "/v1/components/{name}/{version}", (*server).component},
		{"DELETE", "/v1/components/{name}/{version}", (*server).uninstall},
		{"GET", "/v1/components/{name}/data", (*server).export},
		{"GET", "/v1/actors", (*server).actors},
		{"GET", "/v1/actors/{id}", (*server).actor},
		{"GET", "/v1/actors/{id}/health", (*server).health},
		{"POST", "/v1/actors/{id}/stop", (*server).stop},
		{"POST", "/v1/actors/{id}/restart", (*server).restart},
		{"POST", "/v1/actors/{id}/rollback", (*server).rollback},
		{"POST", "/v1/actors/{id}/update", (*server).update},
		{"GET", "/v1/dead-letters", (*server).deadLetters},
		{"GET", "/v1/logs", (*server).logs},
	}
}

// Routes lists the operations NewHandler serves, as "METHOD /path" with
// net/http's wildcards ("GET /v1/actors/{id}"); openapi.json describes
// exactly these.
func Routes() []string {
	rs := routes()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.method + " " + r.path
	}
	return out
}

// server serves a Backend.
type server struct {
	b   Backend
	o   HandlerOptions
	mux *http.ServeMux
}

// NewHandler serves b over HTTP under /v1/ (see Routes and openapi.json).
// A path wildcard is one path segment, escaped: an actor id
// "ns/name/0" is written ns%2Fname%2F0. Bodies and responses are JSON;
// errors are {"error": {"code", "message", "details"}} with the code of
// the sentinel the Backend's error matches (internal otherwise). An
// unknown path is 404 not_found, a known path with another method 405.
//
// The handler does not authenticate: Serve checks the peer of a unix
// socket, and Authorize wraps it for TCP.
func NewHandler(b Backend, o HandlerOptions) http.Handler {
	s := &server{b: b, o: o.withDefaults(), mux: http.NewServeMux()}
	for _, rt := range routes() {
		serve := rt.serve
		s.mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) { serve(s, w, r) })
	}
	return s
}

// ServeHTTP implements http.Handler: net/http's plain-text 404 and 405 are
// answered in JSON.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if fromBrowser(r) {
		// The API is for programs (the CLI, scripts), never for web pages:
		// a browser's request (which a tunnel to the socket, or DNS
		// rebinding, could let in) carries one of these headers. The
		// dashboard has its own checked endpoints.
		writeError(w, &Error{Code: CodeForbidden, Status: http.StatusForbidden,
			Message: "the admin API does not answer browsers: use the dashboard (/ui/)"})
		return
	}
	if h, pattern := s.mux.Handler(r); pattern == "" {
		// No route: find out whether it is the path or the method.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, &Error{Code: CodeBadRequest, Status: http.StatusMethodNotAllowed,
				Message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow"))})
			return
		}
		writeError(w, &Error{Code: CodeNotFound, Status: http.StatusNotFound,
			Message: fmt.Sprintf("no such route: %s %s", r.Method, r.URL.Path)})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// fromBrowser: the request comes from a web browser (it names the page's
// origin or says where the fetch came from; programs send neither).
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Sec-Fetch-Mode") != ""
}

// headerRecorder keeps the status and headers of net/http's own answer to
// a request without a route.
type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.code = code }

// ---- status, apps -----------------------------------------------------------------

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	s.reply(w, r, st, err)
}

func (s *server) apps(w http.ResponseWriter, r *http.Request) {
	list, err := s.b.Apps(r.Context())
	s.reply(w, r, nonNil(list), err)
}

func (s *server) app(w http.ResponseWriter, r *http.Request) {
	a, err := s.b.App(r.Context(), r.PathValue("name"))
	s.reply(w, r, a, err)
}

func (s *server) deleteApp(w http.ResponseWriter, r *http.Request) {
	rep, err := s.b.DeleteApp(r.Context(), r.PathValue("name"))
	s.reply(w, r, rep, err)
}

// progressLine and reportLine are the lines of a deploy with progress;
// errorBody ends it when it fails.
type progressLine struct {
	Progress *ActorResult `json:"progress"`
}

type reportLine struct {
	Report *Report `json:"report"`
}

// errorBody is every error response, and the last line of a stream that
// fails.
type errorBody struct {
	Error *Error `json:"error"`
}

// defaultAppFile names an app file in errors when a deploy does not.
const defaultAppFile = "app.toml"

func (s *server) deploy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	file := q.Get("file")
	if file == "" {
		file = defaultAppFile
	}
	progress, err := boolParam(q.Get("progress"), "progress")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	src, err := s.readBody(w, r, s.o.MaxAppBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !progress {
		rep, err := s.b.Deploy(r.Context(), file, src, nil)
		s.reply(w, r, rep, err)
		return
	}
	st := newStream(w)
	rep, err := s.b.Deploy(r.Context(), file, src, func(a ActorResult) { _ = st.write(progressLine{&a}) })
	if err != nil {
		st.fail(s.toError(r, err))
		return
	}
	st.last(reportLine{&rep})
}

// ---- components -------------------------------------------------------------------

func (s *server) components(w http.ResponseWriter, r *http.Request) {
	list, err := s.b.Components(r.Context())
	s.reply(w, r, nonNil(list), err)
}

func (s *server) component(w http.ResponseWriter, r *http.Request) {
	c, err := s.b.Component(r.Context(), r.PathValue("name"), r.PathValue("version"))
	s.reply(w, r, c, err)
}

func (s *server) install(w http.ResponseWriter, r *http.Request) {
	var req InstallRequest
	if err := s.readJSON(w, r, s.o.MaxInstallBytes, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case req.Ref == "" && len(req.Wasm) == 0:
		s.fail(w, r, fmt.Errorf("%w: an install request needs ref or wasm", ErrBadRequest))
		return
	case req.Ref != "" && (len(req.Wasm) > 0 || len(req.Manifest) > 0 || len(req.Signature) > 0):
		s.fail(w, r, fmt.Errorf("%w: an install request has ref or wasm (with manifest and signature), not both", ErrBadRequest))
		return
	}
	c, err := s.b.Install(r.Context(), req)
	s.reply(w, r, c, err)
}

func (s *server) uninstall(w http.ResponseWriter, r *http.Request) {
	s.noContent(w, r, s.b.Uninstall(r.Context(), r.PathValue("name"), r.PathValue("version")))
}

// exportErrorTrailer carries the error of an export that fails once its
// data has started: the JSON of an Error.
const exportErrorTrailer = "Admin-Error"

func (s *server) export(w http.ResponseWriter, r *http.Request) {
	ew := &exportWriter{w: w}
	err := s.b.ExportStorage(r.Context(), r.PathValue("name"), ew)
	switch {
	case err == nil && !ew.started:
		ew.start()
	case err != nil && !ew.started:
		s.fail(w, r, err)
	case err != nil:
		b, _ := json.Marshal(s.toError(r, err))
		w.Header().Set(exportErrorTrailer, string(b))
	}
}

// exportWriter sends the response's headers with the first bytes of an
// export, so that an export failing at once is an ordinary error response.
type exportWriter struct {
	w       http.ResponseWriter
	started bool
}

func (e *exportWriter) start() {
	e.started = true
	e.w.Header().Set("Content-Type", "application/jsonl")
	e.w.Header().Set("Cache-Control", "no-store")
	// Declared before the headers go: the body is then chunked and may
	// end with the trailer.
	e.w.Header().Set("Trailer", exportErrorTrailer)
	e.w.WriteHeader(http.StatusOK)
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.start()
	}
	return e.w.Write(p)
}

// ---- actors -----------------------------------------------------------------------

func (s *server) actors(w http.ResponseWriter, r *http.Request) {
	list, err := s.b.Actors(r.Context())
	s.reply(w, r, nonNil(list), err)
}

func (s *server) actor(w http.ResponseWriter, r *http.Request) {
	a, err := s.b.Actor(r.Context(), r.PathValue("id"))
	s.reply(w, r, a, err)
}

// healthBody is the answer of GET /v1/actors/{id}/health.
type healthBody struct {
	ID     string `json:"id"`
	Health string `json:"health"`
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h, err := s.b.Health(r.Context(), id)
	s.reply(w, r, healthBody{ID: id, Health: h}, err)
}

func (s *server) stop(w http.ResponseWriter, r *http.Request) {
	s.noContent(w, r, s.b.Stop(r.Context(), r.PathValue("id")))
}

func (s *server) restart(w http.ResponseWriter, r *http.Request) {
	s.noContent(w, r, s.b.Restart(r.Context(), r.PathValue("id")))
}

func (s *server) rollback(w http.ResponseWriter, r *http.Request) {
	res, err := s.b.Rollback(r.Context(), r.PathValue("id"))
	s.reply(w, r, res, err)
}

// updateRequest is the body of POST /v1/actors/{id}/update.
type updateRequest struct {
	Component string `json:"component"` // name@version in the store
}

func (s *server) update(w http.ResponseWriter, r *http.Request) {
	var req updateRequest
	if err := s.readJSON(w, r, maxSmallBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Component == "" {
		s.fail(w, r, fmt.Errorf("%w: an update request needs component (name@version)", ErrBadRequest))
		return
	}
	res, err := s.b.Update(r.Context(), r.PathValue("id"), req.Component)
	s.reply(w, r, res, err)
}

// ---- dead letters, logs -----------------------------------------------------------

func (s *server) deadLetters(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r.URL.Query().Get("limit"), "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dl, err := s.b.DeadLetters(r.Context(), limit)
	dl.Letters = nonNil(dl.Letters)
	s.reply(w, r, dl, err)
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := LogQuery{Actor: q.Get("actor")}
	var err error
	if lq.Tail, err = intParam(q.Get("tail"), "tail"); err != nil {
		s.fail(w, r, err)
		return
	}
	if lq.Follow, err = boolParam(q.Get("follow"), "follow"); err != nil {
		s.fail(w, r, err)
		return
	}
	// A follower also ends when the server shuts down (Serve).
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	shutdown, _ := r.Context().Value(shutdownKey{}).(context.Context)
	if shutdown != nil {
		defer context.AfterFunc(shutdown, cancel)()
	}

	st := newStream(w)
	if lq.Follow {
		// The client learns at once that the stream is open; an error
		// comes as its last line.
		if err := st.start(); err != nil {
			return
		}
	}
	err = s.b.Logs(ctx, lq, func(l LogLine) error { return st.write(l) })
	switch {
	case shutdown != nil && shutdown.Err() != nil && r.Context().Err() == nil:
		st.fail(&Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Message: "the host is shutting down"})
	case err != nil && r.Context().Err() == nil:
		st.fail(s.toError(r, err))
	default:
		st.last(nil)
	}
}

// ---- streams ----------------------------------------------------------------------

// stream writes NDJSON, one flushed line at a time. Its headers go with
// the first line, so that a request failing before any line is an ordinary
// error response. It is safe for concurrent use, and writes nothing after
// its last line (a Backend calling back after returning).
type stream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	closed  bool  // the last line is written
	err     error // the first write error
}

var errStreamClosed = errors.New("stream closed")

func newStream(w http.ResponseWriter) *stream {
	return &stream{w: w, rc: http.NewResponseController(w)}
}

// start sends the headers.
func (s *stream) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked()
}

func (s *stream) startLocked() error {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/x-ndjson")
		s.w.Header().Set("Cache-Control", "no-store")
		s.w.Header().Set("X-Content-Type-Options", "nosniff")
		s.w.WriteHeader(http.StatusOK)
		if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.err = err
		}
	}
	return s.err
}

// write sends one line.
func (s *stream) write(v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	return s.writeLocked(v)
}

func (s *stream) writeLocked(v any) error {
	if err := s.startLocked(); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := s.w.Write(append(b, '\n')); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
	return s.err
}

// last writes v (nil: nothing) as the last line, sending the headers if
// no line went before; nothing is written after it.
func (s *stream) last(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if v == nil {
		_ = s.startLocked()
		return
	}
	_ = s.writeLocked(v)
}

// fail ends the stream with e: an error response if nothing was sent, else
// a last line {"error": ...}.
func (s *stream) fail(e *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if !s.started {
		s.started = true
		writeError(s.w, e)
		return
	}
	_ = s.writeLocked(errorBody{e})
}

// ---- requests and responses -------------------------------------------------------

// readBody reads a request body of at most limit bytes.
func (s *server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: the request body is %d bytes, over the limit of %d", ErrTooLarge, r.ContentLength, limit)
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.o.BodyTimeout)) == nil {
		// Cleared once read: the server's read of the connection, which
		// notices a client that goes away, must not time out during a
		// long deploy.
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return nil, fmt.Errorf("%w: the request body is over the limit of %d bytes", ErrTooLarge, mb.Limit)
	case err != nil:
		return nil, fmt.Errorf("%w: reading the request body: %v", ErrBadRequest, err)
	}
	return buf.Bytes(), nil
}

// readJSON decodes a request body of at most limit bytes into v, strictly:
// unknown fields and trailing data are errors.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := s.readBody(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: the request body is not the JSON expected: %v", ErrBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: the request body has data after its JSON value", ErrBadRequest)
	}
	return nil
}

// reply answers v as JSON, or err.
func (s *server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, r, fmt.Errorf("encoding the response: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// noContent answers 204, or err.
func (s *server) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, s.toError(r, err))
}

// toError gives err its code, status and details, and logs it if it is
// internal.
func (s *server) toError(r *http.Request, err error) *Error {
	e := errorOf(err, s.o.ExposeErrors)
	if e.Code == CodeInternal {
		s.o.Logger.Error("admin API: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return e
}

// errorOf is err as the API carries it. An *Error keeps its code; an error
// matching a sentinel gets its code (config.ErrInvalid: invalid, with
// every *config.Error in Details); a context's end is unavailable; anything
// else is internal, its text shown only with expose.
func errorOf(err error, expose bool) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		e := *ae
		e.Message = err.Error()
		if e.Status == 0 {
			e.Status = statusOf(e.Code)
		}
		return &e
	}
	code := ""
	for _, s := range [...]error{ErrBadRequest, ErrTooLarge, ErrInvalid, ErrNotFound, ErrConflict, ErrDenied, ErrUnavailable} {
		if errors.Is(err, s) {
			code = s.Error()
			break
		}
	}
	if code == "" && errors.Is(err, config.ErrInvalid) {
		code = CodeInvalid
	}
	if code == "" && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		code = CodeUnavailable
	}
	if code == "" {
		msg := "internal error (the host's log has the details)"
		if expose {
			msg = err.Error()
		}
		return &Error{Code: CodeInternal, Status: http.StatusInternalServerError, Message: msg}
	}
	e := &Error{Code: code, Status: statusOf(code)}
	for _, ce := range configErrors(err) {
		e.Details = append(e.Details, ce.Error())
	}
	// The message is the error's first line without the sentinel's text
	// ("not_found: actor x" reads "actor x"); Details has every line.
	msg, rest, multi := strings.Cut(err.Error(), "\n")
	msg = strings.Replace(msg, code+": ", "", 1)
	if multi {
		msg += fmt.Sprintf(" (and %d more)", strings.Count(rest, "\n")+1)
	}
	e.Message = msg
	return e
}

// configErrors collects every *config.Error in err's tree (config.Errors
// stops at the first wrap of a joined error).
func configErrors(err error) []*config.Error {
	var out []*config.Error
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) {
		case nil:
		case *config.Error:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// statusOf is the HTTP status of an error code.
func statusOf(code string) int {
	switch code {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeInvalid:
		return http.StatusUnprocessableEntity
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeDenied, CodeForbidden:
		return http.StatusForbidden
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError sends e as the response.
func writeError(w http.ResponseWriter, e *Error) {
	b, _ := json.Marshal(errorBody{e})
	h := w.Header()
	h.Del("Trailer")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(b, '\n'))
}

// intParam parses a non-negative integer query parameter ("" is 0).
func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s=%q is not a non-negative integer", ErrBadRequest, name, v)
	}
	return n, nil
}

// boolParam parses a boolean query parameter ("" is false).
func boolParam(v, name string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not 1 or 0", ErrBadRequest, name, v)
	}
	return b, nil
}

// nonNil makes an empty list [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
