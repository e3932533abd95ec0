// actor2_agent2.wasm: agent.c (actor_agent.wasm) for world 0.2.0, with
// commands for its new calls. Commands are text payloads; <data> is
// everything after the last field named (it may hold more "|"):
//
//   "send|<target>|<data>" -> send(target, data, "text/plain");
//                             some("sent") or some("error:<send-error>")
//   "ask|<target>|<data>"  -> request(target, data, "text/plain", timeout);
//                             some("asked:<correlation-id>") or
//                             some("error:<send-error>")
//   "pub|<topic>|<data>"   -> publish(topic, data, "text/plain");
//                             some("published") or some("error:<send-error>")
//   "cancel|<target>|<data>" -> request as ask, then cancel-request at once;
//                             some("cancelled:true"), some("cancelled:false")
//                             or some("error:<send-error>")
//   "fwd|<target>"         -> send(target, payload() of this message, its
//                             content type, no headers): the command itself
//                             goes on, by handle; some("sent") or
//                             some("error:<send-error>")
//   "askfwd|<target>"      -> request(target, payload() of this message, its
//                             content type, timeout); some("asked:<id>") or
//                             some("error:<send-error>")
//   "hsend|<target>|<name>|<value>|<data>" -> send(target, data,
//                             "text/plain", headers [(name, value)]);
//                             some("sent") or some("error:<send-error>")
//   "mirror|<status>|<content-type>" -> some(reply with a payload body:
//                             payload() of this message, so the command
//                             itself; that status (decimal u16) and content
//                             type, header ("x-mirror", "1"))
//   "self"                 -> some(self-id)
//   "replies"              -> some(the recorded reply outcomes, oldest
//                             first, joined by "\n"; "" when none)
//   "pending"              -> some(the correlation ids of requests still
//                             waiting for handle-reply, joined by ",")
//   "log|<level>|<text>"   -> log(level, "agent", text); none; an unknown
//                             level logs nothing and replies
//                             some("error:unknown-level")
//   anything else          -> some("got:" + payload)
// handle-reply records "<correlation-id>:ok:<reply payload>", followed by
// ":status=<status>" when the reply's metadata status is not 0, or
// "<correlation-id>:err:<reason>" (the last 32 are kept).
// Config: "timeout-ms" (decimal u32, default 1000) for ask, cancel and
// askfwd; init fails with err("invalid timeout-ms: <value>") otherwise.
#include "actor_glue2.h"

#define TEXT ACTOR_LIT("text/plain")
#define KEEP_REPLIES 32
#define KEEP_PENDING 32

static uint32_t timeout_ms = 1000;

// Ring of recorded reply outcomes (kept memory).
static actor_bytes replies[KEEP_REPLIES];
static unsigned replies_first, replies_n;

// Correlation ids of requests not answered yet (oldest dropped when full).
static uint64_t pending[KEEP_PENDING];
static unsigned pending_n;

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    actor_bytes v;
    uint64_t t;
    if (actor_config(config, n, ACTOR_LIT("timeout-ms"), &v)) {
        if (!actor_parse_u64(v, &t) || t > UINT32_MAX) {
            actor_buf b = {0};
            actor_buf_put(&b, ACTOR_LIT("invalid timeout-ms: "));
            actor_buf_put(&b, v);
            *err = actor_buf_bytes(&b);
            return false;
        }
        timeout_ms = (uint32_t)t;
    }
    return true;
}

static void record(actor_bytes outcome) {
    if (replies_n == KEEP_REPLIES) {
        actor_free((void *)replies[replies_first].ptr);
        replies_first = (replies_first + 1) % KEEP_REPLIES;
        replies_n--;
    }
    replies[(replies_first + replies_n) % KEEP_REPLIES] = actor_keep(outcome);
    replies_n++;
}

static void pending_add(uint64_t id) {
    if (pending_n == KEEP_PENDING) {
        for (unsigned i = 1; i < KEEP_PENDING; i++)
            pending[i - 1] = pending[i];
        pending_n--;
    }
    pending[pending_n++] = id;
}

static void pending_remove(uint64_t id) {
    for (unsigned i = 0; i < pending_n; i++) {
        if (pending[i] == id) {
            for (unsigned j = i + 1; j < pending_n; j++)
                pending[j - 1] = pending[j];
            pending_n--;
            return;
        }
    }
}

void actor_on_reply(uint64_t correlation_id, const actor_message *reply, actor_bytes reason) {
    pending_remove(correlation_id);
    actor_buf b = {0};
    actor_buf_u64(&b, correlation_id);
    if (reply != 0) {
        actor_buf_put(&b, ACTOR_LIT(":ok:"));
        actor_buf_put(&b, reply->payload);
        uint16_t status = actor_msg_status(reply);
        if (status != 0) {
            actor_buf_put(&b, ACTOR_LIT(":status="));
            actor_buf_u64(&b, status);
        }
    } else {
        actor_buf_put(&b, ACTOR_LIT(":err:"));
        actor_buf_put(&b, reason);
    }
    record(actor_buf_bytes(&b));
}

static actor_reply outcome(int r, actor_bytes ok) {
    if (r == ACTOR_SEND_OK)
        return actor_some(ok);
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("error:"));
    actor_buf_put(&b, actor_send_error_name(r));
    return actor_some(actor_buf_bytes(&b));
}

static actor_reply asked(int r, uint64_t id) {
    if (r != ACTOR_SEND_OK)
        return outcome(r, ACTOR_LIT(""));
    pending_add(id);
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("asked:"));
    actor_buf_u64(&b, id);
    return actor_some(actor_buf_bytes(&b));
}

// The commands new in agent2 ("cancel", "fwd", "askfwd", "hsend",
// "mirror"), or false for anything else. rest is what follows "<cmd>|".
static bool agent2_command(const actor_message *msg, actor_bytes cmd, actor_bytes rest,
                           actor_reply *out) {
    actor_bytes target, name, value;
    if (actor_eq(cmd, ACTOR_LIT("fwd")) || actor_eq(cmd, ACTOR_LIT("askfwd"))) {
        actor_handle p = actor_msg_payload(actor_msg_handle(msg));
        if (actor_eq(cmd, ACTOR_LIT("fwd"))) {
            int r = actor_send_payload(rest, p, msg->content_type, 0, 0);
            *out = outcome(r, ACTOR_LIT("sent"));
        } else {
            uint64_t id = 0;
            int r = actor_request_payload(rest, p, msg->content_type, 0, 0, timeout_ms, &id);
            *out = asked(r, id);
        }
        return true;
    }
    if (actor_eq(cmd, ACTOR_LIT("cancel")) && actor_cut(&rest, '|', &target)) {
        uint64_t id = 0;
        int r = actor_request(target, rest, TEXT, timeout_ms, &id);
        if (r != ACTOR_SEND_OK) {
            *out = outcome(r, ACTOR_LIT(""));
            return true;
        }
        *out = actor_some(actor_cancel_request(id) ? ACTOR_LIT("cancelled:true")
                                                   : ACTOR_LIT("cancelled:false"));
        return true;
    }
    if (actor_eq(cmd, ACTOR_LIT("hsend")) && actor_cut(&rest, '|', &target) &&
        actor_cut(&rest, '|', &name) && actor_cut(&rest, '|', &value)) {
        actor_kv *h = actor_scratch(sizeof *h);
        *h = (actor_kv){name, value};
        *out = outcome(actor_send_payload(target, actor_payload_of(rest), TEXT, h, 1),
                       ACTOR_LIT("sent"));
        return true;
    }
    uint64_t status;
    if (actor_eq(cmd, ACTOR_LIT("mirror")) && actor_cut(&rest, '|', &value) &&
        actor_parse_u64(value, &status) && status <= UINT16_MAX) {
        static const actor_kv mirror_header = {ACTOR_LIT("x-mirror"), ACTOR_LIT("1")};
        actor_handle p = actor_msg_payload(actor_msg_handle(msg));
        *out = actor_reply_payload(p, rest, (uint16_t)status, &mirror_header, 1);
        return true;
    }
    return false;
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes p = msg->payload;
    if (actor_eq(p, ACTOR_LIT("self")))
        return actor_some(actor_self_id());
    if (actor_eq(p, ACTOR_LIT("replies"))) {
        actor_buf b = {0};
        size_t total = replies_n;
        for (unsigned i = 0; i < replies_n; i++)
            total += replies[(replies_first + i) % KEEP_REPLIES].len;
        actor_buf_reserve(&b, total);
        for (unsigned i = 0; i < replies_n; i++) {
            if (i > 0)
                actor_buf_put(&b, ACTOR_LIT("\n"));
            actor_buf_put(&b, replies[(replies_first + i) % KEEP_REPLIES]);
        }
        return actor_some(actor_buf_bytes(&b));
    }
    if (actor_eq(p, ACTOR_LIT("pending"))) {
        actor_buf b = {0};
        for (unsigned i = 0; i < pending_n; i++) {
            if (i > 0)
                actor_buf_put(&b, ACTOR_LIT(","));
            actor_buf_u64(&b, pending[i]);
        }
        return actor_some(actor_buf_bytes(&b));
    }
    actor_bytes rest = p, cmd, arg;
    actor_reply r2;
    if (actor_cut(&rest, '|', &cmd) && agent2_command(msg, cmd, rest, &r2))
        return r2;
    rest = p;
    if (actor_cut(&rest, '|', &cmd) && actor_cut(&rest, '|', &arg)) {
        // rest is <data> (or <text>)
        if (actor_eq(cmd, ACTOR_LIT("send")))
            return outcome(actor_send(arg, rest, TEXT), ACTOR_LIT("sent"));
        if (actor_eq(cmd, ACTOR_LIT("pub")))
            return outcome(actor_publish(arg, rest, TEXT), ACTOR_LIT("published"));
        if (actor_eq(cmd, ACTOR_LIT("ask"))) {
            uint64_t id = 0;
            return asked(actor_request(arg, rest, TEXT, timeout_ms, &id), id);
        }
        if (actor_eq(cmd, ACTOR_LIT("log"))) {
            int level = actor_level_parse(arg);
            if (level < 0)
                return actor_some(ACTOR_LIT("error:unknown-level"));
            actor_log(level, ACTOR_LIT("agent"), rest);
            return actor_none();
        }
    }
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("got:"));
    actor_buf_put(&b, p);
    return actor_some(actor_buf_bytes(&b));
}
