// actor2_churn.wasm: makes and drops handles on every message, for the
// leak tests (a million messages must leave the host and this instance no
// bigger than one). It is lazy.
//
//   every message -> p = from-text(text()), q = share(p), drop p and q;
//                    r = from-bytes(16 zero bytes), drop r;
//                    s = payload(), drop s;
//                    replies its text as a text body. A payload that is
//                    not UTF-8 goes through from-bytes(bytes()) instead
//                    and comes back as a bytes body.
#include "actor_glue2.h"

bool actor_lazy_payload(void) { return true; }

actor_reply actor_on_message(const actor_message *msg) {
    actor_handle m = actor_msg_handle(msg);
    actor_bytes t;
    bool text = actor_msg_text(m, &t) == ACTOR_READ_OK;
    if (!text)
        t = actor_msg_bytes(m);
    actor_handle p = text ? actor_payload_text(t) : actor_payload_bytes(t);
    actor_handle q = actor_payload_share(p);
    actor_payload_drop(p);
    actor_payload_drop(q);
    static const uint8_t zeros[16];
    actor_payload_drop(actor_payload_bytes((actor_bytes){zeros, sizeof zeros}));
    actor_payload_drop(actor_msg_payload(m));
    return actor_reply_full(text ? ACTOR_BODY_TEXT : ACTOR_BODY_BYTES, t, ACTOR_LIT(""), 0, 0, 0);
}
