package security

import (
	"fmt"
	"strings"

	"github.com/airsstack/airssys-wasm-go/internal/subject"
)

// ValidIDPattern checks a component id pattern: three "/"-separated
// segments, each a literal or "*" (any one segment).
func ValidIDPattern(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) != 3 {
		return fmt.Errorf("%q is not a namespace/name/instance pattern", p)
	}
	for _, s := range parts {
		if s == "" || (strings.Contains(s, "*") && s != "*") {
			return fmt.Errorf("%q: each segment is a name or *", p)
		}
	}
	return nil
}

func validSubjectPattern(p string) error { return subject.ValidPattern(p) }

// matchID reports whether id matches an id pattern, segment by segment,
// without allocating.
func matchID(pattern, id string) bool {
	for seg := 0; ; seg++ {
		pe := strings.IndexByte(pattern, '/')
		if pe < 0 {
			pe = len(pattern)
		}
		ie := strings.IndexByte(id, '/')
		if ie < 0 {
			ie = len(id)
		}
		if !(pe == 1 && pattern[0] == '*') && pattern[:pe] != id[:ie] {
			return false
		}
		lastP, lastI := pe == len(pattern), ie == len(id)
		if seg == 2 || lastP || lastI {
			return seg == 2 && lastP && lastI
		}
		pattern, id = pattern[pe+1:], id[ie+1:]
	}
}

// matcher answers "is this name allowed" fast: exact names from a map,
// then the wildcard patterns in order.
type matcher struct {
	exact    map[string]struct{}
	patterns []string
	all      bool
	match    func(pattern, name string) bool
}

func newMatcher(pats []string, isWild func(string) bool, match func(pattern, name string) bool) *matcher {
	m := &matcher{exact: map[string]struct{}{}, match: match}
	for _, p := range pats {
		switch {
		case p == ">" || p == "*/*/*":
			m.all = true
		case isWild(p):
			m.patterns = append(m.patterns, p)
		default:
			m.exact[p] = struct{}{}
		}
	}
	return m
}

func (m *matcher) allows(name string) bool {
	if m == nil {
		return false
	}
	if m.all {
		return true
	}
	if _, ok := m.exact[name]; ok {
		return true
	}
	for _, p := range m.patterns {
		if m.match(p, name) {
			return true
		}
	}
	return false
}

func idWild(p string) bool      { return strings.Contains(p, "*") }
func subjectWild(p string) bool { return strings.ContainsAny(p, "*>") }

// Grants are the capabilities a component was actually given: what its
// manifest asked for and the policy allowed. The checks are safe for
// concurrent use and allocation-free.
type Grants struct {
	Component string // the manifest's name
	// Publisher is the key that signed the component, as PublicKey.String
	// writes it ("ed25519:" and the standard base64 of its 32 bytes), or ""
	// when it is unsigned. The component's identity is Publisher plus
	// Component (the manifest name): storage and later issues key data on
	// it; an actor id never is.
	Publisher string
	Trust     Trust
	Caps      Capabilities
	Resources Resources

	send, request, publish, subscribe *matcher
	env, config                       map[string]struct{}
	storage                           StorageGrant
	buckets                           map[string]struct{}
}

func newGrants(name string, trust Trust, caps Capabilities, res Resources) *Grants {
	g := &Grants{Component: name, Trust: trust, Caps: caps, Resources: res,
		env: map[string]struct{}{}, config: map[string]struct{}{}}
	g.send = newMatcher(caps.Send, idWild, matchID)
	g.request = newMatcher(caps.Request, idWild, matchID)
	g.publish = newMatcher(caps.Publish, subjectWild, subject.Match)
	g.subscribe = newMatcher(caps.Subscribe, subjectWild, subject.Match)
	for _, e := range caps.Env {
		g.env[e] = struct{}{}
	}
	for _, c := range caps.Config {
		g.config[c] = struct{}{}
	}
	return g
}

// AllowSend reports whether the component may send to target.
func (g *Grants) AllowSend(target string) bool { return g.send.allows(target) }

// AllowRequest reports whether the component may send a request to target.
func (g *Grants) AllowRequest(target string) bool { return g.request.allows(target) }

// AllowPublish reports whether the component may publish to topic.
func (g *Grants) AllowPublish(topic string) bool { return g.publish.allows(topic) }

// AllowSubscribe reports whether the component may subscribe with pattern:
// some granted pattern must cover every topic the pattern can match (the
// same rule as the policy's: a grant of "news.*" allows "news.sport" and
// "news.*", not "news.>"). It does not allocate.
func (g *Grants) AllowSubscribe(pattern string) bool {
	m := g.subscribe
	if m == nil {
		return false
	}
	if m.all {
		return true // ">" covers any pattern
	}
	if _, ok := m.exact[pattern]; ok {
		return true
	}
	for _, p := range m.patterns {
		if subjectCovers(p, pattern) {
			return true
		}
	}
	return false
}

// AllowEnv reports whether the environment variable may be passed.
func (g *Grants) AllowEnv(name string) bool { _, ok := g.env[name]; return ok }

// AllowConfig reports whether the configuration key may be passed.
func (g *Grants) AllowConfig(key string) bool { _, ok := g.config[key]; return ok }

// AllowLogging reports whether the component may log.
func (g *Grants) AllowLogging() bool { return g.Caps.Logging }

// WithResources returns a copy of g with other resources: a deployer (an
// app file) lowering what the manifest asked for. The capabilities are
// shared with g, which is never changed.
func (g *Grants) WithResources(r Resources) *Grants {
	c := *g
	c.Resources = r
	return &c
}
