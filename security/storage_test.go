package security

// Key-value storage (issue 9): the manifest's [capabilities.storage], the
// policy's storage-* keys, evaluation, the grant and the publisher.

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const storageHead = "[component]\nname = \"shop\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n" // 5 lines

func storageManifest(t *testing.T, table string) *Manifest {
	t.Helper()
	m, err := ParseManifest("Component.toml", []byte(storageHead+table))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStorageManifestParses(t *testing.T) {
	m := storageManifest(t, "[capabilities.storage]\nbuckets = [\"default\", \"cache\", \"é/x y\"]\nread = true\nwrite = true\n")
	want := StorageAccess{Buckets: []string{"default", "cache", "é/x y"}, Read: true, Write: true}
	if s := m.Capabilities.Storage; !slices.Equal(s.Buckets, want.Buckets) || s.Read != want.Read ||
		s.Write != want.Write || s.Delete != want.Delete {
		t.Errorf("storage %+v, want %+v", s, want)
	}
	// Each operation alone is enough; a 256-byte identifier is allowed.
	long := strings.Repeat("b", MaxStorageBucketBytes)
	m = storageManifest(t, "[capabilities.storage]\nbuckets = [\""+long+"\"]\ndelete = true\n")
	if s := m.Capabilities.Storage; len(s.Buckets) != 1 || s.Buckets[0] != long || s.Read || s.Write || !s.Delete {
		t.Errorf("delete only: %+v", s)
	}
	// An inline table is the same table.
	m = storageManifest(t, "[capabilities]\nstorage = { buckets = [\"a\"], read = true }\n")
	if s := m.Capabilities.Storage; len(s.Buckets) != 1 || !s.Read {
		t.Errorf("inline table: %+v", s)
	}
	// No table, no storage.
	if s := storageManifest(t, "").Capabilities.Storage; s.Buckets != nil || s.Read || s.Write || s.Delete {
		t.Errorf("no table: %+v", s)
	}
}

func TestStorageManifestErrorsNameKeyAndLine(t *testing.T) {
	const tbl = "[capabilities.storage]\n" // line 6
	for _, c := range []struct{ name, text, want string }{
		{"empty identifier", tbl + "buckets = [\"\"]\nread = true\n",
			`Component.toml:7: capabilities.storage.buckets: a bucket identifier cannot be empty`},
		{"too long", tbl + "read = true\nbuckets = [\"" + strings.Repeat("b", MaxStorageBucketBytes+1) + "\"]\n",
			`Component.toml:8: capabilities.storage.buckets: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"...: a bucket identifier is at most 256 bytes, this one has 257`},
		{"NUL", tbl + "buckets = [\"a\\u0000b\"]\nread = true\n",
			`Component.toml:7: capabilities.storage.buckets: "a\x00b" contains NUL`},
		{"not UTF-8", tbl + "buckets = [\"a\xffb\"]\nread = true\n", // the TOML decoder refuses it first
			`Component.toml:7: toml: invalid UTF-8`},
		{"duplicate", tbl + "buckets = [\"a\", \"b\", \"a\"]\nread = true\n",
			`Component.toml:7: capabilities.storage.buckets: "a" is listed twice`},
		{"wildcard", tbl + "buckets = [\"*\"]\nread = true\n",
			`Component.toml:7: capabilities.storage.buckets: "*" is not a bucket identifier`},
		{"no buckets key", tbl + "read = true\n",
			`Component.toml:6: capabilities.storage: missing required key buckets`},
		{"empty buckets", tbl + "buckets = []\nread = true\n",
			`Component.toml:6: capabilities.storage: missing required key buckets`},
		{"no operation", tbl + "buckets = [\"a\"]\nread = false\n",
			`Component.toml:6: capabilities.storage: asks for no operation: set read, write or delete to true`},
		{"unknown key", tbl + "buckets = [\"a\"]\nread = true\nlist = true\n",
			`Component.toml:9: capabilities.storage.list: unknown key`},
		{"wrong type", tbl + "buckets = [\"a\"]\nread = \"yes\"\n",
			`Component.toml:8: capabilities.storage.read: toml: cannot decode TOML string`},
		{"buckets not a list", tbl + "buckets = \"a\"\nread = true\n",
			`Component.toml:7: capabilities.storage.buckets: toml: cannot decode TOML string`},
	} {
		_, err := ParseManifest("Component.toml", []byte(storageHead+c.text))
		if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant an error containing %s", c.name, err, c.want)
		}
	}
	// Every problem at once, each on its line.
	_, err := ParseManifest("Component.toml", []byte(storageHead+tbl+
		"buckets = [\"\", \"a\", \"a\"]\n"+ // 7
		"[capabilities.messaging]\nsend = [\"x\"]\n")) // 9
	for _, w := range []string{
		"Component.toml:7: capabilities.storage.buckets: a bucket identifier cannot be empty",
		`Component.toml:7: capabilities.storage.buckets: "a" is listed twice`,
		"Component.toml:6: capabilities.storage: asks for no operation",
		"Component.toml:9: capabilities.messaging.send",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("all at once: %v\ndoes not contain %s", err, w)
		}
	}
}

func TestStoragePolicyParses(t *testing.T) {
	pub, _, _ := GenerateKey()
	p := mustPolicy(t, `[trust.trusted]
storage-buckets = ["*"]
storage-read = true
storage-write = true
storage-delete = true
storage-max-bytes = "256MiB"
storage-max-keys = 1_000_000
storage-max-value = 65536
[trust.unknown]
storage-buckets = ["cache", "default"]
storage-read = true
[[publisher]]
name = "acme"
key = "`+pub.String()+`"
grants = { storage-buckets = ["orders"], storage-write = true, storage-max-value = "2MiB" }
`)
	want := StorageLevel{Buckets: []string{"*"}, Read: true, Write: true, Delete: true, MaxBytes: 256 << 20,
		MaxKeys: 1_000_000, MaxValueBytes: 65536}
	if s := p.Levels[Trusted].Storage; !slices.Equal(s.Buckets, want.Buckets) || s.Read != want.Read ||
		s.Write != want.Write || s.Delete != want.Delete || s.MaxBytes != want.MaxBytes ||
		s.MaxKeys != want.MaxKeys || s.MaxValueBytes != want.MaxValueBytes {
		t.Errorf("trusted: %+v, want %+v", s, want)
	}
	if s := p.Levels[Unknown].Storage; !slices.Equal(s.Buckets, []string{"cache", "default"}) || !s.Read ||
		s.Write || s.Delete || s.MaxBytes != 0 || s.MaxKeys != 0 || s.MaxValueBytes != 0 {
		t.Errorf("unknown: %+v", s)
	}
	if s := p.Publishers[0].Grants.Storage; !slices.Equal(s.Buckets, []string{"orders"}) || s.Read || !s.Write ||
		s.MaxValueBytes != 2<<20 {
		t.Errorf("publisher grants: %+v", s)
	}
}

func TestStoragePolicyErrorsNameKeyAndLine(t *testing.T) {
	pub, _, _ := GenerateKey()
	for _, c := range []struct{ name, text, want string }{
		{"bad size", "[trust.dev]\nstorage-max-bytes = \"lots\"\n",
			`policy.toml:2: trust.dev.storage-max-bytes: "lots" is not a size`},
		{"zero size", "[trust.dev]\nstorage-max-value = 0\n",
			`policy.toml:2: trust.dev.storage-max-value: 0 must be positive`},
		{"zero keys", "[trust.dev]\nstorage-max-keys = 0\n",
			`policy.toml:2: trust.dev.storage-max-keys: 0 must be positive`},
		{"keys not an integer", "[trust.dev]\nstorage-max-keys = \"many\"\n",
			`policy.toml:2: trust.dev.storage-max-keys: toml: cannot decode TOML string`},
		{"value above the whole", "[trust.dev]\nstorage-max-bytes = \"1MiB\"\nstorage-max-value = \"2MiB\"\n",
			`policy.toml:3: trust.dev.storage-max-value: is larger than storage-max-bytes`},
		{"pattern", "[trust.unknown]\nstorage-buckets = [\"tmp-*\"]\n",
			`policy.toml:2: trust.unknown.storage-buckets: "tmp-*": bucket grants are exact identifiers or "*"`},
		{"empty", "[trust.unknown]\nstorage-buckets = [\"\"]\n",
			`policy.toml:2: trust.unknown.storage-buckets: a bucket identifier cannot be empty`},
		{"NUL", "[trust.unknown]\nstorage-buckets = [\"a\\u0000\"]\n",
			`policy.toml:2: trust.unknown.storage-buckets: "a\x00" contains NUL`},
		{"too long", "[trust.unknown]\nstorage-buckets = [\"" + strings.Repeat("x", 257) + "\"]\n",
			`policy.toml:2: trust.unknown.storage-buckets: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"...: a bucket identifier is at most 256 bytes`},
		{"duplicate", "[trust.unknown]\nstorage-buckets = [\"a\", \"a\"]\n",
			`policy.toml:2: trust.unknown.storage-buckets: "a" is listed twice`},
		{"unknown key", "[trust.unknown]\nstorage-list = true\n",
			`policy.toml:2: trust.unknown.storage-list: unknown key`},
		{"in publisher grants", "[[publisher]]\nkey = \"" + pub.String() + "\"\ngrants = { storage-max-keys = -1 }\n",
			`policy.toml:3: publisher[0].grants.storage-max-keys: -1 must be positive`},
	} {
		_, err := ParsePolicy("policy.toml", []byte(c.text))
		if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant an error containing %s", c.name, err, c.want)
		}
	}
}

func TestStorageEvaluateGrantsWhatIsAsked(t *testing.T) {
	p := mustPolicy(t, "[trust.unknown]\nstorage-buckets = [\"default\", \"cache\", \"other\"]\nstorage-read = true\nstorage-write = true\n")
	g, err := p.Evaluate(storageManifest(t, "[capabilities.storage]\nbuckets = [\"default\", \"cache\"]\nread = true\nwrite = true\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := StorageGrant{Buckets: []string{"default", "cache"}, Read: true, Write: true,
		MaxBytes: 64 << 20, MaxKeys: 100_000, MaxValueBytes: 1 << 20}
	if !storageEqual(g.Storage(), want) {
		t.Errorf("granted %+v, want %+v", g.Storage(), want)
	}
	// Only the buckets asked for, though the policy allows "other" too.
	for b, ok := range map[string]bool{"default": true, "cache": true, "other": false, "": false, "Default": false, "cache ": false} {
		if g.AllowBucket(b) != ok {
			t.Errorf("AllowBucket(%q) = %v", b, !ok)
		}
	}
	// The result is a copy.
	s := g.Storage()
	s.Buckets[0] = "other"
	if g.Storage().Buckets[0] != "default" || g.AllowBucket("other") {
		t.Error("changing what Storage returned changed the grant")
	}
	// Nothing asked, nothing granted, whatever the policy allows.
	g, err = p.Evaluate(storageManifest(t, ""), nil)
	if err != nil || !storageEqual(g.Storage(), StorageGrant{}) || g.AllowBucket("default") {
		t.Errorf("no storage asked: %+v %v", g, err)
	}
}

func storageEqual(a, b StorageGrant) bool {
	return slices.Equal(a.Buckets, b.Buckets) && a.Read == b.Read && a.Write == b.Write && a.Delete == b.Delete &&
		a.MaxBytes == b.MaxBytes && a.MaxKeys == b.MaxKeys && a.MaxValueBytes == b.MaxValueBytes
}

func TestStorageEvaluateListsEveryMissingGrant(t *testing.T) {
	m := storageManifest(t, "[capabilities]\nenv = [\"HOME\"]\n"+
		"[capabilities.storage]\nbuckets = [\"default\", \"cache\", \"x\\\"y\"]\nread = true\nwrite = true\ndelete = true\n")
	for name, c := range map[string]struct {
		policy string
		want   []string
	}{
		"nothing is granted by default": {"", []string{`storage bucket "default"`, `storage bucket "cache"`,
			`storage bucket "x\"y"`, "storage read", "storage write", "storage delete", "env HOME"}},
		"operations without buckets": {"[trust.unknown]\nstorage-read = true\nstorage-write = true\nstorage-delete = true\n",
			[]string{`storage bucket "default"`, `storage bucket "cache"`, `storage bucket "x\"y"`}},
		"some buckets, read only": {"[trust.unknown]\nstorage-buckets = [\"cache\"]\nstorage-read = true\n",
			[]string{`storage bucket "default"`, `storage bucket "x\"y"`, "storage write", "storage delete"}},
		"another level's grant does not count": {"[trust.trusted]\nstorage-buckets = [\"*\"]\nstorage-read = true\n" +
			"storage-write = true\nstorage-delete = true\n", []string{`storage bucket "default"`, `storage bucket "cache"`,
			`storage bucket "x\"y"`, "storage read", "storage write", "storage delete", "env HOME"}},
	} {
		_, err := mustPolicy(t, c.policy).Evaluate(m, nil)
		var de *DeniedError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v, want a DeniedError", name, err)
			continue
		}
		for _, w := range c.want {
			if !slices.Contains(de.Missing, w) {
				t.Errorf("%s: missing %q, which is not in %q", name, w, de.Missing)
			}
		}
		for _, got := range de.Missing {
			if !slices.Contains(c.want, got) && got != "env HOME" {
				t.Errorf("%s: %q listed as missing, but it is granted", name, got)
			}
		}
	}
}

func TestStorageWildcardGrantsAnyBucket(t *testing.T) {
	pol := mustPolicy(t, "[trust.unknown]\nstorage-buckets = [\"*\"]\nstorage-read = true\n")
	g, err := pol.Evaluate(storageManifest(t, "[capabilities.storage]\nbuckets = [\"anything\", \"ü\", \"*x\"]\nread = true\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !g.AllowBucket("anything") || !g.AllowBucket("ü") || !g.AllowBucket("*x") {
		t.Error("a bucket asked for and covered by * is not allowed")
	}
	// The grant is what was asked, not the wildcard.
	if g.AllowBucket("else") || g.AllowBucket("*") {
		t.Error("a bucket not asked for is allowed")
	}
	// Without "*", names are exact: "a" covers neither "*x" nor "ab".
	pol = mustPolicy(t, "[trust.unknown]\nstorage-buckets = [\"a\"]\nstorage-read = true\n")
	for _, b := range []string{"*x", "ab", "A"} {
		if _, err := pol.Evaluate(storageManifest(t, "[capabilities.storage]\nbuckets = [\""+b+"\"]\nread = true\n"), nil); !errors.Is(err, ErrDenied) {
			t.Errorf("a grant of \"a\" admitted bucket %q: %v", b, err)
		}
	}
}

func TestStorageCeilings(t *testing.T) {
	pub, priv, _ := GenerateKey()
	ask := "[capabilities.storage]\nbuckets = [\"a\"]\nread = true\n"
	comp, man := []byte("\x00asm"), []byte(storageHead+ask)
	for name, c := range map[string]struct {
		policy                  string
		bytes, keys, valueBytes int64
	}{
		"defaults": {"[trust.trusted]\nstorage-buckets = [\"a\"]\nstorage-read = true\n",
			DefaultStorageMaxBytes, DefaultStorageMaxKeys, DefaultStorageMaxValueBytes},
		"explicit": {"[trust.trusted]\nstorage-buckets = [\"a\"]\nstorage-read = true\nstorage-max-bytes = \"2GiB\"\n" +
			"storage-max-keys = 7\nstorage-max-value = \"4KiB\"\n", 2 << 30, 7, 4096},
		"explicit smaller than the defaults": {"[trust.trusted]\nstorage-buckets = [\"a\"]\nstorage-read = true\n" +
			"storage-max-bytes = 100\nstorage-max-keys = 1\nstorage-max-value = 10\n", 100, 1, 10},
		"a value is never allowed more than the whole": {"[trust.trusted]\nstorage-buckets = [\"a\"]\nstorage-read = true\n" +
			"storage-max-bytes = \"512KiB\"\n", 512 << 10, DefaultStorageMaxKeys, 512 << 10},
		"the publisher's grants add to the level's: the larger of each": {"[trust.trusted]\nstorage-buckets = [\"a\"]\n" +
			"storage-read = true\nstorage-max-bytes = \"1MiB\"\nstorage-max-keys = 50\n" +
			"[[publisher]]\nkey = \"" + pub.String() + "\"\n" +
			"grants = { storage-max-bytes = \"8MiB\", storage-max-keys = 5, storage-max-value = 1000 }\n",
			8 << 20, 50, 1000},
		"the larger of each, whichever sets it": {"[trust.trusted]\nstorage-buckets = [\"a\"]\n" +
			"storage-read = true\nstorage-max-bytes = \"8MiB\"\nstorage-max-keys = 5\nstorage-max-value = 1000\n" +
			"[[publisher]]\nkey = \"" + pub.String() + "\"\n" +
			"grants = { storage-max-bytes = \"1MiB\", storage-max-keys = 50, storage-max-value = 10 }\n",
			8 << 20, 50, 1000},
	} {
		pol := mustPolicy(t, c.policy)
		if len(pol.Publishers) == 0 {
			pol.Publishers = []Publisher{{Name: "acme", Key: pub, Trust: Trusted}}
		}
		sig := Sign(priv, comp, man)
		a, err := Admit(pol, comp, man, "Component.toml", &sig)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := StorageGrant{Buckets: []string{"a"}, Read: true, MaxBytes: c.bytes, MaxKeys: c.keys, MaxValueBytes: c.valueBytes}
		if got := a.Grants.Storage(); !storageEqual(got, want) {
			t.Errorf("%s: granted %+v, want %+v", name, got, want)
		}
	}
}

func TestGrantsPublisher(t *testing.T) {
	pub, priv, _ := GenerateKey()
	strangerPub, strangerPriv, _ := GenerateKey()
	comp, man := []byte("\x00asm"), []byte(storageHead)
	pol := mustPolicy(t, "[[publisher]]\nname = \"acme\"\nkey = \""+pub.String()+"\"\n")

	sig := Sign(priv, comp, man)
	a, err := Admit(pol, comp, man, "Component.toml", &sig)
	if err != nil {
		t.Fatal(err)
	}
	if a.Grants.Publisher != pub.String() || a.Grants.Trust != Trusted || a.Grants.Component != "shop" {
		t.Errorf("signed by a listed key: publisher %q trust %s, want %q trusted", a.Grants.Publisher, a.Grants.Trust, pub)
	}
	if !strings.HasPrefix(a.Grants.Publisher, "ed25519:") {
		t.Errorf("publisher %q is not in the key file form", a.Grants.Publisher)
	}
	if k, err := ParsePublicKey(a.Grants.Publisher); err != nil || !k.Equal(pub) {
		t.Errorf("publisher %q does not parse back to the key: %v", a.Grants.Publisher, err)
	}
	// A key the policy does not list is still who signed.
	sig = Sign(strangerPriv, comp, man)
	a, err = Admit(pol, comp, man, "Component.toml", &sig)
	if err != nil || a.Grants.Publisher != strangerPub.String() || a.Grants.Trust != Unknown {
		t.Errorf("signed by an unlisted key: %+v %v", a, err)
	}
	// Unsigned: no publisher, in dev mode or not.
	a, err = Admit(pol, comp, man, "Component.toml", nil)
	if err != nil || a.Grants.Publisher != "" || a.Grants.Trust != Unknown {
		t.Errorf("unsigned: %+v %v", a, err)
	}
	dev := mustPolicy(t, "[policy]\ndev-mode = true\n")
	a, err = Admit(dev, comp, man, "Component.toml", nil)
	if err != nil || a.Grants.Publisher != "" || a.Grants.Trust != Dev {
		t.Errorf("unsigned in dev mode: %+v %v", a, err)
	}
	// Evaluate sets it too.
	g, err := pol.Evaluate(storageManifest(t, ""), &pub)
	if err != nil || g.Publisher != pub.String() {
		t.Errorf("Evaluate with a signer: %+v %v", g, err)
	}
}

func TestAllowBucketDoesNotAllocate(t *testing.T) {
	pol := mustPolicy(t, "[trust.unknown]\nstorage-buckets = [\"*\"]\nstorage-write = true\n")
	g, err := pol.Evaluate(storageManifest(t, "[capabilities.storage]\nbuckets = [\"a\", \"b\"]\nwrite = true\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	if n := testing.AllocsPerRun(100, func() { ok = g.AllowBucket("b") && !g.AllowBucket("c") }); n != 0 || !ok {
		t.Errorf("%v allocations, ok %v", n, ok)
	}
}
