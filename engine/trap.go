package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
)

// TrapKind says why a guest call stopped.
type TrapKind int

// The kinds of trap.
const (
	TrapOther TrapKind = iota
	TrapUnreachable
	TrapOutOfFuel
	TrapTimeout
	TrapCancelled
	TrapMemoryOutOfBounds
	TrapOutOfMemory
	TrapStackOverflow
	TrapHostFunction
	TrapIntegerDivideByZero
	TrapIntegerOverflow
	TrapBadConversion
	TrapIndirectCall
	TrapExit
)

var trapNames = [...]string{
	TrapOther: "trap", TrapUnreachable: "unreachable", TrapOutOfFuel: "out of fuel", TrapTimeout: "timeout",
	TrapCancelled: "cancelled", TrapMemoryOutOfBounds: "memory out of bounds", TrapOutOfMemory: "out of memory",
	TrapStackOverflow: "stack overflow", TrapHostFunction: "host function failed",
	TrapIntegerDivideByZero: "integer divide by zero", TrapIntegerOverflow: "integer overflow",
	TrapBadConversion: "bad conversion to integer", TrapIndirectCall: "bad indirect call", TrapExit: "exit",
}

func (k TrapKind) String() string {
	if int(k) < len(trapNames) {
		return trapNames[k]
	}
	return fmt.Sprintf("trap(%d)", int(k))
}

// Frame is one guest stack frame.
type Frame = wt.Frame

// Trap is a guest call (or instantiation) that did not complete. Match it
// with errors.As; errors.Is also sees ErrTimeout for timeouts, the context's
// error for cancellations, and the host function's error for host failures.
type Trap struct {
	Kind     TrapKind
	Func     string // the export called, or "instantiate"
	Message  string // Wasmtime's message
	Frames   []Frame
	ExitCode int // for TrapExit (a WASI proc_exit)
	cause    error
}

func (t *Trap) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine: %s: %s", t.Func, t.Kind)
	if t.Kind == TrapExit {
		fmt.Fprintf(&b, " with code %d", t.ExitCode)
	}
	if msg := summary(t.Message); msg != "" && t.Kind != TrapTimeout && t.Kind != TrapCancelled {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

// Unwrap returns ErrTimeout, the context error, or the host function error.
func (t *Trap) Unwrap() error { return t.cause }

// Backtrace formats the guest frames, innermost first.
func (t *Trap) Backtrace() string {
	var b strings.Builder
	for i, f := range t.Frames {
		name := f.Func
		if name == "" {
			name = fmt.Sprintf("func[%d]", f.FuncIndex)
		}
		fmt.Fprintf(&b, "%2d: %s!%s @0x%x\n", i, f.Module, name, f.ModuleOffset)
	}
	return b.String()
}

// summary reduces Wasmtime's multi-line message (context, wasm backtrace,
// "Caused by:" chain, Rust backtrace) to one line.
func summary(s string) string {
	if i := strings.Index(s, "Stack backtrace:"); i >= 0 {
		s = s[:i]
	}
	head, causes, _ := strings.Cut(s, "Caused by:")
	var parts []string
	if first, _, _ := strings.Cut(strings.TrimSpace(head), "\n"); first != "" &&
		!strings.HasPrefix(first, "error while executing at wasm backtrace") {
		parts = append(parts, strings.TrimSuffix(first, ":"))
	}
	for _, l := range strings.Split(causes, "\n") {
		l = strings.TrimSpace(l)
		if n, rest, ok := strings.Cut(l, ": "); ok && strings.Trim(n, "0123456789") == "" && n != "" {
			l = rest
		}
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ": ")
}

// newTrap classifies what Wasmtime reported.
func newTrap(fn string, ce *wt.CallError, ctx context.Context, hostErr error) *Trap {
	t := &Trap{Func: fn, Message: ce.Message, Frames: ce.Frames}
	switch {
	case ce.Stop == wt.StopTimeout:
		t.Kind, t.cause = TrapTimeout, ErrTimeout
	case ce.Stop == wt.StopCancelled:
		t.Kind = TrapCancelled
		if ctx != nil {
			t.cause = ctx.Err()
		}
		if t.cause == nil {
			t.cause = context.Canceled
		}
	case ce.HostFailed:
		t.Kind, t.cause = TrapHostFunction, hostErr
	case ce.HasExit:
		t.Kind, t.ExitCode = TrapExit, ce.ExitCode
	case ce.MemoryLimitHit:
		// The guest asked for more memory than its limit and then failed
		// (usually by aborting when the allocation came back empty).
		t.Kind = TrapOutOfMemory
	default:
		t.Kind = trapKindOf(ce)
	}
	return t
}

func trapKindOf(ce *wt.CallError) TrapKind {
	switch ce.Code {
	case wt.CodeUnreachable:
		return TrapUnreachable
	case wt.CodeOutOfFuel:
		return TrapOutOfFuel
	case wt.CodeInterrupt:
		return TrapTimeout
	case wt.CodeMemoryOutOfBounds, wt.CodeHeapMisaligned:
		return TrapMemoryOutOfBounds
	case wt.CodeStackOverflow:
		return TrapStackOverflow
	case wt.CodeIntegerDivisionByZero:
		return TrapIntegerDivideByZero
	case wt.CodeIntegerOverflow:
		return TrapIntegerOverflow
	case wt.CodeBadConversionToInteger:
		return TrapBadConversion
	case wt.CodeIndirectCallToNull, wt.CodeBadSignature, wt.CodeTableOutOfBounds:
		return TrapIndirectCall
	case wt.CodeAllocationTooLarge:
		return TrapOutOfMemory
	}
	m := ce.Message
	switch {
	case strings.Contains(m, "memory limit"), strings.Contains(m, "exceeds memory limits"), strings.Contains(m, "memory minimum size"),
		strings.Contains(m, "resource limit exceeded"), strings.Contains(m, "insufficient resources"):
		return TrapOutOfMemory
	}
	return TrapOther
}
