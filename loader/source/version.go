package source

import (
	"math"
	"slices"
)

// ParseVersion parses a version directory name the way TF Serving does
// (absl::SimpleAtoi on int64): optional surrounding ASCII whitespace, an
// optional sign, decimal digits, no overflow. "00000123" is 123. Negative
// numbers are not versions and are rejected too.
func ParseVersion(name string) (int64, bool) {
	s := trimASCIISpace(name)
	if s == "" {
		return 0, false
	}
	neg := false
	switch s[0] {
	case '+':
		s = s[1:]
	case '-':
		neg = true
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg && v != 0 {
		return 0, false
	}
	return v, true
}

func trimASCIISpace(s string) string {
	isSpace := func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
	}
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// versionSet maps version numbers to the child names that spell them. When
// several names parse to the same number ("1" and "01"), the smallest name in
// byte order wins, so the choice is stable.
type versionSet map[int64]string

func (vs versionSet) add(name string) {
	v, ok := ParseVersion(name)
	if !ok {
		return
	}
	if old, seen := vs[v]; !seen || name < old {
		vs[v] = name
	}
}

func (vs versionSet) sorted() []int64 {
	out := make([]int64, 0, len(vs))
	for v := range vs {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
