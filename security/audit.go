package security

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Audit writes security events as JSON lines through log/slog: deploys,
// grants, every denial, traps and restarts, each with the component id and
// a reason. Denials are rate-limited per (component, capability): a guest
// that hammers a denied call gets a few lines a second, and the lines that
// were held back are counted in the next one ("suppressed"), so the log
// stays bounded and the host stays fast.
type Audit struct {
	log   *slog.Logger
	burst int           // lines per key per window
	every time.Duration // window

	mu   sync.Mutex
	keys map[auditKey]*auditState

	Denials    atomic.Uint64 // every denial, logged or not
	Suppressed atomic.Uint64 // denials held back
}

type auditKey struct{ component, capability string }

type auditState struct {
	windowStart time.Time
	inWindow    int
	held        uint64
}

// NewAudit writes JSON lines to w. A nil w discards (counters still count).
func NewAudit(w io.Writer) *Audit {
	if w == nil {
		w = io.Discard
	}
	return &Audit{log: slog.New(slog.NewJSONHandler(w, nil)), burst: 5, every: time.Second,
		keys: map[auditKey]*auditState{}}
}

// WithLimit sets how many denial lines per key per window are written.
func (a *Audit) WithLimit(burst int, every time.Duration) *Audit {
	a.burst, a.every = burst, every
	return a
}

// Event records a non-denial security event (deploy, grant, trap, restart).
func (a *Audit) Event(kind, component, reason string, attrs ...any) {
	if a == nil {
		return
	}
	a.log.LogAttrs(context.Background(), slog.LevelInfo, "audit",
		append([]slog.Attr{slog.String("event", kind), slog.String("component", component),
			slog.String("reason", reason)}, toAttrs(attrs)...)...)
}

// Denied records a refused capability use. It is cheap when rate-limited.
func (a *Audit) Denied(component, capability, target, reason string) {
	if a == nil {
		return
	}
	a.Denials.Add(1)
	now := time.Now()
	k := auditKey{component, capability}
	a.mu.Lock()
	st := a.keys[k]
	if st == nil {
		if len(a.keys) >= 10000 { // bound the table: forget the oldest windows
			for key, s := range a.keys {
				if now.Sub(s.windowStart) > a.every {
					delete(a.keys, key)
				}
			}
		}
		st = &auditState{windowStart: now}
		a.keys[k] = st
	}
	if now.Sub(st.windowStart) >= a.every {
		st.windowStart, st.inWindow = now, 0
	}
	if st.inWindow >= a.burst {
		st.held++
		a.mu.Unlock()
		a.Suppressed.Add(1)
		return
	}
	st.inWindow++
	held := st.held
	st.held = 0
	a.mu.Unlock()
	a.log.LogAttrs(context.Background(), slog.LevelWarn, "audit",
		slog.String("event", "denied"), slog.String("component", component),
		slog.String("capability", capability), slog.String("target", target), slog.String("reason", reason),
		slog.Uint64("suppressed", held))
}

func toAttrs(kv []any) []slog.Attr {
	var out []slog.Attr
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		out = append(out, slog.Any(k, kv[i+1]))
	}
	return out
}
