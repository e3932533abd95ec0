package oci_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/oci"
)

// TestOrasCLI checks interoperability with the oras command line tool, when
// it is installed (on PATH, or named by $ORAS; `go install
// oras.land/oras/cmd/oras@v1.3.6` builds it): what we push, oras pulls and
// discovers; what oras pushes in the wasm layout, and what it copies into a
// layout directory, we pull.
func TestOrasCLI(t *testing.T) {
	bin := os.Getenv("ORAS")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("oras"); err != nil {
			t.Skip("the oras CLI is not installed")
		}
	}
	ctx := context.Background()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	oras := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	reg := startRegistry(t, regConfig{referrers: true})
	wasm := minimalWasm(t)
	manifest, sig := signedArtifact(t, wasm)
	d, err := oci.Push(ctx, reg.ref("comp/oras:1"), oci.Artifact{Wasm: wasm, Manifest: manifest, Signature: sig}, plain)
	if err != nil {
		t.Fatal(err)
	}

	// oras pulls the component as component.wasm.
	dir := t.TempDir()
	oras(dir, "pull", "--plain-http", "-o", dir, reg.ref("comp/oras:1"))
	got, _ := os.ReadFile(filepath.Join(dir, oci.TitleWasm))
	mustEqual(t, "wasm pulled by oras", got, wasm)

	// oras discovers the extras, and pulls them as Component.toml and
	// component.wasm.sig.
	var tree struct {
		Referrers []struct {
			Digest       string
			ArtifactType string
		}
	}
	// (go-containerregistry's registry lists a referrer under its config's
	// media type, not its artifactType.)
	out := oras(dir, "discover", "--plain-http", "--format", "json", reg.ref("comp/oras@"+d))
	if err := json.Unmarshal([]byte(out), &tree); err != nil || len(tree.Referrers) != 1 ||
		(tree.Referrers[0].ArtifactType != oci.ArtifactTypeExtras && tree.Referrers[0].ArtifactType != "application/vnd.oci.empty.v1+json") {
		t.Fatalf("oras discover: %v\n%s", err, out)
	}
	if m := oras(dir, "manifest", "fetch", "--plain-http", reg.ref("comp/oras@"+tree.Referrers[0].Digest)); !strings.Contains(m, oci.ArtifactTypeExtras) {
		t.Fatalf("referrer manifest: %s", m)
	}
	oras(dir, "pull", "--plain-http", "-o", dir, reg.ref("comp/oras@"+tree.Referrers[0].Digest))
	got, _ = os.ReadFile(filepath.Join(dir, oci.TitleManifest))
	mustEqual(t, "Component.toml pulled by oras", got, manifest)
	got, _ = os.ReadFile(filepath.Join(dir, oci.TitleSignature))
	mustEqual(t, "signature pulled by oras", got, sig)

	// oras copies the artifact and its referrers into a layout directory,
	// and we install from it.
	layout := filepath.Join(t.TempDir(), "layout")
	oras(dir, "cp", "-r", "--from-plain-http", "--to-oci-layout", reg.ref("comp/oras:1"), layout+":1")
	a, ld, err := oci.PullLayout(ctx, layout, "1", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ld != d {
		t.Fatalf("layout resolved to %s, pushed %s", ld, d)
	}
	mustEqual(t, "wasm", a.Wasm, wasm)
	mustEqual(t, "manifest", a.Manifest, manifest)
	mustEqual(t, "signature", a.Signature, sig)

	// oras pushes a component in the wasm layout: config and one
	// application/wasm layer. It pulls without extras.
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "c.wasm"), wasm, 0o644)
	os.WriteFile(filepath.Join(src, "config.json"), wasmConfigOf(wasm), 0o644)
	oras(src, "push", "--plain-http", "--config", "config.json:"+oci.MediaTypeWasmConfig, reg.ref("comp/foreign:1"), "c.wasm:"+oci.MediaTypeWasm)
	a, _, err = oci.Pull(ctx, reg.ref("comp/foreign:1"), plain)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "wasm pushed by oras", a.Wasm, wasm)
	if a.Manifest != nil || a.Signature != nil {
		t.Fatal("extras from nowhere")
	}
}
