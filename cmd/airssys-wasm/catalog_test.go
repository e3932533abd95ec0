package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/oci"
)

// catFix is a component to install, signed with the CLI's own keygen and
// sign: dir/app.wasm (testdata/minimal.wasm), dir/Component.toml, keys
// acme and mallory, and a policy that requires signatures and trusts both.
type catFix struct {
	dir, wasm, man, pol string
	pub                 map[string]string // key name -> public key
	data                string            // the data directory the catalog verbs use
	// files is what each version was installed with: its manifest and
	// signature file, as written.
	files map[string][2][]byte
}

func newCatFix(t *testing.T) *catFix {
	t.Helper()
	dir := t.TempDir()
	f := &catFix{dir: dir, wasm: filepath.Join(dir, "app.wasm"), man: filepath.Join(dir, "Component.toml"),
		pol: filepath.Join(dir, "policy.toml"), pub: map[string]string{}, data: filepath.Join(dir, "data"),
		files: map[string][2][]byte{}}
	b, err := os.ReadFile(fixture("minimal.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f.wasm, b, 0o644)
	policy := "[policy]\nrequire-signatures = true\n"
	for _, k := range []string{"acme", "mallory"} {
		if code, _, errs := cli(t, "keygen", filepath.Join(dir, k)); code != 0 {
			t.Fatalf("keygen: %d %s", code, errs)
		}
		pub, _ := os.ReadFile(filepath.Join(dir, k+".pub"))
		f.pub[k] = strings.TrimSpace(string(pub))
		policy += "[[publisher]]\nname = \"" + k + "\"\nkey = \"" + f.pub[k] + "\"\n"
	}
	os.WriteFile(f.pol, []byte(policy), 0o644)
	f.sign(t, "1.0.0", "acme", "")
	return f
}

func manifestOf(version, extra string) string {
	return "[component]\nname = \"minimal\"\nversion = \"" + version + "\"\ndescription = \"the minimal fixture" +
		extra + "\"\n[resources]\nmemory = \"16MiB\"\n"
}

// sign writes Component.toml for version (extra changes its description)
// and signs it and app.wasm with key ("" leaves it unsigned).
func (f *catFix) sign(t *testing.T, version, key, extra string) {
	t.Helper()
	man := manifestOf(version, extra)
	os.WriteFile(f.man, []byte(man), 0o644)
	os.Remove(f.wasm + ".sig")
	if key != "" {
		if code, _, errs := cli(t, "sign", "--key", filepath.Join(f.dir, key+".key"), "--manifest", f.man, f.wasm); code != 0 {
			t.Fatalf("sign: %d %s", code, errs)
		}
	}
	sig, _ := os.ReadFile(f.wasm + ".sig")
	f.files[version] = [2][]byte{[]byte(man), sig}
}

// run runs a catalog verb on the fixture's data directory.
func (f *catFix) run(t *testing.T, verb string, args ...string) (int, string, string) {
	t.Helper()
	return cli(t, append([]string{verb, "--data", f.data}, args...)...)
}

// ok runs a catalog verb that must succeed and returns its output.
func (f *catFix) ok(t *testing.T, verb string, args ...string) string {
	t.Helper()
	code, out, errs := f.run(t, verb, args...)
	if code != 0 {
		t.Fatalf("%s %q: exit %d, stderr %q, stdout %q", verb, args, code, errs, out)
	}
	return out
}

// refused runs a catalog verb that must exit with code and say want.
func (f *catFix) refused(t *testing.T, code int, want, verb string, args ...string) {
	t.Helper()
	got, out, errs := f.run(t, verb, args...)
	if got != code || !strings.Contains(errs, want) {
		t.Fatalf("%s %q: exit %d (want %d), stderr %q (want %q), stdout %q", verb, args, got, code, errs, want, out)
	}
}

func (f *catFix) install(t *testing.T, args ...string) string {
	t.Helper()
	return f.ok(t, "install", append([]string{"--policy", f.pol}, args...)...)
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func mustContain(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Fatalf("%s does not say %q:\n%s", what, w, s)
		}
	}
}

func TestCatalogInstallListInfo(t *testing.T) {
	f := newCatFix(t)
	wasm, _ := os.ReadFile(f.wasm)
	out := f.install(t, f.wasm)
	mustContain(t, "install", out, "installed minimal@1.0.0\n", "digest     "+sha(wasm)+"\n",
		"publisher  "+f.pub["acme"]+"\n", "size       574 bytes\n")
	if st, err := os.Stat(filepath.Join(f.data, "catalog", "index.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the catalog is not in DIR/catalog: %v %v", st, err)
	}

	// The same bytes again: nothing changes, not even the index.
	index := filepath.Join(f.data, "catalog", "index.json")
	before, _ := os.ReadFile(index)
	out = f.install(t, f.wasm)
	mustContain(t, "reinstall", out, "minimal@1.0.0 is already installed with these bytes: nothing changed")
	if after, _ := os.ReadFile(index); string(after) != string(before) {
		t.Fatalf("a reinstall changed the index:\n%s\n%s", before, after)
	}

	out = f.ok(t, "list")
	row := regexp.MustCompile(`(?m)^minimal +1\.0\.0 +` + regexp.QuoteMeta(f.pub["acme"][:20]) + `… +` +
		regexp.QuoteMeta(sha(wasm)[:19]) + ` +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +574$`)
	if !strings.HasPrefix(out, "NAME ") || !row.MatchString(out) {
		t.Fatalf("list:\n%s", out)
	}
	if o := f.ok(t, "list", "minimal"); o != out {
		t.Fatalf("list minimal:\n%s", o)
	}
	f.refused(t, 1, "no component other", "list", "other")

	sig := f.files["1.0.0"][1]
	info := f.ok(t, "info", "minimal")
	mustContain(t, "info", info, "name       minimal\n", "version    1.0.0\n", "publisher  "+f.pub["acme"]+"\n",
		"digest     "+sha(wasm)+"\n", "manifest   "+sha(f.files["1.0.0"][0])+"\n", "signature  "+sha(sig)+"\n",
		"files      checked", "# Component.toml\n"+string(f.files["1.0.0"][0]))
	if o := f.ok(t, "info", "minimal@1.0.0"); o != info {
		t.Fatalf("info minimal@1.0.0:\n%s\ninfo minimal:\n%s", o, info)
	}
	mustContain(t, "info --inspect", f.ok(t, "info", "--inspect", "--cache", "off", "minimal"),
		"# minimal@1.0.0\ncomponent\n", "export run: func() -> s32")
	f.refused(t, 1, "not installed: minimal@9.9.9", "info", "minimal@9.9.9")
	f.refused(t, 1, "no version of other", "info", "other")

	// Other bytes under an installed version: refused.
	f.sign(t, "1.0.0", "acme", ", changed")
	f.refused(t, 1, "already installed with other bytes", "install", "--policy", f.pol, f.wasm)
	// Another publisher's version of the name: refused, though the policy trusts it.
	f.sign(t, "1.1.0", "mallory", "")
	f.refused(t, 1, "name belongs to another publisher", "install", "--policy", f.pol, f.wasm)
	// Unsigned, under a policy requiring signatures.
	f.sign(t, "1.1.0", "", "")
	f.refused(t, 1, "not signed", "install", "--policy", f.pol, f.wasm)
	// A manifest changed after signing.
	f.sign(t, "1.1.0", "acme", "")
	os.WriteFile(f.man, []byte(manifestOf("1.1.0", " (changed)")), 0o644)
	f.refused(t, 1, "signature", "install", "--policy", f.pol, f.wasm)
	// A key the policy does not list.
	f.sign(t, "1.1.0", "acme", "")
	untrusting := filepath.Join(f.dir, "untrusting.toml")
	os.WriteFile(untrusting, []byte("[policy]\nrequire-signatures = true\n"), 0o644)
	f.refused(t, 1, "does not trust", "install", "--policy", untrusting, f.wasm)

	// --manifest and --sig from elsewhere; then Latest is the highest
	// release, not a higher pre-release.
	other := filepath.Join(f.dir, "other")
	os.Mkdir(other, 0o755)
	os.Rename(f.man, filepath.Join(other, "m.toml"))
	os.Rename(f.wasm+".sig", filepath.Join(other, "s.sig"))
	f.install(t, "--manifest", filepath.Join(other, "m.toml"), "--sig", filepath.Join(other, "s.sig"), f.wasm)
	f.sign(t, "2.0.0-rc.1", "acme", "")
	f.install(t, f.wasm)
	mustContain(t, "info", f.ok(t, "info", "minimal"), "version    1.1.0\n", "versions   1.0.0 1.1.0 2.0.0-rc.1\n")
	mustContain(t, "info", f.ok(t, "info", "minimal@2.0.0-rc.1"), "version    2.0.0-rc.1\n")
}

func TestCatalogBadInput(t *testing.T) {
	f := newCatFix(t)
	f.refused(t, 1, "no catalog in "+f.data, "list")
	f.refused(t, 1, "no catalog in", "info", "minimal")
	f.refused(t, 1, "no catalog in", "uninstall", "minimal@1.0.0")
	f.refused(t, 1, "no catalog in", "gc")
	if _, err := os.Stat(f.data); err == nil {
		t.Fatal("a verb that reads made the data directory")
	}
	f.refused(t, 2, "--policy policy.toml is required", "install", f.wasm)
	f.refused(t, 2, "no such file", "install", "--policy", f.pol, filepath.Join(f.dir, "nothere.wasm"))
	f.refused(t, 2, "is neither a file nor a reference", "install", "--policy", f.pol, "example.com/")
	f.refused(t, 2, "flags go before the arguments", "install", "--policy", f.pol, f.wasm, "--plain-http")
	f.refused(t, 2, "wrong number of arguments", "install", "--policy", f.pol, f.wasm, f.wasm)
	f.refused(t, 2, "--plain-http is for a registry reference", "install", "--policy", f.pol, "--plain-http", f.wasm)
	f.refused(t, 2, "--manifest and --sig are for a component FILE", "install", "--policy", f.pol,
		"--manifest", f.man, "127.0.0.1:5000/comp/minimal:1.0.0")
	f.refused(t, 1, "not a loopback host", "install", "--policy", f.pol, "--plain-http", "registry.example/ns/app:1.0.0")
	badPolicy := filepath.Join(f.dir, "bad.toml")
	os.WriteFile(badPolicy, []byte("[policy\n"), 0o644)
	f.refused(t, 2, "bad.toml", "install", "--policy", badPolicy, f.wasm)
	os.WriteFile(f.man, []byte("[component]\nname = \"Not A Name\"\nversion = \"1.0.0\"\n"), 0o644)
	f.refused(t, 2, "is not a kebab-case name", "install", "--policy", f.pol, f.wasm)
	os.WriteFile(f.man, []byte(manifestOf("1.0", "")), 0o644)
	f.refused(t, 2, `"1.0" is not a semantic version`, "install", "--policy", f.pol, f.wasm)
	os.Remove(f.man)
	f.refused(t, 2, "give --manifest", "install", "--policy", f.pol, f.wasm)
	if _, err := os.Stat(f.data); err == nil {
		t.Fatal("a refused install made the data directory")
	}
	f.sign(t, "1.0.0", "acme", "")
	f.install(t, f.wasm)
	f.refused(t, 2, "want NAME@VERSION (which version)", "push", "minimal", "127.0.0.1:5000/comp/minimal:1")
	f.refused(t, 2, "want HOST[:PORT]/REPOSITORY:TAG", "push", "minimal@1.0.0", "127.0.0.1:5000/comp/minimal")
	f.refused(t, 2, "with --layout, want a TAG", "push", "--layout", f.dir, "minimal@1.0.0", "a/b")
	f.refused(t, 1, "not installed: minimal@3.0.0", "push", "minimal@3.0.0", "127.0.0.1:5000/comp/minimal:1")
	f.refused(t, 2, "want NAME@VERSION (which version)", "uninstall", "minimal")
	f.refused(t, 2, "no version after @", "info", "minimal@")
	f.refused(t, 2, "--keep -1: want 0 or more", "gc", "--keep", "-1")
	f.refused(t, 2, "wrong number of arguments", "gc", "minimal")
	// A catalog directory others may write, or an index that does not
	// parse: bad input, nothing is changed.
	catDir := filepath.Join(f.data, "catalog")
	os.Chmod(catDir, 0o777)
	f.refused(t, 2, "is writable by others", "list")
	os.Chmod(catDir, 0o700)
	index := filepath.Join(catDir, "index.json")
	good, _ := os.ReadFile(index)
	os.WriteFile(index, []byte("{"), 0o600)
	f.refused(t, 2, "index is not valid", "info", "minimal")
	os.WriteFile(index, good, 0o600)
	f.ok(t, "info", "minimal")

	// Without --data: the XDG data directory.
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	if code, _, errs := cli(t, "list"); code != 1 || !strings.Contains(errs, filepath.Join(xdg, "airssys-wasm", "catalog")) {
		t.Fatalf("list without --data: %d %q", code, errs)
	}
	if code, out, _ := cli(t, "install", "--help"); code != 0 || !strings.Contains(out, "~/.local/share/airssys-wasm") {
		t.Fatalf("install --help: %d %q", code, out)
	}
}

// A stored file that changed is never pushed or shown as installed; an
// install of the same bytes puts it back.
func TestCatalogTamperedFileIsRefused(t *testing.T) {
	f := newCatFix(t)
	wasm, _ := os.ReadFile(f.wasm)
	f.install(t, f.wasm)
	reg := startTestRegistry(t)
	ref := reg + "/comp/minimal:1.0.0"
	for _, blob := range []string{sha(wasm), sha(f.files["1.0.0"][0]), sha(f.files["1.0.0"][1])} {
		path := filepath.Join(f.data, "catalog", "blobs", "sha256", strings.TrimPrefix(blob, "sha256:"))
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		changed := append([]byte(nil), orig...)
		changed[len(changed)/2] ^= 1
		os.WriteFile(path, changed, 0o600)
		f.refused(t, 1, catalog.ErrTampered.Error(), "info", "minimal")
		f.refused(t, 1, catalog.ErrTampered.Error(), "push", "--plain-http", "minimal@1.0.0", ref)
		if _, _, err := oci.Pull(context.Background(), ref, oci.Options{PlainHTTP: true}); err == nil {
			t.Fatal("a tampered version was pushed")
		}
		// Reinstalling the same bytes repairs the file.
		mustContain(t, "reinstall", f.install(t, f.wasm), "already installed")
		f.ok(t, "info", "minimal")
		if b, _ := os.ReadFile(path); string(b) != string(orig) {
			t.Fatalf("the reinstall did not put %s back", path)
		}
	}
	os.Remove(filepath.Join(f.data, "catalog", "blobs", "sha256", strings.TrimPrefix(sha(wasm), "sha256:")))
	f.refused(t, 1, "is missing", "info", "minimal")
}

func TestCatalogUninstallAndGC(t *testing.T) {
	f := newCatFix(t)
	versions := []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"}
	for _, v := range versions {
		f.sign(t, v, "acme", "")
		f.install(t, f.wasm)
	}
	if out := f.ok(t, "uninstall", "minimal@1.1.0"); out != "uninstalled minimal@1.1.0\n" {
		t.Fatalf("uninstall: %q", out)
	}
	if out := f.ok(t, "list"); strings.Contains(out, "1.1.0") || !strings.Contains(out, "1.2.0") {
		t.Fatalf("list after uninstall:\n%s", out)
	}
	f.refused(t, 1, "not installed: minimal@1.1.0", "uninstall", "minimal@1.1.0")

	if out := f.ok(t, "gc"); out != "nothing to remove\n" {
		t.Fatalf("gc keeping 5: %q", out)
	}
	if out := f.ok(t, "gc", "--keep", "0", "--within", "1h"); out != "nothing to remove\n" {
		t.Fatalf("gc keeping the last hour's: %q", out)
	}
	// --keep 1: the manifests and signatures of 1.0.0 and 1.2.0 go; the
	// component's bytes stay, 2.0.0 has the same.
	var freed int
	for _, v := range []string{"1.0.0", "1.2.0"} {
		freed += len(f.files[v][0]) + len(f.files[v][1])
	}
	want := "removed minimal@1.0.0\nremoved minimal@1.2.0\nremoved 2 versions, freed " + strconv.Itoa(freed) + " bytes\n"
	if out := f.ok(t, "gc", "--keep", "1"); out != want {
		t.Fatalf("gc --keep 1: %q, want %q", out, want)
	}
	if out := f.ok(t, "list"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "2.0.0") {
		t.Fatalf("list after gc:\n%s", out)
	}
	out := f.ok(t, "uninstall", "minimal@2.0.0")
	mustContain(t, "uninstall of the last version", out, "minimal has no version left; the name stays publisher "+
		f.pub["acme"]+"'s")
	mustContain(t, "list", f.ok(t, "list"), "minimal  -", "no version installed")
	if entries, _ := os.ReadDir(filepath.Join(f.data, "catalog", "blobs", "sha256")); len(entries) != 0 {
		t.Fatalf("blobs left: %v", entries)
	}
	// The name is still acme's.
	f.sign(t, "3.0.0", "mallory", "")
	f.refused(t, 1, "name belongs to another publisher", "install", "--policy", f.pol, f.wasm)
}

func TestCatalogLocked(t *testing.T) {
	f := newCatFix(t)
	f.install(t, f.wasm)
	held, err := catalog.Open(filepath.Join(f.data, "catalog"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := catalogLockTimeout
	catalogLockTimeout = 100 * time.Millisecond
	defer func() { catalogLockTimeout = old }()
	for _, args := range [][]string{{"list"}, {"info", "minimal"}, {"uninstall", "minimal@1.0.0"}, {"gc"},
		{"install", "--policy", f.pol, f.wasm}} {
		f.refused(t, 1, "is held by another process (probably a running host", args[0], args[1:]...)
	}
	held.Close()
	f.ok(t, "info", "minimal")
}

// startTestRegistry runs go-containerregistry's registry in this process on
// 127.0.0.1 (plain HTTP) and returns its host:port.
func startTestRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)),
		registry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestCatalogPushAndInstallFromARegistry(t *testing.T) {
	f := newCatFix(t)
	wasm, _ := os.ReadFile(f.wasm)
	f.install(t, f.wasm)
	reg := startTestRegistry(t)
	ref := reg + "/comp/minimal:1.0.0"

	f.refused(t, 1, "add --plain-http", "push", "minimal@1.0.0", ref)
	out := f.ok(t, "push", "--plain-http", "minimal@1.0.0", ref)
	m := regexp.MustCompile(`^pushed minimal@1\.0\.0 to ` + regexp.QuoteMeta(ref) + "\n  digest +(sha256:[0-9a-f]{64})\n$").
		FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("push: %q", out)
	}
	pushed := m[1]
	a, d, err := oci.Pull(context.Background(), ref, oci.Options{PlainHTTP: true})
	if err != nil || d != pushed || string(a.Wasm) != string(wasm) || string(a.Manifest) != string(f.files["1.0.0"][0]) ||
		string(a.Signature) != string(f.files["1.0.0"][1]) {
		t.Fatalf("what the registry holds: %v %s", err, d)
	}
	// Pushing it again pushes the same manifest.
	if out := f.ok(t, "push", "--plain-http", "minimal@1.0.0", reg+"/comp/minimal:again"); !strings.Contains(out, pushed) {
		t.Fatalf("a second push: %q, want digest %s", out, pushed)
	}

	// Into another data directory, by tag and by digest.
	g := *f
	g.data = filepath.Join(f.dir, "data2")
	g.refused(t, 1, "add --plain-http", "install", "--policy", f.pol, ref)
	out = g.install(t, "--plain-http", ref)
	mustContain(t, "install from a registry", out, "pulled "+ref+" ("+pushed+")\n", "installed minimal@1.0.0\n",
		"digest     "+sha(wasm)+"\n", "publisher  "+f.pub["acme"]+"\n", "from       "+ref+" ("+pushed+")\n")
	info := g.ok(t, "info", "minimal")
	mustContain(t, "info", info, "signature  "+sha(f.files["1.0.0"][1])+"\n", "manifest   "+sha(f.files["1.0.0"][0])+"\n")
	byDigest := reg + "/comp/minimal@" + pushed
	mustContain(t, "install by digest", g.install(t, "--plain-http", byDigest), "pulled "+byDigest, "already installed")

	// Admitted again on the way in: a policy that does not trust acme refuses.
	untrusting := filepath.Join(f.dir, "untrusting.toml")
	os.WriteFile(untrusting, []byte("[policy]\nrequire-signatures = true\n"), 0o644)
	h := *f
	h.data = filepath.Join(f.dir, "data3")
	h.refused(t, 1, "does not trust", "install", "--policy", untrusting, "--plain-http", ref)
	h.refused(t, 1, "oci: not found", "install", "--policy", f.pol, "--plain-http", reg+"/comp/minimal:nope")

	// An artifact another tool pushed in the standard layout, without
	// Component.toml or signature: installed as an unsigned component with
	// no capabilities, under the policy's rules for those; its name and
	// version come from the reference (or --name, --version).
	for _, tag := range []string{"1", "1.2.0"} {
		if _, err := oci.Push(context.Background(), reg+"/comp/bare_thing:"+tag, oci.Artifact{Wasm: wasm},
			oci.Options{PlainHTTP: true}); err != nil {
			t.Fatal(err)
		}
	}
	h.refused(t, 1, "not signed", "install", "--policy", f.pol, "--plain-http", reg+"/comp/bare_thing:1.2.0")
	open := filepath.Join(f.dir, "open.toml")
	os.WriteFile(open, []byte("[policy]\nrequire-signatures = false\n"), 0o644)
	h.refused(t, 2, "give --name and --version", "install", "--policy", open, "--plain-http", reg+"/comp/bare_thing:1")
	out = h.ok(t, "install", "--policy", open, "--plain-http", reg+"/comp/bare_thing:1.2.0")
	mustContain(t, "a foreign artifact", out, "no Component.toml in the artifact", "installed bare-thing@1.2.0\n")
	out = h.ok(t, "install", "--policy", open, "--plain-http", "--name", "other", "--version", "2.0.0",
		reg+"/comp/bare_thing:1")
	mustContain(t, "a foreign artifact with --name", out, "installed other@2.0.0\n")
	mustContain(t, "its manifest", h.ok(t, "info", "bare-thing"), "pushed without one")
}

func TestCatalogPushAndInstallFromALayout(t *testing.T) {
	f := newCatFix(t)
	wasm, _ := os.ReadFile(f.wasm)
	f.install(t, f.wasm)
	layout := filepath.Join(f.dir, "layout")
	out := f.ok(t, "push", "--layout", layout, "minimal@1.0.0", "v1")
	m := regexp.MustCompile(`^pushed minimal@1\.0\.0 to ` + regexp.QuoteMeta(layout) + ":v1\n  digest +(sha256:[0-9a-f]{64})\n$").
		FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("push --layout: %q", out)
	}
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		t.Fatal(err)
	}
	g := *f
	g.data = filepath.Join(f.dir, "data2")
	out = g.install(t, "--layout", layout, "v1")
	mustContain(t, "install --layout", out, "pulled "+layout+":v1 ("+m[1]+")\n", "installed minimal@1.0.0\n",
		"digest     "+sha(wasm)+"\n", "publisher  "+f.pub["acme"]+"\n")
	mustContain(t, "install --layout by digest", g.install(t, "--layout", layout, m[1]), "already installed")
	g.refused(t, 1, "not found", "install", "--policy", f.pol, "--layout", layout, "v2")
	g.refused(t, 2, "is not a directory", "install", "--policy", f.pol, "--layout", filepath.Join(f.dir, "none"), "v1")
	g.refused(t, 2, "--plain-http is for a registry", "install", "--policy", f.pol, "--layout", layout, "--plain-http", "v1")
}
