package actor

import "testing"

func TestMatchSubject(t *testing.T) {
	cases := []struct {
		pattern, topic string
		want           bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.*", "a", false},
		{"*.b", "x.b", true},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c.d", true},
		{"a.>", "a", false},
		{">", "anything.at.all", true},
		{"*", "one", true},
		{"*", "one.two", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.d", false},
		{"a.*.>", "a.b.c", true},
		{"a.*.>", "a.b", false},
	}
	for _, c := range cases {
		if got := MatchSubject(c.pattern, c.topic); got != c.want {
			t.Errorf("MatchSubject(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.want)
		}
	}
}

func TestValidSubjects(t *testing.T) {
	for _, ok := range []string{"a", "a.b", "news.eu.sport"} {
		if err := ValidTopic(ok); err != nil {
			t.Errorf("ValidTopic(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a*.b"} {
		if ValidTopic(bad) == nil {
			t.Errorf("ValidTopic(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"a.*", "a.>", "*.b.>", ">", "*"} {
		if err := ValidPattern(ok); err != nil {
			t.Errorf("ValidPattern(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"a.>.b", "a.b*", "", "a..>"} {
		if ValidPattern(bad) == nil {
			t.Errorf("ValidPattern(%q) accepted", bad)
		}
	}
}
