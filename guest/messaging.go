//go:build wasip1

package guest

import (
	"runtime"
	"time"
	"unicode/utf8"
)

// Payload is bytes to send, held by the host. Send, Request and Publish
// consume it; Share takes a second handle first.
type Payload struct{ handle uint32 }

// TextPayload makes a payload holding text (one copy into the host).
// Text that is not valid UTF-8 goes as bytes (the host would refuse it as
// a string with a trap).
func TextPayload(s string) Payload {
	if !utf8.ValidString(s) {
		h := importPayloadFromBytes(strPtr(s), uint32(len(s)))
		keepAlive(s)
		return Payload{h}
	}
	h := importPayloadFromText(strPtr(s), uint32(len(s)))
	keepAlive(s)
	return Payload{h}
}

// BytesPayload makes a payload holding bytes.
func BytesPayload(b []byte) Payload {
	h := importPayloadFromBytes(slicePtr(b), uint32(len(b)))
	runtime.KeepAlive(b)
	return Payload{h}
}

// Handle is the payload's resource handle.
func (p Payload) Handle() uint32 { return p.handle }

// Len is the payload's length in bytes.
func (p Payload) Len() uint64 { return importPayloadLen(p.handle) }

// Share is a second handle to the same bytes (nothing copied).
func (p Payload) Share() Payload { return Payload{importPayloadShare(p.handle)} }

// Drop frees a payload that will not be sent.
func (p Payload) Drop() { importPayloadDrop(p.handle) }

// SendOptions is what a sender sets besides the payload.
type SendOptions struct {
	ContentType string
	Headers     []Header
}

// SendError is a refusal of a messaging call by the host.
type SendError uint8

const (
	UnknownTarget SendError = iota
	MailboxFull
	TooLarge
	Denied
	Closed
	TooManyRequests
)

var sendErrorNames = [...]string{"unknown-target", "mailbox-full", "too-large", "denied", "closed", "too-many-requests"}

func (e SendError) Error() string {
	if int(e) < len(sendErrorNames) {
		return sendErrorNames[e]
	}
	return "unknown send error"
}

func keepAlive(s string) { runtime.KeepAlive(s) }

// lowerOptions returns the flattened send-options and what must stay alive.
func lowerOptions(o *SendOptions) (ct string, l []uint32, lp uint32) {
	if o == nil {
		return "", nil, 0
	}
	l, lp = kvList(o.Headers)
	return o.ContentType, l, lp
}

// refuse checks what a messaging call passes as strings; when one is not
// UTF-8 it drops p (the call consumes it) and returns ErrFieldNotUTF8.
func refuse(target string, p Payload, o *SendOptions) error {
	if utf8.ValidString(target) && (o == nil || utf8.ValidString(o.ContentType) && validHeaders(o.Headers)) {
		return nil
	}
	p.Drop()
	return ErrFieldNotUTF8
}

// Send sends p to target, fire and forget. p is consumed.
func Send(target string, p Payload, opts *SendOptions) error {
	return post(importSend, target, p, opts)
}

// post is Send or Publish (imp): the two take the same arguments and
// return the same result<_, send-error>.
func post(imp func(to, toLen, payload, ct, ctLen, headers, nHeaders, ret uint32), to string, p Payload, opts *SendOptions) error {
	if err := refuse(to, p, opts); err != nil {
		return err
	}
	ct, l, lp := lowerOptions(opts)
	imp(strPtr(to), uint32(len(to)), p.handle, strPtr(ct), uint32(len(ct)), lp, uint32(len(l)/4), iretPtr())
	runtime.KeepAlive(to)
	runtime.KeepAlive(ct)
	runtime.KeepAlive(l)
	runtime.KeepAlive(opts)
	if iretU8(0) != 0 {
		return SendError(iretU8(1))
	}
	return nil
}

// Request sends a request; the reply arrives through Actor.HandleReply
// with the returned correlation id. p is consumed.
func Request(target string, p Payload, opts *SendOptions, timeout time.Duration) (uint64, error) {
	if err := refuse(target, p, opts); err != nil {
		return 0, err
	}
	ct, l, lp := lowerOptions(opts)
	ms := timeout.Milliseconds()
	if ms < 0 {
		ms = 0
	} else if ms > 1<<32-1 {
		ms = 1<<32 - 1
	}
	importRequest(strPtr(target), uint32(len(target)), p.handle, strPtr(ct), uint32(len(ct)), lp, uint32(len(l)/4), uint32(ms), iretPtr())
	runtime.KeepAlive(target)
	runtime.KeepAlive(ct)
	runtime.KeepAlive(l)
	runtime.KeepAlive(opts)
	if iretU8(0) != 0 {
		return 0, SendError(iretU8(8))
	}
	return iretU64(8), nil
}

// Publish publishes p to a topic. p is consumed.
func Publish(topic string, p Payload, opts *SendOptions) error {
	return post(importPublish, topic, p, opts)
}

// CancelRequest forgets an outstanding request of this component.
func CancelRequest(correlationID uint64) bool { return importCancelRequest(correlationID) != 0 }

var selfID *string

// SelfID is this component's id.
func SelfID() string {
	if selfID == nil {
		importSelfID(iretPtr())
		s := iretString(0)
		selfID = &s
	}
	return *selfID
}

// Level is a wasi:logging level.
type Level uint32

const (
	Trace Level = iota
	Debug
	Info
	Warn
	Error
	Critical
)

// Log logs msg with a context (by convention the actor's id or a
// subsystem). Invalid UTF-8 in either is replaced by U+FFFD.
func Log(level Level, context, msg string) {
	context, msg = validUTF8(context), validUTF8(msg)
	importLog(uint32(level), strPtr(context), uint32(len(context)), strPtr(msg), uint32(len(msg)))
	runtime.KeepAlive(context)
	runtime.KeepAlive(msg)
}
