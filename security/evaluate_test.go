package security

// Regression tests of policy evaluation (issue #7): the deny list alone,
// the deny list against a grant of an ancestor, tree grants and the
// ceilings.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tree makes a resolved temporary directory with the given subdirectories.
func tree(t *testing.T, subdirs ...string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range subdirs {
		if err := os.MkdirAll(filepath.Join(real, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return real
}

// fsManifest asks for one directory, read-only.
func fsManifest(t *testing.T, host string) *Manifest {
	t.Helper()
	m, err := ParseManifest("Component.toml", []byte("[component]\nname = \"x\"\nversion = \"1.0.0\"\n"+
		"[resources]\nmemory = 1\n[[capabilities.filesystem]]\nhost = \""+host+"\"\nguest = \"/d\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustPolicy(t *testing.T, text string) *Policy {
	t.Helper()
	p, err := ParsePolicy("policy.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The deny list is the only reason for the refusal: the grant covers the
// path. Without the deny list, the component would be admitted.
func TestDenyListRefusesWhatTheGrantCovers(t *testing.T) {
	root := tree(t, "secret/inner", "public")
	p := mustPolicy(t, `[deny]
paths = ["`+root+`/secret"]
[trust.unknown]
filesystem = [{ host = "`+root+`/**" }]
`)
	if _, err := p.Evaluate(fsManifest(t, root+"/public"), nil); err != nil {
		t.Fatalf("a granted path outside the deny list was refused: %v", err)
	}
	for _, host := range []string{root + "/secret", root + "/secret/inner"} {
		_, err := p.Evaluate(fsManifest(t, host), nil)
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "always denied") {
			t.Errorf("%s (granted by %s/**, denied by the deny list): %v", host, root, err)
		}
	}
}

// Item 11: a grant of an ancestor of a denied path would show the denied
// path to the guest.
func TestDenyListRefusesAnAncestorOfADeniedPath(t *testing.T) {
	root := tree(t, "srv/secret", "srv/public", "srvsecret")
	p := mustPolicy(t, `[deny]
paths = ["`+root+`/srv/secret"]
[trust.unknown]
filesystem = [{ host = "`+root+`/**" }]
`)
	for _, host := range []string{root + "/srv", root} {
		_, err := p.Evaluate(fsManifest(t, host), nil)
		var de *DeniedError
		if !errors.As(err, &de) {
			t.Errorf("%s contains %s/srv/secret but was admitted: %v", host, root, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "filesystem "+host+": contains "+root+"/srv/secret, which is always denied") {
			t.Errorf("the refusal does not name both paths: %v", err)
		}
	}
	// Siblings and a name that only starts like the denied path stay granted.
	for _, host := range []string{root + "/srv/public", root + "/srvsecret"} {
		if _, err := p.Evaluate(fsManifest(t, host), nil); err != nil {
			t.Errorf("%s does not contain the denied path but was refused: %v", host, err)
		}
	}
}

// A grant of /srv/data/** covers /srv/data and what is below it, not
// /srv/database.
func TestTreeGrantNeedsASeparator(t *testing.T) {
	root := tree(t, "data/inner", "database")
	p := mustPolicy(t, "[trust.unknown]\nfilesystem = [{ host = \""+root+"/data/**\" }]\n")
	for _, host := range []string{root + "/data", root + "/data/inner"} {
		if _, err := p.Evaluate(fsManifest(t, host), nil); err != nil {
			t.Errorf("%s: refused: %v", host, err)
		}
	}
	if _, err := p.Evaluate(fsManifest(t, root+"/database"), nil); !errors.Is(err, ErrDenied) {
		t.Errorf("%s/data/** admitted %s/database: %v", root, root, err)
	}
	// The same rule for the deny list: denying data does not deny database.
	p = mustPolicy(t, "[deny]\npaths = [\""+root+"/data\"]\n[trust.unknown]\nfilesystem = [{ host = \""+root+"/**\" }]\n")
	if _, err := p.Evaluate(fsManifest(t, root+"/database"), nil); err != nil {
		t.Errorf("denying %s/data refused %s/database: %v", root, root, err)
	}
}

func resManifest(t *testing.T, resources string) *Manifest {
	t.Helper()
	m, err := ParseManifest("Component.toml", []byte("[component]\nname = \"x\"\nversion = \"1.0.0\"\n[resources]\n"+
		resources))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Each ceiling admits exactly its value and refuses one unit more.
func TestCeilingsAdmitTheCeilingAndRefuseOneMore(t *testing.T) {
	p := mustPolicy(t, `[ceilings]
memory = 1048576
fuel-per-message = 5000
timeout-per-message = "250ms"
mailbox = 64
max-message = 4096
`)
	at := "memory = 1048576\nfuel-per-message = 5000\ntimeout-per-message = \"250ms\"\nmailbox = 64\nmax-message = 4096\n"
	g, err := p.Evaluate(resManifest(t, at), nil)
	if err != nil {
		t.Fatalf("a manifest at every ceiling was refused: %v", err)
	}
	want := Resources{MemoryBytes: 1 << 20, FuelPerMessage: 5000, TimeoutPerMsg: 250 * time.Millisecond,
		Mailbox: 64, MaxMessageBytes: 4096}
	if g.Resources != want {
		t.Errorf("granted %+v, want %+v", g.Resources, want)
	}
	for _, c := range []struct{ over, key string }{
		{"memory = 1048577\n", "resources.memory 1048577 bytes: above the ceiling of 1048576"},
		{"memory = 1\nfuel-per-message = 5001\n", "resources.fuel-per-message 5001: above the ceiling of 5000"},
		{"memory = 1\ntimeout-per-message = \"251ms\"\n", "resources.timeout-per-message 251ms: above the ceiling of 250ms"},
		{"memory = 1\nmailbox = 65\n", "resources.mailbox 65: above the ceiling of 64"},
		{"memory = 4097\nmax-message = 4097\n", "resources.max-message 4097 bytes: above the ceiling of 4096"},
	} {
		_, err := p.Evaluate(resManifest(t, c.over), nil)
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%q: %v, want a refusal naming %q", c.over, err, c.key)
		}
	}
}

// What the manifest leaves unset gets the ceiling, not "unlimited" (or the
// runtime's default, which may be above the ceiling).
func TestCeilingsBoundWhatTheManifestLeftUnset(t *testing.T) {
	p := mustPolicy(t, "[ceilings]\nfuel-per-message = 5000\ntimeout-per-message = \"250ms\"\nmailbox = 64\nmax-message = 4096\n")
	g, err := p.Evaluate(resManifest(t, "memory = 65536\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Resources{MemoryBytes: 65536, FuelPerMessage: 5000, TimeoutPerMsg: 250 * time.Millisecond,
		Mailbox: 64, MaxMessageBytes: 4096}
	if g.Resources != want {
		t.Errorf("granted %+v, want %+v", g.Resources, want)
	}
	// Values below the ceiling are kept; no ceiling leaves unset values unset.
	g, err = p.Evaluate(resManifest(t, "memory = 65536\nfuel-per-message = 7\nmailbox = 3\n"), nil)
	if err != nil || g.Resources.FuelPerMessage != 7 || g.Resources.Mailbox != 3 {
		t.Errorf("granted %+v, %v", g, err)
	}
	g, err = (&Policy{}).Evaluate(resManifest(t, "memory = 65536\n"), nil)
	if err != nil || g.Resources != (Resources{MemoryBytes: 65536}) {
		t.Errorf("no ceilings: granted %+v, %v", g, err)
	}
}
