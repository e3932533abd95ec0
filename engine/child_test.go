package engine_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childEnv names the test a re-executed test binary should run as a child.
const childEnv = "AIRSSYS_TEST_CHILD"

// inChild runs body in a child process (the test binary re-executed for
// this one test) and fails the test unless the child exits normally. A
// defect that aborts or crashes the process (a Rust panic, SIGSEGV, a Go
// panic on a foreign thread) then fails one test instead of killing the
// whole test binary. extraEnv is added to the child's environment; setup,
// when not nil, runs in the child before body (to lower an rlimit, say).
func inChild(t *testing.T, extraEnv []string, body func(t *testing.T)) {
	t.Helper()
	inChildStack(t, 0, extraEnv, body)
}

// inChildStack is inChild with the child's stack limit (ulimit -s, KiB)
// set before it starts, when stackKiB is not 0: the threads the Go runtime
// creates, on which guests run, get stacks of that size.
func inChildStack(t *testing.T, stackKiB int, extraEnv []string, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		body(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v", "-test.count=1"}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	if stackKiB > 0 {
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c",
			"ulimit -s " + strconv.Itoa(stackKiB) + ` && exec "$0" "$@"`, os.Args[0]}, args...)...)
	}
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name()), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child process for %s ended badly (%v):\n%s", t.Name(), err, tail(string(out), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
