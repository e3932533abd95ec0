// actor_hostile.wasm: an actor that abuses the host on request, for the
// hardening tests (oversized fields, log floods, memory growth, loops).
// Commands are text payloads with fields separated by "|"; <n>, <pad>,
// <ct> and <count> are decimal:
//
//   "send|<target>|<pad>|<ct>|<n>" -> send(target + <pad> 'x' bytes,
//                             <n> bytes 'p', a content-type of <ct> bytes
//                             'c'); some("sent") or some("error:<send-error>")
//   "ask|<target>|<pad>|<ct>|<n>"  -> the same through request (timeout
//                             5000 ms); some("asked:<id>") or some("error:...")
//   "pub|<topic>|<pad>|<ct>|<n>"   -> publish(topic + <pad> 'x' bytes, ...);
//                             some("published") or some("error:...")
//   "reply|<n>"            -> some(<n> bytes 'r')
//   "fail|<n>"             -> err(<n> bytes: "é" repeated, then "!" if <n>
//                             is odd), so that cutting it between the two
//                             bytes of an "é" would leave invalid UTF-8
//   "log|<count>|<ctx>|<n>" -> <count> info lines with a context of <ctx>
//                             bytes 'k' and a message of <n> bytes 'm';
//                             some("logged")
//   "grow|<pages>"         -> memory.grow(<pages>); some("grew") or
//                             some("refused")
//   "spin"                 -> loops forever
//   anything else          -> some("got:" + payload)
// Config: "spin-init" = "1" makes init loop forever.
#include "actor_glue.h"

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    (void)err;
    actor_bytes v;
    if (actor_config(config, n, ACTOR_LIT("spin-init"), &v) && actor_eq(v, ACTOR_LIT("1"))) {
        volatile uint64_t spins = 0;
        for (;;)
            spins++;
    }
    return true;
}

// n bytes of c in scratch memory.
static actor_bytes fill(uint8_t c, size_t n) {
    uint8_t *p = actor_scratch(n);
    for (size_t i = 0; i < n; i++)
        p[i] = c;
    return (actor_bytes){p, n};
}

// s followed by pad bytes 'x', in scratch memory.
static actor_bytes padded(actor_bytes s, size_t pad) {
    actor_buf b = {0};
    actor_buf_reserve(&b, s.len + pad);
    actor_buf_put(&b, s);
    for (size_t i = 0; i < pad; i++)
        b.ptr[b.len++] = 'x';
    return actor_buf_bytes(&b);
}

static actor_reply outcome(int r, actor_bytes ok) {
    if (r == ACTOR_SEND_OK)
        return actor_some(ok);
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("error:"));
    actor_buf_put(&b, actor_send_error_name(r));
    return actor_some(actor_buf_bytes(&b));
}

static bool number(actor_bytes *rest, bool last, uint64_t *out) {
    actor_bytes field = *rest;
    if (!last && !actor_cut(rest, '|', &field))
        return false;
    return actor_parse_u64(field, out);
}

static actor_reply bad(void) { return actor_some(ACTOR_LIT("error:bad-command")); }

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes p = msg->payload;
    if (actor_eq(p, ACTOR_LIT("spin"))) {
        volatile uint64_t spins = 0;
        for (;;)
            spins++;
    }
    actor_bytes rest = p, cmd;
    if (!actor_cut(&rest, '|', &cmd)) {
        actor_buf b = {0};
        actor_buf_put(&b, ACTOR_LIT("got:"));
        actor_buf_put(&b, p);
        return actor_some(actor_buf_bytes(&b));
    }
    uint64_t a, b, c;
    if (actor_eq(cmd, ACTOR_LIT("send")) || actor_eq(cmd, ACTOR_LIT("ask")) ||
        actor_eq(cmd, ACTOR_LIT("pub"))) {
        actor_bytes target;
        if (!actor_cut(&rest, '|', &target) || !number(&rest, false, &a) ||
            !number(&rest, false, &b) || !number(&rest, true, &c))
            return bad();
        actor_bytes to = padded(target, a), ct = fill('c', b), data = fill('p', c);
        if (actor_eq(cmd, ACTOR_LIT("send")))
            return outcome(actor_send(to, data, ct), ACTOR_LIT("sent"));
        if (actor_eq(cmd, ACTOR_LIT("pub")))
            return outcome(actor_publish(to, data, ct), ACTOR_LIT("published"));
        uint64_t id = 0;
        int r = actor_request(to, data, ct, 5000, &id);
        if (r != ACTOR_SEND_OK)
            return outcome(r, ACTOR_LIT(""));
        actor_buf out = {0};
        actor_buf_put(&out, ACTOR_LIT("asked:"));
        actor_buf_u64(&out, id);
        return actor_some(actor_buf_bytes(&out));
    }
    if (actor_eq(cmd, ACTOR_LIT("reply"))) {
        if (!number(&rest, true, &a))
            return bad();
        return actor_some(fill('r', a));
    }
    if (actor_eq(cmd, ACTOR_LIT("fail"))) {
        if (!number(&rest, true, &a))
            return bad();
        uint8_t *e = actor_scratch(a);
        for (size_t i = 0; i + 1 < a; i += 2) {
            e[i] = 0xC3; // é
            e[i + 1] = 0xA9;
        }
        if (a % 2 == 1)
            e[a - 1] = '!';
        return actor_err((actor_bytes){e, a});
    }
    if (actor_eq(cmd, ACTOR_LIT("log"))) {
        if (!number(&rest, false, &a) || !number(&rest, false, &b) || !number(&rest, true, &c))
            return bad();
        actor_bytes ctx = fill('k', b), text = fill('m', c);
        for (uint64_t i = 0; i < a; i++)
            actor_log(ACTOR_INFO, ctx, text);
        return actor_some(ACTOR_LIT("logged"));
    }
    if (actor_eq(cmd, ACTOR_LIT("grow"))) {
        if (!number(&rest, true, &a))
            return bad();
        if (__builtin_wasm_memory_grow(0, (size_t)a) == (size_t)-1)
            return actor_some(ACTOR_LIT("refused"));
        return actor_some(ACTOR_LIT("grew"));
    }
    return bad();
}
