package admin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The socket's directory is made 0700, the socket 0600.
func TestListenUnixModes(t *testing.T) {
	dir := filepath.Join(shortDir(t), "new", "run")
	path := filepath.Join(dir, "a.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
}

// A directory others can enter, or another user's, is refused.
func TestListenUnixRefusesOpenDirectory(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o750, 0o701, 0o707} {
		dir := shortDir(t)
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ListenUnix(filepath.Join(dir, "a.sock"))
		if err == nil || !strings.Contains(err.Error(), "chmod 700") {
			t.Errorf("mode %04o: %v, want a refusal", mode, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "a.sock")); err == nil {
			t.Errorf("mode %04o: the socket was created", mode)
		}
	}
	// Ownership, with the uid the check expects injected.
	dir := shortDir(t)
	if err := checkPrivateDir(dir, os.Getuid()); err != nil {
		t.Errorf("our own 0700 directory: %v", err)
	}
	if err := checkPrivateDir(dir, os.Getuid()+1); err == nil || !strings.Contains(err.Error(), "owned by uid") {
		t.Errorf("a directory of another uid: %v, want a refusal", err)
	}
	// And for real where the test may give a directory away.
	if os.Getuid() == 0 {
		other := shortDir(t)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := ListenUnix(filepath.Join(other, "a.sock")); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Errorf("a directory of uid 65534: %v, want a refusal", err)
		}
	}
	// A file where the directory should be.
	file := filepath.Join(shortDir(t), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(filepath.Join(file, "a.sock")); err == nil {
		t.Error("a socket under a regular file: no error")
	}
}

// A socket nothing answers on is replaced; a live one is an error; a file
// that is no socket is left alone.
func TestListenUnixStaleAndLive(t *testing.T) {
	path := filepath.Join(shortDir(t), "a.sock")
	// A host that died: its socket file stays.
	dead, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	dead.(*net.UnixListener).SetUnlinkOnClose(false)
	dead.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal("the stale socket is not there:", err)
	}
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	defer ln.Close()
	// It is a working socket.
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing the new socket: %v", err)
	}
	c.Close()

	// A second host on the same socket.
	_, err = ListenUnix(path)
	if err == nil || !strings.Contains(err.Error(), "a host is already running") {
		t.Errorf("over a live socket: %v, want already running", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("the live socket was removed: %v", err)
	}

	file := filepath.Join(filepath.Dir(path), "notes")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the regular file was touched: %q %v", b, err)
	}
}

// A peer of another uid than the host's gets 403 forbidden on every route.
func TestPeerUID(t *testing.T) {
	f := newFixture()
	hs := serveUnix(t, NewHandler(f, HandlerOptions{}), ServeOptions{}, currentUID()+1)
	c, err := Dial("unix:"+hs.path, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background())
	e := asError(t, err)
	if e.Code != CodeForbidden || e.Status != 403 {
		t.Errorf("a peer of another uid: %+v", e)
	}
	err = c.Stop(context.Background(), "ns/a/0")
	if e := asError(t, err); e.Code != CodeForbidden {
		t.Errorf("a peer of another uid stopping an actor: %+v", e)
	}
	if got := f.lastCall(); got != "" {
		t.Errorf("the backend was called: %q", got)
	}
	// A request whose connection has no peer recorded is refused too.
	rec := httptest.NewRecorder()
	requirePeer(http.NotFoundHandler(), currentUID()).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/status", nil))
	if rec.Code != 403 {
		t.Errorf("no peer: %d", rec.Code)
	}
}

// serveTCP serves h on ln until the test ends.
func serveTCP(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := Serve(ctx, ln, h, ServeOptions{}); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		waitFor(t, done, "Serve to return")
	})
}

const testToken = "0123456789abcdef-token"

// On TCP the bearer token is required: none or a wrong one is 401.
func TestTCPToken(t *testing.T) {
	f := newFixture()
	ln, err := ListenTCP("127.0.0.1:0", "", "")
	if err != nil {
		t.Fatal(err)
	}
	serveTCP(t, ln, Authorize(NewHandler(f, HandlerOptions{}), []byte(testToken)))
	target := "http://" + ln.Addr().String()
	for _, tok := range []string{"", "wrong-token-of-some-length", testToken + "x", testToken[:len(testToken)-1]} {
		c, err := Dial(target, ClientOptions{Token: []byte(tok)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Status(context.Background())
		if e := asError(t, err); e.Code != CodeUnauthorized || e.Status != 401 {
			t.Errorf("token %q: %+v", tok, e)
		}
		status, h, _ := raw(t, c, "GET", "/v1/status", "", nil)
		if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q: %d, WWW-Authenticate %q", tok, status, h.Get("WWW-Authenticate"))
		}
		c.Close()
	}
	if got := f.lastCall(); got != "" {
		t.Errorf("the backend was called: %q", got)
	}
	c, err := Dial(target, ClientOptions{Token: []byte(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("the right token: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	for _, tc := range []struct {
		token, header string
		want          int
	}{
		{testToken, "Bearer " + testToken, 200},
		{testToken, "bearer " + testToken, 200},
		{testToken, "Bearer  " + testToken + " ", 200},
		{testToken, "", 401},
		{testToken, "Bearer", 401},
		{testToken, "Bearer ", 401},
		{testToken, "Basic " + testToken, 401},
		{testToken, testToken, 401},
		{testToken, "Bearer " + strings.ToUpper(testToken), 401},
		{"", "Bearer ", 401},
		{"", "Bearer x", 401},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/status", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		Authorize(ok, []byte(tc.token)).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("token %q, header %q: %d, want %d", tc.token, tc.header, rec.Code, tc.want)
		}
		if tc.want == 401 {
			if e := errorBodyOf(t, rec.Body.Bytes()); e.Code != CodeUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("header %q: %+v, WWW-Authenticate %q", tc.header, e, rec.Header().Get("WWW-Authenticate"))
			}
		}
	}
}

// Plain TCP only on loopback addresses.
func TestListenTCPRefusesPlainTextAbroad(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		ln, err := ListenTCP(addr, "", "")
		if err == nil {
			ln.Close()
			t.Errorf("%s without TLS: listening", addr)
		} else if !strings.Contains(err.Error(), "TLS") {
			t.Errorf("%s without TLS: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := ListenTCP(addr, "", "")
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		ln.Close()
	}
	if _, err := ListenTCP("127.0.0.1:0", "cert.pem", ""); err == nil {
		t.Error("a certificate without its key: no error")
	}
	if _, err := ListenTCP("127.0.0.1:0", "/nonexistent/cert.pem", "/nonexistent/key.pem"); err == nil {
		t.Error("missing certificate files: no error")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "airssys-wasm admin test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TLS: the client verifies the host with the CA it is given.
func TestTLS(t *testing.T) {
	certFile, keyFile := writeCert(t)
	ln, err := ListenTCP("127.0.0.1:0", certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture()
	serveTCP(t, ln, Authorize(NewHandler(f, HandlerOptions{}), []byte(testToken)))
	target := "https://" + ln.Addr().String()

	c, err := Dial(target, ClientOptions{Token: []byte(testToken), CAFile: certFile})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := c.Actor(context.Background(), "ns/a/0")
	if err != nil || a.ID != "ns/a/0" {
		t.Errorf("over TLS: %+v %v", a, err)
	}
	// Without the CA the host is not trusted.
	c2, err := Dial(target, ClientOptions{Token: []byte(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, err = c2.Status(context.Background())
	var uerr x509.UnknownAuthorityError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &uerr) {
		t.Errorf("without the CA: %v, want an unknown authority", err)
	}
	// Plain HTTP to the TLS listener gets no answer of the API.
	c3, err := Dial("http://"+ln.Addr().String(), ClientOptions{Token: []byte(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if _, err := c3.Status(context.Background()); err == nil {
		t.Error("plain HTTP to the TLS listener succeeded")
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok, err := ReadTokenFile(write("good", "  "+testToken+"\n", 0o600))
	if err != nil || string(tok) != testToken {
		t.Errorf("a good token file: %q %v", tok, err)
	}
	if tok, err := ReadTokenFile(write("ro", testToken, 0o400)); err != nil || string(tok) != testToken {
		t.Errorf("a read-only token file: %q %v", tok, err)
	}
	for name, tc := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"group":   {testToken, 0o640, "chmod 600"},
		"other":   {testToken, 0o604, "chmod 600"},
		"gwrite":  {testToken, 0o620, "chmod 600"},
		"empty":   {"", 0o600, "fewer than 16"},
		"blank":   {"   \n", 0o600, "fewer than 16"},
		"short":   {"0123456789abcde", 0o600, "fewer than 16"},
		"spaces":  {"0123456789 abcdef", 0o600, "printable"},
		"control": {"0123456789\x01abcdef", 0o600, "printable"},
		"huge":    {strings.Repeat("x", 5000), 0o600, "over 4096"},
	} {
		_, err := ReadTokenFile(write(name, tc.content, tc.mode))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
	if _, err := ReadTokenFile(dir); err == nil {
		t.Error("a directory: no error")
	}
	if _, err := ReadTokenFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
}

// Serve returns when its context ends, and the unix socket is gone.
func TestServeShutdown(t *testing.T) {
	path := filepath.Join(shortDir(t), "a.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, NewHandler(newFixture(), HandlerOptions{}), ServeOptions{}) }()
	c, err := Dial("unix:"+path, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := waitFor(t, done, "Serve to return"); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if _, err := os.Lstat(path); err == nil {
		t.Error("the socket file is still there")
	}
}
