// Package jskv is a storage.Backend on NATS JetStream KV: the key-value
// store of an app whose actors move between the hosts of a lattice (issue
// 14), so that an actor's data follows it. The embedded bbolt store
// (storage.DB) remains the single-host default.
package jskv
