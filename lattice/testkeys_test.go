package lattice

import (
	"crypto/sha256"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Test hosts have keys derived from their names (the same in every test
// process: a host process of TestClusterProcesses needs no key passed).

// testHostNames are the hosts the test servers admit.
var testHostNames = []string{"a", "b", "c", "d", "raw", "h0", "h1", "h2", "n0", "n1", "n2",
	"p0", "p1", "p2", "e0", "e1", "e2", "tester"}

// testSecret is the test clusters' route secret.
const testSecret = "lattice-test-route-secret"

// testSeed is host name's nkey user seed.
func testSeed(t testing.TB, name string) []byte {
	t.Helper()
	raw := sha256.Sum256([]byte("airssys lattice test host " + name))
	seed, err := nkeys.EncodeSeed(nkeys.PrefixByteUser, raw[:])
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// testPub is host name's public key.
func testPub(t testing.TB, name string) string {
	t.Helper()
	kp, err := nkeys.FromSeed(testSeed(t, name))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// testKeys are the hosts named (default: testHostNames) with their keys.
func testKeys(t testing.TB, names ...string) []HostKey {
	t.Helper()
	if len(names) == 0 {
		names = testHostNames
	}
	out := make([]HostKey, len(names))
	for i, n := range names {
		out[i] = HostKey{Host: n, PublicKey: testPub(t, n)}
	}
	return out
}

// testOpts are the connection options of host name of lattice "test": its
// key and inbox prefix.
func testOpts(t testing.TB, name string) []nats.Option {
	t.Helper()
	opts, err := HostOptions("test", name, testSeed(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return opts
}
