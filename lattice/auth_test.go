package lattice

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/state"
)

// asyncErrs collects a connection's asynchronous errors (permission
// violations come that way).
type asyncErrs struct {
	mu   sync.Mutex
	errs []error
}

func (a *asyncErrs) option() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		a.mu.Lock()
		a.errs = append(a.errs, err)
		a.mu.Unlock()
	})
}

// wait waits for a permissions violation naming subject.
func (a *asyncErrs) wait(t *testing.T, subject string) {
	t.Helper()
	waitFor(t, 5*time.Second, "a permissions violation on "+subject, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, err := range a.errs {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
				return true
			}
		}
		return false
	})
}

// authServer is a server of lattice "test" admitting the test hosts, with
// JetStream.
func authServer(t *testing.T) *Server {
	t.Helper()
	srv, err := StartServer(context.Background(), ServerConfig{Lattice: "test", Hosts: testKeys(t), JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// newHostWith is newHost with a configuration of the test's.
func newHostWith(t *testing.T, srv *Server, cfg Config) *host {
	t.Helper()
	nc, err := srv.Connect(cfg.Host, testOpts(t, cfg.Host)...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lattice = "test"
	n, err := New(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewSystem(eng, actor.Options{Remote: n, RequestTimeout: 5 * time.Second})
	if err := n.Attach(sys); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
		n.Close()
		nc.Close()
	})
	return &host{sys: sys, node: n}
}

// TestHostPermissions: a host connected with its own key cannot publish
// under another host's name (the server refuses, and the other host's
// actor never gets the message), cannot subscribe to another host's
// inbox or to actor subjects outside the queue group, cannot publish
// outside the lattice's subjects.
func TestHostPermissions(t *testing.T) {
	srv := authServer(t)
	b := newHost(t, srv, "b", FireAndForget)
	b.deploy(t, "b/echo/1", "actor2_echotext", nil)
	var ae asyncErrs
	a, err := srv.Connect("a", append(testOpts(t, "a"), ae.option())...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	echo := actorSubject("airssys.test", "b/echo/1")
	h := nats.Header{hKind: {"request"}, hSender: {"a%2Fx%2F1"}}
	// Under its own name: answered.
	if m, err := a.RequestMsg(&nats.Msg{Subject: echo + ".a", Header: h, Data: []byte("hi")}, 5*time.Second); err != nil || string(m.Data) != "hi" {
		t.Fatalf("a request under a's own name: %v", err)
	}
	// Under b's or c's name: refused by the server, never delivered.
	for _, forged := range []string{echo + ".c", echo + ".b", "airssys.test.topic.c.news", "airssys.test.hosts.c",
		"airssys.other.actor.x.a", "elsewhere", "$JS.API.STREAM.LIST", "$KV.airssys_other_state.k"} {
		if err := a.PublishMsg(&nats.Msg{Subject: forged, Header: h, Data: []byte("forged")}); err != nil {
			t.Fatal(err)
		}
		ae.wait(t, forged)
	}
	for _, sub := range []string{InboxPrefix("test", "b") + ".>", "airssys.test.lost.b.>", "airssys.test.actor.>", "_INBOX.>", ">"} {
		if _, err := a.Subscribe(sub, func(*nats.Msg) {}); err != nil {
			t.Fatal(err)
		}
		ae.wait(t, sub)
	}
	if st, _ := b.sys.Stats("b/echo/1"); st.Handled != 1 {
		t.Fatalf("b's actor handled %d messages, want 1 (the forged ones never reached it)", st.Handled)
	}
	if st := b.node.Stats(); st.RequestsIn != 1 || st.RefusedIn != 0 {
		t.Fatalf("b's node: %+v", st)
	}
}

// TestHostAuthentication: a connection without a key, with a key the
// server does not know, or an nkey that is not a user's is refused.
func TestHostAuthentication(t *testing.T) {
	srv, err := StartServer(context.Background(), ServerConfig{Listen: "127.0.0.1:0", Lattice: "test", Hosts: testKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	dial := func(opts ...nats.Option) error {
		nc, err := nats.Connect(srv.ClientURL(), append(opts, nats.Timeout(2*time.Second), nats.NoReconnect())...)
		if err == nil {
			nc.Close()
		}
		return err
	}
	if err := dial(testOpts(t, "a")...); err != nil {
		t.Fatalf("a host with its key: %v", err)
	}
	if err := dial(nats.CustomInboxPrefix(InboxPrefix("test", "a"))); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("no key: %v", err)
	}
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	o, err := NkeyOption(seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(o); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("an unknown key: %v", err)
	}
	acct, _ := nkeys.CreateAccount()
	aseed, _ := acct.Seed()
	if _, err := NkeyOption(aseed); !errors.Is(err, ErrAuth) {
		t.Fatalf("an account key taken as a host's: %v", err)
	}
	// A server with a listener must name whom it admits.
	if _, err := StartServer(context.Background(), ServerConfig{Listen: "127.0.0.1:0"}); !errors.Is(err, ErrAuth) {
		t.Fatalf("a listener admitting anyone: %v", err)
	}
	// A cluster needs its secret.
	if _, err := StartServer(context.Background(), ServerConfig{Hosts: testKeys(t),
		Cluster: ClusterConfig{Name: "c", Listen: "127.0.0.1:0"}}); !errors.Is(err, ErrAuth) {
		t.Fatalf("a cluster without a secret: %v", err)
	}
	// A listener off loopback needs TLS.
	for _, cfg := range []ServerConfig{
		{Listen: "0.0.0.0:0", Hosts: testKeys(t)},
		{Hosts: testKeys(t), Cluster: ClusterConfig{Name: "c", Listen: "0.0.0.0:0", Secret: testSecret}},
		{Hosts: testKeys(t), Cluster: ClusterConfig{Name: "c", Listen: "127.0.0.1:0", Secret: testSecret, Routes: []string{"192.0.2.1:6222"}}},
	} {
		if _, err := StartServer(context.Background(), cfg); !errors.Is(err, ErrAuth) {
			t.Fatalf("%+v: %v, want a refusal for want of TLS", cfg, err)
		}
	}
}

// TestHostJetStream: a host uses the lattice's key-value buckets (create,
// put, get, create-if-absent, watch, status) and no other stream.
func TestHostJetStream(t *testing.T) {
	srv := authServer(t)
	nc, err := srv.Connect("a", testOpts(t, "a")...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("account info: %v", err)
	}
	for _, bucket := range Buckets("test") {
		kv, err := js.KeyValue(ctx, bucket)
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Fatalf("%s before it exists: %v", bucket, err)
		}
		if kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 4}); err != nil {
			t.Fatalf("create %s: %v", bucket, err)
		}
		if kv, err = js.KeyValue(ctx, bucket); err != nil {
			t.Fatalf("open %s: %v", bucket, err)
		}
		w, err := kv.Watch(ctx, "app.>")
		if err != nil {
			t.Fatalf("watch %s: %v", bucket, err)
		}
		if _, err := kv.Put(ctx, "app.one", []byte("v1")); err != nil {
			t.Fatalf("put: %v", err)
		}
		if _, err := kv.Create(ctx, "app.two", []byte("v2")); err != nil {
			t.Fatalf("create: %v", err)
		}
		if _, err := kv.Create(ctx, "app.two", []byte("again")); !errors.Is(err, jetstream.ErrKeyExists) {
			t.Fatalf("create again: %v", err)
		}
		if e, err := kv.Get(ctx, "app.one"); err != nil || string(e.Value()) != "v1" {
			t.Fatalf("get: %v", err)
		}
		seen := 0
		for seen < 2 {
			select {
			case e := <-w.Updates():
				if e != nil {
					seen++
				}
			case <-ctx.Done():
				t.Fatalf("the watch saw %d of 2 puts", seen)
			}
		}
		w.Stop()
		if _, err := kv.Status(ctx); err != nil {
			t.Fatalf("status: %v", err)
		}
		if _, err := kv.History(ctx, "app.one"); err != nil {
			t.Fatalf("history: %v", err)
		}
	}
	for _, bucket := range ObjectStores("test") {
		obj, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket})
		if err != nil {
			t.Fatalf("create %s: %v", bucket, err)
		}
		for _, v := range []string{"first", "second"} { // the second replaces the first's chunks (a purge)
			if _, err := obj.PutBytes(ctx, "comp", []byte(v)); err != nil {
				t.Fatalf("put %s: %v", v, err)
			}
		}
		if b, err := obj.GetBytes(ctx, "comp"); err != nil || string(b) != "second" {
			t.Fatalf("get: %q, %v", b, err)
		}
		if _, err := obj.GetInfo(ctx, "comp"); err != nil {
			t.Fatalf("info: %v", err)
		}
		if err := obj.Delete(ctx, "comp"); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	short, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	for _, bucket := range []string{"airssys_other_state", "mine"} {
		if _, err := js.CreateKeyValue(short, jetstream.KeyValueConfig{Bucket: bucket}); err == nil {
			t.Fatalf("bucket %s created: another lattice's, or no lattice's", bucket)
		}
	}
	if _, err := js.CreateStream(short, jetstream.StreamConfig{Name: "anything", Subjects: []string{"x.>"}}); err == nil {
		t.Fatal("a stream of no lattice created")
	}
}

// TestCheckSender: every message and publish from another host passes
// Config.CheckSender with the host its subject names; a refusal is
// counted, answered to a request or acknowledged send (denied) and
// reported to a fire-and-forget sender, and the actor never sees it.
func TestCheckSender(t *testing.T) {
	srv := startServer(t)
	type call struct {
		host   string
		sender actor.ID
	}
	var mu sync.Mutex
	var calls []call
	check := func(host string, sender actor.ID) error {
		mu.Lock()
		calls = append(calls, call{host, sender})
		mu.Unlock()
		if host == "d" {
			return nil
		}
		return fmt.Errorf("host %s: no", host)
	}
	b := newHostWith(t, srv, Config{Host: "b", CheckSender: check})
	a := newHost(t, srv, "a", FireAndForget)
	c := newHost(t, srv, "c", Acknowledged)
	d := newHost(t, srv, "d", FireAndForget)
	joined(t, a, b, c, d)
	b.deploy(t, "b/echo/1", "actor2_echotext", nil)
	b.deploy(t, "b/news/1", "actor2_counter", nil, "news.>")
	ctx := context.Background()
	if got := d.ask(t, "b/echo/1", "from d"); got != "from d" {
		t.Fatalf("d's request: %q", got)
	}
	if _, err := a.sys.Request(ctx, "b/echo/1", []byte("from a"), "text/plain"); !errors.Is(err, actor.ErrDenied) {
		t.Fatalf("a's request: %v, want denied", err)
	}
	if err := c.sys.Send(ctx, "b/echo/1", []byte("from c"), "text/plain"); !errors.Is(err, actor.ErrDenied) {
		t.Fatalf("c's acknowledged send: %v, want denied", err)
	}
	if err := a.sys.Send(ctx, "b/echo/1", []byte("from a"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a's send reported lost", func() bool { return a.node.Stats().LostRefused == 1 })
	if err := a.sys.Publish(ctx, "news.x", []byte("from a"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "four refusals counted", func() bool { return b.node.Stats().SenderRefused == 4 })
	if st := b.node.Stats(); st.RefusedIn != 4 {
		t.Fatalf("b's node: %+v", st)
	}
	if st, _ := b.sys.Stats("b/echo/1"); st.Handled != 1 {
		t.Fatalf("b's echo handled %d messages, want d's only", st.Handled)
	}
	if st, _ := b.sys.Stats("b/news/1"); st.Handled != 0 {
		t.Fatalf("b's subscriber handled %d publishes, want none", st.Handled)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 5 || calls[0] != (call{"d", "host/go"}) || calls[1].host != "a" {
		t.Fatalf("CheckSender calls %v", calls)
	}
}

// TestForeignHeartbeat: a heartbeat whose payload names another host than
// its subject is ignored and counted (a host may publish only its own
// heartbeat subject, so the payload could lie).
func TestForeignHeartbeat(t *testing.T) {
	srv := startServer(t)
	b := newHost(t, srv, "b", FireAndForget)
	a, err := srv.Connect("a", testOpts(t, "a")...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, name := range []string{"c", "ghost"} {
		if err := a.Publish("airssys.test.hosts.a", fmt.Appendf(nil, `{"host":%q,"started":1,"every_ms":250}`, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Publish("airssys.test.hosts.a", []byte(`{"host":"a","started":1,"every_ms":250}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a's own heartbeat heard", func() bool { return len(b.node.Hosts()) == 2 })
	if hs := b.node.Hosts(); hs[1].Name != "a" {
		t.Fatalf("hosts %+v", hs)
	}
	if st := b.node.Stats(); st.ForeignBeats != 2 {
		t.Fatalf("foreign heartbeats %d, want 2", st.ForeignBeats)
	}
}

// logLines keeps a server's log lines (to see a route refused).
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(format string, v ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
	l.mu.Unlock()
}
func (l *logLines) Noticef(format string, v ...any) { l.add(format, v...) }
func (l *logLines) Warnf(format string, v ...any)   { l.add(format, v...) }
func (l *logLines) Fatalf(format string, v ...any)  { l.add(format, v...) }
func (l *logLines) Errorf(format string, v ...any)  { l.add(format, v...) }
func (l *logLines) Debugf(format string, v ...any)  { l.add(format, v...) }
func (l *logLines) Tracef(format string, v ...any)  { l.add(format, v...) }

func (l *logLines) has(re *regexp.Regexp) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

var _ server.Logger = (*logLines)(nil)

// TestRouteAuthentication: a server with another secret cannot join the
// cluster (its route is refused: an authentication error where it
// arrives), one with the secret can.
func TestRouteAuthentication(t *testing.T) {
	ports := freePorts(t, 3)
	base := ServerConfig{Lattice: "test", Hosts: testKeys(t), ReadyTimeout: 5 * time.Second}
	c0 := base
	c0.Name, c0.Cluster = "s0", ClusterConfig{Name: "c", Listen: loopback(ports[0]), Secret: testSecret}
	s0 := startEmbedded(t, c0)
	t.Cleanup(s0.Shutdown)
	var logs logLines
	s0.s.SetLoggerV2(&logs, true, false, false)

	bad := base
	bad.Name, bad.Cluster = "intruder", ClusterConfig{Name: "c", Listen: loopback(ports[1]), Secret: "another-secret-of-16-bytes",
		Routes: []string{loopback(ports[0])}}
	intruder := startEmbedded(t, bad)
	t.Cleanup(intruder.Shutdown)
	waitFor(t, 10*time.Second, "the intruder's route refused", func() bool {
		return logs.has(regexp.MustCompile(`(?i)authentication error|authorization violation`))
	})
	good := base
	good.Name, good.Cluster = "s1", ClusterConfig{Name: "c", Listen: loopback(ports[2]), Secret: testSecret,
		Routes: []string{loopback(ports[0])}}
	s1 := startEmbedded(t, good)
	t.Cleanup(s1.Shutdown)
	waitFor(t, 10*time.Second, "s1 routing to s0", func() bool { return peers(s0) == 1 && peers(s1) == 1 })
	if peers(intruder) != 0 || peers(s0) != 1 {
		t.Fatalf("the intruder routes to %d servers, s0 to %d", peers(intruder), peers(s0))
	}
}

// testCA writes a CA and a certificate it signs for 127.0.0.1 (client and
// server use), and a certificate of another CA; it returns the files.
func testCA(t *testing.T) (good TLSFiles, stranger TLSFiles) {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, block *pem.Block) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
			KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		return cert, key, write(name+".pem", &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	leaf := func(name string, caCert *x509.Certificate, caKey *ecdsa.PrivateKey) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		return write(name+".pem", &pem.Block{Type: "CERTIFICATE", Bytes: der}), write(name+"-key.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	caCert, caKey, caFile := ca("ca")
	cert, key := leaf("host", caCert, caKey)
	otherCert, otherKey, otherFile := ca("other-ca")
	scert, skey := leaf("stranger", otherCert, otherKey)
	return TLSFiles{Cert: cert, Key: key, CA: caFile}, TLSFiles{Cert: scert, Key: skey, CA: otherFile}
}

// TestServerTLS: with TLS, a host connects over TCP with a certificate of
// the CA and its key; a client with another CA's certificate, or without
// TLS, is refused. The in-process connection needs no TLS.
func TestServerTLS(t *testing.T) {
	good, stranger := testCA(t)
	srv, err := StartServer(context.Background(), ServerConfig{Listen: "127.0.0.1:0", Lattice: "test", Hosts: testKeys(t), TLS: &good})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := srv.ClientURL()
	// dial connects trusting the server's CA, presenting the certificate of
	// files (none when empty), or without TLS when plain.
	dial := func(files TLSFiles, plain bool) (*nats.Conn, error) {
		opts := append(testOpts(t, "a"), nats.Timeout(2*time.Second), nats.NoReconnect())
		if !plain {
			tc, err := good.Config()
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = nil
			if files.Cert != "" {
				cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
				if err != nil {
					t.Fatal(err)
				}
				tc.Certificates = []tls.Certificate{cert}
			}
			opts = append(opts, nats.Secure(tc))
		}
		return nats.Connect(url, opts...)
	}
	nc, err := dial(good, false)
	if err != nil {
		t.Fatalf("a host with the CA's certificate: %v", err)
	}
	if !nc.TLSRequired() {
		t.Fatal("not TLS")
	}
	nc.Close()
	if nc, err := dial(stranger, false); err == nil {
		nc.Close()
		t.Fatal("a certificate of another CA taken")
	}
	if nc, err := dial(TLSFiles{}, false); err == nil {
		nc.Close()
		t.Fatal("a client without a certificate taken")
	}
	if nc, err := dial(TLSFiles{}, true); err == nil {
		nc.Close()
		t.Fatal("a connection without TLS taken")
	}
	if nc, err := srv.Connect("a", testOpts(t, "a")...); err != nil {
		t.Fatalf("in-process: %v", err)
	} else {
		nc.Close()
	}
}

// TestAuthorizationConfigInDocs: docs/lattice.md's example of an external
// server's authorization block is what AuthorizationConfig writes.
func TestAuthorizationConfigInDocs(t *testing.T) {
	b, err := os.ReadFile("../docs/lattice.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const begin, end = "<!-- authorization: begin -->\n```\n", "```\n<!-- authorization: end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatal("docs/lattice.md has no generated authorization block")
	}
	want, err := AuthorizationConfig("prod", docHosts)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc[i+len(begin) : j]; got != want {
		t.Fatalf("docs/lattice.md's block differs from AuthorizationConfig's; write this:\n%s", want)
	}
}

// docHosts are the hosts of docs/lattice.md's example.
var docHosts = []HostKey{
	{Host: "h1", PublicKey: "UA4XMDRWEFULKIWNKK6E7YI4A5B4P3SHOQGUFXBU77LBO22KPSG2TGCC"},
}

// TestHostPermissionsArgs: HostPermissions refuses a bad lattice or host
// name, and each host's subjects name it.
func TestHostPermissionsArgs(t *testing.T) {
	if _, err := HostPermissions("Bad", "h"); err == nil {
		t.Fatal("a bad lattice name")
	}
	if _, err := HostPermissions("t", "a.b"); err == nil {
		t.Fatal("a bad host name")
	}
	p, err := HostPermissions("t", "h1")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Publish {
		if s == "airssys.t.admin.actors.*" || s == "airssys.t.lost.>" { // a read of another host's actors; loss reports
			continue
		}
		if s == ">" || strings.HasPrefix(s, "airssys.t.") && !strings.Contains(s, ".h1") {
			t.Fatalf("publish %q: not under h1's name", s)
		}
	}
}

// TestRouteTLS: with TLS, a server whose certificate another CA signed
// cannot join the cluster even with the secret; one with the CA's can.
func TestRouteTLS(t *testing.T) {
	good, stranger := testCA(t)
	ports := freePorts(t, 3)
	cfg := func(name string, port int, files TLSFiles, routes ...string) ServerConfig {
		return ServerConfig{Name: name, Lattice: "test", Hosts: testKeys(t), ReadyTimeout: 5 * time.Second, TLS: &files,
			Cluster: ClusterConfig{Name: "c", Listen: loopback(port), Secret: testSecret, Routes: routes}}
	}
	s0 := startEmbedded(t, cfg("s0", ports[0], good))
	t.Cleanup(s0.Shutdown)
	var logs logLines
	s0.s.SetLoggerV2(&logs, true, false, false)
	intruder := startEmbedded(t, cfg("intruder", ports[1], stranger, loopback(ports[0])))
	t.Cleanup(intruder.Shutdown)
	waitFor(t, 10*time.Second, "the intruder's route refused", func() bool {
		return logs.has(regexp.MustCompile(`(?i)tls.*(handshake|certificate)|certificate.*(unknown|bad)`))
	})
	s1 := startEmbedded(t, cfg("s1", ports[2], good, loopback(ports[0])))
	t.Cleanup(s1.Shutdown)
	waitFor(t, 10*time.Second, "s1 routing to s0", func() bool { return peers(s0) == 1 && peers(s1) == 1 })
	if peers(intruder) != 0 {
		t.Fatalf("the intruder routes to %d servers", peers(intruder))
	}
}

// TestHostDesiredState: the desired state (host/state.JetStream: its
// bucket, signed entries, a watch) works for a host under its
// permissions: what one host writes, another reads and sees change.
func TestHostDesiredState(t *testing.T) {
	srv := authServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ka := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	kb := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	connect := func(name string, signer ed25519.PrivateKey, trusted ed25519.PublicKey) *state.JetStream {
		nc, err := srv.Connect(name, testOpts(t, name)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := state.OpenJetStream(ctx, nc, state.JetStreamOptions{Lattice: "test", Signer: signer,
			Trusted: []ed25519.PublicKey{trusted}})
		if err != nil {
			t.Fatalf("%s: open the desired state: %v", name, err)
		}
		t.Cleanup(func() { js.Close() })
		return js
	}
	a := connect("a", ka, kb.Public().(ed25519.PublicKey))
	b := connect("b", kb, ka.Public().(ed25519.PublicKey))
	changes, err := b.Watch(ctx)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	app := state.App{Name: "demo", Digest: "sha256:1", Source: []byte("name = \"demo\"\n"), Deployed: time.Now()}
	if err := a.Put(ctx, app); err != nil {
		t.Fatalf("put: %v", err)
	}
	select {
	case <-changes:
	case <-ctx.Done():
		t.Fatal("b never saw a's put")
	}
	if got, err := b.Get(ctx, "demo"); err != nil || got.Digest != app.Digest {
		t.Fatalf("b reads %+v, %v", got, err)
	}
	if apps, err := b.List(ctx); err != nil || len(apps) != 1 {
		t.Fatalf("b lists %d apps, %v", len(apps), err)
	}
}
