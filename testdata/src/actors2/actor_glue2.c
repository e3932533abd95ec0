// actor_glue2.c: hand-written canonical-ABI glue for the world
// airssys:actor/component@0.2.0. See actor_glue2.h for the C API. The
// allocator and the byte-string helpers are copied unchanged from
// ../actors/actor_glue.c (a component links one glue, never both).
//
// Canonical ABI (wasm32, UTF-8), as used here (the layouts were checked
// against the lowering code jco generates for this world):
//   own<message>, own<payload>, borrow<...> -> i32 handle
//   string, list<u8>      -> (ptr: i32, len: i32)
//   list<tuple<string, string>> -> (ptr, len); elements are 16 bytes
//       (key ptr, key len, value ptr, value len), the layout of actor_kv
//   Imports of airssys:actor/types@0.2.0 (self is the handle):
//       [method]message.sender (self, ret)      ret: string, ptr @0 len @4
//       [method]message.metadata (self, ret)    ret: metadata, 56 bytes:
//           correlation-id u64 @0, reply-to option<string> (tag @8, ptr @12,
//           len @16), timestamp-ms u64 @24, content-type @32/@36,
//           topic option<string> (tag @40, ptr @44, len @48), status u16 @52
//       [method]message.header (self, name ptr, name len, ret)
//                                               ret: option<string>, tag @0,
//                                               ptr @4, len @8
//       [method]message.headers (self, ret)     ret: list, ptr @0 len @4
//       [method]message.len (self) -> i64
//       [method]message.text (self, ret)        ret: result<string,
//           read-error>: tag @0, ok ptr @4 len @8, err enum (u8) @4
//       [method]message.bytes (self, ret)       ret: list, ptr @0 len @4
//       [method]message.range (self, offset i64, length i32, ret)
//                                               ret: as text
//       [method]message.payload (self) -> i32
//       [static]payload.from-text (ptr, len) -> i32
//       [static]payload.from-bytes (ptr, len) -> i32
//       [method]payload.len (self) -> i64
//       [method]payload.share (self) -> i32
//       [resource-drop]message (i32), [resource-drop]payload (i32)
//   Imports of airssys:actor/messaging@0.2.0 (options flatten to
//   content-type ptr, len, headers ptr, len):
//       send (target ptr, len, payload, ct ptr, len, headers ptr, len, ret)
//       publish (the same with the topic)       ret: result<_, send-error>,
//                                               u8 tag @0, u8 error @1
//       request (..., headers ptr, len, timeout-ms i32, ret)
//                                               ret: result<u64, send-error>,
//                                               u8 tag @0, u64 or u8 @8
//       cancel-request (i64) -> i32 (bool)
//       self-id (ret)                           ret: string, ptr @0 len @4
//   wasi:logging log (level, ctx ptr, len, msg ptr, len) as in 0.1.0.
//   Exports of airssys:actor/actor@0.2.0:
//       init (config ptr, len) -> ret           result<_, string>: tag @0,
//                                               string @4/@8
//       handle-message (message: i32) -> ret    result<option<reply>,
//           string>, 40 bytes: tag @0; ok: option tag @4, reply @8:
//           body tag @8 (0 text, 1 bytes, 2 payload), body string @12/@16
//           or payload handle @12, content-type @20/@24, status u16 @28,
//           headers @32/@36; err: string @4/@8
//       handle-reply (correlation-id i64, tag i32, a i32, b i32): ok: a is
//           the message handle; err: (a, b) is the string
//       health () -> i32, shutdown ()
//   Post-return functions exist for init and handle-message only.
//
// Memory: as in 0.1.0, every string and list the host passes in, or an
// import returns, is scratch memory, reset when the export call returns
// (in cabi_post_* for init and handle-message). Handles are the host's:
// the glue drops the message it was handed unless the behaviour kept it.
#include "actor_glue2.h"

#define ACTOR_IFACE "airssys:actor/actor@0.2.0#"
#define EXPORT(name) __attribute__((export_name(ACTOR_IFACE name)))
#define POST_RETURN(name) __attribute__((export_name("cabi_post_" ACTOR_IFACE name)))
#define TYPES(name) __attribute__((import_module("airssys:actor/types@0.2.0"), import_name(name)))
#define MESSAGING(name)                                                                            \
    __attribute__((import_module("airssys:actor/messaging@0.2.0"), import_name(name)))
#define LOGGING(name)                                                                              \
    __attribute__((import_module("wasi:logging/logging@0.1.0-draft"), import_name(name)))
// Keeps a host-function wrapper (and so its import) in every component,
// used or not, so that each one imports the whole interfaces of the world.
#define KEEP __attribute__((used))

// --- freestanding libc bits the compiler may call (bulk memory ops) ---------

void *memcpy(void *dst, const void *src, size_t n) {
    __builtin_memcpy(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    __builtin_memmove(dst, src, n);
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    __builtin_memset(dst, c, n);
    return dst;
}

// --- allocator ---------------------------------------------------------------
//
// Two layers over one heap that only grows:
//
// Blocks: carved from the end of the heap and never given back to it; a
// freed block goes to the free list of its size class and is reused for the
// next request of that class. Classes are 16, 24, 32, 48, 64, 96, ... bytes
// (two per power of two) including an 8-byte header, so at most a third of
// a block is wasted, and a steady load reuses the same blocks (see
// block_alloc for borrowing from larger classes). Kept memory (actor_malloc)
// is a block.
//
// Scratch: a bump arena in 4 KiB blocks ("chunks"). The first chunk stays
// for the life of the instance; when the current chunk is full, bumping goes
// on in a new one. A request over 1 KiB gets a block of its own instead. At
// the end of every export call the arena is reset: the extra chunks and big
// blocks go back to their free lists and bumping starts again at the start
// of the first chunk. So a call that only handles small values (the echo
// path with small payloads) never touches a free list at all.

typedef struct blk {
    uint32_t size;    // whole block, header included
    struct blk *next; // in a free list, or the next extra scratch chunk
} blk;
_Static_assert(sizeof(blk) == 8, "8-byte block header");

#define PAGE 65536u
#define MAX_ALLOC 0x7ffffff0u
#define CHUNK 4096u
#define SCRATCH_BIG 1024u // larger scratch requests get a block of their own

extern unsigned char __heap_base[];

static blk *free_lists[64];
static uintptr_t heap_top;
static uint64_t heap_end;

static unsigned size_class(uint32_t size) {
    unsigned b = 31u - (unsigned)__builtin_clz(size);
    return (size & (size - 1)) == 0 ? 2 * b - 1 : 2 * b;
}

static uint32_t block_size(size_t n) {
    if (n > MAX_ALLOC)
        __builtin_trap();
    uint32_t need = (uint32_t)n + sizeof(blk);
    if (need <= 16)
        return 16;
    unsigned b = 31u - (unsigned)__builtin_clz(need - 1); // 2^b < need <= 2^(b+1)
    uint32_t mid = 3u << (b - 1);
    return need <= mid ? mid : (uint32_t)1 << (b + 1);
}

static blk *carve(uint32_t size) {
    if (heap_top == 0) {
        heap_top = ((uintptr_t)__heap_base + 7) & ~(uintptr_t)7;
        heap_end = (uint64_t)__builtin_wasm_memory_size(0) * PAGE;
    }
    uint64_t avail = heap_end - heap_top;
    if (avail < size) {
        uint64_t pages = (size - avail + PAGE - 1) / PAGE;
        if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1)
            __builtin_trap(); // out of memory (the host's limit)
        heap_end += pages * PAGE;
    }
    blk *b = (blk *)heap_top;
    heap_top += size;
    b->size = size;
    return b;
}

// A request takes a free block of its class or, failing that, of one of the
// next BORROW classes (up to about 3 times its size) before carving a new
// one. A borrowed block keeps its size and goes back to its own class when
// freed, so blocks are never split and nothing fragments; borrowing only
// lets blocks of a size no longer in demand serve smaller requests.
#define BORROW 4

static uint64_t free_mask; // bit c set when free_lists[c] is not empty

static blk *block_alloc(size_t n) {
    uint32_t size = block_size(n);
    unsigned c = size_class(size);
    uint64_t near = (free_mask >> c) & ((1u << (BORROW + 1)) - 1);
    if (near == 0)
        return carve(size);
    c += (unsigned)__builtin_ctzll(near);
    blk *b = free_lists[c];
    free_lists[c] = b->next;
    if (b->next == 0)
        free_mask &= ~((uint64_t)1 << c);
    return b;
}

static void block_free(blk *b) {
    unsigned c = size_class(b->size);
    b->next = free_lists[c];
    free_lists[c] = b;
    free_mask |= (uint64_t)1 << c;
}

void *actor_malloc(size_t n) { return block_alloc(n) + 1; }

void actor_free(void *p) {
    if (p != 0)
        block_free((blk *)p - 1);
}

actor_bytes actor_keep(actor_bytes s) {
    uint8_t *p = actor_malloc(s.len);
    memcpy(p, s.ptr, s.len);
    return (actor_bytes){p, s.len};
}

static blk *scratch_first;  // the permanent chunk
static blk *scratch_extra;  // further chunks of this call, newest first
static uint8_t *scratch_at; // next free byte of the current chunk
static uint8_t *scratch_end;
static uint8_t *scratch_last; // the latest small allocation (may grow in place)
static uint8_t *scratch_big;  // the latest big allocation (may grow in place)

static size_t align8(size_t n) {
    if (n > MAX_ALLOC)
        __builtin_trap();
    return (n + 7) & ~(size_t)7;
}

static void scratch_use(blk *c) {
    scratch_at = (uint8_t *)(c + 1);
    scratch_end = (uint8_t *)c + c->size;
}

void *actor_scratch(size_t n) {
    n = align8(n);
    if (n > SCRATCH_BIG) {
        blk *c = block_alloc(n);
        c->next = scratch_extra;
        scratch_extra = c;
        scratch_big = (uint8_t *)(c + 1);
        return scratch_big;
    }
    if (scratch_first == 0) {
        scratch_first = block_alloc(CHUNK - sizeof(blk));
        scratch_use(scratch_first);
    }
    if ((size_t)(scratch_end - scratch_at) < n) {
        blk *c = block_alloc(CHUNK - sizeof(blk));
        c->next = scratch_extra;
        scratch_extra = c;
        scratch_use(c);
    }
    scratch_last = scratch_at;
    scratch_at += n;
    return scratch_last;
}

// Resizes a scratch allocation: in place when it is the latest small one
// and its chunk has room, or the latest big one and its block has room;
// else by copying.
static void *scratch_resize(void *old, size_t old_size, size_t new_size) {
    if (old == scratch_last && (size_t)(scratch_end - (uint8_t *)old) >= align8(new_size)) {
        scratch_at = (uint8_t *)old + align8(new_size);
        return old;
    }
    if (old == scratch_big && new_size <= ((blk *)old - 1)->size - sizeof(blk))
        return old;
    if (new_size <= old_size)
        return old;
    void *p = actor_scratch(new_size);
    memcpy(p, old, old_size);
    return p;
}

static void scratch_reset(void) {
    blk *c = scratch_extra;
    scratch_extra = 0;
    while (c != 0) {
        blk *next = c->next;
        block_free(c);
        c = next;
    }
    if (scratch_first != 0)
        scratch_use(scratch_first);
    scratch_last = scratch_big = 0;
}

// The host allocates arguments (and import results) here, as scratch.
// Alignment is at most 8 in this world, which every allocation has.
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                                 size_t align, size_t new_size) {
    (void)align;
    if (old != 0)
        return scratch_resize(old, old_size, new_size);
    return actor_scratch(new_size);
}

// --- default hooks -------------------------------------------------------------

__attribute__((weak)) bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    (void)config;
    (void)n;
    (void)err;
    return true;
}

__attribute__((weak)) void actor_on_reply(uint64_t correlation_id, const actor_message *reply,
                                          actor_bytes reason) {
    (void)correlation_id;
    (void)reply;
    (void)reason;
}

__attribute__((weak)) int actor_on_health(void) { return ACTOR_HEALTHY; }

__attribute__((weak)) void actor_on_shutdown(void) {}

__attribute__((weak)) bool actor_lazy_payload(void) { return false; }
__attribute__((weak)) bool actor_bare_message(void) { return false; }

// --- imports ---------------------------------------------------------------------

TYPES("[method]message.sender") extern void import_msg_sender(actor_handle m, uint8_t *ret);
TYPES("[method]message.metadata") extern void import_msg_metadata(actor_handle m, uint8_t *ret);
TYPES("[method]message.header")
extern void import_msg_header(actor_handle m, const uint8_t *name, size_t name_len, uint8_t *ret);
TYPES("[method]message.headers") extern void import_msg_headers(actor_handle m, uint8_t *ret);
TYPES("[method]message.len") extern uint64_t import_msg_len(actor_handle m);
TYPES("[method]message.text") extern void import_msg_text(actor_handle m, uint8_t *ret);
TYPES("[method]message.bytes") extern void import_msg_bytes(actor_handle m, uint8_t *ret);
TYPES("[method]message.range")
extern void import_msg_range(actor_handle m, uint64_t offset, uint32_t len, uint8_t *ret);
TYPES("[method]message.payload") extern actor_handle import_msg_payload(actor_handle m);
TYPES("[resource-drop]message") extern void import_msg_drop(actor_handle m);
TYPES("[static]payload.from-text")
extern actor_handle import_payload_from_text(const uint8_t *ptr, size_t len);
TYPES("[static]payload.from-bytes")
extern actor_handle import_payload_from_bytes(const uint8_t *ptr, size_t len);
TYPES("[method]payload.len") extern uint64_t import_payload_len(actor_handle p);
TYPES("[method]payload.share") extern actor_handle import_payload_share(actor_handle p);
TYPES("[resource-drop]payload") extern void import_payload_drop(actor_handle p);

MESSAGING("send")
extern void import_send(const uint8_t *target, size_t target_len, actor_handle payload,
                        const uint8_t *ct, size_t ct_len, const actor_kv *headers, size_t n,
                        uint8_t *ret);
MESSAGING("request")
extern void import_request(const uint8_t *target, size_t target_len, actor_handle payload,
                           const uint8_t *ct, size_t ct_len, const actor_kv *headers, size_t n,
                           uint32_t timeout_ms, uint8_t *ret);
MESSAGING("publish")
extern void import_publish(const uint8_t *topic, size_t topic_len, actor_handle payload,
                           const uint8_t *ct, size_t ct_len, const actor_kv *headers, size_t n,
                           uint8_t *ret);
MESSAGING("cancel-request") extern uint32_t import_cancel_request(uint64_t correlation_id);
MESSAGING("self-id") extern void import_self_id(uint8_t *ret);
LOGGING("log")
extern void import_log(uint32_t level, const uint8_t *ctx, size_t ctx_len, const uint8_t *msg,
                       size_t msg_len);

// metadata, as message.metadata writes it.
typedef struct {
    uint64_t correlation_id;
    uint8_t has_reply_to;
    actor_bytes reply_to;
    uint64_t timestamp_ms;
    actor_bytes content_type;
    uint8_t has_topic;
    actor_bytes topic;
    uint16_t status;
} wit_metadata;
_Static_assert(sizeof(wit_metadata) == 56, "metadata is 56 bytes");
_Static_assert(__builtin_offsetof(wit_metadata, reply_to) == 12, "reply-to string at 12");
_Static_assert(__builtin_offsetof(wit_metadata, timestamp_ms) == 24, "timestamp-ms at 24");
_Static_assert(__builtin_offsetof(wit_metadata, content_type) == 32, "content-type at 32");
_Static_assert(__builtin_offsetof(wit_metadata, has_topic) == 40, "topic at 40");
_Static_assert(__builtin_offsetof(wit_metadata, topic) == 44, "topic string at 44");
_Static_assert(__builtin_offsetof(wit_metadata, status) == 52, "status at 52");

// Return area for imports: big enough and aligned for every result above.
// Its contents are read before the next import call (no import calls back
// into the guest except through cabi_realloc, which does not touch it).
static union {
    uint8_t b[56];
    uint32_t u32[14];
    uint64_t u64[7];
    wit_metadata meta;
} import_ret;

// The string or list at offset 0 (ptr, len) or 4 of import_ret.
static actor_bytes ret_bytes(unsigned word) {
    return (actor_bytes){(const uint8_t *)import_ret.u32[word], import_ret.u32[word + 1]};
}

// The text of the latest successful message.text(), so that a reply of
// exactly those bytes needs no UTF-8 scan; the bytes the glue read with
// bytes() after text() said not-utf8, which need none either. Both are
// scratch memory, forgotten when scratch is reset.
static actor_bytes known_text, known_not_utf8;

static void forget_known(void) { known_text = known_not_utf8 = (actor_bytes){0, 0}; }

static bool same(actor_bytes a, actor_bytes b) {
    return a.ptr != 0 && a.ptr == b.ptr && a.len == b.len;
}

KEEP actor_bytes actor_msg_sender(actor_handle m) {
    import_msg_sender(m, import_ret.b);
    return ret_bytes(0);
}

KEEP uint64_t actor_msg_len(actor_handle m) { return import_msg_len(m); }

KEEP int actor_msg_text(actor_handle m, actor_bytes *out) {
    import_msg_text(m, import_ret.b);
    if (import_ret.b[0] != 0)
        return import_ret.b[4];
    *out = known_text = ret_bytes(1);
    return ACTOR_READ_OK;
}

KEEP actor_bytes actor_msg_bytes(actor_handle m) {
    import_msg_bytes(m, import_ret.b);
    return ret_bytes(0);
}

KEEP int actor_msg_range(actor_handle m, uint64_t offset, uint32_t len, actor_bytes *out) {
    import_msg_range(m, offset, len, import_ret.b);
    if (import_ret.b[0] != 0)
        return import_ret.b[4];
    *out = ret_bytes(1);
    return ACTOR_READ_OK;
}

KEEP bool actor_msg_header(actor_handle m, actor_bytes name, actor_bytes *value) {
    import_msg_header(m, name.ptr, name.len, import_ret.b);
    if (import_ret.b[0] == 0)
        return false;
    *value = ret_bytes(1);
    return true;
}

KEEP size_t actor_msg_headers(actor_handle m, const actor_kv **out) {
    import_msg_headers(m, import_ret.b);
    *out = (const actor_kv *)import_ret.u32[0];
    return import_ret.u32[1];
}

KEEP actor_handle actor_msg_payload(actor_handle m) { return import_msg_payload(m); }

KEEP void actor_msg_drop(actor_handle m) { import_msg_drop(m); }

KEEP actor_handle actor_payload_text(actor_bytes t) {
    return import_payload_from_text(t.ptr, t.len);
}

KEEP actor_handle actor_payload_bytes(actor_bytes b) {
    return import_payload_from_bytes(b.ptr, b.len);
}

actor_handle actor_payload_of(actor_bytes b) {
    return actor_utf8_valid(b) ? actor_payload_text(b) : actor_payload_bytes(b);
}

KEEP uint64_t actor_payload_len(actor_handle p) { return import_payload_len(p); }

KEEP actor_handle actor_payload_share(actor_handle p) { return import_payload_share(p); }

KEEP void actor_payload_drop(actor_handle p) { import_payload_drop(p); }

KEEP int actor_send_payload(actor_bytes target, actor_handle payload, actor_bytes ct,
                            const actor_kv *headers, size_t n) {
    import_send(target.ptr, target.len, payload, ct.ptr, ct.len, headers, n, import_ret.b);
    return import_ret.b[0] == 0 ? ACTOR_SEND_OK : import_ret.b[1];
}

KEEP int actor_request_payload(actor_bytes target, actor_handle payload, actor_bytes ct,
                               const actor_kv *headers, size_t n, uint32_t timeout_ms,
                               uint64_t *correlation_id) {
    import_request(target.ptr, target.len, payload, ct.ptr, ct.len, headers, n, timeout_ms,
                   import_ret.b);
    if (import_ret.b[0] != 0)
        return import_ret.b[8];
    *correlation_id = import_ret.u64[1];
    return ACTOR_SEND_OK;
}

KEEP int actor_publish_payload(actor_bytes topic, actor_handle payload, actor_bytes ct,
                               const actor_kv *headers, size_t n) {
    import_publish(topic.ptr, topic.len, payload, ct.ptr, ct.len, headers, n, import_ret.b);
    return import_ret.b[0] == 0 ? ACTOR_SEND_OK : import_ret.b[1];
}

KEEP bool actor_cancel_request(uint64_t correlation_id) {
    return import_cancel_request(correlation_id) != 0;
}

// The 0.1.0 calls: a payload from the bytes, no headers.
int actor_send(actor_bytes target, actor_bytes payload, actor_bytes ct) {
    return actor_send_payload(target, actor_payload_of(payload), ct, 0, 0);
}

int actor_request(actor_bytes target, actor_bytes payload, actor_bytes ct, uint32_t timeout_ms,
                  uint64_t *correlation_id) {
    return actor_request_payload(target, actor_payload_of(payload), ct, 0, 0, timeout_ms,
                                 correlation_id);
}

int actor_publish(actor_bytes topic, actor_bytes payload, actor_bytes ct) {
    return actor_publish_payload(topic, actor_payload_of(payload), ct, 0, 0);
}

static actor_bytes self_id;
static bool self_id_known;

KEEP actor_bytes actor_self_id(void) {
    if (!self_id_known) {
        import_self_id(import_ret.b); // the string is scratch memory
        self_id = actor_keep(ret_bytes(0));
        self_id_known = true;
    }
    return self_id;
}

KEEP void actor_log(int level, actor_bytes ctx, actor_bytes msg) {
    import_log((uint32_t)level, ctx.ptr, ctx.len, msg.ptr, msg.len);
}

static const actor_bytes send_error_names[] = {
    ACTOR_LIT("unknown-target"), ACTOR_LIT("mailbox-full"), ACTOR_LIT("too-large"),
    ACTOR_LIT("denied"),         ACTOR_LIT("closed"),       ACTOR_LIT("too-many-requests"),
};
_Static_assert(sizeof send_error_names / sizeof send_error_names[0] == ACTOR_TOO_MANY_REQUESTS + 1,
               "one name per send-error");

static const actor_bytes level_names[] = {
    ACTOR_LIT("trace"), ACTOR_LIT("debug"), ACTOR_LIT("info"),
    ACTOR_LIT("warn"),  ACTOR_LIT("error"), ACTOR_LIT("critical"),
};

actor_bytes actor_send_error_name(int err) {
    if (err < 0 || err >= (int)(sizeof send_error_names / sizeof send_error_names[0]))
        return ACTOR_LIT("unknown");
    return send_error_names[err];
}

int actor_level_parse(actor_bytes name) {
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (actor_eq(name, level_names[i]))
            return i;
    return -1;
}

// --- UTF-8 ---------------------------------------------------------------------------

// Whether b is valid UTF-8 (no overlong forms, no surrogates, at most
// U+10FFFF): what the host's string lifting accepts. ASCII goes 8 bytes at
// a time.
bool actor_utf8_valid(actor_bytes b) {
    const uint8_t *p = b.ptr, *end = b.ptr + b.len;
    while (p < end) {
        if ((size_t)(end - p) >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                p += 8;
                continue;
            }
        }
        uint8_t c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF; // bounds of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            if (c == 0xE0)
                lo = 0xA0; // no overlong
            else if (c == 0xED)
                hi = 0x9F; // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            if (c == 0xF0)
                lo = 0x90; // no overlong
            else if (c == 0xF4)
                hi = 0x8F; // at most U+10FFFF
        } else {
            return false;
        }
        if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
            return false;
        for (size_t i = 2; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

// --- the message being handled -------------------------------------------------------

// What the glue passes to actor_on_message / actor_on_reply: the 0.1.0
// actor_message first (behaviours see a pointer to it), then what 0.2.0
// adds.
typedef struct {
    actor_message m;
    actor_handle handle;
    uint16_t status;
    bool kept;
} message2;

static message2 *message2_of(const actor_message *msg) {
    return (message2 *)((uintptr_t)msg - __builtin_offsetof(message2, m));
}

actor_handle actor_msg_handle(const actor_message *msg) { return message2_of(msg)->handle; }

uint16_t actor_msg_status(const actor_message *msg) { return message2_of(msg)->status; }

actor_handle actor_msg_keep(const actor_message *msg) {
    message2 *x = message2_of(msg);
    x->kept = true;
    return x->handle;
}

// Fills *x from message h: sender, metadata and, unless the behaviour is
// lazy, the payload (text, or bytes when it is not UTF-8); nothing at all
// for a bare behaviour.
static void read_message(message2 *x, actor_handle h) {
    *x = (message2){.handle = h};
    if (actor_bare_message())
        return;
    x->m.sender = actor_msg_sender(h);
    import_msg_metadata(h, import_ret.b);
    const wit_metadata *md = &import_ret.meta;
    x->m.correlation_id = md->correlation_id;
    x->m.has_reply_to = md->has_reply_to != 0;
    if (x->m.has_reply_to)
        x->m.reply_to = md->reply_to;
    x->m.timestamp_ms = md->timestamp_ms;
    x->m.content_type = md->content_type;
    x->m.has_topic = md->has_topic != 0;
    if (x->m.has_topic)
        x->m.topic = md->topic;
    x->status = md->status;
    if (actor_lazy_payload())
        return;
    if (actor_msg_text(h, &x->m.payload) != ACTOR_READ_OK)
        x->m.payload = known_not_utf8 = actor_msg_bytes(h);
}

// Drops the handle of *x unless the behaviour kept it.
static void release_message(const message2 *x) {
    if (!x->kept)
        actor_msg_drop(x->handle);
}

// --- exports ---------------------------------------------------------------------

// response, the record of reply's full case.
typedef struct {
    uint8_t body_tag; // 0 text, 1 bytes, 2 payload
    union {
        actor_bytes data;
        actor_handle payload;
    } body;
    actor_bytes content_type;
    uint16_t status;
    const actor_kv *headers;
    size_t n_headers;
} wit_response;
_Static_assert(sizeof(wit_response) == 32, "response is 32 bytes");
_Static_assert(__builtin_offsetof(wit_response, content_type) == 12, "content-type at 12");
_Static_assert(__builtin_offsetof(wit_response, status) == 20, "status at 20");
_Static_assert(__builtin_offsetof(wit_response, headers) == 24, "headers at 24");

// reply, as handle-message returns it: a body alone (text, bytes,
// payload) or full(response).
typedef struct {
    uint8_t tag; // 0 text, 1 bytes, 2 payload, 3 full
    union {
        actor_bytes data;
        actor_handle payload;
        wit_response full;
    } u;
} wit_reply;
_Static_assert(sizeof(wit_reply) == 36, "reply is 36 bytes");
_Static_assert(__builtin_offsetof(wit_reply, u) == 4, "reply payload at 4");

// Return area of init and handle-message.
static union {
    struct {
        uint8_t tag; // result: 0 ok, 1 err
        union {
            struct {
                uint8_t tag; // option: 0 none, 1 some
                wit_reply val;
            } opt;
            actor_bytes err;
        } u;
    } r;
    uint64_t align8;
} export_ret;
_Static_assert(sizeof(export_ret) >= 44, "result<option<reply>, string> is 44 bytes");
_Static_assert(__builtin_offsetof(__typeof__(export_ret.r), u) == 4, "result payload at 4");
_Static_assert(__builtin_offsetof(__typeof__(export_ret.r), u.opt.val) == 8, "reply at 8");

// actor_reply_full / actor_reply_payload return this kind, with data
// pointing to a reply_full in scratch memory.
#define ACTOR_REPLY_FULL (ACTOR_REPLY_ERR + 1)

typedef struct {
    actor_body kind;
    actor_bytes data;
    actor_handle payload;
    actor_bytes content_type;
    uint16_t status;
    const actor_kv *headers;
    size_t n_headers;
} reply_full;

static actor_reply full(reply_full r) {
    reply_full *p = actor_scratch(sizeof r);
    *p = r;
    return (actor_reply){(actor_reply_kind)ACTOR_REPLY_FULL, {(const uint8_t *)p, sizeof *p}};
}

actor_reply actor_reply_full(actor_body kind, actor_bytes data, actor_bytes content_type,
                             uint16_t status, const actor_kv *headers, size_t n) {
    return full((reply_full){kind, data, 0, content_type, status, headers, n});
}

actor_reply actor_reply_payload(actor_handle payload, actor_bytes content_type, uint16_t status,
                                const actor_kv *headers, size_t n) {
    return full(
        (reply_full){ACTOR_BODY_PAYLOAD, {0, 0}, payload, content_type, status, headers, n});
}

// The body tag (0 text, 1 bytes, 2 payload) of a body of this kind: text
// when data is (known to be) valid UTF-8.
static uint8_t body_tag(actor_body kind, actor_bytes data) {
    if (kind == ACTOR_BODY_PAYLOAD)
        return 2;
    if (kind == ACTOR_BODY_AUTO) {
        if (same(data, known_text))
            kind = ACTOR_BODY_TEXT;
        else if (same(data, known_not_utf8))
            kind = ACTOR_BODY_BYTES;
        else
            kind = actor_utf8_valid(data) ? ACTOR_BODY_TEXT : ACTOR_BODY_BYTES;
    }
    return kind == ACTOR_BODY_TEXT ? 0 : 1;
}

// Sets *w to a body alone, or to full(response) when the reply has any
// metadata of its own.
static void set_reply(wit_reply *w, actor_body kind, actor_bytes data, actor_handle payload,
                      actor_bytes content_type, uint16_t status, const actor_kv *headers, size_t n) {
    uint8_t tag = body_tag(kind, data);
    if (content_type.len == 0 && status == 0 && n == 0) {
        w->tag = tag;
        if (tag == 2)
            w->u.payload = payload;
        else
            w->u.data = data;
        return;
    }
    w->tag = 3;
    wit_response *f = &w->u.full;
    f->body_tag = tag;
    if (tag == 2)
        f->body.payload = payload;
    else
        f->body.data = data;
    f->content_type = content_type;
    f->status = status;
    f->headers = n ? headers : 0;
    f->n_headers = n;
}

// init: func(config: list<tuple<string, string>>) -> result<_, string>
EXPORT("init") void *actor_export_init(const actor_kv *config, size_t n) {
    actor_log(ACTOR_DEBUG, actor_self_id(), ACTOR_LIT("init"));
    actor_bytes err = ACTOR_LIT("init failed");
    if (actor_on_init(config, n, &err)) {
        export_ret.r.tag = 0;
    } else {
        export_ret.r.tag = 1;
        export_ret.r.u.err = err;
    }
    return &export_ret;
}

POST_RETURN("init") void actor_post_init(void *ret) {
    (void)ret;
    scratch_reset();
}

// handle-message: func(msg: message) -> result<option<reply>, string>
EXPORT("handle-message") void *actor_export_handle_message(actor_handle msg) {
    forget_known();
    message2 x;
    read_message(&x, msg);
    actor_reply r = actor_on_message(&x.m);
    release_message(&x);
    wit_reply *w = &export_ret.r.u.opt.val;
    switch ((int)r.kind) {
    case ACTOR_REPLY_NONE:
        export_ret.r.tag = 0;
        export_ret.r.u.opt.tag = 0;
        break;
    case ACTOR_REPLY_SOME:
        export_ret.r.tag = 0;
        export_ret.r.u.opt.tag = 1;
        set_reply(w, ACTOR_BODY_AUTO, r.data, 0, (actor_bytes){0, 0}, 0, 0, 0);
        break;
    case ACTOR_REPLY_FULL: {
        const reply_full *f = (const reply_full *)r.data.ptr;
        export_ret.r.tag = 0;
        export_ret.r.u.opt.tag = 1;
        set_reply(w, f->kind, f->data, f->payload, f->content_type, f->status, f->headers, f->n_headers);
        break;
    }
    default:
        export_ret.r.tag = 1;
        export_ret.r.u.err = r.data;
        break;
    }
    return &export_ret;
}

POST_RETURN("handle-message") void actor_post_handle_message(void *ret) {
    (void)ret;
    forget_known();
    scratch_reset();
}

// handle-reply: func(correlation-id: u64, reply: result<message, string>)
EXPORT("handle-reply")
void actor_export_handle_reply(uint64_t correlation_id, uint32_t is_err, uint32_t a, uint32_t b) {
    forget_known();
    if (is_err) {
        actor_on_reply(correlation_id, 0, (actor_bytes){(const uint8_t *)a, b});
    } else {
        message2 x;
        read_message(&x, a);
        actor_on_reply(correlation_id, &x.m, (actor_bytes){0, 0});
        release_message(&x);
    }
    forget_known();
    scratch_reset();
}

// health: func() -> health-status
EXPORT("health") uint32_t actor_export_health(void) {
    int h = actor_on_health();
    scratch_reset();
    return (uint32_t)h;
}

// shutdown: func()
EXPORT("shutdown") void actor_export_shutdown(void) {
    actor_on_shutdown();
    actor_log(ACTOR_INFO, actor_self_id(), ACTOR_LIT("shutdown"));
    scratch_reset();
}

// --- byte strings ----------------------------------------------------------------

bool actor_eq(actor_bytes a, actor_bytes b) {
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (a.ptr[i] != b.ptr[i])
            return false;
    return true;
}

bool actor_has_prefix(actor_bytes s, actor_bytes prefix) {
    return s.len >= prefix.len && actor_eq((actor_bytes){s.ptr, prefix.len}, prefix);
}

bool actor_cut(actor_bytes *rest, uint8_t sep, actor_bytes *before) {
    for (size_t i = 0; i < rest->len; i++) {
        if (rest->ptr[i] == sep) {
            *before = (actor_bytes){rest->ptr, i};
            *rest = (actor_bytes){rest->ptr + i + 1, rest->len - i - 1};
            return true;
        }
    }
    return false;
}

bool actor_parse_u64(actor_bytes s, uint64_t *out) {
    if (s.len == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c < '0' || c > '9')
            return false;
        uint64_t d = c - '0';
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool actor_config(const actor_kv *config, size_t n, actor_bytes key, actor_bytes *value) {
    for (size_t i = 0; i < n; i++) {
        if (actor_eq(config[i].key, key)) {
            *value = config[i].value;
            return true;
        }
    }
    return false;
}

void actor_buf_reserve(actor_buf *b, size_t n) {
    if (b->cap - b->len >= n)
        return;
    size_t cap = b->cap * 2;
    if (cap < b->len + n)
        cap = b->len + n;
    if (cap < 32)
        cap = 32;
    b->ptr = b->ptr == 0 ? actor_scratch(cap) : scratch_resize(b->ptr, b->len, cap);
    b->cap = cap;
}

void actor_buf_put(actor_buf *b, actor_bytes s) {
    actor_buf_reserve(b, s.len);
    if (s.len)
        memcpy(b->ptr + b->len, s.ptr, s.len);
    b->len += s.len;
}

void actor_buf_u64(actor_buf *b, uint64_t v) {
    uint8_t digits[20];
    size_t i = sizeof digits;
    do {
        digits[--i] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    actor_buf_put(b, (actor_bytes){digits + i, sizeof digits - i});
}

actor_bytes actor_u64_text(uint64_t v) {
    actor_buf b = {0};
    actor_buf_u64(&b, v);
    return actor_buf_bytes(&b);
}
