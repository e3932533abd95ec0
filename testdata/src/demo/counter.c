// demo_counter_v1.wasm and demo_counter_v2.wasm: the counter of the host
// service's example app, an HTTP JSON API over named counters kept in
// wasi:keyvalue. The same source is built twice, with DEMO_VERSION
// "1.0.0" and "1.1.0" (build.sh), so that a live update can be seen.
//
// Requests come from the HTTP gateway (host/gateway) for the routes
// GET and POST /api/counters/{name}: world 0.2.0 request messages with the
// headers http-method, http-path, http-query and http-param-name. Bare:
// the glue reads nothing; this file reads the headers it needs and, for a
// plain message, its text().
//
//   POST, http-param-name = N -> wasi:keyvalue/atomics increment of key N in
//        bucket "default" by 1, then publish on topic "counters.changed"
//        of the reply's body (content type application/json; a refusal
//        is logged at warn level and counted, never an error), and
//        reply status 200, content type application/json,
//        {"name":"N","count":C,"version":"<DEMO_VERSION>"}; once a
//        publish was refused, POST replies also carry the header
//        x-publish-refused: <refusals since this instance started>.
//   GET, http-param-name = N  -> the same reply with the stored count (0
//        when key N is absent); nothing is published.
//   N must be 1 to 64 bytes of [A-Za-z0-9_-] (missing, empty or anything
//        else: status 400, {"error":"bad name"}); it is JSON-escaped all
//        the same.
//   any other http-method -> status 405, {"error":"method not allowed"},
//        header allow: GET, POST.
//   a storage error (open, increment, get) -> status 500,
//        {"error":"storage: <kind>"}, kind "no-such-store",
//        "access-denied" or "other" (a stored value that is not a decimal
//        integer is "other"); the whole error is logged at warn level.
//   no http-method header (a plain actor message): text "ping" ->
//        text reply "pong <DEMO_VERSION>"; anything else -> ok(none).
//
// init logs "counter <DEMO_VERSION> ready" (info); health is healthy;
// shutdown does nothing of its own (the glue logs "shutdown").
#include "demo.h"

#ifndef DEMO_VERSION
#error "build with -DDEMO_VERSION='\"x.y.z\"'"
#endif

#define TOPIC ACTOR_LIT("counters.changed")
#define MAX_NAME 64

bool actor_lazy_payload(void) { return true; }
bool actor_bare_message(void) { return true; }

// Publish refusals since this instance started.
static uint64_t publish_refused;

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    (void)config;
    (void)n;
    (void)err;
    actor_log(ACTOR_INFO, actor_self_id(), ACTOR_LIT("counter " DEMO_VERSION " ready"));
    return true;
}

static bool valid_name(actor_bytes s) {
    if (s.len == 0 || s.len > MAX_NAME)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

// {"name":"N","count":C,"version":"V"}
static actor_bytes counter_json(actor_bytes name, int64_t count) {
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("{\"name\":"));
    json_string(&b, name);
    actor_buf_put(&b, ACTOR_LIT(",\"count\":"));
    put_s64(&b, count);
    actor_buf_put(&b, ACTOR_LIT(",\"version\":\"" DEMO_VERSION "\"}"));
    return actor_buf_bytes(&b);
}

// Increments (post) or reads key name of the open bucket b into *count.
static bool count_of(kv_bucket b, bool post, actor_bytes name, int64_t *count, kv_error *e) {
    if (post)
        return kv_increment(b, name, 1, count, e);
    bool found;
    actor_bytes v;
    if (!kv_get(b, name, &found, &v, e))
        return false;
    *count = 0;
    if (found && !parse_s64(v, count)) {
        *e = (kv_error){KV_OTHER, ACTOR_LIT("value is not a decimal integer")};
        return false;
    }
    return true;
}

// Publishes body on TOPIC; a refusal is logged and counted.
static void publish(actor_bytes body) {
    int r = actor_publish_payload(TOPIC, actor_payload_text(body), ACTOR_LIT("application/json"),
                                  0, 0);
    if (r == ACTOR_SEND_OK)
        return;
    publish_refused++;
    actor_buf line = {0};
    actor_buf_put(&line, ACTOR_LIT("publish to counters.changed refused: "));
    actor_buf_put(&line, actor_send_error_name(r));
    actor_buf_put(&line, ACTOR_LIT(" ("));
    actor_buf_u64(&line, publish_refused);
    actor_buf_put(&line, ACTOR_LIT(" so far)"));
    actor_log(ACTOR_WARN, actor_self_id(), actor_buf_bytes(&line));
}

static actor_reply http(actor_handle h, actor_bytes method) {
    bool post = actor_eq(method, ACTOR_LIT("POST"));
    if (!post && !actor_eq(method, ACTOR_LIT("GET")))
        return method_not_allowed(ACTOR_LIT("GET, POST"));
    actor_bytes name;
    if (!actor_msg_header(h, ACTOR_LIT("http-param-name"), &name) || !valid_name(name))
        return json_reply(400, ACTOR_LIT("{\"error\":\"bad name\"}"), 0, 0);
    // name is scratch memory the next import call does not touch.
    kv_error e;
    kv_bucket b;
    if (!kv_open(DEMO_BUCKET, &b, &e))
        return storage_error(ACTOR_LIT("open default"), &e);
    int64_t count;
    bool ok = count_of(b, post, name, &count, &e);
    kv_bucket_drop(b);
    if (!ok)
        return storage_error(post ? ACTOR_LIT("increment") : ACTOR_LIT("get"), &e);
    actor_bytes body = counter_json(name, count);
    if (!post)
        return json_reply(200, body, 0, 0);
    publish(body);
    if (publish_refused == 0)
        return json_reply(200, body, 0, 0);
    actor_kv *hdr = actor_scratch(sizeof *hdr);
    *hdr = (actor_kv){ACTOR_LIT("x-publish-refused"), actor_u64_text(publish_refused)};
    return json_reply(200, body, hdr, 1);
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_handle h = actor_msg_handle(msg);
    actor_bytes method, text;
    if (actor_msg_header(h, ACTOR_LIT("http-method"), &method))
        return http(h, method);
    if (actor_msg_text(h, &text) == ACTOR_READ_OK && actor_eq(text, ACTOR_LIT("ping")))
        return actor_some(ACTOR_LIT("pong " DEMO_VERSION));
    return actor_none();
}
