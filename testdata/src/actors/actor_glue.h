// actor_glue.h: a small C API for actor components of the world
// airssys:actor/component@0.1.0 (wit/airssys-actor/actor.wit).
//
// actor_glue.c implements the canonical-ABI side by hand: the exports of
// airssys:actor/actor@0.1.0, the imports of airssys:actor/messaging@0.1.0
// and wasi:logging/logging@0.1.0-draft, cabi_realloc and the post-return
// functions. A behaviour file (echo.c, counter.c, ...) implements
// actor_on_message and, if it wants, the other actor_on_* hooks; the glue
// has defaults for those.
//
// Everything is freestanding: no libc, no WASI. "Scratch" memory (a bump
// arena), which includes every list and string the host passes in, is
// reset when the export call in progress returns (in its post-return
// function when it has one), so nothing grows from call to call. Data a
// behaviour keeps across calls must be copied with actor_keep or allocated
// with actor_malloc (size-class free lists). See actor_glue.c.
#ifndef ACTOR_GLUE_H
#define ACTOR_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A byte string: list<u8> or string (UTF-8) in linear memory. Not
// NUL-terminated. Same layout as the canonical ABI's (ptr, len) pair.
typedef struct {
    const uint8_t *ptr;
    size_t len;
} actor_bytes;

// A byte string from a string literal.
#define ACTOR_LIT(s) ((actor_bytes){(const uint8_t *)("" s), sizeof(s) - 1})

// One config pair, as init receives it (tuple<string, string>).
typedef struct {
    actor_bytes key;
    actor_bytes value;
} actor_kv;

// airssys:actor/types.message, with its metadata flattened in.
typedef struct {
    actor_bytes sender;
    actor_bytes payload;
    uint64_t correlation_id;
    bool has_reply_to;
    actor_bytes reply_to;
    uint64_t timestamp_ms;
    actor_bytes content_type;
    bool has_topic;
    actor_bytes topic;
} actor_message;

// What handle-message returns: ok(none), ok(some(data)) or err(data).
// data must stay valid until the call returns: a literal, kept memory,
// scratch memory, or part of the incoming message.
typedef enum { ACTOR_REPLY_NONE, ACTOR_REPLY_SOME, ACTOR_REPLY_ERR } actor_reply_kind;
typedef struct {
    actor_reply_kind kind;
    actor_bytes data;
} actor_reply;

static inline actor_reply actor_none(void) { return (actor_reply){ACTOR_REPLY_NONE, {0, 0}}; }
static inline actor_reply actor_some(actor_bytes b) { return (actor_reply){ACTOR_REPLY_SOME, b}; }
static inline actor_reply actor_err(actor_bytes b) { return (actor_reply){ACTOR_REPLY_ERR, b}; }

// Enum cases, numbered as in the WIT (the canonical ABI passes the index).
enum { ACTOR_HEALTHY, ACTOR_DEGRADED, ACTOR_UNHEALTHY };
enum { ACTOR_TRACE, ACTOR_DEBUG, ACTOR_INFO, ACTOR_WARN, ACTOR_ERROR, ACTOR_CRITICAL };
// send-error; ACTOR_SEND_OK (-1) means the call succeeded.
enum {
    ACTOR_SEND_OK = -1,
    ACTOR_UNKNOWN_TARGET,
    ACTOR_MAILBOX_FULL,
    ACTOR_TOO_LARGE,
    ACTOR_DENIED,
    ACTOR_CLOSED,
};

// --- Hooks a behaviour implements ------------------------------------------

// Required: handle one message.
actor_reply actor_on_message(const actor_message *msg);

// Optional (the glue's defaults are shown). The glue logs "init" (debug)
// before actor_on_init and "shutdown" (info) after actor_on_shutdown, both
// with the component's self-id as the context.
//
// init: return true for ok, or false with *err set (default: true).
bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err);
// handle-reply: reply is NULL for err(reason) (default: ignore).
void actor_on_reply(uint64_t correlation_id, const actor_message *reply, actor_bytes reason);
// health (default: ACTOR_HEALTHY).
int actor_on_health(void);
// shutdown (default: nothing).
void actor_on_shutdown(void);

// --- Host functions ---------------------------------------------------------

// messaging.send / request / publish: ACTOR_SEND_OK or a send-error.
int actor_send(actor_bytes target, actor_bytes payload, actor_bytes content_type);
int actor_request(actor_bytes target, actor_bytes payload, actor_bytes content_type,
                  uint32_t timeout_ms, uint64_t *correlation_id);
int actor_publish(actor_bytes topic, actor_bytes payload, actor_bytes content_type);
// messaging.self-id, asked once and then kept.
actor_bytes actor_self_id(void);
// wasi:logging log.
void actor_log(int level, actor_bytes context, actor_bytes message);

// The WIT name of a send-error ("unknown-target", ...) or of a level.
actor_bytes actor_send_error_name(int err);
// The level named name ("trace" ... "critical"), or -1.
int actor_level_parse(actor_bytes name);

// --- Memory -------------------------------------------------------------------

// Scratch memory, freed when the current export call returns.
void *actor_scratch(size_t n);
// Memory kept until actor_free.
void *actor_malloc(size_t n);
void actor_free(void *p);
// A kept copy of b (free its ptr with actor_free).
actor_bytes actor_keep(actor_bytes b);

// --- Byte strings -------------------------------------------------------------

bool actor_eq(actor_bytes a, actor_bytes b);
bool actor_has_prefix(actor_bytes s, actor_bytes prefix);
// Splits *rest at the first sep: returns what precedes it and leaves what
// follows in *rest. Without sep, returns false and leaves *rest alone.
bool actor_cut(actor_bytes *rest, uint8_t sep, actor_bytes *before);
// Parses a whole decimal u64 (no sign, no spaces, no overflow).
bool actor_parse_u64(actor_bytes s, uint64_t *out);
// The value of key in config, if present.
bool actor_config(const actor_kv *config, size_t n, actor_bytes key, actor_bytes *value);

// A growable buffer in scratch memory.
typedef struct {
    uint8_t *ptr;
    size_t len, cap;
} actor_buf;
// Makes room for n more bytes.
void actor_buf_reserve(actor_buf *b, size_t n);
void actor_buf_put(actor_buf *b, actor_bytes s);
void actor_buf_u64(actor_buf *b, uint64_t v);
static inline actor_bytes actor_buf_bytes(const actor_buf *b) {
    return (actor_bytes){b->ptr, b->len};
}

// The decimal text of v, in scratch memory.
actor_bytes actor_u64_text(uint64_t v);

#endif
