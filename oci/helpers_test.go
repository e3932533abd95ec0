package oci_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testRegistry is go-containerregistry's registry, in this process, on
// 127.0.0.1, behind an optional wrapper.
type testRegistry struct {
	srv  *httptest.Server
	host string // 127.0.0.1:port
}

type regConfig struct {
	referrers bool // serve the referrers API (else the tag schema is used)
	wrap      func(http.Handler) http.Handler
	tls       bool
}

func startRegistry(t testing.TB, c regConfig) *testRegistry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(c.referrers))
	if c.wrap != nil {
		h = c.wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	if c.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &testRegistry{srv: srv, host: strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")}
}

func (r *testRegistry) ref(repoTag string) string { return r.host + "/" + repoTag }

// raw is a client of the distribution API written for the tests (another
// tool, as far as the package is concerned).
func (r *testRegistry) raw() rawRepo { return rawRepo{base: r.srv.URL, client: r.srv.Client()} }

type rawRepo struct {
	base   string
	client *http.Client
}

func (r rawRepo) blob(t testing.TB, repo, mediaType string, b []byte) ocispec.Descriptor {
	t.Helper()
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	resp, err := r.client.Post(r.base+"/v2/"+repo+"/blobs/uploads/?digest="+d.Digest.String(), "application/octet-stream", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("blob upload: %s", resp.Status)
	}
	return d
}

func (r rawRepo) manifest(t testing.TB, repo, ref string, m any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	mt := ocispec.MediaTypeImageManifest
	var probe struct{ MediaType string }
	if json.Unmarshal(b, &probe) == nil && probe.MediaType != "" {
		mt = probe.MediaType
	}
	d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if ref == "" {
		ref = d.Digest.String()
	}
	req, _ := http.NewRequest(http.MethodPut, r.base+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(b))
	req.Header.Set("Content-Type", mt)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("manifest put: %s", resp.Status)
	}
	return d
}

func (r rawRepo) get(t testing.TB, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.base+path, nil)
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest+", "+ocispec.MediaTypeImageIndex)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return b
}

func (r rawRepo) del(t testing.TB, path string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, r.base+path, nil)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE %s: %s", path, resp.Status)
	}
}

// isBlobGet says whether req fetches the blob d.
func isBlobGet(req *http.Request, d digest.Digest) bool {
	return req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/blobs/"+d.String())
}

// rewrite serves what h would, with the body changed by f for the requests
// match picks (the headers, Content-Length and Docker-Content-Digest
// included, are the registry's).
func rewrite(match func(*http.Request) bool, f func([]byte) []byte) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !match(req) {
				h.ServeHTTP(w, req)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := f(rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
}

func minimalWasm(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/minimal.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const testManifest = `[component]
name = "minimal"
version = "1.0.0"
description = "the minimal fixture"

[resources]
memory = "16MiB"
`

// testKey is a fixed key, so that signatures (Ed25519 is deterministic), and
// so the golden manifests, do not change from run to run.
func testKey(t testing.TB) security.PrivateKey {
	t.Helper()
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	k, err := security.ParsePrivateKey("ed25519-private:" + base64.StdEncoding.EncodeToString(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signedArtifact(t testing.TB, wasm []byte) ([]byte, []byte) {
	t.Helper()
	m := []byte(testManifest)
	return m, security.Sign(testKey(t), wasm, m).Marshal()
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (%q...), want %d bytes", what, len(got), clip(got), len(want))
	}
}

func clip(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return fmt.Sprintf("%x", b)
}
