package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ListenUnix listens on the unix socket path for the admin API. Its
// directory is created 0700 if missing; if it exists it must be a
// directory owned by the caller's uid that group and others cannot
// access. A socket left at path by a host that died is removed; one that
// answers means a host is already running, and is an error, as is any
// other kind of file at path. The socket is made 0600.
//
// Serve checks every connection's peer uid on it.
func ListenUnix(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := checkPrivateDir(dir, os.Getuid()); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	// The directory keeps others out between bind and chmod.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// checkPrivateDir refuses a directory that is not dir's owner's (uid)
// alone.
func checkPrivateDir(dir string, uid int) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot read its owner on this system", dir)
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("%s is owned by uid %d, not by the host's uid %d: the admin socket's directory must be the host's alone",
			dir, st.Uid, uid)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: the admin socket's directory must be closed to group and others (chmod 700 %s)",
			dir, perm, dir)
	}
	return nil
}

// removeStaleSocket removes a socket at path that nothing answers on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s exists and is not a socket: remove it or choose another path", path)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: a host is already running (its admin socket answers)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: cannot tell whether a host is running: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale socket: %w", err)
	}
	return nil
}

// ListenTCP listens on addr ("host:port") for the admin API on TCP: with
// TLS from certFile and keyFile (PEM), or in plain text, which only a
// loopback address may be. Wrap the handler served on it with Authorize.
func ListenTCP(addr, certFile, keyFile string) (net.Listener, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("admin listener: a TLS certificate and its key go together: give both or neither")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	var cfg *tls.Config
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("admin listener: %w", err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	} else if !IsLoopbackHost(host) {
		return nil, fmt.Errorf("admin listener: %s is not a loopback address: the admin API needs TLS there", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	if cfg == nil {
		// "localhost" could name another address: check the one bound.
		if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			ln.Close()
			return nil, fmt.Errorf("admin listener: %s bound %s, not a loopback address: the admin API needs TLS there",
				addr, ln.Addr())
		}
		return ln, nil
	}
	return tls.NewListener(ln, cfg), nil
}

// IsLoopbackHost reports whether host (no port) is "localhost" or a
// loopback IP: where the admin API may listen, and be reached, without TLS.
// The CLI checks its --host and --listen flags with it, so that both sides
// agree on what loopback is.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// MinTokenBytes is the shortest bearer token accepted.
const MinTokenBytes = 16

// maxTokenBytes bounds a token file.
const maxTokenBytes = 4096

// ReadTokenFile reads the admin API's bearer token from path: a regular
// file that group and others cannot access, holding one token of at least
// MinTokenBytes printable ASCII characters (surrounding white space is
// trimmed).
func ReadTokenFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("admin token: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("admin token: %s has mode %04o: group and others must not access it (chmod 600 %s)",
			path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	if len(b) > maxTokenBytes {
		return nil, fmt.Errorf("admin token: %s is over %d bytes", path, maxTokenBytes)
	}
	tok := bytes.TrimSpace(b)
	if len(tok) < MinTokenBytes {
		return nil, fmt.Errorf("admin token: %s holds %d bytes, fewer than %d", path, len(tok), MinTokenBytes)
	}
	for _, c := range tok {
		if c < 0x21 || c > 0x7e {
			return nil, fmt.Errorf("admin token: %s holds a character that is not printable ASCII (or a space)", path)
		}
	}
	return tok, nil
}

// Authorize lets through the requests that carry token as a bearer token
// ("Authorization: Bearer TOKEN"); the others get 401 unauthorized. The
// comparison takes the same time whatever the token sent. An empty token
// lets nothing through.
func Authorize(h http.Handler, token []byte) http.Handler {
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// bearer never gives an empty token, so an empty token matches
		// nothing. Hashes have one length: the comparison leaks neither
		// the token nor its length.
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256(got)
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="airssys-wasm admin"`)
			msg := "a bearer token is required (Authorization: Bearer TOKEN)"
			if ok {
				msg = "the bearer token is wrong"
			}
			writeError(w, &Error{Code: CodeUnauthorized, Status: http.StatusUnauthorized, Message: msg})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer is the token of an Authorization header's Bearer scheme.
func bearer(h string) ([]byte, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	tok = strings.TrimSpace(tok)
	return []byte(tok), tok != ""
}

// ServeOptions configure Serve (zero: the defaults given).
type ServeOptions struct {
	// ReadHeaderTimeout bounds the reading of a request's headers
	// (default 10s); NewHandler bounds that of its body.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a connection idle that long (default 2m).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers (default 64 KiB).
	MaxHeaderBytes int
	// ShutdownGrace is how long requests in flight may take to finish
	// once ctx ends (default 10s); then connections are closed.
	ShutdownGrace time.Duration
	// Logger receives the server's errors (default: discard).
	Logger *slog.Logger
}

// Defaults of ServeOptions.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownGrace     = 10 * time.Second
)

func (o ServeOptions) withDefaults() ServeOptions {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// shutdownKey holds, in a request's context, the context whose end shuts
// the server down: streams that would not end by themselves (logs that
// follow) end with it.
type shutdownKey struct{}

// peerKey holds, in a request's context, the peer of its unix socket
// connection.
type peerKey struct{}

// peer is who is at the other end of a unix socket.
type peer struct {
	uid uint32
	err error // the credentials could not be read
}

// Serve serves h on ln until ctx ends, then shuts the server down: streams
// that follow end at once, other requests may finish within
// o.ShutdownGrace. On a unix socket every request whose peer (SO_PEERCRED)
// is not of the caller's uid gets 403 forbidden. Serve returns nil after
// a clean shutdown, else the error that stopped it (or that requests had
// to be cut at the end of the grace).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions) error {
	return serve(ctx, ln, h, o, uint32(os.Getuid()))
}

// serve is Serve with the uid a unix socket's peers must have.
func serve(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions, uid uint32) error {
	o = o.withDefaults()
	unixSocket := ln.Addr().Network() == "unix"
	if unixSocket {
		h = requirePeer(h, uid)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context {
			// Requests keep ctx's values but not its end: they may
			// finish during the shutdown.
			return context.WithValue(context.WithoutCancel(ctx), shutdownKey{}, ctx)
		},
		ConnContext: func(cctx context.Context, c net.Conn) context.Context {
			if !unixSocket {
				return cctx
			}
			uid, err := peerUID(c)
			return context.WithValue(cctx, peerKey{}, peer{uid: uid, err: err})
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("admin API: requests still running %v after the shutdown began were cut: %w", o.ShutdownGrace, err)
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// requirePeer lets through the requests whose unix socket peer has uid.
func requirePeer(h http.Handler, uid uint32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := r.Context().Value(peerKey{}).(peer)
		var msg string
		switch {
		case !ok:
			msg = "the peer of this connection is unknown"
		case p.err != nil:
			msg = "the peer's credentials cannot be read: " + p.err.Error()
		case p.uid != uid:
			msg = fmt.Sprintf("uid %d may not use this host's admin API (only uid %d)", p.uid, uid)
		default:
			h.ServeHTTP(w, r)
			return
		}
		writeError(w, &Error{Code: CodeForbidden, Status: http.StatusForbidden, Message: msg})
	})
}
