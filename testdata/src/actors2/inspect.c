// actor2_inspect.wasm: reads its payload every way the message resource
// allows and replies with what it saw, for tests of the host's message
// methods. It is lazy (the glue reads nothing).
//
// Config: "chunk" (decimal, 1 to 4294967295, default 4096): the length of
// each range() read; init fails with err("invalid chunk: <value>") otherwise.
//
//   every message -> some("<len> <T> <B> <R> <O>") with status 200 and the
//       headers x-len = "<len>", x-trace = header("traceparent") or "none",
//       x-header = header("X-Test") or "none", where
//     <len> is len(), decimal;
//     <T> is the FNV-1a 64 hash of text() (16 lowercase hex digits), or
//         "not-utf8";
//     <B> is the hash of bytes();
//     <R> is the hash of the payload read with range() from offset 0 in
//         chunks of "chunk" bytes (the last one shorter), or "err" if a
//         range() failed;
//     <O> is "oor" when range(len, 1) and range(0, len + 1) both return
//         err(out-of-range), else "bad".
#include "actor_glue2.h"

static uint32_t chunk = 4096;

bool actor_lazy_payload(void) { return true; }

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    actor_bytes v;
    uint64_t c;
    if (actor_config(config, n, ACTOR_LIT("chunk"), &v)) {
        if (!actor_parse_u64(v, &c) || c == 0 || c > UINT32_MAX) {
            actor_buf b = {0};
            actor_buf_put(&b, ACTOR_LIT("invalid chunk: "));
            actor_buf_put(&b, v);
            *err = actor_buf_bytes(&b);
            return false;
        }
        chunk = (uint32_t)c;
    }
    return true;
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, actor_bytes b) {
    for (size_t i = 0; i < b.len; i++)
        h = (h ^ b.ptr[i]) * FNV_PRIME;
    return h;
}

static void put_hex(actor_buf *b, uint64_t h) {
    actor_buf_reserve(b, 16);
    for (int i = 15; i >= 0; i--)
        b->ptr[b->len++] = (uint8_t)"0123456789abcdef"[(h >> (4 * i)) & 15];
}

// The value of header name, or "none".
static actor_bytes header_or_none(actor_handle m, actor_bytes name) {
    actor_bytes v;
    return actor_msg_header(m, name, &v) ? v : ACTOR_LIT("none");
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_handle m = actor_msg_handle(msg);
    uint64_t len = actor_msg_len(m);
    actor_buf out = {0};
    actor_buf_u64(&out, len);
    actor_buf_put(&out, ACTOR_LIT(" "));

    actor_bytes t;
    if (actor_msg_text(m, &t) == ACTOR_READ_OK)
        put_hex(&out, fnv(FNV_OFFSET, t));
    else
        actor_buf_put(&out, ACTOR_LIT("not-utf8"));
    actor_buf_put(&out, ACTOR_LIT(" "));

    put_hex(&out, fnv(FNV_OFFSET, actor_msg_bytes(m)));
    actor_buf_put(&out, ACTOR_LIT(" "));

    uint64_t h = FNV_OFFSET;
    bool ok = true;
    for (uint64_t off = 0; ok && off < len; off += chunk) {
        uint32_t n = len - off < chunk ? (uint32_t)(len - off) : chunk;
        actor_bytes part;
        ok = actor_msg_range(m, off, n, &part) == ACTOR_READ_OK && part.len == n;
        if (ok)
            h = fnv(h, part);
    }
    if (ok)
        put_hex(&out, h);
    else
        actor_buf_put(&out, ACTOR_LIT("err"));
    actor_buf_put(&out, ACTOR_LIT(" "));

    actor_bytes part;
    bool oor = actor_msg_range(m, len, 1, &part) == ACTOR_OUT_OF_RANGE &&
               actor_msg_range(m, 0, (uint32_t)(len + 1), &part) == ACTOR_OUT_OF_RANGE;
    actor_buf_put(&out, oor ? ACTOR_LIT("oor") : ACTOR_LIT("bad"));

    actor_kv *headers = actor_scratch(3 * sizeof *headers);
    headers[0] = (actor_kv){ACTOR_LIT("x-len"), actor_u64_text(len)};
    headers[1] = (actor_kv){ACTOR_LIT("x-trace"), header_or_none(m, ACTOR_LIT("traceparent"))};
    headers[2] = (actor_kv){ACTOR_LIT("x-header"), header_or_none(m, ACTOR_LIT("X-Test"))};
    return actor_reply_full(ACTOR_BODY_TEXT, actor_buf_bytes(&out), ACTOR_LIT(""), 200, headers,
                            3);
}
