package jskv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// Bounds of what a caller (a guest) controls.
const (
	// MaxBatchKeys is the most distinct keys one SetMany, DeleteMany or
	// GetMany takes: the server's atomic batch holds at most 1000
	// messages, one of which is the owner's usage record.
	MaxBatchKeys = 999
	// DefaultMaxBatchBytes bounds the keys and values of one SetMany.
	DefaultMaxBatchBytes = 64 << 20
	// headroom is what a message's headers may take besides its value.
	headroom = 4 << 10
	// markerTTL is how long a deletion marker stays in the stream.
	markerTTL = "30s"
	// maxAttempts bounds the retries of a write that keeps conflicting
	// with writes of other hosts (or of a server busy with batches).
	maxAttempts = 200
)

// Errors of this package (the others are storage's).
var (
	// ErrBatchTooLarge refuses a batch past MaxBatchKeys or
	// Options.MaxBatchBytes; nothing is changed.
	ErrBatchTooLarge = errors.New("jskv: batch too large")
	// ErrInvalidOwner refuses an owner storage would refuse.
	ErrInvalidOwner = errors.New("jskv: invalid owner")
	// ErrUnknownOutcome is a write whose commit was sent but whose
	// acknowledgement never came: it may or may not have been made.
	ErrUnknownOutcome = errors.New("jskv: write sent, outcome unknown")
)

// Options configure Open.
type Options struct {
	// Lattice names the lattice: the bucket is "airssys_<Lattice>_kv".
	// 1 to 63 of [a-z0-9-].
	Lattice string
	// Replicas of the bucket's stream: 1 (default) on a single server, 3
	// for a cluster that survives the loss of a server.
	Replicas int
	// MaxWaiting bounds the writes in progress at once (default
	// storage.DefaultMaxWaiting); past it a write fails at once with
	// storage.ErrBusy.
	MaxWaiting int
	// MaxBatchBytes bounds the keys and values of one SetMany (default
	// DefaultMaxBatchBytes); past it, ErrBatchTooLarge.
	MaxBatchBytes int64
	// Timeout bounds each request to the server when the caller's context
	// has no earlier deadline, and the wait for a commit's
	// acknowledgement once it is sent (default 10s).
	Timeout time.Duration
}

// Backend is a storage.Backend on one JetStream KV bucket. Safe for
// concurrent use.
type Backend struct {
	nc       *nats.Conn
	stream   jetstream.Stream
	kv       jetstream.KeyValue
	bucket   string
	prefix   string // "$KV.<bucket>."
	maxValue int64  // the largest value a message can carry
	opts     Options
	waiting  chan struct{}

	conflicts atomic.Uint64
	// beforePublish, when set (tests), runs between a write's reads and
	// its batch.
	beforePublish func()
	markerTTL     string // how long a deletion marker stays (tests shorten it)

	mu     sync.Mutex
	owners map[storage.Owner]*ownerState
	closed bool
	ops    sync.WaitGroup
}

var _ storage.Backend = (*Backend)(nil)

// ownerState serializes this process's writes of one owner and caches
// its usage record while some write holds it.
type ownerState struct {
	mu    sync.Mutex
	refs  int // guarded by Backend.mu
	valid bool
	usage storage.Usage
	seq   uint64 // the usage record's stream sequence (0: none)
}

// BucketName is the KV bucket of a lattice.
func BucketName(lattice string) string { return "airssys_" + lattice + "_kv" }

func checkLattice(l string) error {
	if l == "" || len(l) > 63 {
		return fmt.Errorf("jskv: lattice name %q: 1 to 63 characters", l)
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("jskv: lattice name %q: only a-z, 0-9 and '-'", l)
		}
	}
	return nil
}

// Open makes (or finds) the lattice's bucket on the server nc reaches.
// nc stays the caller's: Close does not close it.
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Backend, error) {
	if nc == nil {
		return nil, errors.New("jskv: no NATS connection")
	}
	if err := checkLattice(opts.Lattice); err != nil {
		return nil, err
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.MaxWaiting <= 0 {
		opts.MaxWaiting = storage.DefaultMaxWaiting
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jskv: %w", err)
	}
	bucket := BucketName(opts.Lattice)
	cfg := jetstream.StreamConfig{
		Name:              "KV_" + bucket,
		Description:       "airssys key-value data (storage/jskv)",
		Subjects:          []string{"$KV." + bucket + ".>"},
		MaxMsgsPerSubject: 1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		Storage:           jetstream.FileStorage,
		Replicas:          opts.Replicas,
		Discard:           jetstream.DiscardNew,
		AllowRollup:       true,
		DenyDelete:        true,
		// Reads go to the stream's leader, which has every acknowledged
		// write (a direct get may be answered by a lagging replica).
		AllowDirect:        false,
		AllowAtomicPublish: true,
		AllowMsgTTL:        true,
	}
	octx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	stream, err := js.CreateOrUpdateStream(octx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another host made it at the same time.
		stream, err = js.CreateOrUpdateStream(octx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("jskv: bucket %s: %w", bucket, err)
	}
	kv, err := js.KeyValue(octx, bucket)
	if err != nil {
		return nil, fmt.Errorf("jskv: bucket %s: %w", bucket, err)
	}
	b := &Backend{nc: nc, stream: stream, kv: kv, bucket: bucket, prefix: "$KV." + bucket + ".",
		maxValue: min(nc.MaxPayload()-headroom, storage.MaxValueBytes), opts: opts, markerTTL: markerTTL,
		waiting: make(chan struct{}, opts.MaxWaiting), owners: map[storage.Owner]*ownerState{}}
	if b.maxValue <= 0 {
		return nil, fmt.Errorf("jskv: the server's max payload (%d) leaves no room for values", nc.MaxPayload())
	}
	return b, nil
}

// MaxValue is the largest value this backend stores: storage.MaxValueBytes,
// or less when the server's max payload is smaller than it plus headers.
func (b *Backend) MaxValue() int64 { return b.maxValue }

// Conflicts counts the batches the server refused because another writer
// (another host) changed the owner's data after they were planned; each
// was planned again.
func (b *Backend) Conflicts() uint64 { return b.conflicts.Load() }

// Bucket is the KV bucket's name.
func (b *Backend) Bucket() string { return b.bucket }

// Close waits for the calls in progress and refuses later ones with
// storage.ErrClosed. The connection stays open (it is the caller's).
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.ops.Wait()
	return nil
}

func (b *Backend) enter() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return storage.ErrClosed
	}
	b.ops.Add(1)
	return nil
}

// ---- names -----------------------------------------------------------------

var b64 = base64.RawURLEncoding.Strict()

// ownerSubject is the owner's part of a subject: "p<publisher>.n<name>",
// each part in base64url (a token of its own: no '.', '*' or '>' can
// appear, and the letter says which part it is).
func ownerSubject(o storage.Owner) string {
	return "p" + b64.EncodeToString([]byte(o.Publisher)) + ".n" + b64.EncodeToString([]byte(o.Name))
}

// bucketPrefix is the subject prefix of the owner's bucket id's keys.
func (b *Backend) bucketPrefix(o storage.Owner, id string) string {
	return b.prefix + ownerSubject(o) + ".b" + b64.EncodeToString([]byte(id)) + "."
}

func (b *Backend) keySubject(o storage.Owner, id, key string) string {
	return b.bucketPrefix(o, id) + "k" + b64.EncodeToString([]byte(key))
}

func (b *Backend) usageSubject(o storage.Owner) string {
	return b.prefix + ownerSubject(o) + ".u"
}

// decodeKey reverses the key token of a subject under prefix.
func decodeKey(subject, prefix string) (string, bool) {
	tok, ok := strings.CutPrefix(subject, prefix+"k")
	if !ok || strings.Contains(tok, ".") {
		return "", false
	}
	k, err := b64.DecodeString(tok)
	if err != nil || storage.CheckKey(string(k)) != nil {
		return "", false
	}
	return string(k), true
}

func checkOwner(o storage.Owner) error {
	if o.Name == "" || !utf8.ValidString(o.Name) || len(o.Name) > storage.MaxBucketBytes ||
		!utf8.ValidString(o.Publisher) || len(o.Publisher) > storage.MaxBucketBytes || o.Publisher == "dev" {
		return fmt.Errorf("%w %q", ErrInvalidOwner, o.String())
	}
	return nil
}

func norm(l storage.Limits) storage.Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = storage.DefaultMaxBytes
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = storage.DefaultMaxKeys
	}
	if l.MaxValueBytes <= 0 || l.MaxValueBytes > storage.MaxValueBytes {
		l.MaxValueBytes = min(storage.DefaultMaxValueBytes, storage.MaxValueBytes)
	}
	return l
}

func (b *Backend) checkValue(v []byte, lim storage.Limits) error {
	lim = norm(lim)
	if int64(len(v)) > lim.MaxValueBytes {
		return fmt.Errorf("%w: %d bytes (limit %d)", storage.ErrValueTooLarge, len(v), lim.MaxValueBytes)
	}
	if int64(len(v)) > b.maxValue {
		return fmt.Errorf("%w: %d bytes (the server's messages carry at most %d)", storage.ErrValueTooLarge,
			len(v), b.maxValue)
	}
	return nil
}

// fits checks a change of d bytes and dk keys against lim, as storage
// does: a change that shrinks is always allowed.
func fits(u storage.Usage, lim storage.Limits, d, dk int64) error {
	if d > 0 && u.Bytes+d > lim.MaxBytes {
		return fmt.Errorf("%w: %d bytes used, %d more, limit %d", storage.ErrQuota, u.Bytes, d, lim.MaxBytes)
	}
	if dk > 0 && u.Keys+dk > lim.MaxKeys {
		return fmt.Errorf("%w: %d keys, limit %d", storage.ErrQuota, u.Keys, lim.MaxKeys)
	}
	return nil
}

// ---- reads -----------------------------------------------------------------

// entry is a key's state in the stream.
type entry struct {
	value []byte
	found bool
	seq   uint64 // the subject's last sequence (a deletion marker's too); 0: none
}

func (b *Backend) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.opts.Timeout)
}

// readAttempt bounds one read request: a stream whose leader is gone
// answers nothing until another is elected (a few seconds after a server
// dies), so a read is asked again rather than waited on for the whole
// Options.Timeout.
const readAttempt = time.Second

// load reads the last message of subject, asking again (every
// readAttempt, within Options.Timeout and ctx) while no answer comes.
func (b *Backend) load(ctx context.Context, subject string) (entry, error) {
	rctx, cancel := b.reqCtx(ctx)
	defer cancel()
	var m *jetstream.RawStreamMsg
	var err error
	for {
		actx, acancel := context.WithTimeout(rctx, readAttempt)
		m, err = b.stream.GetLastMsgForSubject(actx, subject)
		acancel()
		if rctx.Err() != nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) ||
			errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrTimeout)) {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) { // an answer at once: not so fast again
			select {
			case <-time.After(20 * time.Millisecond):
			case <-rctx.Done():
			}
		}
	}
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return entry{}, nil
	case err != nil:
		return entry{}, fmt.Errorf("jskv: reading: %w", err)
	}
	e := entry{seq: m.Sequence}
	if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
		return e, nil
	}
	e.found = true
	e.value = m.Data
	if e.value == nil {
		e.value = []byte{}
	}
	return e, nil
}

func (b *Backend) loadUsage(ctx context.Context, o storage.Owner) (storage.Usage, uint64, error) {
	e, err := b.load(ctx, b.usageSubject(o))
	if err != nil || !e.found {
		return storage.Usage{}, e.seq, err
	}
	var r usageRecord
	if err := json.Unmarshal(e.value, &r); err != nil {
		return storage.Usage{}, 0, fmt.Errorf("jskv: usage record of %s: %w", o, err)
	}
	return storage.Usage{Bytes: r.Bytes, Keys: r.Keys}, e.seq, nil
}

type usageRecord struct {
	Bytes int64 `json:"bytes"`
	Keys  int64 `json:"keys"`
}

// Get returns the value of key in the owner's bucket id.
func (b *Backend) Get(ctx context.Context, o storage.Owner, id, key string) ([]byte, bool, error) {
	if err := errors.Join(checkOwner(o), storage.CheckBucket(id), storage.CheckKey(key)); err != nil {
		return nil, false, err
	}
	if err := b.enter(); err != nil {
		return nil, false, err
	}
	defer b.ops.Done()
	e, err := b.load(ctx, b.keySubject(o, id, key))
	return e.value, e.found, err
}

// Exists reports whether key is in the owner's bucket id.
func (b *Backend) Exists(ctx context.Context, o storage.Owner, id, key string) (bool, error) {
	_, found, err := b.Get(ctx, o, id, key)
	return found, err
}

// GetMany returns the values of keys (nil for a missing key), in order;
// each key is read on its own (not one snapshot).
func (b *Backend) GetMany(ctx context.Context, o storage.Owner, id string, keys []string) ([][]byte, error) {
	if err := errors.Join(checkOwner(o), storage.CheckBucket(id)); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := storage.CheckKey(k); err != nil {
			return nil, err
		}
	}
	if len(keys) > MaxBatchKeys {
		return nil, fmt.Errorf("%w: %d keys (at most %d)", ErrBatchTooLarge, len(keys), MaxBatchKeys)
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.ops.Done()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		e, err := b.load(ctx, b.keySubject(o, id, k))
		if err != nil {
			return nil, err
		}
		if e.found {
			out[i] = e.value
		}
	}
	return out, nil
}

// keys lists every key of the owner's bucket id, sorted: the last message
// of each subject under its prefix, headers only, deletions left out.
func (b *Backend) keys(ctx context.Context, o storage.Owner, id string) ([]string, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.ops.Done()
	lctx, cancel := b.reqCtx(ctx)
	defer cancel()
	kvPrefix := strings.TrimPrefix(b.bucketPrefix(o, id), b.prefix)
	kl, err := b.kv.ListKeysFiltered(lctx, kvPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("jskv: listing keys: %w", err)
	}
	defer kl.Stop()
	var keys []string
	for k := range kl.Keys() {
		if key, ok := decodeKey(k, kvPrefix); ok {
			keys = append(keys, key)
		}
	}
	// The lister ends its channel early when its context ends.
	if err := lctx.Err(); err != nil {
		return nil, fmt.Errorf("jskv: listing keys: %w", err)
	}
	sort.Strings(keys)
	return keys, nil
}

// ListKeys returns up to storage.ListPage keys after cursor, in order, and
// the cursor of the next page ("" when there is none), as storage does.
// Each page reads every key of the bucket (see the package doc).
func (b *Backend) ListKeys(ctx context.Context, o storage.Owner, id, cursor string) ([]string, string, error) {
	if err := errors.Join(checkOwner(o), storage.CheckBucket(id)); err != nil {
		return nil, "", err
	}
	all, err := b.keys(ctx, o, id)
	if err != nil {
		return nil, "", err
	}
	i := 0
	if cursor != "" {
		i = sort.Search(len(all), func(i int) bool { return all[i] > cursor })
	}
	page := all[i:]
	if len(page) > storage.ListPage {
		page = page[:storage.ListPage]
		return page, page[len(page)-1], nil
	}
	return page, "", nil
}

// ListKeysAt is ListKeys with a numeric cursor: the keys from the
// offset-th on.
func (b *Backend) ListKeysAt(ctx context.Context, o storage.Owner, id string, offset uint64) ([]string, *uint64, error) {
	if err := errors.Join(checkOwner(o), storage.CheckBucket(id)); err != nil {
		return nil, nil, err
	}
	all, err := b.keys(ctx, o, id)
	if err != nil {
		return nil, nil, err
	}
	if offset >= uint64(len(all)) {
		return nil, nil, nil
	}
	page := all[offset:]
	if len(page) > storage.ListPage {
		next := offset + storage.ListPage
		return page[:storage.ListPage], &next, nil
	}
	return page, nil, nil
}

// Usage returns what the owner's data takes.
func (b *Backend) Usage(ctx context.Context, o storage.Owner) (storage.Usage, error) {
	if err := checkOwner(o); err != nil {
		return storage.Usage{}, err
	}
	if err := b.enter(); err != nil {
		return storage.Usage{}, err
	}
	defer b.ops.Done()
	u, _, err := b.loadUsage(ctx, o)
	return u, err
}

// ---- writes ----------------------------------------------------------------

// change is one message of a write's batch.
type change struct {
	subject string
	value   []byte
	del     bool
	expect  uint64 // the subject's last sequence when it was read
}

// plan reads what it needs (through read) and returns the changes of a
// write and the usage after them, or an error that refuses the write
// (nothing is changed).
type plan func(read func(key string) (entry, error), u storage.Usage) ([]change, storage.Usage, error)

func (b *Backend) lockOwner(o storage.Owner) *ownerState {
	b.mu.Lock()
	s := b.owners[o]
	if s == nil {
		s = &ownerState{}
		b.owners[o] = s
	}
	s.refs++
	b.mu.Unlock()
	s.mu.Lock()
	return s
}

func (b *Backend) unlockOwner(o storage.Owner, s *ownerState) {
	s.mu.Unlock()
	b.mu.Lock()
	if s.refs--; s.refs == 0 {
		delete(b.owners, o)
	}
	b.mu.Unlock()
}

// write runs p against the owner's current data and publishes its changes
// and the new usage record as one atomic batch, each message expecting
// its subject's last sequence as read: a write of another host in
// between fails the batch as a whole, and p runs again.
func (b *Backend) write(ctx context.Context, o storage.Owner, id string, p plan) error {
	if err := checkOwner(o); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.ops.Done()
	select {
	case b.waiting <- struct{}{}:
	default:
		return fmt.Errorf("%w (%d)", storage.ErrBusy, cap(b.waiting))
	}
	defer func() { <-b.waiting }()
	s := b.lockOwner(o)
	defer b.unlockOwner(o, s)
	read := func(key string) (entry, error) { return b.load(ctx, b.keySubject(o, id, key)) }
	for attempt := 0; ; attempt++ {
		if !s.valid {
			u, seq, err := b.loadUsage(ctx, o)
			if err != nil {
				return err
			}
			s.usage, s.seq, s.valid = u, seq, true
		}
		changes, nu, err := p(read, s.usage)
		if err != nil || len(changes) == 0 {
			return err
		}
		if b.beforePublish != nil {
			b.beforePublish()
		}
		usage, _ := json.Marshal(usageRecord{Bytes: nu.Bytes, Keys: nu.Keys})
		changes = append(changes, change{subject: b.usageSubject(o), value: usage, expect: s.seq})
		seq, err := b.publish(ctx, changes)
		if err == nil {
			s.usage, s.seq = nu, seq
			return nil
		}
		s.valid = false
		var c conflict
		if !errors.As(err, &c) {
			return err
		}
		b.conflicts.Add(1)
		if attempt+1 >= maxAttempts {
			return fmt.Errorf("%w: %d attempts: %v", storage.ErrBusy, maxAttempts, err)
		}
		if c.busy || attempt >= 2 {
			// Other hosts keep winning (or the server has too many
			// batches in flight): wait a little, more each time.
			d := time.Duration(min(attempt+1, 50)) * time.Millisecond
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
	}
}

// conflict is a batch the server refused because a subject moved since it
// was read (or, busy, because it had too many batches in flight): nothing
// was written, the write may run again.
type conflict struct {
	busy bool
	msg  string
}

func (c conflict) Error() string { return "jskv: batch refused: " + c.msg }

type pubAck struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
	Seq   uint64 `json:"seq"`
	Count int    `json:"count"`
}

// The server's error codes (nats-server's jetstream_errors_generated.go).
const (
	errWrongLastSeq         = 10071
	errWrongLastSeqConstant = 10164
	errTooManyInflight      = 10210
	errMessageTooLarge      = 10054
)

// publish sends changes as one atomic batch and returns the sequence of
// its last message. Only the commit (the last message) asks for an
// acknowledgement: the server refuses the whole batch if one of the
// others failed. Once the commit is sent, its outcome is waited for
// whatever ctx does (up to Options.Timeout).
func (b *Backend) publish(ctx context.Context, changes []change) (uint64, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return 0, fmt.Errorf("jskv: batch id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var commit *nats.Msg
	for i, c := range changes {
		m := nats.NewMsg(c.subject)
		m.Data = c.value
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		m.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(c.expect, 10))
		if c.del {
			m.Header.Set("KV-Operation", "DEL")
			m.Header.Set("Nats-TTL", b.markerTTL)
		}
		if i == len(changes)-1 {
			m.Header.Set("Nats-Batch-Commit", "1")
			commit = m
			break
		}
		if err := b.nc.PublishMsg(m); err != nil {
			return 0, fmt.Errorf("jskv: publishing: %w", err)
		}
	}
	// The commit is waited for with a context of its own: a caller gone
	// does not make an outcome unknown.
	wctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	reply, err := b.nc.RequestMsgWithContext(wctx, commit)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return 0, fmt.Errorf("jskv: no stream answers on %s: %w", b.bucket, err)
	case err != nil:
		return 0, fmt.Errorf("%w: %v", ErrUnknownOutcome, err)
	}
	var ack pubAck
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		return 0, fmt.Errorf("%w: acknowledgement %q: %v", ErrUnknownOutcome, reply.Data, err)
	}
	if e := ack.Error; e != nil {
		switch e.ErrCode {
		case errWrongLastSeq, errWrongLastSeqConstant:
			return 0, conflict{msg: e.Description}
		case errTooManyInflight:
			return 0, conflict{busy: true, msg: e.Description}
		case errMessageTooLarge:
			return 0, fmt.Errorf("%w: %s", storage.ErrValueTooLarge, e.Description)
		}
		return 0, fmt.Errorf("jskv: batch refused: %s (%d)", e.Description, e.ErrCode)
	}
	if ack.Count != len(changes) {
		return 0, fmt.Errorf("jskv: batch of %d acknowledged as %d", len(changes), ack.Count)
	}
	return ack.Seq, nil
}

// put is the change setting key (read as e) to value, and its cost.
func (b *Backend) put(o storage.Owner, id, key string, e entry, value []byte) (change, int64, int64) {
	d, dk := int64(len(key)+len(value)), int64(1)
	if e.found {
		d -= int64(len(key) + len(e.value))
		dk = 0
	}
	if value == nil {
		value = []byte{}
	}
	return change{subject: b.keySubject(o, id, key), value: value, expect: e.seq}, d, dk
}

// Set sets key to value in the owner's bucket id; it returns once the
// server acknowledged it (see the package doc for what that guarantees).
func (b *Backend) Set(ctx context.Context, o storage.Owner, id, key string, value []byte, lim storage.Limits) error {
	if err := errors.Join(storage.CheckBucket(id), storage.CheckKey(key), b.checkValue(value, lim)); err != nil {
		return err
	}
	lim = norm(lim)
	return b.write(ctx, o, id, func(read func(string) (entry, error), u storage.Usage) ([]change, storage.Usage, error) {
		e, err := read(key)
		if err != nil {
			return nil, u, err
		}
		c, d, dk := b.put(o, id, key, e, value)
		if err := fits(u, lim, d, dk); err != nil {
			return nil, u, err
		}
		return []change{c}, storage.Usage{Bytes: u.Bytes + d, Keys: u.Keys + dk}, nil
	})
}

// Delete removes key from the owner's bucket id (no error if absent).
func (b *Backend) Delete(ctx context.Context, o storage.Owner, id, key string) error {
	return b.DeleteMany(ctx, o, id, []string{key})
}

func distinct(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// DeleteMany removes keys, all or none.
func (b *Backend) DeleteMany(ctx context.Context, o storage.Owner, id string, keys []string) error {
	if err := storage.CheckBucket(id); err != nil {
		return err
	}
	for _, k := range keys {
		if err := storage.CheckKey(k); err != nil {
			return err
		}
	}
	keys = distinct(keys)
	if len(keys) > MaxBatchKeys {
		return fmt.Errorf("%w: %d keys (at most %d)", ErrBatchTooLarge, len(keys), MaxBatchKeys)
	}
	return b.write(ctx, o, id, func(read func(string) (entry, error), u storage.Usage) ([]change, storage.Usage, error) {
		var changes []change
		for _, k := range keys {
			e, err := read(k)
			if err != nil {
				return nil, u, err
			}
			if !e.found {
				continue
			}
			changes = append(changes, change{subject: b.keySubject(o, id, k), del: true, expect: e.seq})
			u.Bytes -= int64(len(k) + len(e.value))
			u.Keys--
		}
		return changes, u, nil
	})
}

// SetMany sets every pair, all or nothing (the last value of a key given
// twice wins).
func (b *Backend) SetMany(ctx context.Context, o storage.Owner, id string, kvs []storage.KV, lim storage.Limits) error {
	if err := storage.CheckBucket(id); err != nil {
		return err
	}
	var total int64
	final := make(map[string][]byte, len(kvs))
	var order []string
	for _, kv := range kvs {
		if err := errors.Join(storage.CheckKey(kv.Key), b.checkValue(kv.Value, lim)); err != nil {
			return err
		}
		total += int64(len(kv.Key) + len(kv.Value))
		if _, ok := final[kv.Key]; !ok {
			order = append(order, kv.Key)
		}
		final[kv.Key] = kv.Value
	}
	if len(order) > MaxBatchKeys {
		return fmt.Errorf("%w: %d keys (at most %d)", ErrBatchTooLarge, len(order), MaxBatchKeys)
	}
	if total > b.opts.MaxBatchBytes {
		return fmt.Errorf("%w: %d bytes (at most %d)", ErrBatchTooLarge, total, b.opts.MaxBatchBytes)
	}
	lim = norm(lim)
	return b.write(ctx, o, id, func(read func(string) (entry, error), u storage.Usage) ([]change, storage.Usage, error) {
		changes := make([]change, 0, len(order))
		var d, dk int64
		for _, k := range order {
			e, err := read(k)
			if err != nil {
				return nil, u, err
			}
			c, cd, cdk := b.put(o, id, k, e, final[k])
			changes = append(changes, c)
			d, dk = d+cd, dk+cdk
		}
		if err := fits(u, lim, d, dk); err != nil {
			return nil, u, err
		}
		return changes, storage.Usage{Bytes: u.Bytes + d, Keys: u.Keys + dk}, nil
	})
}

// Increment adds delta to the decimal integer stored at key (absent: 0)
// and returns the result; a value that is not a decimal integer, or a
// result past int64, is refused.
func (b *Backend) Increment(ctx context.Context, o storage.Owner, id, key string, delta int64, lim storage.Limits) (int64, error) {
	if err := errors.Join(storage.CheckBucket(id), storage.CheckKey(key)); err != nil {
		return 0, err
	}
	lim = norm(lim)
	var result int64
	err := b.write(ctx, o, id, func(read func(string) (entry, error), u storage.Usage) ([]change, storage.Usage, error) {
		e, err := read(key)
		if err != nil {
			return nil, u, err
		}
		var n int64
		if e.found {
			if n, err = strconv.ParseInt(string(e.value), 10, 64); err != nil {
				return nil, u, fmt.Errorf("%w: %q", storage.ErrNotInteger, truncate(e.value))
			}
		}
		if (delta > 0 && n > maxInt64-delta) || (delta < 0 && n < minInt64-delta) {
			return nil, u, fmt.Errorf("%w: %d + %d", storage.ErrOverflow, n, delta)
		}
		n += delta
		c, d, dk := b.put(o, id, key, e, []byte(strconv.FormatInt(n, 10)))
		if err := fits(u, lim, d, dk); err != nil {
			return nil, u, err
		}
		result = n
		return []change{c}, storage.Usage{Bytes: u.Bytes + d, Keys: u.Keys + dk}, nil
	})
	return result, err
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

func truncate(v []byte) []byte {
	if len(v) > 32 {
		return v[:32]
	}
	return v
}

// IncrementUnsigned is Increment for u64 counters: the result must stay
// within 0 and the largest int64, as storage does.
func (b *Backend) IncrementUnsigned(ctx context.Context, o storage.Owner, id, key string, delta uint64, lim storage.Limits) (uint64, error) {
	if delta > maxInt64 {
		return 0, fmt.Errorf("%w: delta %d", storage.ErrOverflow, delta)
	}
	v, err := b.Increment(ctx, o, id, key, int64(delta), lim)
	return uint64(v), err
}

// CompareAndSwap sets key to value if its value is still old (oldFound:
// whether it existed); otherwise it fails with storage.ErrCASFailed and
// changes nothing.
func (b *Backend) CompareAndSwap(ctx context.Context, o storage.Owner, id, key string, old []byte, oldFound bool,
	value []byte, lim storage.Limits) error {
	if err := errors.Join(storage.CheckBucket(id), storage.CheckKey(key), b.checkValue(value, lim)); err != nil {
		return err
	}
	lim = norm(lim)
	return b.write(ctx, o, id, func(read func(string) (entry, error), u storage.Usage) ([]change, storage.Usage, error) {
		e, err := read(key)
		if err != nil {
			return nil, u, err
		}
		if e.found != oldFound || (oldFound && string(e.value) != string(old)) {
			return nil, u, storage.ErrCASFailed
		}
		c, d, dk := b.put(o, id, key, e, value)
		if err := fits(u, lim, d, dk); err != nil {
			return nil, u, err
		}
		return []change{c}, storage.Usage{Bytes: u.Bytes + d, Keys: u.Keys + dk}, nil
	})
}
