package security

// The audit log is bounded in bytes (issue #7, item 17).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func auditLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line is not JSON: %v\n%.300s", err, l)
		}
		out = append(out, m)
	}
	return out
}

// A guest-chosen target of 4 MiB is cut, with a marker, and the cut bytes
// are counted; five such denials write a few KiB, not 20 MiB.
func TestAuditTruncatesGuestStrings(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf).WithLimit(5, time.Hour)
	huge := strings.Repeat("x", 4<<20)
	for i := 0; i < 5; i++ {
		a.Denied("evil/x/1", "send", huge, "not granted: "+huge)
	}
	if buf.Len() > 5*(2*AuditFieldLimit+512) {
		t.Fatalf("5 denials with 4 MiB strings wrote %d bytes", buf.Len())
	}
	lines := auditLines(t, &buf)
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5", len(lines))
	}
	for _, l := range lines {
		target, _ := l["target"].(string)
		if !strings.HasPrefix(target, "xxxx") || !strings.Contains(target, "[cut ") || len(target) > AuditFieldLimit+64 {
			t.Fatalf("target not cut with a marker: %.200q (%d bytes)", target, len(target))
		}
		if reason, _ := l["reason"].(string); !strings.Contains(reason, "[cut ") {
			t.Fatalf("reason not cut: %.200q", reason)
		}
	}
	if got, min := a.DroppedBytes.Load(), uint64(5*2*(4<<20-AuditFieldLimit)); got < min {
		t.Errorf("DroppedBytes = %d, want at least %d", got, min)
	}
	// Events are cut too (a trap reason can hold a guest's error string).
	buf.Reset()
	a.Event("trapped", "evil/x/1", "handler failed: "+huge, "detail", huge)
	if buf.Len() > 3*AuditFieldLimit+512 || !strings.Contains(buf.String(), "[cut ") {
		t.Fatalf("event line of %d bytes: %.300s", buf.Len(), buf.String())
	}
	// A cut never splits a UTF-8 sequence.
	buf.Reset()
	a.Denied("c/c/1", "publish", "a"+strings.Repeat("é", AuditFieldLimit), "r")
	if l := auditLines(t, &buf); len(l) != 1 || strings.ContainsRune(l[0]["target"].(string), '\uFFFD') {
		t.Fatalf("cut inside a UTF-8 sequence: %v", l)
	}
}

// The byte budget per key holds back lines even when the line budget has
// room, and the next line written for the key reports what was held back.
func TestAuditBoundsBytesPerKey(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf).WithLimits(AuditLimits{Every: time.Hour, LinesPerKey: 100, BytesPerKey: 1000,
		Lines: 1000, Bytes: 1 << 20})
	target := strings.Repeat("t", 200)
	for i := 0; i < 50; i++ {
		a.Denied("evil/x/1", "send", target, "not granted")
	}
	if buf.Len() > 1000+2*AuditFieldLimit+512 {
		t.Fatalf("50 denials wrote %d bytes past a 1000-byte budget", buf.Len())
	}
	written := len(auditLines(t, &buf))
	if written == 0 || written >= 10 {
		t.Fatalf("%d lines written", written)
	}
	if a.Suppressed.Load() != uint64(50-written) || a.Denials.Load() != 50 {
		t.Fatalf("suppressed %d, denials %d, written %d", a.Suppressed.Load(), a.Denials.Load(), written)
	}
	if a.DroppedBytes.Load() < uint64((50-written)*len(target)) {
		t.Fatalf("DroppedBytes = %d", a.DroppedBytes.Load())
	}
	// Another key has its own budget.
	buf.Reset()
	a.Denied("other/x/1", "send", target, "not granted")
	if len(auditLines(t, &buf)) != 1 {
		t.Fatal("another key was held back by the first key's budget")
	}
}

// All keys together are bounded in lines and bytes: many components each
// denied once cannot flood the log either. The held-back counts reach the
// next line of each key when the window reopens.
func TestAuditBoundsAllKeysTogether(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	a := NewAudit(&buf).WithLimits(AuditLimits{Every: time.Second, LinesPerKey: 5, BytesPerKey: 1 << 20,
		Lines: 10, Bytes: 1 << 20})
	a.now = func() time.Time { return now }
	for i := 0; i < 100; i++ {
		a.Denied(fmt.Sprintf("c/%d/1", i), "send", "t", "not granted")
	}
	if n := len(auditLines(t, &buf)); n != 10 {
		t.Fatalf("%d lines from 100 keys, want the overall limit of 10", n)
	}
	if a.Suppressed.Load() != 90 {
		t.Fatalf("suppressed = %d, want 90", a.Suppressed.Load())
	}
	// Overall bytes: lines of about 300 bytes, 1000 bytes a window.
	buf.Reset()
	a2 := NewAudit(&buf).WithLimits(AuditLimits{Every: time.Second, LinesPerKey: 5, BytesPerKey: 1 << 20,
		Lines: 1000, Bytes: 1000})
	a2.now = func() time.Time { return now }
	for i := 0; i < 100; i++ {
		a2.Denied(fmt.Sprintf("c/%d/1", i), "send", strings.Repeat("t", 200), "not granted")
	}
	if buf.Len() > 1000+2*AuditFieldLimit+512 {
		t.Fatalf("100 keys wrote %d bytes past an overall budget of 1000", buf.Len())
	}
	// The next window: the first key's line reports the lines held back for it.
	now = now.Add(2 * time.Second)
	buf.Reset()
	a.Denied("c/50/1", "send", "t", "not granted")
	l := auditLines(t, &buf)
	if len(l) != 1 || l[0]["suppressed"] != float64(1) || l[0]["suppressed_bytes"] == float64(0) {
		t.Fatalf("the next line does not report the held-back line: %v", l)
	}
	buf.Reset()
	a.Denied("c/50/1", "send", "t", "not granted")
	if l := auditLines(t, &buf); len(l) != 1 || l[0]["suppressed"] != float64(0) || l[0]["suppressed_bytes"] != float64(0) {
		t.Fatalf("a held-back line is reported twice: %v", l)
	}
}
