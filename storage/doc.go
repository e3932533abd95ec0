// Package storage keeps each component's key-value data, durable and
// isolated, in one embedded database file (bbolt): the backend of
// wasi:keyvalue for actors, of the `kv` command and of the Go API.
//
// # Whose data it is
//
// The owner of data is a component's identity, never an actor id a
// deployer picks: the publisher key that signed the component plus the
// name in its manifest (Owner). Every instance and every version of a
// component share its data, so an update keeps it; a component deployed
// under another actor id, or signed by another key, never reaches it.
// Unsigned components (dev mode, or a policy that admits unsigned ones)
// share a space of their own by manifest name, apart from every signed
// publisher's, marked "dev" wherever it is shown: an unsigned component
// can claim any name, so nothing signed ever lives there.
//
// # Layout: isolation by structure
//
// In the file, data sits in nested buckets, so that no crafted name can
// reach across (nothing is found by concatenating strings):
//
//	<owner> / <wasi:keyvalue bucket identifier> / <key> = <value>
//	<owner> / "\x00usage" = bytes (8, big endian) + keys (8, big endian)
//	"\x00airssys" / "format" = "1"
//
// An owner's bucket is named 'o', then its publisher key and its name, each
// preceded by its length (a prefix code: two owners never share a name,
// whatever bytes they hold). The usage record's name holds a NUL, which no
// identifier can. The layout is shallow on purpose: a commit rewrites the
// pages from the changed key up to the file's root, so every level costs
// disk writes on every commit.
//
// Keys are UTF-8, non-empty, without NUL, at most MaxKeyBytes; bucket
// identifiers the same, at most MaxBucketBytes; values any bytes up to the
// owner's Limits.MaxValueBytes (at most MaxValueBytes).
//
// # Writes, quotas, durability
//
// Writes are committed in groups (commit.go): the first writer to arrive
// when no one is committing leads, committing on its own goroutine every
// write waiting when it starts a transaction (one fsync for all), and a
// goroutine of its own takes over the lead while writes keep queueing; a
// leader waits for company only for writers known to be in flight. A
// write is acknowledged only after its transaction committed; a failed
// commit fails every write in it. A write that would pass its owner's quota (Limits: bytes of keys
// and values, key count, value size) fails before it changes anything, and
// a batch is all or nothing. Usage (bytes and keys) is kept exactly, in the
// same transaction as the data. Reads run in their own read transactions
// on the caller's goroutine and see every acknowledged write.
//
// A caller waiting for a commit may be a host call holding an OS thread;
// at most Options.MaxWaiting writes wait at once, past which a write fails
// at once with ErrBusy.
package storage
