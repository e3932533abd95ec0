package security

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// AuditFieldLimit is the most bytes of one string an audit line carries:
// component ids, capabilities, targets, reasons, and the string (or error)
// values of an event's attributes. A longer string is cut at a UTF-8
// boundary at or before this length and ends with the marker
// "...[cut N bytes]", N being the bytes left out.
const AuditFieldLimit = 256

// AuditLimits bound the denial lines an Audit writes in each window. A
// window's lines stop when either budget is used up; the last line written
// may pass a byte budget by at most one line (a few KiB at worst, since
// every string in it is cut to AuditFieldLimit). A zero field keeps its
// default.
type AuditLimits struct {
	Every       time.Duration // length of a window; default 1s
	LinesPerKey int           // lines per (component, capability); default 5
	BytesPerKey int           // bytes per (component, capability); default 4 KiB
	Lines       int           // lines of all keys together; default 100
	Bytes       int           // bytes of all keys together; default 64 KiB
}

// DefaultAuditLimits are the limits NewAudit starts with.
var DefaultAuditLimits = AuditLimits{Every: time.Second, LinesPerKey: 5, BytesPerKey: 4 << 10, Lines: 100,
	Bytes: 64 << 10}

// Audit writes security events as JSON lines through log/slog: deploys,
// grants, every denial, traps and restarts, each with the component id and
// a reason.
//
// Every string in a line is cut to AuditFieldLimit bytes, so no guest can
// make a line large. Denials are rate-limited by lines and by bytes, per
// (component, capability) and for all of them together (AuditLimits): a
// guest that hammers a denied call gets a few lines a second, and what was
// held back is reported in the key's next line ("suppressed" lines and
// "suppressed_bytes") and counted in Suppressed and DroppedBytes, so the
// log stays bounded and the host stays fast. Other events (Event) are cut
// but never held back: what causes them (deploys, grants, traps and
// restarts, which supervision bounds) is not in a guest's hands alone.
type Audit struct {
	w   io.Writer
	now func() time.Time

	mu     sync.Mutex // guards everything below, and writing to w
	buf    bytes.Buffer
	h      slog.Handler // formats one line into buf
	limits AuditLimits
	keys   map[auditKey]*auditState
	all    auditState // the window of all keys together

	Denials    atomic.Uint64 // every denial, logged or not
	Suppressed atomic.Uint64 // denial lines held back
	// DroppedBytes counts the bytes of strings left out of the log: the
	// component, capability, target and reason of every line held back,
	// and the parts cut off long strings.
	DroppedBytes atomic.Uint64
}

type auditKey struct{ component, capability string }

type auditState struct {
	windowStart time.Time
	lines       int
	bytes       int
	held        uint64 // lines held back since the key's last line
	heldBytes   uint64 // their strings' bytes
}

// NewAudit writes JSON lines to w. A nil w discards (counters still count).
func NewAudit(w io.Writer) *Audit {
	if w == nil {
		w = io.Discard
	}
	a := &Audit{w: w, now: time.Now, limits: DefaultAuditLimits, keys: map[auditKey]*auditState{}}
	a.h = slog.NewJSONHandler(&a.buf, nil)
	return a
}

// WithLimit sets how many denial lines per key per window are written, and
// the window.
func (a *Audit) WithLimit(burst int, every time.Duration) *Audit {
	l := a.Limits()
	l.LinesPerKey, l.Every = burst, every
	return a.WithLimits(l)
}

// WithLimits sets the limits of denial lines; zero fields take the
// defaults.
func (a *Audit) WithLimits(l AuditLimits) *Audit {
	d := DefaultAuditLimits
	if l.Every <= 0 {
		l.Every = d.Every
	}
	if l.LinesPerKey <= 0 {
		l.LinesPerKey = d.LinesPerKey
	}
	if l.BytesPerKey <= 0 {
		l.BytesPerKey = d.BytesPerKey
	}
	if l.Lines <= 0 {
		l.Lines = d.Lines
	}
	if l.Bytes <= 0 {
		l.Bytes = d.Bytes
	}
	a.mu.Lock()
	a.limits = l
	a.mu.Unlock()
	return a
}

// Limits returns the limits in force.
func (a *Audit) Limits() AuditLimits {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limits
}

// Event records a non-denial security event (deploy, grant, trap, restart).
// attrs are key, value pairs; string and error values are cut like every
// other string.
func (a *Audit) Event(kind, component, reason string, attrs ...any) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := slog.NewRecord(a.now(), slog.LevelInfo, "audit", 0)
	r.AddAttrs(a.str("event", kind), a.str("component", component), a.str("reason", reason))
	for i := 0; i+1 < len(attrs); i += 2 {
		k, _ := attrs[i].(string)
		switch v := attrs[i+1].(type) {
		case string:
			r.AddAttrs(a.str(a.cut(k), v))
		case error:
			r.AddAttrs(a.str(a.cut(k), v.Error()))
		default:
			r.AddAttrs(slog.Any(a.cut(k), v))
		}
	}
	a.write(r)
}

// Denied records a refused capability use. It is cheap when rate-limited.
func (a *Audit) Denied(component, capability, target, reason string) {
	if a == nil {
		return
	}
	a.Denials.Add(1)
	raw := uint64(len(component) + len(capability) + len(target) + len(reason))
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	l := a.limits
	if now.Sub(a.all.windowStart) >= l.Every {
		a.all = auditState{windowStart: now}
	}
	st := a.state(component, capability, now)
	if now.Sub(st.windowStart) >= l.Every {
		st.windowStart, st.lines, st.bytes = now, 0, 0
	}
	if st.lines >= l.LinesPerKey || st.bytes >= l.BytesPerKey || a.all.lines >= l.Lines || a.all.bytes >= l.Bytes {
		st.held++
		st.heldBytes += raw
		a.Suppressed.Add(1)
		a.DroppedBytes.Add(raw)
		return
	}
	r := slog.NewRecord(now, slog.LevelWarn, "audit", 0)
	r.AddAttrs(slog.String("event", "denied"), a.str("component", component), a.str("capability", capability),
		a.str("target", target), a.str("reason", reason), slog.Uint64("suppressed", st.held),
		slog.Uint64("suppressed_bytes", st.heldBytes))
	n := a.write(r)
	st.held, st.heldBytes = 0, 0
	st.lines++
	st.bytes += n
	a.all.lines++
	a.all.bytes += n
}

// state finds or makes the window of a key. Called with a.mu held.
func (a *Audit) state(component, capability string, now time.Time) *auditState {
	k := auditKey{component, capability}
	if st := a.keys[k]; st != nil {
		return st
	}
	if len(a.keys) >= 10000 { // bound the table: forget the keys whose window is over
		for key, s := range a.keys {
			if now.Sub(s.windowStart) > a.limits.Every {
				delete(a.keys, key)
			}
		}
	}
	// Keep no reference to a long string the caller passed in.
	if len(k.component) > AuditFieldLimit || len(k.capability) > AuditFieldLimit {
		k.component, k.capability = cutString(k.component), cutString(k.capability)
		if st := a.keys[k]; st != nil {
			return st
		}
	}
	st := &auditState{windowStart: now}
	a.keys[k] = st
	return st
}

// write formats r as one JSON line, writes it and returns its length.
// Called with a.mu held.
func (a *Audit) write(r slog.Record) int {
	a.buf.Reset()
	_ = a.h.Handle(context.Background(), r)
	n := a.buf.Len()
	_, _ = a.w.Write(a.buf.Bytes())
	if a.buf.Cap() > 64<<10 { // do not keep an unusually large buffer
		a.buf = bytes.Buffer{}
	}
	return n
}

// str is a string attribute cut to AuditFieldLimit, counting what was cut.
func (a *Audit) str(key, value string) slog.Attr {
	if len(value) > AuditFieldLimit {
		a.DroppedBytes.Add(uint64(len(value) - cutLen(value)))
		value = cutString(value)
	}
	return slog.String(key, value)
}

func (a *Audit) cut(s string) string {
	if len(s) > AuditFieldLimit {
		a.DroppedBytes.Add(uint64(len(s) - cutLen(s)))
		return cutString(s)
	}
	return s
}

// cutLen is how many leading bytes of s a cut keeps: at most
// AuditFieldLimit, ending at a UTF-8 boundary.
func cutLen(s string) int {
	if len(s) <= AuditFieldLimit {
		return len(s)
	}
	n := AuditFieldLimit
	for n > 0 && n > AuditFieldLimit-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// cutString returns s cut to AuditFieldLimit bytes with the marker, as a
// new string (it keeps no reference to s).
func cutString(s string) string {
	n := cutLen(s)
	if n == len(s) {
		return s
	}
	return s[:n] + "...[cut " + strconv.Itoa(len(s)-n) + " bytes]"
}
