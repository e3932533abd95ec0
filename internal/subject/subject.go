package subject

import (
	"fmt"
	"strings"
)

// Package subject implements NATS-style subjects, shared by the actor
// runtime (topics) and the security policy (topic grants).
//
// Topics use NATS subject syntax: tokens separated by ".", where in a
// subscription pattern "*" matches exactly one token and ">" (last token
// only) matches one or more tokens. Published topics have no wildcards.

// ValidTopic checks a topic to publish to.
func ValidTopic(topic string) error {
	return validSubject(topic, false)
}

// ValidPattern checks a subscription pattern.
func ValidPattern(pattern string) error {
	return validSubject(pattern, true)
}

func validSubject(s string, wildcards bool) error {
	if s == "" {
		return fmt.Errorf("empty subject")
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return fmt.Errorf("subject %q has an empty token", s)
		case strings.ContainsAny(t, " \t\r\n"):
			return fmt.Errorf("subject %q contains white space", s)
		case t == "*" || t == ">":
			if !wildcards {
				return fmt.Errorf("topic %q cannot contain wildcards", s)
			}
			if t == ">" && i != len(toks)-1 {
				return fmt.Errorf("%q: '>' must be the last token", s)
			}
		case strings.ContainsAny(t, "*>"):
			return fmt.Errorf("subject %q: wildcards must be whole tokens", s)
		}
	}
	return nil
}

// Match reports whether topic matches pattern.
func Match(pattern, topic string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		tt, trest, tmore := strings.Cut(topic, ".")
		switch pt {
		case ">":
			return true // matches this token and everything after
		case "*":
		default:
			if pt != tt {
				return false
			}
		}
		if !pmore || !tmore {
			return pmore == tmore
		}
		pattern, topic = prest, trest
	}
}
