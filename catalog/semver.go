package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// semver is a parsed semantic version (semver.org 2.0.0).
type semver struct {
	major, minor, patch uint64
	pre                 []string // dot-separated pre-release identifiers; none for a release
	build               string   // build metadata, ignored in ordering
}

// parseSemver reads MAJOR.MINOR.PATCH[-PRE][+BUILD] strictly: numbers
// without leading zeros, identifiers of [0-9A-Za-z-], none empty, numeric
// pre-release identifiers without leading zeros.
func parseSemver(s string) (semver, error) {
	var v semver
	bad := func(why string) (semver, error) {
		return semver{}, fmt.Errorf("%q is not a semantic version: %s", s, why)
	}
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		v.build = rest[i+1:]
		rest = rest[:i]
		if err := checkIdents(v.build, false); err != "" {
			return bad("build metadata " + err)
		}
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre := rest[i+1:]
		rest = rest[:i]
		if err := checkIdents(pre, true); err != "" {
			return bad("pre-release " + err)
		}
		v.pre = strings.Split(pre, ".")
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return bad("want MAJOR.MINOR.PATCH")
	}
	nums := [3]*uint64{&v.major, &v.minor, &v.patch}
	for i, p := range parts {
		if !numeric(p) {
			return bad(fmt.Sprintf("%q is not a number", p))
		}
		if len(p) > 1 && p[0] == '0' {
			return bad(fmt.Sprintf("%q has a leading zero", p))
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return bad(fmt.Sprintf("%q is too large", p))
		}
		*nums[i] = n
	}
	return v, nil
}

// checkIdents checks dot-separated identifiers; it returns what is wrong,
// or "".
func checkIdents(s string, pre bool) string {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return "has an empty identifier"
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return fmt.Sprintf("identifier %q holds %q", id, c)
			}
		}
		if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
			return fmt.Sprintf("identifier %q has a leading zero", id)
		}
	}
	return ""
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare orders by precedence: -1, 0 or 1. Build metadata is ignored, so
// two different strings can compare equal.
func (a semver) compare(b semver) int {
	if c := cmpUint(a.major, b.major); c != 0 {
		return c
	}
	if c := cmpUint(a.minor, b.minor); c != 0 {
		return c
	}
	if c := cmpUint(a.patch, b.patch); c != 0 {
		return c
	}
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1 // a release comes after its pre-releases
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		x, y := a.pre[i], b.pre[i]
		xn, yn := numeric(x), numeric(y)
		switch {
		case xn && yn:
			// No leading zeros: the longer number is the larger; this
			// orders numbers of any length.
			if len(x) != len(y) {
				if len(x) < len(y) {
					return -1
				}
				return 1
			}
		case xn:
			return -1 // numeric identifiers come before alphanumeric ones
		case yn:
			return 1
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmpUint(uint64(len(a.pre)), uint64(len(b.pre)))
}

func (a semver) prerelease() bool { return len(a.pre) > 0 }
