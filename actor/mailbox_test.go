package actor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Many senders blocked on a tiny mailbox: every message arrives once, in
// per-sender order, and nobody is left waiting.
func TestMailboxBlockedSendersAllGetThrough(t *testing.T) {
	s := NewSystem(nil, Options{})
	c := newCell(s, Spec{ID: "t/m/1", MailboxSize: 2}, nil)
	const senders, each = 8, 500
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				env := &envelope{msg: Message{Payload: []byte(fmt.Sprintf("%d:%d", g, i))}}
				if err := c.push(context.Background(), env, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	next := make([]int, senders)
	got := 0
	deadline := time.Now().Add(10 * time.Second)
	for got < senders*each && time.Now().Before(deadline) {
		env := c.mbox.pop()
		if env == nil {
			select {
			case <-c.note:
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		var g, i int
		fmt.Sscanf(string(env.msg.Payload), "%d:%d", &g, &i)
		if i != next[g] {
			t.Fatalf("sender %d: got %d, want %d", g, i, next[g])
		}
		next[g]++
		got++
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("senders still blocked")
	}
	if got != senders*each {
		t.Fatalf("received %d of %d", got, senders*each)
	}
	if c.mbox.len() != 0 || len(c.mbox.buf) > 2 {
		t.Fatalf("mailbox left with %d, buffer %d", c.mbox.len(), len(c.mbox.buf))
	}
}

func TestMailboxGrowsOnlyAsNeeded(t *testing.T) {
	m := newMailbox(1024)
	if len(m.buf) != 0 {
		t.Fatal("an empty mailbox holds a buffer")
	}
	for i := 0; i < 100; i++ {
		if ok, _ := m.push(&envelope{}); !ok {
			t.Fatal("push refused")
		}
	}
	if len(m.buf) != 128 {
		t.Fatalf("buffer %d for 100 messages", len(m.buf))
	}
	for i := 0; i < 1024-100; i++ {
		m.push(&envelope{})
	}
	if ok, _ := m.push(&envelope{}); ok {
		t.Fatal("pushed past the limit")
	}
}
