// Package catalog is the host's local component store: the versions of
// components installed on this machine, each its component bytes, its
// Component.toml and its signature, immutable once installed, checked
// against their SHA-256 digests every time they are read. (It is called a
// catalog because "store" is Wasmtime's word for something else.)
//
// # What a version is
//
// A Version is a component installed under the name and the semantic
// version of its manifest, with the SHA-256 digest of its bytes, the
// publisher key that signed it ("" when unsigned) and the time it was
// installed. A name and a version identify one set of bytes for good:
// installing the same bytes again is a no-op, installing other bytes under
// the same name and version is refused (ErrVersionExists), and so is a
// version whose precedence equals an installed one's ("1.0.0+b" beside
// "1.0.0+a": build metadata does not order versions).
//
// # Whose name it is
//
// A component's identity is its publisher key plus its manifest name (see
// security.Grants.Publisher), and its data in package storage belongs to
// that identity. A name belongs to the publisher that first installed it:
// a version of it signed by another key, or unsigned, is refused
// (ErrNotOwner), and so is a signed version of a name first installed
// unsigned (dev): nobody takes a name over through an update. The claim
// outlives the name's versions: removing every version keeps it, and only
// Forget, on a name with no version left, lets another publisher install
// under that name. The policy has no setting that allows a takeover.
//
// # Checks
//
// Install admits the component (security.Admit: the signature over the
// component and the manifest, and the manifest against the policy) before
// anything is written. Admit admits an installed version again, with the
// policy as it is now (policies change), and checks that the files still
// say what the index says (name, version, publisher): the runtime calls it
// at every deploy and update. Load, which Admit uses, reads the files and
// refuses any whose SHA-256 digest is not the recorded one (ErrTampered):
// a changed file is never run.
//
// # Pins and retention
//
// The runtime pins what it runs and the version it would roll back to
// (Pin, with a reason shown in refusals); a pin lasts until its Release.
// Pins live in memory with the Catalog: a process that starts again pins
// what it deploys before it calls GC. Uninstall refuses a pinned version
// (ErrInUse), and GC never removes one. GC keeps, per name, the Keep
// highest versions (by semver precedence; DefaultKeep, 5) and every version
// installed within Retention.Within, and removes the rest, reporting the
// bytes its files took on disk.
//
// # On disk
//
//	<dir>/              0700, owned by the process's user, not writable by others
//	  LOCK              held (flock) by the one Catalog that has <dir> open
//	  index.json        the index: names and their owners, versions
//	  blobs/sha256/<h>  every file, named by the SHA-256 of its content (hex)
//	  tmp/              files being written; emptied by Open
//
// Every file is 0600 and every directory 0700. A version's three files are
// blobs: the component, the manifest and the signature file (as
// security.Signature.Marshal writes it), so bytes shared by two versions
// are stored once. index.json is JSON:
//
//	{"format": 1,
//	 "names": [{"name": "billing", "publisher": "ed25519:...", "claimed": "<RFC 3339>"}],
//	 "versions": [{"name": "billing", "version": "1.2.0", "digest": "sha256:<hex>",
//	   "manifest": "sha256:<hex>", "signature": "sha256:<hex>" or "",
//	   "publisher": "ed25519:..." or "", "installed": "<RFC 3339>", "size": 123}]}
//
// # Crash safety
//
// Every file is written to tmp/, fsynced, renamed into place and its
// directory fsynced. An install writes its blobs first, then the index;
// the rename of index.json is the moment the version exists. A process
// killed at any point before it leaves at most files in tmp/ and blobs no
// version refers to, which the next Open removes; one killed after it
// leaves the version installed whole. Uninstall and GC write the index
// first and remove blobs after, so a version is never listed without its
// files. A missing or unreadable index.json beside blobs is ErrCorrupt,
// never taken for an empty catalog.
//
// # Concurrency
//
// One process has a directory open at a time: Open takes an exclusive
// lock on LOCK, waits for it at most Options.LockTimeout (1s by default)
// and then fails with ErrLocked. The lock is the kernel's (flock): it goes
// with the process, however the process ends, and a second Open of the
// same directory in the same process is refused the same way.
//
// Inside the process a Catalog is safe for concurrent use. Look-ups (Get,
// Latest, Versions, List) read an in-memory index under a read lock and
// never wait for disk. Changes (Install, Uninstall, GC, Forget) are one at
// a time: admission and hashing happen before a change waits its turn, and
// the in-memory index changes only after the new index.json is in place.
// Load reads files without a lock; a version uninstalled while it is read
// is ErrNotFound, so the runtime pins a version before it loads it.
package catalog
