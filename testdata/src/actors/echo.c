// actor_echo.wasm: replies with the payload it got (the same bytes, not a
// copy: the reply points into the message the host passed in).
// The benchmark actor: nothing else happens on this path.
#include "actor_glue.h"

actor_reply actor_on_message(const actor_message *msg) { return actor_some(msg->payload); }
