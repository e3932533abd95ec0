package actor_test

import (
	"errors"
	"testing"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Item 14: ids become storage keys and paths: no "." or ".." segments.
func TestParseIDRefusesDotSegments(t *testing.T) {
	for _, bad := range []string{"a/../b", "../b/c", "a/b/..", "a/./b", "./b/c", "a/b/.", "a/b", "a//b",
		"a/b/c/d", "a/b/c d"} {
		if _, err := actor.ParseID(bad); !errors.Is(err, actor.ErrBadID) {
			t.Errorf("ParseID(%q): %v", bad, err)
		}
	}
	for _, ok := range []string{"a/b/c", "a.b/c..d/...", "app/orders/1", "x/.hidden/y", "A-1/b_2/c.3"} {
		if _, err := actor.ParseID(ok); err != nil {
			t.Errorf("ParseID(%q): %v", ok, err)
		}
	}
}
