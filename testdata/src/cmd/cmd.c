// cmd: a WASI command (a C main) for `airssys-wasm run` and the engine's
// tests. Built twice: core_cmd.wasm (a preview1 command module, `_start`)
// and cmd.wasm (a component exporting wasi:cli/run, through the preview1
// command adapter).
//
//   cmd echo ARGS...   prints each argument, argv[0] included, one per line
//   cmd cat            copies stdin to stdout until end of file
//   cmd exit N         exits with status N at once
//   cmd spam N         writes N bytes to stdout, one write call per byte (the
//                      digits 0-9 repeated), and N to stderr as text at the end
//   cmd env NAME       prints the value of $NAME, or "<unset>"
//   cmd read PATH      copies the file at PATH to stdout; exit 1 when it cannot
// Anything else prints a usage line to stderr and exits with status 2.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int copy(int from) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(from, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)n) != 0)
            return -1;
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "echo") == 0) {
        for (int i = 0; i < argc; i++) {
            write_all(STDOUT_FILENO, argv[i], strlen(argv[i]));
            write_all(STDOUT_FILENO, "\n", 1);
        }
        return 0;
    }
    if (strcmp(mode, "cat") == 0)
        return copy(STDIN_FILENO) == 0 ? 0 : 1;
    if (strcmp(mode, "exit") == 0 && argc > 2)
        exit(atoi(argv[2]));
    if (strcmp(mode, "spam") == 0 && argc > 2) {
        long n = atol(argv[2]);
        long i = 0;
        for (; i < n; i++) {
            char c = (char)('0' + i % 10);
            if (write(STDOUT_FILENO, &c, 1) != 1)
                break;
        }
        char line[32];
        int len = snprintf(line, sizeof line, "%ld\n", i);
        write_all(STDERR_FILENO, line, (size_t)len);
        return 0;
    }
    if (strcmp(mode, "env") == 0 && argc > 2) {
        const char *v = getenv(argv[2]);
        if (v == NULL)
            v = "<unset>";
        write_all(STDOUT_FILENO, v, strlen(v));
        write_all(STDOUT_FILENO, "\n", 1);
        return 0;
    }
    if (strcmp(mode, "read") == 0 && argc > 2) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) {
            const char *e = strerror(errno);
            write_all(STDERR_FILENO, e, strlen(e));
            write_all(STDERR_FILENO, "\n", 1);
            return 1;
        }
        int rc = copy(fd);
        close(fd);
        return rc == 0 ? 0 : 1;
    }
    static const char usage[] = "usage: cmd echo|cat|exit N|spam N|env NAME|read PATH\n";
    write_all(STDERR_FILENO, usage, sizeof usage - 1);
    return 2;
}
