package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// write is one write waiting for the commit loop.
type write struct {
	o   Owner
	lim Limits
	// apply checks the write against the data and the owner's usage and
	// makes it. A refusal (refuse(err)) must come before any change; any
	// other error is a backend failure and aborts the whole transaction.
	apply func(tx *bolt.Tx, u *Usage) error
	done  chan error // its outcome, once committed (or not)
}

// refusal marks an error that changed nothing: only this write fails.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

func refuse(err error) error { return refusal{err} }

// maxGroup bounds the writes one transaction takes.
const maxGroup = 1000

// Group commit, led by a writer: the first write to arrive when no one is
// committing becomes the leader and commits, on its own goroutine, every
// write waiting when it starts a transaction (one fsync for all); writes
// that arrive meanwhile queue and wait. When its own write has committed
// and others wait, the leader hands the lead to a new goroutine (own ==
// nil), which commits until no write waits. A lone writer thus commits on
// its own thread with no hand-off at all: a host call waiting for its
// commit is a callback from C on a locked OS thread, which wakes slowly
// (measured: 15% fewer commits a second).
//
// A leader waits for company only while writers known to be in flight may
// still come back (those of the last group and those that queued while it
// committed), and at most a quarter of a commit: a lone writer never
// waits, and several writers that each wait for their acknowledgement
// commit together instead of settling into cohorts that take turns.
func (db *DB) lead(own *write) {
	for {
		db.mu.Lock()
		group := db.take(nil)
		target := min(db.last+db.queuedAtEnd, maxGroup)
		db.mu.Unlock()
		if len(group) < target && db.lastDur > 0 {
			wait := time.NewTimer(min(db.lastDur/4, time.Millisecond))
		gather:
			for len(group) < target {
				select {
				case <-db.arrive:
					db.mu.Lock()
					group = db.take(group)
					db.mu.Unlock()
				case <-wait.C:
					break gather
				}
			}
			wait.Stop()
		}
		t0 := time.Now()
		db.commit(group)
		db.mu.Lock()
		db.last, db.lastDur, db.queuedAtEnd = len(group), time.Since(t0), len(db.queue)
		switch {
		case len(db.queue) == 0 && (own == nil || len(own.done) > 0):
			db.leading = false
			db.idle.Broadcast()
			db.mu.Unlock()
			return
		case own != nil && len(own.done) > 0:
			// Writes queued behind us: a goroutine of its own leads them, so
			// that the next commit does not wait for a locked thread to wake.
			db.mu.Unlock()
			go db.lead(nil)
			return
		}
		db.mu.Unlock()
	}
}

// take moves queued writes into group (up to maxGroup). db.mu is held.
func (db *DB) take(group []*write) []*write {
	n := min(len(db.queue), maxGroup-len(group))
	group = append(group, db.queue[:n]...)
	clear(db.queue[:n])
	db.queue = db.queue[n:]
	if len(db.queue) == 0 {
		db.queue = nil
	}
	return group
}

// commit runs one group in one transaction and acknowledges each write
// after the commit (or fails all of them if it fails).
func (db *DB) commit(group []*write) {
	errs := make([]error, len(group))
	n := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		usage := map[Owner]*Usage{}
		changed := map[Owner]bool{}
		for i, w := range group {
			u := usage[w.o]
			if u == nil {
				x := readUsage(tx, w.o)
				u = &x
				usage[w.o] = u
			}
			before := *u
			if err := w.apply(tx, u); err != nil {
				var r refusal
				if errors.As(err, &r) {
					errs[i] = r.error
					*u = before
					continue
				}
				return err
			}
			n++
			if *u != before {
				changed[w.o] = true
			}
		}
		for o := range changed {
			if err := writeUsage(tx, o, *usage[o]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		db.nCommits.Add(1)
		db.nWrites.Add(uint64(n))
	}
	if err != nil {
		err = fmt.Errorf("storage: write not committed: %w", err)
		for i := range errs {
			errs[i] = err
		}
	}
	for i, w := range group {
		w.done <- errs[i]
	}
}

// submit queues w and waits for its outcome (see lead). Once queued, a
// write is waited for whatever ctx does: it may be committed.
func (db *DB) submit(ctx context.Context, w *write) error {
	if db.opts.ReadOnly {
		return errors.New("storage: database opened read-only")
	}
	if err := errors.Join(ctx.Err(), w.o.check()); err != nil {
		return err
	}
	select {
	case db.waiting <- struct{}{}:
	default:
		return fmt.Errorf("%w (%d)", ErrBusy, cap(db.waiting))
	}
	defer func() { <-db.waiting }()
	w.lim = w.lim.norm()
	w.done = make(chan error, 1)
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.queue = append(db.queue, w)
	if db.leading {
		db.mu.Unlock()
		select {
		case db.arrive <- struct{}{}:
		default:
		}
		return <-w.done
	}
	db.leading = true
	if db.last > 1 {
		// Several writers lately: a goroutine of its own leads, so that
		// commits follow each other without waiting for a locked thread.
		db.mu.Unlock()
		go db.lead(nil)
		return <-w.done
	}
	db.mu.Unlock()
	db.lead(w)
	return <-w.done
}

// putIn sets key to value in the owner's bucket id, keeping u exact and
// within lim. The buckets are made only once the write is allowed: a
// refused write leaves the file as it was.
func (db *DB) putIn(tx *bolt.Tx, o Owner, id string, u *Usage, lim Limits, key string, value []byte) error {
	b, err := kvBucket(tx, o, id, false)
	if err != nil {
		return err
	}
	var old []byte
	if b != nil {
		old = b.Get([]byte(key))
	}
	if d, dk := sizeDelta(key, old, value); fits(u, lim, d, dk) != nil {
		return fits(u, lim, d, dk)
	}
	if b == nil {
		if b, err = kvBucket(tx, o, id, true); err != nil {
			return err
		}
	}
	return db.put(b, u, lim, key, value)
}

// sizeDelta is what setting key from old (nil: absent) to value changes.
func sizeDelta(key string, old, value []byte) (d, dk int64) {
	d, dk = int64(len(key)+len(value)), 1
	if old != nil {
		d -= int64(len(key) + len(old))
		dk = 0
	}
	return d, dk
}

// put sets key to value in b, keeping u exact and within lim.
func (db *DB) put(b *bolt.Bucket, u *Usage, lim Limits, key string, value []byte) error {
	old := b.Get([]byte(key))
	d, dk := int64(len(key)+len(value)), int64(1)
	if old != nil {
		d -= int64(len(key) + len(old))
		dk = 0
	}
	if err := fits(u, lim, d, dk); err != nil {
		return err
	}
	if err := db.hook(); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	if err := b.Put([]byte(key), value); err != nil {
		return err
	}
	u.Bytes += d
	u.Keys += dk
	return nil
}

// fits checks a change of d bytes and dk keys against lim. A change that
// shrinks is always allowed, even over a quota lowered since.
func fits(u *Usage, lim Limits, d, dk int64) error {
	if d > 0 && u.Bytes+d > lim.MaxBytes {
		return refuse(fmt.Errorf("%w: %d bytes used, %d more, limit %d", ErrQuota, u.Bytes, d, lim.MaxBytes))
	}
	if dk > 0 && u.Keys+dk > lim.MaxKeys {
		return refuse(fmt.Errorf("%w: %d keys, limit %d", ErrQuota, u.Keys, lim.MaxKeys))
	}
	return nil
}

func (db *DB) hook() error {
	if f := db.opts.failApply; f != nil {
		return f(0)
	}
	return nil
}

func del(b *bolt.Bucket, u *Usage, key string) error {
	if b == nil {
		return nil
	}
	old := b.Get([]byte(key))
	if old == nil {
		return nil
	}
	if err := b.Delete([]byte(key)); err != nil {
		return err
	}
	u.Bytes -= int64(len(key) + len(old))
	u.Keys--
	return nil
}

func checkValue(v []byte, lim Limits) error {
	lim = lim.norm()
	if int64(len(v)) > lim.MaxValueBytes {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrValueTooLarge, len(v), lim.MaxValueBytes)
	}
	return nil
}

// Set sets key to value in the owner's bucket id, durably: it returns after
// the commit.
func (db *DB) Set(ctx context.Context, o Owner, id, key string, value []byte, lim Limits) error {
	if err := errors.Join(CheckBucket(id), CheckKey(key), checkValue(value, lim)); err != nil {
		return err
	}
	return db.submit(ctx, &write{o: o, lim: lim, apply: func(tx *bolt.Tx, u *Usage) error {
		return db.putIn(tx, o, id, u, lim.norm(), key, value)
	}})
}

// Delete removes key from the owner's bucket id (no error if absent).
func (db *DB) Delete(ctx context.Context, o Owner, id, key string) error {
	return db.DeleteMany(ctx, o, id, []string{key})
}

// DeleteMany removes keys, all in one commit.
func (db *DB) DeleteMany(ctx context.Context, o Owner, id string, keys []string) error {
	if err := CheckBucket(id); err != nil {
		return err
	}
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return err
		}
	}
	return db.submit(ctx, &write{o: o, lim: Limits{}, apply: func(tx *bolt.Tx, u *Usage) error {
		b, err := kvBucket(tx, o, id, false)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := db.hook(); err != nil {
				return err
			}
			if err := del(b, u, k); err != nil {
				return err
			}
		}
		return nil
	}})
}

// KV is one key and its value.
type KV struct {
	Key   string
	Value []byte
}

// SetMany sets every pair, all or nothing, in one commit.
func (db *DB) SetMany(ctx context.Context, o Owner, id string, kvs []KV, lim Limits) error {
	if err := CheckBucket(id); err != nil {
		return err
	}
	for _, kv := range kvs {
		if err := errors.Join(CheckKey(kv.Key), checkValue(kv.Value, lim)); err != nil {
			return err
		}
	}
	return db.submit(ctx, &write{o: o, lim: lim, apply: func(tx *bolt.Tx, u *Usage) error {
		b, err := kvBucket(tx, o, id, false)
		if err != nil {
			return err
		}
		// Check the whole batch against the quota before the first change.
		final := map[string]int{}
		var d, dk int64
		for _, kv := range kvs {
			prev, seen := final[kv.Key]
			if !seen {
				prev = -1
				if b != nil {
					if old := b.Get([]byte(kv.Key)); old != nil {
						prev = len(kv.Key) + len(old)
					}
				}
			}
			if prev < 0 {
				d += int64(len(kv.Key) + len(kv.Value))
				dk++
			} else {
				d += int64(len(kv.Key)+len(kv.Value)) - int64(prev)
			}
			final[kv.Key] = len(kv.Key) + len(kv.Value)
		}
		if err := fits(u, lim.norm(), d, dk); err != nil {
			return err
		}
		if b == nil && len(kvs) > 0 {
			if b, err = kvBucket(tx, o, id, true); err != nil {
				return err
			}
		}
		big := Limits{MaxBytes: math.MaxInt64, MaxKeys: math.MaxInt64}
		for _, kv := range kvs {
			if err := db.put(b, u, big, kv.Key, kv.Value); err != nil {
				return err
			}
		}
		return nil
	}})
}

// Increment adds delta to the decimal integer stored at key (absent: 0)
// and returns the result. A value that is not a decimal integer, or a
// result past int64, is refused.
func (db *DB) Increment(ctx context.Context, o Owner, id, key string, delta int64, lim Limits) (int64, error) {
	if err := errors.Join(CheckBucket(id), CheckKey(key)); err != nil {
		return 0, err
	}
	var result int64
	err := db.submit(ctx, &write{o: o, lim: lim, apply: func(tx *bolt.Tx, u *Usage) error {
		b, err := kvBucket(tx, o, id, false)
		if err != nil {
			return err
		}
		var cur []byte
		if b != nil {
			cur = b.Get([]byte(key))
		}
		n, err := parseInt(cur)
		if err != nil {
			return refuse(err)
		}
		if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
			return refuse(fmt.Errorf("%w: %d + %d", ErrOverflow, n, delta))
		}
		n += delta
		if err := db.putIn(tx, o, id, u, lim.norm(), key, []byte(strconv.FormatInt(n, 10))); err != nil {
			return err
		}
		result = n
		return nil
	}})
	return result, err
}

// IncrementUnsigned is Increment for wasi:keyvalue 0.2.0-draft's u64
// counters: the result must stay within 0 and the largest int64.
func (db *DB) IncrementUnsigned(ctx context.Context, o Owner, id, key string, delta uint64, lim Limits) (uint64, error) {
	if delta > math.MaxInt64 {
		return 0, fmt.Errorf("%w: delta %d", ErrOverflow, delta)
	}
	v, err := db.Increment(ctx, o, id, key, int64(delta), lim)
	return uint64(v), err
}

// ErrCASFailed is returned by CompareAndSwap when the value changed.
var ErrCASFailed = errors.New("storage: value changed since it was read")

// CompareAndSwap sets key to value if its value is still old (oldFound:
// whether it existed); otherwise it fails with ErrCASFailed and changes
// nothing.
func (db *DB) CompareAndSwap(ctx context.Context, o Owner, id, key string, old []byte, oldFound bool, value []byte,
	lim Limits) error {
	if err := errors.Join(CheckBucket(id), CheckKey(key), checkValue(value, lim)); err != nil {
		return err
	}
	return db.submit(ctx, &write{o: o, lim: lim, apply: func(tx *bolt.Tx, u *Usage) error {
		b, err := kvBucket(tx, o, id, false)
		if err != nil {
			return err
		}
		var cur []byte
		if b != nil {
			cur = b.Get([]byte(key))
		}
		if (cur != nil) != oldFound || (oldFound && !bytes.Equal(cur, old)) {
			return refuse(ErrCASFailed)
		}
		return db.putIn(tx, o, id, u, lim.norm(), key, value)
	}})
}
