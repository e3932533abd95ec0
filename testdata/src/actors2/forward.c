// actor2_forward.wasm: forwards every message by handle. It is lazy and
// never reads a payload (no text, bytes, range or len): the bytes go from
// the incoming message to the outgoing one inside the host.
//
// Config: "topic" (publish there) or "next" (a component id to send to);
// topic wins when both are set. init fails with
// err("forward: config next or topic required") when neither is.
//
//   every message -> payload() sent with the message's content type and
//                    headers, through publish(topic, ...) or send(next, ...);
//                    none, or err("<send-error>") when the host refuses
#include "actor_glue2.h"

static actor_bytes target;
static bool publish;

bool actor_lazy_payload(void) { return true; }

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    actor_bytes v;
    actor_free((void *)target.ptr);
    target = (actor_bytes){0, 0};
    if (actor_config(config, n, ACTOR_LIT("topic"), &v)) {
        publish = true;
    } else if (actor_config(config, n, ACTOR_LIT("next"), &v)) {
        publish = false;
    } else {
        *err = ACTOR_LIT("forward: config next or topic required");
        return false;
    }
    target = actor_keep(v);
    return true;
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_handle m = actor_msg_handle(msg);
    const actor_kv *headers;
    size_t n = actor_msg_headers(m, &headers);
    actor_handle p = actor_msg_payload(m);
    int r = publish ? actor_publish_payload(target, p, msg->content_type, headers, n)
                    : actor_send_payload(target, p, msg->content_type, headers, n);
    if (r != ACTOR_SEND_OK)
        return actor_err(actor_send_error_name(r));
    return actor_none();
}
