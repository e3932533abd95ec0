package security

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Key-value storage (wasi:keyvalue): a manifest asks for bucket identifiers
// and operations in [capabilities.storage]; a policy grants them per trust
// level (and per publisher) with the storage-* keys, and sets the quota a
// component's data is held to. SCHEMA.md documents both.

// Storage defaults: the quota a component granted storage gets where the
// policy sets none.
const (
	DefaultStorageMaxBytes      = 64 << 20 // keys and values, all of a component's buckets together
	DefaultStorageMaxKeys       = 100_000  // keys, all buckets together
	DefaultStorageMaxValueBytes = 1 << 20  // one value
)

// MaxStorageBucketBytes is the longest bucket identifier, in bytes.
const MaxStorageBucketBytes = 256

// StorageAccess is what a manifest asks of key-value storage, or (in
// Grants.Caps) what was granted: the bucket identifiers, exact names, and
// the operations. Read covers get, exists, list-keys, get-many and the
// current value of a CAS; Write covers set, increment, swap and set-many;
// Delete covers delete and delete-many. No buckets: no storage.
type StorageAccess struct {
	Buckets             []string
	Read, Write, Delete bool
}

// StorageGrant is the key-value storage a component was granted: the
// bucket identifiers (exact names) and operations it asked for and the
// policy allowed, and its quota: MaxBytes of keys and values and MaxKeys
// keys, over all its buckets together, and MaxValueBytes for one value.
// The zero value grants nothing.
type StorageGrant struct {
	Buckets       []string
	Read, Write   bool
	Delete        bool
	MaxBytes      int64
	MaxKeys       int64
	MaxValueBytes int64
}

// StorageLevel is what a trust level (or a publisher) may be granted of
// key-value storage. Buckets are exact identifiers, or "*" for any. A
// ceiling of 0 is not set.
type StorageLevel struct {
	Buckets             []string
	Read, Write, Delete bool
	MaxBytes            int64
	MaxKeys             int64
	MaxValueBytes       int64
}

// rawStorage is a manifest's [capabilities.storage] table.
type rawStorage struct {
	Buckets []string `toml:"buckets"`
	Read    bool     `toml:"read"`
	Write   bool     `toml:"write"`
	Delete  bool     `toml:"delete"`
}

// rawStorageGrants are the storage keys of a [trust.<level>] table or of a
// publisher's grants; embedded in rawGrants.
type rawStorageGrants struct {
	StorageBuckets  []string `toml:"storage-buckets"`
	StorageRead     bool     `toml:"storage-read"`
	StorageWrite    bool     `toml:"storage-write"`
	StorageDelete   bool     `toml:"storage-delete"`
	StorageMaxBytes any      `toml:"storage-max-bytes"`
	StorageMaxKeys  *int64   `toml:"storage-max-keys"`
	StorageMaxValue any      `toml:"storage-max-value"`
}

// checkBucket validates a bucket identifier: non-empty, UTF-8, no NUL, at
// most MaxStorageBucketBytes.
func checkBucket(b string) error {
	switch {
	case b == "":
		return fmt.Errorf("a bucket identifier cannot be empty")
	case len(b) > MaxStorageBucketBytes:
		return fmt.Errorf("%q...: a bucket identifier is at most %d bytes, this one has %d",
			b[:32], MaxStorageBucketBytes, len(b))
	case !utf8.ValidString(b):
		return fmt.Errorf("%q is not UTF-8", b)
	case strings.IndexByte(b, 0) >= 0:
		return fmt.Errorf("%q contains NUL", b)
	}
	return nil
}

// storage validates a manifest's [capabilities.storage] table.
func (e *errList) storage(r *rawStorage) StorageAccess {
	const key = "capabilities.storage"
	if r == nil {
		return StorageAccess{}
	}
	out := StorageAccess{Read: r.Read, Write: r.Write, Delete: r.Delete}
	if len(r.Buckets) == 0 {
		e.add(key, "missing required key buckets (the bucket identifiers the component opens)")
	}
	seen := map[string]bool{}
	for _, b := range r.Buckets {
		if err := checkBucket(b); err != nil {
			e.add(key+".buckets", err.Error())
			continue
		}
		if b == "*" {
			e.add(key+".buckets", `"*" is not a bucket identifier: a manifest lists exact names`)
			continue
		}
		if seen[b] {
			e.add(key+".buckets", fmt.Sprintf("%q is listed twice", b))
			continue
		}
		seen[b] = true
		out.Buckets = append(out.Buckets, b)
	}
	if !r.Read && !r.Write && !r.Delete {
		e.add(key, "asks for no operation: set read, write or delete to true")
	}
	return out
}

// storageLevel validates the storage keys of a policy's grants table.
func (e *errList) storageLevel(key string, r rawStorageGrants) StorageLevel {
	out := StorageLevel{Read: r.StorageRead, Write: r.StorageWrite, Delete: r.StorageDelete}
	seen := map[string]bool{}
	for _, b := range r.StorageBuckets {
		if err := checkBucket(b); err != nil {
			e.add(key+".storage-buckets", err.Error())
			continue
		}
		if b != "*" && strings.Contains(b, "*") {
			e.add(key+".storage-buckets", fmt.Sprintf(`%q: bucket grants are exact identifiers or "*" (any), not patterns`, b))
			continue
		}
		if seen[b] {
			e.add(key+".storage-buckets", fmt.Sprintf("%q is listed twice", b))
			continue
		}
		seen[b] = true
		out.Buckets = append(out.Buckets, b)
	}
	if r.StorageMaxBytes != nil {
		if n, err := parseSize(r.StorageMaxBytes); err != nil || n <= 0 {
			e.add(key+".storage-max-bytes", sizeMsg(r.StorageMaxBytes, err))
		} else {
			out.MaxBytes = n
		}
	}
	if r.StorageMaxKeys != nil {
		if *r.StorageMaxKeys <= 0 {
			e.add(key+".storage-max-keys", fmt.Sprintf("%d must be positive", *r.StorageMaxKeys))
		} else {
			out.MaxKeys = *r.StorageMaxKeys
		}
	}
	if r.StorageMaxValue != nil {
		if n, err := parseSize(r.StorageMaxValue); err != nil || n <= 0 {
			e.add(key+".storage-max-value", sizeMsg(r.StorageMaxValue, err))
		} else {
			out.MaxValueBytes = n
		}
	}
	if out.MaxBytes > 0 && out.MaxValueBytes > out.MaxBytes {
		e.add(key+".storage-max-value", "is larger than storage-max-bytes: no value that big could be stored")
	}
	return out
}

// storageMissing lists what a manifest asks of storage that no level
// allows, in the words of DeniedError.
func storageMissing(allow []*LevelGrants, s StorageAccess, deny func(string, ...any)) {
	if len(s.Buckets) == 0 {
		return
	}
	for _, b := range s.Buckets {
		if !anyLevel(allow, func(l *LevelGrants) bool { return nameAllowed(l.Storage.Buckets, b) }) {
			deny("storage bucket %q", b)
		}
	}
	for _, op := range []struct {
		name    string
		asked   bool
		granted func(*LevelGrants) bool
	}{
		{"read", s.Read, func(l *LevelGrants) bool { return l.Storage.Read }},
		{"write", s.Write, func(l *LevelGrants) bool { return l.Storage.Write }},
		{"delete", s.Delete, func(l *LevelGrants) bool { return l.Storage.Delete }},
	} {
		if op.asked && !anyLevel(allow, op.granted) {
			deny("storage %s", op.name)
		}
	}
}

// storageGrant is what a manifest that passed storageMissing gets: what it
// asked, with the quota of its levels (the largest each sets, as a
// publisher's grants add to its level's), else the defaults. A value is
// never allowed more than the whole quota.
func storageGrant(allow []*LevelGrants, s StorageAccess) StorageGrant {
	if len(s.Buckets) == 0 {
		return StorageGrant{}
	}
	g := StorageGrant{Buckets: s.Buckets, Read: s.Read, Write: s.Write, Delete: s.Delete}
	for _, l := range allow {
		g.MaxBytes = max(g.MaxBytes, l.Storage.MaxBytes)
		g.MaxKeys = max(g.MaxKeys, l.Storage.MaxKeys)
		g.MaxValueBytes = max(g.MaxValueBytes, l.Storage.MaxValueBytes)
	}
	if g.MaxBytes == 0 {
		g.MaxBytes = DefaultStorageMaxBytes
	}
	if g.MaxKeys == 0 {
		g.MaxKeys = DefaultStorageMaxKeys
	}
	if g.MaxValueBytes == 0 {
		g.MaxValueBytes = DefaultStorageMaxValueBytes
	}
	g.MaxValueBytes = min(g.MaxValueBytes, g.MaxBytes)
	return g
}

func (g *Grants) setStorage(s StorageGrant) {
	g.storage = s
	g.buckets = make(map[string]struct{}, len(s.Buckets))
	for _, b := range s.Buckets {
		g.buckets[b] = struct{}{}
	}
}

// Storage returns the key-value storage granted: the zero value when none
// was. The caller may keep and change the result.
func (g *Grants) Storage() StorageGrant {
	s := g.storage
	s.Buckets = slices.Clone(s.Buckets)
	return s
}

// AllowBucket reports whether the component was granted the bucket
// identifier (an exact name from its manifest). It does not allocate.
func (g *Grants) AllowBucket(identifier string) bool {
	_, ok := g.buckets[identifier]
	return ok
}
