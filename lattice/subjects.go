package lattice

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/airsstack/airssys-wasm-go/actor"
)

var latticeName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// prefix is the subject prefix of a lattice: airssys.<name>.
func prefix(name string) (string, error) {
	if !latticeName.MatchString(name) {
		return "", fmt.Errorf("lattice: name %q: want 1 to 63 of [a-z0-9-], starting with a letter or digit", name)
	}
	return "airssys." + name, nil
}

// escapeToken makes s one NATS subject token: '%', '.', '*', '>', and
// bytes outside printable ASCII (spaces, controls, non-ASCII) become %XX.
// It is reversible (unescapeToken) and the identity on ordinary ids
// ("app/name/1").
func escapeToken(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '.' || c == '*' || c == '>' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescapeToken is escapeToken's inverse.
func unescapeToken(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("lattice: bad escape in %q", s)
		}
		var c byte
		if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &c); err != nil {
			return "", fmt.Errorf("lattice: bad escape in %q", s)
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

// actorSubject is where messages to actor id go, followed by a token
// naming the sending host: <prefix>.actor.<id>.<host>.
func actorSubject(prefix string, id actor.ID) string {
	return prefix + ".actor." + escapeToken(string(id))
}

// topicSubject is where host's publishes to topic go (a topic is a
// subject's tokens already: actor.ValidTopic).
func topicSubject(prefix, host, topic string) string {
	return prefix + ".topic." + escapeToken(host) + "." + topic
}
