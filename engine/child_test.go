package engine_test

import (
	"testing"

	"github.com/airsstack/airssys-wasm-go/internal/childtest"
)

// inChild runs body in a child process (package childtest): a defect that
// aborts or crashes the process fails one test instead of the whole test
// binary. extraEnv is added to the child's environment.
func inChild(t *testing.T, extraEnv []string, body func(t *testing.T)) {
	t.Helper()
	childtest.Run(t, childtest.Options{Env: extraEnv}, body)
}

// inChildStack is inChild with the child's stack limit (ulimit -s, KiB):
// the threads the Go runtime creates, on which guests run, get stacks of
// that size.
func inChildStack(t *testing.T, stackKiB int, extraEnv []string, body func(t *testing.T)) {
	t.Helper()
	childtest.Run(t, childtest.Options{Env: extraEnv, StackKiB: stackKiB}, body)
}
