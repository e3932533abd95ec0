// Package config reads the two declarative files of a long-running host
// (`airssys-wasm serve`): host.toml, how the host runs, and app files, what
// it runs. It parses, checks and fills in defaults; it starts nothing.
// SCHEMA.md documents both files, with a complete example of each that the
// tests parse.
//
// # host.toml
//
// Load reads it, or with no file gives Defaults, so that one command runs
// a host: its data in DefaultDataDir (the component store, the key-value
// data, its own state), the admin API on a unix socket in it, the HTTP
// gateway on 127.0.0.1 only, and no policy named, which means the default
// policy: WriteDefaultPolicy writes it into the data directory on first
// start, and it grants nothing (deny by default). Granting everything is
// never a setting of host.toml, only an explicit dev flag of the command.
// Secrets are never written in it: the admin token and registry
// credentials are files it names.
//
// # App files
//
// ParseApp reads one application: its actors (a component from the store,
// an OCI reference or a path, an id, instances, configuration,
// subscriptions, mailbox, restart policy, resources), its supervision and
// its HTTP routes. It cannot grant anything: a key that would (capabilities,
// filesystem, env, ...) is refused, the component's signed manifest alone
// asks for capabilities and the policy alone grants them. Paths it names
// must lie under host.toml's [apps] allow-paths. App.Digest is the same
// for two files that mean the same, so deploying the same app twice can
// change nothing.
//
// # Errors
//
// Like manifests and policies, both files are read strictly and every
// problem is reported at once, each an *Error with the file, the line and
// the key ("app.toml:14: actor[1].instances: 5000 is not between 1 and
// 1024"), all matching ErrInvalid; Errors lists them.
package config
