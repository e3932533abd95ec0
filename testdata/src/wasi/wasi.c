// wasi.wasm: a WASI preview 2 component written in C.
//
// Built with wasi-libc as a preview1 reactor, then turned into a component
// with the WIT in wasi.wit (world wasi-guest) and the preview1 reactor
// adapter. The canonical-ABI glue below is written by hand.
//
// Canonical ABI reminders (wasm32):
//   string          -> (ptr: i32, len: i32), UTF-8
//   list<string>    -> (ptr: i32, len: i32), elements are 8-byte (ptr, len) pairs
//   option<string>  -> in memory: u8 tag @0, string @4 (size 12, align 4)
//   result<string, string>, result<_, string>: same shape as option<string>
// Every export whose results do not fit one core value returns a pointer to
// a static return area; its cabi_post_* function frees what it points to.
// Arguments are allocated by the host through cabi_realloc and owned (freed)
// by the callee.
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#define IFACE "airssys:test/wasi-probe@0.1.0#"
#define EXPORT(name) __attribute__((export_name(IFACE name)))
#define POST_RETURN(name) __attribute__((export_name("cabi_post_" IFACE name)))

typedef struct {
    char *ptr;
    size_t len;
} str_t;

// option<string>, result<string, string> and result<_, string> share this layout.
typedef struct {
    uint8_t tag;
    str_t val;
} tagged_str_t;

_Static_assert(sizeof(str_t) == 8, "string is (ptr, len)");
_Static_assert(offsetof(tagged_str_t, val) == 4, "payload of option/result<string> is at 4");
_Static_assert(sizeof(tagged_str_t) == 12, "option<string> is 12 bytes");

// One return area, shared by all exports (calls never overlap).
static union {
    str_t str;
    tagged_str_t tagged;
    uint64_t align8;
} ret_area;

// Allocation entry point for the host. Zero-sized requests still get a real
// block so that every pointer handed out can be passed to free().
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size,
                                                                 size_t align, size_t new_size) {
    (void)old_size;
    (void)align; // malloc's alignment (>= 8) covers every component type
    if (new_size == 0)
        new_size = 1;
    void *p = realloc(ptr, new_size);
    if (p == NULL)
        abort();
    return p;
}

static void *xmalloc(size_t n) { return cabi_realloc(NULL, 0, 1, n); }

// Copies (ptr, len) into a NUL-terminated heap string.
static char *cstr(const char *ptr, size_t len) {
    char *s = xmalloc(len + 1);
    memcpy(s, ptr, len);
    s[len] = '\0';
    return s;
}

static str_t str_dup(const char *s) {
    size_t len = strlen(s);
    str_t r = {xmalloc(len), len};
    memcpy(r.ptr, s, len);
    return r;
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

// Reads fd to end of file into a heap buffer; returns 0 or errno.
static int read_all(int fd, str_t *out) {
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = cabi_realloc(buf, len, 1, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno ? errno : EIO;
            free(buf);
            return err;
        }
        len += (size_t)n;
    }
    out->ptr = buf;
    out->len = len;
    return 0;
}

// Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid.
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    else if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int utf8_valid(const str_t *s) {
    const unsigned char *p = (const unsigned char *)s->ptr;
    for (size_t i = 0; i < s->len;) {
        size_t k = utf8_seq(p + i, s->len - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

// Replaces every byte that does not start a valid UTF-8 sequence with '?'.
static void utf8_sanitize(str_t *s) {
    unsigned char *p = (unsigned char *)s->ptr;
    for (size_t i = 0; i < s->len;) {
        size_t k = utf8_seq(p + i, s->len - i);
        if (k == 0) {
            p[i] = '?';
            k = 1;
        }
        i += k;
    }
}

// hello: func()
EXPORT("hello") void probe_hello(void) {
    static const char out[] = "hello from wasi\n";
    static const char err[] = "oops\n";
    (void)write_all(STDOUT_FILENO, out, sizeof out - 1);
    (void)write_all(STDERR_FILENO, err, sizeof err - 1);
}

// get-env: func(name: string) -> option<string>
EXPORT("get-env") tagged_str_t *probe_get_env(char *name_ptr, size_t name_len) {
    char *name = cstr(name_ptr, name_len);
    free(name_ptr);
    const char *v = getenv(name);
    free(name);
    ret_area.tagged.tag = v != NULL;
    if (v != NULL)
        ret_area.tagged.val = str_dup(v);
    return &ret_area.tagged;
}

POST_RETURN("get-env") void probe_get_env_post(tagged_str_t *r) {
    if (r->tag == 1)
        free(r->val.ptr);
}

// get-args: func() -> list<string>
EXPORT("get-args") str_t *probe_get_args(void) {
    __wasi_size_t argc = 0, buf_size = 0;
    str_t list = {xmalloc(0), 0};
    if (__wasi_args_sizes_get(&argc, &buf_size) == 0 && argc > 0) {
        char **argv = xmalloc(argc * sizeof(char *));
        char *buf = xmalloc(buf_size);
        if (__wasi_args_get((uint8_t **)argv, (uint8_t *)buf) == 0) {
            str_t *items = xmalloc(argc * sizeof(str_t));
            for (size_t i = 0; i < argc; i++)
                items[i] = str_dup(argv[i]);
            free(list.ptr);
            list.ptr = (char *)items;
            list.len = argc;
        }
        free(buf);
        free(argv);
    }
    ret_area.str = list;
    return &ret_area.str;
}

POST_RETURN("get-args") void probe_get_args_post(str_t *r) {
    str_t *items = (str_t *)r->ptr;
    for (size_t i = 0; i < r->len; i++)
        free(items[i].ptr);
    free(items);
}

// read-file: func(path: string) -> result<string, string>
EXPORT("read-file") tagged_str_t *probe_read_file(char *path_ptr, size_t path_len) {
    char *path = cstr(path_ptr, path_len);
    free(path_ptr);
    int fd = open(path, O_RDONLY);
    free(path);
    int err = 0;
    str_t content;
    if (fd < 0) {
        err = errno ? errno : EIO;
    } else {
        err = read_all(fd, &content);
        close(fd);
    }
    if (err != 0) {
        ret_area.tagged.tag = 1;
        ret_area.tagged.val = str_dup(strerror(err));
    } else if (!utf8_valid(&content)) {
        free(content.ptr);
        ret_area.tagged.tag = 1;
        ret_area.tagged.val = str_dup("file content is not valid UTF-8");
    } else {
        ret_area.tagged.tag = 0;
        ret_area.tagged.val = content;
    }
    return &ret_area.tagged;
}

POST_RETURN("read-file") void probe_read_file_post(tagged_str_t *r) { free(r->val.ptr); }

// write-file: func(path: string, data: string) -> result<_, string>
EXPORT("write-file")
tagged_str_t *probe_write_file(char *path_ptr, size_t path_len, char *data_ptr, size_t data_len) {
    char *path = cstr(path_ptr, path_len);
    free(path_ptr);
    int err = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    free(path);
    if (fd < 0) {
        err = errno ? errno : EIO;
    } else {
        err = write_all(fd, data_ptr, data_len);
        if (close(fd) != 0 && err == 0)
            err = errno ? errno : EIO;
    }
    free(data_ptr);
    ret_area.tagged.tag = err != 0;
    if (err != 0)
        ret_area.tagged.val = str_dup(strerror(err));
    return &ret_area.tagged;
}

POST_RETURN("write-file") void probe_write_file_post(tagged_str_t *r) {
    if (r->tag == 1)
        free(r->val.ptr);
}

// read-stdin: func() -> string
EXPORT("read-stdin") str_t *probe_read_stdin(void) {
    str_t s;
    if (read_all(STDIN_FILENO, &s) != 0)
        s = (str_t){xmalloc(0), 0};
    utf8_sanitize(&s);
    ret_area.str = s;
    return &ret_area.str;
}

POST_RETURN("read-stdin") void probe_read_stdin_post(str_t *r) { free(r->ptr); }

// spam: func(fd: u32, n: u32) -> u32
EXPORT("spam") uint32_t probe_spam(uint32_t fd, uint32_t n) {
    uint32_t i = 0;
    for (; i < n; i++) {
        char c = (char)('0' + i % 10);
        if (write((int)fd, &c, 1) != 1)
            break;
    }
    return i;
}

// Two paths in, result<_, string> out (strerror text); frees its arguments.
static tagged_str_t *path_op(int (*op)(const char *, const char *), char *a_ptr, size_t a_len, char *b_ptr,
                             size_t b_len) {
    char *a = cstr(a_ptr, a_len), *b = cstr(b_ptr, b_len);
    free(a_ptr);
    free(b_ptr);
    int err = op(a, b) == 0 ? 0 : (errno ? errno : EIO);
    free(a);
    free(b);
    ret_area.tagged.tag = err != 0;
    if (err != 0)
        ret_area.tagged.val = str_dup(strerror(err));
    return &ret_area.tagged;
}

// rename: func(old: string, new: string) -> result<_, string>
EXPORT("rename") tagged_str_t *probe_rename(char *a, size_t al, char *b, size_t bl) {
    return path_op(rename, a, al, b, bl);
}

POST_RETURN("rename") void probe_rename_post(tagged_str_t *r) {
    if (r->tag == 1)
        free(r->val.ptr);
}

// symlink: func(target: string, path: string) -> result<_, string>
EXPORT("symlink") tagged_str_t *probe_symlink(char *a, size_t al, char *b, size_t bl) {
    return path_op(symlink, a, al, b, bl);
}

POST_RETURN("symlink") void probe_symlink_post(tagged_str_t *r) {
    if (r->tag == 1)
        free(r->val.ptr);
}
