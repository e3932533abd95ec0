// Package jskv is a storage.Backend on NATS JetStream KV: the key-value
// store of an app whose actors move between the hosts of a lattice (issue
// 14), so that an actor's data follows it. The embedded bbolt store
// (storage.DB) remains the single-host default; an app chooses this one.
//
// # Types, ownership, goroutines
//
// Open(ctx, nc, Options) makes (or finds) the lattice's bucket,
// "airssys_<lattice>_kv" (a stream KV_airssys_<lattice>_kv on
// $KV.airssys_<lattice>_kv.>, one message kept per subject, file
// storage, Options.Replicas copies, atomic batch publish and message TTLs
// allowed, direct get off so that reads go to the stream's leader). The
// *nats.Conn stays the caller's: Close refuses later calls with
// storage.ErrClosed and waits for those in progress, but does not close
// it. A Backend has no goroutine of its own: every call runs on its
// caller's goroutine, and nats.go's goroutines deliver the server's
// replies; ListKeys reads through a KV watcher whose goroutines end
// before it returns.
//
// # Subjects: isolation by structure
//
//	$KV.<bucket>.p<publisher>.n<name>.b<identifier>.k<key>  = value
//	$KV.<bucket>.p<publisher>.n<name>.u                      = {"bytes":B,"keys":K}
//
// Each part is a token of its own, in unpadded base64url (A-Za-z0-9-_, a
// subset of what KV keys allow): no part can hold a '.', a '*' or a '>',
// every part is non-empty because of its letter, and the encoding is one
// to one and reversible, so no crafted owner, identifier or key reaches
// another's subject. The usage record has five tokens, a key six: a
// listing of one identifier ($KV.<bucket>.p….n….b….*) sees only its keys.
//
// # Writes: quotas exact, batches atomic
//
// Every write (Set, SetMany, Delete, DeleteMany, Increment,
// IncrementUnsigned, CompareAndSwap) reads the owner's usage record and
// the keys it touches, decides (quota, CAS, integer checks: a refusal
// changes nothing), and publishes its changes and the new usage record
// as one atomic batch (Nats-Batch-Id, -Sequence, -Commit: nats.go
// v1.56.0's jetstream package has no API for it, so the messages are
// published here), each message with Nats-Expected-Last-Subject-Sequence
// set to what was read (0: no message). The server applies the whole
// batch or none of it; if any subject moved since it was read (another
// host wrote to the owner: every write rewrites the usage record), it
// refuses the batch and the write is planned again on what is there now
// (up to 200 times, then storage.ErrBusy). So usage is exact and quotas
// hold across hosts. In one process the writes of an owner are
// serialized (a mutex per owner, which also keeps its usage record
// cached), so they do not conflict with each other. A deletion publishes
// a KV delete marker that the server drops after 30s (Nats-TTL), so
// deleted keys leave nothing behind.
//
// # Where the contract differs from storage.DB
//
//   - Batches: SetMany, DeleteMany and GetMany take at most MaxBatchKeys
//     (999) distinct keys (the server's atomic batch holds 1000 messages,
//     one is the usage record) and SetMany at most Options.MaxBatchBytes
//     of keys and values; past that, ErrBatchTooLarge, nothing changed.
//     storage.DB takes any number in one transaction.
//   - Values: at most storage.MaxValueBytes and at most the server's
//     max_payload less 4 KiB for headers (MaxValue): with nats-server's
//     default 1 MiB max_payload a value of a full MiB is refused with
//     storage.ErrValueTooLarge; the lattice's embedded server (2 MiB)
//     takes it.
//   - Reads: GetMany reads key by key, not one snapshot. ListKeys and
//     ListKeysAt read the latest headers of every key of the identifier
//     and sort them for each page: a page costs the identifier's key
//     count, not the page's.
//   - Outcomes: a write whose commit was sent but not acknowledged within
//     Options.Timeout (server gone, leader change) fails with
//     ErrUnknownOutcome: it may have been made. storage.DB always knows.
//   - Speed: on one server (Replicas 1, file storage) nats-server v2.15.3
//     stages every atomic batch in a file store of its own, synced
//     (newBatchStore in its jetstream_batching.go): a write costs 5 to 9
//     ms whatever its size, against 0.3 to 0.5 ms for storage.DB and 30
//     µs for a bare KV Put (BENCHMARKING.md, issue 14). With Replicas 3
//     the server stages batches in memory: 0.65 ms a write. Reads cost a
//     request to the leader (0.1 ms against 2 µs).
//   - An invalid owner fails with ErrInvalidOwner (storage's error for it
//     is not matchable). Export, Import, Owners and Buckets are storage.DB's
//     only (not part of storage.Backend).
//
// # Durability
//
// A write returns once the stream's leader has stored the whole batch
// (and, with Replicas 3, a quorum of the replicas has it). What "stored"
// means is the server's setting: by default nats-server syncs its files
// to disk every two minutes, so an acknowledged write survives the crash
// of the server's process (tested: SIGKILL in the middle of writes loses
// no acknowledged write and tears no batch) but not of the machine, which
// may lose up to two minutes of writes. With sync_interval: always
// (server.Options.SyncAlways, lattice.ServerConfig.SyncAlways) the server
// flushes each batch to disk before acknowledging it: durable as
// storage.DB is. On one server, the server writes a committed batch's
// messages to its store one after another; whether a machine crash in the
// middle of that can tear a batch is the server's store's business, not
// something this package can check.
package jskv
