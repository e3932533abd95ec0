// actor2_sick.wasm: an actor that starts but reports itself unhealthy, for
// the live update's health check (a new version that is not healthy is
// rolled back before it takes over).
//
//   health        -> unhealthy, always
//   every message -> some(payload), as echo
#include "actor_glue2.h"

int actor_on_health(void) { return ACTOR_UNHEALTHY; }

actor_reply actor_on_message(const actor_message *msg) { return actor_some(msg->payload); }
