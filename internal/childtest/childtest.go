// Package childtest runs the body of a test in a child process: the test
// binary run again for that one test. A defect that aborts or crashes the
// process (a Rust panic, SIGSEGV, a Go panic on a foreign thread, running
// out of memory) then fails one test instead of killing the whole test
// binary, and a child can be given limits (a small stack, a capped address
// space) that the rest of the tests must not run under. Used by tests only.
package childtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// env names the test a re-executed test binary runs as a child.
const env = "AIRSSYS_TEST_CHILD"

// Options are the child's limits.
type Options struct {
	// Env is added to the child's environment.
	Env []string
	// StackKiB, when not 0, is the child's stack limit (ulimit -s), set
	// before it starts: the threads the Go runtime creates get stacks of
	// that size.
	StackKiB int
	// AddressSpace, when not 0, caps the child's address space (RLIMIT_AS)
	// at what it maps when body starts plus this many bytes.
	AddressSpace uint64
	// Timeout bounds the child (default 3 minutes).
	Timeout time.Duration
}

// Run runs body in a child process and fails t unless the child's test
// passes; in the child, it runs body. Call it first thing in a top-level
// test.
func Run(t *testing.T, o Options, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(env) == t.Name() {
		if o.AddressSpace > 0 {
			if err := capAddressSpace(o.AddressSpace); err != nil {
				t.Fatalf("cannot cap the address space: %v", err)
			}
		}
		body(t)
		return
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v", "-test.count=1"}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	if o.StackKiB > 0 {
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c",
			"ulimit -s " + strconv.Itoa(o.StackKiB) + ` && exec "$0" "$@"`, os.Args[0]}, args...)...)
	}
	cmd.Env = append(append(os.Environ(), env+"="+t.Name()), o.Env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the child process for %s did not end within %v:\n%s", t.Name(), o.Timeout, tail(string(out)))
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the child process for %s ended badly (%v):\n%s", t.Name(), err, tail(string(out)))
	}
}

func tail(s string) string {
	const n = 4000
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// capAddressSpace limits the process's address space to what it maps now
// plus extra bytes.
func capAddressSpace(extra uint64) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`VmSize:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		return errors.New("no VmSize in /proc/self/status")
	}
	kb, err := strconv.ParseUint(string(m[1]), 10, 64)
	if err != nil {
		return fmt.Errorf("VmSize: %w", err)
	}
	limit := kb*1024 + extra
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit})
}
