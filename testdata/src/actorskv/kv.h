// kv.h: a small C API over the key-value imports of the world
// airssys:test-kv/kv-actor@0.1.0 (kv-actor.wit): wasi:keyvalue/store,
// atomics and batch at 0.2.0-draft2 (wit/wasi-keyvalue-0.2.0-draft2) and
// airssys:storage/usage@0.1.0 (wit/airssys-storage). kv_glue.c implements
// it by hand (canonical ABI, no libc), next to ../actors2/actor_glue2.c,
// whose memory and byte-string helpers it uses.
//
// Every call that can fail returns true for ok, or false with *err set:
// failures are values, nothing here traps on a refusal. Strings and lists
// that a call returns (values, keys, cursors, the text of an `other`
// error) are scratch memory, valid until the export call in progress
// returns. Handles (kv_bucket, kv_cas) are the host's: drop each one.
#ifndef KV_H
#define KV_H

#include "../actors2/actor_glue2.h"

// own<bucket> and own<cas>. 0 is never a valid one.
typedef uint32_t kv_bucket;
typedef uint32_t kv_cas;

// The cases of wasi:keyvalue/store.error, numbered as in the WIT.
enum { KV_NO_SUCH_STORE, KV_ACCESS_DENIED, KV_OTHER };

typedef struct {
    int code;          // KV_NO_SUCH_STORE, KV_ACCESS_DENIED or KV_OTHER
    actor_bytes other; // the text of other(string); empty for the others
} kv_error;

// "no-such-store", "access-denied" or "other:<text>" (scratch memory).
actor_bytes kv_error_text(const kv_error *e);

// --- store ----------------------------------------------------------------------

bool kv_open(actor_bytes identifier, kv_bucket *out, kv_error *err);
// [resource-drop]bucket.
void kv_bucket_drop(kv_bucket b);

// get: *found false when the key is absent; else *value is its value.
bool kv_get(kv_bucket b, actor_bytes key, bool *found, actor_bytes *value, kv_error *err);
bool kv_set(kv_bucket b, actor_bytes key, actor_bytes value, kv_error *err);
bool kv_delete(kv_bucket b, actor_bytes key, kv_error *err);
bool kv_exists(kv_bucket b, actor_bytes key, bool *out, kv_error *err);

// key-response.
typedef struct {
    const actor_bytes *keys; // list<string>: (ptr, len) pairs
    size_t n;
    bool has_cursor;
    actor_bytes cursor;
} kv_keys;

// list-keys: cursor NULL for none (the first page).
bool kv_list_keys(kv_bucket b, const actor_bytes *cursor, kv_keys *out, kv_error *err);

// --- atomics --------------------------------------------------------------------

bool kv_increment(kv_bucket b, actor_bytes key, int64_t delta, int64_t *out, kv_error *err);
// [static]cas.new.
bool kv_cas_new(kv_bucket b, actor_bytes key, kv_cas *out, kv_error *err);
// [method]cas.current: as kv_get.
bool kv_cas_current(kv_cas c, bool *found, actor_bytes *value, kv_error *err);
// [resource-drop]cas.
void kv_cas_drop(kv_cas c);

// What swap did.
enum { KV_SWAPPED, KV_SWAP_STORE_ERROR, KV_SWAP_CAS_FAILED };
// swap consumes c. KV_SWAP_STORE_ERROR sets *err; KV_SWAP_CAS_FAILED sets
// *failed to the cas the host handed back, which the caller must drop.
int kv_swap(kv_cas c, actor_bytes value, kv_error *err, kv_cas *failed);

// --- batch ----------------------------------------------------------------------

// One element of get-many's answer: option<tuple<string, list<u8>>>.
typedef struct {
    uint8_t some; // 0: none (key and value unset)
    actor_bytes key;
    actor_bytes value;
} kv_entry;

bool kv_get_many(kv_bucket b, const actor_bytes *keys, size_t n, const kv_entry **out,
                 size_t *n_out, kv_error *err);
// set-many: pairs are (key, value), the layout of tuple<string, list<u8>>.
bool kv_set_many(kv_bucket b, const actor_kv *pairs, size_t n, kv_error *err);
bool kv_delete_many(kv_bucket b, const actor_bytes *keys, size_t n, kv_error *err);

// --- airssys:storage/usage ------------------------------------------------------

typedef struct {
    uint64_t bytes, keys, max_bytes, max_keys, max_value_bytes;
} kv_quota;

bool kv_usage(kv_quota *out, kv_error *err);

#endif
