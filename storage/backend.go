package storage

import "context"

// Backend is what the wasi:keyvalue host (package keyvalue) needs of a
// store of per-owner data: *DB, on bbolt, is the embedded one. Every
// method is safe for concurrent use; writes return after they are
// durable; refusals that change nothing are the errors of this package
// (ErrQuota, ErrInvalidKey, ...).
type Backend interface {
	Get(ctx context.Context, o Owner, id, key string) ([]byte, bool, error)
	Exists(ctx context.Context, o Owner, id, key string) (bool, error)
	GetMany(ctx context.Context, o Owner, id string, keys []string) ([][]byte, error)
	ListKeys(ctx context.Context, o Owner, id, cursor string) ([]string, string, error)
	ListKeysAt(ctx context.Context, o Owner, id string, offset uint64) ([]string, *uint64, error)
	Usage(ctx context.Context, o Owner) (Usage, error)

	Set(ctx context.Context, o Owner, id, key string, value []byte, lim Limits) error
	SetMany(ctx context.Context, o Owner, id string, kvs []KV, lim Limits) error
	Delete(ctx context.Context, o Owner, id, key string) error
	DeleteMany(ctx context.Context, o Owner, id string, keys []string) error
	Increment(ctx context.Context, o Owner, id, key string, delta int64, lim Limits) (int64, error)
	IncrementUnsigned(ctx context.Context, o Owner, id, key string, delta uint64, lim Limits) (uint64, error)
	CompareAndSwap(ctx context.Context, o Owner, id, key string, old []byte, oldFound bool, value []byte,
		lim Limits) error
}

var _ Backend = (*DB)(nil)
