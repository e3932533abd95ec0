//go:build wasip1

package guest

// Imports of the world airssys:actor/component@0.2.0. Addresses are i32
// (uint32); ret is the import return area (iret).

// airssys:actor/types@0.2.0

//go:wasmimport airssys:actor/types@0.2.0 [method]message.sender
func importMsgSender(m, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.metadata
func importMsgMetadata(m, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.header
func importMsgHeader(m, name, nameLen, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.headers
func importMsgHeaders(m, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.len
func importMsgLen(m uint32) uint64

//go:wasmimport airssys:actor/types@0.2.0 [method]message.text
func importMsgText(m, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.bytes
func importMsgBytes(m, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.range
func importMsgRange(m uint32, offset uint64, length, ret uint32)

//go:wasmimport airssys:actor/types@0.2.0 [method]message.payload
func importMsgPayload(m uint32) uint32

//go:wasmimport airssys:actor/types@0.2.0 [resource-drop]message
func importMsgDrop(m uint32)

//go:wasmimport airssys:actor/types@0.2.0 [static]payload.from-text
func importPayloadFromText(p, n uint32) uint32

//go:wasmimport airssys:actor/types@0.2.0 [static]payload.from-bytes
func importPayloadFromBytes(p, n uint32) uint32

//go:wasmimport airssys:actor/types@0.2.0 [method]payload.len
func importPayloadLen(p uint32) uint64

//go:wasmimport airssys:actor/types@0.2.0 [method]payload.share
func importPayloadShare(p uint32) uint32

//go:wasmimport airssys:actor/types@0.2.0 [resource-drop]payload
func importPayloadDrop(p uint32)

// airssys:actor/messaging@0.2.0 (send-options flatten to content-type
// ptr, len, headers ptr, len)

//go:wasmimport airssys:actor/messaging@0.2.0 send
func importSend(target, targetLen, payload, ct, ctLen, headers, nHeaders, ret uint32)

//go:wasmimport airssys:actor/messaging@0.2.0 request
func importRequest(target, targetLen, payload, ct, ctLen, headers, nHeaders, timeoutMS, ret uint32)

//go:wasmimport airssys:actor/messaging@0.2.0 publish
func importPublish(topic, topicLen, payload, ct, ctLen, headers, nHeaders, ret uint32)

//go:wasmimport airssys:actor/messaging@0.2.0 cancel-request
func importCancelRequest(correlationID uint64) uint32

//go:wasmimport airssys:actor/messaging@0.2.0 self-id
func importSelfID(ret uint32)

// wasi:logging/logging@0.1.0-draft

//go:wasmimport wasi:logging/logging@0.1.0-draft log
func importLog(level, ctx, ctxLen, msg, msgLen uint32)

// keepImports calls every import, so that the linker keeps them all and the
// component imports the world's interfaces whole whatever the actor uses
// (as the C glue's KEEP does). init calls it under a condition the
// compiler cannot prove false, and that is never true.
func keepImports() {
	importMsgSender(0, 0)
	importMsgMetadata(0, 0)
	importMsgHeader(0, 0, 0, 0)
	importMsgHeaders(0, 0)
	importMsgLen(0)
	importMsgText(0, 0)
	importMsgBytes(0, 0)
	importMsgRange(0, 0, 0, 0)
	importMsgPayload(0)
	importMsgDrop(0)
	importPayloadFromText(0, 0)
	importPayloadFromBytes(0, 0)
	importPayloadLen(0)
	importPayloadShare(0)
	importPayloadDrop(0)
	importSend(0, 0, 0, 0, 0, 0, 0, 0)
	importRequest(0, 0, 0, 0, 0, 0, 0, 0, 0)
	importPublish(0, 0, 0, 0, 0, 0, 0, 0)
	importCancelRequest(0)
	importSelfID(0)
	importLog(0, 0, 0, 0, 0)
}
