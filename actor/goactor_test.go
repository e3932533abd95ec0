package actor_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Actors written in Go (testdata/src/goactor, with the guest package,
// built by testdata/build.sh): goactor_<name>.wasm.

// TestGoActorEcho: the Go echo actor replies with the text it got, and
// with the bytes when they are not UTF-8; it answers health.
func TestGoActorEcho(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "t/goecho/1", "goactor_echo"))
	if got := ask(t, sys, "t/goecho/1", "hello"); got != "hello" {
		t.Fatalf("echo replied %q", got)
	}
	if got := ask(t, sys, "t/goecho/1", ""); got != "" {
		t.Fatalf("echo of nothing replied %q", got)
	}
	big := strings.Repeat("héllo ", 20<<10)
	if got := ask(t, sys, "t/goecho/1", big); got != big {
		t.Fatalf("echo of %d bytes came back with %d", len(big), len(got))
	}
	bin := []byte{0xff, 0xfe, 0, 1, 2, 0x80, 'a'}
	r := request(t, sys, "t/goecho/1", actor.Message{Payload: bin, ContentType: "application/octet-stream"})
	if !bytes.Equal(r.Payload, bin) {
		t.Fatalf("echo of bytes replied %x", r.Payload)
	}
	if h, err := sys.Health(context.Background(), "t/goecho/1"); err != nil || h != actor.Healthy {
		t.Fatalf("health %v %v", h, err)
	}
}

// TestGoActorEchoManyMessages: 10,000 requests of varied sizes, so that
// the guest collects garbage inside export bodies many times.
func TestGoActorEchoManyMessages(t *testing.T) {
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "t/goecho/1", "goactor_echo"))
	n := 10000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		want := fmt.Sprintf("%d:%s", i, strings.Repeat("x", i%4096))
		if got := ask(t, sys, "t/goecho/1", want); got != want {
			t.Fatalf("message %d: echo replied %d bytes, want %d", i, len(got), len(want))
		}
	}
	st, err := sys.Stats("t/goecho/1")
	if err != nil || st.Handled != uint64(n) || st.State != actor.Running {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if c := rec.count(actor.EventStarted, "t/goecho/1"); c != 1 {
		t.Fatalf("started %d times (restarted?): %s", c, rec.logText())
	}
}

// TestGoActorCollectsGarbage: 400 requests near the message cap (400 MiB
// through the guest's heap in all, past the 128 MiB memory limit) pass
// only if the guest collects garbage between messages (automatic
// collection is off in a guest).
func TestGoActorCollectsGarbage(t *testing.T) {
	if testing.Short() {
		t.Skip("400 MiB through the guest")
	}
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "t/goecho/1", "goactor_echo"))
	big := strings.Repeat("y", actor.DefaultMaxMessageBytes-64)
	for i := range 400 {
		want := fmt.Sprintf("%04d", i) + big
		if got := ask(t, sys, "t/goecho/1", want); got != want {
			t.Fatalf("message %d: echo replied %d bytes, want %d", i, len(got), len(want))
		}
	}
	if c := rec.count(actor.EventStarted, "t/goecho/1"); c != 1 {
		t.Fatalf("started %d times (restarted?): %s", c, rec.logText())
	}
}

// TestGoActorSixteenMiB: the smallest memory limit the guide recommends
// for a Go actor (docs/go-actors.md) carries a long run of messages of up
// to 64 KiB without a trap (collections keep the heap in it).
func TestGoActorSixteenMiB(t *testing.T) {
	sys, rec := newSystem(t)
	s := spec(t, "t/goecho/16", "goactor_echo")
	s.Limits.MemoryLimit = 16 << 20
	deploy(t, sys, s)
	n := 20000
	if testing.Short() || raceEnabled {
		n = 4000
	}
	for i := range n {
		want := strings.Repeat("y", (i*7919)%(64<<10))
		if got := ask(t, sys, "t/goecho/16", want); got != want {
			t.Fatalf("message %d: %d bytes back, want %d", i, len(got), len(want))
		}
	}
	if c := rec.count(actor.EventStarted, "t/goecho/16"); c != 1 {
		t.Fatalf("%d starts: the instance did not last", c)
	}
}
