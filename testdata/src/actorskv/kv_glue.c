// kv_glue.c: hand-written canonical-ABI glue for the key-value imports of
// the world airssys:test-kv/kv-actor@0.1.0 (kv-actor.wit). See kv.h for
// the C API. Linked with ../actors2/actor_glue2.c, which provides the
// exports, cabi_realloc and scratch memory: every string and list an
// import returns here is allocated through cabi_realloc, so it is scratch,
// reset when the export call returns.
//
// Canonical ABI (wasm32, UTF-8), as used here. The core signatures were
// checked against the dummy module jco's componentEmbed makes for the
// world, the layouts by running the component under jco's transpiled
// bindings.
//   own<bucket>, own<cas>, borrow<bucket> -> i32 handle
//   string, list<T>       -> (ptr: i32, len: i32)
//   error (variant): u8 tag, then other's string at +4/+8: 12 bytes, align 4
//   Imports of wasi:keyvalue/store@0.2.0-draft2:
//     open (id ptr, len, ret)                   ret: result<bucket, error>:
//         tag @0, ok handle @4, err error @4 (string @8/@12)
//     [method]bucket.get (self, key ptr, len, ret)
//                                               ret: result<option<list<u8>>,
//         error>: tag @0; ok: option tag @4, list @8/@12; err: error @4
//     [method]bucket.set (self, key ptr, len, value ptr, len, ret)
//     [method]bucket.delete (self, key ptr, len, ret)
//                                               ret: result<_, error>: tag
//                                               @0, err error @4
//     [method]bucket.exists (self, key ptr, len, ret)
//                                               ret: result<bool, error>:
//                                               tag @0, ok u8 @4, err @4
//     [method]bucket.list-keys (self, cursor tag, ptr, len, ret)
//                                               ret: result<key-response,
//         error>: tag @0; ok: keys @4/@8, cursor option<string> tag @12,
//         ptr @16, len @20; err: error @4
//     [resource-drop]bucket (i32)
//   Imports of wasi:keyvalue/atomics@0.2.0-draft2:
//     [static]cas.new (bucket, key ptr, len, ret)  ret: as open
//     [method]cas.current (self, ret)           ret: as bucket.get
//     increment (bucket, key ptr, len, delta i64, ret)
//                                               ret: result<s64, error>:
//                                               tag @0, ok s64 @8, err
//                                               error @8 (string @12/@16)
//     swap (cas, value ptr, len, ret)           ret: result<_, cas-error>:
//         tag @0; err: cas-error tag @4 (0 store-error, 1 cas-failed),
//         error @8 (string @12/@16) or cas handle @8
//     [resource-drop]cas (i32)
//   Imports of wasi:keyvalue/batch@0.2.0-draft2 (ret: as for get/set):
//     get-many (bucket, keys ptr, len, ret)     ok: list @4/@8 of 20-byte
//         option<tuple<string, list<u8>>>: tag @0, key @4/@8, value
//         @12/@16
//     set-many (bucket, pairs ptr, len, ret)    pairs: 16 bytes each, key
//                                               @0/@4, value @8/@12
//     delete-many (bucket, keys ptr, len, ret)  keys: 8 bytes each
//   Imports of airssys:storage/usage@0.1.0:
//     usage (ret)                               ret: result<quota, error>:
//         tag @0; ok: bytes @8, keys @16, max-bytes @24, max-keys @32,
//         max-value-bytes @40 (u64 each); err: error @8 (string @12/@16)
#include "kv.h"

#define STORE(name)                                                                                \
    __attribute__((import_module("wasi:keyvalue/store@0.2.0-draft2"), import_name(name)))
#define ATOMICS(name)                                                                              \
    __attribute__((import_module("wasi:keyvalue/atomics@0.2.0-draft2"), import_name(name)))
#define BATCH(name)                                                                                \
    __attribute__((import_module("wasi:keyvalue/batch@0.2.0-draft2"), import_name(name)))
#define USAGE(name) __attribute__((import_module("airssys:storage/usage@0.1.0"), import_name(name)))
// Keeps every wrapper (and so its import) in the component, used or not,
// so that it imports the whole interfaces of the world.
#define KEEP __attribute__((used))

// --- imports -----------------------------------------------------------------------

STORE("open") extern void import_open(const uint8_t *id, size_t id_len, uint8_t *ret);
STORE("[method]bucket.get")
extern void import_get(kv_bucket b, const uint8_t *key, size_t key_len, uint8_t *ret);
STORE("[method]bucket.set")
extern void import_set(kv_bucket b, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len, uint8_t *ret);
STORE("[method]bucket.delete")
extern void import_delete(kv_bucket b, const uint8_t *key, size_t key_len, uint8_t *ret);
STORE("[method]bucket.exists")
extern void import_exists(kv_bucket b, const uint8_t *key, size_t key_len, uint8_t *ret);
STORE("[method]bucket.list-keys")
extern void import_list_keys(kv_bucket b, uint32_t has_cursor, const uint8_t *cursor,
                             size_t cursor_len, uint8_t *ret);
STORE("[resource-drop]bucket") extern void import_bucket_drop(kv_bucket b);

ATOMICS("[static]cas.new")
extern void import_cas_new(kv_bucket b, const uint8_t *key, size_t key_len, uint8_t *ret);
ATOMICS("[method]cas.current") extern void import_cas_current(kv_cas c, uint8_t *ret);
ATOMICS("increment")
extern void import_increment(kv_bucket b, const uint8_t *key, size_t key_len, int64_t delta,
                             uint8_t *ret);
ATOMICS("swap")
extern void import_swap(kv_cas c, const uint8_t *value, size_t value_len, uint8_t *ret);
ATOMICS("[resource-drop]cas") extern void import_cas_drop(kv_cas c);

BATCH("get-many")
extern void import_get_many(kv_bucket b, const actor_bytes *keys, size_t n, uint8_t *ret);
BATCH("set-many")
extern void import_set_many(kv_bucket b, const actor_kv *pairs, size_t n, uint8_t *ret);
BATCH("delete-many")
extern void import_delete_many(kv_bucket b, const actor_bytes *keys, size_t n, uint8_t *ret);

USAGE("usage") extern void import_usage(uint8_t *ret);

// --- layouts -----------------------------------------------------------------------

// error, as the host writes it.
typedef struct {
    uint8_t tag;
    actor_bytes other;
} wit_error;
_Static_assert(sizeof(wit_error) == 12, "error is 12 bytes");
_Static_assert(__builtin_offsetof(wit_error, other) == 4, "other's string at 4");

_Static_assert(sizeof(actor_bytes) == 8, "string is (ptr, len)");
_Static_assert(sizeof(actor_kv) == 16, "tuple<string, list<u8>> is 16 bytes");
_Static_assert(sizeof(kv_entry) == 20, "option<tuple<string, list<u8>>> is 20 bytes");
_Static_assert(__builtin_offsetof(kv_entry, key) == 4, "tuple at 4");
_Static_assert(__builtin_offsetof(kv_entry, value) == 12, "value at 12");

// Results whose ok and err payloads have 4-byte alignment: tag, then the
// payload at 4.
typedef struct {
    uint8_t tag; // 0 ok, 1 err
    union {
        wit_error err;
        uint32_t handle; // bucket, cas
        uint8_t flag;    // bool
        struct {
            uint8_t some;
            actor_bytes value;
        } opt; // option<list<u8>>
        struct {
            actor_bytes *keys;
            size_t n;
            uint8_t has_cursor;
            actor_bytes cursor;
        } keys; // key-response
        struct {
            const kv_entry *entries;
            size_t n;
        } many; // list<option<tuple<string, list<u8>>>>
        struct {
            uint8_t tag; // 0 store-error, 1 cas-failed
            union {
                wit_error err;
                kv_cas cas;
            } u;
        } cas_error;
    } u;
} ret4;
_Static_assert(__builtin_offsetof(ret4, u) == 4, "payload at 4");
_Static_assert(__builtin_offsetof(ret4, u.opt.value) == 8, "option's list at 8");
_Static_assert(__builtin_offsetof(ret4, u.keys.has_cursor) == 12, "cursor tag at 12");
_Static_assert(__builtin_offsetof(ret4, u.keys.cursor) == 16, "cursor at 16");
_Static_assert(__builtin_offsetof(ret4, u.cas_error.u) == 8, "cas-error payload at 8");
_Static_assert(sizeof(ret4) == 24, "the largest is result<key-response, error>");

// Results with a 64-bit payload (s64, quota): tag, then the payload at 8.
typedef struct {
    uint8_t tag;
    union {
        wit_error err;
        int64_t s64;
        kv_quota quota;
    } u;
} ret8;
_Static_assert(__builtin_offsetof(ret8, u) == 8, "payload at 8");
_Static_assert(sizeof(kv_quota) == 40, "quota is five u64");
_Static_assert(sizeof(ret8) == 48, "result<quota, error> is 48 bytes");

// The return area of every import above. Read before the next import call
// (no import calls back into the guest except through cabi_realloc, which
// does not touch it).
static union {
    uint8_t b[48];
    ret4 r4;
    ret8 r8;
} ret;

// --- helpers -----------------------------------------------------------------------

static bool fail(const wit_error *e, kv_error *err) {
    err->code = e->tag;
    err->other = e->tag == KV_OTHER ? e->other : (actor_bytes){0, 0};
    return false;
}

// A result<_, error> in ret.r4.
static bool unit4(kv_error *err) { return ret.r4.tag == 0 ? true : fail(&ret.r4.u.err, err); }

// A result<option<list<u8>>, error> in ret.r4.
static bool option4(bool *found, actor_bytes *value, kv_error *err) {
    if (ret.r4.tag != 0)
        return fail(&ret.r4.u.err, err);
    *found = ret.r4.u.opt.some != 0;
    *value = *found ? ret.r4.u.opt.value : (actor_bytes){0, 0};
    return true;
}

actor_bytes kv_error_text(const kv_error *e) {
    switch (e->code) {
    case KV_NO_SUCH_STORE:
        return ACTOR_LIT("no-such-store");
    case KV_ACCESS_DENIED:
        return ACTOR_LIT("access-denied");
    case KV_OTHER: {
        actor_buf b = {0};
        actor_buf_put(&b, ACTOR_LIT("other:"));
        actor_buf_put(&b, e->other);
        return actor_buf_bytes(&b);
    }
    default:
        return ACTOR_LIT("unknown");
    }
}

// --- store -------------------------------------------------------------------------

KEEP bool kv_open(actor_bytes identifier, kv_bucket *out, kv_error *err) {
    import_open(identifier.ptr, identifier.len, ret.b);
    if (ret.r4.tag != 0)
        return fail(&ret.r4.u.err, err);
    *out = ret.r4.u.handle;
    return true;
}

KEEP void kv_bucket_drop(kv_bucket b) { import_bucket_drop(b); }

KEEP bool kv_get(kv_bucket b, actor_bytes key, bool *found, actor_bytes *value, kv_error *err) {
    import_get(b, key.ptr, key.len, ret.b);
    return option4(found, value, err);
}

KEEP bool kv_set(kv_bucket b, actor_bytes key, actor_bytes value, kv_error *err) {
    import_set(b, key.ptr, key.len, value.ptr, value.len, ret.b);
    return unit4(err);
}

KEEP bool kv_delete(kv_bucket b, actor_bytes key, kv_error *err) {
    import_delete(b, key.ptr, key.len, ret.b);
    return unit4(err);
}

KEEP bool kv_exists(kv_bucket b, actor_bytes key, bool *out, kv_error *err) {
    import_exists(b, key.ptr, key.len, ret.b);
    if (ret.r4.tag != 0)
        return fail(&ret.r4.u.err, err);
    *out = ret.r4.u.flag != 0;
    return true;
}

KEEP bool kv_list_keys(kv_bucket b, const actor_bytes *cursor, kv_keys *out, kv_error *err) {
    if (cursor != 0)
        import_list_keys(b, 1, cursor->ptr, cursor->len, ret.b);
    else
        import_list_keys(b, 0, 0, 0, ret.b);
    if (ret.r4.tag != 0)
        return fail(&ret.r4.u.err, err);
    out->keys = ret.r4.u.keys.keys;
    out->n = ret.r4.u.keys.n;
    out->has_cursor = ret.r4.u.keys.has_cursor != 0;
    out->cursor = out->has_cursor ? ret.r4.u.keys.cursor : (actor_bytes){0, 0};
    return true;
}

// --- atomics -----------------------------------------------------------------------

KEEP bool kv_increment(kv_bucket b, actor_bytes key, int64_t delta, int64_t *out, kv_error *err) {
    import_increment(b, key.ptr, key.len, delta, ret.b);
    if (ret.r8.tag != 0)
        return fail(&ret.r8.u.err, err);
    *out = ret.r8.u.s64;
    return true;
}

KEEP bool kv_cas_new(kv_bucket b, actor_bytes key, kv_cas *out, kv_error *err) {
    import_cas_new(b, key.ptr, key.len, ret.b);
    if (ret.r4.tag != 0)
        return fail(&ret.r4.u.err, err);
    *out = ret.r4.u.handle;
    return true;
}

KEEP bool kv_cas_current(kv_cas c, bool *found, actor_bytes *value, kv_error *err) {
    import_cas_current(c, ret.b);
    return option4(found, value, err);
}

KEEP void kv_cas_drop(kv_cas c) { import_cas_drop(c); }

KEEP int kv_swap(kv_cas c, actor_bytes value, kv_error *err, kv_cas *failed) {
    import_swap(c, value.ptr, value.len, ret.b);
    if (ret.r4.tag == 0)
        return KV_SWAPPED;
    if (ret.r4.u.cas_error.tag == 0) {
        fail(&ret.r4.u.cas_error.u.err, err);
        return KV_SWAP_STORE_ERROR;
    }
    *failed = ret.r4.u.cas_error.u.cas;
    return KV_SWAP_CAS_FAILED;
}

// --- batch -------------------------------------------------------------------------

KEEP bool kv_get_many(kv_bucket b, const actor_bytes *keys, size_t n, const kv_entry **out,
                      size_t *n_out, kv_error *err) {
    import_get_many(b, n ? keys : 0, n, ret.b);
    if (ret.r4.tag != 0)
        return fail(&ret.r4.u.err, err);
    *out = ret.r4.u.many.entries;
    *n_out = ret.r4.u.many.n;
    return true;
}

KEEP bool kv_set_many(kv_bucket b, const actor_kv *pairs, size_t n, kv_error *err) {
    import_set_many(b, n ? pairs : 0, n, ret.b);
    return unit4(err);
}

KEEP bool kv_delete_many(kv_bucket b, const actor_bytes *keys, size_t n, kv_error *err) {
    import_delete_many(b, n ? keys : 0, n, ret.b);
    return unit4(err);
}

// --- airssys:storage/usage -----------------------------------------------------------

KEEP bool kv_usage(kv_quota *out, kv_error *err) {
    import_usage(ret.b);
    if (ret.r8.tag != 0)
        return fail(&ret.r8.u.err, err);
    *out = ret.r8.u.quota;
    return true;
}
