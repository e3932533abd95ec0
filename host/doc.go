// Package host is the host as a service, what `airssys-wasm serve` runs:
// one process with a data directory, a policy and listeners, that runs the
// apps deployed to it, brings them back after a crash and answers the
// admin API.
//
// # Design
//
// A Service owns, for its whole life, every part below it (opened by Open,
// closed by Shutdown, in that order):
//
//	data dir   0700: catalog/ (package catalog), keyvalue.db (package storage),
//	           state.db (host/state: the desired state), policy.toml, admin.sock
//	engine     one engine.Engine (compile cache in <data>/cache)
//	system     one actor.System: every app is a top-level supervisor "app/<name>"
//	gateway    one host/gateway.Gateway, its routes replaced at every deploy
//	logbook    a slog.Handler that keeps recent lines and feeds `logs -f`
//
// It implements admin.Backend: the admin API (package host/admin) is a thin
// HTTP layer over its methods, and Run serves that and the gateway on their
// own listeners (never one listener for both).
//
// Operations that change what runs (Deploy, DeleteApp, Update, Rollback,
// Stop, Restart, Reload, Restore) are serialized by one mutex (op), held
// for the whole operation; they run on the caller's goroutine (an admin
// request, the signal loop). Reads (Actors, Apps, Status) take a short
// read lock on the view (mu) and never wait for an operation in progress.
//
// # Deploy is reconcile
//
// Deploy parses an app file (host/config), then prepares everything before
// anything changes: each component source is resolved to an installed
// version (a path or an OCI reference is installed into the catalog under
// the policy first), admitted again under the policy as it is now
// (catalog.Admit: signature, manifest, grants), and compiled. A failure
// there changes nothing. Then the desired state is written durably and
// the host is brought to it, actor by actor: ids the file no longer names
// are stopped (their mailboxes drained), ids it adds are started under the
// app's supervisor (actor.System.DeployChild), ids whose version changed
// move to it through the live update path, all together
// (actor.System.UpdateAll: all or none), and ids whose settings changed
// (configuration, subscriptions, mailbox, restart policy, resources) or
// whose component changed (another identity, other data) are stopped and
// started again, keeping their rollback target. A changed [supervisor]
// restarts the whole app. The gateway's routes stop pointing at actors
// about to stop before they stop. The report says, per actor, what was
// done. The same file deployed twice changes nothing, as long as
// everything runs as it asked; a file that changed drops the operator's
// per-actor updates (the file wins). An actor id belongs to one app: a
// file naming another app's id is refused.
//
// An operator's stop keeps the actor in its app (pinned, shown stopped);
// a deploy of the app or a restart of the actor starts it again. So does
// a reload whose policy refuses an actor.
//
// Identity comes from the component, never the file: the grants and the
// key-value data of an actor belong to its publisher key and manifest
// name. An app file cannot widen capabilities; its [actor.resources] can
// only lower the manifest's.
//
// # Versions, pins and recovery
//
// Each actor's running version and its rollback target are pinned in the
// catalog (uninstall and GC leave them). The desired state (host/state)
// holds the app file as deployed, the versions its sources resolved to,
// and an operator's per-actor update or rollback; after a kill -9, Restore
// brings back the same apps, versions and data.
//
// # A lattice of hosts
//
// A host whose host.toml shares a lattice with others (a cluster, peers or
// external servers) is one of several (package lattice; shared.go):
//
//   - the desired state is the lattice's: state.Store becomes a sharedState,
//     which writes the JetStream KV bucket first (entries signed with the
//     host's lattice key, identity.go) and keeps state.db as the host's own
//     copy; one goroutine (follow) applies what other hosts change, under
//     op, reading each entry again first;
//   - components travel through the lattice's object store, and each host
//     installs them through its catalog, under its own policy;
//   - each host runs its share of every app it admitted (placement.go:
//     lattice.Place per actor table of the app file, with its labels and cap), and reconciles
//     again when hosts join, leave or die (lattice.go's rebalancer);
//   - messages from other hosts are accepted from actors of apps this host
//     admitted, sent by hosts that deployed them (senders.go);
//   - durable mailboxes (lattice.Durable) and the lattice key-value store
//     (storage/jskv) are per actor and per app; ps asks every host
//     (lattice_ps.go).
//
// # Dev mode
//
// Options.Dev is the only way to allow everything: components are admitted
// under a policy that takes unsigned ones, and actors run with no grants
// (every capability). It is a flag of the command, never of host.toml.
package host
