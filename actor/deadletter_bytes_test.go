package actor_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Dead letters hold at most Options.DeadLetterBytes of payload: a guest
// whose messages fail cannot park DeadLetterLimit times the largest message
// in host memory. The newest letters keep their payloads; older ones keep
// only their length.
func TestDeadLettersAreBoundedInBytes(t *testing.T) {
	sys := actor.NewSystem(eng0(t), actor.Options{DeadLetterLimit: 50, DeadLetterBytes: 100 << 10})
	defer sys.Shutdown(context.Background())
	// Messages to an unknown actor's Go subscription that is full become
	// dead letters with their payloads: publish to a subscription of
	// capacity 1 that nobody reads.
	sub, err := sys.Subscribe("dl.>", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	payload := bytes.Repeat([]byte("p"), 30<<10)
	for n := 0; n < 40; n++ {
		sys.Publish(context.Background(), "dl.x", payload, "")
	}
	dead, total := sys.DeadLetters()
	if total != 39 || len(dead) != 39 {
		t.Fatalf("%d dead letters kept, %d in all; want 39", len(dead), total)
	}
	held, kept := 0, 0
	for i, d := range dead {
		held += len(d.Message.Payload)
		if d.Message.Payload != nil {
			kept++
			if d.PayloadDropped {
				t.Fatalf("letter %d has its payload and PayloadDropped", i)
			}
		} else if !d.PayloadDropped || d.PayloadLen != len(payload) {
			t.Fatalf("letter %d: dropped %v, length %d", i, d.PayloadDropped, d.PayloadLen)
		}
	}
	if held > 100<<10 || kept != 3 {
		t.Fatalf("dead letters hold %d bytes in %d payloads; want at most %d, the newest 3", held, kept, 100<<10)
	}
	if dead[len(dead)-1].Message.Payload == nil || dead[0].Message.Payload != nil {
		t.Fatal("the newest letter lost its payload, or the oldest kept it")
	}
	// Past the ring's size, overwritten letters give their bytes back.
	for n := 0; n < 100; n++ {
		sys.Publish(context.Background(), "dl.x", payload, "")
	}
	dead, _ = sys.DeadLetters()
	held = 0
	for _, d := range dead {
		held += len(d.Message.Payload)
	}
	if len(dead) != 50 || held != 3*len(payload) {
		t.Fatalf("after wrapping: %d letters holding %d bytes, want 50 holding %d", len(dead), held, 3*len(payload))
	}
}

// The accounting stays exact when the letter being overwritten still holds
// its payload.
func TestDeadLetterBytesWhenTheRingWraps(t *testing.T) {
	sys := actor.NewSystem(eng0(t), actor.Options{DeadLetterLimit: 2, DeadLetterBytes: 60 << 10})
	defer sys.Shutdown(context.Background())
	sub, err := sys.Subscribe("dl.>", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sys.Publish(context.Background(), "dl.x", nil, "") // fills the subscription
	for _, n := range []int{30 << 10, 30 << 10, 40 << 10, 40 << 10, 10 << 10} {
		sys.Publish(context.Background(), "dl.x", bytes.Repeat([]byte("p"), n), "")
		dead, _ := sys.DeadLetters()
		held := 0
		for _, d := range dead {
			held += len(d.Message.Payload)
		}
		if held > 60<<10 || dead[len(dead)-1].Message.Payload == nil {
			t.Fatalf("after a %d-byte letter: %d bytes held (limit %d), newest kept: %v", n, held, 60<<10,
				dead[len(dead)-1].Message.Payload != nil)
		}
	}
}
