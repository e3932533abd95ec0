//go:build wasip1

package guest

// Key-value storage: wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2
// (wit/wasi-keyvalue-0.2.0-draft2) and airssys:storage/usage@0.1.0
// (wit/airssys-storage), the imports the world airssys:guest/actor@0.2.0
// (wit/airssys-guest) adds to the actor world. The layouts are those of
// testdata/src/actorskv/kv_glue.c, which implements the same imports in C;
// wasm32, UTF-8:
//
//	own<bucket>, own<cas>, borrow<bucket>  i32 handle (never 0)
//	error (variant)                        tag u8 @0, other's string @4/@8
//	                                       (12 bytes, align 4)
//	open, cas.new       result<handle, error>: tag @0, ok @4, err @4
//	get, cas.current    result<option<list<u8>>, error>: tag @0;
//	                    ok: option tag @4, list @8/@12; err @4
//	set, delete, *-many result<_, error>: tag @0, err @4
//	exists              result<bool, error>: tag @0, ok u8 @4, err @4
//	list-keys           (self, cursor tag, ptr, len, ret); result<key-response,
//	                    error>: tag @0; ok: keys @4/@8, cursor tag @12,
//	                    string @16/@20; err @4
//	increment           (bucket, key ptr, len, delta i64, ret);
//	                    result<s64, error>: tag @0, ok @8, err @8
//	swap                result<_, cas-error>: tag @0; cas-error tag @4
//	                    (0 store-error, 1 cas-failed), error or cas @8
//	get-many            ok: list @4/@8 of 20-byte option<tuple<string,
//	                    list<u8>>>: tag @0, key @4/@8, value @12/@16
//	set-many            pairs of 16 bytes: key @0/@4, value @8/@12
//	delete-many         keys of 8 bytes: (ptr, len)
//	usage               result<quota, error>: tag @0; ok: five u64 @8..@40;
//	                    err @8
//
// None of these imports is in keepImports: the linker drops the ones an
// actor never calls, and a component whose code opens no bucket does not
// import wasi:keyvalue at all.
//
// Memory: strings and byte slices passed in are kept alive across the
// call; everything the host returns was allocated through cabi_realloc on
// the Go heap, and the strings and slices returned here point into it
// (which keeps it alive past the export's end) or are copied out of it.

import (
	"errors"
	"runtime"
	"unicode/utf8"
	"unsafe"
)

// wasi:keyvalue/store@0.2.0-draft2

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 open
func importKVOpen(id, idLen, ret uint32)

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 [method]bucket.get
func importKVGet(b, key, keyLen, ret uint32)

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 [method]bucket.set
func importKVSet(b, key, keyLen, value, valueLen, ret uint32)

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 [method]bucket.delete
func importKVDelete(b, key, keyLen, ret uint32)

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 [method]bucket.exists
func importKVExists(b, key, keyLen, ret uint32)

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 [method]bucket.list-keys
func importKVListKeys(b, hasCursor, cursor, cursorLen, ret uint32)

//go:wasmimport wasi:keyvalue/store@0.2.0-draft2 [resource-drop]bucket
func importKVBucketDrop(b uint32)

// wasi:keyvalue/atomics@0.2.0-draft2

//go:wasmimport wasi:keyvalue/atomics@0.2.0-draft2 [static]cas.new
func importKVCASNew(b, key, keyLen, ret uint32)

//go:wasmimport wasi:keyvalue/atomics@0.2.0-draft2 [method]cas.current
func importKVCASCurrent(c, ret uint32)

//go:wasmimport wasi:keyvalue/atomics@0.2.0-draft2 [resource-drop]cas
func importKVCASDrop(c uint32)

//go:wasmimport wasi:keyvalue/atomics@0.2.0-draft2 increment
func importKVIncrement(b, key, keyLen uint32, delta int64, ret uint32)

//go:wasmimport wasi:keyvalue/atomics@0.2.0-draft2 swap
func importKVSwap(c, value, valueLen, ret uint32)

// wasi:keyvalue/batch@0.2.0-draft2

//go:wasmimport wasi:keyvalue/batch@0.2.0-draft2 get-many
func importKVGetMany(b, keys, n, ret uint32)

//go:wasmimport wasi:keyvalue/batch@0.2.0-draft2 set-many
func importKVSetMany(b, pairs, n, ret uint32)

//go:wasmimport wasi:keyvalue/batch@0.2.0-draft2 delete-many
func importKVDeleteMany(b, keys, n, ret uint32)

// airssys:storage/usage@0.1.0

//go:wasmimport airssys:storage/usage@0.1.0 usage
func importKVUsage(ret uint32)

// --- errors ---------------------------------------------------------------------

// StoreErrorCode is the case of wasi:keyvalue/store's error.
type StoreErrorCode uint8

const (
	NoSuchStore     StoreErrorCode = iota // no bucket answers to the identifier
	AccessDenied                          // not granted
	OtherStoreError                       // anything else (a quota, a bad key, ...): see Text
)

// StoreError is a refusal by the host's store: its value, never a trap.
// Match it with errors.Is(err, ErrNoSuchStore) or ErrAccessDenied, or
// errors.As for the text of an other error.
type StoreError struct {
	Code StoreErrorCode
	// Text is other's description (for people, not programs).
	Text string
}

// Error is "no-such-store", "access-denied" or "other:<text>".
func (e *StoreError) Error() string {
	switch e.Code {
	case NoSuchStore:
		return "no-such-store"
	case AccessDenied:
		return "access-denied"
	}
	return "other:" + e.Text
}

// Is matches a StoreError of the same code (and, for other, text).
func (e *StoreError) Is(target error) bool {
	t, ok := target.(*StoreError)
	return ok && t.Code == e.Code && (e.Code != OtherStoreError || t.Text == e.Text)
}

var (
	ErrNoSuchStore  error = &StoreError{Code: NoSuchStore}
	ErrAccessDenied error = &StoreError{Code: AccessDenied}
	// ErrCASFailed: CAS.Swap found the key written since the token was
	// taken.
	ErrCASFailed = errors.New("cas-failed")
)

// storeError reads the error variant at off of the return area.
func storeError(off uintptr) error {
	switch iretU8(off) {
	case 0:
		return ErrNoSuchStore
	case 1:
		return ErrAccessDenied
	}
	return &StoreError{Code: OtherStoreError, Text: iretString(off + 4)}
}

// unitResult reads a result<_, error>.
func unitResult() error {
	if iretU8(0) != 0 {
		return storeError(4)
	}
	return nil
}

// optionBytesResult reads a result<option<list<u8>>, error>. A value
// found empty is an empty, non-nil slice.
func optionBytesResult() ([]byte, bool, error) {
	if iretU8(0) != 0 {
		return nil, false, storeError(4)
	}
	if iretU8(4) == 0 {
		return nil, false, nil
	}
	v := bytesAt(iretU32(8), iretU32(12))
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// --- store ----------------------------------------------------------------------

// Bucket is an open bucket (a host resource). Close it when done: the
// host caps the handles an instance holds.
type Bucket struct {
	handle uint32
	name   string
}

// OpenBucket opens the bucket the host knows by name.
func OpenBucket(name string) (*Bucket, error) {
	if !utf8.ValidString(name) {
		return nil, ErrKeyNotUTF8
	}
	importKVOpen(strPtr(name), uint32(len(name)), iretPtr())
	runtime.KeepAlive(name)
	if iretU8(0) != 0 {
		return nil, storeError(4)
	}
	return &Bucket{handle: iretU32(4), name: name}, nil
}

// Name is the identifier the bucket was opened with.
func (b *Bucket) Name() string { return b.name }

// Close drops the bucket's handle (the data stays). Calling it again does
// nothing; other methods must not be called afterwards.
func (b *Bucket) Close() {
	if b.handle != 0 {
		importKVBucketDrop(b.handle)
		b.handle = 0
	}
}

func (b *Bucket) h() uint32 {
	if b.handle == 0 {
		panic("guest: use of a closed Bucket")
	}
	return b.handle
}

// Get is the value stored under key; found is false when the key is
// absent.
func (b *Bucket) Get(key string) (value []byte, found bool, err error) {
	if !utf8.ValidString(key) {
		return nil, false, ErrKeyNotUTF8
	}
	importKVGet(b.h(), strPtr(key), uint32(len(key)), iretPtr())
	runtime.KeepAlive(key)
	return optionBytesResult()
}

// Set stores value under key.
func (b *Bucket) Set(key string, value []byte) error {
	if !utf8.ValidString(key) {
		return ErrKeyNotUTF8
	}
	importKVSet(b.h(), strPtr(key), uint32(len(key)), slicePtr(value), uint32(len(value)), iretPtr())
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return unitResult()
}

// Delete removes key (an absent key is not an error).
func (b *Bucket) Delete(key string) error {
	if !utf8.ValidString(key) {
		return ErrKeyNotUTF8
	}
	importKVDelete(b.h(), strPtr(key), uint32(len(key)), iretPtr())
	runtime.KeepAlive(key)
	return unitResult()
}

// Exists tells whether key is present.
func (b *Bucket) Exists(key string) (bool, error) {
	if !utf8.ValidString(key) {
		return false, ErrKeyNotUTF8
	}
	importKVExists(b.h(), strPtr(key), uint32(len(key)), iretPtr())
	runtime.KeepAlive(key)
	if iretU8(0) != 0 {
		return false, storeError(4)
	}
	return iretU8(4) != 0, nil
}

// ListKeys is one page of the bucket's keys: the first for cursor "", else
// the page an earlier call's next points to; next is "" after the last
// page.
func (b *Bucket) ListKeys(cursor string) (keys []string, next string, err error) {
	if !utf8.ValidString(cursor) {
		return nil, "", ErrKeyNotUTF8
	}
	var has uint32
	if cursor != "" {
		has = 1
	}
	importKVListKeys(b.h(), has, strPtr(cursor), uint32(len(cursor)), iretPtr())
	runtime.KeepAlive(cursor)
	if iretU8(0) != 0 {
		return nil, "", storeError(4)
	}
	keys = liftStrings(iretU32(4), iretU32(8))
	if iretU8(12) != 0 {
		next = iretString(16)
	}
	return keys, next, nil
}

// --- atomics --------------------------------------------------------------------

// Increment adds delta to the number stored under key (an absent key
// counts as zero) and returns the sum, in one step.
func (b *Bucket) Increment(key string, delta int64) (int64, error) {
	if !utf8.ValidString(key) {
		return 0, ErrKeyNotUTF8
	}
	importKVIncrement(b.h(), strPtr(key), uint32(len(key)), delta, iretPtr())
	runtime.KeepAlive(key)
	if iretU8(0) != 0 {
		return 0, storeError(8)
	}
	return int64(iretU64(8)), nil
}

// CAS is a compare-and-swap token (a host resource): a key of a bucket and
// the version of its value when the token was taken.
//
//	c, err := b.NewCAS(key)
//	...
//	defer c.Close()
//	for {
//		old, found, err := c.Current()
//		...
//		err = c.Swap(next(old, found))
//		if !errors.Is(err, guest.ErrCASFailed) {
//			return err
//		}
//	}
type CAS struct{ handle uint32 }

// NewCAS takes a token for key as it is now.
func (b *Bucket) NewCAS(key string) (*CAS, error) {
	if !utf8.ValidString(key) {
		return nil, ErrKeyNotUTF8
	}
	importKVCASNew(b.h(), strPtr(key), uint32(len(key)), iretPtr())
	runtime.KeepAlive(key)
	if iretU8(0) != 0 {
		return nil, storeError(4)
	}
	return &CAS{iretU32(4)}, nil
}

func (c *CAS) h() uint32 {
	if c.handle == 0 {
		panic("guest: use of a consumed or closed CAS")
	}
	return c.handle
}

// Current is the value the token saw; found is false when the key was
// absent.
func (c *CAS) Current() (value []byte, found bool, err error) {
	importKVCASCurrent(c.h(), iretPtr())
	return optionBytesResult()
}

// Swap writes value under the token's key if nobody wrote it since the
// token was taken. It consumes the token, except when it fails with
// ErrCASFailed: c is then a token on the newer value (read it with Current
// and Swap again, or Close it). A *StoreError consumes the token too.
func (c *CAS) Swap(value []byte) error {
	importKVSwap(c.h(), slicePtr(value), uint32(len(value)), iretPtr())
	runtime.KeepAlive(value)
	if iretU8(0) == 0 {
		c.handle = 0
		return nil
	}
	if iretU8(4) == 1 {
		c.handle = iretU32(8)
		return ErrCASFailed
	}
	c.handle = 0
	return storeError(8)
}

// Close drops the token unless Swap consumed it. Calling it again does
// nothing.
func (c *CAS) Close() {
	if c.handle != 0 {
		importKVCASDrop(c.handle)
		c.handle = 0
	}
}

// --- batch ----------------------------------------------------------------------

// KeyValue is a key and its value, for SetMany.
type KeyValue struct {
	Key   string
	Value []byte
}

// Entry is one answer of GetMany: Found false for an absent key (Key is
// then the key asked for).
type Entry struct {
	Key   string
	Value []byte
	Found bool
}

// GetMany reads several keys at once: one Entry per key, in order.
func (b *Bucket) GetMany(keys []string) ([]Entry, error) {
	if !validKeys(keys) {
		return nil, ErrKeyNotUTF8
	}
	l, lp := lowerStrings(keys)
	importKVGetMany(b.h(), lp, uint32(len(keys)), iretPtr())
	runtime.KeepAlive(l)
	runtime.KeepAlive(keys)
	if iretU8(0) != 0 {
		return nil, storeError(4)
	}
	p, n := iretU32(4), iretU32(8)
	if n == 0 {
		return nil, nil
	}
	e := unsafe.Slice((*uint32)(ptrAt(p)), 5*n)
	out := make([]Entry, n)
	for i := range out {
		w := e[5*i : 5*i+5]
		if uint8(w[0]) == 0 {
			if i < len(keys) {
				out[i].Key = keys[i]
			}
			continue
		}
		v := bytesAt(w[3], w[4])
		if v == nil {
			v = []byte{}
		}
		out[i] = Entry{Key: stringAt(w[1], w[2]), Value: v, Found: true}
	}
	return out, nil
}

// SetMany stores every pair, as Set would one by one (not a transaction).
func (b *Bucket) SetMany(pairs []KeyValue) error {
	for _, kv := range pairs {
		if !utf8.ValidString(kv.Key) {
			return ErrKeyNotUTF8
		}
	}
	var l []uint32
	var lp uint32
	if len(pairs) > 0 {
		l = make([]uint32, 4*len(pairs))
		for i, kv := range pairs {
			l[4*i] = strPtr(kv.Key)
			l[4*i+1] = uint32(len(kv.Key))
			l[4*i+2] = slicePtr(kv.Value)
			l[4*i+3] = uint32(len(kv.Value))
		}
		lp = addr(&l[0])
	}
	importKVSetMany(b.h(), lp, uint32(len(pairs)), iretPtr())
	runtime.KeepAlive(l)
	runtime.KeepAlive(pairs)
	return unitResult()
}

// DeleteMany removes every key; absent keys are not an error.
func (b *Bucket) DeleteMany(keys []string) error {
	if !validKeys(keys) {
		return ErrKeyNotUTF8
	}
	l, lp := lowerStrings(keys)
	importKVDeleteMany(b.h(), lp, uint32(len(keys)), iretPtr())
	runtime.KeepAlive(l)
	runtime.KeepAlive(keys)
	return unitResult()
}

// ErrKeyNotUTF8 refuses a bucket name, key or cursor that is not valid
// UTF-8 (a WIT string must be; the host would trap the instance), before
// anything reaches the host.
var ErrKeyNotUTF8 = errors.New("guest: bucket name or key is not valid UTF-8")

func validKeys(keys []string) bool {
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return false
		}
	}
	return true
}

// lowerStrings lowers keys to a list<string>; the result must be kept
// alive (with the strings) across the call.
func lowerStrings(keys []string) ([]uint32, uint32) {
	if len(keys) == 0 {
		return nil, 0
	}
	l := make([]uint32, 2*len(keys))
	for i, k := range keys {
		l[2*i] = strPtr(k)
		l[2*i+1] = uint32(len(k))
	}
	return l, addr(&l[0])
}

// liftStrings reads a list<string> at p (n elements).
func liftStrings(p, n uint32) []string {
	if n == 0 {
		return nil
	}
	e := unsafe.Slice((*uint32)(ptrAt(p)), 2*n)
	s := make([]string, n)
	for i := range s {
		s[i] = stringAt(e[2*i], e[2*i+1])
	}
	return s
}

// --- airssys:storage/usage ------------------------------------------------------

// Quota is the component's storage use and limits, over all its buckets.
type Quota struct {
	Bytes, Keys                      uint64 // stored now
	MaxBytes, MaxKeys, MaxValueBytes uint64 // the limits
}

// Usage is how much of its quota the component uses.
func Usage() (Quota, error) {
	importKVUsage(iretPtr())
	if iretU8(0) != 0 {
		return Quota{}, storeError(8)
	}
	return Quota{iretU64(8), iretU64(16), iretU64(24), iretU64(32), iretU64(40)}, nil
}
