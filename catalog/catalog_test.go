package catalog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/security"
)

var ctx = context.Background()

// open opens a catalog in dir, closed at the end of the test.
func open(t testing.TB, dir string, o Options) *Catalog {
	t.Helper()
	c, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustPolicy(t testing.TB, text string) *security.Policy {
	t.Helper()
	p, err := security.ParsePolicy("policy.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// open admits signed components by any key and unsigned ones (trust
// unknown) with no capabilities.
func openPolicy(t testing.TB) *security.Policy {
	return mustPolicy(t, "[policy]\nrequire-signatures = false\n")
}

func manifest(name, version string) []byte {
	return []byte(fmt.Sprintf("[component]\nname = %q\nversion = %q\n\n[resources]\nmemory = \"1MiB\"\n", name, version))
}

func key(t testing.TB) security.PrivateKey {
	t.Helper()
	_, priv, err := security.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// comp is a component to install: bytes (not wasm: nothing here compiles
// them), manifest and signature (nil: unsigned).
type comp struct {
	wasm, manifest []byte
	sig            *security.Signature
}

func signed(priv security.PrivateKey, name, version string, wasm []byte) comp {
	m := manifest(name, version)
	s := security.Sign(priv, wasm, m)
	return comp{wasm, m, &s}
}

func unsigned(name, version string, wasm []byte) comp {
	return comp{wasm, manifest(name, version), nil}
}

func (x comp) install(c *Catalog, p *security.Policy) (*Version, error) {
	return c.Install(ctx, x.wasm, x.manifest, x.sig, p)
}

func mustInstall(t testing.TB, c *Catalog, p *security.Policy, x comp) *Version {
	t.Helper()
	v, err := x.install(c, p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// blobs lists the files under blobs/sha256.
func blobs(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, blobDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func blobFile(dir, d string) string {
	return filepath.Join(dir, blobDir, strings.TrimPrefix(d, "sha256:"))
}

func TestInstallGetLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	c := open(t, dir, Options{Now: clk.now})
	p := openPolicy(t)
	priv := key(t)
	x := signed(priv, "billing", "1.2.0", randomBytes(5000))
	v := mustInstall(t, c, p, x)
	want := Version{Name: "billing", Version: "1.2.0", Digest: digest(x.wasm), ManifestDigest: digest(x.manifest),
		SignatureDigest: digest(x.sig.Marshal()), Publisher: priv.Public().String(), Installed: clk.now(),
		Size: 5000}
	if *v != want {
		t.Fatalf("Install returned\n%+v\nwant\n%+v", *v, want)
	}
	check := func(c *Catalog) {
		t.Helper()
		g, err := c.Get("billing", "1.2.0")
		if err != nil {
			t.Fatal(err)
		}
		if g.Name != want.Name || g.Digest != want.Digest || !g.Installed.Equal(want.Installed) ||
			g.Publisher != want.Publisher || g.Size != want.Size || g.SignatureDigest != want.SignatureDigest {
			t.Fatalf("Get = %+v, want %+v", *g, want)
		}
		l, err := c.Load(g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.Component, x.wasm) || !bytes.Equal(l.Manifest, x.manifest) || l.Signature == nil ||
			!bytes.Equal(l.Signature.Marshal(), x.sig.Marshal()) {
			t.Fatal("Load returned other bytes")
		}
		if _, err := l.Signature.Verify(l.Component, l.Manifest); err != nil {
			t.Fatal(err)
		}
		l2, adm, err := c.Admit(g, p)
		if err != nil {
			t.Fatal(err)
		}
		if adm.Grants.Publisher != want.Publisher || adm.Grants.Component != "billing" ||
			!bytes.Equal(l2.Component, x.wasm) {
			t.Fatalf("Admit: grants %s/%s", adm.Grants.Publisher, adm.Grants.Component)
		}
		if l, err := c.Latest("billing"); err != nil || l.Version != "1.2.0" {
			t.Fatalf("Latest = %v, %v", l, err)
		}
		all, _ := c.List()
		vs, _ := c.Versions("billing")
		if len(all) != 1 || len(vs) != 1 || all[0].Digest != want.Digest {
			t.Fatalf("List = %v, Versions = %v", all, vs)
		}
		if _, err := c.Get("billing", "1.2.1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a version not installed: %v", err)
		}
		if _, err := c.Get("other", "1.2.0"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a name not installed: %v", err)
		}
	}
	check(c)
	// A Version is a copy.
	v.Digest = "sha256:" + strings.Repeat("0", 64)
	if g, _ := c.Get("billing", "1.2.0"); g.Digest != want.Digest {
		t.Fatal("changing a returned Version changed the catalog")
	}
	if _, err := c.Load(v); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of a Version with another digest: %v, want ErrNotFound", err)
	}
	c.Close()
	check(open(t, dir, Options{}))
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cat")
	c := open(t, dir, Options{})
	mustInstall(t, c, openPolicy(t), signed(key(t), "billing", "1.0.0", []byte("x")))
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
}

func TestReinstallSameBytesIsANoOp(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	c := open(t, dir, Options{Now: clk.now})
	p := openPolicy(t)
	priv := key(t)
	for _, x := range []comp{signed(priv, "billing", "1.0.0", []byte("abc")), unsigned("dev-tool", "0.1.0", []byte("d"))} {
		v1 := mustInstall(t, c, p, x)
		index1, _ := os.ReadFile(filepath.Join(dir, indexFile))
		clk.advance(time.Hour)
		v2 := mustInstall(t, c, p, x)
		index2, _ := os.ReadFile(filepath.Join(dir, indexFile))
		if *v1 != *v2 {
			t.Fatalf("reinstall returned %+v, first install %+v", *v2, *v1)
		}
		if !bytes.Equal(index1, index2) {
			t.Fatal("reinstalling the same bytes rewrote the index")
		}
	}
	if all, _ := c.List(); len(all) != 2 {
		t.Fatalf("%d versions, want 2", len(all))
	}
}

func TestSameVersionOtherBytesIsRefused(t *testing.T) {
	c := open(t, t.TempDir(), Options{})
	p := openPolicy(t)
	priv := key(t)
	orig := signed(priv, "billing", "1.0.0+a", []byte("abc"))
	v := mustInstall(t, c, p, orig)
	otherManifest := orig
	otherManifest.manifest = append(bytes.Clone(orig.manifest), "# a comment\n"...)
	s := security.Sign(priv, otherManifest.wasm, otherManifest.manifest)
	otherManifest.sig = &s
	for name, x := range map[string]comp{
		"other component bytes": signed(priv, "billing", "1.0.0+a", []byte("abd")),
		"other manifest bytes":  otherManifest,
		"same precedence":       signed(priv, "billing", "1.0.0+b", []byte("abc")),
	} {
		if _, err := x.install(c, p); !errors.Is(err, ErrVersionExists) {
			t.Errorf("%s: %v, want ErrVersionExists", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	g, err := c.Get("billing", "1.0.0+a")
	if err != nil || *g != *v {
		t.Fatalf("after refusals: %+v, %v", g, err)
	}
	if vs, _ := c.Versions("billing"); len(vs) != 1 {
		t.Fatalf("%d versions, want 1", len(vs))
	}
}

func TestNameBelongsToItsFirstPublisher(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	p := openPolicy(t)
	alice, bob := key(t), key(t)
	mustInstall(t, c, p, signed(alice, "billing", "1.0.0", []byte("a1")))
	refused := func(c *Catalog, x comp, what string) {
		t.Helper()
		_, err := x.install(c, p)
		if !errors.Is(err, ErrNotOwner) {
			t.Fatalf("%s: %v, want ErrNotOwner", what, err)
		}
		t.Logf("%s: %v", what, err)
	}
	refused(c, signed(bob, "billing", "1.1.0", []byte("b1")), "another key")
	refused(c, unsigned("billing", "1.1.0", []byte("u1")), "unsigned")
	mustInstall(t, c, p, signed(alice, "billing", "1.1.0", []byte("a2")))

	// A name first installed unsigned stays in the dev space.
	mustInstall(t, c, p, unsigned("tool", "1.0.0", []byte("t")))
	refused(c, signed(alice, "tool", "1.1.0", []byte("t2")), "signed over unsigned")
	mustInstall(t, c, p, unsigned("tool", "1.1.0", []byte("t2")))

	// The claim outlives the versions and a reopen; Forget gives it up.
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if err := c.Uninstall("billing", v); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	c = open(t, dir, Options{})
	refused(c, signed(bob, "billing", "2.0.0", []byte("b2")), "another key, no version left")
	if err := c.Forget("tool"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Forget of a name with versions: %v, want ErrInUse", err)
	}
	if err := c.Forget("billing"); err != nil {
		t.Fatal(err)
	}
	v := mustInstall(t, c, p, signed(bob, "billing", "2.0.0", []byte("b2")))
	if v.Publisher != bob.Public().String() {
		t.Fatalf("publisher %s", v.Publisher)
	}
	names, _ := c.Names()
	if len(names) != 2 || names[0].Name != "billing" || names[0].Publisher != v.Publisher || names[1].Publisher != "" {
		t.Fatalf("Names = %+v", names)
	}
}

func TestAdmissionAtInstallAndAgain(t *testing.T) {
	c := open(t, t.TempDir(), Options{})
	pol := openPolicy(t)
	priv := key(t)
	// A signature over other bytes.
	x := signed(priv, "billing", "1.0.0", []byte("abc"))
	bad := x
	bad.wasm = []byte("abd")
	if _, err := bad.install(c, pol); !errors.Is(err, security.ErrSignature) {
		t.Fatalf("bad signature: %v, want security.ErrSignature", err)
	}
	strict := mustPolicy(t, "[policy]\nrequire-signatures = true\n")
	if _, err := unsigned("tool", "1.0.0", []byte("t")).install(c, strict); !errors.Is(err, security.ErrSignature) {
		t.Fatalf("unsigned under require-signatures: %v", err)
	}
	if _, err := c.Install(ctx, x.wasm, []byte("[component]\nname = \"x\"\n"), nil, pol); !errors.Is(err, security.ErrManifest) {
		t.Fatalf("bad manifest: %v", err)
	}
	if _, err := x.install(c, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no policy: %v", err)
	}
	if _, err := signed(priv, "billing", "1.0.0-a..b", []byte("z")).install(c, pol); !errors.Is(err, ErrInvalid) {
		t.Fatalf("not semver: %v", err)
	}
	if all, _ := c.List(); len(all) != 0 {
		t.Fatalf("refused installs left %d versions", len(all))
	}
	// Admitted once, the policy changes: Admit refuses it now.
	v := mustInstall(t, c, pol, x)
	trusted := mustPolicy(t, fmt.Sprintf("[policy]\nrequire-signatures = true\n[[publisher]]\nname = \"acme\"\nkey = %q\n",
		priv.Public().String()))
	if _, adm, err := c.Admit(v, trusted); err != nil || adm.Grants.Trust != security.Trusted {
		t.Fatalf("Admit under a policy trusting the key: %v", err)
	}
	other := mustPolicy(t, fmt.Sprintf("[policy]\nrequire-signatures = true\n[[publisher]]\nname = \"other\"\nkey = %q\n",
		key(t).Public().String()))
	if _, _, err := c.Admit(v, other); !errors.Is(err, security.ErrSignature) {
		t.Fatalf("Admit under a policy that no longer trusts the key: %v", err)
	}
}

func TestLargeComponentRefused(t *testing.T) {
	c := open(t, t.TempDir(), Options{MaxComponentBytes: 100})
	p := openPolicy(t)
	if _, err := unsigned("a", "1.0.0", make([]byte, 101)).install(c, p); !errors.Is(err, ErrInvalid) {
		t.Fatalf("101 bytes: %v", err)
	}
	mustInstall(t, c, p, unsigned("a", "1.0.0", make([]byte, 100)))
}

func TestTamperedFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	p := openPolicy(t)
	x := signed(key(t), "billing", "1.0.0", randomBytes(1000))
	v := mustInstall(t, c, p, x)
	files := map[string]string{"component": v.Digest, "manifest": v.ManifestDigest, "signature": v.SignatureDigest}
	tamper := map[string]func(path string) error{
		"one bit flipped": func(path string) error {
			b, _ := os.ReadFile(path)
			b[len(b)/2] ^= 1
			return os.WriteFile(path, b, 0o600)
		},
		"truncated": func(path string) error { return os.Truncate(path, 5) },
		"grown": func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			f.Write(make([]byte, 10<<10))
			return f.Close()
		},
		"removed": os.Remove,
		"replaced by a directory": func(path string) error {
			os.Remove(path)
			return os.Mkdir(path, 0o700)
		},
	}
	for what, d := range files {
		for how, f := range tamper {
			path := blobFile(dir, d)
			if err := f(path); err != nil {
				t.Fatal(err)
			}
			_, err := c.Load(v)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("%s %s: Load: %v, want ErrTampered", what, how, err)
			}
			if _, _, err := c.Admit(v, p); !errors.Is(err, ErrTampered) {
				t.Fatalf("%s %s: Admit: %v, want ErrTampered", what, how, err)
			}
			if how == "one bit flipped" {
				t.Logf("%s %s: %v", what, how, err)
			}
			// Installing the same bytes again repairs it.
			if _, err := x.install(c, p); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Load(v); err != nil {
				t.Fatalf("after reinstalling: %v", err)
			}
		}
	}
}

func TestTamperedIndex(t *testing.T) {
	p := openPolicy(t)
	alice, bob := key(t), key(t)
	setup := func() (string, *Version) {
		dir := t.TempDir()
		c := open(t, dir, Options{})
		v := mustInstall(t, c, p, signed(alice, "billing", "1.0.0", []byte("abc")))
		c.Close()
		return dir, v
	}
	edit := func(dir string, f func(ix *indexJSON)) {
		path := filepath.Join(dir, indexFile)
		data, _ := os.ReadFile(path)
		var ix indexJSON
		if err := json.Unmarshal(data, &ix); err != nil {
			t.Fatal(err)
		}
		f(&ix)
		data, _ = json.Marshal(&ix)
		os.WriteFile(path, data, 0o600)
	}
	// The index says bob published it: Admit finds alice's signature.
	dir, v := setup()
	edit(dir, func(ix *indexJSON) {
		ix.Names[0].Publisher = bob.Public().String()
		ix.Versions[0].Publisher = bob.Public().String()
	})
	c := open(t, dir, Options{})
	v.Publisher = bob.Public().String()
	if _, _, err := c.Admit(v, p); !errors.Is(err, ErrTampered) {
		t.Fatalf("publisher changed in the index: %v, want ErrTampered", err)
	} else {
		t.Log(err)
	}
	c.Close()

	for name, f := range map[string]func(ix *indexJSON){
		"a digest leaving the directory": func(ix *indexJSON) { ix.Versions[0].Digest = "sha256:../../../etc/passwd" },
		"a version of a name not listed": func(ix *indexJSON) { ix.Names = nil },
		"not semver":                     func(ix *indexJSON) { ix.Versions[0].Version = "1.0" },
		"publisher not the owner":        func(ix *indexJSON) { ix.Versions[0].Publisher = bob.Public().String() },
		"a bad key":                      func(ix *indexJSON) { ix.Names[0].Publisher = "ed25519:AAAA" },
		"a name twice":                   func(ix *indexJSON) { ix.Names = append(ix.Names, ix.Names[0]) },
		"same precedence twice": func(ix *indexJSON) {
			w := ix.Versions[0]
			w.Version = "1.0.0+x"
			ix.Versions = append(ix.Versions, w)
		},
		"another format": func(ix *indexJSON) { ix.Format = 2 },
	} {
		dir, _ := setup()
		edit(dir, f)
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Open: %v, want ErrCorrupt", name, err)
		}
	}
	dir, _ = setup()
	os.WriteFile(filepath.Join(dir, indexFile), []byte("{not json"), 0o600)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage index: %v, want ErrCorrupt", err)
	}
	dir, _ = setup()
	os.Remove(filepath.Join(dir, indexFile))
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("index removed: %v, want ErrCorrupt", err)
	}
	if n := len(blobs(t, dir)); n != 3 {
		t.Errorf("a lost index cost the blobs: %d left", n)
	}
}

func TestPinsAndUninstall(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	p := openPolicy(t)
	priv := key(t)
	v1 := mustInstall(t, c, p, signed(priv, "billing", "1.0.0", []byte("one")))
	mustInstall(t, c, p, signed(priv, "billing", "1.1.0", []byte("two")))
	run, err := c.Pin("billing", "1.0.0", "running app/billing/1")
	if err != nil {
		t.Fatal(err)
	}
	back, _ := c.Pin("billing", "1.0.0", "rollback target of app/billing/2")
	if run.Version().Digest != v1.Digest {
		t.Fatal("Pin.Version")
	}
	err = c.Uninstall("billing", "1.0.0")
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "running app/billing/1") ||
		!strings.Contains(err.Error(), "rollback target") {
		t.Fatalf("Uninstall of a pinned version: %v", err)
	}
	t.Log(err)
	run.Release()
	if err := c.Uninstall("billing", "1.0.0"); !errors.Is(err, ErrInUse) {
		t.Fatalf("with one pin left: %v", err)
	}
	if r, _ := c.Pins("billing", "1.0.0"); !slices.Equal(r, []string{"rollback target of app/billing/2"}) {
		t.Fatalf("Pins = %q", r)
	}
	back.Release()
	back.Release()
	if err := c.Uninstall("billing", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("billing", "1.0.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Uninstall: %v", err)
	}
	if _, err := c.Load(v1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Uninstall: %v", err)
	}
	if _, err := c.Pin("billing", "1.0.0", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Pin after Uninstall: %v", err)
	}
	if err := c.Uninstall("billing", "1.0.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Uninstall twice: %v", err)
	}
	if _, err := os.Stat(blobFile(dir, v1.Digest)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the component file is still there: %v", err)
	}
	if n := len(blobs(t, dir)); n != 3 {
		t.Fatalf("%d blobs, want the 3 of 1.1.0", n)
	}
}

func TestFailedIndexWriteChangesNothing(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	p := openPolicy(t)
	priv := key(t)
	v := mustInstall(t, c, p, signed(priv, "billing", "1.0.0", []byte("one")))
	boom := errors.New("disk full")
	c.failIndexWrite = func() error { return boom }
	if _, err := signed(priv, "billing", "1.1.0", []byte("two")).install(c, p); !errors.Is(err, boom) {
		t.Fatalf("Install: %v", err)
	}
	if _, err := c.Get("billing", "1.1.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed install is visible: %v", err)
	}
	if err := c.Uninstall("billing", "1.0.0"); !errors.Is(err, boom) {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, err := c.Load(v); err != nil {
		t.Fatalf("a failed uninstall removed the version: %v", err)
	}
	if _, err := c.Pin("billing", "1.0.0", "x"); err != nil {
		t.Fatalf("a failed uninstall left the version unpinnable: %v", err)
	}
	c.failIndexWrite = nil
	c.Close()
	c = open(t, dir, Options{})
	if all, _ := c.List(); len(all) != 1 {
		t.Fatalf("%d versions after reopening", len(all))
	}
	if n := len(blobs(t, dir)); n != 3 {
		t.Fatalf("%d blobs after reopening, want 3 (the failed install's removed)", n)
	}
}

func TestGCRetentionAndPins(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	c := open(t, dir, Options{Now: clk.now})
	p := openPolicy(t)
	priv := key(t)
	sizes := map[string]int64{} // bytes of each version's three files
	install := func(name, version string, n int) {
		x := signed(priv, name, version, randomBytes(n))
		v := mustInstall(t, c, p, x)
		sizes[v.String()] = int64(len(x.wasm) + len(x.manifest) + len(x.sig.Marshal()))
	}
	for i := 0; i < 9; i++ { // 1.i.0 installed (9-i) hours before the end
		install("a", fmt.Sprintf("1.%d.0", i), 1000+i)
		clk.advance(time.Hour)
	}
	install("a", "1.8.0-rc.1", 10) // a pre-release orders below its release
	install("b", "0.0.0", 100)
	install("b", "0.1.0", 100)
	running, _ := c.Pin("a", "1.1.0", "running app/a/1")
	defer running.Release()
	rollback, _ := c.Pin("a", "1.0.0", "rollback target of app/a/1")
	defer rollback.Release()
	versions := func(name string) []string {
		vs, _ := c.Versions(name)
		var out []string
		for _, v := range vs {
			out = append(out, v.Version)
		}
		return out
	}
	sum := func(vs []*Version) (n int64) {
		for _, v := range vs {
			n += sizes[v.String()]
		}
		return n
	}

	freed, removed, err := c.GC(Retention{}) // the default: keep 5
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions("a"), []string{"1.0.0", "1.1.0", "1.5.0", "1.6.0", "1.7.0", "1.8.0-rc.1", "1.8.0"}; !slices.Equal(got, want) {
		t.Fatalf("after GC keep 5: %v, want %v", got, want)
	}
	if len(removed) != 3 || freed != sum(removed) {
		t.Fatalf("GC keep 5: removed %v, freed %d, want 3 versions and %d bytes", removed, freed, sum(removed))
	}
	if got := versions("b"); len(got) != 2 {
		t.Fatalf("b: %v", got)
	}
	// A window keeps what is recent: 1.6.0 was installed 3h ago, 1.5.0 4h.
	freed, removed, err = c.GC(Retention{Keep: 2, Within: 3*time.Hour + time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].String() != "a@1.5.0" || freed != sizes["a@1.5.0"] {
		t.Fatalf("GC keep 2 within 3h: freed %d, removed %v; want a@1.5.0, %d bytes", freed, removed, sizes["a@1.5.0"])
	}
	freed, removed, err = c.GC(Retention{Keep: KeepNone})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions("a"), []string{"1.0.0", "1.1.0"}; !slices.Equal(got, want) {
		t.Fatalf("after GC keep none: %v, want %v (the pinned ones)", got, want)
	}
	if len(removed) != 6 || freed != sum(removed) {
		t.Fatalf("GC keep none: removed %v, freed %d; want 6 versions, %d bytes", removed, freed, sum(removed))
	}
	t.Logf("GC keep none: removed %d versions, freed %d bytes", len(removed), freed)
	if n := len(blobs(t, dir)); n != 6 {
		t.Fatalf("%d blobs, want the 6 of the two pinned versions", n)
	}
	if names, _ := c.Names(); len(names) != 2 || names[1].Versions != 0 {
		t.Fatalf("Names = %+v (b keeps its claim)", names)
	}
	if freed, removed, err := c.GC(Retention{Keep: KeepNone}); freed != 0 || len(removed) != 0 || err != nil {
		t.Fatalf("GC with nothing to remove: %d, %v, %v", freed, removed, err)
	}
}

func TestGCFreesOnlyUnsharedFiles(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	p := openPolicy(t)
	shared := randomBytes(4096)
	mustInstall(t, c, p, unsigned("a", "1.0.0", shared))
	mustInstall(t, c, p, unsigned("a", "2.0.0", shared))
	freed, removed, err := c.GC(Retention{Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(manifest("a", "1.0.0"))); len(removed) != 1 || freed != want {
		t.Fatalf("freed %d, removed %v; want 1.0.0 and only its manifest's %d bytes", freed, removed, want)
	}
	if _, err := c.Load(must(c.Get("a", "2.0.0"))); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLatest(t *testing.T) {
	c := open(t, t.TempDir(), Options{})
	p := openPolicy(t)
	if _, err := c.Latest("a"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	for i, v := range []string{"2.0.0-rc.1", "1.10.0", "1.9.0"} {
		mustInstall(t, c, p, unsigned("a", v, []byte{byte(i)}))
	}
	if l, _ := c.Latest("a"); l.Version != "1.10.0" {
		t.Fatalf("Latest = %s, want the highest release 1.10.0", l.Version)
	}
	mustInstall(t, c, p, unsigned("b", "2.0.0-rc.1", []byte("x")))
	mustInstall(t, c, p, unsigned("b", "2.0.0-beta.11", []byte("y")))
	if l, _ := c.Latest("b"); l.Version != "2.0.0-rc.1" {
		t.Fatalf("Latest = %s, want the highest pre-release", l.Version)
	}
	vs, _ := c.Versions("a")
	if vs[0].Version != "1.9.0" || vs[2].Version != "2.0.0-rc.1" {
		t.Fatalf("Versions not in precedence order: %v", vs)
	}
}

func TestLockAndClose(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Open(dir, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("second Open: %v after %v, want ErrLocked after 100ms", err, time.Since(start))
	}
	t.Log(err)
	// The second Open waits: it gets the directory once the first closes.
	got := make(chan error, 1)
	go func() {
		c2, err := Open(dir, Options{LockTimeout: 5 * time.Second})
		if err == nil {
			c2.Close()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p := openPolicy(t)
	v := mustInstall(t, c, p, unsigned("a", "1.0.0", []byte("x")))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
	for name, err := range map[string]error{
		"Get":       second(c.Get("a", "1.0.0")),
		"Latest":    second(c.Latest("a")),
		"List":      second(c.List()),
		"Load":      second(c.Load(v)),
		"Install":   second(unsigned("a", "2.0.0", []byte("y")).install(c, p)),
		"Pin":       second(c.Pin("a", "1.0.0", "x")),
		"Uninstall": c.Uninstall("a", "1.0.0"),
		"Forget":    c.Forget("a"),
		"GC":        third(c.GC(Retention{})),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

func TestUnsafeDirRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrUnsafeDir) {
		t.Fatalf("a directory anyone can write: %v, want ErrUnsafeDir", err)
	} else {
		t.Log(err)
	}
	os.Chmod(dir, 0o755)
	c := open(t, dir, Options{})
	c.Close()
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file, Options{}); err == nil {
		t.Fatal("a file opened as a catalog")
	}
}

func TestConcurrentInstalls(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	p := openPolicy(t)
	priv := key(t)
	const workers, each = 8, 6
	clash := make([]comp, workers) // one version, other bytes each
	same := signed(priv, "shared", "1.0.0", []byte("same bytes"))
	for w := range clash {
		clash[w] = signed(priv, "shared", "2.0.0", []byte{byte(w)})
	}
	var wins, noops atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	stop := make(chan struct{})
	var reads atomic.Int64
	readerDone := make(chan struct{})
	go func() { // a reader throughout
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			all, err := c.List()
			if err != nil {
				errs <- err
				return
			}
			for _, v := range all {
				if _, err := c.Get(v.Name, v.Version); err != nil {
					errs <- err
				}
				if pin, err := c.Pin(v.Name, v.Version, "reader"); err == nil {
					if _, err := c.Load(v); err != nil {
						errs <- err
					}
					pin.Release()
				}
			}
			reads.Add(1)
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				x := signed(priv, fmt.Sprintf("w%d", w), fmt.Sprintf("1.%d.0", i), randomBytes(2000))
				if _, err := x.install(c, p); err != nil {
					errs <- err
				}
			}
			if _, err := same.install(c, p); err != nil {
				errs <- err
			} else {
				noops.Add(1)
			}
			switch _, err := clash[w].install(c, p); {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, ErrVersionExists):
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != 1 || noops.Load() != workers {
		t.Fatalf("%d installs of the clashing version won, want 1; %d of the same bytes succeeded, want %d",
			wins.Load(), noops.Load(), workers)
	}
	t.Logf("%d list-and-load passes during the installs", reads.Load())
	c.Close()
	c = open(t, dir, Options{})
	all, _ := c.List()
	if len(all) != workers*each+2 {
		t.Fatalf("%d versions, want %d", len(all), workers*each+2)
	}
	for _, v := range all {
		if _, err := c.Load(v); err != nil {
			t.Fatal(err)
		}
	}
	if n, want := len(blobs(t, dir)), 3*len(all); n != want {
		t.Fatalf("%d blobs, want %d", n, want)
	}
}
