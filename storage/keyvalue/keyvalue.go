// Package keyvalue gives components their storage through the standard
// wasi:keyvalue interfaces (store, atomics and batch, versions
// 0.2.0-draft2 and 0.2.0-draft) and airssys:storage/usage@0.1.0, on top of
// a storage.Backend (a storage.DB).
//
// Design, in a few lines:
//
//   - Define adds the imports to an engine.Host once; the functions find
//     the calling instance's Session through the call's context
//     (WithSession), so one Host serves every instance.
//   - A Session is one instance's view of storage: whose data (the owner,
//     the component's identity, never an actor id), what it is granted
//     (buckets, read, write, delete, limits) and the bucket and cas handles
//     it holds. Its handle table belongs to the goroutine that calls into
//     the instance (host functions and drops run inside its calls); Reset
//     forgets every handle when the instance ends. Handles are capped
//     (MaxHandles): past the cap the guest's call traps.
//   - Every call is checked at its entry: the bucket must be granted when
//     it is opened, and the operation (read, write, delete) on every call.
//     Refusals are error values, never traps: access-denied for what is
//     not granted, no-such-store for an identifier that cannot exist,
//     other(...) for the rest (a quota, a bad key, a busy database).
//   - Session.Trace, when set, is told of each operation on a bucket (and
//     of usage), for a tracing span around it; left nil it costs one
//     check per call.
package keyvalue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// The interfaces this package defines.
const (
	Store2   = "wasi:keyvalue/store@0.2.0-draft2"
	Atomics2 = "wasi:keyvalue/atomics@0.2.0-draft2"
	Batch2   = "wasi:keyvalue/batch@0.2.0-draft2"
	Store1   = "wasi:keyvalue/store@0.2.0-draft"
	Atomics1 = "wasi:keyvalue/atomics@0.2.0-draft"
	Batch1   = "wasi:keyvalue/batch@0.2.0-draft"
	UsageI   = "airssys:storage/usage@0.1.0"
)

// MaxHandles caps the bucket and cas handles of one instance.
const MaxHandles = 1000

// Grant is what a component may do with its storage.
type Grant struct {
	// Buckets are the identifiers it may open; "*" is any.
	Buckets []string
	Read    bool // get, exists, list-keys, get-many, cas.current
	Write   bool // set, increment, swap, set-many
	Delete  bool // delete, delete-many
	Limits  storage.Limits
}

// All is the grant of every bucket and operation (tools and tests without
// a policy).
func All(lim storage.Limits) Grant {
	return Grant{Buckets: []string{"*"}, Read: true, Write: true, Delete: true, Limits: lim}
}

func (g *Grant) bucket(id string) bool {
	return slices.Contains(g.Buckets, "*") || slices.Contains(g.Buckets, id)
}

// Session is one instance's storage: see the package doc.
type Session struct {
	DB    storage.Backend
	Owner storage.Owner
	Grant Grant
	// Denied, when set, is told of every refused call (for the audit and
	// the count of denials).
	Denied func(op, bucket, why string)
	// Trace, when set, is called as each operation starts: name is
	// "keyvalue." and the operation (get, set, delete, exists, list-keys,
	// increment, cas.new, swap, get-many, set-many, delete-many, usage),
	// bucket its bucket ("" for usage). The end it returns (nil: not
	// traced) is called once with the outcome: nil, a *CallError for an
	// error value (a refusal included), or the error that traps the
	// guest. Opening a bucket, cas.current and drops touch no data and are
	// not reported. Like the handles, it belongs to the goroutine that
	// calls into the instance: set it between guest calls.
	Trace func(name, bucket string) (end func(err error))
	// CallDeadline, when set, says when the guest call that makes the
	// operation times out (zero: no timeout). Each operation then ends a
	// little before it (the backend's context), so that a backend that
	// stalls (a lattice's stream electing a leader) gives the guest an
	// error value rather than outliving the call and trapping the guest.
	CallDeadline func() time.Time
	// Counters, when set, count the operations the grant allowed and the
	// bytes of the keys and values they read or wrote (shared by the
	// sessions of one actor's successive instances).
	Counters *Counters

	slots []slot
	free  []uint32
	live  atomic.Int32 // read by Handles from any goroutine
}

// Counters are the operations and bytes of a Session (see
// Session.Counters); safe to read from any goroutine.
type Counters struct {
	Ops, Bytes atomic.Uint64
}

// moved counts n bytes of keys and values read or written (an increment's
// value as stored: decimal text; exists and delete move none).
func (s *Session) moved(n int) {
	if c := s.Counters; c != nil {
		c.Bytes.Add(uint64(n))
	}
}

type slotKind uint8

const (
	slotFree slotKind = iota
	slotBucket
	slotCAS
)

type slot struct {
	kind  slotKind
	id    string // bucket identifier
	key   string // cas
	old   []byte // cas: the value read when it was made
	found bool
}

// NewSession returns a session of owner's data under grant.
func NewSession(db storage.Backend, owner storage.Owner, grant Grant) *Session {
	return &Session{DB: db, Owner: owner, Grant: grant}
}

type sessionKey struct{}

// WithSession returns ctx carrying s, for the host functions of the calls
// made with it.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// Lookup returns the session ctx carries (nil if none).
func Lookup(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// Reset forgets every handle: the instance that held them is gone.
func (s *Session) Reset() {
	s.slots, s.free = nil, nil
	s.live.Store(0)
}

// Handles counts the handles the instance holds.
func (s *Session) Handles() int { return int(s.live.Load()) }

var errHandleCap = errors.New("keyvalue: too many live bucket and cas handles")

func (s *Session) add(sl slot) (uint32, error) {
	if n := s.live.Load(); n >= MaxHandles {
		return 0, fmt.Errorf("%w (%d): a component must drop the handles it no longer needs", errHandleCap, n)
	}
	var i uint32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
		s.slots[i] = sl
	} else {
		i = uint32(len(s.slots))
		s.slots = append(s.slots, sl)
	}
	s.live.Add(1)
	return i + 1, nil
}

func (s *Session) get(rep uint32, kind slotKind) (*slot, error) {
	if rep == 0 || int(rep) > len(s.slots) || s.slots[rep-1].kind != kind {
		return nil, fmt.Errorf("keyvalue: no live handle %d of that kind", rep)
	}
	return &s.slots[rep-1], nil
}

func (s *Session) take(rep uint32, kind slotKind) (slot, error) {
	sl, err := s.get(rep, kind)
	if err != nil {
		return slot{}, err
	}
	out := *sl
	*sl = slot{}
	s.free = append(s.free, rep-1)
	s.live.Add(-1)
	return out, nil
}

// ---- errors as values -------------------------------------------------------

func kvErr(c string, msg string) wit.Result {
	if c == "other" {
		return wit.Err(wit.Variant{Case: "other", Value: msg})
	}
	return wit.Err(wit.Variant{Case: c})
}

// errValue maps a storage error to the error variant.
func errValue(err error) wit.Result {
	switch {
	case errors.Is(err, storage.ErrInvalidBucket):
		return kvErr("no-such-store", "")
	}
	return kvErr("other", err.Error())
}

// check tells whether the session may do op on bucket id; a refusal is
// reported and returned as an error value.
func (s *Session) check(op, id string) (wit.Result, bool) {
	allowed := s.Grant.bucket(id)
	if allowed {
		switch op {
		case "read":
			allowed = s.Grant.Read
		case "write":
			allowed = s.Grant.Write
		case "delete":
			allowed = s.Grant.Delete
		}
	}
	if allowed {
		return wit.Result{}, true
	}
	if s.Denied != nil {
		s.Denied(op, id, "not granted")
	}
	return kvErr("access-denied", ""), false
}

var errNoSession = errors.New("keyvalue: called outside a storage session")

// CallError is the outcome Session.Trace's end is given for an operation
// that returned an error value: Case is the error's case (access-denied,
// no-such-store, other, cas-failed, store-error), Text what it carries
// ("other: <text>", or the case of a store-error).
type CallError struct {
	Case, Text string
}

func (e *CallError) Error() string {
	if e.Text == "" {
		return "keyvalue: " + e.Case
	}
	return "keyvalue: " + e.Case + ": " + e.Text
}

// outcome is what a traced operation ended with (see Session.Trace).
func outcome(res any, err error) error {
	if err != nil {
		return err
	}
	r, ok := res.(wit.Result)
	if !ok || !r.IsErr {
		return nil
	}
	v, _ := r.Value.(wit.Variant)
	e := &CallError{Case: v.Case}
	switch x := v.Value.(type) {
	case string:
		e.Text = x
	case wit.Variant: // store-error(error)
		e.Text = x.Case
		if t, ok := x.Value.(string); ok {
			e.Text += ": " + t
		}
	}
	return e
}

// traced runs f inside the session's Trace hook, if it asks to be told.
func (s *Session) traced(name, bucket string, f func() (any, error)) (any, error) {
	end := s.Trace(name, bucket)
	res, err := f()
	if end != nil {
		end(outcome(res, err))
	}
	return res, err
}

// ---- the host ---------------------------------------------------------------

// Define adds wasi:keyvalue (store, atomics, batch; 0.2.0-draft2 and
// 0.2.0-draft) and airssys:storage/usage to h.
func Define(h *engine.Host) {
	defineStore(h, Store2, Atomics2, Batch2, true)
	defineStore(h, Store1, Atomics1, Batch1, false)
	h.Func(UsageI, "usage", func(ctx context.Context, args []any) (any, error) {
		s := Lookup(ctx)
		if s == nil {
			return kvErr("other", "no storage for this component"), nil
		}
		ctx, cancel := s.opContext(ctx)
		defer cancel()
		if s.Trace != nil {
			return s.traced("keyvalue.usage", "", func() (any, error) { return usage(ctx, s) })
		}
		return usage(ctx, s)
	})
}

// opMargin is how long before the guest call's timeout an operation
// gives up (at most a tenth of the time left).
const opMargin = 100 * time.Millisecond

// opContext is ctx ending opMargin before the guest call's timeout (see
// CallDeadline), or ctx itself.
func (s *Session) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.CallDeadline == nil {
		return ctx, func() {}
	}
	d := s.CallDeadline()
	if d.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, d.Add(-min(opMargin, time.Until(d)/10)))
}

// usage is airssys:storage/usage of s.
func usage(ctx context.Context, s *Session) (any, error) {
	u, err := s.DB.Usage(ctx, s.Owner)
	if err != nil {
		return errValue(err), nil
	}
	lim := s.Grant.Limits
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = storage.DefaultMaxBytes
	}
	if lim.MaxKeys <= 0 {
		lim.MaxKeys = storage.DefaultMaxKeys
	}
	if lim.MaxValueBytes <= 0 {
		lim.MaxValueBytes = storage.DefaultMaxValueBytes
	}
	return wit.Ok(wit.Record{{Name: "bytes", Value: uint64(u.Bytes)}, {Name: "keys", Value: uint64(u.Keys)},
		{Name: "max-bytes", Value: uint64(lim.MaxBytes)}, {Name: "max-keys", Value: uint64(lim.MaxKeys)},
		{Name: "max-value-bytes", Value: uint64(lim.MaxValueBytes)}}), nil
}

func defineStore(h *engine.Host, store, atomics, batch string, draft2 bool) {
	drop := func(kind slotKind) func(ctx context.Context, rep uint32) error {
		return func(ctx context.Context, rep uint32) error {
			s := Lookup(ctx)
			if s == nil {
				return errNoSession
			}
			_, err := s.take(rep, kind)
			return err
		}
	}
	bucketT := h.Resource(store, "bucket", drop(slotBucket))
	var casT *engine.ResourceType
	if draft2 {
		casT = h.Resource(atomics, "cas", drop(slotCAS))
	}
	// bucketOf finds the session and the bucket behind a borrow.
	bucketOf := func(ctx context.Context, v any) (*Session, string, error) {
		s := Lookup(ctx)
		if s == nil {
			return nil, "", errNoSession
		}
		r, _ := v.(engine.HostResource)
		sl, err := s.get(r.Rep, slotBucket)
		if err != nil {
			return nil, "", err
		}
		return s, sl.id, nil
	}
	type op func(ctx context.Context, s *Session, id string, args []any) (any, error)
	// on makes the host function of operation name, which needs the
	// permission kind.
	on := func(kind, name string, f op) engine.HostFunc {
		name = "keyvalue." + name
		run := func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			if res, ok := s.check(kind, id); !ok {
				return res, nil
			}
			if c := s.Counters; c != nil {
				c.Ops.Add(1)
			}
			ctx, cancel := s.opContext(ctx)
			defer cancel()
			return f(ctx, s, id, args)
		}
		return func(ctx context.Context, args []any) (any, error) {
			s, id, err := bucketOf(ctx, args[0])
			if err != nil {
				return nil, err
			}
			if s.Trace != nil {
				return s.traced(name, id, func() (any, error) { return run(ctx, s, id, args) })
			}
			return run(ctx, s, id, args)
		}
	}
	h.Interface(store, map[string]engine.HostFunc{
		"open": func(ctx context.Context, args []any) (any, error) {
			s := Lookup(ctx)
			if s == nil {
				// No storage for this instance: a refusal, not a trap.
				return kvErr("access-denied", ""), nil
			}
			id := args[0].(string)
			if err := storage.CheckBucket(id); err != nil {
				return kvErr("no-such-store", ""), nil
			}
			if !s.Grant.bucket(id) {
				if s.Denied != nil {
					s.Denied("open", id, "bucket not granted")
				}
				return kvErr("access-denied", ""), nil
			}
			rep, err := s.add(slot{kind: slotBucket, id: id})
			if err != nil {
				return nil, err
			}
			return wit.Ok(engine.HostResource{Type: bucketT, Rep: rep}), nil
		},
		"[method]bucket.get": on("read", "get", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			v, ok, err := s.DB.Get(ctx, s.Owner, id, args[1].(string))
			if err != nil {
				return errValue(err), nil
			}
			s.moved(len(args[1].(string)) + len(v))
			if !ok {
				return wit.Ok(wit.None()), nil
			}
			return wit.Ok(wit.Some(v)), nil
		}),
		"[method]bucket.set": on("write", "set", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			v, _ := args[2].([]byte)
			if err := s.DB.Set(ctx, s.Owner, id, args[1].(string), v, s.Grant.Limits); err != nil {
				return errValue(err), nil
			}
			s.moved(len(args[1].(string)) + len(v))
			return wit.Ok(nil), nil
		}),
		"[method]bucket.delete": on("delete", "delete", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			if err := s.DB.Delete(ctx, s.Owner, id, args[1].(string)); err != nil {
				return errValue(err), nil
			}
			return wit.Ok(nil), nil
		}),
		"[method]bucket.exists": on("read", "exists", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			ok, err := s.DB.Exists(ctx, s.Owner, id, args[1].(string))
			if err != nil {
				return errValue(err), nil
			}
			return wit.Ok(ok), nil
		}),
		"[method]bucket.list-keys": on("read", "list-keys", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			c, _ := args[1].(wit.Option)
			var keys []string
			var cursor wit.Option
			var err error
			if draft2 {
				cur, _ := c.Value.(string)
				var next string
				keys, next, err = s.DB.ListKeys(ctx, s.Owner, id, cur)
				if next != "" {
					cursor = wit.Some(next)
				}
			} else {
				off, _ := c.Value.(uint64)
				var next *uint64
				keys, next, err = s.DB.ListKeysAt(ctx, s.Owner, id, off)
				if next != nil {
					cursor = wit.Some(*next)
				}
			}
			if err != nil {
				return errValue(err), nil
			}
			list := make([]any, len(keys))
			for i, k := range keys {
				list[i] = k
			}
			return wit.Ok(wit.Record{{Name: "keys", Value: list}, {Name: "cursor", Value: cursor}}), nil
		}),
	})

	atom := map[string]engine.HostFunc{}
	if draft2 {
		atom["increment"] = on("write", "increment", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			n, err := s.DB.Increment(ctx, s.Owner, id, args[1].(string), args[2].(int64), s.Grant.Limits)
			if err != nil {
				return errValue(err), nil
			}
			s.moved(len(args[1].(string)) + len(strconv.FormatInt(n, 10))) // stored as decimal text
			return wit.Ok(n), nil
		})
		atom["[static]cas.new"] = on("read", "cas.new", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			key := args[1].(string)
			v, found, err := s.DB.Get(ctx, s.Owner, id, key)
			if err != nil {
				return errValue(err), nil
			}
			rep, err := s.add(slot{kind: slotCAS, id: id, key: key, old: v, found: found})
			if err != nil {
				return nil, err
			}
			return wit.Ok(engine.HostResource{Type: casT, Rep: rep}), nil
		})
		atom["[method]cas.current"] = func(ctx context.Context, args []any) (any, error) {
			s := Lookup(ctx)
			if s == nil {
				return nil, errNoSession
			}
			sl, err := s.get(args[0].(engine.HostResource).Rep, slotCAS)
			if err != nil {
				return nil, err
			}
			if !sl.found {
				return wit.Ok(wit.None()), nil
			}
			return wit.Ok(wit.Some(sl.old)), nil
		}
		atom["swap"] = func(ctx context.Context, args []any) (any, error) {
			s := Lookup(ctx)
			if s == nil {
				return nil, errNoSession
			}
			c, err := s.take(args[0].(engine.HostResource).Rep, slotCAS)
			if err != nil {
				return nil, err
			}
			ctx, cancel := s.opContext(ctx)
			defer cancel()
			if s.Trace != nil {
				return s.traced("keyvalue.swap", c.id, func() (any, error) { return swap(ctx, s, c, args[1], casT) })
			}
			return swap(ctx, s, c, args[1], casT)
		}
	} else {
		atom["increment"] = on("write", "increment", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			n, err := s.DB.IncrementUnsigned(ctx, s.Owner, id, args[1].(string), args[2].(uint64), s.Grant.Limits)
			if err != nil {
				return errValue(err), nil
			}
			s.moved(len(args[1].(string)) + len(strconv.FormatUint(n, 10)))
			return wit.Ok(n), nil
		})
	}
	h.Interface(atomics, atom)

	h.Interface(batch, map[string]engine.HostFunc{
		"get-many": on("read", "get-many", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			keys := stringList(args[1])
			vals, err := s.DB.GetMany(ctx, s.Owner, id, keys)
			if err != nil {
				return errValue(err), nil
			}
			out := make([]any, len(keys))
			n := 0
			for i, k := range keys {
				n += len(k) + len(vals[i])
				if vals[i] == nil {
					out[i] = wit.None()
				} else {
					out[i] = wit.Some(wit.Tuple{k, vals[i]})
				}
			}
			s.moved(n)
			return wit.Ok(out), nil
		}),
		"set-many": on("write", "set-many", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			list, _ := args[1].([]any)
			kvs := make([]storage.KV, 0, len(list))
			for _, e := range list {
				t, _ := e.(wit.Tuple)
				if len(t) != 2 {
					continue
				}
				k, _ := t[0].(string)
				v, _ := t[1].([]byte)
				kvs = append(kvs, storage.KV{Key: k, Value: v})
			}
			if err := s.DB.SetMany(ctx, s.Owner, id, kvs, s.Grant.Limits); err != nil {
				return errValue(err), nil
			}
			n := 0
			for _, kv := range kvs {
				n += len(kv.Key) + len(kv.Value)
			}
			s.moved(n)
			return wit.Ok(nil), nil
		}),
		"delete-many": on("delete", "delete-many", func(ctx context.Context, s *Session, id string, args []any) (any, error) {
			if err := s.DB.DeleteMany(ctx, s.Owner, id, stringList(args[1])); err != nil {
				return errValue(err), nil
			}
			return wit.Ok(nil), nil
		}),
	})
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, e := range list {
		out[i], _ = e.(string)
	}
	return out
}

// swap does atomics.swap of cas c (already taken from the table) to the
// value v.
func swap(ctx context.Context, s *Session, c slot, v any, casT *engine.ResourceType) (any, error) {
	storeErr := func(r wit.Result) wit.Result {
		return wit.Err(wit.Variant{Case: "store-error", Value: r.Value})
	}
	if res, ok := s.check("write", c.id); !ok {
		return storeErr(res), nil
	}
	value, _ := v.([]byte)
	err := s.DB.CompareAndSwap(ctx, s.Owner, c.id, c.key, c.old, c.found, value, s.Grant.Limits)
	switch {
	case err == nil:
		return wit.Ok(nil), nil
	case errors.Is(err, storage.ErrCASFailed):
		// Hand back a cas on the value as it is now, to retry with.
		cur, found, gerr := s.DB.Get(ctx, s.Owner, c.id, c.key)
		if gerr != nil {
			return storeErr(errValue(gerr)), nil
		}
		rep, aerr := s.add(slot{kind: slotCAS, id: c.id, key: c.key, old: cur, found: found})
		if aerr != nil {
			return nil, aerr
		}
		return wit.Err(wit.Variant{Case: "cas-failed", Value: engine.HostResource{Type: casT, Rep: rep}}), nil
	}
	return storeErr(errValue(err)), nil
}
