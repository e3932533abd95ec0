package actor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// World 0.2.0 (wit/airssys-actor-0.2.0): messages and outgoing payloads
// are host resources. What a handle stands for lives in the cell's handle
// table, owned by the cell's goroutine (every host function and every
// drop runs inside a guest call that goroutine makes), reset whenever an
// instance ends: nothing outlives the instance that held it.
//
// Payload bytes are never copied inside the host: a received message's
// payload, the payload taken from it (message.payload), the handles made
// from it (payload.share) and the message sent with it all share one
// immutable []byte, which the garbage collector frees when the last holder
// lets go. Crossing into the guest costs one copy (text) or the per-byte
// conversion of list<u8> (bytes, range); crossing out of it, one copy.

// The interfaces of world 0.2.0.
const (
	types2Iface     = "airssys:actor/types@0.2.0"
	messaging2Iface = "airssys:actor/messaging@0.2.0"
	actor2Iface     = "airssys:actor/actor@0.2.0#"
)

// world is the version of the actor world a component implements.
type world uint8

const (
	world1 world = 1 // airssys:actor@0.1.0
	world2 world = 2 // airssys:actor@0.2.0
)

// Export names, by world.
type worldExports struct{ init, handle, reply, health, shutdown string }

var exportsOf = map[world]worldExports{
	world1: {exportInit, exportHandle, exportReply, exportHealth, exportShutdown},
	world2: {actor2Iface + "init", actor2Iface + "handle-message", actor2Iface + "handle-reply",
		actor2Iface + "health", actor2Iface + "shutdown"},
}

// ErrUnsupportedWorld is returned by Deploy for a component that exports
// a version of the actor interface this host does not serve.
var ErrUnsupportedWorld = errors.New("actor: unsupported version of airssys:actor/actor")

// worldOf tells which actor world c exports.
func worldOf(c *engine.Component) (world, error) {
	const prefix = "airssys:actor/actor@"
	for _, it := range c.Exports() {
		v, ok := strings.CutPrefix(it.Name, prefix)
		if !ok {
			continue
		}
		switch {
		case v == "0.1.0" || strings.HasPrefix(v, "0.1."):
			return world1, nil
		case v == "0.2.0" || strings.HasPrefix(v, "0.2."):
			return world2, nil
		}
		return 0, fmt.Errorf("%w: the component exports %s; this host serves airssys:actor/actor@0.1.0 and @0.2.0",
			ErrUnsupportedWorld, it.Name)
	}
	return 0, fmt.Errorf("%w (nor @0.2.0)", ErrNotAnActor)
}

// ---- the handle table -----------------------------------------------------

type slotKind uint8

const (
	slotFree slotKind = iota
	slotMessage
	slotPayload
)

// slot is what one handle stands for: a received message, or the bytes
// of an outgoing payload.
type slot struct {
	kind slotKind
	msg  *Message
	data []byte
}

func (s *slot) bytes() int {
	if s.kind == slotMessage {
		return len(s.msg.Payload)
	}
	return len(s.data)
}

// handleTable maps the reps of one instance's handles (index + 1) to their
// slots, within the caps of Options.MaxHandles and MaxHandleBytes.
type handleTable struct {
	slots []slot
	free  []uint32
	live  int
	bytes int
}

// errHandleCap is the trap of a component past its handle caps.
var errHandleCap = errors.New("actor: too many live handles")

func (inc *incarnation) addHandle(s slot) (uint32, error) {
	t := &inc.handles
	o := &inc.c.sys.opts
	if t.live >= o.MaxHandles || t.bytes+s.bytes() > o.MaxHandleBytes {
		return 0, fmt.Errorf("%w: %d handles holding %d bytes (limits %d and %d): a component must drop the "+
			"messages and payloads it no longer needs", errHandleCap, t.live, t.bytes, o.MaxHandles, o.MaxHandleBytes)
	}
	var i uint32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
		t.slots[i] = s
	} else {
		i = uint32(len(t.slots))
		t.slots = append(t.slots, s)
	}
	t.live++
	t.bytes += s.bytes()
	inc.live.Store(int32(t.live))
	return i + 1, nil
}

// handle returns the slot of rep if it holds kind.
func (inc *incarnation) slotOf(rep uint32, kind slotKind) (*slot, error) {
	t := &inc.handles
	if rep == 0 || int(rep) > len(t.slots) || t.slots[rep-1].kind != kind {
		return nil, fmt.Errorf("actor: no live handle %d of that kind", rep)
	}
	return &t.slots[rep-1], nil
}

// takeHandle removes rep from the table and returns what it held.
func (inc *incarnation) takeHandle(rep uint32, kind slotKind) (slot, error) {
	sl, err := inc.slotOf(rep, kind)
	if err != nil {
		return slot{}, err
	}
	s := *sl
	*sl = slot{}
	t := &inc.handles
	t.free = append(t.free, rep-1)
	t.live--
	t.bytes -= s.bytes()
	inc.live.Store(int32(t.live))
	return s, nil
}

// ---- host functions ---------------------------------------------------------

// world2Host adds the imports of world 0.2.0 to h.
func (s *System) world2Host(h *engine.Host) {
	drop := func(kind slotKind) func(ctx context.Context, rep uint32) error {
		return func(ctx context.Context, rep uint32) error {
			inc := incFrom(ctx)
			if inc == nil {
				return errNotInActor
			}
			_, err := inc.takeHandle(rep, kind)
			return err
		}
	}
	s.msgType = h.Resource(types2Iface, "message", drop(slotMessage))
	s.payType = h.Resource(types2Iface, "payload", drop(slotPayload))

	// msgOf finds the message behind a method's self.
	msgOf := func(ctx context.Context, args []any) (*incarnation, *Message, error) {
		inc := incFrom(ctx)
		if inc == nil {
			return nil, nil, errNotInActor
		}
		r, _ := args[0].(engine.HostResource)
		sl, err := inc.slotOf(r.Rep, slotMessage)
		if err != nil {
			return nil, nil, err
		}
		return inc, sl.msg, nil
	}
	method := func(f func(inc *incarnation, m *Message, args []any) (any, error)) engine.HostFunc {
		return func(ctx context.Context, args []any) (any, error) {
			inc, m, err := msgOf(ctx, args)
			if err != nil {
				return nil, err
			}
			return f(inc, m, args)
		}
	}
	newPayload := func(inc *incarnation, data []byte) (any, error) {
		rep, err := inc.addHandle(slot{kind: slotPayload, data: data})
		if err != nil {
			return nil, err
		}
		return engine.HostResource{Type: s.payType, Rep: rep}, nil
	}
	h.Interface(types2Iface, map[string]engine.HostFunc{
		"[method]message.sender": method(func(_ *incarnation, m *Message, _ []any) (any, error) {
			return string(m.Sender), nil
		}),
		"[method]message.metadata": method(func(_ *incarnation, m *Message, _ []any) (any, error) {
			return wit.Record{{Name: "correlation-id", Value: m.CorrelationID},
				{Name: "reply-to", Value: optString(string(m.ReplyTo))},
				{Name: "timestamp-ms", Value: uint64(m.Timestamp.UnixMilli())},
				{Name: "content-type", Value: m.ContentType}, {Name: "topic", Value: optString(m.Topic)},
				{Name: "status", Value: m.Status}}, nil
		}),
		"[method]message.header": method(func(_ *incarnation, m *Message, args []any) (any, error) {
			if v, ok := m.Header(args[1].(string)); ok {
				return wit.Some(v), nil
			}
			return wit.None(), nil
		}),
		"[method]message.headers": method(func(_ *incarnation, m *Message, _ []any) (any, error) {
			out := make([]any, len(m.Headers))
			for i, h := range m.Headers {
				out[i] = wit.Tuple{h.Name, h.Value}
			}
			return out, nil
		}),
		"[method]message.len": method(func(_ *incarnation, m *Message, _ []any) (any, error) {
			return uint64(len(m.Payload)), nil
		}),
		"[method]message.text": method(func(_ *incarnation, m *Message, _ []any) (any, error) {
			if !utf8.Valid(m.Payload) {
				return wit.Err(wit.Enum("not-utf8")), nil
			}
			// The payload is immutable: a string view of it, not a copy.
			return wit.Ok(unsafe.String(unsafe.SliceData(m.Payload), len(m.Payload))), nil
		}),
		"[method]message.bytes": method(func(_ *incarnation, m *Message, _ []any) (any, error) {
			if m.Payload == nil {
				return []byte{}, nil
			}
			return m.Payload, nil
		}),
		"[method]message.range": method(func(_ *incarnation, m *Message, args []any) (any, error) {
			off, n := args[1].(uint64), uint64(args[2].(uint32))
			size := uint64(len(m.Payload))
			if off > size || n > size-off || n > uint64(s.opts.MaxMessageBytes) {
				return wit.Err(wit.Enum("out-of-range")), nil
			}
			return wit.Ok(m.Payload[off : off+n : off+n]), nil
		}),
		"[method]message.payload": method(func(inc *incarnation, m *Message, _ []any) (any, error) {
			return newPayload(inc, m.Payload)
		}),
		"[static]payload.from-text": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			text := args[0].(string)
			// A fresh string decoded from the guest's memory, which no one
			// else holds: its bytes become the payload without a copy.
			return newPayload(inc, unsafe.Slice(unsafe.StringData(text), len(text)))
		},
		"[static]payload.from-bytes": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			return newPayload(inc, bytesArg(args[0]))
		},
		"[method]payload.len": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			sl, err := inc.slotOf(args[0].(engine.HostResource).Rep, slotPayload)
			if err != nil {
				return nil, err
			}
			return uint64(len(sl.data)), nil
		},
		"[method]payload.share": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			sl, err := inc.slotOf(args[0].(engine.HostResource).Rep, slotPayload)
			if err != nil {
				return nil, err
			}
			return newPayload(inc, sl.data)
		},
	})

	// outgoing reads the payload handle and options of a send, request or
	// publish: the payload leaves the table whatever happens next.
	outgoing := func(inc *incarnation, pay any, opts any) (Message, error) {
		r, _ := pay.(engine.HostResource)
		sl, err := inc.takeHandle(r.Rep, slotPayload)
		if err != nil {
			return Message{}, err
		}
		m := Message{Payload: sl.data}
		rec, _ := opts.(wit.Record)
		if v, ok := rec.Get("content-type"); ok {
			m.ContentType, _ = v.(string)
		}
		if v, ok := rec.Get("headers"); ok {
			m.Headers = headersOf(v)
		}
		return m, nil
	}
	refusal := func(err error) (any, error) { return sendError2(err), nil }
	h.Interface(messaging2Iface, map[string]engine.HostFunc{
		"send": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			m, err := outgoing(inc, args[1], args[2])
			if err != nil {
				return nil, err
			}
			if err := inc.send(ctx, args[0].(string), m); err != nil {
				return refusal(err)
			}
			return wit.Ok(nil), nil
		},
		"request": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			m, err := outgoing(inc, args[1], args[2])
			if err != nil {
				return nil, err
			}
			timeout := time.Duration(args[3].(uint32)) * time.Millisecond
			corr, err := inc.request(ctx, args[0].(string), m, timeout)
			if err != nil {
				return refusal(err)
			}
			return wit.Ok(corr), nil
		},
		"publish": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			m, err := outgoing(inc, args[1], args[2])
			if err != nil {
				return nil, err
			}
			if err := inc.publish(ctx, args[0].(string), m); err != nil {
				return refusal(err)
			}
			return wit.Ok(nil), nil
		},
		"cancel-request": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			c := inc.c
			return s.cancelRequest(c, args[0].(uint64)), nil
		},
		"self-id": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			c := inc.c
			return string(c.id), nil
		},
	})
}

// headersOf reads a list<tuple<string, string>>.
func headersOf(v any) []Header {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil
	}
	out := make([]Header, 0, len(list))
	for _, e := range list {
		t, _ := e.(wit.Tuple)
		if len(t) != 2 {
			continue
		}
		n, _ := t[0].(string)
		val, _ := t[1].(string)
		out = append(out, Header{Name: n, Value: val})
	}
	return out
}

// sendError2 maps a delivery error to world 0.2.0's send-error, which has
// a value of its own for the requester's limit of outstanding requests.
func sendError2(err error) wit.Result {
	if errors.Is(err, ErrTooManyWaits) {
		return wit.Err(wit.Enum("too-many-requests"))
	}
	return sendError(err)
}

// ---- delivery -----------------------------------------------------------------

// deliver2 calls a 0.2.0 handle-message: the message goes in as a handle.
// It returns the outcome (see deliver1).
func (c *cell) deliver2(inc *incarnation, m *Message, traced bool) error {
	isRequest := m.CorrelationID != 0 && m.ReplyTo != ""
	rep, err := inc.addHandle(slot{kind: slotMessage, msg: m})
	var res any
	if err == nil {
		c.busy.Store(true)
		inc.cur = m
		inc.beginCall()
		res, err = inc.handle.Call(inc.ctx, engine.HostResource{Type: c.sys.msgType, Rep: rep})
		if c.times != nil && err == nil {
			c.times.observe(time.Since(inc.handleStart()))
		}
		inc.cur = nil
		c.busy.Store(false)
	}
	if err != nil {
		c.trapped(m, err)
		return err
	}
	r, _ := res.(wit.Result)
	if r.IsErr {
		return c.handlerError(m, r, traced)
	}
	reply := Message{Sender: c.id, CorrelationID: m.CorrelationID, ContentType: m.ContentType}
	if o, ok := r.Value.(wit.Option); ok && o.IsSome {
		// A payload handle in the body leaves the table even when no one
		// asked for a reply.
		v, _ := o.Value.(wit.Variant)
		if err := inc.readReply(v, &reply); err != nil {
			c.failed.Add(1)
			if isRequest {
				c.sys.complete(m.CorrelationID, nil, fmt.Errorf("%w: %s: %w", ErrActorFailed, c.id, err))
			}
			c.fail(err)
			return err
		}
	}
	// Counted once the reply has been read (a payload handle in it has
	// left the table), so that Stats never shows a handled message whose
	// handles are still counted.
	c.handled.Add(1)
	if !isRequest {
		return nil
	}
	reply.Timestamp = time.Now()
	if inc.span != "" {
		addTraceFrom(m, inc.span, &reply)
	}
	if err := c.sys.checkReply(&reply); err != nil {
		c.sys.refuseReply(m.ReplyTo, &reply, fmt.Errorf("%w from %s", err, c.id))
		return nil
	}
	c.sys.complete(m.CorrelationID, &reply, nil)
	return nil
}

// readReply fills m from a reply: a body alone, or full(response).
func (inc *incarnation) readReply(v wit.Variant, m *Message) error {
	if v.Case != "full" {
		return inc.readBody(v, m)
	}
	rec, _ := v.Value.(wit.Record)
	for _, f := range rec {
		switch f.Name {
		case "body":
			b, _ := f.Value.(wit.Variant)
			if err := inc.readBody(b, m); err != nil {
				return err
			}
		case "content-type":
			if ct, _ := f.Value.(string); ct != "" {
				m.ContentType = ct
			}
		case "status":
			m.Status, _ = f.Value.(uint16)
		case "headers":
			m.Headers = headersOf(f.Value)
		}
	}
	return nil
}

// readBody sets m's payload from a body (or a reply case of the same
// name).
func (inc *incarnation) readBody(v wit.Variant, m *Message) error {
	switch v.Case {
	case "text":
		s, _ := v.Value.(string)
		// A fresh string decoded from the guest, held by no one else.
		m.Payload = unsafe.Slice(unsafe.StringData(s), len(s))
	case "bytes":
		m.Payload = bytesArg(v.Value)
	case "payload":
		r, _ := v.Value.(engine.HostResource)
		sl, err := inc.takeHandle(r.Rep, slotPayload)
		if err != nil {
			return err
		}
		m.Payload = sl.data
	}
	return nil
}

// deliverReply2 calls a 0.2.0 handle-reply: a reply goes in as a handle.
// It returns the trap, if any.
func (c *cell) deliverReply2(inc *incarnation, env *envelope, outcome wit.Result) error {
	if !outcome.IsErr {
		m := env.reply.msg
		rep, err := inc.addHandle(slot{kind: slotMessage, msg: &m})
		if err != nil {
			c.failed.Add(1)
			c.fail(err)
			return err
		}
		outcome = wit.Ok(engine.HostResource{Type: c.sys.msgType, Rep: rep})
	}
	inc.beginCall()
	if _, err := inc.onRep.Call(inc.ctx, env.corr, outcome); err != nil {
		c.failed.Add(1)
		c.fail(err)
		return err
	}
	c.replied.Add(1)
	return nil
}
