// actor_trapper.wasm: misbehaves on request, for supervision tests.
//
//   "trap"    -> executes `unreachable` (the instance is then dead)
//   "spin"    -> loops forever (for per-message timeouts)
//   "degrade" -> health becomes degraded; none
//   "sick"    -> health becomes unhealthy; none
//   "heal"    -> health becomes healthy again; none
//   "get"     -> some("handled=<n>"): messages this instance handled,
//                this one included
//   anything else -> some(payload)
// init fails with err("init failed on purpose") when config has
// fail-init = "1".
#include "actor_glue.h"

static uint64_t handled;
static int health = ACTOR_HEALTHY;

bool actor_on_init(const actor_kv *config, size_t n, actor_bytes *err) {
    actor_bytes v;
    if (actor_config(config, n, ACTOR_LIT("fail-init"), &v) && actor_eq(v, ACTOR_LIT("1"))) {
        *err = ACTOR_LIT("init failed on purpose");
        return false;
    }
    return true;
}

int actor_on_health(void) { return health; }

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes p = msg->payload;
    handled++;
    if (actor_eq(p, ACTOR_LIT("trap")))
        __builtin_trap();
    if (actor_eq(p, ACTOR_LIT("spin"))) {
        volatile uint64_t spins = 0;
        for (;;)
            spins++;
    }
    if (actor_eq(p, ACTOR_LIT("degrade"))) {
        health = ACTOR_DEGRADED;
        return actor_none();
    }
    if (actor_eq(p, ACTOR_LIT("sick"))) {
        health = ACTOR_UNHEALTHY;
        return actor_none();
    }
    if (actor_eq(p, ACTOR_LIT("heal"))) {
        health = ACTOR_HEALTHY;
        return actor_none();
    }
    if (actor_eq(p, ACTOR_LIT("get"))) {
        actor_buf b = {0};
        actor_buf_put(&b, ACTOR_LIT("handled="));
        actor_buf_u64(&b, handled);
        return actor_some(actor_buf_bytes(&b));
    }
    return actor_some(p);
}
