// Package security decides what a component may touch, before it runs and
// at every host-function entry while it runs.
//
//   - A Component.toml manifest (manifest.go; schema in SCHEMA.md) says who
//     the component is, the resources it needs and the capabilities it asks
//     for: directories, environment variables, configuration keys,
//     messaging targets and topics, key-value storage buckets (storage.go),
//     logging. Network is denied to every component in this version.
//   - The operator's Policy (policy.go) grants capabilities per trust level
//     and per publisher key, always denies some paths and variables, sets
//     resource ceilings and can require signatures. Evaluate turns a manifest
//     into Grants or an error that lists every missing grant.
//   - Signatures (sign.go) are Ed25519 over the component and its manifest
//     together; Admit verifies before anything is compiled. Keys of small
//     order, which would verify forged signatures, are refused.
//   - Signature, manifest and policy files are read as regular files of
//     bounded size (files.go): a FIFO or a device is refused unread.
//   - Grants (grants.go) answer the runtime's checks without allocating;
//     the actor runtime calls them at every messaging call, and builds WASI
//     preopens and environment only from what was granted. They carry the
//     component's identity, its publisher key and manifest name, on which
//     storage keys its data.
//   - Audit (audit.go) writes JSON lines through log/slog, cutting every
//     string to AuditFieldLimit and limiting denials in lines and bytes,
//     per component and capability and overall.
package security
