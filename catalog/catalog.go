package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/airsstack/airssys-wasm-go/internal/fileread"
	"github.com/airsstack/airssys-wasm-go/security"
)

// Defaults.
const (
	// DefaultLockTimeout is how long Open waits for another Catalog's lock.
	DefaultLockTimeout = time.Second
	// DefaultMaxComponentBytes is the largest component Install takes (the
	// engine's default compile limit).
	DefaultMaxComponentBytes = 128 << 20
	// DefaultKeep is how many versions of each name GC keeps by default.
	DefaultKeep = 5
	// KeepNone, as Retention.Keep, keeps no version for its rank: only
	// pinned ones and those inside Retention.Within.
	KeepNone = -1
)

// Errors, matchable with errors.Is. Install and Admit also return
// security's errors (security.ErrSignature, security.ErrManifest, ...)
// wrapped.
var (
	ErrLocked        = errors.New("catalog: directory is held by another Catalog")
	ErrCorrupt       = errors.New("catalog: index is not valid")
	ErrUnsafeDir     = errors.New("catalog: directory is not safe")
	ErrClosed        = errors.New("catalog: closed")
	ErrInvalid       = errors.New("catalog: cannot install")
	ErrNotFound      = errors.New("catalog: not installed")
	ErrVersionExists = errors.New("catalog: version already installed with other bytes")
	ErrNotOwner      = errors.New("catalog: name belongs to another publisher")
	ErrTampered      = errors.New("catalog: stored file changed")
	ErrInUse         = errors.New("catalog: in use")
)

// Options configure Open.
type Options struct {
	// LockTimeout is how long Open waits for a directory another Catalog
	// holds (default 1s); then it fails with ErrLocked.
	LockTimeout time.Duration
	// MaxComponentBytes is the largest component Install takes (default
	// DefaultMaxComponentBytes).
	MaxComponentBytes int64
	// Now is the clock (default time.Now): install times and GC's window.
	Now func() time.Time
}

// Version is an installed version of a component. It is a copy: changing
// it changes nothing in the catalog.
type Version struct {
	Name    string // the manifest's name
	Version string // the manifest's version (semver)
	// Digest is "sha256:" and the hex SHA-256 of the component's bytes.
	Digest string
	// ManifestDigest and SignatureDigest are those of its Component.toml
	// and of its signature file ("" when unsigned).
	ManifestDigest  string
	SignatureDigest string
	// Publisher is the key that signed it, as security.PublicKey.String
	// writes it, or "" when unsigned: with Name, its identity.
	Publisher string
	Installed time.Time // when it was installed (UTC)
	Size      int64     // bytes of the component
}

func (v *Version) String() string { return v.Name + "@" + v.Version }

// Name is a name the catalog knows, and who owns it.
type Name struct {
	Name      string
	Publisher string    // the owner: the key that first installed it, "" for unsigned (dev)
	Claimed   time.Time // when it first was installed
	Versions  int       // how many versions are installed
}

// Loaded is an installed version's files, as read and checked by Load.
type Loaded struct {
	Version   *Version
	Component []byte
	Manifest  []byte
	Signature *security.Signature // nil when unsigned
}

// Retention says which versions GC keeps, besides pinned ones.
type Retention struct {
	// Keep is how many versions of each name are kept, the highest by
	// semver precedence: 0 means DefaultKeep, KeepNone (any negative) none.
	Keep int
	// Within, when positive, also keeps every version installed less than
	// this long ago.
	Within time.Duration
}

// Catalog is an open catalog directory. See the package doc.
type Catalog struct {
	dir  string
	o    Options
	lock *os.File

	wmu sync.Mutex // one change at a time: held while index.json and blobs are written

	mu     sync.RWMutex // guards names (swapped whole), closed, and every record's pins and removing
	names  map[string]*entry
	closed bool

	failIndexWrite func() error // tests: fails the next index writes
}

// entry is a name: its owner and its versions. An entry published in
// Catalog.names never changes: a change copies it (own).
type entry struct {
	owner     string
	claimed   time.Time
	versions  []*record // ascending precedence
	byVersion map[string]*record
}

func newEntry(owner string, claimed time.Time) *entry {
	return &entry{owner: owner, claimed: claimed, byVersion: map[string]*record{}}
}

// add inserts r in precedence order (no other version has its precedence).
func (e *entry) add(r *record) {
	i, _ := slices.BinarySearchFunc(e.versions, r, func(x, y *record) int { return x.sv.compare(y.sv) })
	e.versions = slices.Insert(e.versions, i, r)
	e.byVersion[r.v.Version] = r
}

// record is one version. v and sv never change; pins and removing change
// under Catalog.mu.
type record struct {
	v        Version
	sv       semver
	pins     map[*Pin]struct{}
	removing bool // being uninstalled or collected: Pin refuses it
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`) // security's manifest names

// Open opens the catalog in dir, creating it (mode 0700) if need be. It
// takes the directory's lock (ErrLocked after Options.LockTimeout), removes
// what an interrupted change left (files in tmp/, blobs no version refers
// to) and reads the index (ErrCorrupt if it cannot). dir must be the
// process's user's and not writable by others (ErrUnsafeDir).
func Open(dir string, o Options) (*Catalog, error) {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.MaxComponentBytes <= 0 {
		o.MaxComponentBytes = DefaultMaxComponentBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := checkDir(abs); err != nil {
		return nil, err
	}
	lock, err := lockDir(abs, o.LockTimeout)
	if err != nil {
		return nil, err
	}
	c := &Catalog{dir: abs, o: o, lock: lock}
	if err := c.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return c, nil
}

// load prepares the directory and reads the index; the lock is held.
func (c *Catalog) load() error {
	tmp := filepath.Join(c.dir, tmpDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	for _, f := range left {
		if err := os.RemoveAll(filepath.Join(tmp, f.Name())); err != nil {
			return fmt.Errorf("catalog: clean tmp: %w", err)
		}
	}
	blobs := filepath.Join(c.dir, blobDir)
	ix, err := readIndex(c.dir)
	if err != nil {
		return err
	}
	if ix == nil {
		// A new catalog writes its empty index before any blob, so blobs
		// without an index mean the index was lost, not a new catalog.
		if files, _ := os.ReadDir(blobs); len(files) > 0 {
			return fmt.Errorf("%w: %s is missing but %s holds %d files; restore the index (the blobs are kept)",
				ErrCorrupt, filepath.Join(c.dir, indexFile), blobs, len(files))
		}
		ix = &indexJSON{Format: indexFormat}
		if err := c.writeIndex(ix); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	names, err := fromIndex(ix)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, filepath.Join(c.dir, indexFile), err)
	}
	c.names = names
	// Remove the blobs no version refers to: an install interrupted before
	// its index was written, or an uninstall after it.
	used := referenced(names)
	files, err := os.ReadDir(blobs)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	removed := false
	for _, f := range files {
		if !used["sha256:"+f.Name()] {
			if err := os.RemoveAll(filepath.Join(blobs, f.Name())); err != nil {
				return fmt.Errorf("catalog: remove an unused blob: %w", err)
			}
			removed = true
		}
	}
	if removed {
		if err := syncDir(blobs); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	return nil
}

// fromIndex builds the in-memory index, checking everything a file name or
// a decision depends on.
func fromIndex(ix *indexJSON) (map[string]*entry, error) {
	names := map[string]*entry{}
	for _, n := range ix.Names {
		if !namePattern.MatchString(n.Name) {
			return nil, fmt.Errorf("name %q is not a component name", n.Name)
		}
		if names[n.Name] != nil {
			return nil, fmt.Errorf("name %q is listed twice", n.Name)
		}
		if n.Publisher != "" {
			if _, err := security.ParsePublicKey(n.Publisher); err != nil {
				return nil, fmt.Errorf("name %q: %v", n.Name, err)
			}
		}
		names[n.Name] = newEntry(n.Publisher, n.Claimed)
	}
	for _, j := range ix.Versions {
		e := names[j.Name]
		if e == nil {
			return nil, fmt.Errorf("version %s@%s: its name is not listed", j.Name, j.Version)
		}
		sv, err := parseSemver(j.Version)
		if err != nil {
			return nil, fmt.Errorf("name %q: %v", j.Name, err)
		}
		id := j.Name + "@" + j.Version
		switch {
		case j.Publisher != e.owner:
			return nil, fmt.Errorf("%s: publisher %q, but the name belongs to %q", id, j.Publisher, e.owner)
		case !validDigest(j.Digest) || !validDigest(j.Manifest):
			return nil, fmt.Errorf("%s: malformed digest", id)
		case (j.Signature == "") != (j.Publisher == ""):
			return nil, fmt.Errorf("%s: a signature without a publisher, or the reverse", id)
		case j.Signature != "" && !validDigest(j.Signature):
			return nil, fmt.Errorf("%s: malformed signature digest", id)
		case j.Size < 0:
			return nil, fmt.Errorf("%s: negative size", id)
		}
		r := &record{sv: sv, v: Version{Name: j.Name, Version: j.Version, Digest: j.Digest,
			ManifestDigest: j.Manifest, SignatureDigest: j.Signature, Publisher: j.Publisher,
			Installed: j.Installed, Size: j.Size}}
		e.versions = append(e.versions, r)
	}
	for _, e := range names {
		sortVersions(e.versions)
		for i, r := range e.versions {
			if i > 0 && e.versions[i-1].sv.compare(r.sv) == 0 {
				return nil, fmt.Errorf("%s@%s is listed beside %s, of the same precedence", r.v.Name, r.v.Version,
					e.versions[i-1].v.Version)
			}
			e.byVersion[r.v.Version] = r
		}
	}
	return names, nil
}

func sortVersions(rs []*record) {
	slices.SortStableFunc(rs, func(a, b *record) int { return a.sv.compare(b.sv) })
}

// toIndex is the index file for names.
func toIndex(names map[string]*entry) *indexJSON {
	ix := &indexJSON{Format: indexFormat, Names: []nameJSON{}, Versions: []versionJSON{}}
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		e := names[n]
		ix.Names = append(ix.Names, nameJSON{Name: n, Publisher: e.owner, Claimed: e.claimed})
		for _, r := range e.versions {
			v := &r.v
			ix.Versions = append(ix.Versions, versionJSON{Name: v.Name, Version: v.Version, Digest: v.Digest,
				Manifest: v.ManifestDigest, Signature: v.SignatureDigest, Publisher: v.Publisher,
				Installed: v.Installed, Size: v.Size})
		}
	}
	return ix
}

// referenced is the set of blob digests the versions in names use.
func referenced(names map[string]*entry) map[string]bool {
	used := map[string]bool{}
	for _, e := range names {
		for _, r := range e.versions {
			used[r.v.Digest], used[r.v.ManifestDigest] = true, true
			if r.v.SignatureDigest != "" {
				used[r.v.SignatureDigest] = true
			}
		}
	}
	return used
}

// cloneNames copies the name map (not its entries), for a change to build
// on. The caller holds wmu.
func (c *Catalog) cloneNames() map[string]*entry { return maps.Clone(c.names) }

// own replaces names[name] with a copy the caller may change.
func own(names map[string]*entry, name string) *entry {
	e := names[name]
	ne := &entry{owner: e.owner, claimed: e.claimed, versions: slices.Clone(e.versions),
		byVersion: maps.Clone(e.byVersion)}
	names[name] = ne
	return ne
}

// commit writes names as the new index and, once it is in place, makes it
// the catalog's. The caller holds wmu.
func (c *Catalog) commit(names map[string]*entry) error {
	if err := c.writeIndex(toIndex(names)); err != nil {
		return err
	}
	c.mu.Lock()
	c.names = names
	c.mu.Unlock()
	return nil
}

// Close releases the directory. Pins end with it; Close waits for a change
// under way.
func (c *Catalog) Close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.lock.Close() // and with it the flock
}

// Dir is the catalog's directory (absolute).
func (c *Catalog) Dir() string { return c.dir }

func ownerName(pub string) string {
	if pub == "" {
		return "the unsigned (dev) space"
	}
	return "publisher " + pub
}

// Install admits a component under policy (security.Admit: signature and
// manifest) and installs it as the version its manifest names, unless it
// is there already with the same bytes (then it returns that version and
// writes nothing, except to put back a stored file that was damaged).
// Refused: a name owned by another publisher (ErrNotOwner), the same name
// and version with other bytes or a version of the same precedence
// (ErrVersionExists), a version that is not semver or a component larger
// than Options.MaxComponentBytes (ErrInvalid), and whatever Admit refuses.
// When it returns without error the version is durable.
func (c *Catalog) Install(ctx context.Context, component, manifest []byte, sig *security.Signature,
	policy *security.Policy) (*Version, error) {
	if policy == nil {
		return nil, fmt.Errorf("%w: no policy to admit the component under", ErrInvalid)
	}
	if int64(len(component)) > c.o.MaxComponentBytes {
		return nil, fmt.Errorf("%w: the component has %d bytes, more than the limit of %d", ErrInvalid,
			len(component), c.o.MaxComponentBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	adm, err := security.Admit(policy, component, manifest, "Component.toml", sig)
	if err != nil {
		return nil, fmt.Errorf("catalog: install: %w", err)
	}
	m := adm.Manifest
	sv, err := parseSemver(m.Version)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, m.Name, err)
	}
	rec := &record{sv: sv, v: Version{Name: m.Name, Version: m.Version, Digest: digest(component),
		ManifestDigest: digest(manifest), Publisher: adm.Grants.Publisher, Size: int64(len(component))}}
	var sigData []byte
	if sig != nil {
		sigData = sig.Marshal()
		rec.v.SignatureDigest = digest(sigData)
	}
	v := &rec.v

	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	// Only the holder of wmu changes c.names: it can be read without mu.
	e := c.names[v.Name]
	if e != nil && e.owner != v.Publisher {
		by := "is signed by " + v.Publisher
		if v.Publisher == "" {
			by = "is unsigned"
		}
		first := "publisher " + e.owner + ", which installed it first"
		if e.owner == "" {
			first = "the unsigned (dev) space, where it was installed first"
		}
		return nil, fmt.Errorf("%w: %s belongs to %s (%s); this version %s. A name never changes hands "+
			"through an install (its data belongs to its publisher); Forget the name once none of its versions "+
			"is installed to give it up", ErrNotOwner, v.Name, first, e.claimed.Format(time.RFC3339), by)
	}
	if e != nil {
		for _, o := range e.versions {
			if o.sv.compare(sv) != 0 {
				continue
			}
			if o.v.Version == v.Version && o.v.Digest == v.Digest && o.v.ManifestDigest == v.ManifestDigest &&
				o.v.SignatureDigest == v.SignatureDigest {
				// The same bytes: nothing to install. Put back any file of
				// it that was damaged, so reinstalling repairs.
				if err := c.putBlobs(rec, component, manifest, sigData); err != nil {
					return nil, err
				}
				out := o.v
				return &out, nil
			}
			if o.v.Version != v.Version {
				return nil, fmt.Errorf("%w: %s %s has the precedence of the installed %s (build metadata does not "+
					"order versions); give it another version", ErrVersionExists, v.Name, v.Version, o.v.Version)
			}
			return nil, fmt.Errorf("%w: %s is installed with component %s and manifest %s; these are %s and %s. "+
				"An installed version never changes: give the new bytes a new version", ErrVersionExists, v,
				o.v.Digest, o.v.ManifestDigest, v.Digest, v.ManifestDigest)
		}
	}
	v.Installed = c.o.Now().UTC()
	if err := c.putBlobs(rec, component, manifest, sigData); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the blobs are unused; the next Open removes them
	}
	names := c.cloneNames()
	var ne *entry
	if names[v.Name] == nil {
		ne = newEntry(v.Publisher, v.Installed)
		names[v.Name] = ne
	} else {
		ne = own(names, v.Name)
	}
	ne.add(rec)
	if err := c.commit(names); err != nil {
		return nil, err
	}
	out := *v
	return &out, nil
}

// putBlobs puts a version's files in place and makes them durable.
func (c *Catalog) putBlobs(r *record, component, manifest, sig []byte) error {
	wrote := false
	for _, b := range []struct {
		d    string
		data []byte
	}{{r.v.Digest, component}, {r.v.ManifestDigest, manifest}, {r.v.SignatureDigest, sig}} {
		if b.d == "" {
			continue
		}
		w, err := c.putBlob(b.d, b.data)
		if err != nil {
			return err
		}
		wrote = wrote || w
	}
	if wrote {
		if err := syncDir(filepath.Join(c.dir, blobDir)); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	return nil
}

// find returns the record of name@version. The caller holds mu.
func (c *Catalog) find(name, version string) (*record, error) {
	if c.closed {
		return nil, ErrClosed
	}
	if e := c.names[name]; e != nil {
		if r := e.byVersion[version]; r != nil {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: %s@%s", ErrNotFound, name, version)
}

// Get returns name@version.
func (c *Catalog) Get(name, version string) (*Version, error) {
	c.mu.RLock()
	r, err := c.find(name, version)
	var out Version
	if err == nil {
		out = r.v
	}
	c.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Latest returns the highest release of name by semver precedence, or its
// highest pre-release when it has no release.
func (c *Catalog) Latest(name string) (*Version, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	e := c.names[name]
	if e == nil || len(e.versions) == 0 {
		return nil, fmt.Errorf("%w: no version of %s", ErrNotFound, name)
	}
	best := e.versions[len(e.versions)-1]
	for i := len(e.versions) - 1; i >= 0; i-- {
		if !e.versions[i].sv.prerelease() {
			best = e.versions[i]
			break
		}
	}
	out := best.v
	return &out, nil
}

// Versions returns name's versions, in ascending precedence (none when
// the name is unknown).
func (c *Catalog) Versions(name string) ([]*Version, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	e := c.names[name]
	if e == nil {
		return nil, nil
	}
	return copies(e.versions), nil
}

// List returns every installed version, by name, then in ascending
// precedence.
func (c *Catalog) List() ([]*Version, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	keys := make([]string, 0, len(c.names))
	var all []*record
	for n := range c.names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		all = append(all, c.names[n].versions...)
	}
	return copies(all), nil
}

// Names returns every name the catalog knows, with its owner, including
// names whose versions were all removed (their claim stands until Forget).
func (c *Catalog) Names() ([]Name, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	out := make([]Name, 0, len(c.names))
	for n, e := range c.names {
		out = append(out, Name{Name: n, Publisher: e.owner, Claimed: e.claimed, Versions: len(e.versions)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func copies(rs []*record) []*Version {
	slab := make([]Version, len(rs))
	out := make([]*Version, len(rs))
	for i, r := range rs {
		slab[i] = r.v
		out[i] = &slab[i]
	}
	return out
}

// Load reads an installed version's files and checks each against its
// recorded SHA-256 digest: a file changed, missing or replaced is
// ErrTampered, never returned. v must be as installed (its name, version
// and digest); a version no longer installed is ErrNotFound. Pin a version
// before loading it so that it cannot be removed meanwhile.
func (c *Catalog) Load(v *Version) (*Loaded, error) {
	c.mu.RLock()
	r, err := c.find(v.Name, v.Version)
	c.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if r.v.Digest != v.Digest {
		return nil, fmt.Errorf("%w: %s is installed with digest %s, not %s", ErrNotFound, v, r.v.Digest, v.Digest)
	}
	out := &Loaded{Version: new(Version)}
	*out.Version = r.v
	if out.Component, err = c.readBlob(r, r.v.Digest, r.v.Size, "component"); err != nil {
		return nil, err
	}
	if out.Manifest, err = c.readBlob(r, r.v.ManifestDigest, security.MaxManifestFile, "manifest"); err != nil {
		return nil, err
	}
	if r.v.SignatureDigest != "" {
		data, err := c.readBlob(r, r.v.SignatureDigest, security.MaxSignatureFile, "signature")
		if err != nil {
			return nil, err
		}
		s, err := security.ParseSignature(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: its signature file: %v", ErrTampered, &r.v, err)
		}
		out.Signature = &s
	}
	return out, nil
}

// readBlob reads the blob d of record r, at most limit bytes, and checks
// its digest.
func (c *Catalog) readBlob(r *record, d string, limit int64, what string) ([]byte, error) {
	path := c.blobPath(d)
	data, err := fileread.Read(path, limit)
	var ref *fileread.Refused
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !c.installed(r) {
			return nil, fmt.Errorf("%w: %s was removed while it was read", ErrNotFound, &r.v)
		}
		return nil, fmt.Errorf("%w: %s: its %s file %s is missing; refusing to load it (install it again)",
			ErrTampered, &r.v, what, path)
	case errors.As(err, &ref):
		return nil, fmt.Errorf("%w: %s: its %s file: %v; refusing to load it (install it again)", ErrTampered,
			&r.v, what, ref)
	case err != nil:
		return nil, fmt.Errorf("catalog: %s: %w", &r.v, err)
	}
	if got := digest(data); got != d {
		return nil, fmt.Errorf("%w: %s: its %s file %s was changed: its digest is %s, the recorded one %s; "+
			"refusing to load it (install it again)", ErrTampered, &r.v, what, path, got, d)
	}
	return data, nil
}

// installed reports whether r is still in the catalog.
func (c *Catalog) installed(r *record) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.names[r.v.Name]; e != nil {
		return e.byVersion[r.v.Version] == r
	}
	return false
}

// Admit loads v (Load's checks) and admits it again under policy as it is
// now (security.Admit: the signature and the manifest against the
// policy), checking that its files still name the version, name and
// publisher the index records (ErrTampered if not). The runtime calls it
// at every deploy and update, and compiles what it returns.
func (c *Catalog) Admit(v *Version, policy *security.Policy) (*Loaded, *security.Admission, error) {
	if policy == nil {
		return nil, nil, fmt.Errorf("%w: no policy to admit the component under", ErrInvalid)
	}
	l, err := c.Load(v)
	if err != nil {
		return nil, nil, err
	}
	adm, err := security.Admit(policy, l.Component, l.Manifest, "Component.toml", l.Signature)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %s: %w", l.Version, err)
	}
	if adm.Manifest.Name != l.Version.Name || adm.Manifest.Version != l.Version.Version ||
		adm.Grants.Publisher != l.Version.Publisher {
		return nil, nil, fmt.Errorf("%w: the index records %s by %s, its files are %s@%s by %s", ErrTampered,
			l.Version, ownerName(l.Version.Publisher), adm.Manifest.Name, adm.Manifest.Version,
			ownerName(adm.Grants.Publisher))
	}
	return l, adm, nil
}

// Pin keeps name@version installed until the pin is released: Uninstall
// refuses it (ErrInUse, naming the reasons) and GC skips it. The runtime
// pins every version it runs ("running app/billing/1") and the version an
// update would roll back to ("rollback target of app/billing/1"). Pins
// live in memory and end with Close.
func (c *Catalog) Pin(name, version, reason string) (*Pin, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.find(name, version)
	if err != nil {
		return nil, err
	}
	if r.removing {
		return nil, fmt.Errorf("%w: %s is being removed", ErrNotFound, &r.v)
	}
	p := &Pin{c: c, r: r, reason: reason}
	if r.pins == nil {
		r.pins = map[*Pin]struct{}{}
	}
	r.pins[p] = struct{}{}
	return p, nil
}

// Pin is a hold on a version; see Catalog.Pin.
type Pin struct {
	c      *Catalog
	r      *record
	reason string
}

// Version is the pinned version.
func (p *Pin) Version() *Version {
	v := p.r.v
	return &v
}

// Release ends the pin. Releasing twice is harmless.
func (p *Pin) Release() {
	p.c.mu.Lock()
	delete(p.r.pins, p)
	p.c.mu.Unlock()
}

// Pins returns the reasons name@version is pinned (none if it is not).
func (c *Catalog) Pins(name, version string) ([]string, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, err := c.find(name, version)
	if err != nil {
		return nil, err
	}
	return reasons(r), nil
}

func reasons(r *record) []string {
	out := make([]string, 0, len(r.pins))
	for p := range r.pins {
		out = append(out, p.reason)
	}
	sort.Strings(out)
	return out
}

// Uninstall removes name@version, refusing a pinned one (ErrInUse). The
// name stays its owner's (see Forget).
func (c *Catalog) Uninstall(name, version string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	r, err := c.find(name, version)
	if err == nil && len(r.pins) > 0 {
		err = fmt.Errorf("%w: %s is pinned (%s); release its pins first", ErrInUse, &r.v,
			strings.Join(reasons(r), "; "))
	}
	if err == nil {
		r.removing = true
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	_, _, err = c.remove([]*record{r})
	return err
}

// remove takes records marked removing out of the index, then deletes the
// blobs no remaining version uses, returning the bytes freed and whether
// the records are gone (the index was written). The caller holds wmu.
func (c *Catalog) remove(rs []*record) (int64, bool, error) {
	names := c.cloneNames()
	owned := map[string]*entry{}
	for _, r := range rs {
		e := owned[r.v.Name]
		if e == nil {
			e = own(names, r.v.Name)
			owned[r.v.Name] = e
		}
		e.versions = slices.DeleteFunc(e.versions, func(x *record) bool { return x == r })
		delete(e.byVersion, r.v.Version)
	}
	if err := c.commit(names); err != nil {
		c.mu.Lock()
		for _, r := range rs {
			r.removing = false
		}
		c.mu.Unlock()
		return 0, false, err
	}
	used := referenced(names)
	var freed int64
	var errs []error
	for _, r := range rs {
		for _, d := range []string{r.v.Digest, r.v.ManifestDigest, r.v.SignatureDigest} {
			if d == "" || used[d] {
				continue
			}
			used[d] = true // removed once
			n, err := c.removeBlob(d)
			if err != nil {
				errs = append(errs, err)
			}
			freed += n
		}
	}
	if err := syncDir(filepath.Join(c.dir, blobDir)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return freed, true, fmt.Errorf("catalog: removed from the index, but some files are left (the next "+
			"Open removes them): %w", err)
	}
	return freed, true, nil
}

// Forget gives up the claim on a name none of whose versions is installed,
// so that another publisher may install under it (ErrInUse while versions
// remain). Only an operator should: the name's data in storage stays its
// former owner's.
func (c *Catalog) Forget(name string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	e := c.names[name]
	if e == nil {
		return fmt.Errorf("%w: no name %s", ErrNotFound, name)
	}
	if len(e.versions) > 0 {
		return fmt.Errorf("%w: %s still has %d versions installed; uninstall them first", ErrInUse, name,
			len(e.versions))
	}
	names := c.cloneNames()
	delete(names, name)
	return c.commit(names)
}

// GC removes the versions retention does not keep and that are not pinned,
// and returns the bytes their files took on disk (files another version
// shares stay, and count for nothing) and the versions removed.
func (c *Catalog) GC(r Retention) (freed int64, removed []*Version, err error) {
	keep := r.Keep
	switch {
	case keep == 0:
		keep = DefaultKeep
	case keep < 0:
		keep = 0
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	now := c.o.Now()
	var drop []*record
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, nil, ErrClosed
	}
	for _, e := range c.names {
		for i, rec := range e.versions {
			rank := len(e.versions) - 1 - i // 0: the highest
			if rank < keep || (r.Within > 0 && now.Sub(rec.v.Installed) < r.Within) || len(rec.pins) > 0 {
				continue
			}
			rec.removing = true
			drop = append(drop, rec)
		}
	}
	c.mu.Unlock()
	if len(drop) == 0 {
		return 0, nil, nil
	}
	sort.Slice(drop, func(i, j int) bool {
		if drop[i].v.Name != drop[j].v.Name {
			return drop[i].v.Name < drop[j].v.Name
		}
		return drop[i].sv.compare(drop[j].sv) < 0
	})
	freed, gone, err := c.remove(drop)
	if !gone {
		return 0, nil, err
	}
	return freed, copies(drop), err
}
