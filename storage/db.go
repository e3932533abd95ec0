package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// Size limits of names and values.
const (
	MaxKeyBytes    = 1024    // a key
	MaxBucketBytes = 256     // a bucket identifier
	MaxValueBytes  = 1 << 20 // a value, whatever the owner's limits
	// ListPage is how many keys one ListKeys call returns at most.
	ListPage = 1000
	// DefaultMaxWaiting bounds the writes waiting for a commit at once.
	DefaultMaxWaiting = 1024
	// DefaultLockTimeout is how long Open waits for another process's lock.
	DefaultLockTimeout = time.Second
)

// Errors, matchable with errors.Is.
var (
	ErrInvalidKey    = errors.New("storage: invalid key")
	ErrInvalidBucket = errors.New("storage: invalid bucket identifier")
	ErrValueTooLarge = errors.New("storage: value too large")
	ErrQuota         = errors.New("storage: quota exceeded")
	ErrNotInteger    = errors.New("storage: value is not a decimal integer")
	ErrOverflow      = errors.New("storage: increment overflows")
	ErrBusy          = errors.New("storage: too many writes waiting")
	ErrClosed        = errors.New("storage: database closed")
	ErrLocked        = errors.New("storage: database file is locked by another process")
	ErrCorrupt       = errors.New("storage: database file is not a valid database")
)

// Owner is whose data it is: a component's identity (see the package doc).
type Owner struct {
	// Publisher is the signer's public key as package security writes it;
	// "" for an unsigned component (dev mode).
	Publisher string
	// Name is the component's manifest name.
	Name string
}

// Dev reports whether this is an unsigned component's space.
func (o Owner) Dev() bool { return o.Publisher == "" }

func (o Owner) String() string {
	if o.Dev() {
		return "dev:" + o.Name
	}
	return o.Publisher + "/" + o.Name
}

func (o Owner) check() error {
	if o.Name == "" || !utf8.ValidString(o.Name) || len(o.Name) > MaxBucketBytes ||
		!utf8.ValidString(o.Publisher) || len(o.Publisher) > MaxBucketBytes || o.Publisher == devSpace {
		return fmt.Errorf("storage: invalid owner %q", o.String())
	}
	return nil
}

// Limits are an owner's quota (0: the default of each).
type Limits struct {
	MaxBytes      int64 // keys and values together, all buckets
	MaxKeys       int64
	MaxValueBytes int64
}

// Default limits.
const (
	DefaultMaxBytes      = 64 << 20
	DefaultMaxKeys       = 100_000
	DefaultMaxValueBytes = 1 << 20
)

func (l Limits) norm() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	if l.MaxValueBytes <= 0 || l.MaxValueBytes > MaxValueBytes {
		l.MaxValueBytes = min(DefaultMaxValueBytes, MaxValueBytes)
		if l.MaxValueBytes <= 0 {
			l.MaxValueBytes = MaxValueBytes
		}
	}
	return l
}

// Usage is what an owner's data takes: bytes of keys and values, and keys.
type Usage struct {
	Bytes int64
	Keys  int64
}

// Options configure Open.
type Options struct {
	// LockTimeout is how long Open waits for a file another process holds
	// (default 1s); then it fails with ErrLocked.
	LockTimeout time.Duration
	// MaxWaiting bounds the writes waiting for a commit (default 1024).
	MaxWaiting int
	// ReadOnly opens the file for reading only (writes fail).
	ReadOnly bool

	// failApply, when set (tests), is called before each key is written
	// or deleted inside a transaction (its argument is 0): an error is a
	// backend failure in the middle of the transaction.
	failApply func(n int) error
}

// DB is an open database file. Safe for concurrent use.
type DB struct {
	bolt    *bolt.DB
	opts    Options
	waiting chan struct{}
	stop    chan struct{} // closed by Close

	// Group commit (commit.go: lead), guarded by mu.
	mu          sync.Mutex
	idle        *sync.Cond // signalled when no one leads any more
	queue       []*write
	leading     bool
	closed      bool
	arrive      chan struct{} // poked when a write queues behind a leader
	last        int           // the last group's size,
	lastDur     time.Duration // its commit time,
	queuedAtEnd int           // and the writes queued when it ended

	nCommits, nWrites atomic.Uint64
	closeOnce         sync.Once
	closeErr          error
}

// Stats counts the commit loop's work.
type Stats struct {
	Commits uint64 // transactions committed (one fsync each)
	Writes  uint64 // writes acknowledged in them
}

// Stats returns the counts since Open.
func (db *DB) Stats() Stats { return Stats{Commits: db.nCommits.Load(), Writes: db.nWrites.Load()} }

// The layout (see the package doc): a top-level bucket per owner, named by
// ownerName, and in it a bucket per identifier and the usage record under
// usageKey, which no identifier can be (identifiers never hold NUL).
var (
	formatName = []byte("\x00airssys")
	formatKey  = []byte("format")
	usageKey   = []byte("\x00usage")
)

const (
	format   = "1"
	devSpace = "dev"
)

// ownerName is the name of o's bucket: 'o', then the publisher and the
// name, each preceded by its length (uvarint). A prefix code: no two
// owners share a name, whatever bytes they hold.
func ownerName(o Owner) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(o.Publisher)+len(o.Name))
	b = append(b, 'o')
	b = binary.AppendUvarint(b, uint64(len(o.Publisher)))
	b = append(b, o.Publisher...)
	b = binary.AppendUvarint(b, uint64(len(o.Name)))
	return append(b, o.Name...)
}

// parseOwnerName reverses ownerName.
func parseOwnerName(b []byte) (Owner, bool) {
	if len(b) == 0 || b[0] != 'o' {
		return Owner{}, false
	}
	b = b[1:]
	var parts [2]string
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return Owner{}, false
		}
		parts[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	return Owner{Publisher: parts[0], Name: parts[1]}, len(b) == 0
}

// Open opens (or creates, mode 0600) the database file at path. A file another process holds fails with ErrLocked after
// LockTimeout; a file that is not a database fails with ErrCorrupt, and is
// left as it was.
func Open(path string, o Options) (*DB, error) {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = DefaultMaxWaiting
	}
	if o.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout, ReadOnly: o.ReadOnly,
		FreelistType: bolt.FreelistMapType})
	switch {
	case errors.Is(err, bolterr.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, o.LockTimeout)
	case errors.Is(err, bolterr.ErrInvalid), errors.Is(err, bolterr.ErrVersionMismatch),
		errors.Is(err, bolterr.ErrChecksum):
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	case err != nil:
		return nil, fmt.Errorf("storage: opening %s: %w", path, err)
	}
	db := &DB{bolt: b, opts: o, waiting: make(chan struct{}, o.MaxWaiting), stop: make(chan struct{}),
		arrive: make(chan struct{}, 1)}
	db.idle = sync.NewCond(&db.mu)
	var marked bool
	b.View(func(tx *bolt.Tx) error {
		marked = tx.Bucket(formatName) != nil && string(tx.Bucket(formatName).Get(formatKey)) == format
		return nil
	})
	if !o.ReadOnly && !marked {
		if err := b.Update(func(tx *bolt.Tx) error {
			f, err := tx.CreateBucketIfNotExists(formatName)
			if err != nil {
				return err
			}
			switch v := f.Get(formatKey); {
			case v == nil:
				return f.Put(formatKey, []byte(format))
			case string(v) != format:
				return fmt.Errorf("%w: data format %q, this version reads %q", ErrCorrupt, v, format)
			}
			return nil
		}); err != nil {
			b.Close()
			return nil, fmt.Errorf("storage: preparing %s: %w", path, err)
		}
	}
	return db, nil
}

// Close waits for the writes already queued to commit (later ones fail
// with ErrClosed) and closes the file.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		// Writes already queued are committed (their callers get their real
		// outcome); later ones fail with ErrClosed.
		db.mu.Lock()
		db.closed = true
		for db.leading {
			db.idle.Wait()
		}
		db.mu.Unlock()
		close(db.stop)
		db.closeErr = db.bolt.Close()
	})
	return db.closeErr
}

// Path is the database file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// ---- names ---------------------------------------------------------------

func checkName(s string, max int, kind error) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", kind)
	case len(s) > max:
		return fmt.Errorf("%w: %d bytes (at most %d)", kind, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not UTF-8", kind)
	case bytes.IndexByte([]byte(s), 0) >= 0:
		return fmt.Errorf("%w: contains NUL", kind)
	}
	return nil
}

// CheckKey reports whether key is a valid key.
func CheckKey(key string) error { return checkName(key, MaxKeyBytes, ErrInvalidKey) }

// CheckBucket reports whether id is a valid bucket identifier.
func CheckBucket(id string) error { return checkName(id, MaxBucketBytes, ErrInvalidBucket) }

// ownerBucket finds (create: makes) the owner's bucket.
func ownerBucket(tx *bolt.Tx, o Owner, create bool) (*bolt.Bucket, error) {
	if !create {
		return tx.Bucket(ownerName(o)), nil
	}
	return tx.CreateBucketIfNotExists(ownerName(o))
}

// kvBucket finds (create: makes) the owner's bucket id.
func kvBucket(tx *bolt.Tx, o Owner, id string, create bool) (*bolt.Bucket, error) {
	ob, err := ownerBucket(tx, o, create)
	if ob == nil || err != nil {
		return nil, err
	}
	if !create {
		return ob.Bucket([]byte(id)), nil
	}
	return ob.CreateBucketIfNotExists([]byte(id))
}

func readUsage(tx *bolt.Tx, o Owner) Usage {
	ob, _ := ownerBucket(tx, o, false)
	if ob == nil {
		return Usage{}
	}
	v := ob.Get(usageKey)
	if len(v) != 16 {
		return Usage{}
	}
	return Usage{Bytes: int64(binary.BigEndian.Uint64(v)), Keys: int64(binary.BigEndian.Uint64(v[8:]))}
}

func writeUsage(tx *bolt.Tx, o Owner, u Usage) error {
	ob, err := ownerBucket(tx, o, true)
	if err != nil {
		return err
	}
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], uint64(u.Bytes))
	binary.BigEndian.PutUint64(v[8:], uint64(u.Keys))
	return ob.Put(usageKey, v[:])
}

// ---- reads -----------------------------------------------------------------

func (db *DB) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-db.stop:
		return ErrClosed
	default:
	}
	return db.bolt.View(fn)
}

// Get returns a copy of the value of key in the owner's bucket id.
func (db *DB) Get(ctx context.Context, o Owner, id, key string) ([]byte, bool, error) {
	if err := errors.Join(o.check(), CheckBucket(id), CheckKey(key)); err != nil {
		return nil, false, err
	}
	var out []byte
	var found bool
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b, _ := kvBucket(tx, o, id, false)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); v != nil {
			out, found = bytes.Clone(v), true
			if out == nil {
				out = []byte{}
			}
		}
		return nil
	})
	return out, found, err
}

// Exists reports whether key is in the owner's bucket id.
func (db *DB) Exists(ctx context.Context, o Owner, id, key string) (bool, error) {
	if err := errors.Join(o.check(), CheckBucket(id), CheckKey(key)); err != nil {
		return false, err
	}
	var found bool
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b, _ := kvBucket(tx, o, id, false)
		found = b != nil && b.Get([]byte(key)) != nil
		return nil
	})
	return found, err
}

// GetMany returns the values of keys (nil for a missing key), in order.
func (db *DB) GetMany(ctx context.Context, o Owner, id string, keys []string) ([][]byte, error) {
	if err := errors.Join(o.check(), CheckBucket(id)); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, len(keys))
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b, _ := kvBucket(tx, o, id, false)
		if b == nil {
			return nil
		}
		for i, k := range keys {
			if v := b.Get([]byte(k)); v != nil {
				out[i] = append([]byte{}, v...)
			}
		}
		return nil
	})
	return out, err
}

// ListKeys returns up to ListPage keys of the owner's bucket id, in order,
// after cursor (a key returned before; "" for the first page), and the
// cursor of the next page ("" when there is none).
func (db *DB) ListKeys(ctx context.Context, o Owner, id, cursor string) ([]string, string, error) {
	if err := errors.Join(o.check(), CheckBucket(id)); err != nil {
		return nil, "", err
	}
	var keys []string
	next := ""
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b, _ := kvBucket(tx, o, id, false)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k []byte
		if cursor == "" {
			k, _ = c.First()
		} else {
			k, _ = c.Seek([]byte(cursor))
			if k != nil && string(k) == cursor {
				k, _ = c.Next()
			}
		}
		for ; k != nil; k, _ = c.Next() {
			if len(keys) == ListPage {
				next = keys[len(keys)-1]
				break
			}
			keys = append(keys, string(k))
		}
		return nil
	})
	return keys, next, err
}

// ListKeysAt is ListKeys with a numeric cursor (wasi:keyvalue 0.2.0-draft):
// the keys from the offset-th on.
func (db *DB) ListKeysAt(ctx context.Context, o Owner, id string, offset uint64) ([]string, *uint64, error) {
	if err := errors.Join(o.check(), CheckBucket(id)); err != nil {
		return nil, nil, err
	}
	var keys []string
	var next *uint64
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b, _ := kvBucket(tx, o, id, false)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		i := uint64(0)
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if i >= offset {
				if len(keys) == ListPage {
					n := i
					next = &n
					break
				}
				keys = append(keys, string(k))
			}
			i++
		}
		return nil
	})
	return keys, next, err
}

// Usage returns what the owner's data takes.
func (db *DB) Usage(ctx context.Context, o Owner) (Usage, error) {
	if err := o.check(); err != nil {
		return Usage{}, err
	}
	var u Usage
	err := db.view(ctx, func(tx *bolt.Tx) error {
		u = readUsage(tx, o)
		return nil
	})
	return u, err
}

// Buckets lists the owner's bucket identifiers that hold data.
func (db *DB) Buckets(ctx context.Context, o Owner) ([]string, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	var ids []string
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ob, _ := ownerBucket(tx, o, false)
		if ob == nil {
			return nil
		}
		return ob.ForEachBucket(func(k []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}

// Owners lists every owner with data.
func (db *DB) Owners(ctx context.Context) ([]Owner, error) {
	var out []Owner
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if o, ok := parseOwnerName(name); ok {
				out = append(out, o)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, err
}

// parseInt reads a stored counter (decimal text; absent is 0).
func parseInt(v []byte) (int64, error) {
	if v == nil {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrNotInteger, truncate(v))
	}
	return n, nil
}

func truncate(v []byte) []byte {
	if len(v) > 32 {
		return v[:32]
	}
	return v
}

// FileName is the database file's name in a host's data directory.
const FileName = "keyvalue.db"

// OpenDir opens the database of the data directory dir (dir/FileName),
// creating the directory (mode 0700) when needed.
func OpenDir(dir string, o Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return Open(filepath.Join(dir, FileName), o)
}
