package security

// Subscription coverage (issue #7, item 12): the runtime check and the
// policy agree with what each pattern can match.

import (
	"strings"
	"testing"
)

func subscribeGrants(t testing.TB, granted ...string) *Grants {
	t.Helper()
	return newGrants("x", Unknown, Capabilities{Subscribe: granted}, Resources{})
}

func TestAllowSubscribeNeedsAGrantCoveringThePattern(t *testing.T) {
	for _, c := range []struct {
		grant, asked string
		want         bool
	}{
		{"news.*", "news.>", false},
		{"*", ">", false},
		{"news.*", "news.*", true},
		{"news.*", "news.sport", true},
		{"news.*", "news.sport.x", false},
		{"news.*", "*.sport", false},
		{"news.>", "news.>", true},
		{"news.>", "news.*", true},
		{"news.>", "news.*.x.>", true},
		{"news.>", "news", false},
		{"news.>", ">", false},
		{"news.*.x", "news.*.x", true},
		{"news.*.x", "news.*.>", false},
		{"*.*", "*.>", false},
		{"*.>", "*.*.*", true},
		{">", ">", true},
		{">", "a.*.>", true},
		{"news.sport", "news.sport", true},
		{"news.sport", "news.*", false},
		{"news.sport", "news.>", false},
	} {
		if got := subscribeGrants(t, c.grant).AllowSubscribe(c.asked); got != c.want {
			t.Errorf("grant %q, subscribe %q: allowed = %v, want %v", c.grant, c.asked, got, c.want)
		}
	}
}

// The runtime check agrees with what every topic the pattern can match says:
// a pattern is allowed exactly when each topic it matches is matched by
// a granted pattern. Topics are enumerated over a small alphabet, long
// enough that no pattern here can hide a difference.
func TestAllowSubscribeAgreesWithTopicSemantics(t *testing.T) {
	pats := []string{">", "*", "a", "b", "a.>", "*.>", "a.*", "*.a", "*.*", "a.b", "a.*.>", "*.*.>", "a.*.b",
		"*.b.>", "a.b.>", "a.b.c", "*.*.*"}
	var topics []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		if depth == 0 {
			return
		}
		for _, tok := range []string{"a", "b", "c", "z"} {
			topic := tok
			if prefix != "" {
				topic = prefix + "." + tok
			}
			topics = append(topics, topic)
			gen(topic, depth-1)
		}
	}
	gen("", 5)
	for _, g := range pats {
		grants := subscribeGrants(t, g)
		for _, a := range pats {
			covered := true
			for _, topic := range topics {
				if matchTopic(a, topic) && !matchTopic(g, topic) {
					covered = false
					break
				}
			}
			if got := grants.AllowSubscribe(a); got != covered {
				t.Errorf("grant %q, subscribe %q: AllowSubscribe = %v, but every-topic coverage is %v", g, a, got,
					covered)
			}
			if got := subjectCovers(g, a); got != covered {
				t.Errorf("grant %q, subscribe %q: policy subjectCovers = %v, want %v", g, a, got, covered)
			}
		}
	}
}

// matchTopic is an independent, allocating reference matcher.
func matchTopic(pattern, topic string) bool {
	ps, ts := strings.Split(pattern, "."), strings.Split(topic, ".")
	for i, p := range ps {
		if p == ">" {
			return len(ts) > i
		}
		if i >= len(ts) || (p != "*" && p != ts[i]) {
			return false
		}
	}
	return len(ps) == len(ts)
}

func TestAllowSubscribeDoesNotAllocate(t *testing.T) {
	g := subscribeGrants(t, "orders.created", "news.*.eu", "billing.>", "audit.*")
	allocs := testing.AllocsPerRun(1000, func() {
		sinkBool = g.AllowSubscribe("billing.*.>") && !g.AllowSubscribe("news.>") && g.AllowSubscribe("orders.created")
	})
	if allocs != 0 {
		t.Errorf("AllowSubscribe allocates %.1f times per call", allocs)
	}
}

var sinkBool bool

func BenchmarkAllowSubscribe(b *testing.B) {
	g := subscribeGrants(b, "orders.created", "news.*.eu", "billing.>", "audit.*")
	for _, c := range []struct{ name, pattern string }{
		{"exact", "orders.created"}, {"wildcard", "billing.*.>"}, {"denied", "news.>"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sinkBool = g.AllowSubscribe(c.pattern)
			}
		})
	}
}
