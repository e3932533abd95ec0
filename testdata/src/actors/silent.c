// actor_silent.wasm: never replies. handle-message returns ok(none), so a
// request to it is answered only by its timeout; payload "fail" returns
// err("failed on purpose").
#include "actor_glue.h"

actor_reply actor_on_message(const actor_message *msg) {
    if (actor_eq(msg->payload, ACTOR_LIT("fail")))
        return actor_err(ACTOR_LIT("failed on purpose"));
    return actor_none();
}
