package ann

import (
	"math"
	"math/rand/v2"
	"testing"
)

// syntheticScaNN makes ScaNN-shaped state: random centers, nearest-center
// tokens and random residual codes; it also returns the reconstructions.
func syntheticScaNN(n, dim, L, dpb int) (ScaNNState, []float32) {
	rng := rand.New(rand.NewPCG(21, 22))
	nb := (dim + dpb - 1) / dpb
	s := ScaNNState{DistanceMeasure: DotProduct, Dim: dim, NumBlocks: nb, DimsPerBlock: dpb,
		LeafCenters: randVec(rng, L*dim), Codebook: make([]float32, nb*16*dpb),
		DatapointToLeaf: make([]int32, n), HashedCodes: make([]uint8, n*nb)}
	for i := range s.Codebook {
		s.Codebook[i] = float32(0.3 * rng.NormFloat64())
	}
	rec := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		l := rng.IntN(L)
		s.DatapointToLeaf[i] = int32(l)
		for b := 0; b < nb; b++ {
			c := uint8(rng.IntN(16))
			s.HashedCodes[i*nb+b] = c
			for j := 0; j < dpb && b*dpb+j < dim; j++ {
				rec[i*dim+b*dpb+j] = s.LeafCenters[l*dim+b*dpb+j] + s.Codebook[(b*16+int(c))*dpb+j]
			}
		}
	}
	return s, rec
}

func TestNewFromScaNNScores(t *testing.T) {
	const n, dim, L, dpb = 1200, 21, 12, 2
	for _, m := range []DistanceMeasure{DotProduct, SquaredL2} {
		s, rec := syntheticScaNN(n, dim, L, dpb)
		s.DistanceMeasure = m
		s.NumLeavesToSearch = L
		ix, err := NewFromScaNN(s)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		queries := randVec(rng, 30*dim)
		idx, sc, err := ix.SearchBatched(queries, 10, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var truth [][]int32
		for i := 0; i < 30; i++ {
			q := queries[i*dim : (i+1)*dim]
			truth = append(truth, exactTopK(rec, dim, q, 10, m))
			// Every returned score is the reconstruction's score up to the
			// LUT rounding: at most half a step per block.
			var qn float64
			for _, v := range q {
				qn += float64(v) * float64(v)
			}
			for j := 0; j < 10; j++ {
				x := rec[int(idx[i*10+j])*dim:][:dim]
				var dot, l2 float64
				for d := range x {
					dot += float64(q[d]) * float64(x[d])
					l2 += (float64(q[d]) - float64(x[d])) * (float64(q[d]) - float64(x[d]))
				}
				want, scale := dot, 1.0
				if m == SquaredL2 {
					want, scale = l2, 2
				}
				bound := scale * float64(s.NumBlocks) * 0.5 * lutStep(s, q)
				if d := math.Abs(float64(sc[i*10+j]) - want); d > bound+1e-3 {
					t.Fatalf("%v q%d #%d: score %v, reconstruction %v, diff %v > bound %v", m, i, j, sc[i*10+j], want, d, bound)
				}
			}
		}
		r := recallAt(truth, idx, 10)
		t.Logf("%v: recall@10 vs exact search over reconstructions, all leaves: %.3f", m, r)
		if r < 0.9 {
			t.Errorf("%v: recall %.3f < 0.9", m, r)
		}
	}
}

// lutStep recomputes the LUT quantization step for q independently.
func lutStep(s ScaNNState, q []float32) float64 {
	span := 0.0
	for b := 0; b < s.NumBlocks; b++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for c := 0; c < 16; c++ {
			var v float64
			for j := 0; j < s.DimsPerBlock && b*s.DimsPerBlock+j < len(q); j++ {
				v += float64(q[b*s.DimsPerBlock+j]) * float64(s.Codebook[(b*16+c)*s.DimsPerBlock+j])
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		span = math.Max(span, hi-lo)
	}
	return span / 255
}

func TestNewFromScaNNReordering(t *testing.T) {
	const n, dim, L = 800, 16, 8
	s, rec := syntheticScaNN(n, dim, L, 2)
	s.NumLeavesToSearch = 3
	s.ReorderingNumNeighbors = 40
	// Exact vectors: reconstructions plus noise, stored as int8 with
	// ScaNN-style multipliers (int8 = x * m).
	rng := rand.New(rand.NewPCG(3, 3))
	x := make([]float32, len(rec))
	for i := range x {
		x[i] = rec[i] + float32(0.05*rng.NormFloat64())
	}
	s.Int8Multipliers = make([]float32, dim)
	for d := range s.Int8Multipliers {
		maxAbs := 0.0
		for i := 0; i < n; i++ {
			maxAbs = math.Max(maxAbs, math.Abs(float64(x[i*dim+d])))
		}
		s.Int8Multipliers[d] = float32(127 / maxAbs)
	}
	s.Int8Dataset = make([]int8, n*dim)
	deq := make([]float32, n*dim)
	for i := range x {
		d := i % dim
		s.Int8Dataset[i] = int8(math.Round(float64(x[i] * s.Int8Multipliers[d])))
		deq[i] = float32(s.Int8Dataset[i]) / s.Int8Multipliers[d]
	}
	ix, err := NewFromScaNN(s)
	if err != nil {
		t.Fatal(err)
	}
	q := randVec(rng, dim)
	res, err := ix.Search(q, 5, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		var want float64
		for d := 0; d < dim; d++ {
			want += float64(q[d]) * float64(deq[int(r.Index)*dim+d])
		}
		if math.Abs(float64(r.Score)-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("reordered score of %d = %v, want the dequantized dot %v", r.Index, r.Score, want)
		}
	}
	// Bad state is rejected with an error.
	bad := s
	bad.HashedCodes = append([]uint8(nil), s.HashedCodes...)
	bad.HashedCodes[5] = 16
	if _, err := NewFromScaNN(bad); err == nil {
		t.Error("code 16: no error")
	}
	bad = s
	bad.DatapointToLeaf = append([]int32(nil), s.DatapointToLeaf...)
	bad.DatapointToLeaf[3] = L
	if _, err := NewFromScaNN(bad); err == nil {
		t.Error("leaf out of range: no error")
	}
	bad = s
	bad.NumBlocks = 7
	if _, err := NewFromScaNN(bad); err == nil {
		t.Error("wrong block count: no error")
	}
}
