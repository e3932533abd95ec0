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
	done  chan error
}

// refusal marks an error that changed nothing: only this write fails.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

func refuse(err error) error { return refusal{err} }

// maxGroup bounds the writes one transaction takes.
const maxGroup = 1000

// commitLoop applies the writes in groups: every write waiting when a
// transaction starts goes into it, and one commit (one fsync) serves them
// all. It waits for company only while writers known to be in flight may
// still come back (those of the last group and those that queued while it
// committed; at most a quarter of a commit): a lone writer never waits,
// and several writers that each wait for their acknowledgement commit
// together instead of settling into cohorts that take turns.
func (db *DB) commitLoop() {
	defer close(db.done)
	// The last group's size and commit time, and how many writes queued
	// while it committed.
	last, lastDur, queued := 0, time.Duration(0), 0
	for {
		var first *write
		select {
		case first = <-db.writes:
		case <-db.stop:
			for {
				select {
				case w := <-db.writes:
					w.done <- ErrClosed
				default:
					return
				}
			}
		}
		group := []*write{first}
	fill:
		for len(group) < maxGroup {
			select {
			case w := <-db.writes:
				group = append(group, w)
			default:
				break fill
			}
		}
		// The writers of the last group are still in flight (each was just
		// acknowledged and is on its way back with its next write), and so
		// are those that queued while it committed: wait for them, but never
		// longer than a quarter of a commit. A lone writer never waits.
		target := min(last+queued, maxGroup)
		if len(group) < target {
			wait := time.NewTimer(min(lastDur/4, time.Millisecond))
		gather:
			for len(group) < target {
				select {
				case w := <-db.writes:
					group = append(group, w)
				case <-wait.C:
					break gather
				}
			}
			wait.Stop()
		}
		t0 := time.Now()
		db.commit(group)
		last, lastDur, queued = len(group), time.Since(t0), len(db.writes)
	}
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

// submit queues w and waits for its outcome. Once queued, a write is
// waited for whatever ctx does: it may be committed.
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
	select {
	case db.writes <- w:
	case <-db.stop:
		return ErrClosed
	}
	select {
	case err := <-w.done:
		return err
	case <-db.done:
		select {
		case err := <-w.done:
			return err
		default:
			return ErrClosed
		}
	}
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
