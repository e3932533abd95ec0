package oci

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
)

// Media types and annotations of the layout (see the package documentation).
const (
	MediaTypeWasmConfig = "application/vnd.wasm.config.v0+json"
	MediaTypeWasm       = "application/wasm"

	ArtifactTypeExtras         = "application/vnd.airssys.component.extras.v1"
	MediaTypeComponentManifest = "application/vnd.airssys.component.manifest.v1+toml"
	MediaTypeSignature         = "application/vnd.airssys.signature.v1"

	AnnotationManifestDigest  = "io.github.airsstack.wasm.manifest.digest"
	AnnotationSignatureDigest = "io.github.airsstack.wasm.signature.digest"

	// File names given to the layers (org.opencontainers.image.title), which
	// `oras pull` writes them as.
	TitleWasm      = "component.wasm"
	TitleManifest  = "Component.toml"
	TitleSignature = "component.wasm.sig"
)

// Defaults of the size caps.
const (
	DefaultMaxManifestBytes = 4 << 20   // what registries must accept at least
	DefaultMaxBlobBytes     = 128 << 20 // engine.Config.MaxWasmBytes' default
)

// Errors, matched with errors.Is.
var (
	// ErrDigest: content that does not match its digest or size (a registry
	// or layout serving other bytes).
	ErrDigest = errors.New("oci: content does not match its digest")
	// ErrTooLarge: a manifest or blob over its cap.
	ErrTooLarge = errors.New("oci: too large")
	// ErrNotWasm: the reference names something that is not a wasm artifact
	// in the layout (another config type, an index, no or several
	// application/wasm layers).
	ErrNotWasm = errors.New("oci: not a wasm artifact")
	// ErrPlainHTTP: plain HTTP asked for a registry that is not loopback, or
	// a plain-HTTP connection or redirect refused.
	ErrPlainHTTP = errors.New("oci: plain HTTP refused")
	// ErrNotFound: no such tag, digest or blob.
	ErrNotFound = errors.New("oci: not found")
	// ErrMissingExtras: the artifact pins a Component.toml or signature that
	// the registry does not hold (no referrer with those digests).
	ErrMissingExtras = errors.New("oci: pinned Component.toml or signature not found")
)

// Artifact is what is pushed and pulled: the wasm bytes, and the
// Component.toml and signature file when there are (nil when absent, as for
// a component pushed by another tool).
type Artifact struct {
	Wasm      []byte
	Manifest  []byte // Component.toml as signed
	Signature []byte // security.Signature.Marshal()
}

// Options for pushes and pulls. The zero value uses HTTPS, the default caps
// and the docker config file's credentials.
type Options struct {
	// PlainHTTP uses http:// instead of https://; refused unless the
	// registry host is loopback (localhost, 127.0.0.0/8, ::1).
	PlainHTTP bool
	// MaxManifestBytes caps every manifest read (and a referrers list);
	// 0 means DefaultMaxManifestBytes.
	MaxManifestBytes int64
	// MaxBlobBytes caps the wasm layer, pushed or pulled; 0 means
	// DefaultMaxBlobBytes.
	MaxBlobBytes int64
	// CredentialsFile is a docker-style config.json; "" means
	// $DOCKER_CONFIG/config.json, else ~/.docker/config.json (a missing file
	// means no credentials).
	CredentialsFile string
	// Credentials, when set, is asked for the user name and password of a
	// registry host ("host:port") instead of the config file; "", "" means
	// anonymous.
	Credentials func(ctx context.Context, host string) (username, password string, err error)
	// RootCAs verifies the registry's TLS certificate; nil means the
	// system's roots.
	RootCAs *x509.CertPool
	// Created is the config's creation time; zero means now.
	Created time.Time
	// Author is the config's author; "" leaves it out.
	Author string
}

func (o Options) maxManifest() int64 {
	if o.MaxManifestBytes > 0 {
		return o.MaxManifestBytes
	}
	return DefaultMaxManifestBytes
}

func (o Options) maxBlob() int64 {
	if o.MaxBlobBytes > 0 {
		return o.MaxBlobBytes
	}
	return DefaultMaxBlobBytes
}

// Push pushes a as ref ("host[:port]/repository:tag") and returns the digest
// of the component's manifest. Blobs go first, then the manifests, and the
// tag last, so that nobody pulling the tag sees part of it.
func Push(ctx context.Context, ref string, a Artifact, o Options) (string, error) {
	repo, err := newRepository(ref, o)
	if err != nil {
		return "", err
	}
	tag := repo.Reference.Reference
	if err := repo.Reference.ValidateReferenceAsTag(); err != nil {
		return "", fmt.Errorf("oci: push %s: the reference needs a tag (repository:tag)", ref)
	}
	d, err := push(ctx, repo, tag, a, o)
	if err != nil {
		return "", fmt.Errorf("oci: push %s: %w", ref, err)
	}
	return d, nil
}

// Pull pulls the artifact ref names ("host[:port]/repository:tag" or
// "...@sha256:<hex>") and returns it with the digest of the manifest the
// reference resolved to. On any error it returns no artifact.
func Pull(ctx context.Context, ref string, o Options) (Artifact, string, error) {
	repo, err := newRepository(ref, o)
	if err != nil {
		return Artifact{}, "", err
	}
	if repo.Reference.Reference == "" {
		return Artifact{}, "", fmt.Errorf("oci: pull %s: the reference needs a tag or a digest", ref)
	}
	a, d, err := pull(ctx, repo, repo.Reference.Reference, o)
	if err != nil {
		err = fmt.Errorf("oci: pull %s: %w", ref, err)
	}
	return a, d, err
}

// PushLayout writes a into the OCI image layout directory dir (made if
// missing) under tag, and returns the digest of the component's manifest.
func PushLayout(ctx context.Context, dir, tag string, a Artifact, o Options) (string, error) {
	if err := (registry.Reference{Registry: "localhost", Repository: "x", Reference: tag}).ValidateReferenceAsTag(); err != nil {
		return "", fmt.Errorf("oci: push to layout %s: %q is not a tag", dir, tag)
	}
	store, err := openLayout(ctx, dir)
	if err != nil {
		return "", err
	}
	d, err := push(ctx, store, tag, a, o)
	if err != nil {
		return "", fmt.Errorf("oci: push to layout %s:%s: %w", dir, tag, err)
	}
	return d, nil
}

// PullLayout reads the artifact ref names (a tag, or "sha256:<hex>") from the
// OCI image layout directory dir, with the same checks as Pull.
func PullLayout(ctx context.Context, dir, ref string, o Options) (Artifact, string, error) {
	store, err := readLayout(ctx, dir)
	if err != nil {
		return Artifact{}, "", err
	}
	a, d, err := pull(ctx, store, ref, o)
	if err != nil {
		err = fmt.Errorf("oci: pull from layout %s:%s: %w", dir, ref, err)
	}
	return a, d, err
}

// ---- push

func push(ctx context.Context, t oras.Target, tag string, a Artifact, o Options) (string, error) {
	if err := checkArtifact(a, o); err != nil {
		return "", err
	}
	wasmDesc := descriptorOf(MediaTypeWasm, a.Wasm, TitleWasm)
	cfg, err := wasmConfigJSON(a.Wasm, wasmDesc.Digest, o)
	if err != nil {
		return "", err
	}
	cfgDesc := descriptorOf(MediaTypeWasmConfig, cfg, "")

	var extras []ocispec.Descriptor
	var extraBytes [][]byte
	annotations := map[string]string{}
	if a.Manifest != nil {
		d := descriptorOf(MediaTypeComponentManifest, a.Manifest, TitleManifest)
		extras, extraBytes = append(extras, d), append(extraBytes, a.Manifest)
		annotations[AnnotationManifestDigest] = d.Digest.String()
	}
	if a.Signature != nil {
		d := descriptorOf(MediaTypeSignature, a.Signature, TitleSignature)
		extras, extraBytes = append(extras, d), append(extraBytes, a.Signature)
		annotations[AnnotationSignatureDigest] = d.Digest.String()
	}
	if len(annotations) == 0 {
		annotations = nil
	}

	main, err := json.Marshal(ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      cfgDesc,
		Layers:      []ocispec.Descriptor{wasmDesc},
		Annotations: annotations,
	})
	if err != nil {
		return "", err
	}
	mainDesc := descriptorOf(ocispec.MediaTypeImageManifest, main, "")

	if err := pushBlob(ctx, t, wasmDesc, a.Wasm); err != nil {
		return "", err
	}
	if err := pushBlob(ctx, t, cfgDesc, cfg); err != nil {
		return "", err
	}
	if err := pushBlob(ctx, t, mainDesc, main); err != nil {
		return "", err
	}
	if len(extras) > 0 {
		for i, d := range extras {
			if err := pushBlob(ctx, t, d, extraBytes[i]); err != nil {
				return "", err
			}
		}
		if err := pushBlob(ctx, t, ocispec.DescriptorEmptyJSON, ocispec.DescriptorEmptyJSON.Data); err != nil {
			return "", err
		}
		subject := mainDesc
		ref, err := json.Marshal(ocispec.Manifest{
			Versioned:    specs.Versioned{SchemaVersion: 2},
			MediaType:    ocispec.MediaTypeImageManifest,
			ArtifactType: ArtifactTypeExtras,
			Config:       ocispec.DescriptorEmptyJSON,
			Layers:       extras,
			Subject:      &subject,
		})
		if err != nil {
			return "", err
		}
		if err := pushBlob(ctx, t, descriptorOf(ocispec.MediaTypeImageManifest, ref, ""), ref); err != nil {
			return "", err
		}
	}
	if rp, ok := t.(registry.ReferencePusher); ok {
		err = rp.PushReference(ctx, mainDesc, bytes.NewReader(main), tag)
	} else {
		err = t.Tag(ctx, mainDesc, tag)
	}
	if err != nil {
		return "", fmt.Errorf("tagging %s as %s: %w", mainDesc.Digest, tag, mapErr(err))
	}
	return mainDesc.Digest.String(), nil
}

// checkArtifact refuses what would not pull back, or is not what it says.
func checkArtifact(a Artifact, o Options) error {
	if len(a.Wasm) < 8 || !bytes.HasPrefix(a.Wasm, []byte("\x00asm")) {
		return fmt.Errorf("%w: the wasm bytes are not a WebAssembly binary (no \\0asm header)", ErrNotWasm)
	}
	if int64(len(a.Wasm)) > o.maxBlob() {
		return fmt.Errorf("%w: wasm of %d bytes, over the cap of %d (Options.MaxBlobBytes)", ErrTooLarge, len(a.Wasm), o.maxBlob())
	}
	if a.Manifest != nil && len(a.Manifest) > security.MaxManifestFile {
		return fmt.Errorf("%w: Component.toml of %d bytes, over %d", ErrTooLarge, len(a.Manifest), security.MaxManifestFile)
	}
	if a.Signature != nil {
		if len(a.Signature) > security.MaxSignatureFile {
			return fmt.Errorf("%w: signature of %d bytes, over %d", ErrTooLarge, len(a.Signature), security.MaxSignatureFile)
		}
		sig, err := security.ParseSignature(a.Signature)
		if err != nil {
			return err
		}
		if _, err := sig.Verify(a.Wasm, a.Manifest); err != nil {
			return fmt.Errorf("refusing to push a signature that does not verify: %w", err)
		}
	}
	return nil
}

func descriptorOf(mediaType string, b []byte, title string) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if title != "" {
		d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
	}
	return d
}

// pushBlob pushes b unless the target has it already.
func pushBlob(ctx context.Context, t content.Storage, d ocispec.Descriptor, b []byte) error {
	ok, err := t.Exists(ctx, d)
	if err != nil {
		return fmt.Errorf("checking for %s %s: %w", d.MediaType, d.Digest, mapErr(err))
	}
	if ok {
		return nil
	}
	if err := t.Push(ctx, d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return fmt.Errorf("pushing %s %s (%d bytes): %w", d.MediaType, d.Digest, d.Size, mapErr(err))
	}
	return nil
}

// ---- pull

var manifestTypes = map[string]bool{
	ocispec.MediaTypeImageManifest:                         true,
	"application/vnd.docker.distribution.manifest.v2+json": true,
}

// pull returns all of the artifact or, on any error, none of it.
func pull(ctx context.Context, t oras.ReadOnlyGraphTarget, ref string, o Options) (Artifact, string, error) {
	desc, err := t.Resolve(ctx, ref)
	if err != nil {
		return Artifact{}, "", fmt.Errorf("resolving %s: %w", ref, mapErr(err))
	}
	if !manifestTypes[desc.MediaType] {
		return Artifact{}, "", fmt.Errorf("%w: %s is a %s, not an image manifest", ErrNotWasm, ref, desc.MediaType)
	}
	mb, err := fetch(ctx, t, desc, "manifest", o.maxManifest(), "Options.MaxManifestBytes")
	if err != nil {
		return Artifact{}, "", err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return Artifact{}, "", fmt.Errorf("%w: manifest %s is not valid JSON: %v", ErrNotWasm, desc.Digest, err)
	}
	if m.Config.MediaType != MediaTypeWasmConfig {
		return Artifact{}, "", fmt.Errorf("%w: config media type %q, want %s", ErrNotWasm, m.Config.MediaType, MediaTypeWasmConfig)
	}
	var wasm []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == MediaTypeWasm {
			wasm = append(wasm, l)
		}
	}
	if len(wasm) != 1 {
		return Artifact{}, "", fmt.Errorf("%w: %d %s layers, want exactly one", ErrNotWasm, len(wasm), MediaTypeWasm)
	}

	var a Artifact
	if pins := pinsOf(m.Annotations); len(pins) > 0 {
		if a.Manifest, a.Signature, err = pullExtras(ctx, t, desc, pins, o); err != nil {
			return Artifact{}, "", err
		}
	}
	if a.Wasm, err = fetch(ctx, t, wasm[0], "wasm layer", o.maxBlob(), "Options.MaxBlobBytes"); err != nil {
		return Artifact{}, "", err
	}
	return a, desc.Digest.String(), nil
}

// pinsOf reads the extras' digests from the manifest's annotations.
func pinsOf(ann map[string]string) map[string]string {
	pins := map[string]string{}
	if v, ok := ann[AnnotationManifestDigest]; ok {
		pins[MediaTypeComponentManifest] = v
	}
	if v, ok := ann[AnnotationSignatureDigest]; ok {
		pins[MediaTypeSignature] = v
	}
	return pins
}

// maxReferrers bounds how many referrers of our artifact type are looked at.
const maxReferrers = 32

// pullExtras finds, among subject's referrers of ArtifactTypeExtras, the
// layers whose digests are pinned, and reads them.
func pullExtras(ctx context.Context, t oras.ReadOnlyGraphTarget, subject ocispec.Descriptor, pins map[string]string, o Options) (manifest, sig []byte, err error) {
	for mt, v := range pins {
		if _, err := digest.Parse(v); err != nil {
			return nil, nil, fmt.Errorf("%w: annotation for %s holds %q, not a digest", ErrNotWasm, mt, v)
		}
	}
	// No artifactType filter is asked of the registry: some list a
	// referrer under its config's media type (an early reading of OCI 1.1),
	// and a client-side filter would then drop ours. The manifest fetched
	// says what it is.
	refs, err := registry.Referrers(ctx, t, subject, "")
	if err != nil {
		return nil, nil, fmt.Errorf("listing the referrers of %s: %w", subject.Digest, mapErr(err))
	}
	found := map[string]ocispec.Descriptor{}
	looked := 0
	for _, r := range refs {
		if len(found) == len(pins) {
			break
		}
		if !manifestTypes[r.MediaType] || (r.ArtifactType != ArtifactTypeExtras && r.ArtifactType != ocispec.MediaTypeEmptyJSON) {
			continue
		}
		if looked++; looked > maxReferrers {
			break
		}
		rb, err := fetch(ctx, t, r, "referrer manifest", o.maxManifest(), "Options.MaxManifestBytes")
		if err != nil {
			return nil, nil, err
		}
		// What the referrer says of itself matters not: a layer is taken
		// only when its digest is pinned, and read against that digest.
		var rm ocispec.Manifest
		if json.Unmarshal(rb, &rm) != nil {
			continue
		}
		for _, l := range rm.Layers {
			if want, ok := pins[l.MediaType]; ok && l.Digest.String() == want {
				found[l.MediaType] = l
			}
		}
	}
	for mt, want := range pins {
		if _, ok := found[mt]; !ok {
			return nil, nil, fmt.Errorf("%w: the artifact pins a %s %s, and no referrer of type %s holds it",
				ErrMissingExtras, mt, want, ArtifactTypeExtras)
		}
	}
	if d, ok := found[MediaTypeComponentManifest]; ok {
		if manifest, err = fetch(ctx, t, d, "Component.toml", security.MaxManifestFile, "security.MaxManifestFile"); err != nil {
			return nil, nil, err
		}
	}
	if d, ok := found[MediaTypeSignature]; ok {
		if sig, err = fetch(ctx, t, d, "signature", security.MaxSignatureFile, "security.MaxSignatureFile"); err != nil {
			return nil, nil, err
		}
	}
	return manifest, sig, nil
}

// fetch reads what d describes, at most max bytes, checking its size and
// digest while reading.
func fetch(ctx context.Context, f content.Fetcher, d ocispec.Descriptor, what string, max int64, capName string) ([]byte, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s has digest %q: %v", ErrDigest, what, d.Digest, err)
	}
	if d.Size < 0 {
		return nil, fmt.Errorf("%w: %s %s has size %d", ErrDigest, what, d.Digest, d.Size)
	}
	if d.Size > max {
		return nil, fmt.Errorf("%w: %s %s is %d bytes, over the cap of %d (%s)", ErrTooLarge, what, d.Digest, d.Size, max, capName)
	}
	rc, err := f.Fetch(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("fetching %s %s: %w", what, d.Digest, mapErr(err))
	}
	defer rc.Close()
	buf := make([]byte, d.Size)
	vr := content.NewVerifyReader(rc, d)
	n, err := io.ReadFull(vr, buf)
	if err == nil {
		err = vr.Verify()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading %s %s: %w", what, d.Digest, ctx.Err())
		}
		switch {
		case errors.Is(err, content.ErrMismatchedDigest):
			return nil, fmt.Errorf("%w: %s %s: the bytes served hash to something else: refused", ErrDigest, what, d.Digest)
		case errors.Is(err, content.ErrTrailingData):
			return nil, fmt.Errorf("%w: %s %s: more than the %d bytes its descriptor says: refused", ErrDigest, what, d.Digest, d.Size)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, fmt.Errorf("reading %s %s: the connection ended after %d of %d bytes: %w", what, d.Digest, n, d.Size, io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("reading %s %s (%d of %d bytes read): %w", what, d.Digest, n, d.Size, err)
	}
	return buf, nil
}

// mapErr adds our sentinels to the library's.
func mapErr(err error) error {
	if errors.Is(err, errdef.ErrNotFound) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if errors.Is(err, errdef.ErrSizeExceedsLimit) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}
