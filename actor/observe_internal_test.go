package actor

import (
	"testing"
	"time"
)

// TestHandleHistBuckets: a duration counts in the first bucket whose bound
// it does not pass; past the last bound, in the extra one.
func TestHandleHistBuckets(t *testing.T) {
	var h handleHist
	us := time.Microsecond
	for _, c := range []struct {
		d      time.Duration
		bucket int
	}{
		{0, 0}, {10 * us, 0}, {10*us + 1, 1}, {25 * us, 1}, {999 * us, 6}, {time.Millisecond, 6},
		{3 * time.Millisecond, 8}, {time.Second, 15}, {10 * time.Second, 18}, {10*time.Second + 1, 19},
		{time.Hour, 19},
	} {
		before := h.snapshot()
		h.observe(c.d)
		after := h.snapshot()
		for i := range after.Counts {
			want := before.Counts[i]
			if i == c.bucket {
				want++
			}
			if after.Counts[i] != want {
				t.Fatalf("%v: bucket %d has %d, want %d (expected in bucket %d)", c.d, i, after.Counts[i], want,
					c.bucket)
			}
		}
		if after.Sum-before.Sum != c.d || after.Count != before.Count+1 {
			t.Fatalf("%v: sum %v -> %v, count %d -> %d", c.d, before.Sum, after.Sum, before.Count, after.Count)
		}
	}
}

// TestParseTraceparent: version 00 only, lower-case hex, ids not all zero;
// the sampled flag is bit 0 of the flags.
func TestParseTraceparent(t *testing.T) {
	const id = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-"
	for _, c := range []struct {
		tp             string
		valid, sampled bool
	}{
		{id + "01", true, true}, {id + "00", true, false}, {id + "03", true, true}, {id + "02", true, false},
		{id + "ff", true, true}, {id + "fe", true, false}, {id + "0F", false, false}, {id + "0", false, false},
		{"", false, false}, {"01" + id[2:] + "01", false, false}, {id + "01-", false, false},
	} {
		if v, s := parseTraceparent(c.tp); v != c.valid || s != c.sampled {
			t.Errorf("%q: valid %v sampled %v, want %v %v", c.tp, v, s, c.valid, c.sampled)
		}
	}
	if n := testing.AllocsPerRun(100, func() { parseTraceparent(id + "01") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
