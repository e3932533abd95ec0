package actor

import (
	"errors"
	"fmt"
	"testing"
)

func TestDeadLettersKeepTheMostRecent(t *testing.T) {
	s := NewSystem(nil, Options{DeadLetterLimit: 3})
	for i := 0; i < 5; i++ {
		s.deadLetter("a/b/c", Message{Payload: []byte(fmt.Sprint(i))}, errors.New("x"))
	}
	got, total := s.DeadLetters()
	if total != 5 || len(got) != 3 {
		t.Fatalf("total %d, kept %d", total, len(got))
	}
	for i, d := range got {
		if string(d.Message.Payload) != fmt.Sprint(i+2) {
			t.Fatalf("kept %d = %q, want the last three in order", i, d.Message.Payload)
		}
	}
}
