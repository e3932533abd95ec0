// actor2_echotext.wasm: the benchmark echo of world 0.2.0. One host call
// per message (text), and a text body for the reply, which needs none: the
// path BENCHMARKING.md measures against 0.1.0's list<u8> echo. It is bare:
// the glue reads neither sender nor metadata.
//
//   every message -> some(reply with a text body: the payload's text), or
//                    err("not-utf8") when the payload is not UTF-8
#include "actor_glue2.h"

bool actor_lazy_payload(void) { return true; }
bool actor_bare_message(void) { return true; }

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes t;
    if (actor_msg_text(actor_msg_handle(msg), &t) != ACTOR_READ_OK)
        return actor_err(ACTOR_LIT("not-utf8"));
    return actor_reply_full(ACTOR_BODY_TEXT, t, ACTOR_LIT(""), 0, 0, 0);
}
