//go:build wasip1

package guest

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Reply is a reply to a request: a body (text, bytes or a payload) and,
// optionally, metadata of its own.
type Reply struct {
	kind    uint8 // 0 text, 1 bytes, 2 payload
	text    string
	bytes   []byte
	payload Payload

	// ContentType empty: the request's content type.
	ContentType string
	// Status is any value the two sides agree on (0: not set).
	Status  uint16
	Headers []Header
}

// TextReply is a reply of text. Text that is not valid UTF-8 goes as
// bytes (the host would refuse it as a string with a trap).
func TextReply(s string) *Reply { return &Reply{kind: 0, text: s} }

// BytesReply is a reply of bytes.
func BytesReply(b []byte) *Reply { return &Reply{kind: 1, bytes: b} }

// PayloadReply replies with a payload (a received message's, to forward
// it without copying). The payload is consumed.
func PayloadReply(p Payload) *Reply { return &Reply{kind: 2, payload: p} }

// Return area of init and handle-message (result<option<reply>, string>
// is 44 bytes, 8-aligned).
var eret [6]uint64

func eretPtr() uint32 { return addr(&eret) }

func eretPut8(off uintptr, v uint8) { *(*uint8)(unsafe.Add(unsafe.Pointer(&eret), off)) = v }
func eretPut16(off uintptr, v uint16) {
	*(*uint16)(unsafe.Add(unsafe.Pointer(&eret), off)) = v
}
func eretPut32(off uintptr, v uint32) {
	*(*uint32)(unsafe.Add(unsafe.Pointer(&eret), off)) = v
}

// eretString stores s at off (ptr, len) and keeps it alive until the
// post-return function.
func eretString(off uintptr, s string) {
	eretPut32(off, strPtr(s))
	eretPut32(off+4, uint32(len(s)))
	retKeep = append(retKeep, s)
}

func eretBytes(off uintptr, b []byte) {
	eretPut32(off, slicePtr(b))
	eretPut32(off+4, uint32(len(b)))
	retKeep = append(retKeep, b)
}

//go:wasmexport airssys:actor/actor@0.2.0#init
func exportInit(config, n uint32) uint32 {
	maybeGC()
	clear(eret[:])
	var err error
	if registered == nil {
		err = fmt.Errorf("guest: no actor registered (call guest.Register in an init function)")
	} else {
		err = initActor(liftKV(config, n))
	}
	if err != nil {
		eretPut8(0, 1)
		eretString(4, validUTF8(err.Error()))
	}
	return eretPtr()
}

// initActor runs Actor.Init; a panic is logged and becomes init's error
// (the instance is dropped, as for a trap, and the deployer reads why).
func initActor(config []Header) (err error) {
	defer func() {
		if v := recover(); v != nil {
			logPanic("init", v)
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return registered.Init(config)
}

// crashOnPanic is deferred by the exports other than init: a panic is
// logged (its value and stack, through wasi:logging at error level) and
// raised again, which ends the Go runtime with a trap (unreachable): the
// host discards the instance and its supervisor decides (the actor
// package doc, "let it crash").
func crashOnPanic(export string) {
	if v := recover(); v != nil {
		logPanic(export, v)
		panic(v)
	}
}

// logPanic logs a recovered panic, context the actor's id: "panic:
// <value> [<export>]", then the stack of the panicking goroutine from the
// function that panicked (the host cuts a line past its limit, 4 KiB by
// default, so the value comes first).
func logPanic(export string, v any) {
	msg := fmt.Sprintf("panic: %v [%s]\n\n%s", v, export, panicStack())
	Log(Error, SelfID(), msg)
}

// panicStack is debug.Stack without the frames of the recovery (Stack,
// logPanic, the deferred function and panic itself): the goroutine's
// header, then the frame that called panic, and on.
func panicStack() string {
	st := string(debug.Stack())
	header, frames, _ := strings.Cut(st, "\n")
	_, after, ok := strings.Cut(frames, "\npanic(")
	if !ok {
		return st
	}
	// A frame is two lines: the function, then its file and line.
	for range 2 {
		if _, after, ok = strings.Cut(after, "\n"); !ok {
			return st
		}
	}
	return header + "\n" + after
}

//go:wasmexport cabi_post_airssys:actor/actor@0.2.0#init
func postInit(uint32) { release() }

//go:wasmexport airssys:actor/actor@0.2.0#handle-message
func exportHandleMessage(h uint32) uint32 {
	defer crashOnPanic("handle-message")
	maybeGC()
	clear(eret[:])
	msg := newMessage(h)
	r, err := registered.HandleMessage(msg)
	msg.release()
	if err != nil {
		eretPut8(0, 1)
		eretString(4, validUTF8(err.Error()))
		return eretPtr()
	}
	if r == nil {
		return eretPtr() // ok(none)
	}
	if !utf8.ValidString(r.ContentType) || !validHeaders(r.Headers) {
		if r.kind == 2 {
			r.payload.Drop()
		}
		eretPut8(0, 1)
		eretString(4, ErrFieldNotUTF8.Error())
		return eretPtr()
	}
	eretPut8(4, 1) // some
	kind := r.kind
	if kind == 0 && !utf8.ValidString(r.text) {
		kind = 1
	}
	if r.ContentType == "" && r.Status == 0 && len(r.Headers) == 0 {
		eretPut8(8, kind)
		putBody(12, kind, r)
		return eretPtr()
	}
	eretPut8(8, 3) // full(response)
	eretPut8(12, kind)
	putBody(16, kind, r)
	eretString(24, r.ContentType)
	eretPut16(32, r.Status)
	l, lp := kvList(r.Headers)
	retKeep = append(retKeep, l, r.Headers)
	eretPut32(36, lp)
	eretPut32(40, uint32(len(r.Headers)))
	return eretPtr()
}

// putBody stores r's body as kind (text that is not UTF-8 goes as bytes,
// kind 1, without a copy).
func putBody(off uintptr, kind uint8, r *Reply) {
	switch {
	case r.kind == 0 && kind == 0:
		eretString(off, r.text)
	case r.kind == 0:
		eretBytes(off, unsafe.Slice(unsafe.StringData(r.text), len(r.text)))
	case r.kind == 1:
		eretBytes(off, r.bytes)
	default:
		eretPut32(off, r.payload.handle)
	}
}

func validHeaders(h []Header) bool {
	for _, kv := range h {
		if !utf8.ValidString(kv.Name) || !utf8.ValidString(kv.Value) {
			return false
		}
	}
	return true
}

// validUTF8 is s with every invalid byte sequence replaced by U+FFFD: what
// goes to the host as a string must be UTF-8, or the call traps.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

//go:wasmexport cabi_post_airssys:actor/actor@0.2.0#handle-message
func postHandleMessage(uint32) { release() }

//go:wasmexport airssys:actor/actor@0.2.0#handle-reply
func exportHandleReply(correlationID uint64, isErr, a, b uint32) {
	defer crashOnPanic("handle-reply")
	maybeGC()
	if isErr != 0 {
		registered.HandleReply(correlationID, nil, &ReplyError{stringAt(a, b)})
	} else {
		msg := newMessage(a)
		registered.HandleReply(correlationID, msg, nil)
		msg.release()
	}
	release()
}

//go:wasmexport airssys:actor/actor@0.2.0#health
func exportHealth() uint32 {
	defer crashOnPanic("health")
	maybeGC()
	h := registered.Health()
	release()
	return uint32(h)
}

//go:wasmexport airssys:actor/actor@0.2.0#shutdown
func exportShutdown() {
	defer crashOnPanic("shutdown")
	registered.Shutdown()
	release()
	runtime.KeepAlive(registered)
}
