// actor2_kv.wasm: an actor of world 0.2.0 that also imports the key-value
// interfaces (kv-actor.wit) and drives them on command, to test the host's
// storage against a real guest. Bare: the glue reads nothing; the command
// is the message's text() (one host call).
//
// Commands are text payloads, fields separated by "|". Each one that names
// a bucket opens it, does its work and drops the bucket handle before
// replying; a cas handle is dropped (or consumed by swap) the same way.
// Replies are some(text), except get64's value. A refusal by the host is a
// reply, "error:<e>", where <e> is "no-such-store", "access-denied" or
// "other:<text>" (from open or from the call itself); nothing traps.
//
//   "open|<bucket>"              -> "ok"
//   "get|<bucket>|<key>"         -> "some:<value>" or "none"
//   "set|<bucket>|<key>|<value>" -> "ok" (value: everything after the third
//                                   "|")
//   "del|<bucket>|<key>"         -> "ok"
//   "exists|<bucket>|<key>"      -> "true" or "false"
//   "list|<bucket>|<cursor>"     -> "<k1>,<k2>,...;<next cursor>" (an empty
//                                   or missing cursor is none, both ways)
//   "inc|<bucket>|<key>|<delta>" -> increment by delta (decimal s64, an
//                                   optional "-"): "<new value>" (decimal)
//   "cas|<bucket>|<key>|<value>" -> cas.new, cas.current, swap(value):
//                                   "swapped:<value current saw, or none>",
//                                   or "cas-failed"
//   "getmany|<bucket>|<k1>,<k2>" -> get-many: "<k1>=<v1>,<k2>=none,..." in
//                                   the host's order, keys as the host
//                                   returned them (the requested key for a
//                                   none)
//   "setmany|<bucket>|<k1>=<v1>,<k2>=<v2>" -> set-many: "ok" (a value ends
//                                   at the next ",")
//   "delmany|<bucket>|<k1>,<k2>" -> delete-many: "ok"
//                                   (for all three, an empty list part is
//                                   an empty list)
//   "usage"                      -> "<bytes> <keys> <max-bytes> <max-keys>
//                                   <max-value-bytes>" (decimal)
//   "get64|<bucket>|<key>"       -> as get, but a found value is the reply
//                                   itself, as a bytes body (no text
//                                   conversion); "none" and "error:<e>"
//                                   are text bodies
//   "count|<bucket>|<key>"       -> increment by 1: "<new value>"
//   anything else (or a payload that is not UTF-8, or a bad delta)
//                                -> "bad-command"
#include "kv.h"

bool actor_lazy_payload(void) { return true; }
bool actor_bare_message(void) { return true; }

#define BAD actor_some(ACTOR_LIT("bad-command"))

static actor_reply error_reply(const kv_error *e) {
    actor_buf b = {0};
    actor_buf_put(&b, ACTOR_LIT("error:"));
    actor_buf_put(&b, kv_error_text(e));
    return actor_some(actor_buf_bytes(&b));
}

static actor_reply ok_reply(bool ok, const kv_error *e) {
    return ok ? actor_some(ACTOR_LIT("ok")) : error_reply(e);
}

static actor_reply s64_reply(int64_t v) {
    actor_buf b = {0};
    if (v < 0) {
        actor_buf_put(&b, ACTOR_LIT("-"));
        actor_buf_u64(&b, (uint64_t)0 - (uint64_t)v);
    } else {
        actor_buf_u64(&b, (uint64_t)v);
    }
    return actor_some(actor_buf_bytes(&b));
}

// A whole decimal s64 with an optional "-".
static bool parse_s64(actor_bytes s, int64_t *out) {
    bool neg = s.len > 0 && s.ptr[0] == '-';
    if (neg)
        s = (actor_bytes){s.ptr + 1, s.len - 1};
    uint64_t v;
    if (!actor_parse_u64(s, &v) || v > (neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX))
        return false;
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    return true;
}

// Splits s at every sep into a scratch array; an empty s is no parts.
static size_t split(actor_bytes s, uint8_t sep, actor_bytes **out) {
    size_t n = 0;
    if (s.len > 0) {
        n = 1;
        for (size_t i = 0; i < s.len; i++)
            n += s.ptr[i] == sep;
    }
    actor_bytes *parts = actor_scratch((n ? n : 1) * sizeof *parts);
    actor_bytes rest = s, part;
    for (size_t i = 0; i + 1 < n; i++) {
        actor_cut(&rest, sep, &part);
        parts[i] = part;
    }
    if (n > 0)
        parts[n - 1] = rest;
    *out = parts;
    return n;
}

// The commands that take a bucket; rest is what follows "<bucket>|"
// (has_rest false when no "|" follows). The bucket is open.
static actor_reply with_bucket(actor_bytes cmd, kv_bucket b, bool has_rest, actor_bytes rest) {
    kv_error e;
    actor_bytes key, value;
    bool found;
    if (actor_eq(cmd, ACTOR_LIT("open")))
        return actor_some(ACTOR_LIT("ok"));
    if (!has_rest && !actor_eq(cmd, ACTOR_LIT("list")))
        return BAD;

    if (actor_eq(cmd, ACTOR_LIT("get")) || actor_eq(cmd, ACTOR_LIT("get64"))) {
        if (!kv_get(b, rest, &found, &value, &e))
            return error_reply(&e);
        if (!found)
            return actor_some(ACTOR_LIT("none"));
        if (actor_eq(cmd, ACTOR_LIT("get64")))
            return actor_reply_full(ACTOR_BODY_BYTES, value, ACTOR_LIT(""), 0, 0, 0);
        actor_buf buf = {0};
        actor_buf_reserve(&buf, 5 + value.len);
        actor_buf_put(&buf, ACTOR_LIT("some:"));
        actor_buf_put(&buf, value);
        return actor_some(actor_buf_bytes(&buf));
    }
    if (actor_eq(cmd, ACTOR_LIT("set"))) {
        if (!actor_cut(&rest, '|', &key))
            return BAD;
        return ok_reply(kv_set(b, key, rest, &e), &e);
    }
    if (actor_eq(cmd, ACTOR_LIT("del")))
        return ok_reply(kv_delete(b, rest, &e), &e);
    if (actor_eq(cmd, ACTOR_LIT("exists"))) {
        if (!kv_exists(b, rest, &found, &e))
            return error_reply(&e);
        return actor_some(found ? ACTOR_LIT("true") : ACTOR_LIT("false"));
    }
    if (actor_eq(cmd, ACTOR_LIT("list"))) {
        kv_keys page;
        if (!kv_list_keys(b, rest.len ? &rest : 0, &page, &e))
            return error_reply(&e);
        actor_buf buf = {0};
        for (size_t i = 0; i < page.n; i++) {
            if (i > 0)
                actor_buf_put(&buf, ACTOR_LIT(","));
            actor_buf_put(&buf, page.keys[i]);
        }
        actor_buf_put(&buf, ACTOR_LIT(";"));
        if (page.has_cursor)
            actor_buf_put(&buf, page.cursor);
        return actor_some(actor_buf_bytes(&buf));
    }
    if (actor_eq(cmd, ACTOR_LIT("inc")) || actor_eq(cmd, ACTOR_LIT("count"))) {
        int64_t delta = 1, v;
        if (actor_eq(cmd, ACTOR_LIT("inc")) &&
            !(actor_cut(&rest, '|', &key) && parse_s64(rest, &delta)))
            return BAD;
        if (actor_eq(cmd, ACTOR_LIT("count")))
            key = rest;
        if (!kv_increment(b, key, delta, &v, &e))
            return error_reply(&e);
        return s64_reply(v);
    }
    if (actor_eq(cmd, ACTOR_LIT("cas"))) {
        kv_cas c, back;
        if (!actor_cut(&rest, '|', &key))
            return BAD;
        if (!kv_cas_new(b, key, &c, &e))
            return error_reply(&e);
        if (!kv_cas_current(c, &found, &value, &e)) {
            kv_cas_drop(c);
            return error_reply(&e);
        }
        switch (kv_swap(c, rest, &e, &back)) {
        case KV_SWAPPED: {
            actor_buf buf = {0};
            actor_buf_put(&buf, ACTOR_LIT("swapped:"));
            actor_buf_put(&buf, found ? value : ACTOR_LIT("none"));
            return actor_some(actor_buf_bytes(&buf));
        }
        case KV_SWAP_CAS_FAILED:
            kv_cas_drop(back);
            return actor_some(ACTOR_LIT("cas-failed"));
        default:
            return error_reply(&e);
        }
    }
    if (actor_eq(cmd, ACTOR_LIT("getmany"))) {
        actor_bytes *keys;
        size_t n = split(rest, ',', &keys), got;
        const kv_entry *entries;
        if (!kv_get_many(b, keys, n, &entries, &got, &e))
            return error_reply(&e);
        actor_buf buf = {0};
        for (size_t i = 0; i < got; i++) {
            if (i > 0)
                actor_buf_put(&buf, ACTOR_LIT(","));
            if (entries[i].some) {
                actor_buf_put(&buf, entries[i].key);
                actor_buf_put(&buf, ACTOR_LIT("="));
                actor_buf_put(&buf, entries[i].value);
            } else {
                if (i < n)
                    actor_buf_put(&buf, keys[i]);
                actor_buf_put(&buf, ACTOR_LIT("=none"));
            }
        }
        return actor_some(actor_buf_bytes(&buf));
    }
    if (actor_eq(cmd, ACTOR_LIT("setmany"))) {
        actor_bytes *items;
        size_t n = split(rest, ',', &items);
        actor_kv *pairs = actor_scratch((n ? n : 1) * sizeof *pairs);
        for (size_t i = 0; i < n; i++) {
            actor_bytes item = items[i];
            if (!actor_cut(&item, '=', &key))
                return BAD;
            pairs[i] = (actor_kv){key, item};
        }
        return ok_reply(kv_set_many(b, pairs, n, &e), &e);
    }
    if (actor_eq(cmd, ACTOR_LIT("delmany"))) {
        actor_bytes *keys;
        size_t n = split(rest, ',', &keys);
        return ok_reply(kv_delete_many(b, keys, n, &e), &e);
    }
    return BAD;
}

static bool bucket_command(actor_bytes cmd) {
    static const actor_bytes names[] = {
        ACTOR_LIT("open"),    ACTOR_LIT("get"),     ACTOR_LIT("set"),     ACTOR_LIT("del"),
        ACTOR_LIT("exists"),  ACTOR_LIT("list"),    ACTOR_LIT("inc"),     ACTOR_LIT("cas"),
        ACTOR_LIT("getmany"), ACTOR_LIT("setmany"), ACTOR_LIT("delmany"), ACTOR_LIT("get64"),
        ACTOR_LIT("count"),
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (actor_eq(cmd, names[i]))
            return true;
    return false;
}

actor_reply actor_on_message(const actor_message *msg) {
    actor_bytes p;
    if (actor_msg_text(actor_msg_handle(msg), &p) != ACTOR_READ_OK)
        return BAD;
    kv_error e;
    if (actor_eq(p, ACTOR_LIT("usage"))) {
        kv_quota q;
        if (!kv_usage(&q, &e))
            return error_reply(&e);
        actor_buf b = {0};
        const uint64_t v[] = {q.bytes, q.keys, q.max_bytes, q.max_keys, q.max_value_bytes};
        for (size_t i = 0; i < 5; i++) {
            if (i > 0)
                actor_buf_put(&b, ACTOR_LIT(" "));
            actor_buf_u64(&b, v[i]);
        }
        return actor_some(actor_buf_bytes(&b));
    }
    actor_bytes rest = p, cmd, name;
    if (!actor_cut(&rest, '|', &cmd) || !bucket_command(cmd))
        return BAD;
    // open's bucket is the whole rest; the others' ends at the next "|".
    bool has_rest = !actor_eq(cmd, ACTOR_LIT("open")) && actor_cut(&rest, '|', &name);
    if (!has_rest) {
        name = rest;
        rest = (actor_bytes){0, 0};
    }
    kv_bucket b;
    if (!kv_open(name, &b, &e))
        return error_reply(&e);
    actor_reply r = with_bucket(cmd, b, has_rest, rest);
    kv_bucket_drop(b);
    return r;
}
