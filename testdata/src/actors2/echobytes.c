// actor2_echobytes.wasm: the echo of world 0.2.0 that reads its payload
// as bytes (list<u8>, the slow path) and replies with a bytes body, for
// the benchmark that compares that path with 0.1.0's echo. Bare: the glue
// reads neither sender nor metadata.
//
//   every message -> some(reply with a bytes body: the payload's bytes)
#include "actor_glue2.h"

bool actor_lazy_payload(void) { return true; }
bool actor_bare_message(void) { return true; }

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes b = actor_msg_bytes(actor_msg_handle(msg));
    return actor_reply_full(ACTOR_BODY_BYTES, b, ACTOR_LIT(""), 0, 0, 0);
}
