//go:build wasip1

package guest

import (
	"fmt"
	"runtime"
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

// TextReply is a reply of text.
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
		err = registered.Init(liftKV(config, n))
	}
	if err != nil {
		eretPut8(0, 1)
		eretString(4, err.Error())
	}
	return eretPtr()
}

//go:wasmexport cabi_post_airssys:actor/actor@0.2.0#init
func postInit(uint32) { release() }

//go:wasmexport airssys:actor/actor@0.2.0#handle-message
func exportHandleMessage(h uint32) uint32 {
	maybeGC()
	clear(eret[:])
	msg := newMessage(h)
	r, err := registered.HandleMessage(msg)
	msg.release()
	if err != nil {
		eretPut8(0, 1)
		eretString(4, err.Error())
		return eretPtr()
	}
	if r == nil {
		return eretPtr() // ok(none)
	}
	eretPut8(4, 1) // some
	if r.ContentType == "" && r.Status == 0 && len(r.Headers) == 0 {
		eretPut8(8, r.kind)
		putBody(12, r)
		return eretPtr()
	}
	eretPut8(8, 3) // full(response)
	eretPut8(12, r.kind)
	putBody(16, r)
	eretString(24, r.ContentType)
	eretPut16(32, r.Status)
	l, lp := kvList(r.Headers)
	retKeep = append(retKeep, l, r.Headers)
	eretPut32(36, lp)
	eretPut32(40, uint32(len(r.Headers)))
	return eretPtr()
}

func putBody(off uintptr, r *Reply) {
	switch r.kind {
	case 0:
		eretString(off, r.text)
	case 1:
		eretBytes(off, r.bytes)
	default:
		eretPut32(off, r.payload.handle)
	}
}

//go:wasmexport cabi_post_airssys:actor/actor@0.2.0#handle-message
func postHandleMessage(uint32) { release() }

//go:wasmexport airssys:actor/actor@0.2.0#handle-reply
func exportHandleReply(correlationID uint64, isErr, a, b uint32) {
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
	maybeGC()
	h := registered.Health()
	release()
	return uint32(h)
}

//go:wasmexport airssys:actor/actor@0.2.0#shutdown
func exportShutdown() {
	registered.Shutdown()
	release()
	runtime.KeepAlive(registered)
}
