// actor_glue.c: hand-written canonical-ABI glue for the world
// airssys:actor/component@0.1.0. See actor_glue.h for the C API.
//
// Canonical ABI (wasm32, UTF-8), as used here:
//   string, list<u8>      -> (ptr: i32, len: i32)
//   option<string>        -> flat: (tag: i32, ptr: i32, len: i32)
//   message (record)      -> 14 flat values:
//       sender(ptr, len) payload(ptr, len) correlation-id(i64)
//       reply-to(tag, ptr, len) timestamp-ms(i64) content-type(ptr, len)
//       topic(tag, ptr, len)
//   handle-message returns result<option<list<u8>>, string> through a
//       pointer to a 16-byte area: u8 tag @0; ok: option tag @4, list @8/@12;
//       err: string @4/@8.
//   handle-reply(u64, result<message, string>) -> 16 flat values:
//       correlation-id(i64), result tag(i32), then the 14 values of message
//       (err: the string's ptr, len are the first two of them).
//   init(list<tuple<string, string>>) -> (ptr, len); elements are 16 bytes
//       (key ptr, key len, value ptr, value len); returns result<_, string>
//       through a pointer: u8 tag @0, string @4/@8.
//   Imports whose results take more than one core value get a pointer to a
//       return area as their last argument:
//       result<_, send-error>:   u8 tag @0, u8 send-error @1
//       result<u64, send-error>: u8 tag @0, u64 or u8 send-error @8
//       string (self-id):        ptr @0, len @4 (allocated by the host
//                                through cabi_realloc)
//   enums (level, health, send-error) are their case index.
//
// Memory: lists and strings the host passes in (and the strings that
// imports return) are allocated through cabi_realloc as scratch memory,
// freed with everything else allocated during the call when the export
// returns: in cabi_post_* for init and handle-message (the host reads their
// results first), at the end of the function for the others.
#include "actor_glue.h"

#define ACTOR_IFACE "airssys:actor/actor@0.1.0#"
#define EXPORT(name) __attribute__((export_name(ACTOR_IFACE name)))
#define POST_RETURN(name) __attribute__((export_name("cabi_post_" ACTOR_IFACE name)))
#define MESSAGING(name)                                                                            \
    __attribute__((import_module("airssys:actor/messaging@0.1.0"), import_name(name)))
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

// --- imports ---------------------------------------------------------------------

MESSAGING("send")
extern void import_send(const uint8_t *target, size_t target_len, const uint8_t *payload,
                        size_t payload_len, const uint8_t *ct, size_t ct_len, uint8_t *ret);
MESSAGING("request")
extern void import_request(const uint8_t *target, size_t target_len, const uint8_t *payload,
                           size_t payload_len, const uint8_t *ct, size_t ct_len,
                           uint32_t timeout_ms, uint8_t *ret);
MESSAGING("publish")
extern void import_publish(const uint8_t *topic, size_t topic_len, const uint8_t *payload,
                           size_t payload_len, const uint8_t *ct, size_t ct_len, uint8_t *ret);
MESSAGING("self-id") extern void import_self_id(uint8_t *ret);
LOGGING("log")
extern void import_log(uint32_t level, const uint8_t *ctx, size_t ctx_len, const uint8_t *msg,
                       size_t msg_len);

// Return area for imports: big enough and aligned for result<u64, send-error>.
static union {
    uint8_t b[16];
    uint64_t u64[2];
    uint32_t u32[4];
} import_ret;

KEEP int actor_send(actor_bytes target, actor_bytes payload, actor_bytes ct) {
    import_send(target.ptr, target.len, payload.ptr, payload.len, ct.ptr, ct.len, import_ret.b);
    return import_ret.b[0] == 0 ? ACTOR_SEND_OK : import_ret.b[1];
}

KEEP int actor_request(actor_bytes target, actor_bytes payload, actor_bytes ct,
                       uint32_t timeout_ms, uint64_t *correlation_id) {
    import_request(target.ptr, target.len, payload.ptr, payload.len, ct.ptr, ct.len, timeout_ms,
                   import_ret.b);
    if (import_ret.b[0] != 0)
        return import_ret.b[8];
    *correlation_id = import_ret.u64[1];
    return ACTOR_SEND_OK;
}

KEEP int actor_publish(actor_bytes topic, actor_bytes payload, actor_bytes ct) {
    import_publish(topic.ptr, topic.len, payload.ptr, payload.len, ct.ptr, ct.len, import_ret.b);
    return import_ret.b[0] == 0 ? ACTOR_SEND_OK : import_ret.b[1];
}

static actor_bytes self_id;
static bool self_id_known;

KEEP actor_bytes actor_self_id(void) {
    if (!self_id_known) {
        import_self_id(import_ret.b); // the string is scratch memory
        self_id = actor_keep((actor_bytes){(const uint8_t *)import_ret.u32[0], import_ret.u32[1]});
        self_id_known = true;
    }
    return self_id;
}

KEEP void actor_log(int level, actor_bytes ctx, actor_bytes msg) {
    import_log((uint32_t)level, ctx.ptr, ctx.len, msg.ptr, msg.len);
}

static const actor_bytes send_error_names[] = {
    ACTOR_LIT("unknown-target"), ACTOR_LIT("mailbox-full"), ACTOR_LIT("too-large"),
    ACTOR_LIT("denied"),         ACTOR_LIT("closed"),
};

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

// --- exports ---------------------------------------------------------------------

// Return area of init and handle-message.
static union {
    struct {
        uint8_t tag; // result: 0 ok, 1 err
        union {
            struct {
                uint8_t tag; // option: 0 none, 1 some
                actor_bytes val;
            } opt;
            actor_bytes err;
        } u;
    } r;
    uint64_t align8;
} export_ret;
_Static_assert(sizeof(export_ret) == 16, "result<option<list<u8>>, string> is 16 bytes");
_Static_assert(__builtin_offsetof(__typeof__(export_ret.r), u) == 4, "result payload at 4");

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

// handle-message: func(msg: message) -> result<option<list<u8>>, string>
EXPORT("handle-message")
void *actor_export_handle_message(const uint8_t *sender, size_t sender_len,
                                  const uint8_t *payload, size_t payload_len,
                                  uint64_t correlation_id, uint32_t has_reply_to,
                                  const uint8_t *reply_to, size_t reply_to_len,
                                  uint64_t timestamp_ms, const uint8_t *ct, size_t ct_len,
                                  uint32_t has_topic, const uint8_t *topic, size_t topic_len) {
    actor_message m = {
        .sender = {sender, sender_len},
        .payload = {payload, payload_len},
        .correlation_id = correlation_id,
        .has_reply_to = has_reply_to != 0,
        .reply_to = {reply_to, has_reply_to ? reply_to_len : 0},
        .timestamp_ms = timestamp_ms,
        .content_type = {ct, ct_len},
        .has_topic = has_topic != 0,
        .topic = {topic, has_topic ? topic_len : 0},
    };
    actor_reply r = actor_on_message(&m);
    switch (r.kind) {
    case ACTOR_REPLY_NONE:
        export_ret.r.tag = 0;
        export_ret.r.u.opt.tag = 0;
        break;
    case ACTOR_REPLY_SOME:
        export_ret.r.tag = 0;
        export_ret.r.u.opt.tag = 1;
        export_ret.r.u.opt.val = r.data;
        break;
    default:
        export_ret.r.tag = 1;
        export_ret.r.u.err = r.data;
        break;
    }
    return &export_ret;
}

POST_RETURN("handle-message") void actor_post_handle_message(void *ret) {
    (void)ret;
    scratch_reset();
}

// handle-reply: func(correlation-id: u64, reply: result<message, string>)
EXPORT("handle-reply")
void actor_export_handle_reply(uint64_t correlation_id, uint32_t is_err, uint32_t v0,
                               uint32_t v1, uint32_t v2, uint32_t v3, uint64_t v4, uint32_t v5,
                               uint32_t v6, uint32_t v7, uint64_t v8, uint32_t v9, uint32_t v10,
                               uint32_t v11, uint32_t v12, uint32_t v13) {
    if (is_err) {
        actor_on_reply(correlation_id, 0, (actor_bytes){(const uint8_t *)v0, v1});
    } else {
        actor_message m = {
            .sender = {(const uint8_t *)v0, v1},
            .payload = {(const uint8_t *)v2, v3},
            .correlation_id = v4,
            .has_reply_to = v5 != 0,
            .reply_to = {(const uint8_t *)v6, v5 ? v7 : 0},
            .timestamp_ms = v8,
            .content_type = {(const uint8_t *)v9, v10},
            .has_topic = v11 != 0,
            .topic = {(const uint8_t *)v12, v11 ? v13 : 0},
        };
        actor_on_reply(correlation_id, &m, (actor_bytes){0, 0});
    }
    scratch_reset();
}

// health: func() -> health
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
