package lattice

import (
	"fmt"
	"testing"

	"github.com/airsstack/airssys-wasm-go/actor"
)

func ids(n int) []actor.ID {
	out := make([]actor.ID, n)
	for i := range out {
		out[i] = actor.ID(fmt.Sprintf("app/worker/%d", i+1))
	}
	return out
}

func hostsNamed(names ...string) []Candidate {
	out := make([]Candidate, len(names))
	for i, n := range names {
		out[i] = Candidate{Name: n}
	}
	return out
}

// TestPlaceSpreadsAndIsStable: 3,000 ids spread evenly over three hosts
// (each within 10% of a third), the same in any order of hosts and ids;
// losing a host moves only its ids, adding one takes about a quarter.
func TestPlaceSpreadsAndIsStable(t *testing.T) {
	all := ids(3000)
	p := Place(all, hostsNamed("a", "b", "c"), Constraint{})
	count := map[string]int{}
	for _, h := range p {
		count[h]++
	}
	for _, h := range []string{"a", "b", "c"} {
		if count[h] < 900 || count[h] > 1100 {
			t.Fatalf("spread %v", count)
		}
	}
	rev := make([]actor.ID, len(all))
	for i, id := range all {
		rev[len(all)-1-i] = id
	}
	q := Place(rev, hostsNamed("c", "a", "b", "a"), Constraint{})
	for id, h := range p {
		if q[id] != h {
			t.Fatalf("%s: %s, then %s in another order", id, h, q[id])
		}
	}
	// b dies: only b's ids move.
	r := Place(all, hostsNamed("a", "c"), Constraint{})
	for id, h := range p {
		if h != "b" && r[id] != h {
			t.Fatalf("%s moved from %s to %s though %s lives", id, h, r[id], h)
		}
		if r[id] == "" || r[id] == "b" {
			t.Fatalf("%s placed on %q", id, r[id])
		}
	}
	// d joins: it takes about a quarter, from every host.
	s := Place(all, hostsNamed("a", "b", "c", "d"), Constraint{})
	moved := 0
	for id, h := range p {
		if s[id] != h {
			if s[id] != "d" {
				t.Fatalf("%s moved from %s to %s, not to the new host", id, h, s[id])
			}
			moved++
		}
	}
	if moved < 600 || moved > 900 {
		t.Fatalf("%d of 3000 moved to the new host", moved)
	}
}

// TestPlaceConstraints: labels choose the hosts; a cap per host spreads
// the ids further; ids beyond every host's room, or with no host that
// matches, are left out.
func TestPlaceConstraints(t *testing.T) {
	hosts := []Candidate{{Name: "a", Labels: map[string]string{"zone": "eu", "gpu": "yes"}},
		{Name: "b", Labels: map[string]string{"zone": "eu"}}, {Name: "c", Labels: map[string]string{"zone": "us"}}}
	p := Place(ids(50), hosts, Constraint{Labels: map[string]string{"zone": "eu"}})
	for id, h := range p {
		if h == "c" {
			t.Fatalf("%s on c, which is not in zone eu", id)
		}
	}
	if len(p) != 50 {
		t.Fatalf("%d placed", len(p))
	}
	p = Place(ids(5), hosts, Constraint{MaxPerHost: 2})
	count := map[string]int{}
	for _, h := range p {
		count[h]++
	}
	if len(p) != 5 || count["a"] > 2 || count["b"] > 2 || count["c"] > 2 {
		t.Fatalf("cap 2: %v", count)
	}
	if p := Place(ids(7), hosts, Constraint{MaxPerHost: 2}); len(p) != 6 {
		t.Fatalf("7 ids, room for 6: %d placed", len(p))
	}
	if p := Place(ids(3), hosts, Constraint{Labels: map[string]string{"zone": "mars"}}); len(p) != 0 {
		t.Fatalf("placed on no matching host: %v", p)
	}
	if p := Place(ids(3), nil, Constraint{}); len(p) != 0 {
		t.Fatalf("placed with no host: %v", p)
	}
}
