package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Line is one line of an export (JSON Lines): a key of a bucket and its
// value, as text when it is valid UTF-8, else in base64 (Base64 set).
type Line struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Value  string `json:"value"`
	Base64 bool   `json:"base64,omitempty"`
}

// Export writes every key of the owner as JSON Lines, bucket by bucket and
// key by key in order, from one consistent snapshot.
func (db *DB) Export(ctx context.Context, o Owner, w io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ob, _ := ownerBucket(tx, o, false)
		if ob == nil {
			return nil
		}
		kv := ob
		return kv.ForEachBucket(func(id []byte) error {
			return kv.Bucket(id).ForEach(func(k, v []byte) error {
				l := Line{Bucket: string(id), Key: string(k)}
				if utf8.Valid(v) {
					l.Value = string(v)
				} else {
					l.Value, l.Base64 = base64.StdEncoding.EncodeToString(v), true
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				return enc.Encode(l)
			})
		})
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// ImportError is a malformed line of an import.
type ImportError struct {
	Line int
	Err  error
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("storage: import line %d: %v", e.Line, e.Err)
}
func (e *ImportError) Unwrap() error { return e.Err }

// Import reads JSON Lines written by Export and sets every key, all in one
// commit and within lim, or nothing: a malformed line is an *ImportError
// naming it, and nothing is written. Lines longer than a key and a value
// can be are refused.
func (db *DB) Import(ctx context.Context, o Owner, r io.Reader, lim Limits) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4*MaxValueBytes+4*MaxKeyBytes+4*MaxBucketBytes+1024)
	type entry struct {
		id, key string
		value   []byte
	}
	var entries []entry
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Bytes()
		if len(raw) == 0 {
			continue
		}
		var l Line
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return &ImportError{Line: n, Err: err}
		}
		v := []byte(l.Value)
		if l.Base64 {
			var err error
			if v, err = base64.StdEncoding.DecodeString(l.Value); err != nil {
				return &ImportError{Line: n, Err: fmt.Errorf("base64: %w", err)}
			}
		}
		if err := errors.Join(CheckBucket(l.Bucket), CheckKey(l.Key), checkValue(v, lim)); err != nil {
			return &ImportError{Line: n, Err: err}
		}
		entries = append(entries, entry{l.Bucket, l.Key, v})
	}
	if err := sc.Err(); err != nil {
		return &ImportError{Line: n + 1, Err: err}
	}
	return db.submit(ctx, &write{o: o, lim: lim, apply: func(tx *bolt.Tx, u *Usage) error {
		// Quota first: the usage the data would have once imported.
		sim := *u
		seen := map[[2]string]int{}
		for _, e := range entries {
			k := [2]string{e.id, e.key}
			prev, ok := seen[k]
			if !ok {
				prev = -1
				if b, _ := kvBucket(tx, o, e.id, false); b != nil {
					if old := b.Get([]byte(e.key)); old != nil {
						prev = len(e.key) + len(old)
					}
				}
			}
			size := len(e.key) + len(e.value)
			if prev < 0 {
				sim.Keys++
				sim.Bytes += int64(size)
			} else {
				sim.Bytes += int64(size - prev)
			}
			seen[k] = size
		}
		if err := fits(u, lim.norm(), sim.Bytes-u.Bytes, sim.Keys-u.Keys); err != nil {
			return err
		}
		big := Limits{MaxBytes: math.MaxInt64, MaxKeys: math.MaxInt64}
		for _, e := range entries {
			b, err := kvBucket(tx, o, e.id, true)
			if err != nil {
				return err
			}
			if err := db.put(b, u, big, e.key, e.value); err != nil {
				return err
			}
		}
		return nil
	}})
}
