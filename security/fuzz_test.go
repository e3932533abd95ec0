package security

import (
	"errors"
	"testing"
)

// The parsers take operator- and publisher-written text: any input gives a
// manifest/policy or an ErrManifest error, never a panic.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(manifestText("/tmp")))
	f.Add([]byte("[component]\nname = \"a\"\nversion = \"1.0.0\"\n[resources]\nmemory = 1\n"))
	f.Add([]byte("[capabilities.network]\nx = 1\n"))
	f.Add([]byte("[[capabilities.filesystem]]\nhost = \"/\"\nguest = \"/\"\n"))
	f.Add([]byte("[resources]\nmemory = \"9999999999GiB\"\n"))
	f.Add([]byte("[capabilities.storage]\nbuckets = [\"a\", \"\", \"a\"]\nread = true\n"))
	f.Add([]byte("\x00\xff[[[["))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("Component.toml", data)
		if err != nil && !errors.Is(err, ErrManifest) {
			t.Fatalf("error not matching ErrManifest: %v", err)
		}
		if err == nil && (m.Name == "" || m.Resources.MemoryBytes <= 0) {
			t.Fatalf("accepted a manifest without name or memory: %+v", m)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(policyText("/srv")))
	f.Add([]byte("[policy]\nrequire-signatures = true\n[[publisher]]\nkey = \"ed25519:AAAA\"\n"))
	f.Add([]byte("[trust.dev]\nfilesystem = [{ host = \"/**\" }]\n"))
	f.Add([]byte("[ceilings]\nmemory = -1\n"))
	f.Add([]byte("[trust.dev]\nstorage-buckets = [\"*\"]\nstorage-read = true\nstorage-max-bytes = \"1KiB\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("policy.toml", data)
		if err != nil && !errors.Is(err, ErrManifest) {
			t.Fatalf("error not matching ErrManifest: %v", err)
		}
		if err == nil {
			// Evaluating any manifest against any accepted policy is safe too.
			m := &Manifest{Name: "x", Resources: Resources{MemoryBytes: 1},
				Capabilities: Capabilities{Env: []string{"A"}, Send: []string{"a/b/c"}, Publish: []string{"a.>"},
					Storage: StorageAccess{Buckets: []string{"a"}, Read: true}}}
			p.Evaluate(m, nil)
		}
	})
}
