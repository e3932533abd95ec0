package catalog

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSemverParse(t *testing.T) {
	for _, s := range []string{"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
		"1.0.0-x-y-z.--", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD",
		"18446744073709551615.0.0"} {
		if _, err := parseSemver(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3", "1.2.3-",
		"1.2.3+", "1.2.3-a..b", "1.2.3-01", "1.2.3-a_b", "1.2.3+a+b", "-1.2.3", "1.2.x", " 1.2.3",
		"18446744073709551616.0.0"} {
		if v, err := parseSemver(s); err == nil {
			t.Errorf("%q parsed as %+v", s, v)
		}
	}
}

func TestSemverOrder(t *testing.T) {
	// semver.org's example of precedence, and numbers compared as numbers.
	ordered := []string{"0.9.99", "1.0.0-0", "1.0.0-2", "1.0.0-10", "1.0.0-99999999999999999999",
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
		"1.0.0-rc.1", "1.0.0", "1.0.1", "1.9.0", "1.10.0", "1.11.0", "2.0.0", "10.0.0"}
	for i := range ordered {
		for j := range ordered {
			a, b := must(parseSemver(ordered[i])), must(parseSemver(ordered[j]))
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.compare(b); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	shuffled := slices.Clone(ordered)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	rs := make([]*record, len(shuffled))
	for i, s := range shuffled {
		rs[i] = &record{v: Version{Version: s}, sv: must(parseSemver(s))}
	}
	sortVersions(rs)
	for i, r := range rs {
		if r.v.Version != ordered[i] {
			t.Fatalf("sorted: %s at %d, want %s", r.v.Version, i, ordered[i])
		}
	}
	if must(parseSemver("1.0.0+a")).compare(must(parseSemver("1.0.0+b"))) != 0 {
		t.Error("build metadata ordered versions")
	}
}
