// demo_audit.wasm: the audit actor of the host service's example app. The
// deployer subscribes it to "counters.changed" (the counter's events); it
// counts them and keeps the last one, in wasi:keyvalue bucket "default":
// key "events" (atomics increment) and key "last" (the event's payload).
// Lazy: the glue reads sender and metadata (for the topic), this file the
// payload and headers.
//
//   a published message (metadata.topic set, whatever the topic) ->
//        increment "events" by 1, set "last" to the payload (text(), or
//        bytes() when it is not UTF-8); ok(none). A storage error is
//        logged at warn level and the message is dropped (ok(none)).
//   http-method GET, or a plain message whose text is "stats" -> status
//        200, content type application/json,
//        {"events":E,"last":L}: E the count (0 when absent), L the last
//        event as it was published when that is a JSON value (RFC 8259,
//        nested at most 32 deep), as a JSON string when it is other
//        UTF-8 text, null when there is none or it is not UTF-8.
//        A storage error: status 500, {"error":"storage: <kind>"}.
//   any other http-method -> status 405, {"error":"method not allowed"},
//        header allow: GET.
//   anything else -> ok(none).
//
// init logs "audit ready" (info); health is healthy.
#include "demo.h"

#define EVENTS ACTOR_LIT("events")
#define LAST ACTOR_LIT("last")
#define MAX_DEPTH 32

bool actor_lazy_payload(void) { return true; }

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    (void)config;
    (void)n;
    (void)err;
    actor_log(ACTOR_INFO, actor_self_id(), ACTOR_LIT("audit ready"));
    return true;
}

// --- a JSON validator (RFC 8259; the text is known to be valid UTF-8) ------------

typedef struct {
    const uint8_t *p, *end;
} cursor;

static void ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool lit(cursor *c, const char *s) {
    for (; *s; s++, c->p++)
        if (c->p >= c->end || *c->p != (uint8_t)*s)
            return false;
    return true;
}

static bool is_digit(cursor *c) { return c->p < c->end && *c->p >= '0' && *c->p <= '9'; }

static bool digits(cursor *c) {
    if (!is_digit(c))
        return false;
    while (is_digit(c))
        c->p++;
    return true;
}

static bool number(cursor *c) {
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (!digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c))
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!digits(c))
            return false;
    }
    return true;
}

static bool is_hex(uint8_t x) {
    return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F');
}

static bool string(cursor *c) {
    c->p++; // the opening quote
    while (c->p < c->end) {
        uint8_t x = *c->p++;
        if (x == '"')
            return true;
        if (x < 0x20)
            return false;
        if (x != '\\')
            continue;
        if (c->p >= c->end)
            return false;
        x = *c->p++;
        if (x == 'u') {
            for (int i = 0; i < 4; i++, c->p++)
                if (c->p >= c->end || !is_hex(*c->p))
                    return false;
        } else if (!(x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' ||
                     x == 'r' || x == 't')) {
            return false;
        }
    }
    return false;
}

static bool value(cursor *c, int depth);

// The elements of an array (close ']') or the members of an object ('}').
static bool items(cursor *c, int depth, uint8_t close) {
    c->p++; // '[' or '{'
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            if (c->p >= c->end || *c->p != '"' || !string(c))
                return false;
            ws(c);
            if (c->p >= c->end || *c->p != ':')
                return false;
            c->p++;
        }
        if (!value(c, depth + 1))
            return false;
        if (c->p >= c->end)
            return false;
        if (*c->p == close) {
            c->p++;
            return true;
        }
        if (*c->p != ',')
            return false;
        c->p++;
        ws(c);
    }
}

// A value with the white space around it.
static bool value(cursor *c, int depth) {
    if (depth > MAX_DEPTH)
        return false;
    ws(c);
    if (c->p >= c->end)
        return false;
    bool ok;
    switch (*c->p) {
    case '{':
        ok = items(c, depth, '}');
        break;
    case '[':
        ok = items(c, depth, ']');
        break;
    case '"':
        ok = string(c);
        break;
    case 't':
        ok = lit(c, "true");
        break;
    case 'f':
        ok = lit(c, "false");
        break;
    case 'n':
        ok = lit(c, "null");
        break;
    default:
        ok = number(c);
    }
    ws(c);
    return ok;
}

static bool json_valid(actor_bytes s) {
    cursor c = {s.ptr, s.ptr + s.len};
    return value(&c, 0) && c.p == c.end;
}

// --- behaviour ---------------------------------------------------------------------

// Counts one event and keeps its payload as the last one.
static actor_reply event(actor_handle h) {
    actor_bytes payload;
    if (actor_msg_text(h, &payload) != ACTOR_READ_OK)
        payload = actor_msg_bytes(h);
    kv_error e;
    kv_bucket b;
    if (!kv_open(DEMO_BUCKET, &b, &e)) {
        storage_error(ACTOR_LIT("open default"), &e); // logged; the reply is dropped
        return actor_none();
    }
    int64_t n;
    if (!kv_increment(b, EVENTS, 1, &n, &e))
        storage_error(ACTOR_LIT("increment events"), &e);
    else if (!kv_set(b, LAST, payload, &e))
        storage_error(ACTOR_LIT("set last"), &e);
    kv_bucket_drop(b);
    return actor_none();
}

// {"events":E,"last":L}
static actor_reply stats(void) {
    kv_error e;
    kv_bucket b;
    if (!kv_open(DEMO_BUCKET, &b, &e))
        return storage_error(ACTOR_LIT("open default"), &e);
    bool found, has_last = false;
    actor_bytes v, last = {0, 0};
    int64_t events = 0;
    bool ok = kv_get(b, EVENTS, &found, &v, &e);
    if (ok && found && !parse_s64(v, &events)) {
        e = (kv_error){KV_OTHER, ACTOR_LIT("events is not a decimal integer")};
        ok = false;
    }
    if (ok)
        ok = kv_get(b, LAST, &has_last, &last, &e);
    kv_bucket_drop(b);
    if (!ok)
        return storage_error(ACTOR_LIT("stats"), &e);
    actor_buf out = {0};
    actor_buf_put(&out, ACTOR_LIT("{\"events\":"));
    put_s64(&out, events);
    actor_buf_put(&out, ACTOR_LIT(",\"last\":"));
    if (!has_last || !actor_utf8_valid(last))
        actor_buf_put(&out, ACTOR_LIT("null"));
    else if (json_valid(last))
        actor_buf_put(&out, last);
    else
        json_string(&out, last);
    actor_buf_put(&out, ACTOR_LIT("}"));
    return json_reply(200, actor_buf_bytes(&out), 0, 0);
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_handle h = actor_msg_handle(msg);
    if (msg->has_topic)
        return event(h);
    actor_bytes method, text;
    if (actor_msg_header(h, ACTOR_LIT("http-method"), &method)) {
        if (!actor_eq(method, ACTOR_LIT("GET")))
            return method_not_allowed(ACTOR_LIT("GET"));
        return stats();
    }
    if (actor_msg_text(h, &text) == ACTOR_READ_OK && actor_eq(text, ACTOR_LIT("stats")))
        return stats();
    return actor_none();
}
