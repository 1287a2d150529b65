package ann

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// SearchOptions overrides the index defaults for one call. Zero values keep
// the defaults.
type SearchOptions struct {
	// LeavesToSearch overrides num_leaves_to_search (clamped to NumLeaves).
	LeavesToSearch int
	// PreReorderNumNeighbors overrides reordering_num_neighbors: the number
	// of candidates kept from the quantized scores before exact rescoring.
	// A negative value disables reordering for the call.
	PreReorderNumNeighbors int
	// Exact searches every stored vector exactly (needs stored vectors).
	Exact bool
	// Parallelism splits a batch over that many goroutines (default 1).
	Parallelism int
}

// Neighbor is one search result. Score is the dot product (DotProduct), the
// cosine similarity (Cosine) or the squared distance (SquaredL2), like
// ScaNN's "distances" output.
type Neighbor struct {
	Index int32
	Score float32
}

// batchSize is the number of queries whose leaf scans are grouped so that a
// leaf's codes are read once for all the queries probing it.
const batchSize = 32

// Search returns the k nearest datapoints of one query, best first.
func (ix *Index) Search(q []float32, k int, opt SearchOptions) ([]Neighbor, error) {
	idx, sc, err := ix.SearchBatched(q, k, opt)
	if err != nil {
		return nil, err
	}
	out := make([]Neighbor, 0, k)
	for j := range idx {
		if idx[j] >= 0 {
			out = append(out, Neighbor{idx[j], sc[j]})
		}
	}
	return out, nil
}

// SearchBatched searches len(queries)/Dim() queries (row-major) and returns
// row-major [B, k] indices and scores, best first. Rows with fewer than k
// results are padded with index -1 and score 0.
func (ix *Index) SearchBatched(queries []float32, k int, opt SearchOptions) ([]int32, []float32, error) {
	if k <= 0 {
		return nil, nil, fmt.Errorf("ann: search: k = %d, want > 0", k)
	}
	if len(queries)%ix.dim != 0 {
		return nil, nil, fmt.Errorf("ann: search: %d query values are not a multiple of the dimension %d", len(queries), ix.dim)
	}
	for i, v := range queries {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("ann: search: query %d has a non-finite value", i/ix.dim)
		}
	}
	exact := opt.Exact || ix.brute
	if exact && !ix.HasVectors() {
		return nil, nil, fmt.Errorf("ann: search: exact search needs stored vectors; this index has none")
	}
	nq := len(queries) / ix.dim
	idx := make([]int32, nq*k)
	sc := make([]float32, nq*k)
	par := max(1, min(opt.Parallelism, runtime.GOMAXPROCS(0)))
	nb := (nq + batchSize - 1) / batchSize
	if par <= 1 || nb <= 1 {
		ix.searchRange(queries, 0, nq, k, opt, exact, idx, sc)
		return idx, sc, nil
	}
	var wg sync.WaitGroup
	next := make(chan int, nb)
	for b := 0; b < nb; b++ {
		next <- b
	}
	close(next)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				lo := b * batchSize
				ix.searchRange(queries, lo, min(nq, lo+batchSize), k, opt, exact, idx, sc)
			}
		}()
	}
	wg.Wait()
	return idx, sc, nil
}

// searchScratch is the per-call working memory, pooled on the Index.
type searchScratch struct {
	q          []float32 // [B, pdim] (normalized, zero-padded) queries
	qnorm      []float32 // [B] ‖q‖²
	leafScore  []float32 // [B, leaves]
	luts       []byte    // [B, npairs*32]
	lutBias    []float32 // [B]
	lutDelta   []float32 // [B]
	lutF       []float32 // [nblocks*16]
	lutLo      []float32 // [nblocks]
	lutHi      []float32 // [nblocks]
	probes     []probe
	probeCount []int32
	acc        []uint32
	heaps      []topK
	cands      []reservoir // [B] quantized-score candidates
	sel        topK
	res        []scored
	qi8        []float32
	vbuf       []float32
	qc         []float32 // [leaves] q·c of one query (residual int8)
}

type probe struct {
	leaf, query int32
}

func (ix *Index) getScratch() *searchScratch {
	if s, ok := ix.scratch.Get().(*searchScratch); ok {
		return s
	}
	pdim := ix.nblocks * ix.dpb
	if pdim < ix.dim {
		pdim = ix.dim
	}
	s := &searchScratch{
		q:         make([]float32, batchSize*pdim),
		qnorm:     make([]float32, batchSize),
		leafScore: make([]float32, batchSize*ix.leaves),
		luts:      make([]byte, batchSize*ix.npairs*32),
		lutBias:   make([]float32, batchSize),
		lutDelta:  make([]float32, batchSize),
		lutF:      make([]float32, ix.nblocks*centersPerBlock),
		lutLo:     make([]float32, ix.nblocks),
		lutHi:     make([]float32, ix.nblocks),
		heaps:     make([]topK, batchSize),
		cands:     make([]reservoir, batchSize),
		qi8:       make([]float32, ix.dim),
		qc:        make([]float32, ix.leaves),
		vbuf:      make([]float32, ix.dim),
	}
	maxGroups := 0
	for l := 0; l < ix.leaves; l++ {
		maxGroups = max(maxGroups, int(ix.groupStart[l+1]-ix.groupStart[l]))
	}
	s.acc = make([]uint32, maxGroups*groupSize)
	s.probeCount = make([]int32, ix.leaves+1)
	return s
}

// searchRange answers queries [lo, hi) (at most batchSize) into idx/sc.
func (ix *Index) searchRange(queries []float32, lo, hi, k int, opt SearchOptions, exact bool, idx []int32, sc []float32) {
	for b0 := lo; b0 < hi; b0 += batchSize {
		b1 := min(hi, b0+batchSize)
		s := ix.getScratch()
		ix.searchBatch(s, queries[b0*ix.dim:b1*ix.dim], b1-b0, k, opt, exact, idx[b0*k:b1*k], sc[b0*k:b1*k])
		ix.scratch.Put(s)
	}
}

func (ix *Index) searchBatch(s *searchScratch, queries []float32, nq, k int, opt SearchOptions, exact bool, idx []int32, sc []float32) {
	dim := ix.dim
	pdim := max(dim, ix.nblocks*ix.dpb)
	for i := 0; i < nq; i++ {
		q := s.q[i*pdim : (i+1)*pdim]
		clear(q)
		copy(q, queries[i*dim:(i+1)*dim])
		if ix.measure == Cosine {
			normalize(q[:dim])
		}
		s.qnorm[i] = ix.kern.dot(q[:dim], q[:dim])
	}
	reorder := ix.defReord
	if opt.PreReorderNumNeighbors != 0 {
		reorder = max(0, opt.PreReorderNumNeighbors)
	}
	if !ix.HasVectors() {
		reorder = 0
	}
	if exact {
		for i := 0; i < nq; i++ {
			h := &s.heaps[i]
			h.reset(k)
			ix.exactScan(s, s.q[i*pdim:i*pdim+dim], h)
		}
	} else {
		keep := k
		if reorder > 0 {
			keep = max(k, reorder)
		}
		ix.approxBatch(s, nq, pdim, keep, opt)
		if reorder > 0 {
			for i := 0; i < nq; i++ {
				if ix.res8 {
					ix.leafDots(s.qc, s.leafScore[i*ix.leaves:(i+1)*ix.leaves])
				}
				ix.reorderHeap(s, s.q[i*pdim:i*pdim+dim], &s.heaps[i], k)
			}
		}
	}
	for i := 0; i < nq; i++ {
		s.res = s.heaps[i].sorted(s.res)
		for j := 0; j < k; j++ {
			o := i*k + j
			if j >= len(s.res) {
				idx[o], sc[o] = -1, 0
				continue
			}
			r := s.res[j]
			idx[o] = ix.ids[r.id]
			sc[o] = ix.outputScore(r.s, s.qnorm[i])
		}
	}
}

// Internally every score is "larger is better": the dot product, or for
// squared_l2 the value 2q·x - ‖x‖² = ‖q‖² - ‖q-x‖².
func (ix *Index) outputScore(s, qnorm float32) float32 {
	if ix.measure == SquaredL2 {
		return max(0, qnorm-s)
	}
	return s
}

// exactScan pushes every stored vector's exact score into h.
func (ix *Index) exactScan(s *searchScratch, q []float32, h *topK) {
	dim := ix.dim
	if ix.vecs == nil {
		if ix.res8 {
			for l := range s.qc {
				s.qc[l] = ix.kern.dot(q, ix.centers[l*dim:(l+1)*dim])
			}
		}
		ix.prepInt8(s, q)
		for p := 0; p < ix.n; p++ {
			h.push(ix.exactScore(s, q, p), int32(p))
		}
		return
	}
	var d4 [4]float32
	p := 0
	for ; p+4 <= ix.n; p += 4 {
		ix.kern.dot4(q, ix.vecs[p*dim:], dim, &d4)
		for j := 0; j < 4; j++ {
			v := d4[j]
			if ix.measure == SquaredL2 {
				v = 2*v - ix.exactNorm[p+j]
			}
			h.push(v, int32(p+j))
		}
	}
	for ; p < ix.n; p++ {
		h.push(ix.exactScore(s, q, p), int32(p))
	}
}

// exactScore is the exact internal score of position p (with residual int8
// vectors, s.qc must hold the query's q·c for every leaf).
func (ix *Index) exactScore(s *searchScratch, q []float32, p int) float32 {
	dim := ix.dim
	var d float32
	if ix.vecs != nil {
		d = ix.kern.dot(q, ix.vecs[p*dim:(p+1)*dim])
	} else if ix.vecs16 != nil {
		d = ix.kern.dotF16(s.qi8, ix.vecs16[p*dim:(p+1)*dim])
	} else {
		d = ix.kern.dotInt8(s.qi8, ix.vecs8[p*dim:(p+1)*dim])
		if ix.res8 {
			d += s.qc[ix.posLeaf[p]]
		}
	}
	if ix.measure == SquaredL2 {
		return 2*d - ix.exactNorm[p]
	}
	return d
}

// prefetchRow hints the stored vector at position p.
func (ix *Index) prefetchRow(p int) {
	d := ix.dim
	if ix.vecs != nil {
		ix.kern.prefetch(unsafe.Slice((*byte)(unsafe.Pointer(&ix.vecs[p*d])), 4*d))
	} else if ix.vecs16 != nil {
		ix.kern.prefetch(unsafe.Slice((*byte)(unsafe.Pointer(&ix.vecs16[p*d])), 2*d))
	} else {
		ix.kern.prefetch(unsafe.Slice((*byte)(unsafe.Pointer(&ix.vecs8[p*d])), d))
	}
}

// prepInt8 folds the int8 (per dimension) or float16 (one) multipliers into
// the query.
func (ix *Index) prepInt8(s *searchScratch, q []float32) {
	if ix.vecs16 != nil {
		for d := range q {
			s.qi8[d] = q[d] * ix.mult16
		}
		return
	}
	if ix.vecs8 == nil {
		return
	}
	for d := range q {
		s.qi8[d] = q[d] * ix.mult8[d]
	}
}

// leafDots writes q·c for every leaf into qc from a query's leaf scores
// (q·c, or 2q·c - ‖c‖² for squared_l2).
func (ix *Index) leafDots(qc, leafScore []float32) {
	if ix.measure != SquaredL2 {
		copy(qc, leafScore)
		return
	}
	for l, v := range leafScore {
		qc[l] = (v + ix.centerNorms[l]) / 2
	}
}

// reorderHeap rescores the candidates in h exactly and keeps the best k.
func (ix *Index) reorderHeap(s *searchScratch, q []float32, h *topK, k int) {
	ix.prepInt8(s, q)
	cand := s.res[:0]
	for _, id := range h.id {
		cand = append(cand, scored{id: id})
	}
	h.reset(k)
	// Candidates are scattered rows; start their loads a few rows ahead.
	const ahead = 4
	for j := 0; j < min(ahead, len(cand)); j++ {
		ix.prefetchRow(int(cand[j].id))
	}
	for j, c := range cand {
		if j+ahead < len(cand) {
			ix.prefetchRow(int(cand[j+ahead].id))
		}
		h.push(ix.exactScore(s, q, int(c.id)), c.id)
	}
	s.res = cand
}

// approxBatch fills s.heaps[0:nq] with the best `keep` candidates by
// quantized score.
func (ix *Index) approxBatch(s *searchScratch, nq, pdim, keep int, opt SearchOptions) {
	L, dim := ix.leaves, ix.dim
	nls := ix.defLeaves
	if opt.LeavesToSearch > 0 {
		nls = opt.LeavesToSearch
	}
	nls = min(max(1, nls), L)

	// Leaf scores: q·c (dot) or 2q·c - ‖c‖² (squared_l2), 4 centers at a time.
	var d4 [4]float32
	for i := 0; i < nq; i++ {
		q := s.q[i*pdim : i*pdim+dim]
		ls := s.leafScore[i*L : (i+1)*L]
		l := 0
		for ; l+4 <= L; l += 4 {
			ix.kern.dot4(q, ix.centers[l*dim:], dim, &d4)
			copy(ls[l:l+4], d4[:])
		}
		for ; l < L; l++ {
			ls[l] = ix.kern.dot(q, ix.centers[l*dim:(l+1)*dim])
		}
		if ix.measure == SquaredL2 {
			for l := range ls {
				ls[l] = 2*ls[l] - ix.centerNorms[l]
			}
		}
	}

	// Leaf selection and LUTs per query; probes bucketed by leaf.
	s.probes = s.probes[:0]
	clear(s.probeCount)
	for i := 0; i < nq; i++ {
		s.sel.reset(nls)
		ls := s.leafScore[i*L : (i+1)*L]
		if ix.rankScale != nil {
			for l, v := range ls {
				s.sel.push(v*ix.rankScale[l], int32(l))
			}
		} else {
			for l, v := range ls {
				s.sel.push(v, int32(l))
			}
		}
		for _, l := range s.sel.id {
			s.probes = append(s.probes, probe{l, int32(i)})
			s.probeCount[l+1]++
		}
		ix.buildLUT(s, i, s.q[i*pdim:(i+1)*pdim])
		s.cands[i].reset(keep)
	}
	for l := 0; l < L; l++ {
		s.probeCount[l+1] += s.probeCount[l]
	}
	// Counting sort of probes by leaf (stable in query order).
	need := len(s.probes)
	if cap(s.probes) < 2*need {
		grown := make([]probe, need, 2*need)
		copy(grown, s.probes)
		s.probes = grown
	}
	sorted := s.probes[need : 2*need]
	pos := s.probeCount
	for _, p := range s.probes[:need] {
		sorted[pos[p.leaf]] = p
		pos[p.leaf]++
	}

	gbytes := ix.npairs * 32
	for _, p := range sorted {
		l, i := int(p.leaf), int(p.query)
		g0, g1 := int(ix.groupStart[l]), int(ix.groupStart[l+1])
		p0, p1 := int(ix.leafStart[l]), int(ix.leafStart[l+1])
		if p1 == p0 {
			continue
		}
		lut := s.luts[i*gbytes : (i+1)*gbytes]
		ix.kern.scanLUT16(ix.packed[g0*gbytes:g1*gbytes], ix.npairs, lut, s.acc, g1-g0)
		ix.collect(&s.cands[i], s.acc[:p1-p0], l, p0, s.leafScore[i*L+l], s.lutBias[i], s.lutDelta[i])
	}
	for i := 0; i < nq; i++ {
		c, h := &s.cands[i], &s.heaps[i]
		c.compact()
		h.reset(keep)
		for j, v := range c.s {
			h.push(v, c.id[j])
		}
	}
}

// collect turns leaf l's integer sums into scores and keeps the best.
//
//	dot:        score = q·c + bias + delta·acc
//	squared_l2: score = 2(q·c + bias + delta·acc) - ‖x̃‖²
//
// where leafScore is q·c (dot) or 2q·c - ‖c‖² (squared_l2).
func (ix *Index) collect(h *reservoir, acc []uint32, l, p0 int, leafScore, bias, delta float32) {
	if ix.measure == SquaredL2 {
		base := leafScore + ix.centerNorms[l] + 2*bias
		step := 2 * delta
		norms := ix.reconNorms[p0 : p0+len(acc)]
		thr := h.threshold()
		for j, a := range acc {
			if v := base + step*float32(a) - norms[j]; v >= thr {
				h.push(v, int32(p0+j))
				thr = h.threshold()
			}
		}
		return
	}
	base := leafScore + bias
	thr := h.threshold()
	accMin := accBound(thr, base, delta)
	for j, a := range acc {
		if a < accMin {
			continue
		}
		if v := base + delta*float32(a); v >= thr {
			h.push(v, int32(p0+j))
			thr = h.threshold()
			accMin = accBound(thr, base, delta)
		}
	}
}

// accBound returns an integer sum below which base + delta·acc cannot
// exceed thr (a conservative bound: one unit of margin).
func accBound(thr, base, delta float32) uint32 {
	if math.IsInf(float64(thr), -1) || delta <= 0 {
		return 0
	}
	f := math.Floor(float64((thr-base)/delta)) - 1
	if f <= 0 {
		return 0
	}
	if f >= math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(f)
}

// buildLUT computes query i's float LUT q_b·codebook[b][c], quantizes it to
// uint8 with one step for all blocks (delta) and a per-block offset (summed
// into bias), and stores it block-major (16 bytes per block, which is the
// pair layout of the LUT16 kernels).
func (ix *Index) buildLUT(s *searchScratch, i int, q []float32) {
	nb := ix.nblocks
	ix.kern.lutFloat(q, ix.codebookT, nb, ix.dpb, s.lutF, s.lutLo, s.lutHi)
	span := float32(0)
	var bias float64
	for b := 0; b < nb; b++ {
		span = max(span, s.lutHi[b]-s.lutLo[b])
		bias += float64(s.lutLo[b])
	}
	gbytes := ix.npairs * 32
	lut := s.luts[i*gbytes : (i+1)*gbytes]
	clear(lut[nb*16:])
	var inv float32
	if span > 0 {
		inv = 255 / span
	}
	ix.kern.lutQuant(s.lutF, s.lutLo, nb, inv, lut)
	s.lutBias[i] = float32(bias)
	s.lutDelta[i] = span / 255
}
