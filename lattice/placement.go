package lattice

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Candidate is a host placement may choose: its name and labels (from its
// heartbeats).
type Candidate struct {
	Name   string
	Labels map[string]string
}

// Constraint narrows where an app's actors may run: hosts whose labels
// include all of Labels, at most MaxPerHost of the ids on one host (0: no
// cap).
type Constraint struct {
	Labels     map[string]string
	MaxPerHost int
}

// Place assigns each id a host: rendezvous (highest random weight)
// hashing of the id with each candidate that meets c, the first in that
// order with room under c.MaxPerHost. Every host that knows the same
// candidates computes the same assignment, with no coordinator; losing a
// host moves only the ids it had (and, under a cap, the fewest others);
// a new host takes about its share. An id no candidate can take is left
// out of the result (nowhere to run: the caller reports it).
func Place(ids []actor.ID, hosts []Candidate, c Constraint) map[actor.ID]string {
	var ok []string
	for _, h := range hosts {
		if matches(h.Labels, c.Labels) {
			ok = append(ok, h.Name)
		}
	}
	slices.Sort(ok)
	ok = slices.Compact(ok)
	out := make(map[actor.ID]string, len(ids))
	if len(ok) == 0 {
		return out
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	load := map[string]int{}
	type ranked struct {
		host string
		w    uint64
	}
	rank := make([]ranked, len(ok))
	for _, id := range sorted {
		for i, h := range ok {
			rank[i] = ranked{h, weight(id, h)}
		}
		slices.SortFunc(rank, func(a, b ranked) int {
			switch {
			case a.w > b.w:
				return -1
			case a.w < b.w:
				return 1
			}
			return 0
		})
		for _, r := range rank {
			if c.MaxPerHost <= 0 || load[r.host] < c.MaxPerHost {
				out[id] = r.host
				load[r.host]++
				break
			}
		}
	}
	return out
}

// weight is the rendezvous weight of id on host.
func weight(id actor.ID, host string) uint64 {
	h := sha256.New()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(host))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
