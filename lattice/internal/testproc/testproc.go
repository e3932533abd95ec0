// Package testproc helps the lattice's tests run other processes (host
// processes, nats-server). Used by tests only.
package testproc

import "os/exec"

// DieWithParent has cmd's process killed when the process that started it
// dies (on Linux; elsewhere it does nothing), so that a test binary killed
// by its -timeout leaves no server running with ports held. Call it before
// cmd.Start.
func DieWithParent(cmd *exec.Cmd) { dieWithParent(cmd) }
