package telemetry

import "github.com/airsstack/airssys-wasm-go/actor"

// countsOfObserved reads the counters of the runtime's instrumentation
// (actor/observe.go): traps by kind, denied calls, handling times.
func countsOfObserved(c *counts, st *actor.Stats) {
	c.traps = st.Traps
	c.denied = st.Denied
	if h := st.HandleTime; h.Counts != nil {
		c.hist = hist{bounds: h.Bounds, counts: h.Counts, sum: h.Sum, count: h.Count}
	}
}
