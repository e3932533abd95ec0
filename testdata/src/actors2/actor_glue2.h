// actor_glue2.h: the C API for actor components of the world
// airssys:actor/component@0.2.0 (wit/airssys-actor-0.2.0/actor.wit).
//
// It is the 0.1.0 API of ../actors/actor_glue.h, unchanged (so that the
// behaviours in src/actors/ build against either glue), plus what 0.2.0
// adds: message and payload handles, headers, reply status, cancel-request.
// actor_glue2.c implements all of it by hand (canonical ABI, no libc).
//
// How the 0.1.0 API maps onto 0.2.0:
// - handle-message gets an own<message>. By default the glue reads its
//   sender, metadata and payload (text(), or bytes() when that is not
//   UTF-8) into an actor_message, calls actor_on_message, and drops the
//   handle before returning. handle-reply does the same for ok(message).
// - actor_some(b) replies ok(some(reply)) with a text body when b is valid
//   UTF-8 (no scan when b is exactly the text the glue read), else a bytes
//   body; content type "" (the request's), status 0, no headers.
// - actor_send / actor_request / actor_publish make a payload (from-text
//   when the bytes are valid UTF-8, else from-bytes) and send it with no
//   headers.
//
// A behaviour that wants the handles defines actor_lazy_payload() to return
// true: the glue then leaves msg->payload empty (it still reads sender and
// metadata) and the behaviour reads what it needs through actor_msg_*.
#ifndef ACTOR_GLUE2_H
#define ACTOR_GLUE2_H

#include "../actors/actor_glue.h"

// send-error gained a case in 0.2.0 (after ACTOR_CLOSED).
enum { ACTOR_TOO_MANY_REQUESTS = ACTOR_CLOSED + 1 };

// read-error, as actor_msg_text and actor_msg_range return it;
// ACTOR_READ_OK (-1) means the read succeeded.
enum { ACTOR_READ_OK = -1, ACTOR_NOT_UTF8, ACTOR_OUT_OF_RANGE };

// A resource handle (own<message> or own<payload>). 0 is never a valid one.
typedef uint32_t actor_handle;

// --- Hooks ---------------------------------------------------------------------

// Optional: return true to have the glue skip the payload read (default:
// false). msg->payload is then empty in actor_on_message and actor_on_reply.
bool actor_lazy_payload(void);
// A behaviour that defines actor_bare_message() to return true gets only
// the handle (actor_msg_handle): the glue reads nothing, not even the
// sender and metadata (default false). Implies lazy.
bool actor_bare_message(void);

// --- The message being handled ------------------------------------------------
// msg must be the pointer the glue passed to actor_on_message or
// actor_on_reply (these read fields the glue keeps next to it).

// Its handle, valid until the call returns (or until actor_msg_drop when
// the behaviour took it with actor_msg_keep).
actor_handle actor_msg_handle(const actor_message *msg);
// metadata.status (non-zero only on replies whose responder set one).
uint16_t actor_msg_status(const actor_message *msg);
// Takes the handle over: the glue will not drop it when the call returns.
// The behaviour then owns it and drops it with actor_msg_drop.
actor_handle actor_msg_keep(const actor_message *msg);

// --- message methods (any message handle, kept or current) --------------------
// Strings and lists they return are scratch memory.

actor_bytes actor_msg_sender(actor_handle m);
uint64_t actor_msg_len(actor_handle m);
// text(): ACTOR_READ_OK with *out set, or ACTOR_NOT_UTF8.
int actor_msg_text(actor_handle m, actor_bytes *out);
// bytes(): the payload, exactly.
actor_bytes actor_msg_bytes(actor_handle m);
// range(offset, len): ACTOR_READ_OK with *out set, or ACTOR_OUT_OF_RANGE.
int actor_msg_range(actor_handle m, uint64_t offset, uint32_t len, actor_bytes *out);
// header(name): true with *value set when the message has that header.
bool actor_msg_header(actor_handle m, actor_bytes name, actor_bytes *value);
// headers(): every header, in order; returns how many, *out points to them.
size_t actor_msg_headers(actor_handle m, const actor_kv **out);
// payload(): a new payload handle to the message's bytes (nothing copied).
actor_handle actor_msg_payload(actor_handle m);
// [resource-drop]message.
void actor_msg_drop(actor_handle m);

// --- payloads ---------------------------------------------------------------------

// from-text (t must be valid UTF-8, or the host traps the component).
actor_handle actor_payload_text(actor_bytes t);
// from-bytes.
actor_handle actor_payload_bytes(actor_bytes b);
// from-text when b is valid UTF-8, else from-bytes.
actor_handle actor_payload_of(actor_bytes b);
uint64_t actor_payload_len(actor_handle p);
// share(): a second handle to the same bytes.
actor_handle actor_payload_share(actor_handle p);
// [resource-drop]payload (only for a payload that was not sent).
void actor_payload_drop(actor_handle p);

// --- messaging with handles and headers ------------------------------------------
// The payload is consumed whatever the outcome. headers may be NULL when n
// is 0. Return ACTOR_SEND_OK or a send-error.

int actor_send_payload(actor_bytes target, actor_handle payload, actor_bytes content_type,
                       const actor_kv *headers, size_t n);
int actor_request_payload(actor_bytes target, actor_handle payload, actor_bytes content_type,
                          const actor_kv *headers, size_t n, uint32_t timeout_ms,
                          uint64_t *correlation_id);
int actor_publish_payload(actor_bytes topic, actor_handle payload, actor_bytes content_type,
                          const actor_kv *headers, size_t n);
// cancel-request: true when the request was still outstanding.
bool actor_cancel_request(uint64_t correlation_id);

// --- richer replies ---------------------------------------------------------------

// The body of a reply: AUTO is text when the data is valid UTF-8, else
// bytes (what actor_some does); TEXT must be valid UTF-8 (the host traps
// the component otherwise).
typedef enum { ACTOR_BODY_AUTO, ACTOR_BODY_TEXT, ACTOR_BODY_BYTES, ACTOR_BODY_PAYLOAD } actor_body;

// ok(some(reply{body, content-type, status, headers})). data and headers
// must stay valid until the call returns (as for actor_some). An empty
// content_type means the request's.
actor_reply actor_reply_full(actor_body kind, actor_bytes data, actor_bytes content_type,
                             uint16_t status, const actor_kv *headers, size_t n);
// The same with a payload body (the handle goes to the host).
actor_reply actor_reply_payload(actor_handle payload, actor_bytes content_type, uint16_t status,
                                const actor_kv *headers, size_t n);

// --- helpers ------------------------------------------------------------------------

bool actor_utf8_valid(actor_bytes b);

#endif
