package jskv

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/airsstack/airssys-wasm-go/storage"
)

// The same cases on storage.DB and on this package's backend: where the
// contract differs, the case says so (js).

func TestGetSetDelete(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		wantValue(t, b, alice, "b", "k", "", false)
		wantUsage(t, b, alice, storage.Usage{})
		must(t, b.Set(ctx, alice, "b", "k", []byte("hello"), storage.Limits{}))
		wantValue(t, b, alice, "b", "k", "hello", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 6, Keys: 1}, "b")
		must(t, b.Set(ctx, alice, "b", "k", []byte("hi"), storage.Limits{}))
		wantValue(t, b, alice, "b", "k", "hi", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 3, Keys: 1}, "b")
		must(t, b.Set(ctx, alice, "b", "empty", nil, storage.Limits{}))
		wantValue(t, b, alice, "b", "empty", "", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 8, Keys: 2}, "b")
		must(t, b.Delete(ctx, alice, "b", "k"))
		wantValue(t, b, alice, "b", "k", "", false)
		wantUsage(t, b, alice, storage.Usage{Bytes: 5, Keys: 1}, "b")
		must(t, b.Delete(ctx, alice, "b", "k")) // absent: no error, no change
		wantUsage(t, b, alice, storage.Usage{Bytes: 5, Keys: 1}, "b")
		// A deleted key set again is a new key.
		must(t, b.Set(ctx, alice, "b", "k", []byte("again"), storage.Limits{}))
		wantValue(t, b, alice, "b", "k", "again", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 11, Keys: 2}, "b")
		// Binary values round-trip.
		bin := []byte{0, 1, 2, 0xff, '\r', '\n', 0}
		must(t, b.Set(ctx, alice, "b2", "bin", bin, storage.Limits{}))
		wantValue(t, b, alice, "b2", "bin", string(bin), true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 11 + 3 + 7, Keys: 3}, "b", "b2")
	})
}

func TestManyKeys(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		kvs := []storage.KV{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("22")},
			{Key: "a", Value: []byte("333")}, {Key: "c", Value: nil}}
		must(t, b.SetMany(ctx, alice, "m", kvs, storage.Limits{}))
		wantValue(t, b, alice, "m", "a", "333", true) // the last value of a key given twice
		vals, err := b.GetMany(ctx, alice, "m", []string{"a", "missing", "b", "c"})
		must(t, err)
		if string(vals[0]) != "333" || vals[1] != nil || string(vals[2]) != "22" || vals[3] == nil || len(vals[3]) != 0 {
			t.Fatalf("GetMany = %q", vals)
		}
		wantUsage(t, b, alice, storage.Usage{Bytes: 4 + 3 + 1, Keys: 3}, "m")
		must(t, b.SetMany(ctx, alice, "m", nil, storage.Limits{}))
		must(t, b.DeleteMany(ctx, alice, "m", []string{"a", "missing", "a", "c"}))
		wantValue(t, b, alice, "m", "a", "", false)
		wantValue(t, b, alice, "m", "c", "", false)
		wantValue(t, b, alice, "m", "b", "22", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 3, Keys: 1}, "m")
		must(t, b.DeleteMany(ctx, alice, "m", nil))
		if got := allKeys(t, b, alice, "m"); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("keys = %q", got)
		}
	})
}

func TestListKeysPaging(t *testing.T) {
	const n = 2345
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		var want []string
		for i := 0; i < n; i += 500 {
			var kvs []storage.KV
			for j := i; j < min(i+500, n); j++ {
				k := fmt.Sprintf("key/%05d", j)
				if j%7 == 0 {
					k = fmt.Sprintf("ключ.%d", j) // unicode sorts after ASCII, bytewise
				}
				kvs = append(kvs, storage.KV{Key: k, Value: []byte("v")})
				want = append(want, k)
			}
			must(t, b.SetMany(ctx, alice, "list", kvs, storage.Limits{}))
		}
		must(t, b.Set(ctx, alice, "other", "key/00001", nil, storage.Limits{}))
		want = sorted(want)

		p1, c1, err := b.ListKeys(ctx, alice, "list", "")
		must(t, err)
		if len(p1) != storage.ListPage || c1 != p1[len(p1)-1] || !slices.Equal(p1, want[:1000]) {
			t.Fatalf("page 1: %d keys, cursor %q", len(p1), c1)
		}
		p2, c2, err := b.ListKeys(ctx, alice, "list", c1)
		must(t, err)
		if !slices.Equal(p2, want[1000:2000]) || c2 != want[1999] {
			t.Fatalf("page 2: %d keys, cursor %q", len(p2), c2)
		}
		p3, c3, err := b.ListKeys(ctx, alice, "list", c2)
		must(t, err)
		if !slices.Equal(p3, want[2000:]) || c3 != "" {
			t.Fatalf("page 3: %d keys, cursor %q", len(p3), c3)
		}
		// A cursor that is not a key: the keys after it.
		p, _, err := b.ListKeys(ctx, alice, "list", "key/00500x")
		must(t, err)
		if p[0] != "key/00501" {
			t.Fatalf("after a cursor that is no key: %q", p[0])
		}
		// Numeric offsets.
		for _, c := range []struct {
			offset uint64
			from   int
			to     int
			next   int // -1: none
		}{{0, 0, 1000, 1000}, {1000, 1000, 2000, 2000}, {2000, 2000, n, -1}, {n - 1, n - 1, n, -1}, {n, n, n, -1}, {n + 10, n, n, -1}} {
			keys, next, err := b.ListKeysAt(ctx, alice, "list", c.offset)
			must(t, err)
			if !slices.Equal(keys, want[c.from:c.to]) && !(len(keys) == 0 && c.from == c.to) {
				t.Fatalf("at %d: %d keys", c.offset, len(keys))
			}
			if (next == nil) != (c.next < 0) || (next != nil && *next != uint64(c.next)) {
				t.Fatalf("at %d: next %v, want %d", c.offset, next, c.next)
			}
		}
		if keys, next, err := b.ListKeys(ctx, alice, "empty", ""); err != nil || len(keys) != 0 || next != "" {
			t.Fatalf("empty bucket: %q %q %v", keys, next, err)
		}
	})
}

func TestIncrement(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		for i, want := range []int64{5, 3, -2} {
			n, err := b.Increment(ctx, alice, "c", "n", []int64{5, -2, -5}[i], storage.Limits{})
			if err != nil || n != want {
				t.Fatalf("step %d: %d, %v; want %d", i, n, err, want)
			}
		}
		wantValue(t, b, alice, "c", "n", "-2", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 3, Keys: 1}, "c")
		must(t, b.Set(ctx, alice, "c", "s", []byte("abc"), storage.Limits{}))
		_, err := b.Increment(ctx, alice, "c", "s", 1, storage.Limits{})
		wantErr(t, err, storage.ErrNotInteger)
		_, err = b.IncrementUnsigned(ctx, alice, "c", "s", 1, storage.Limits{})
		wantErr(t, err, storage.ErrNotInteger)
		wantValue(t, b, alice, "c", "s", "abc", true)
		must(t, b.Set(ctx, alice, "c", "max", []byte("9223372036854775807"), storage.Limits{}))
		_, err = b.Increment(ctx, alice, "c", "max", 1, storage.Limits{})
		wantErr(t, err, storage.ErrOverflow)
		_, err = b.IncrementUnsigned(ctx, alice, "c", "max", 1, storage.Limits{})
		wantErr(t, err, storage.ErrOverflow)
		must(t, b.Set(ctx, alice, "c", "min", []byte("-9223372036854775808"), storage.Limits{}))
		_, err = b.Increment(ctx, alice, "c", "min", -1, storage.Limits{})
		wantErr(t, err, storage.ErrOverflow)
		_, err = b.IncrementUnsigned(ctx, alice, "c", "u", math.MaxInt64+1, storage.Limits{})
		wantErr(t, err, storage.ErrOverflow)
		wantValue(t, b, alice, "c", "u", "", false)
		if n, err := b.IncrementUnsigned(ctx, alice, "c", "u", 7, storage.Limits{}); err != nil || n != 7 {
			t.Fatalf("unsigned: %d, %v", n, err)
		}
		if n, err := b.IncrementUnsigned(ctx, alice, "c", "u", 8, storage.Limits{}); err != nil || n != 15 {
			t.Fatalf("unsigned: %d, %v", n, err)
		}
		// A counter within its quota: growing by a digit is refused at the limit.
		u, err := b.Usage(ctx, alice)
		must(t, err)
		_, err = b.Increment(ctx, alice, "c", "u", 85, storage.Limits{MaxBytes: u.Bytes})
		wantErr(t, err, storage.ErrQuota)
		wantValue(t, b, alice, "c", "u", "15", true)
		want := storage.Usage{Bytes: 3 + 4 + 22 + 23 + 3, Keys: 5}
		wantUsage(t, b, alice, want, "c")
	})
}

func TestCompareAndSwap(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		must(t, b.CompareAndSwap(ctx, alice, "b", "c", nil, false, []byte("1"), storage.Limits{}))
		wantErr(t, b.CompareAndSwap(ctx, alice, "b", "c", nil, false, []byte("2"), storage.Limits{}), storage.ErrCASFailed)
		wantErr(t, b.CompareAndSwap(ctx, alice, "b", "c", []byte("0"), true, []byte("2"), storage.Limits{}), storage.ErrCASFailed)
		wantValue(t, b, alice, "b", "c", "1", true)
		must(t, b.CompareAndSwap(ctx, alice, "b", "c", []byte("1"), true, []byte("22"), storage.Limits{}))
		wantValue(t, b, alice, "b", "c", "22", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 3, Keys: 1}, "b")
		must(t, b.Delete(ctx, alice, "b", "c"))
		wantErr(t, b.CompareAndSwap(ctx, alice, "b", "c", []byte("22"), true, []byte("3"), storage.Limits{}), storage.ErrCASFailed)
		// A deleted key is absent again.
		must(t, b.CompareAndSwap(ctx, alice, "b", "c", nil, false, []byte("3"), storage.Limits{}))
		wantErr(t, b.CompareAndSwap(ctx, alice, "b", "c", []byte("3"), true, make([]byte, 11),
			storage.Limits{MaxValueBytes: 10}), storage.ErrValueTooLarge)
		wantErr(t, b.CompareAndSwap(ctx, alice, "b", "c", []byte("3"), true, []byte("4444"),
			storage.Limits{MaxBytes: 3}), storage.ErrQuota)
		wantValue(t, b, alice, "b", "c", "3", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 2, Keys: 1}, "b")
	})
}

func TestQuotas(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		lim := storage.Limits{MaxBytes: 100, MaxKeys: 3, MaxValueBytes: 60}
		// Bytes: exactly at the limit is allowed, one more is not.
		must(t, b.Set(ctx, alice, "q", "a", make([]byte, 59), lim)) // 60
		must(t, b.Set(ctx, alice, "q", "b", make([]byte, 39), lim)) // 100
		wantErr(t, b.Set(ctx, alice, "q", "c", nil, lim), storage.ErrQuota)
		wantErr(t, b.Set(ctx, alice, "q", "b", make([]byte, 40), lim), storage.ErrQuota)
		wantUsage(t, b, alice, storage.Usage{Bytes: 100, Keys: 2}, "q")
		// Value size.
		wantErr(t, b.Set(ctx, alice, "q", "a", make([]byte, 61), storage.Limits{MaxValueBytes: 60}), storage.ErrValueTooLarge)
		// Shrinking is allowed, even over a limit lowered since.
		must(t, b.Set(ctx, alice, "q", "a", make([]byte, 9), storage.Limits{MaxBytes: 10, MaxKeys: 1}))
		wantUsage(t, b, alice, storage.Usage{Bytes: 50, Keys: 2}, "q")
		// Keys: the third is allowed, the fourth is not.
		must(t, b.Set(ctx, alice, "q", "c", nil, lim))
		wantErr(t, b.Set(ctx, alice, "q", "d", nil, lim), storage.ErrQuota)
		// Replacing a key adds no key.
		must(t, b.Set(ctx, alice, "q", "c", []byte("x"), lim))
		wantUsage(t, b, alice, storage.Usage{Bytes: 52, Keys: 3}, "q")
		// A batch over the quota changes nothing, even its pairs that fit.
		wantErr(t, b.SetMany(ctx, alice, "q", []storage.KV{{Key: "a", Value: nil}, {Key: "c", Value: make([]byte, 59)}}, lim),
			storage.ErrQuota)
		wantErr(t, b.SetMany(ctx, alice, "q", []storage.KV{{Key: "a", Value: nil}, {Key: "new", Value: nil}}, lim),
			storage.ErrQuota)
		wantErr(t, b.SetMany(ctx, alice, "q", []storage.KV{{Key: "a", Value: nil}, {Key: "c", Value: make([]byte, 61)}}, lim),
			storage.ErrValueTooLarge)
		wantValue(t, b, alice, "q", "a", string(make([]byte, 9)), true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 52, Keys: 3}, "q")
		// A batch that shrinks one key to make room for another fits.
		must(t, b.SetMany(ctx, alice, "q", []storage.KV{{Key: "a", Value: nil}, {Key: "c", Value: make([]byte, 57)}}, lim))
		wantUsage(t, b, alice, storage.Usage{Bytes: 1 + 40 + 58, Keys: 3}, "q")
		// Quotas span the owner's buckets, not one bucket.
		wantErr(t, b.Set(ctx, alice, "q2", "z", nil, lim), storage.ErrQuota)
		// Another owner has quotas of its own.
		must(t, b.Set(ctx, bob, "q", "z", make([]byte, 59), lim))
		wantUsage(t, b, bob, storage.Usage{Bytes: 60, Keys: 1}, "q")
		wantUsage(t, b, alice, storage.Usage{Bytes: 99, Keys: 3}, "q", "q2")
		// Deletion frees.
		must(t, b.DeleteMany(ctx, alice, "q", []string{"a", "b"}))
		must(t, b.Set(ctx, alice, "q2", "z", nil, lim))
		wantUsage(t, b, alice, storage.Usage{Bytes: 58 + 1, Keys: 2}, "q", "q2")
	})
}

// crafted are owners, bucket identifiers and keys that a naive encoding
// (joining with '.', escaping nothing, or without the parts' lengths)
// would make collide.
var (
	craftedOwners = []storage.Owner{
		{Publisher: "a.b", Name: "c"}, {Publisher: "a", Name: "b.c"}, {Publisher: "", Name: "a.b.c"},
		{Publisher: "", Name: "x"}, {Publisher: "x", Name: "x"}, {Publisher: "p", Name: "u"},
		{Publisher: "*", Name: ">"}, {Publisher: ">", Name: "*"}, {Publisher: "=2E", Name: "."},
		{Publisher: "pa", Name: "nb"}, {Publisher: "日本", Name: "名前"}, {Publisher: "a/b", Name: "c"},
	}
	craftedIDs  = []string{"b", "b.k", ".", "..", "*", ">", "=", "=2E", "a/b", "ü", " ", "u"}
	craftedKeys = []string{"k", "b.k", "k.u", ".", "*", ">", "a.>", "=", "=2E", "a=b", "/", "a/b", "ключ",
		"\x01", " ", "\t", "K", "k ", strings.Repeat(".", 100)}
)

func TestIsolation(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		// Every (owner, id, key) gets a value naming it; every read finds
		// its own.
		val := func(o storage.Owner, id, k string) string {
			return fmt.Sprintf("%q|%q|%q|%q", o.Publisher, o.Name, id, k)
		}
		ids := craftedIDs[:6]
		for _, o := range craftedOwners {
			for _, id := range ids {
				var kvs []storage.KV
				for _, k := range craftedKeys {
					kvs = append(kvs, storage.KV{Key: k, Value: []byte(val(o, id, k))})
				}
				must(t, b.SetMany(ctx, o, id, kvs, storage.Limits{}))
			}
		}
		// More bucket identifiers for one owner, one key each.
		o0 := craftedOwners[0]
		for _, id := range craftedIDs[6:] {
			must(t, b.Set(ctx, o0, id, "k", []byte(val(o0, id, "k")), storage.Limits{}))
		}
		for _, o := range craftedOwners {
			var want storage.Usage
			for _, id := range ids {
				for _, k := range craftedKeys {
					wantValue(t, b, o, id, k, val(o, id, k), true)
					want.Bytes += int64(len(k) + len(val(o, id, k)))
					want.Keys++
				}
				if got := allKeys(t, b, o, id); !slices.Equal(got, sorted(craftedKeys)) {
					t.Fatalf("keys of %s %q: %q", o, id, got)
				}
			}
			if o == o0 {
				for _, id := range craftedIDs[6:] {
					want.Bytes += int64(1 + len(val(o0, id, "k")))
					want.Keys++
					if got := allKeys(t, b, o, id); !slices.Equal(got, []string{"k"}) {
						t.Fatalf("keys of %s %q: %q", o, id, got)
					}
				}
				wantUsage(t, b, o, want, craftedIDs...)
			} else {
				wantUsage(t, b, o, want, ids...)
				if got := allKeys(t, b, o, craftedIDs[6]); len(got) != 0 {
					t.Fatalf("keys of %s %q: %q", o, craftedIDs[6], got)
				}
			}
		}
		// Deleting in one owner's bucket leaves the others'.
		o1 := craftedOwners[1]
		must(t, b.DeleteMany(ctx, o1, "b", craftedKeys))
		wantValue(t, b, o1, "b", "k", "", false)
		wantValue(t, b, o0, "b", "k", val(o0, "b", "k"), true)
		wantValue(t, b, o1, "b.k", "k", val(o1, "b.k", "k"), true)
	})
}

func TestInvalidNames(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		for _, key := range []string{"", "a\x00b", "\xff", strings.Repeat("k", storage.MaxKeyBytes+1)} {
			wantErr(t, b.Set(ctx, alice, "b", key, nil, storage.Limits{}), storage.ErrInvalidKey)
			_, _, err := b.Get(ctx, alice, "b", key)
			wantErr(t, err, storage.ErrInvalidKey)
			wantErr(t, b.SetMany(ctx, alice, "b", []storage.KV{{Key: "ok"}, {Key: key}}, storage.Limits{}), storage.ErrInvalidKey)
			wantErr(t, b.DeleteMany(ctx, alice, "b", []string{"ok", key}), storage.ErrInvalidKey)
			_, err = b.Increment(ctx, alice, "b", key, 1, storage.Limits{})
			wantErr(t, err, storage.ErrInvalidKey)
			wantErr(t, b.CompareAndSwap(ctx, alice, "b", key, nil, false, nil, storage.Limits{}), storage.ErrInvalidKey)
		}
		for _, id := range []string{"", "a\x00", "\xc3", strings.Repeat("b", storage.MaxBucketBytes+1)} {
			wantErr(t, b.Set(ctx, alice, id, "k", nil, storage.Limits{}), storage.ErrInvalidBucket)
			_, _, err := b.ListKeys(ctx, alice, id, "")
			wantErr(t, err, storage.ErrInvalidBucket)
			_, _, err = b.ListKeysAt(ctx, alice, id, 0)
			wantErr(t, err, storage.ErrInvalidBucket)
		}
		// Invalid owners are refused (storage's error is not matchable).
		for _, o := range []storage.Owner{{Publisher: "dev", Name: "x"}, {Publisher: "p"},
			{Publisher: "p", Name: strings.Repeat("n", storage.MaxBucketBytes+1)}, {Publisher: "\xff", Name: "x"}} {
			if err := b.Set(ctx, o, "b", "k", nil, storage.Limits{}); err == nil {
				t.Fatalf("owner %q accepted", o)
			}
			if _, err := b.Usage(ctx, o); err == nil {
				t.Fatalf("owner %q accepted", o)
			}
		}
		// The longest names of all kinds together.
		long := storage.Owner{Publisher: strings.Repeat("P", storage.MaxBucketBytes), Name: strings.Repeat("é", storage.MaxBucketBytes/2)}
		id, key := strings.Repeat("i", storage.MaxBucketBytes), strings.Repeat("ключ", storage.MaxKeyBytes/8)
		must(t, b.Set(ctx, long, id, key, []byte("v"), storage.Limits{}))
		wantValue(t, b, long, id, key, "v", true)
		if got := allKeys(t, b, long, id); !slices.Equal(got, []string{key}) {
			t.Fatalf("long key listed as %q", got)
		}
		wantUsage(t, b, long, storage.Usage{Bytes: int64(len(key) + 1), Keys: 1}, id)
		wantUsage(t, b, alice, storage.Usage{})
	})
}

func TestHostileInput(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		must(t, b.Set(ctx, alice, "h", "k", []byte("v"), storage.Limits{}))
		huge := make([]byte, storage.MaxValueBytes+1)
		// Over the cap whatever the limits say.
		for _, lim := range []storage.Limits{{}, {MaxValueBytes: math.MaxInt64, MaxBytes: math.MaxInt64}} {
			wantErr(t, b.Set(ctx, alice, "h", "k", huge, lim), storage.ErrValueTooLarge)
			wantErr(t, b.SetMany(ctx, alice, "h", []storage.KV{{Key: "k2", Value: nil}, {Key: "k", Value: huge}}, lim),
				storage.ErrValueTooLarge)
			wantErr(t, b.CompareAndSwap(ctx, alice, "h", "k", []byte("v"), true, huge, lim), storage.ErrValueTooLarge)
		}
		wantValue(t, b, alice, "h", "k", "v", true)
		wantValue(t, b, alice, "h", "k2", "", false)
		// The largest value is stored whole.
		most := make([]byte, storage.MaxValueBytes)
		most[len(most)-1] = 'z'
		must(t, b.Set(ctx, alice, "h", "k", most, storage.Limits{}))
		wantValue(t, b, alice, "h", "k", string(most), true)
		// Keys at the limit.
		key := strings.Repeat("k", storage.MaxKeyBytes)
		must(t, b.Set(ctx, alice, "h", key, nil, storage.Limits{}))
		wantValue(t, b, alice, "h", key, "", true)
		wantUsage(t, b, alice, storage.Usage{Bytes: 1 + storage.MaxValueBytes + storage.MaxKeyBytes, Keys: 2}, "h")

		// Too many keys in one batch: storage takes any number in one
		// transaction; JetStream's atomic batch holds at most 1000
		// messages, so this backend refuses more than MaxBatchKeys keys.
		var kvs []storage.KV
		var keys []string
		for i := range MaxBatchKeys + 1 {
			k := fmt.Sprintf("b%d", i)
			kvs = append(kvs, storage.KV{Key: k, Value: []byte("v")})
			keys = append(keys, k)
		}
		err := b.SetMany(ctx, alice, "many", kvs, storage.Limits{})
		_, gerr := b.GetMany(ctx, alice, "many", keys)
		derr := b.DeleteMany(ctx, alice, "many", keys)
		if js {
			wantErr(t, err, ErrBatchTooLarge)
			wantErr(t, gerr, ErrBatchTooLarge)
			wantErr(t, derr, ErrBatchTooLarge)
			wantUsage(t, b, alice, storage.Usage{Bytes: 1 + storage.MaxValueBytes + storage.MaxKeyBytes, Keys: 2}, "h", "many")
			// MaxBatchKeys is allowed.
			must(t, b.SetMany(ctx, alice, "many", kvs[:MaxBatchKeys], storage.Limits{}))
			must(t, b.DeleteMany(ctx, alice, "many", keys[:MaxBatchKeys]))
			// A key given twice counts once.
			must(t, b.SetMany(ctx, alice, "many", append(kvs[:MaxBatchKeys:MaxBatchKeys], kvs[0]), storage.Limits{}))
			must(t, b.DeleteMany(ctx, alice, "many", keys[:MaxBatchKeys]))
		} else {
			must(t, err)
			must(t, gerr)
			must(t, derr)
		}
		wantUsage(t, b, alice, storage.Usage{Bytes: 1 + storage.MaxValueBytes + storage.MaxKeyBytes, Keys: 2}, "h", "many")
	})
}

// Names a naive encoding (parts joined with '.') maps to one subject, and
// that are all valid subjects under it: the collision would be silent.
func TestJoinedNamesDoNotCollide(t *testing.T) {
	both(t, func(t *testing.T, b storage.Backend, js bool) {
		ctx := testCtx(t)
		o1, o2 := storage.Owner{Publisher: "a.b", Name: "c"}, storage.Owner{Publisher: "a", Name: "b.c"}
		must(t, b.Set(ctx, o1, "x.y", "z", []byte("o1 x.y z"), storage.Limits{}))
		must(t, b.Set(ctx, o1, "x", "y.z", []byte("o1 x y.z"), storage.Limits{}))
		must(t, b.Set(ctx, o2, "x.y", "z", []byte("o2 x.y z"), storage.Limits{}))
		must(t, b.Set(ctx, o2, "x", "y.z", []byte("o2 x y.z"), storage.Limits{}))
		for _, o := range []storage.Owner{o1, o2} {
			name := map[storage.Owner]string{o1: "o1", o2: "o2"}[o]
			wantValue(t, b, o, "x.y", "z", name+" x.y z", true)
			wantValue(t, b, o, "x", "y.z", name+" x y.z", true)
			wantUsage(t, b, o, storage.Usage{Bytes: 1 + 8 + 3 + 8, Keys: 2}, "x.y", "x")
		}
	})
}

// A deletion leaves a marker that the server drops after its TTL: deleted
// keys leave nothing behind, and a key whose marker is gone is absent
// (writes that read the marker before it went are planned again).
func TestDeletionMarkersExpire(t *testing.T) {
	s := startServer(t, t.TempDir())
	b := openJS(t, connect(t, s))
	b.markerTTL = "1s"
	ctx := testCtx(t)
	must(t, b.SetMany(ctx, alice, "d", []storage.KV{{Key: "k1", Value: []byte("1")}, {Key: "k2", Value: []byte("2")}}, storage.Limits{}))
	must(t, b.DeleteMany(ctx, alice, "d", []string{"k1", "k2"}))
	subjects := func() int {
		info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(b.bucketPrefix(alice, "d")+"*"))
		must(t, err)
		return len(info.State.Subjects)
	}
	if n := subjects(); n != 2 {
		t.Fatalf("%d subjects after the deletion, want its 2 markers", n)
	}
	wantValue(t, b, alice, "d", "k1", "", false)
	deadline := time.Now().Add(20 * time.Second)
	for subjects() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the deletion markers are still there after 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantValue(t, b, alice, "d", "k1", "", false)
	must(t, b.CompareAndSwap(ctx, alice, "d", "k1", nil, false, []byte("x"), storage.Limits{}))
	wantUsage(t, b, alice, storage.Usage{Bytes: 3, Keys: 1}, "d")
}
