// kvdraft.wasm: a freestanding C component of wasi:keyvalue 0.2.0-draft
// (world kv-draft in kvdraft.wit), for the host's support of the older
// draft: open, increment with a u64 delta, and list-keys with a u64 cursor.
// The canonical ABI by hand: results of imports come back through a return
// area; strings and lists the host returns are allocated with cabi_realloc
// (a bump arena reset after each export returns).
#include <stddef.h>
#include <stdint.h>

#define STORE(n) __attribute__((import_module("wasi:keyvalue/store@0.2.0-draft"), import_name(n)))
#define ATOMICS(n) __attribute__((import_module("wasi:keyvalue/atomics@0.2.0-draft"), import_name(n)))
#define EXPORT(n) __attribute__((export_name(n)))

STORE("open") extern void kv_open(const char *id, size_t len, void *ret);
STORE("[resource-drop]bucket") extern void kv_drop(uint32_t bucket);
STORE("[method]bucket.list-keys") extern void kv_list(uint32_t bucket, int32_t has_cursor, uint64_t cursor, void *ret);
ATOMICS("increment") extern void kv_increment(uint32_t bucket, const char *key, size_t len, uint64_t delta, void *ret);

static unsigned char heap[1 << 16];
static size_t top;

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
    (void)old;
    (void)old_size;
    top = (top + align - 1) & ~(align - 1);
    if (top + size > sizeof heap)
        __builtin_trap();
    void *p = heap + top;
    top += size;
    return p;
}

// result<_, error>-shaped return areas: error is variant { no-such-store,
// access-denied, other(string) }.
typedef struct {
    uint8_t tag;
    const char *ptr;
    size_t len;
} kv_error;

static union {
    struct {
        uint8_t tag;
        union {
            uint32_t handle;
            kv_error err;
        } u;
    } r;
    uint64_t align8;
} open_ret;

static union {
    struct {
        uint8_t tag;
        union {
            uint64_t value;
            kv_error err;
        } u;
    } r;
    uint64_t align8;
} inc_ret;

static union {
    struct {
        uint8_t tag;
        union {
            struct {
                struct {
                    const char *ptr;
                    size_t len;
                } *keys;
                size_t n;
                uint8_t has_cursor;
                uint64_t cursor;
            } ok;
            kv_error err;
        } u;
    } r;
    uint64_t align8;
} list_ret;

// The export's return area: result<u64, string>.
static union {
    struct {
        uint8_t tag;
        union {
            uint64_t value;
            struct {
                const char *ptr;
                size_t len;
            } err;
        } u;
    } r;
    uint64_t align8;
} ret;

static char errbuf[256];

static void *fail(const kv_error *e) {
    static const char *names[] = {"no-such-store", "access-denied", "other:"};
    size_t n = 0;
    const char *s = e->tag < 3 ? names[e->tag] : "?";
    while (*s && n < sizeof errbuf)
        errbuf[n++] = *s++;
    if (e->tag == 2)
        for (size_t i = 0; i < e->len && n < sizeof errbuf; i++)
            errbuf[n++] = e->ptr[i];
    ret.r.tag = 1;
    ret.r.u.err.ptr = errbuf;
    ret.r.u.err.len = n;
    return &ret;
}

static int open_c(uint32_t *bucket) {
    kv_open("c", 1, &open_ret);
    if (open_ret.r.tag != 0)
        return 0;
    *bucket = open_ret.r.u.handle;
    return 1;
}

EXPORT("run") void *run(uint64_t delta) {
    uint32_t b;
    if (!open_c(&b))
        return fail(&open_ret.r.u.err);
    kv_increment(b, "n", 1, delta, &inc_ret);
    kv_drop(b);
    if (inc_ret.r.tag != 0)
        return fail(&inc_ret.r.u.err);
    ret.r.tag = 0;
    ret.r.u.value = inc_ret.r.u.value;
    return &ret;
}

EXPORT("count-keys") void *count_keys(void) {
    uint32_t b;
    if (!open_c(&b))
        return fail(&open_ret.r.u.err);
    uint64_t n = 0, cursor = 0;
    int has = 0;
    for (;;) {
        kv_list(b, has, cursor, &list_ret);
        if (list_ret.r.tag != 0) {
            kv_drop(b);
            return fail(&list_ret.r.u.err);
        }
        n += list_ret.r.u.ok.n;
        top = 0; // the page's keys are no longer needed
        if (!list_ret.r.u.ok.has_cursor)
            break;
        has = 1;
        cursor = list_ret.r.u.ok.cursor;
    }
    kv_drop(b);
    ret.r.tag = 0;
    ret.r.u.value = n;
    return &ret;
}

EXPORT("cabi_post_run") void post_run(void *p) {
    (void)p;
    top = 0;
}

EXPORT("cabi_post_count-keys") void post_count(void *p) {
    (void)p;
    top = 0;
}
