package actor

import (
	"fmt"

	"github.com/airsstack/airssys-wasm-go/internal/subject"
)

// Topics use NATS subject syntax: tokens separated by ".", where in a
// subscription pattern "*" matches exactly one token and ">" (last token
// only) matches one or more tokens. Published topics have no wildcards.

// ValidTopic checks a topic to publish to.
func ValidTopic(topic string) error {
	if err := subject.ValidTopic(topic); err != nil {
		return fmt.Errorf("actor: %w", err)
	}
	return nil
}

// ValidPattern checks a subscription pattern.
func ValidPattern(pattern string) error {
	if err := subject.ValidPattern(pattern); err != nil {
		return fmt.Errorf("actor: %w", err)
	}
	return nil
}

// MatchSubject reports whether topic matches pattern.
func MatchSubject(pattern, topic string) bool { return subject.Match(pattern, topic) }
