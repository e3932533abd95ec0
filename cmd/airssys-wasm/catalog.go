package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"oras.land/oras-go/v2/registry"

	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/oci"
	"github.com/airsstack/airssys-wasm-go/security"
)

// catalogLockTimeout is how long the catalog verbs wait for a catalog
// another process (a running host, usually) holds before they give up.
var catalogLockTimeout = catalog.DefaultLockTimeout

// catalogDir is the catalog's directory inside a data directory.
const catalogDir = "catalog"

const catalogUsage = `usage:
  airssys-wasm install --policy policy.toml [--data DIR] [--manifest Component.toml] [--sig FILE.sig] FILE
  airssys-wasm install --policy policy.toml [--data DIR] [--plain-http] HOST[:PORT]/REPOSITORY:TAG|@sha256:HEX
  airssys-wasm install --policy policy.toml [--data DIR] --layout LAYOUT TAG|sha256:HEX
  airssys-wasm push      [--data DIR] [--plain-http] NAME@VERSION HOST[:PORT]/REPOSITORY:TAG
  airssys-wasm push      [--data DIR] --layout LAYOUT NAME@VERSION TAG
  airssys-wasm list      [--data DIR] [NAME]
  airssys-wasm info      [--data DIR] [--inspect [--cache DIR|off]] NAME[@VERSION]
  airssys-wasm uninstall [--data DIR] NAME@VERSION
  airssys-wasm gc        [--data DIR] [--keep N] [--within DURATION]

The local component store (package catalog) is DIR/catalog, DIR a host's
data directory (the one whose DIR/keyvalue.db "call --data" and "kv" use).
Without --data DIR is $XDG_DATA_HOME/airssys-wasm, else
~/.local/share/airssys-wasm (on macOS ~/Library/Application
Support/airssys-wasm).

install admits a component under the policy (its signature over the
component and its Component.toml, the manifest against the policy) and
stores it as the manifest's name and version. A FILE's manifest is
--manifest, else Component.toml beside FILE; its signature --sig, else
FILE.sig when there is one (unsigned otherwise). A reference is pulled from
a registry (or, with --layout, from an OCI image layout directory) with the
Component.toml and signature pushed with it; install prints the digest the
reference resolved to. Installing the same bytes again changes nothing;
other bytes under an installed version are refused, and so is a version of
a name another publisher installed first.

push pushes an installed version, its files checked against their digests
first, with its Component.toml and signature (package oci's layout).
list shows every version (or NAME's); info one version (the highest
release without @VERSION), its files checked, and with --inspect its
functions and types as "inspect" prints them.
uninstall removes one version. A host refuses to remove a version it runs,
but a running host holds its catalog: these verbs wait 1s for it and give
up. gc keeps the N highest versions of each name (default 5, 0 for none by
rank) and every version installed within DURATION, removes the rest and
reports the bytes freed.

--plain-http is for a registry on this machine only (localhost,
127.0.0.0/8, ::1); otherwise HTTPS. Credentials come from docker's
config.json ($DOCKER_CONFIG, else ~/.docker) and its credential helpers.
Exit status: 0 ok, 1 refused or not found (the policy, a signature, another
publisher's name, a version installed with other bytes, a stored file that
changed, a catalog another process holds, the registry), 2 bad usage or bad
input.
`

// catalogVerbs are the verbs cmdCatalog serves, with the positional
// arguments each takes: at least, at most.
var catalogVerbs = map[string][2]int{"install": {1, 1}, "push": {2, 2}, "list": {0, 1}, "info": {1, 1},
	"uninstall": {1, 1}, "gc": {0, 0}}

// defaultDataDir is the data directory without --data: the XDG data
// directory's airssys-wasm ($XDG_DATA_HOME when it is an absolute path,
// else ~/.local/share), or on macOS the application support directory's.
func defaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "airssys-wasm"), nil
	}
	if runtime.GOOS == "darwin" {
		d, err := os.UserConfigDir() // ~/Library/Application Support
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "airssys-wasm"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "airssys-wasm"), nil
}

// catCmd is one run of a catalog verb.
type catCmd struct {
	ctx            context.Context
	verb           string
	data           string // the data directory
	stdout, stderr io.Writer
}

// cmdCatalog is `airssys-wasm install|push|list|info|uninstall|gc ...`.
func cmdCatalog(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	n := catalogVerbs[verb]
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, catalogUsage)
		return exitOK
	}
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, catalogUsage) }
	data := fs.String("data", "", "the data directory (the catalog is DIR/catalog)")
	var (
		policy, manifest, sig, layout, cache *string
		asName, asVersion, asMemory          *string
		plain, inspect                       *bool
		keep                                 *int
		within                               *time.Duration
	)
	switch verb {
	case "install":
		policy = fs.String("policy", "", "the policy to admit the component under (required)")
		manifest = fs.String("manifest", "", "the component's Component.toml (default: beside FILE)")
		sig = fs.String("sig", "", "the component's signature file (default: FILE.sig, if present)")
		asName = fs.String("name", "", "for an artifact pushed without a Component.toml: its name (default: from the reference)")
		asVersion = fs.String("version", "", "for such an artifact: its version (default: the reference's tag)")
		asMemory = fs.String("memory", "64MiB", "for such an artifact: the memory it is given")
	case "info":
		inspect = fs.Bool("inspect", false, "compile the component and print its functions and types")
		cache = fs.String("cache", "", `compile cache directory ("off" to disable)`)
	case "gc":
		keep = fs.Int("keep", catalog.DefaultKeep, "versions of each name to keep, the highest (0: none)")
		within = fs.Duration("within", 0, "also keep every version installed less than this long ago")
	}
	if verb == "install" || verb == "push" {
		layout = fs.String("layout", "", "an OCI image layout directory instead of a registry")
		plain = fs.Bool("plain-http", false, "plain HTTP to a registry on this machine (loopback only)")
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	pos := fs.Args()
	if len(pos) < n[0] || len(pos) > n[1] {
		for _, a := range pos[1:] {
			if strings.HasPrefix(a, "-") {
				return fail(stderr, exitUsage, "%s: %s after an argument: flags go before the arguments", verb, a)
			}
		}
		return fail(stderr, exitUsage, "%s: wrong number of arguments (%d)\n\n%s", verb, len(pos), catalogUsage)
	}
	c := &catCmd{ctx: ctx, verb: verb, data: *data, stdout: stdout, stderr: stderr}
	if c.data == "" {
		d, err := defaultDataDir()
		if err != nil {
			return fail(stderr, exitUsage, "%s: no --data DIR, and no default data directory: %v", verb, err)
		}
		c.data = d
	}
	switch verb {
	case "install":
		return c.install(pos[0], *policy, *manifest, *sig, *layout, *plain, foreign{*asName, *asVersion, *asMemory})
	case "push":
		return c.push(pos[0], pos[1], *layout, *plain)
	case "list":
		return c.list(pos)
	case "info":
		return c.info(pos[0], *inspect, *cache)
	case "uninstall":
		return c.uninstall(pos[0])
	case "gc":
		return c.gc(*keep, *within)
	}
	return exitUsage
}

func (c *catCmd) fail(code int, format string, args ...any) int {
	return fail(c.stderr, code, c.verb+": "+format, args...)
}

// failErr reports an error of package catalog, security or oci with the
// exit code of its kind: a manifest that does not parse, a component the
// catalog cannot take or a directory it must not use is bad input; the
// rest (refusals, not found, a changed file, the registry) is refused.
func (c *catCmd) failErr(err error) int {
	switch {
	case errors.Is(err, security.ErrManifest), errors.Is(err, catalog.ErrInvalid),
		errors.Is(err, catalog.ErrUnsafeDir), errors.Is(err, catalog.ErrCorrupt):
		return c.fail(exitUsage, "%v", err)
	}
	return c.fail(exitRefused, "%v", err)
}

// open opens the catalog of the data directory; unless create, a data
// directory without one is "not found" (exit 1), and nothing is made. On
// failure it has reported the problem and returns the exit code.
func (c *catCmd) open(create bool) (*catalog.Catalog, int) {
	dir := filepath.Join(c.data, catalogDir)
	if !create {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil, c.fail(exitRefused, "no catalog in %s (%s does not exist): nothing is installed there",
				c.data, dir)
		}
	}
	cat, err := catalog.Open(dir, catalog.Options{LockTimeout: catalogLockTimeout})
	if errors.Is(err, catalog.ErrLocked) {
		return nil, c.fail(exitRefused, "the catalog %s is held by another process (probably a running host "+
			"using data directory %s); gave up after %v: stop it, or try again when it is done", dir, c.data,
			catalogLockTimeout)
	}
	if err != nil {
		return nil, c.failErr(err)
	}
	return cat, exitOK
}

// parseNameVersion reads NAME@VERSION (NAME alone when !needVersion).
func parseNameVersion(s string, needVersion bool) (name, version string, err error) {
	name, version, found := strings.Cut(s, "@")
	switch {
	case name == "":
		return "", "", fmt.Errorf("%q: want NAME@VERSION", s)
	case found && version == "":
		return "", "", fmt.Errorf("%q: no version after @", s)
	case needVersion && !found:
		return "", "", fmt.Errorf("%q: want NAME@VERSION (which version)", s)
	}
	return name, version, nil
}

// looksLikeRef tells a registry reference (HOST[:PORT]/REPOSITORY...) from
// a file name that does not exist: its first element names a host.
func looksLikeRef(s string) bool {
	host, _, ok := strings.Cut(s, "/")
	return ok && host != "." && host != ".." && !strings.HasSuffix(s, ".wasm") &&
		(host == "localhost" || strings.ContainsAny(host, ".:[")) && !strings.HasPrefix(s, "/")
}

// ---- install ----------------------------------------------------------------

// install installs FILE, a registry reference or (with layout) a reference
// inside an OCI layout directory.
// foreign is what stands in for the manifest of an artifact another tool
// pushed in the standard layout (no Component.toml, no signature).
type foreign struct{ name, version, memory string }

// manifest writes the Component.toml of such an artifact, pulled as ref:
// no capabilities, unsigned, so the policy's rules for unsigned
// components decide.
func (f foreign) manifest(ref string) ([]byte, error) {
	name, version := f.name, f.version
	repo, tag := ref, ""
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo, tag = repo[:i], repo[i+1:]
	}
	if name == "" {
		last := strings.ToLower(repo[strings.LastIndex(repo, "/")+1:])
		var b strings.Builder
		for _, r := range last {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				b.WriteRune(r)
			case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
				b.WriteByte('-')
			}
		}
		name = strings.Trim(b.String(), "-")
	}
	if version == "" {
		version = tag
	}
	text := fmt.Sprintf("# Written by airssys-wasm install for %s, which was pushed without one.\n"+
		"[component]\nname = %q\nversion = %q\n\n[resources]\nmemory = %q\n", ref, name, version, f.memory)
	if _, err := security.ParseManifest("Component.toml", []byte(text)); err != nil {
		return nil, fmt.Errorf("%s has no Component.toml, and one made from the reference is not valid "+
			"(give --name and --version): %w", ref, err)
	}
	return []byte(text), nil
}

func (c *catCmd) install(arg, policyPath, manifestPath, sigPath, layout string, plain bool, fgn foreign) int {
	if policyPath == "" {
		return c.fail(exitUsage, "--policy policy.toml is required: a component is installed under a policy")
	}
	pol, err := security.LoadPolicy(policyPath)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	fromFile := layout == ""
	if fromFile {
		if _, err := os.Stat(arg); err != nil && looksLikeRef(arg) {
			fromFile = false
		}
	}
	if !fromFile && (manifestPath != "" || sigPath != "") {
		return c.fail(exitUsage, "--manifest and --sig are for a component FILE; an OCI artifact brings its own")
	}
	if fromFile && plain {
		return c.fail(exitUsage, "--plain-http is for a registry reference; %s is a file", arg)
	}
	var (
		wasm, man []byte
		signature *security.Signature
		from      string // the reference and the digest it resolved to
	)
	if fromFile {
		var code int
		if wasm, man, signature, code = c.readComponent(arg, manifestPath, sigPath); code != exitOK {
			return code
		}
	} else {
		a, d, code := c.pull(arg, layout, plain)
		if code != exitOK {
			return code
		}
		from = arg + " (" + d + ")"
		if layout != "" {
			from = layout + ":" + arg + " (" + d + ")"
		}
		fmt.Fprintf(c.stdout, "pulled %s\n", from)
		if a.Manifest == nil {
			if a.Signature != nil {
				return c.fail(exitRefused, "%s has a signature but no Component.toml", arg)
			}
			// Pushed by another tool in the standard layout: installed as
			// an unsigned component with no capabilities, under the
			// policy's rules for those.
			m, err := fgn.manifest(arg)
			if err != nil {
				return c.fail(exitUsage, "%v", err)
			}
			a.Manifest = m
			fmt.Fprintf(c.stdout, "no Component.toml in the artifact: installing it unsigned, with none of the capabilities\n")
		}
		wasm, man = a.Wasm, a.Manifest
		if a.Signature != nil {
			s, err := security.ParseSignature(a.Signature)
			if err != nil {
				return c.fail(exitRefused, "%s: its signature: %v", arg, err)
			}
			signature = &s
		}
	}
	m, err := security.ParseManifest("Component.toml", man)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	cat, code := c.open(true)
	if cat == nil {
		return code
	}
	defer cat.Close()
	prior, _ := cat.Get(m.Name, m.Version)
	v, err := cat.Install(c.ctx, wasm, man, signature, pol)
	if err != nil {
		return c.failErr(err)
	}
	if prior != nil {
		fmt.Fprintf(c.stdout, "%s is already installed with these bytes: nothing changed\n", v)
	} else {
		fmt.Fprintf(c.stdout, "installed %s\n", v)
	}
	printField(c.stdout, "digest", v.Digest)
	printField(c.stdout, "publisher", publisherText(v.Publisher))
	printField(c.stdout, "size", fmt.Sprintf("%d bytes", v.Size))
	printField(c.stdout, "installed", v.Installed.Format(time.RFC3339))
	if from != "" {
		printField(c.stdout, "from", from)
	}
	return exitOK
}

// readComponent reads a component FILE, its manifest and its signature.
func (c *catCmd) readComponent(file, manifestPath, sigPath string) (wasm, man []byte, sig *security.Signature, code int) {
	wasm, err := engine.ReadWasmFile(file, catalog.DefaultMaxComponentBytes)
	if err != nil {
		return nil, nil, nil, c.fail(exitUsage, "%v", err)
	}
	if manifestPath == "" {
		manifestPath = filepath.Join(filepath.Dir(file), "Component.toml")
		if _, err := os.Stat(manifestPath); errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil, c.fail(exitUsage, "%s has no manifest: %s does not exist (give --manifest)",
				file, manifestPath)
		}
	}
	if man, err = security.ReadSmallFile(manifestPath, "manifest", security.MaxManifestFile); err != nil {
		return nil, nil, nil, c.fail(exitUsage, "%v", err)
	}
	if sigPath == "" {
		if sig, err = security.ReadSignature(file); err != nil {
			return nil, nil, nil, c.fail(exitRefused, "%s: %v", security.SignatureFile(file), err)
		}
		return wasm, man, sig, exitOK
	}
	data, err := security.ReadSmallFile(sigPath, "signature", security.MaxSignatureFile)
	if err != nil {
		return nil, nil, nil, c.fail(exitUsage, "%v", err)
	}
	s, err := security.ParseSignature(data)
	if err != nil {
		return nil, nil, nil, c.fail(exitRefused, "%s: %v", sigPath, err)
	}
	return wasm, man, &s, exitOK
}

// pull pulls ref from a registry or a layout directory.
func (c *catCmd) pull(ref, layout string, plain bool) (oci.Artifact, string, int) {
	o := oci.Options{PlainHTTP: plain}
	var a oci.Artifact
	var d string
	var err error
	if layout != "" {
		if plain {
			return a, "", c.fail(exitUsage, "--plain-http is for a registry, not --layout")
		}
		if fi, err := os.Stat(layout); err != nil || !fi.IsDir() {
			return a, "", c.fail(exitUsage, "--layout %s is not a directory", layout)
		}
		a, d, err = oci.PullLayout(c.ctx, layout, ref, o)
	} else {
		r, perr := registry.ParseReference(ref)
		if perr != nil || r.Reference == "" {
			return a, "", c.fail(exitUsage, "%q is neither a file nor a reference "+
				"(HOST[:PORT]/REPOSITORY:TAG or @sha256:HEX)", ref)
		}
		a, d, err = oci.Pull(c.ctx, ref, o)
	}
	if err != nil {
		return a, "", c.failOCI(err, plain)
	}
	return a, d, exitOK
}

// failOCI reports a push or pull error (refused: exit 1), with a hint
// when HTTPS met a plain-HTTP registry.
func (c *catCmd) failOCI(err error, plain bool) int {
	if !plain && strings.Contains(err.Error(), "HTTP response to HTTPS client") {
		return c.fail(exitRefused, "%v\n(the registry speaks plain HTTP: if it is on this machine, add --plain-http)", err)
	}
	return c.fail(exitRefused, "%v", err)
}

// ---- push -------------------------------------------------------------------

func (c *catCmd) push(nameVersion, ref, layout string, plain bool) int {
	name, version, err := parseNameVersion(nameVersion, true)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	if layout != "" {
		if plain {
			return c.fail(exitUsage, "--plain-http is for a registry, not --layout")
		}
		if ref == "" || strings.ContainsAny(ref, "/@") {
			return c.fail(exitUsage, "%q: with --layout, want a TAG", ref)
		}
	} else {
		r, err := registry.ParseReference(ref)
		if err == nil {
			err = r.ValidateReferenceAsTag()
		}
		if err != nil {
			return c.fail(exitUsage, "%q: want HOST[:PORT]/REPOSITORY:TAG", ref)
		}
	}
	cat, code := c.open(false)
	if cat == nil {
		return code
	}
	v, err := cat.Get(name, version)
	if err != nil {
		cat.Close()
		return c.failErr(err)
	}
	l, err := cat.Load(v) // the files, checked against their digests
	cat.Close()           // not held while the registry is slow
	if err != nil {
		return c.failErr(err)
	}
	a := oci.Artifact{Wasm: l.Component, Manifest: l.Manifest}
	if l.Signature != nil {
		a.Signature = l.Signature.Marshal()
	}
	// The install time as the config's creation time: pushing a version
	// again pushes the same manifest, with the same digest.
	o := oci.Options{PlainHTTP: plain, Created: v.Installed}
	var d string
	if layout != "" {
		d, err = oci.PushLayout(c.ctx, layout, ref, a, o)
		ref = layout + ":" + ref
	} else {
		d, err = oci.Push(c.ctx, ref, a, o)
	}
	if err != nil {
		return c.failOCI(err, plain)
	}
	fmt.Fprintf(c.stdout, "pushed %s to %s\n", v, ref)
	printField(c.stdout, "digest", d)
	return exitOK
}

// ---- list, info ---------------------------------------------------------------

func (c *catCmd) list(pos []string) int {
	cat, code := c.open(false)
	if cat == nil {
		return code
	}
	defer cat.Close()
	names, err := cat.Names()
	if err != nil {
		return c.failErr(err)
	}
	if len(pos) == 1 {
		var found []catalog.Name
		for _, n := range names {
			if n.Name == pos[0] {
				found = append(found, n)
			}
		}
		if len(found) == 0 {
			return c.fail(exitRefused, "no component %s in %s", pos[0], cat.Dir())
		}
		names = found
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tPUBLISHER\tDIGEST\tINSTALLED\tSIZE")
	claimed := 0
	for _, n := range names {
		vs, err := cat.Versions(n.Name)
		if err != nil {
			return c.failErr(err)
		}
		if len(vs) == 0 {
			fmt.Fprintf(tw, "%s\t-\t%s\t-\t-\t-\n", n.Name, shortPublisher(n.Publisher))
			claimed++
		}
		for _, v := range vs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", v.Name, v.Version, shortPublisher(v.Publisher),
				shortDigest(v.Digest), v.Installed.Format(time.RFC3339), v.Size)
		}
	}
	tw.Flush()
	if claimed > 0 {
		fmt.Fprintln(c.stdout, "(-: no version installed; the name stays its publisher's)")
	}
	return exitOK
}

func (c *catCmd) info(arg string, inspect bool, cache string) int {
	name, version, err := parseNameVersion(arg, false)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	cat, code := c.open(false)
	if cat == nil {
		return code
	}
	defer cat.Close()
	var v *catalog.Version
	if version == "" {
		v, err = cat.Latest(name)
	} else {
		v, err = cat.Get(name, version)
	}
	if err != nil {
		return c.failErr(err)
	}
	l, err := cat.Load(v)
	if err != nil {
		return c.failErr(err)
	}
	all, err := cat.Versions(name)
	if err != nil {
		return c.failErr(err)
	}
	others := make([]string, len(all))
	for i, o := range all {
		others[i] = o.Version
	}
	sig := "none (unsigned)"
	if v.SignatureDigest != "" {
		sig = v.SignatureDigest
	}
	printField(c.stdout, "name", v.Name)
	printField(c.stdout, "version", v.Version)
	printField(c.stdout, "publisher", publisherText(v.Publisher))
	printField(c.stdout, "digest", v.Digest)
	printField(c.stdout, "size", fmt.Sprintf("%d bytes", v.Size))
	printField(c.stdout, "manifest", v.ManifestDigest)
	printField(c.stdout, "signature", sig)
	printField(c.stdout, "installed", v.Installed.Format(time.RFC3339))
	printField(c.stdout, "files", "checked: each matches its digest")
	printField(c.stdout, "versions", strings.Join(others, " "))
	fmt.Fprintf(c.stdout, "\n# Component.toml\n%s", l.Manifest)
	if len(l.Manifest) > 0 && l.Manifest[len(l.Manifest)-1] != '\n' {
		fmt.Fprintln(c.stdout)
	}
	if !inspect {
		return exitOK
	}
	eng, err := newEngine(cache, false)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	defer eng.Close()
	comp, err := eng.Compile(c.ctx, l.Component)
	if err != nil {
		return c.fail(exitUsage, "%s: %v", v, err)
	}
	defer comp.Close()
	fmt.Fprintf(c.stdout, "\n# %s\n%s", v, comp.Describe())
	return exitOK
}

// ---- uninstall, gc ------------------------------------------------------------

func (c *catCmd) uninstall(arg string) int {
	name, version, err := parseNameVersion(arg, true)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	cat, code := c.open(false)
	if cat == nil {
		return code
	}
	defer cat.Close()
	if err := cat.Uninstall(name, version); err != nil {
		return c.failErr(err)
	}
	fmt.Fprintf(c.stdout, "uninstalled %s@%s\n", name, version)
	if vs, err := cat.Versions(name); err == nil && len(vs) == 0 {
		owner := ""
		if ns, err := cat.Names(); err == nil {
			for _, n := range ns {
				if n.Name == name {
					owner = n.Publisher
				}
			}
		}
		where := "in the unsigned (dev) space"
		if owner != "" {
			where = "publisher " + owner + "'s"
		}
		fmt.Fprintf(c.stdout, "%s has no version left; the name stays %s\n", name, where)
	}
	return exitOK
}

func (c *catCmd) gc(keep int, within time.Duration) int {
	if keep < 0 {
		return c.fail(exitUsage, "--keep %d: want 0 or more", keep)
	}
	if within < 0 {
		return c.fail(exitUsage, "--within %v: want a positive duration", within)
	}
	r := catalog.Retention{Keep: keep, Within: within}
	if keep == 0 {
		r.Keep = catalog.KeepNone
	}
	cat, code := c.open(false)
	if cat == nil {
		return code
	}
	defer cat.Close()
	freed, removed, err := cat.GC(r)
	for _, v := range removed {
		fmt.Fprintf(c.stdout, "removed %s\n", v)
	}
	if len(removed) == 0 && err == nil {
		fmt.Fprintln(c.stdout, "nothing to remove")
		return exitOK
	}
	plural := "s"
	if len(removed) == 1 {
		plural = ""
	}
	fmt.Fprintf(c.stdout, "removed %d version%s, freed %d bytes\n", len(removed), plural, freed)
	if err != nil {
		return c.failErr(err)
	}
	return exitOK
}

// ---- output -----------------------------------------------------------------

func printField(w io.Writer, key, value string) { fmt.Fprintf(w, "  %-10s %s\n", key, value) }

// publisherText names a publisher key for people: "" is the unsigned space.
func publisherText(p string) string {
	if p == "" {
		return "unsigned (dev space)"
	}
	return p
}

func shortPublisher(p string) string {
	if p == "" {
		return "unsigned"
	}
	if len(p) > 20 {
		return p[:20] + "…"
	}
	return p
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
