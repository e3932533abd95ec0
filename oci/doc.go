// Package oci pushes components to OCI registries and pulls them back, in the
// WebAssembly OCI artifact layout that wasmCloud, wkg and other tools use
// (the CNCF TAG Runtime "Wasm OCI Artifact layout"), and reads and writes
// the same artifacts in OCI image layout directories for machines without a
// registry.
//
// # What is pushed
//
// A component (or core module) is one image manifest in the standard layout,
// which any tool that knows the layout pulls as it is:
//
//	manifest  application/vnd.oci.image.manifest.v1+json (no artifactType: the
//	          config media type is the artifact type, as OCI 1.1 says)
//	config    application/vnd.wasm.config.v0+json:
//	          {"created", "author"?, "architecture": "wasm",
//	           "os": "wasip2" (component) or "wasip1" (core module),
//	           "layerDigests": [the wasm layer's digest],
//	           "component": {"exports": [...], "imports": [...]} (components only)}
//	layers    exactly one, application/wasm: the component's bytes, titled
//	          "component.wasm" (org.opencontainers.image.title) so that
//	          `oras pull` writes it to a file
//
// The Component.toml and its signature do not go into that manifest: wkg and
// wasmCloud (through the oci-wasm crate) refuse an artifact whose manifest has
// any layer besides the one application/wasm layer, and the spec chose a
// single layer type so that tools need not know other ones. They go into a
// second manifest, a referrer (OCI 1.1 "subject") of the first:
//
//	manifest      application/vnd.oci.image.manifest.v1+json
//	artifactType  application/vnd.airssys.component.extras.v1 (ArtifactTypeExtras)
//	config        the OCI empty descriptor (application/vnd.oci.empty.v1+json, "{}")
//	layers        application/vnd.airssys.component.manifest.v1+toml, titled
//	              "Component.toml": the manifest's bytes as they were signed;
//	              application/vnd.airssys.signature.v1, titled
//	              "component.wasm.sig": the signature file (security.Signature.Marshal)
//	subject       the component's manifest
//
// Either layer is left out when the artifact has no such part. Registries
// that do not serve the referrers API get the referrers tag schema
// ("sha256-<hex>"), as the distribution spec says; oras-go does this.
//
// A referrer alone is not bound to its subject: anyone who can push to the
// repository can attach another one, and a pull by digest would not pin what
// the capabilities asked for are. So the component's manifest also carries the
// digests of the extras in annotations (AnnotationManifestDigest,
// AnnotationSignatureDigest). The manifest digest a tag resolves to (what Pull
// returns and a catalog records) thus pins the wasm, the Component.toml and the
// signature together; Pull takes only extras whose digests match those pins,
// ignores every other referrer, and fails if a pinned part cannot be found.
// A component pushed by another tool carries no pins: it pulls with Manifest
// and Signature nil (the policy's rules for unsigned components then apply),
// and referrers that others attached to it are not looked at.
//
// # Pulling safely
//
// Every manifest and blob is read against its descriptor's size and digest
// (a registry that serves other bytes is refused, ErrDigest); manifests are
// at most Options.MaxManifestBytes, the wasm layer at most
// Options.MaxBlobBytes, the Component.toml and signature at most
// security.MaxManifestFile and security.MaxSignatureFile (ErrTooLarge, before
// anything is downloaded when the descriptor says so). A pull that fails for
// any reason returns no Artifact: nothing of it is half there.
//
// Plain HTTP is used only when Options.PlainHTTP is set and the registry host
// is loopback (localhost, 127.0.0.0/8, ::1); the connection is then allowed
// to reach loopback addresses only, whatever a name resolves to or a redirect
// says. Otherwise HTTPS, and a redirect to plain HTTP is refused.
//
// Credentials come from a docker-style config file (Options.CredentialsFile,
// else $DOCKER_CONFIG/config.json, else ~/.docker/config.json; none there, or
// no home, means anonymous), with the credential helpers it names
// (credsStore, credHelpers: docker-credential-<name> on PATH, as docker runs
// them), or from Options.Credentials. A config file that does not parse is
// an error, not anonymous access.
//
// A layout directory is trusted as the operator's: it is read through the
// same checks (sizes, digests, pins), but its index.json is read whole.
package oci
