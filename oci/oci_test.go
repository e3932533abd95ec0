package oci_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/oci"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var plain = oci.Options{PlainHTTP: true}

// fixed is a creation time for reproducible pushes.
var fixed = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	for _, referrers := range []bool{true, false} {
		name := "referrers-api"
		if !referrers {
			name = "tag-schema"
		}
		t.Run(name, func(t *testing.T) {
			reg := startRegistry(t, regConfig{referrers: referrers})
			d, err := oci.Push(ctx, reg.ref("comp/minimal:1.0.0"), oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}, plain)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := digest.Parse(d); err != nil {
				t.Fatalf("push returned %q: %v", d, err)
			}
			for _, ref := range []string{reg.ref("comp/minimal:1.0.0"), reg.ref("comp/minimal@" + d)} {
				a, got, err := oci.Pull(ctx, ref, plain)
				if err != nil {
					t.Fatalf("pull %s: %v", ref, err)
				}
				if got != d {
					t.Fatalf("pull %s resolved to %s, pushed %s", ref, got, d)
				}
				mustEqual(t, "wasm", a.Wasm, wasm)
				mustEqual(t, "manifest", a.Manifest, manifest)
				mustEqual(t, "signature", a.Signature, sig)
				s, err := security.ParseSignature(a.Signature)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Verify(a.Wasm, a.Manifest); err != nil {
					t.Fatal(err)
				}
			}
			// Without the referrers API the extras hang off the tag schema.
			if !referrers {
				tags := string(reg.raw().get(t, "/v2/comp/minimal/tags/list"))
				if fallback := strings.Replace(d, ":", "-", 1); !strings.Contains(tags, fallback) {
					t.Fatalf("no %s among the tags %s", fallback, tags)
				}
			}
		})
	}
}

func TestPartialArtifacts(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	for _, a := range []oci.Artifact{
		{Wasm: wasm},
		{Wasm: wasm, Manifest: []byte(testManifest)},
		{Wasm: wasm, Manifest: []byte(testManifest), Signature: security.Sign(testKey(t), wasm, []byte(testManifest)).Marshal()},
		{Wasm: wasm, Signature: security.Sign(testKey(t), wasm, nil).Marshal()}, // signed without a manifest
	} {
		d, err := oci.Push(ctx, reg.ref("comp/partial:x"), a, plain)
		if err != nil {
			t.Fatal(err)
		}
		got, gd, err := oci.Pull(ctx, reg.ref("comp/partial:x"), plain)
		if err != nil {
			t.Fatal(err)
		}
		if gd != d {
			t.Fatalf("resolved to %s, pushed %s", gd, d)
		}
		mustEqual(t, "wasm", got.Wasm, a.Wasm)
		if (got.Manifest == nil) != (a.Manifest == nil) || (got.Signature == nil) != (a.Signature == nil) {
			t.Fatalf("pushed manifest %v signature %v, pulled manifest %v signature %v",
				a.Manifest != nil, a.Signature != nil, got.Manifest != nil, got.Signature != nil)
		}
		mustEqual(t, "manifest", got.Manifest, a.Manifest)
		mustEqual(t, "signature", got.Signature, a.Signature)
		// No extras, no referrer.
		refs := reg.raw().get(t, "/v2/comp/partial/referrers/"+d)
		var idx ocispec.Index
		if err := json.Unmarshal(refs, &idx); err != nil {
			t.Fatal(err)
		}
		if want := a.Manifest != nil || a.Signature != nil; (len(idx.Manifests) == 1) != want {
			t.Fatalf("%d referrers, extras %v", len(idx.Manifests), want)
		}
	}
}

// wasmConfigOf is a config as wkg writes it.
func wasmConfigOf(wasm []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"created": "2024-06-01T00:00:00Z", "author": nil, "architecture": "wasm", "os": "wasip2",
		"layerDigests": []string{digest.FromBytes(wasm).String()},
		"component":    map[string]any{"exports": []string{"run"}, "imports": []string{}, "target": nil},
	})
	return b
}

// pushForeign pushes wasm in the standard layout with the raw client: config
// and one application/wasm layer, nothing else.
func pushForeign(t *testing.T, reg *testRegistry, repo, tag string, wasm []byte, annotations map[string]string) ocispec.Descriptor {
	raw := reg.raw()
	layer := raw.blob(t, repo, oci.MediaTypeWasm, wasm)
	cfg := raw.blob(t, repo, oci.MediaTypeWasmConfig, wasmConfigOf(wasm))
	return raw.manifest(t, repo, tag, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: []ocispec.Descriptor{layer}, Annotations: annotations,
	})
}

// attach pushes a referrer of type ArtifactTypeExtras to subject, holding
// the given Component.toml and signature.
func attach(t *testing.T, reg *testRegistry, repo string, subject ocispec.Descriptor, manifest, sig []byte) ocispec.Descriptor {
	raw := reg.raw()
	var layers []ocispec.Descriptor
	if manifest != nil {
		layers = append(layers, raw.blob(t, repo, oci.MediaTypeComponentManifest, manifest))
	}
	if sig != nil {
		layers = append(layers, raw.blob(t, repo, oci.MediaTypeSignature, sig))
	}
	raw.blob(t, repo, ocispec.MediaTypeEmptyJSON, []byte("{}"))
	return raw.manifest(t, repo, "", ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: oci.ArtifactTypeExtras, Config: ocispec.DescriptorEmptyJSON, Layers: layers, Subject: &subject,
	})
}

func TestForeignArtifact(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	d := pushForeign(t, reg, "other/tool", "v1", wasm, nil)
	// Someone attaches a Component.toml asking for more: not pinned, ignored.
	attach(t, reg, "other/tool", d, []byte("[component]\nname = \"evil\"\nversion = \"6.6.6\"\n"), nil)

	for _, ref := range []string{reg.ref("other/tool:v1"), reg.ref("other/tool@" + d.Digest.String())} {
		a, got, err := oci.Pull(ctx, ref, plain)
		if err != nil {
			t.Fatal(err)
		}
		if got != d.Digest.String() {
			t.Fatalf("resolved to %s, want %s", got, d.Digest)
		}
		mustEqual(t, "wasm", a.Wasm, wasm)
		if a.Manifest != nil || a.Signature != nil {
			t.Fatalf("a foreign artifact pulled with manifest %q signature %q", a.Manifest, a.Signature)
		}
	}
}

func TestPinsChooseTheExtras(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	d, err := oci.Push(ctx, reg.ref("comp/pinned:1"), oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}, plain)
	if err != nil {
		t.Fatal(err)
	}
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(d)}
	subject.Size = int64(len(reg.raw().get(t, "/v2/comp/pinned/manifests/"+d)))
	// A rogue referrer, with another Component.toml signed by another key.
	_, other, _ := security.GenerateKey()
	rogueManifest := []byte(strings.Replace(testManifest, "16MiB", "4GiB", 1))
	attach(t, reg, "comp/pinned", subject, rogueManifest, security.Sign(other, wasm, rogueManifest).Marshal())

	a, _, err := oci.Pull(ctx, reg.ref("comp/pinned@"+d), plain)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "manifest", a.Manifest, manifest)
	mustEqual(t, "signature", a.Signature, sig)

	// Only the rogue one left: the pinned parts are missing, and the pull
	// fails rather than taking what is there.
	refs := reg.raw().get(t, "/v2/comp/pinned/referrers/"+d)
	var idx ocispec.Index
	if err := json.Unmarshal(refs, &idx); err != nil {
		t.Fatal(err)
	}
	for _, r := range idx.Manifests {
		m := reg.raw().get(t, "/v2/comp/pinned/manifests/"+r.Digest.String())
		if strings.Contains(string(m), digest.FromBytes(manifest).String()) {
			reg.raw().del(t, "/v2/comp/pinned/manifests/"+r.Digest.String())
		}
	}
	a, _, err = oci.Pull(ctx, reg.ref("comp/pinned@"+d), plain)
	if !errors.Is(err, oci.ErrMissingExtras) {
		t.Fatalf("pull with the pinned referrer gone: %v", err)
	}
	if a.Wasm != nil || a.Manifest != nil {
		t.Fatal("a failed pull returned content")
	}
}

// TestGolden compares what Push writes with the files in testdata/golden
// (go test ./oci -run Golden -update rewrites them), and checks the main
// manifest against what wkg and wasmCloud's oci-wasm accept: an OCI image
// manifest with its mediaType set, the wasm config type, exactly one layer,
// application/wasm, and a config whose component lists are arrays.
func TestGolden(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	o := plain
	o.Created, o.Author = fixed, "airssys tests"
	d, err := oci.Push(ctx, reg.ref("comp/golden:1"), oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}, o)
	if err != nil {
		t.Fatal(err)
	}
	raw := reg.raw()
	mainJSON := raw.get(t, "/v2/comp/golden/manifests/1")
	var m ocispec.Manifest
	if err := json.Unmarshal(mainJSON, &m); err != nil {
		t.Fatal(err)
	}
	cfgJSON := raw.get(t, "/v2/comp/golden/blobs/"+m.Config.Digest.String())
	var idx ocispec.Index
	if err := json.Unmarshal(raw.get(t, "/v2/comp/golden/referrers/"+d), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("referrers: %+v", idx.Manifests)
	}
	refJSON := raw.get(t, "/v2/comp/golden/manifests/"+idx.Manifests[0].Digest.String())
	for name, got := range map[string][]byte{"manifest.json": mainJSON, "config.json": cfgJSON, "referrer.json": refJSON} {
		golden(t, name, got)
	}

	// What oci-wasm (wkg, wasmCloud) checks.
	if m.MediaType != ocispec.MediaTypeImageManifest || m.Config.MediaType != "application/vnd.wasm.config.v0+json" ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != "application/wasm" {
		t.Fatalf("not the wasm layout: %s", mainJSON)
	}
	var cfg struct {
		Created      time.Time
		Architecture string
		OS           string
		LayerDigests []string
		Component    *struct{ Exports, Imports []string }
	}
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.Created.Equal(fixed) || cfg.Architecture != "wasm" || cfg.OS != "wasip2" ||
		len(cfg.LayerDigests) != 1 || cfg.LayerDigests[0] != m.Layers[0].Digest.String() ||
		cfg.Component == nil || cfg.Component.Exports == nil || cfg.Component.Imports == nil {
		t.Fatalf("config: %s", cfgJSON)
	}
	if got, want := strings.Join(cfg.Component.Exports, ","), "run,echo-string,add"; got != want {
		t.Fatalf("exports %s, want %s", got, want)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	pretty = append(pretty, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(pretty) != string(want) {
		t.Errorf("%s differs from the golden file:\n got %s\nwant %s", name, pretty, want)
	}
}

func TestWrongBytesRefused(t *testing.T) {
	ctx := context.Background()
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	a := oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}
	flip := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		b[len(b)/2] ^= 0x20
		return b
	}
	longer := func(b []byte) []byte { return append(append([]byte(nil), b...), 0) }
	var pushed string
	for _, c := range []struct {
		name  string
		match func(*http.Request) bool
		f     func([]byte) []byte
		byRef bool // pull by digest
	}{
		{"wasm blob flipped", func(r *http.Request) bool { return isBlobGet(r, digest.FromBytes(wasm)) }, flip, false},
		{"wasm blob longer", func(r *http.Request) bool { return isBlobGet(r, digest.FromBytes(wasm)) }, longer, false},
		{"Component.toml flipped", func(r *http.Request) bool { return isBlobGet(r, digest.FromBytes(manifest)) }, flip, false},
		{"signature flipped", func(r *http.Request) bool { return isBlobGet(r, digest.FromBytes(sig)) }, flip, false},
		{"manifest by digest flipped", func(r *http.Request) bool {
			return r.Method == http.MethodGet && pushed != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+pushed)
		}, flip, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pushed = ""
			reg := startRegistry(t, regConfig{referrers: true, wrap: rewrite(func(r *http.Request) bool { return c.match(r) }, c.f)})
			d, err := oci.Push(ctx, reg.ref("comp/x:1"), a, plain)
			if err != nil {
				t.Fatal(err)
			}
			pushed = d
			ref := reg.ref("comp/x:1")
			if c.byRef {
				ref = reg.ref("comp/x@" + d)
			}
			got, gd, err := oci.Pull(ctx, ref, plain)
			if err == nil {
				t.Fatal("wrong bytes accepted")
			}
			t.Log(err)
			if !errors.Is(err, oci.ErrDigest) && !strings.Contains(err.Error(), "mismatch") {
				t.Fatalf("not a digest error: %v", err)
			}
			if got.Wasm != nil || got.Manifest != nil || got.Signature != nil || gd != "" {
				t.Fatal("a refused pull returned content")
			}
		})
	}
}

// dropMidBody sends the headers and half the body of the responses match
// picks, then drops the connection.
func dropMidBody(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return rewriteRaw(match, func(w http.ResponseWriter, code int, body []byte) {
		w.WriteHeader(code)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
}

func rewriteRaw(match func(*http.Request) bool, serve func(w http.ResponseWriter, code int, body []byte)) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !match(req) {
				h.ServeHTTP(w, req)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
			serve(w, rec.Code, rec.Body.Bytes())
		})
	}
}

func TestConnectionDropped(t *testing.T) {
	ctx := context.Background()
	wasm := make([]byte, 1<<20)
	rand.Read(wasm)
	copy(wasm, "\x00asm\x01\x00\x00\x00")
	manifest := []byte(testManifest)

	t.Run("mid blob", func(t *testing.T) {
		reg := startRegistry(t, regConfig{referrers: true, wrap: dropMidBody(func(r *http.Request) bool { return isBlobGet(r, digest.FromBytes(wasm)) })})
		if _, err := oci.Push(ctx, reg.ref("comp/drop:1"), oci.Artifact{Wasm: wasm, Manifest: manifest}, plain); err != nil {
			t.Fatal(err)
		}
		a, d, err := oci.Pull(ctx, reg.ref("comp/drop:1"), plain)
		if err == nil {
			t.Fatal("a dropped connection went unnoticed")
		}
		t.Log(err)
		if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "connection ended after") {
			t.Fatalf("unclear error: %v", err)
		}
		if a.Wasm != nil || a.Manifest != nil || d != "" {
			t.Fatal("half a pull returned")
		}
	})

	t.Run("registry gone", func(t *testing.T) {
		var reg *testRegistry
		reg = startRegistry(t, regConfig{referrers: true, wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if isBlobGet(r, digest.FromBytes(wasm)) {
					reg.srv.Listener.Close() // nothing answers any more
					panic(http.ErrAbortHandler)
				}
				h.ServeHTTP(w, r)
			})
		}})
		if _, err := oci.Push(ctx, reg.ref("comp/gone:1"), oci.Artifact{Wasm: wasm, Manifest: manifest}, plain); err != nil {
			t.Fatal(err)
		}
		a, d, err := oci.Pull(ctx, reg.ref("comp/gone:1"), plain)
		if err == nil {
			t.Fatal("a vanished registry went unnoticed")
		}
		t.Log(err)
		if !strings.Contains(err.Error(), "fetching wasm layer") {
			t.Fatalf("unclear error: %v", err)
		}
		if a.Wasm != nil || a.Manifest != nil || d != "" {
			t.Fatal("half a pull returned")
		}
	})
}

func TestSizeCaps(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	if _, err := oci.Push(ctx, reg.ref("comp/caps:1"), oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}, plain); err != nil {
		t.Fatal(err)
	}
	o := plain
	o.MaxBlobBytes = int64(len(wasm)) - 1
	if _, _, err := oci.Pull(ctx, reg.ref("comp/caps:1"), o); !errors.Is(err, oci.ErrTooLarge) {
		t.Fatalf("wasm over MaxBlobBytes: %v", err)
	}
	if _, err := oci.Push(ctx, reg.ref("comp/caps:2"), oci.Artifact{Wasm: wasm}, o); !errors.Is(err, oci.ErrTooLarge) {
		t.Fatalf("push over MaxBlobBytes: %v", err)
	}
	o.MaxBlobBytes = int64(len(wasm))
	if _, _, err := oci.Pull(ctx, reg.ref("comp/caps:1"), o); err != nil {
		t.Fatalf("wasm at MaxBlobBytes: %v", err)
	}
	o = plain
	o.MaxManifestBytes = 200
	if _, _, err := oci.Pull(ctx, reg.ref("comp/caps:1"), o); !errors.Is(err, oci.ErrTooLarge) {
		t.Fatalf("manifest over MaxManifestBytes: %v", err)
	}

	// A Component.toml over security.MaxManifestFile, pinned: refused before
	// it is downloaded (the registry would serve it).
	big := make([]byte, security.MaxManifestFile+1)
	for i := range big {
		big[i] = '#'
	}
	if _, err := oci.Push(ctx, reg.ref("comp/caps:3"), oci.Artifact{Wasm: wasm, Manifest: big}, plain); !errors.Is(err, oci.ErrTooLarge) {
		t.Fatalf("push of a big Component.toml: %v", err)
	}
	served := false
	reg2 := startRegistry(t, regConfig{referrers: true, wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isBlobGet(r, digest.FromBytes(big)) {
				served = true
			}
			h.ServeHTTP(w, r)
		})
	}})
	d := pushForeign(t, reg2, "comp/big", "1", wasm, map[string]string{oci.AnnotationManifestDigest: digest.FromBytes(big).String()})
	attach(t, reg2, "comp/big", d, big, nil)
	if _, _, err := oci.Pull(ctx, reg2.ref("comp/big:1"), plain); !errors.Is(err, oci.ErrTooLarge) || served {
		t.Fatalf("big pinned Component.toml: %v (downloaded: %v)", err, served)
	}
}

func TestPlainHTTP(t *testing.T) {
	ctx := context.Background()
	wasm := minimalWasm(t)
	for _, ref := range []string{"registry.example.com/a/b:1", "10.0.0.1:5000/a/b:1", "[fe80::1]:5000/a/b:1", "127.0.0.1.nip.io/a/b:1"} {
		if _, _, err := oci.Pull(ctx, ref, plain); !errors.Is(err, oci.ErrPlainHTTP) {
			t.Fatalf("plain HTTP pull from %s: %v", ref, err)
		}
		if _, err := oci.Push(ctx, ref, oci.Artifact{Wasm: wasm}, plain); !errors.Is(err, oci.ErrPlainHTTP) {
			t.Fatalf("plain HTTP push to %s: %v", ref, err)
		}
	}

	reg := startRegistry(t, regConfig{referrers: true})
	// Without the flag, a plain HTTP registry is not spoken to.
	_, err := oci.Push(ctx, reg.ref("comp/p:1"), oci.Artifact{Wasm: wasm}, oci.Options{})
	if err == nil || !strings.Contains(err.Error(), "HTTP response to HTTPS client") {
		t.Fatalf("push over HTTPS to a plain registry: %v", err)
	}
	// localhost is loopback.
	port := reg.host[strings.LastIndex(reg.host, ":"):]
	if _, err := oci.Push(ctx, "localhost"+port+"/comp/p:1", oci.Artifact{Wasm: wasm}, plain); err != nil {
		t.Fatalf("localhost: %v", err)
	}

	// A loopback registry redirecting elsewhere over plain HTTP: refused at
	// the dial, whatever the address.
	redir := startRegistry(t, regConfig{referrers: true, wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isBlobGet(r, digest.FromBytes(wasm)) {
				http.Redirect(w, r, "http://192.0.2.1/blob", http.StatusTemporaryRedirect)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	if _, err := oci.Push(ctx, redir.ref("comp/r:1"), oci.Artifact{Wasm: wasm}, plain); err != nil {
		t.Fatal(err)
	}
	if _, _, err := oci.Pull(ctx, redir.ref("comp/r:1"), plain); !errors.Is(err, oci.ErrPlainHTTP) {
		t.Fatalf("redirect off loopback: %v", err)
	}
}

func TestHTTPS(t *testing.T) {
	ctx := context.Background()
	wasm := minimalWasm(t)
	var plainURL string
	reg := startRegistry(t, regConfig{referrers: true, tls: true, wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && plainURL != "" {
				http.Redirect(w, r, plainURL+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	pool := x509.NewCertPool()
	pool.AddCert(reg.srv.Certificate())
	o := oci.Options{RootCAs: pool}
	d, err := oci.Push(ctx, reg.ref("comp/tls:1"), oci.Artifact{Wasm: wasm}, o)
	if err != nil {
		t.Fatal(err)
	}
	a, gd, err := oci.Pull(ctx, reg.ref("comp/tls:1"), o)
	if err != nil || gd != d {
		t.Fatalf("pull over TLS: %v (%s, pushed %s)", err, gd, d)
	}
	mustEqual(t, "wasm", a.Wasm, wasm)
	if _, _, err := oci.Pull(ctx, reg.ref("comp/tls:1"), oci.Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unknown CA: %v", err)
	}
	// An HTTPS registry redirecting a blob to plain HTTP: refused.
	other := startRegistry(t, regConfig{})
	plainURL = other.srv.URL
	if _, _, err := oci.Pull(ctx, reg.ref("comp/tls:1"), o); !errors.Is(err, oci.ErrPlainHTTP) {
		t.Fatalf("redirect to plain HTTP: %v", err)
	}
}

func TestLayout(t *testing.T) {
	ctx := context.Background()
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	a := oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}
	o := oci.Options{Created: fixed}
	dir := filepath.Join(t.TempDir(), "layout")
	d, err := oci.PushLayout(ctx, dir, "1.0.0", a, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"1.0.0", d} {
		got, gd, err := oci.PullLayout(ctx, dir, ref, oci.Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if gd != d {
			t.Fatalf("resolved to %s, pushed %s", gd, d)
		}
		mustEqual(t, "wasm", got.Wasm, wasm)
		mustEqual(t, "manifest", got.Manifest, manifest)
		mustEqual(t, "signature", got.Signature, sig)
	}
	// The same artifact in a registry has the same digest.
	reg := startRegistry(t, regConfig{referrers: true})
	o.PlainHTTP = true
	if rd, err := oci.Push(ctx, reg.ref("comp/l:1.0.0"), a, o); err != nil || rd != d {
		t.Fatalf("registry push: %s %v, layout %s", rd, err, d)
	}
	if _, _, err := oci.PullLayout(ctx, dir, "2.0.0", oci.Options{}); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("missing tag: %v", err)
	}

	// A blob changed on disk: refused.
	p := filepath.Join(dir, "blobs", "sha256", digest.FromBytes(wasm).Encoded())
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _, err := oci.PullLayout(ctx, dir, "1.0.0", oci.Options{}); !errors.Is(err, oci.ErrDigest) || got.Wasm != nil {
		t.Fatalf("tampered layout: %v", err)
	}
}

// TestForeignLayout reads a layout written by hand, as the image-layout
// spec describes it: oci-layout, index.json, blobs/sha256.
func TestForeignLayout(t *testing.T) {
	dir := t.TempDir()
	wasm := minimalWasm(t)
	write := func(b []byte) ocispec.Descriptor {
		d := digest.FromBytes(b)
		if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", d.Encoded()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return ocispec.Descriptor{Digest: d, Size: int64(len(b))}
	}
	layer := write(wasm)
	layer.MediaType = oci.MediaTypeWasm
	cfg := write(wasmConfigOf(wasm))
	cfg.MediaType = oci.MediaTypeWasmConfig
	mb, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: []ocispec.Descriptor{layer}})
	md := write(mb)
	md.MediaType = ocispec.MediaTypeImageManifest
	md.Annotations = map[string]string{ocispec.AnnotationRefName: "v1"}
	ib, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{md}})
	os.WriteFile(filepath.Join(dir, "index.json"), ib, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)

	a, d, err := oci.PullLayout(context.Background(), dir, "v1", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d != md.Digest.String() {
		t.Fatalf("resolved to %s, want %s", d, md.Digest)
	}
	mustEqual(t, "wasm", a.Wasm, wasm)
	if a.Manifest != nil || a.Signature != nil {
		t.Fatal("extras from nowhere")
	}
}

func TestNotWasm(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	raw := reg.raw()
	wasm := minimalWasm(t)
	layer := raw.blob(t, "x/y", oci.MediaTypeWasm, wasm)
	cfg := raw.blob(t, "x/y", oci.MediaTypeWasmConfig, wasmConfigOf(wasm))
	imgCfg := raw.blob(t, "x/y", ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux"}`))
	man := func(c ocispec.Descriptor, layers ...ocispec.Descriptor) ocispec.Manifest {
		return ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: c, Layers: layers}
	}
	one := raw.manifest(t, "x/y", "ok", man(cfg, layer))
	raw.manifest(t, "x/y", "image", man(imgCfg, layer))
	raw.manifest(t, "x/y", "two", man(cfg, layer, layer))
	raw.manifest(t, "x/y", "none", man(cfg))
	raw.manifest(t, "x/y", "index", ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{one}})
	if _, _, err := oci.Pull(ctx, reg.ref("x/y:ok"), plain); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"image", "two", "none", "index"} {
		if _, _, err := oci.Pull(ctx, reg.ref("x/y:"+tag), plain); !errors.Is(err, oci.ErrNotWasm) {
			t.Fatalf("%s: %v", tag, err)
		}
	}
	if _, _, err := oci.Pull(ctx, reg.ref("x/y:missing"), plain); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestPushRefuses(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	for name, c := range map[string]struct {
		ref string
		a   oci.Artifact
		is  error
	}{
		"not wasm":            {reg.ref("a/b:1"), oci.Artifact{Wasm: []byte("#!/bin/sh\necho hi\n")}, oci.ErrNotWasm},
		"signature of other":  {reg.ref("a/b:1"), oci.Artifact{Wasm: wasm, Manifest: []byte(testManifest + "\n"), Signature: sig}, security.ErrSignature},
		"malformed signature": {reg.ref("a/b:1"), oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: []byte("nope")}, security.ErrSignature},
		"no tag":              {reg.ref("a/b"), oci.Artifact{Wasm: wasm}, nil},
		"digest, no tag":      {reg.ref("a/b@" + digest.FromBytes(wasm).String()), oci.Artifact{Wasm: wasm}, nil},
	} {
		_, err := oci.Push(ctx, c.ref, c.a, plain)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, _, err := oci.Pull(ctx, reg.ref("a/b:1"), plain); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("a refused push left a tag: %v", err)
	}
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	wasm := minimalWasm(t)
	reg := startRegistry(t, regConfig{referrers: true, wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "nowhere")) // no ambient credentials
	if _, err := oci.Push(ctx, reg.ref("comp/auth:1"), oci.Artifact{Wasm: wasm}, plain); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("anonymous push: %v", err)
	}

	cfg := filepath.Join(dir, "docker", "config.json")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	if err := os.WriteFile(cfg, []byte(`{"auths":{"`+reg.host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := plain
	o.CredentialsFile = cfg
	d, err := oci.Push(ctx, reg.ref("comp/auth:1"), oci.Artifact{Wasm: wasm}, o)
	if err != nil {
		t.Fatalf("push with a config file: %v", err)
	}

	t.Setenv("DOCKER_CONFIG", filepath.Dir(cfg))
	if _, gd, err := oci.Pull(ctx, reg.ref("comp/auth:1"), plain); err != nil || gd != d {
		t.Fatalf("pull with DOCKER_CONFIG: %v", err)
	}

	o = plain
	o.Credentials = func(_ context.Context, host string) (string, string, error) {
		if host != reg.host {
			t.Errorf("credentials asked for %s", host)
		}
		return "alice", "s3cret", nil
	}
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "nowhere"))
	if _, _, err := oci.Pull(ctx, reg.ref("comp/auth:1"), o); err != nil {
		t.Fatalf("pull with a credentials func: %v", err)
	}
	o.Credentials = func(context.Context, string) (string, string, error) { return "alice", "wrong", nil }
	if _, _, err := oci.Pull(ctx, reg.ref("comp/auth:1"), o); err == nil {
		t.Fatal("wrong password accepted")
	}
	// No home and no $DOCKER_CONFIG: anonymous, which this registry refuses
	// (and a registry that wants no credentials serves).
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("HOME", "")
	if _, _, err := oci.Pull(ctx, reg.ref("comp/auth:1"), plain); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("no home: %v", err)
	}
	open := startRegistry(t, regConfig{referrers: true})
	if _, err := oci.Push(ctx, open.ref("comp/anon:1"), oci.Artifact{Wasm: wasm}, plain); err != nil {
		t.Fatalf("anonymous push without a home: %v", err)
	}

	// A config file that is not JSON is an error, not anonymous access.
	os.WriteFile(cfg, []byte("{"), 0o600)
	o = plain
	o.CredentialsFile = cfg
	if _, _, err := oci.Pull(ctx, reg.ref("comp/auth:1"), o); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("broken config file: %v", err)
	}
}

// BenchmarkPull pulls an 8 MiB wasm blob from the in-process registry.
func BenchmarkPull(b *testing.B) {
	ctx := context.Background()
	reg := startRegistry(b, regConfig{referrers: true})
	wasm := make([]byte, 8<<20)
	rand.Read(wasm)
	copy(wasm, "\x00asm\x01\x00\x00\x00")
	if _, err := oci.Push(ctx, reg.ref("bench/big:1"), oci.Artifact{Wasm: wasm, Manifest: []byte(testManifest)}, plain); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wasm)))
	b.ResetTimer()
	for b.Loop() {
		a, _, err := oci.Pull(ctx, reg.ref("bench/big:1"), plain)
		if err != nil || len(a.Wasm) != len(wasm) {
			b.Fatal(err)
		}
	}
}
