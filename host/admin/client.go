package admin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClientOptions configure Dial.
type ClientOptions struct {
	// Token is the bearer token sent with every request (a host's TCP
	// listener needs it; its unix socket does not).
	Token []byte
	// RootCAs verify an https host's certificate; nil: those of CAFile,
	// or the system's when CAFile is "" too.
	RootCAs *x509.CertPool
	// CAFile is a PEM file of CA certificates, read by Dial.
	CAFile string
	// Timeout bounds each call (default DefaultClientTimeout; negative:
	// none but the context's). For a stream (a deploy with progress,
	// logs, an export) it bounds the wait for the response to begin.
	Timeout time.Duration
}

// DefaultClientTimeout is ClientOptions.Timeout's default.
const DefaultClientTimeout = 5 * time.Minute

// Response caps: a JSON answer, a line of a stream (a deploy's report line
// may be as large as a JSON answer) and an error's body.
const (
	maxJSONResponse = 64 << 20
	maxLogLine      = 1 << 20
	maxErrorBody    = 1 << 20
)

// Client is a host's admin API over HTTP: the Backend the CLI uses. Its
// errors are the *Error the host answered, which match the sentinels
// (errors.Is); a host that cannot be reached is ErrUnavailable. It is safe
// for concurrent use.
type Client struct {
	target  string // as given to Dial, for errors
	base    string // URL prefix of the API
	hc      *http.Client
	token   []byte
	timeout time.Duration
}

var _ Backend = (*Client)(nil)

// Dial returns a client of the host at target: "unix:/path/admin.sock",
// "https://host:port", or "http://127.0.0.1:port" (plain HTTP only to a
// loopback address). It connects when a call needs it, not before.
// Proxies named by the environment are not used.
func Dial(target string, o ClientOptions) (*Client, error) {
	c := &Client{target: target, token: o.Token, timeout: o.Timeout}
	if c.timeout == 0 {
		c.timeout = DefaultClientTimeout
	}
	tr := &http.Transport{
		Proxy:                 nil,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	switch {
	case strings.HasPrefix(target, "unix:"):
		path := filepath.Clean(strings.TrimPrefix(target, "unix:"))
		if strings.TrimPrefix(target, "unix:") == "" {
			return nil, fmt.Errorf("admin client: %q names no socket", target)
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://admin"
	case strings.HasPrefix(target, "https://"), strings.HasPrefix(target, "http://"):
		u, err := url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("admin client: %w", err)
		}
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("admin client: %q is not %s://HOST:PORT", target, u.Scheme)
		}
		if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("admin client: %s is not a loopback address: use https", u.Host)
		}
		if u.Scheme == "https" {
			roots := o.RootCAs
			if roots == nil && o.CAFile != "" {
				pem, err := os.ReadFile(o.CAFile)
				if err != nil {
					return nil, fmt.Errorf("admin client: %w", err)
				}
				roots = x509.NewCertPool()
				if !roots.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("admin client: %s holds no PEM certificate", o.CAFile)
				}
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
		c.base = u.Scheme + "://" + u.Host
	default:
		return nil, fmt.Errorf("admin client: %q is not unix:PATH, https://HOST:PORT or http://LOOPBACK:PORT", target)
	}
	c.hc = &http.Client{
		Transport: tr,
		// The API never redirects; following one could send the token
		// elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Close closes the client's idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// ---- Backend ----------------------------------------------------------------------

// Status implements Backend.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	return st, c.call(ctx, "GET", "/v1/status", nil, "", nil, &st)
}

// Apps implements Backend.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var list []App
	return list, c.call(ctx, "GET", "/v1/apps", nil, "", nil, &list)
}

// App implements Backend.
func (c *Client) App(ctx context.Context, name string) (App, error) {
	var a App
	p, err := pathOf("/v1/apps/", name, "app name")
	if err != nil {
		return a, err
	}
	return a, c.call(ctx, "GET", p, nil, "", nil, &a)
}

// Deploy implements Backend: with progress, the host sends each actor's
// result as it is done.
func (c *Client) Deploy(ctx context.Context, file string, source []byte, progress func(ActorResult)) (Report, error) {
	var rep Report
	q := url.Values{"file": {file}}
	if progress == nil {
		return rep, c.call(ctx, "POST", "/v1/apps", q, "application/toml", source, &rep)
	}
	q.Set("progress", "1")
	resp, done, err := c.send(ctx, "POST", "/v1/apps", q, "application/toml", source, true)
	if err != nil {
		return rep, err
	}
	defer done()
	if !isNDJSON(resp) {
		// The whole answer at once (a host that ignores progress).
		return rep, c.decode(resp, &rep)
	}
	err = c.lines(ctx, resp, maxJSONResponse, func(b []byte) error {
		var line struct {
			Progress *ActorResult `json:"progress"`
			Report   *Report      `json:"report"`
			Error    *Error       `json:"error"`
		}
		if err := c.unmarshalLine(b, &line); err != nil {
			return err
		}
		switch {
		case line.Error != nil:
			return line.Error.withStatus()
		case line.Report != nil:
			rep = *line.Report
			return errEndOfStream
		case line.Progress != nil:
			progress(*line.Progress)
		}
		return nil
	})
	switch {
	case errors.Is(err, errEndOfStream):
		return rep, nil
	case err != nil:
		return rep, err
	}
	return rep, c.brokenStream("the deploy's report")
}

// DeleteApp implements Backend.
func (c *Client) DeleteApp(ctx context.Context, name string) (Report, error) {
	var rep Report
	p, err := pathOf("/v1/apps/", name, "app name")
	if err != nil {
		return rep, err
	}
	return rep, c.call(ctx, "DELETE", p, nil, "", nil, &rep)
}

// Components implements Backend.
func (c *Client) Components(ctx context.Context) ([]Component, error) {
	var list []Component
	return list, c.call(ctx, "GET", "/v1/components", nil, "", nil, &list)
}

// Component implements Backend.
func (c *Client) Component(ctx context.Context, name, version string) (Component, error) {
	var comp Component
	p, err := componentPath(name, version)
	if err != nil {
		return comp, err
	}
	return comp, c.call(ctx, "GET", p, nil, "", nil, &comp)
}

// Install implements Backend.
func (c *Client) Install(ctx context.Context, req InstallRequest) (Component, error) {
	var comp Component
	body, err := json.Marshal(req)
	if err != nil {
		return comp, err
	}
	return comp, c.call(ctx, "POST", "/v1/components", nil, "application/json", body, &comp)
}

// Uninstall implements Backend.
func (c *Client) Uninstall(ctx context.Context, name, version string) error {
	p, err := componentPath(name, version)
	if err != nil {
		return err
	}
	return c.call(ctx, "DELETE", p, nil, "", nil, nil)
}

// Actors implements Backend.
func (c *Client) Actors(ctx context.Context) ([]Actor, error) {
	var list []Actor
	return list, c.call(ctx, "GET", "/v1/actors", nil, "", nil, &list)
}

// Actor implements Backend.
func (c *Client) Actor(ctx context.Context, id string) (Actor, error) {
	var a Actor
	p, err := pathOf("/v1/actors/", id, "actor id")
	if err != nil {
		return a, err
	}
	return a, c.call(ctx, "GET", p, nil, "", nil, &a)
}

// Health implements Backend.
func (c *Client) Health(ctx context.Context, id string) (string, error) {
	var h healthBody
	p, err := pathOf("/v1/actors/", id, "actor id")
	if err != nil {
		return "", err
	}
	err = c.call(ctx, "GET", p+"/health", nil, "", nil, &h)
	return h.Health, err
}

// Stop implements Backend.
func (c *Client) Stop(ctx context.Context, id string) error {
	return c.actorVerb(ctx, id, "stop", nil)
}

// Restart implements Backend.
func (c *Client) Restart(ctx context.Context, id string) error {
	return c.actorVerb(ctx, id, "restart", nil)
}

// Update implements Backend.
func (c *Client) Update(ctx context.Context, id, component string) (ActorResult, error) {
	var res ActorResult
	body, err := json.Marshal(updateRequest{Component: component})
	if err != nil {
		return res, err
	}
	p, err := pathOf("/v1/actors/", id, "actor id")
	if err != nil {
		return res, err
	}
	return res, c.call(ctx, "POST", p+"/update", nil, "application/json", body, &res)
}

// Rollback implements Backend.
func (c *Client) Rollback(ctx context.Context, id string) (ActorResult, error) {
	var res ActorResult
	return res, c.actorVerb(ctx, id, "rollback", &res)
}

func (c *Client) actorVerb(ctx context.Context, id, verb string, out any) error {
	p, err := pathOf("/v1/actors/", id, "actor id")
	if err != nil {
		return err
	}
	return c.call(ctx, "POST", p+"/"+verb, nil, "", nil, out)
}

// DeadLetters implements Backend.
func (c *Client) DeadLetters(ctx context.Context, limit int) (DeadLetters, error) {
	var dl DeadLetters
	var q url.Values
	if limit != 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	return dl, c.call(ctx, "GET", "/v1/dead-letters", q, "", nil, &dl)
}

// Logs implements Backend. With q.Follow it returns ctx's error when ctx
// ends.
func (c *Client) Logs(ctx context.Context, q LogQuery, fn func(LogLine) error) error {
	v := url.Values{}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Tail != 0 {
		v.Set("tail", strconv.Itoa(q.Tail))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	resp, done, err := c.send(ctx, "GET", "/v1/logs", v, "", nil, true)
	if err != nil {
		return err
	}
	defer done()
	err = c.lines(ctx, resp, maxLogLine, func(b []byte) error {
		var line struct {
			LogLine
			Error *Error `json:"error"`
		}
		if err := c.unmarshalLine(b, &line); err != nil {
			return err
		}
		if line.Error != nil {
			return line.Error.withStatus()
		}
		return fn(line.LogLine)
	})
	if err == nil && q.Follow && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// ExportStorage implements Backend: the host's JSON lines are copied to w
// as they come (an export is not capped).
func (c *Client) ExportStorage(ctx context.Context, component string, w io.Writer) error {
	p, err := pathOf("/v1/components/", component, "component name")
	if err != nil {
		return err
	}
	resp, done, err := c.send(ctx, "GET", p+"/data", nil, "", nil, true)
	if err != nil {
		return err
	}
	defer done()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return c.readError(ctx, err)
	}
	if t := resp.Trailer.Get(exportErrorTrailer); t != "" {
		var e Error
		if err := json.Unmarshal([]byte(t), &e); err != nil || e.Code == "" {
			return c.brokenStream("the export's error")
		}
		return e.withStatus()
	}
	return nil
}

// ---- requests ---------------------------------------------------------------------

// errEndOfStream stops the reading of a stream's lines.
var errEndOfStream = errors.New("end of stream")

// call sends a request and decodes its JSON answer into out (nil: none).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, out any) error {
	resp, done, err := c.send(ctx, method, path, q, ctype, body, false)
	if err != nil {
		return err
	}
	defer done()
	return c.decode(resp, out)
}

// send sends a request and returns its response if it is a success, its
// error otherwise. done releases the response. The timeout runs until
// done, or for a stream until the response begins.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, ctype string, body []byte,
	stream bool) (*http.Response, func(), error) {
	rctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, func() {
			cancel(fmt.Errorf("%w: the host at %s did not answer within %v", context.DeadlineExceeded, c.target, c.timeout))
		})
	}
	stop := func() {
		if timer != nil {
			timer.Stop()
		}
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		stop()
		cancel(nil)
		return nil, nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if len(c.token) > 0 {
		req.Header.Set("Authorization", "Bearer "+string(c.token))
	}
	r, err := c.hc.Do(req)
	if err != nil {
		err = c.transportError(ctx, rctx, err)
		stop()
		cancel(nil)
		return nil, nil, err
	}
	done := func() {
		stop()
		r.Body.Close()
		cancel(nil)
	}
	if r.StatusCode < 200 || r.StatusCode > 299 {
		defer done()
		return nil, nil, c.errorOf(rctx, r)
	}
	if stream {
		stop()
	}
	return r, done, nil
}

// transportError is err, from a request that got no answer.
func (c *Client) transportError(ctx, rctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cause := context.Cause(rctx); cause != nil {
		return cause
	}
	return fmt.Errorf("%w: cannot reach the host at %s: %w", ErrUnavailable, c.target, err)
}

// readError is err, from reading a response's body.
func (c *Client) readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return fmt.Errorf("%w: reading the answer of the host at %s: %w", ErrUnavailable, c.target, err)
}

// errorOf reads the error a response carries.
func (c *Client) errorOf(ctx context.Context, resp *http.Response) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		eb.Error.Status = resp.StatusCode
		return eb.Error
	}
	code := CodeInternal
	for _, cd := range []string{CodeBadRequest, CodeInvalid, CodeNotFound, CodeConflict, CodeForbidden,
		CodeUnauthorized, CodeTooLarge, CodeUnavailable} {
		if statusOf(cd) == resp.StatusCode {
			code = cd
			break
		}
	}
	return &Error{Code: code, Status: resp.StatusCode,
		Message: fmt.Sprintf("the host at %s answered %s without an error body", c.target, resp.Status)}
}

// decode reads a JSON answer into out (nil: the answer is dropped).
func (c *Client) decode(resp *http.Response, out any) error {
	ctx := resp.Request.Context()
	if out == nil {
		_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return c.readError(ctx, err)
		}
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONResponse+1))
	if err != nil {
		return c.readError(ctx, err)
	}
	if len(b) > maxJSONResponse {
		return fmt.Errorf("%w: the answer of the host at %s is over %d bytes", ErrTooLarge, c.target, maxJSONResponse)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the answer of the host at %s is not the JSON expected: %w", c.target, err)
	}
	return nil
}

// lines reads a stream's NDJSON lines of at most max bytes and calls fn
// with each; it returns fn's error, or nil at the stream's end.
func (c *Client) lines(ctx context.Context, resp *http.Response, max int, fn func([]byte) error) error {
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var buf []byte
	for {
		b, err := br.ReadSlice('\n')
		buf = append(buf, b...)
		if len(buf) > max+1 {
			return fmt.Errorf("%w: a line from the host at %s is over %d bytes", ErrTooLarge, c.target, max)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(bytes.TrimSpace(buf)) != 0 {
				return c.brokenStream("the end of a line")
			}
			return nil
		case err != nil:
			return c.readError(ctx, err)
		}
		if len(bytes.TrimSpace(buf)) != 0 {
			if err := fn(buf); err != nil {
				return err
			}
		}
		buf = buf[:0]
	}
}

func (c *Client) unmarshalLine(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("a line from the host at %s is not the JSON expected: %w", c.target, err)
	}
	return nil
}

func (c *Client) brokenStream(what string) error {
	return fmt.Errorf("%w: the host at %s ended its answer before %s", ErrUnavailable, c.target, what)
}

// withStatus is e with the status of its code (an error line of a
// stream came with 200).
func (e *Error) withStatus() *Error {
	e2 := *e
	e2.Status = statusOf(e.Code)
	return &e2
}

// isNDJSON reports whether a response is a stream of lines.
func isNDJSON(resp *http.Response) bool {
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson")
}

// pathOf is prefix followed by the escaped segment s.
func pathOf(prefix, s, what string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: the %s is empty", ErrBadRequest, what)
	}
	return prefix + segment(s), nil
}

func componentPath(name, version string) (string, error) {
	p, err := pathOf("/v1/components/", name, "component name")
	if err != nil {
		return "", err
	}
	if version == "" {
		return "", fmt.Errorf("%w: the component version is empty", ErrBadRequest)
	}
	return p + "/" + segment(version), nil
}

// segment escapes s as one path segment: '/' and the dot segments too,
// which a server would otherwise clean away.
func segment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}

// Proxy forwards requests to the host's admin listener with the client's
// token: `airssys-wasm dashboard` serves the host's web page to a local
// browser through it (a browser cannot reach a unix socket, nor send a
// bearer token). The browser's Host header is kept, so that the page's
// Host and Origin checks see the address the browser used. Only paths
// under one of prefixes are forwarded (404 otherwise).
func (c *Client) Proxy(prefixes ...string) http.Handler {
	base, _ := url.Parse(c.base)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(base)
			r.Out.Host = r.In.Host
			r.Out.Header.Del("Authorization")
			if len(c.token) > 0 {
				r.Out.Header.Set("Authorization", "Bearer "+string(c.token))
			}
		},
		Transport:     c.hc.Transport,
		FlushInterval: -1, // server-sent events go through at once
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				rp.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	})
}
