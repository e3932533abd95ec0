package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

// freePort is a loopback address nothing listens on (just now).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// clusterSecret writes a route secret for a test lattice's hosts (the
// same file for all of them) and returns its lattice.cluster-secret-file
// line.
func clusterSecret(t testing.TB) string {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "cluster.secret")
	if err := os.WriteFile(secret, []byte("a secret of the test lattice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("cluster-secret-file = %q\n", secret)
}

// latticePair configures f1 and f2 as hosts h1 and h2 of lattice "t":
// embedded servers clustered on loopback with a route secret, each host's
// key made in its data directory and listed in the other's peers.
func latticePair(t *testing.T, f1, f2 *fixture) {
	t.Helper()
	p1, p2 := freePort(t), freePort(t)
	secret := clusterSecret(t)
	pub := func(f *fixture) string {
		k, err := loadLatticeKey(filepath.Join(f.dir, "lattice.key"))
		if err != nil {
			t.Fatal(err)
		}
		return k.pub
	}
	k1, k2 := pub(f1), pub(f2)
	lattice := func(name, listen, route, peer, peerKey string) string {
		return fmt.Sprintf("[lattice]\nname = \"t\"\nhost = %q\ncluster-name = \"t\"\ncluster-listen = %q\nroutes = [%q]\n"+
			"%s[lattice.peers]\n%s = %q\n", name, listen, route, secret, peer, peerKey)
	}
	f1.cfg, f2.cfg = f1.config(t, lattice("h1", p1, p2, "h2", k2)), f2.config(t, lattice("h2", p2, p1, "h1", k1))
}

// TestTwoHostsOneLattice: two services whose embedded NATS servers are
// clustered on loopback see each other (status lists both, with their
// actors), and an actor deployed on one answers a request made on the
// other; a host that stops is gone from the other's list.
func TestTwoHostsOneLattice(t *testing.T) {
	f1, f2 := newFixture(t), newFixture(t)
	latticePair(t, f1, f2)
	o := Options{}
	if os.Getenv("AIRSSYS_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s1, s2 := f1.open(t, o), f2.open(t, o)
	f2.install(t, s2, "actor2_echotext", "echo", "1.0.0")
	deploy(t, s2, echoAppFile("1.0.0", 1, ""))

	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := s1.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if l := st.Lattice; l != nil && len(l.Hosts) == 2 && l.Hosts[1].Name == "h2" && l.Hosts[1].Actors == 1 {
			if !l.Hosts[0].Self || l.Hosts[0].Name != "h1" || l.Name != "t" || l.Mode != "fire-and-forget" {
				t.Fatalf("lattice %+v", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("h1 never saw h2 with its actor: %+v", st.Lattice)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m, err := s1.System().Request(ctx, "demo/echo/1", []byte("from h1"), "text/plain")
	if err != nil || string(m.Payload) != "from h1" {
		t.Fatalf("request across hosts: %q, %v", m.Payload, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s2.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for {
		st, _ := s1.Status(ctx)
		if len(st.Lattice.Hosts) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("h2 still listed after its shutdown: %+v", st.Lattice)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twoHosts opens two services of one lattice (embedded servers clustered
// on loopback), each with the same echo component installed.
func twoHosts(t *testing.T) (*Service, *Service, *fixture, *fixture) {
	t.Helper()
	f1, f2 := newFixture(t), newFixture(t)
	latticePair(t, f1, f2)
	s1, s2 := f1.open(t, Options{}), f2.open(t, Options{})
	f1.install(t, s1, "actor2_echotext", "echo", "1.0.0")
	f2.install(t, s2, "actor2_echotext", "echo", "1.0.0")
	return s1, s2, f1, f2
}

// runningHere are the ids of app demo this service runs.
func runningHere(s *Service) map[string]bool {
	out := map[string]bool{}
	for _, id := range s.System().Actors() {
		out[string(id)] = true
	}
	return out
}

// TestPlacementAndFailover: the same app deployed on two hosts runs each
// actor once, on one host or the other (placement over the hosts that have
// that version); every actor answers from either host; when a host dies
// without a word (its NATS server gone), the other runs all of them.
func TestPlacementAndFailover(t *testing.T) {
	s1, s2, _, _ := twoHosts(t)
	app := echoAppFile("1.0.0", 8, "")
	deploy(t, s1, app)
	deploy(t, s2, app)
	ctx := context.Background()
	want := []string{"demo/echo/1", "demo/echo/2", "demo/echo/3", "demo/echo/4", "demo/echo/5", "demo/echo/6",
		"demo/echo/7", "demo/echo/8"}
	split := func() (map[string]bool, map[string]bool, bool) {
		r1, r2 := runningHere(s1), runningHere(s2)
		for _, id := range want {
			if r1[id] == r2[id] { // on both, or on neither
				return r1, r2, false
			}
		}
		return r1, r2, len(r1) > 0 && len(r2) > 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r1, r2, ok := split()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never split: h1 %v, h2 %v", r1, r2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, id := range want {
		for _, s := range []*Service{s1, s2} {
			m, err := s.System().Request(ctx, actor.ID(id), []byte(id), "text/plain")
			if err != nil || string(m.Payload) != id {
				t.Fatalf("%s from a host: %q, %v", id, m.Payload, err)
			}
		}
	}
	// h2 dies as far as h1 can tell: its NATS server goes, with no
	// stopping word (h2 itself goes on, alone: a partition).
	died := time.Now()
	s2.lat.srv.Shutdown()
	for len(runningHere(s1)) != len(want) {
		if time.Since(died) > 10*time.Second {
			t.Fatalf("h1 runs %v after h2 died", runningHere(s1))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The time is measured by bench's BenchmarkLatticeFailoverDetection,
	// not asserted here.
	t.Logf("failover in %v", time.Since(died))
	for _, id := range want {
		if m, err := s1.System().Request(ctx, actor.ID(id), []byte("after"), "text/plain"); err != nil || string(m.Payload) != "after" {
			t.Fatalf("%s after the failover: %q, %v", id, m.Payload, err)
		}
	}
}

// TestExternalServers: a host with lattice.servers connects to them (no
// embedded server) as itself: its key file's nkey, its inbox; a server
// that does not list its key refuses it, and the host does not start.
func TestExternalServers(t *testing.T) {
	f := newFixture(t)
	k, err := loadLatticeKey(filepath.Join(f.dir, "lattice.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lattice.StartServer(context.Background(), lattice.ServerConfig{Listen: "127.0.0.1:0", Lattice: "t",
		Hosts: []lattice.HostKey{{Host: "h1", PublicKey: k.pub}}, JetStreamDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	f.cfg = f.config(t, fmt.Sprintf("[lattice]\nname = \"t\"\nhost = \"h1\"\nservers = [%q]\n", srv.ClientURL()))
	s := f.open(t, Options{})
	if s.lat.srv != nil || s.lat.nc.ConnectedUrl() != srv.ClientURL() {
		t.Fatalf("embedded %v, connected to %q", s.lat.srv != nil, s.lat.nc.ConnectedUrl())
	}
	if st, err := s.Status(context.Background()); err != nil || st.Lattice == nil || st.Lattice.Hosts[0].Name != "h1" {
		t.Fatalf("status %+v, %v", st, err)
	}
	// A host whose key the servers do not list is refused outright.
	other := newFixture(t)
	other.cfg = other.config(t, fmt.Sprintf("[lattice]\nname = \"t\"\nhost = \"h2\"\nservers = [%q]\n", srv.ClientURL()))
	if _, err := Open(context.Background(), other.cfg, Options{Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a host with a key the servers do not list: %v", err)
	}
}

// TestExternalServersTLS: lattice.servers with TLS: the host verifies the
// server with lattice.tls-ca and presents lattice.tls-cert (the server
// requires a certificate of the CA).
func TestExternalServersTLS(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, block *pem.Block) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "h1"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	files := lattice.TLSFiles{CA: write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert: write("h1.pem", &pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  write("h1-key.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})}

	f := newFixture(t)
	k, err := loadLatticeKey(filepath.Join(f.dir, "lattice.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lattice.StartServer(context.Background(), lattice.ServerConfig{Listen: "127.0.0.1:0", Lattice: "t",
		Hosts: []lattice.HostKey{{Host: "h1", PublicKey: k.pub}}, JetStreamDir: t.TempDir(), TLS: &files})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := strings.Replace(srv.ClientURL(), "nats://", "tls://", 1)
	conf := func(cert bool) *config.Host {
		toml := fmt.Sprintf("[lattice]\nname = \"t\"\nhost = \"h1\"\nservers = [%q]\ntls-ca = %q\n", url, files.CA)
		if cert {
			toml += fmt.Sprintf("tls-cert = %q\ntls-key = %q\n", files.Cert, files.Key)
		}
		return f.config(t, toml)
	}
	// Without a client certificate: refused by the server.
	if _, err := Open(context.Background(), conf(false), Options{Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("a host without a client certificate connected")
	}
	f.cfg = conf(true)
	s := f.open(t, Options{})
	if !s.lat.nc.TLSRequired() || s.lat.nc.ConnectedUrl() == "" {
		t.Fatalf("connected to %q, TLS %v", s.lat.nc.ConnectedUrl(), s.lat.nc.TLSRequired())
	}
}
