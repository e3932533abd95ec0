// core_wasi.wasm: a WASI preview1 core module built as a reactor.
//
// The host must call the exported `_initialize` once after instantiation
// (it runs wasi-libc's constructors, which also read the preopens).
//
//   hello()          writes "hello from wasi\n" to stdout and "oops\n" to stderr
//   print_env()      writes $GREETING followed by "\n" to stdout, or "<unset>\n"
//   read_file()  i32 copies /data/in.txt to stdout; 0 or an errno value
//   write_file() i32 writes "written\n" to /data/out.txt (created/truncated); 0 or errno
//   spam(fd, n)  i32 writes n bytes to fd (1 or 2), one write per byte, the digits 0-9
//                    repeated; returns how many were written before the first error
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT(name) __attribute__((export_name(name)))

// Writes the whole buffer to fd; returns 0 or errno.
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

static void put(int fd, const char *s) { (void)write_all(fd, s, strlen(s)); }

EXPORT("hello") void hello(void) {
    put(STDOUT_FILENO, "hello from wasi\n");
    put(STDERR_FILENO, "oops\n");
}

EXPORT("print_env") void print_env(void) {
    const char *v = getenv("GREETING");
    if (v == NULL) {
        put(STDOUT_FILENO, "<unset>\n");
        return;
    }
    put(STDOUT_FILENO, v);
    put(STDOUT_FILENO, "\n");
}

EXPORT("read_file") int read_file(void) {
    int fd = open("/data/in.txt", O_RDONLY);
    if (fd < 0)
        return errno ? errno : EIO;
    char buf[4096];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = errno ? errno : EIO;
            break;
        }
        rc = write_all(STDOUT_FILENO, buf, (size_t)n);
        if (rc != 0)
            break;
    }
    close(fd);
    return rc;
}

EXPORT("write_file") int write_file(void) {
    int fd = open("/data/out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return errno ? errno : EIO;
    static const char msg[] = "written\n";
    int rc = write_all(fd, msg, sizeof msg - 1);
    if (close(fd) != 0 && rc == 0)
        rc = errno ? errno : EIO;
    return rc;
}

EXPORT("spam") int spam(int fd, int n) {
    int i = 0;
    for (; i < n; i++) {
        char c = (char)('0' + i % 10);
        if (write(fd, &c, 1) != 1)
            break;
    }
    return i;
}
