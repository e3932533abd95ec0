// actor_counter.wasm: counts messages and checks a sequence, in this
// instance's linear memory only (a restart starts again from zero).
//
//   "get"    -> some("count=<c> errors=<e> last=<l>"), not counted
//   "seq:<n>" (n decimal u64) -> count++; errors++ unless n == last + 1;
//               last = n (last starts at 0, so 1 is expected first); none
//   anything else -> count++; none
#include "actor_glue.h"

static uint64_t count, errors, last;

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes p = msg->payload;
    if (actor_eq(p, ACTOR_LIT("get"))) {
        actor_buf b = {0};
        actor_buf_put(&b, ACTOR_LIT("count="));
        actor_buf_u64(&b, count);
        actor_buf_put(&b, ACTOR_LIT(" errors="));
        actor_buf_u64(&b, errors);
        actor_buf_put(&b, ACTOR_LIT(" last="));
        actor_buf_u64(&b, last);
        return actor_some(actor_buf_bytes(&b));
    }
    count++;
    const actor_bytes prefix = ACTOR_LIT("seq:");
    uint64_t n;
    if (actor_has_prefix(p, prefix) &&
        actor_parse_u64((actor_bytes){p.ptr + prefix.len, p.len - prefix.len}, &n)) {
        if (n != last + 1)
            errors++;
        last = n;
    }
    return actor_none();
}
