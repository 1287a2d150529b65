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

// reservoir collects candidates for the best k without a heap: entries are
// appended, and when 2k have gathered the best k are selected in place
// (amortised O(1) per entry) and the k-th best score becomes the threshold
// below which later entries are not kept. The order is worse's (score, then
// lower id), a strict total order on distinct ids, so the best k of the
// entries pushed are exactly those a topK of size k would keep.
type reservoir struct {
	k   int
	s   []float32
	id  []int32
	thr float32
}

func (r *reservoir) reset(k int) {
	r.k = k
	r.s = r.s[:0]
	r.id = r.id[:0]
	r.thr = float32(math.Inf(-1))
}

// threshold returns a score below which an entry cannot be among the best k.
func (r *reservoir) threshold() float32 { return r.thr }

func (r *reservoir) push(s float32, id int32) {
	if r.k <= 0 || s < r.thr {
		return
	}
	r.s = append(r.s, s)
	r.id = append(r.id, id)
	if len(r.s) >= 2*r.k {
		r.compact()
	}
}

// compact keeps only the best k entries and raises the threshold to the
// k-th best score.
func (r *reservoir) compact() {
	if len(r.s) <= r.k {
		return
	}
	selectBest(r.s, r.id, r.k)
	r.s, r.id = r.s[:r.k], r.id[:r.k]
	m := r.s[0]
	for _, v := range r.s[1:] {
		m = min(m, v)
	}
	r.thr = m
}

// selectBest reorders (s, id) so that its first k entries are the best k
// (by worse's order), with quickselect (median-of-three pivots, iterative).
func selectBest(s []float32, id []int32, k int) {
	swap := func(i, j int) {
		s[i], s[j] = s[j], s[i]
		id[i], id[j] = id[j], id[i]
	}
	// better(i, j): entry i ranks above entry j.
	better := func(i, j int) bool { return worse(s[j], id[j], s[i], id[i]) }
	lo, hi, want := 0, len(s)-1, k-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Order lo, mid, hi best first, then use the median as the pivot.
		if better(mid, lo) {
			swap(mid, lo)
		}
		if better(hi, lo) {
			swap(hi, lo)
		}
		if better(hi, mid) {
			swap(hi, mid)
		}
		swap(mid, hi)
		st := lo
		for i := lo; i < hi; i++ {
			if better(i, hi) {
				swap(i, st)
				st++
			}
		}
		swap(st, hi)
		switch {
		case want < st:
			hi = st - 1
		case want > st:
			lo = st + 1
		default:
			return
		}
	}
}
