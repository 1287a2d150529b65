package ann

import (
	"math"
	"slices"
)

// topK keeps the k largest scores seen (a min-heap on score; among equal
// scores the lower id wins).
type topK struct {
	k  int
	s  []float32
	id []int32
}

func (t *topK) reset(k int) {
	t.k = k
	t.s = t.s[:0]
	t.id = t.id[:0]
}

// worse reports whether (s1,id1) ranks below (s2,id2).
func worse(s1 float32, id1 int32, s2 float32, id2 int32) bool {
	return s1 < s2 || (s1 == s2 && id1 > id2)
}

// threshold returns the score a new entry must beat (-Inf while not full).
func (t *topK) threshold() float32 {
	if len(t.s) < t.k {
		return float32(math.Inf(-1))
	}
	return t.s[0]
}

func (t *topK) push(s float32, id int32) {
	if t.k <= 0 {
		return
	}
	if len(t.s) < t.k {
		t.s = append(t.s, s)
		t.id = append(t.id, id)
		i := len(t.s) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !worse(t.s[i], t.id[i], t.s[p], t.id[p]) {
				break
			}
			t.s[i], t.s[p] = t.s[p], t.s[i]
			t.id[i], t.id[p] = t.id[p], t.id[i]
			i = p
		}
		return
	}
	if !worse(t.s[0], t.id[0], s, id) {
		return
	}
	t.s[0], t.id[0] = s, id
	i, n := 0, len(t.s)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && worse(t.s[r], t.id[r], t.s[l], t.id[l]) {
			m = r
		}
		if !worse(t.s[m], t.id[m], t.s[i], t.id[i]) {
			break
		}
		t.s[i], t.s[m] = t.s[m], t.s[i]
		t.id[i], t.id[m] = t.id[m], t.id[i]
		i = m
	}
}

type scored struct {
	s  float32
	id int32
}

// sorted returns the entries best first.
func (t *topK) sorted(dst []scored) []scored {
	dst = dst[:0]
	for i := range t.s {
		dst = append(dst, scored{t.s[i], t.id[i]})
	}
	slices.SortFunc(dst, func(a, b scored) int {
		if worse(a.s, a.id, b.s, b.id) {
			return 1
		}
		if worse(b.s, b.id, a.s, a.id) {
			return -1
		}
		return 0
	})
	return dst
}
