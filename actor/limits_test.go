package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/airsstack/airssys-wasm-go/actor"
)

const mib = 1 << 20

// Item 15: every guest-chosen field is capped at the host-function entry,
// and nothing oversized is queued.
func TestOversizedFieldsFromComponentsAreRefused(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/hostile/1", "actor_hostile"))
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	sub := spec(t, "test/counter/1", "actor_counter")
	sub.Subscriptions = []string{"news.>"}
	deploy(t, sys, sub)
	for _, tc := range []struct{ cmd, want string }{
		{"send|test/echo/1|0|0|1", "sent"},
		{fmt.Sprintf("send|test/echo/1|0|%d|1", 2*mib), "error:too-large"},        // content-type
		{"send|test/echo/1|0|4096|1", "error:too-large"},                          // over its own cap
		{fmt.Sprintf("send|test/hostile/1|0|%d|1", 2*mib), "error:too-large"},     // to itself
		{"send|test/echo/1|4000|1|1", "error:too-large"},                          // target id
		{fmt.Sprintf("send|test/echo/1|0|%d|%d", 100, mib-10), "error:too-large"}, // whole message
		{fmt.Sprintf("send|test/echo/1|0|0|%d", mib), "sent"},                     // the payload alone may be 1 MiB
		{fmt.Sprintf("ask|test/echo/1|0|%d|1", 2*mib), "error:too-large"},         // request
		{"ask|test/echo/1|4000|1|1", "error:too-large"},                           // request target
		{fmt.Sprintf("pub|news.eu|0|%d|1", 2*mib), "error:too-large"},             // publish content-type
		{fmt.Sprintf("pub|news.eu|%d|1|1", 2*mib), "error:too-large"},             // topic
		{"pub|news.eu|4096|1|1", "error:too-large"},                               // over its own cap
		{"pub|news.eu|0|4096|1", "error:too-large"},
		{fmt.Sprintf("pub|news.eu|0|%d|%d", 100, mib-10), "error:too-large"}, // whole message
		{"pub|news.eu|0|1|1", "published"},
	} {
		got, err := askErr(sys, "test/hostile/1", tc.cmd, 10*time.Second)
		if err != nil || got != tc.want {
			t.Errorf("%.40s: %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
	// Nothing oversized was queued anywhere: the echo handled the two
	// sends that were accepted, the counter the one publish.
	eventually(t, "accepted messages handled", func() bool {
		st, _ := sys.Stats("test/echo/1")
		return st.Handled == 2
	})
	if got := ask(t, sys, "test/counter/1", "get"); !strings.HasPrefix(got, "count=1 ") {
		t.Fatalf("counter: %q", got)
	}
	for _, id := range []actor.ID{"test/hostile/1", "test/echo/1", "test/counter/1"} {
		if st, _ := sys.Stats(id); st.MailboxDepth != 0 {
			t.Errorf("%s: %d queued", id, st.MailboxDepth)
		}
	}
	if _, n := sys.DeadLetters(); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

func TestOversizedFieldsFromGoAreRefused(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	ctx := context.Background()
	bigCT := strings.Repeat("c", 2*mib)
	longID := actor.ID("test/echo/" + strings.Repeat("x", 4000))
	for name, err := range map[string]error{
		"send content-type":    sys.Send(ctx, "test/echo/1", nil, bigCT),
		"send content-type 4K": sys.Send(ctx, "test/echo/1", nil, strings.Repeat("c", 4096)),
		"publish topic 4K":     sys.Publish(ctx, "news."+strings.Repeat("x", 4096), nil, ""),
		"send target":          sys.Send(ctx, longID, nil, ""),
		"send whole message":   sys.Send(ctx, "test/echo/1", make([]byte, mib-10), strings.Repeat("c", 100)),
		"publish content-type": sys.Publish(ctx, "news.eu", nil, bigCT),
		"publish topic":        sys.Publish(ctx, "news."+strings.Repeat("x", 2*mib), nil, ""),
		"publish whole":        sys.Publish(ctx, "news.eu", make([]byte, mib-10), strings.Repeat("c", 100)),
	} {
		if !errors.Is(err, actor.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}
	if _, err := sys.Request(ctx, "test/echo/1", nil, bigCT); !errors.Is(err, actor.ErrTooLarge) {
		t.Errorf("request content-type: %v", err)
	}
	if _, err := sys.Request(ctx, longID, nil, ""); !errors.Is(err, actor.ErrTooLarge) {
		t.Errorf("request target: %v", err)
	}
	// A subscriber's own cap applies to what is published to it.
	small := spec(t, "test/counter/1", "actor_counter")
	small.MaxMessageBytes = 16
	small.Subscriptions = []string{"news.>"}
	deploy(t, sys, small)
	if err := sys.Publish(ctx, "news.eu", make([]byte, 100), ""); !errors.Is(err, actor.ErrTooLarge) {
		t.Errorf("publish of 100 bytes to an actor that accepts 16: %v", err)
	}
	if err := sys.Publish(ctx, "news.eu", make([]byte, 8), ""); err != nil {
		t.Errorf("publish of 8 bytes: %v", err)
	}
	if got := ask(t, sys, "test/counter/1", "get"); !strings.HasPrefix(got, "count=1 ") {
		t.Errorf("counter: %q", got)
	}
	// At the limits everything still goes through.
	ct := strings.Repeat("c", actor.DefaultMaxContentTypeBytes)
	m, err := sys.Request(ctx, "test/echo/1", make([]byte, mib-len(ct)), ct)
	if err != nil || len(m.Payload) != mib-len(ct) {
		t.Fatalf("a message of exactly 1 MiB: %d bytes, %v", len(m.Payload), err)
	}
}

// Replies are capped on the way back: to a Go Request and to a component's
// handle-reply. A handler's error string is cut, not refused.
func TestOversizedRepliesAreRefused(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/hostile/1", "actor_hostile"))
	deploy(t, sys, spec(t, "test/agent/1", "actor_agent", "timeout-ms", "5000"))
	// The reply carries the request's content type ("text/plain"): 1 MiB
	// in all.
	if got, err := askErr(sys, "test/hostile/1", fmt.Sprintf("reply|%d", mib-10), 10*time.Second); err != nil ||
		len(got) != mib-10 {
		t.Fatalf("a reply of 1 MiB: %d bytes, %v", len(got), err)
	}
	got, err := askErr(sys, "test/hostile/1", fmt.Sprintf("reply|%d", 4*mib), 10*time.Second)
	if !errors.Is(err, actor.ErrTooLarge) || got != "" {
		t.Fatalf("a reply of 4 MiB reached a Go Request: %d bytes, %v", len(got), err)
	}
	// The dead letter of the refused reply does not keep its payload.
	dead, _ := sys.DeadLetters()
	if len(dead) != 1 || !errors.Is(dead[0].Reason, actor.ErrTooLarge) || len(dead[0].Message.Payload) != 0 {
		t.Fatalf("dead letters %+v", dead)
	}
	r := ask(t, sys, "test/agent/1", fmt.Sprintf("ask|test/hostile/1|reply|%d", 4*mib))
	id, ok := strings.CutPrefix(r, "asked:")
	if !ok {
		t.Fatalf("ask: %q", r)
	}
	agentReplies(t, sys, "test/agent/1", id+":err:too-large")
	// A requester's own cap (Spec.MaxMessageBytes) applies to its replies.
	small := spec(t, "test/agent/2", "actor_agent", "timeout-ms", "5000")
	small.MaxMessageBytes = 1024
	deploy(t, sys, small)
	for n, want := range map[int]string{1000: ":ok:rrr", 2000: ":err:too-large"} {
		r := ask(t, sys, "test/agent/2", fmt.Sprintf("ask|test/hostile/1|reply|%d", n))
		id, _ := strings.CutPrefix(r, "asked:")
		agentReplies(t, sys, "test/agent/2", id+want)
	}

	// The handler's error: cut with a marker, still valid UTF-8.
	_, err = askErr(sys, "test/hostile/1", fmt.Sprintf("fail|%d", 4*mib+1), 10*time.Second)
	var he *actor.HandlerError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v", err)
	}
	if len(he.Message) > actor.DefaultMaxErrorBytes+64 || !strings.Contains(he.Message, "[truncated") ||
		!utf8.ValidString(he.Message) || !strings.HasPrefix(he.Message, "éé") {
		t.Fatalf("handler error of %d bytes: %.80q…", len(he.Message), he.Message)
	}
	if _, err := askErr(sys, "test/hostile/1", "fail|11", 10*time.Second); !errors.As(err, &he) ||
		he.Message != "ééééé!" {
		t.Fatalf("a short handler error changed: %v", err)
	}
}

// Item 16: a plain Spec gets Options.MemoryLimit; a Spec's own limit wins.
func TestActorsGetADefaultMemoryLimit(t *testing.T) {
	grow := func(t *testing.T, sys *actor.System, id string, pages int) string {
		got, err := askErr(sys, id, fmt.Sprintf("grow|%d", pages), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/hostile/1", "actor_hostile"))
	over := int(actor.DefaultMemoryLimit>>16) + 1 // 64 KiB pages
	if got := grow(t, sys, "test/hostile/1", over); got != "refused" {
		t.Fatalf("growing past the default limit (%d MiB): %s", actor.DefaultMemoryLimit>>20, got)
	}
	if got := grow(t, sys, "test/hostile/1", 16); got != "grew" {
		t.Fatalf("growing by 1 MiB: %s", got)
	}

	sys2, _ := systemWith(t, actor.Options{MemoryLimit: 2 * mib})
	s := spec(t, "test/hostile/1", "actor_hostile")
	deploy(t, sys2, s)
	if got := grow(t, sys2, "test/hostile/1", 32); got != "refused" {
		t.Fatalf("growing by 2 MiB under Options.MemoryLimit 2 MiB: %s", got)
	}
	s.ID = "test/hostile/2"
	s.Limits.MemoryLimit = 8 * mib
	deploy(t, sys2, s)
	if got := grow(t, sys2, "test/hostile/2", 32); got != "grew" {
		t.Fatalf("growing by 2 MiB under Spec.Limits.MemoryLimit 8 MiB: %s", got)
	}
}

// Item 17: wasi:logging is bounded in bytes per second per actor, long
// strings are cut, and the drops are counted and reported.
func TestLoggingIsBoundedInBytes(t *testing.T) {
	const rate, burst = 16 << 10, 32 << 10
	sys, rec := systemWith(t, actor.Options{LogBytesPerSecond: rate, LogBurstBytes: burst})
	deploy(t, sys, spec(t, "test/hostile/1", "actor_hostile"))

	// One line with a huge context and message: both cut, with a marker.
	if _, err := askErr(sys, "test/hostile/1", "log|1|100000|100000", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(rec.logText(), "\n") {
		if strings.Contains(l, "mmmm") {
			line = l
		}
	}
	if m, k := strings.Count(line, "m"), strings.Count(line, "k"); m < 1000 || m > actor.DefaultMaxLogMessageBytes+20 ||
		k > actor.DefaultMaxLogContextBytes+20 || strings.Count(line, "[truncated") != 2 {
		t.Fatalf("a line of %d bytes (%d m, %d k): %.200s", len(line), m, k, line)
	}

	// A flood: 2000 lines of 1 KiB in one handler.
	before := linesWith(rec.logText(), "mmmm")
	start := time.Now()
	if _, err := askErr(sys, "test/hostile/1", "log|2000|8|1024", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	out := rec.logText()
	written := linesWith(out, "mmmm") - before
	// Each line costs more than its 1 KiB message, so the bucket lets
	// through at most (burst + rate*elapsed) / 1 KiB lines (+1 for rounding).
	if max := int((burst+float64(rate)*elapsed.Seconds())/1024) + 1; written > max || written == 0 {
		t.Fatalf("%d lines of 1 KiB written in %v (at most %d allowed)", written, elapsed, max)
	}
	st, _ := sys.Stats("test/hostile/1")
	if int(st.LogLinesDropped)+written != 2000 || st.LogBytesDropped < uint64(2000-written)*1024 {
		t.Fatalf("written %d, stats: %d lines / %d bytes dropped", written, st.LogLinesDropped, st.LogBytesDropped)
	}
	if !strings.Contains(out, "wasi:logging lines dropped") {
		t.Fatalf("no report of the dropped lines in:\n%.2000s", out)
	}
}

func linesWith(text, sub string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
