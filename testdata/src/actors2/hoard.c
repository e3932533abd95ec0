// actor2_hoard.wasm: never drops a handle, for tests of the host's handle
// cap (the host must trap it once it holds too many, not grow). It is lazy.
//
//   every message -> kept (never dropped); if its text() is "payloads <N>"
//                    (N decimal), N payloads from-text("x") are made and
//                    kept too; some("kept <messages> <payloads>"): the
//                    handles this instance holds, this message included
#include "actor_glue2.h"

// A growable array of handles in kept memory.
typedef struct {
    actor_handle *h;
    size_t n, cap;
} handles;

static handles messages, payloads;

static void push(handles *a, actor_handle h) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        actor_handle *p = actor_malloc(cap * sizeof *p);
        if (a->n)
            __builtin_memcpy(p, a->h, a->n * sizeof *p);
        actor_free(a->h);
        a->h = p;
        a->cap = cap;
    }
    a->h[a->n++] = h;
}

bool actor_lazy_payload(void) { return true; }

actor_reply actor_on_message(const actor_message *msg) {
    actor_handle m = actor_msg_keep(msg);
    push(&messages, m);
    const actor_bytes prefix = ACTOR_LIT("payloads ");
    actor_bytes t;
    uint64_t n;
    if (actor_msg_text(m, &t) == ACTOR_READ_OK && actor_has_prefix(t, prefix) &&
        actor_parse_u64((actor_bytes){t.ptr + prefix.len, t.len - prefix.len}, &n)) {
        for (uint64_t i = 0; i < n; i++)
            push(&payloads, actor_payload_text(ACTOR_LIT("x")));
    }
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("kept "));
    actor_buf_u64(&b, messages.n);
    actor_buf_put(&b, ACTOR_LIT(" "));
    actor_buf_u64(&b, payloads.n);
    return actor_reply_full(ACTOR_BODY_TEXT, actor_buf_bytes(&b), ACTOR_LIT(""), 0, 0, 0);
}
