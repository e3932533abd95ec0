// actor_pingpong.wasm: plays ping-pong with a peer through messaging.send.
//
// Config: "peer" (a component id), "rounds" (decimal, default 10; init
// fails with err("invalid rounds: <value>") if it is not a decimal u64).
//
//   "start" -> send(peer, "ping"); none
//   "ping"  -> pings++; send(sender, "pong"); none
//   "pong"  -> pongs++; if pongs < rounds: send(sender, "ping"),
//              else publish("pingpong.done", "<pongs>"); none
//   "get"   -> some("<pings>/<pongs>")
//   anything else -> none
// Payloads go out with content type "text/plain". A send or publish that
// fails (and "start" without a peer) is logged at error level, with the
// self-id as context: "<op> <target> failed: <send-error>".
#include "actor_glue.h"

static actor_bytes peer;
static bool has_peer;
static uint64_t rounds = 10, pings, pongs;

#define TEXT ACTOR_LIT("text/plain")

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    actor_bytes v;
    if (actor_config(config, n, ACTOR_LIT("peer"), &v)) {
        actor_free((void *)peer.ptr);
        peer = actor_keep(v);
        has_peer = true;
    }
    if (actor_config(config, n, ACTOR_LIT("rounds"), &v) && !actor_parse_u64(v, &rounds)) {
        actor_buf b = {0};
        actor_buf_put(&b, ACTOR_LIT("invalid rounds: "));
        actor_buf_put(&b, v);
        *err = actor_buf_bytes(&b);
        return false;
    }
    return true;
}

static void check(int r, actor_bytes op, actor_bytes target) {
    if (r == ACTOR_SEND_OK)
        return;
    actor_buf b = {0};
    actor_buf_put(&b, op);
    actor_buf_put(&b, ACTOR_LIT(" "));
    actor_buf_put(&b, target);
    actor_buf_put(&b, ACTOR_LIT(" failed: "));
    actor_buf_put(&b, actor_send_error_name(r));
    actor_log(ACTOR_ERROR, actor_self_id(), actor_buf_bytes(&b));
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes p = msg->payload;
    if (actor_eq(p, ACTOR_LIT("start"))) {
        if (!has_peer)
            actor_log(ACTOR_ERROR, actor_self_id(), ACTOR_LIT("start: no peer configured"));
        else
            check(actor_send(peer, ACTOR_LIT("ping"), TEXT), ACTOR_LIT("send"), peer);
    } else if (actor_eq(p, ACTOR_LIT("ping"))) {
        pings++;
        check(actor_send(msg->sender, ACTOR_LIT("pong"), TEXT), ACTOR_LIT("send"), msg->sender);
    } else if (actor_eq(p, ACTOR_LIT("pong"))) {
        pongs++;
        if (pongs < rounds) {
            check(actor_send(msg->sender, ACTOR_LIT("ping"), TEXT), ACTOR_LIT("send"),
                  msg->sender);
        } else {
            actor_bytes topic = ACTOR_LIT("pingpong.done");
            check(actor_publish(topic, actor_u64_text(pongs), TEXT), ACTOR_LIT("publish"), topic);
        }
    } else if (actor_eq(p, ACTOR_LIT("get"))) {
        actor_buf b = {0};
        actor_buf_u64(&b, pings);
        actor_buf_put(&b, ACTOR_LIT("/"));
        actor_buf_u64(&b, pongs);
        return actor_some(actor_buf_bytes(&b));
    }
    return actor_none();
}
