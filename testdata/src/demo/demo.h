// demo.h: helpers shared by the demo actors (counter.c, audit.c): JSON
// text, decimal integers, the HTTP-style replies and the key-value errors.
// Everything is static: each actor compiles its own copy of what it uses.
//
// Built on ../actors2/actor_glue2.h and ../actorskv/kv.h (the glue of the
// key-value actor), linked with actor_glue2.c and kv_glue.c.
#ifndef DEMO_H
#define DEMO_H

#include "../actorskv/kv.h"

// The bucket both actors keep their data in.
#define DEMO_BUCKET ACTOR_LIT("default")

// Appends s as a JSON string, quotes included: '"', '\' and the control
// characters (below 0x20, and DEL) are escaped; other bytes are copied
// as they are (the callers pass valid UTF-8).
static inline void json_string(actor_buf *b, actor_bytes s) {
    static const char hex[] = "0123456789abcdef";
    actor_buf_reserve(b, s.len + 2);
    actor_buf_put(b, ACTOR_LIT("\""));
    size_t run = 0; // start of the bytes not yet copied
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        actor_buf_put(b, (actor_bytes){s.ptr + run, i - run});
        run = i + 1;
        switch (c) {
        case '"':
            actor_buf_put(b, ACTOR_LIT("\\\""));
            break;
        case '\\':
            actor_buf_put(b, ACTOR_LIT("\\\\"));
            break;
        case '\n':
            actor_buf_put(b, ACTOR_LIT("\\n"));
            break;
        case '\r':
            actor_buf_put(b, ACTOR_LIT("\\r"));
            break;
        case '\t':
            actor_buf_put(b, ACTOR_LIT("\\t"));
            break;
        case '\b':
            actor_buf_put(b, ACTOR_LIT("\\b"));
            break;
        case '\f':
            actor_buf_put(b, ACTOR_LIT("\\f"));
            break;
        default: {
            uint8_t u[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            actor_buf_put(b, (actor_bytes){u, sizeof u});
        }
        }
    }
    actor_buf_put(b, (actor_bytes){s.ptr + run, s.len - run});
    actor_buf_put(b, ACTOR_LIT("\""));
}

// Appends v in decimal, with a '-' when negative.
static inline void put_s64(actor_buf *b, int64_t v) {
    if (v < 0) {
        actor_buf_put(b, ACTOR_LIT("-"));
        actor_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        actor_buf_u64(b, (uint64_t)v);
    }
}

// Parses a stored counter: decimal with an optional sign, as the host's
// increment writes and reads it (Go's strconv.ParseInt, base 10).
static inline bool parse_s64(actor_bytes s, int64_t *out) {
    bool neg = false;
    if (s.len > 0 && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        neg = s.ptr[0] == '-';
        s = (actor_bytes){s.ptr + 1, s.len - 1};
    }
    uint64_t v;
    if (!actor_parse_u64(s, &v) || v > (neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX))
        return false;
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    return true;
}

// A full reply: the body as text, content type application/json, the
// status, and headers (n of them, may be 0).
static inline actor_reply json_reply(uint16_t status, actor_bytes body, const actor_kv *headers,
                                     size_t n) {
    return actor_reply_full(ACTOR_BODY_TEXT, body, ACTOR_LIT("application/json"), status, headers,
                            n);
}

// The name of a key-value error's case: "no-such-store", "access-denied"
// or "other" (without other's text, which goes to the log).
static inline actor_bytes kv_error_kind(const kv_error *e) {
    switch (e->code) {
    case KV_NO_SUCH_STORE:
        return ACTOR_LIT("no-such-store");
    case KV_ACCESS_DENIED:
        return ACTOR_LIT("access-denied");
    default:
        return ACTOR_LIT("other");
    }
}

// Logs a storage error at warn level ("<what>: <error text>") and returns
// the reply {"error":"storage: <kind>"}, status 500.
static inline actor_reply storage_error(actor_bytes what, const kv_error *e) {
    actor_buf line = {0};
    actor_buf_put(&line, what);
    actor_buf_put(&line, ACTOR_LIT(": "));
    actor_buf_put(&line, kv_error_text(e));
    actor_log(ACTOR_WARN, actor_self_id(), actor_buf_bytes(&line));
    actor_buf msg = {0};
    actor_buf_put(&msg, ACTOR_LIT("storage: "));
    actor_buf_put(&msg, kv_error_kind(e));
    actor_buf body = {0};
    actor_buf_put(&body, ACTOR_LIT("{\"error\":"));
    json_string(&body, actor_buf_bytes(&msg));
    actor_buf_put(&body, ACTOR_LIT("}"));
    return json_reply(500, actor_buf_bytes(&body), 0, 0);
}

// 405, with an allow header.
static inline actor_reply method_not_allowed(actor_bytes allow) {
    actor_kv *h = actor_scratch(sizeof *h);
    *h = (actor_kv){ACTOR_LIT("allow"), allow};
    return json_reply(405, ACTOR_LIT("{\"error\":\"method not allowed\"}"), h, 1);
}

#endif
