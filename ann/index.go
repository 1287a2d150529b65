package ann

import (
	"fmt"
	"math"
	"sync"
)

// Index is a built or loaded index. It is immutable and safe for concurrent
// use.
type Index struct {
	measure   DistanceMeasure
	dim, n    int
	brute     bool
	leaves    int  // number of leaves (0 for brute force)
	defLeaves int  // default num_leaves_to_search
	defReord  int  // default reordering_num_neighbors (0: none)
	spherical bool // leaves ranked by q·c/‖c‖ (Config.Spherical)

	// Partition. Datapoints are stored by position: leaf by leaf, in
	// increasing original index inside a leaf. ids maps position -> index.
	centers     []float32 // [leaves, dim]
	centerNorms []float32 // [leaves] squared norms
	rankScale   []float32 // [leaves] 1/‖c‖ (spherical only; 0 for a zero center)
	leafStart   []int32   // [leaves+1] positions
	groupStart  []int32   // [leaves+1] groups of 32
	ids         []int32   // [n]

	// Quantization.
	dpb, nblocks, npairs int
	codebook             []float32 // [nblocks, 16, dpb]
	codebookT            []float32 // [nblocks, dpb, 16] (derived)
	packed               []byte    // [groups, npairs*32]
	reconNorms           []float32 // [n] ‖x̃‖² by position (squared_l2 only)

	// Stored vectors for reordering and exact search, by position.
	vecs  []float32 // [n, dim] or nil
	vecs8 []int8    // [n, dim] or nil
	mult8 []float32 // [dim]: x[d] ≈ vecs8[d]·mult8[d] (+ center[d] when res8)
	// res8: vecs8 hold the residual to the leaf center, x ≈ c + vecs8·mult8
	// (built indexes; ScaNN's int8 datasets are absolute).
	res8      bool
	posLeaf   []int32  // [n] leaf of each position (res8 only, derived)
	vecs16    []uint16 // [n, dim] IEEE halves or nil: x[d] ≈ half(vecs16[d])·mult16
	mult16    float32
	exactNorm []float32 // [n] ‖x‖² of the stored vectors (squared_l2 only)

	kern    kernelSet
	scratch *sync.Pool
}

// Dim returns the dimension of the vectors.
func (ix *Index) Dim() int { return ix.dim }

// Len returns the number of datapoints.
func (ix *Index) Len() int { return ix.n }

// DistanceMeasure returns the measure the index was built for.
func (ix *Index) DistanceMeasure() DistanceMeasure { return ix.measure }

// NumLeaves returns the number of partitions (0 for a brute-force index).
func (ix *Index) NumLeaves() int { return ix.leaves }

// Kernels names the inner loops in use: "avx2" or "go".
func (ix *Index) Kernels() string { return ix.kern.name }

// HasVectors reports whether float32 or int8 vectors are stored, which
// reordering and ExactSearchBatched need.
func (ix *Index) HasVectors() bool { return ix.vecs != nil || ix.vecs8 != nil || ix.vecs16 != nil }

// Build trains and builds an index over data, a row-major float32 matrix
// [n, dim]. The data slice is not retained.
func Build(data []float32, n, dim int, cfg Config) (*Index, error) {
	if len(data) != n*dim {
		return nil, fmt.Errorf("ann: build: data has %d values, want %d x %d", len(data), n, dim)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(n, dim); err != nil {
		return nil, err
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("ann: build: datapoint %d has a non-finite value", i/dim)
		}
	}
	ix := newIndex(cfg.DistanceMeasure, dim, n)
	x := data
	if cfg.DistanceMeasure == Cosine {
		x = make([]float32, len(data))
		copy(x, data)
		for i := 0; i < n; i++ {
			normalize(x[i*dim : (i+1)*dim])
		}
	}
	if cfg.BruteForce {
		ix.brute = true
		ix.ids = make([]int32, n)
		for i := range ix.ids {
			ix.ids[i] = int32(i)
		}
		ix.vecs = make([]float32, len(x))
		copy(ix.vecs, x)
		ix.finishVectors()
		return ix, nil
	}
	ix.leaves = cfg.NumLeaves
	ix.defLeaves = cfg.NumLeavesToSearch
	ix.defReord = cfg.ReorderingNumNeighbors

	// 1. Partition with k-means on a sample (squared L2, as ScaNN's tree).
	rng := newRand(cfg.Seed, 1)
	sample := sampleRows(rng, n, cfg.TrainingSampleSize)
	sx := gatherRows(x, dim, sample)
	ix.centers = kmeans(&ix.kern, sx, len(sample), dim, cfg.NumLeaves, cfg.TrainingIterations, cfg.Spherical, rng)
	assign := make([]int32, n)
	nearestCenters(&ix.kern, x, n, dim, ix.centers, cfg.NumLeaves, assign)
	if cfg.Spherical {
		// Unit centers decide membership; residuals are taken to the mean of
		// each leaf's members (smaller than to the unit center), and search
		// ranks leaves by the direction of that mean.
		ix.spherical = true
		ix.centers = leafMeans(x, n, dim, cfg.NumLeaves, assign, ix.centers)
	}

	// 2. Residuals of the sample, padded to whole blocks, train the codebook.
	ix.dpb = cfg.DimensionsPerBlock
	ix.nblocks = (dim + ix.dpb - 1) / ix.dpb
	pdim := ix.nblocks * ix.dpb
	sres := make([]float32, len(sample)*pdim)
	for si, r := range sample {
		residual(sres[si*pdim:(si+1)*pdim], x[r*dim:(r+1)*dim], ix.centers[int(assign[r])*dim:])
	}
	ix.codebook = trainCodebook(sres, len(sample), ix.nblocks, ix.dpb, cfg.AHTrainingIterations, cfg.Seed)

	// 3. Encode every datapoint (anisotropic when enabled).
	codes := make([]uint8, n*ix.nblocks)
	aniso := cfg.anisotropic()
	parallelFor(n, func(lo, hi int) {
		res := make([]float32, pdim)
		errv := make([]float32, pdim)
		for i := lo; i < hi; i++ {
			row := x[i*dim : (i+1)*dim]
			residual(res, row, ix.centers[int(assign[i])*dim:])
			out := codes[i*ix.nblocks : (i+1)*ix.nblocks]
			if !aniso {
				encodePlain(res, ix.codebook, ix.nblocks, ix.dpb, out)
				continue
			}
			var sq float64
			for _, v := range row {
				sq += float64(v) * float64(v)
			}
			eta := parallelCostMultiplier(cfg.AnisotropicQuantizationThreshold, sq, dim)
			encodeAnisotropic(row, res, ix.codebook, dim, ix.nblocks, ix.dpb, eta, out, errv, 10)
		}
	})

	// 4. Lay out by leaf and store vectors for reordering.
	var keep []float32
	if cfg.ReorderingNumNeighbors > 0 {
		keep = x
	}
	prec := precFloat32
	switch {
	case cfg.ReorderingInt8:
		prec = precInt8
	case cfg.ReorderingFloat16:
		prec = precFloat16
	}
	if err := ix.layout(assign, codes, keep, prec); err != nil {
		return nil, err
	}
	return ix, nil
}

// Precisions of the stored vectors.
const (
	precFloat32 = iota
	precInt8
	precFloat16
)

// layout orders datapoints by leaf, packs the codes, computes the norms of
// the reconstructions for squared_l2 and stores vectors (float32, int8 or
// float16) when given.
func (ix *Index) layout(assign []int32, codes []uint8, vecs []float32, prec int) error {
	n, L, dim := ix.n, ix.leaves, ix.dim
	counts := make([]int32, L+1)
	for i, a := range assign {
		if a < 0 || int(a) >= L {
			return fmt.Errorf("ann: datapoint %d is assigned to leaf %d of %d", i, a, L)
		}
		counts[a+1]++
	}
	ix.leafStart = make([]int32, L+1)
	ix.groupStart = make([]int32, L+1)
	for l := 0; l < L; l++ {
		c := counts[l+1]
		ix.leafStart[l+1] = ix.leafStart[l] + c
		ix.groupStart[l+1] = ix.groupStart[l] + (c+groupSize-1)/groupSize
	}
	ix.ids = make([]int32, n)
	next := make([]int32, L)
	copy(next, ix.leafStart[:L])
	for i, a := range assign {
		ix.ids[next[a]] = int32(i)
		next[a]++
	}
	ix.npairs = (ix.nblocks + 1) / 2
	gbytes := ix.npairs * 32
	ix.packed = make([]byte, int(ix.groupStart[L])*gbytes)
	posCodes := make([]uint8, groupSize*ix.nblocks)
	for l := 0; l < L; l++ {
		p0, p1 := int(ix.leafStart[l]), int(ix.leafStart[l+1])
		g := int(ix.groupStart[l])
		for p := p0; p < p1; p += groupSize {
			cnt := min(groupSize, p1-p)
			for j := 0; j < cnt; j++ {
				id := int(ix.ids[p+j])
				copy(posCodes[j*ix.nblocks:(j+1)*ix.nblocks], codes[id*ix.nblocks:(id+1)*ix.nblocks])
			}
			packGroup(ix.packed[g*gbytes:(g+1)*gbytes], posCodes, cnt, ix.nblocks)
			g++
		}
	}
	ix.finishQuantized()
	if vecs != nil {
		pv := make([]float32, n*dim)
		for p, id := range ix.ids {
			copy(pv[p*dim:(p+1)*dim], vecs[int(id)*dim:(int(id)+1)*dim])
		}
		switch prec {
		case precFloat16:
			ix.vecs16, ix.mult16 = quantizeF16(pv)
		case precInt8:
			// Quantize the residuals to the leaf centers: they span a much
			// smaller range than the vectors, so int8 steps are finer.
			for l := 0; l < L; l++ {
				c := ix.centers[l*dim : (l+1)*dim]
				for p := int(ix.leafStart[l]); p < int(ix.leafStart[l+1]); p++ {
					row := pv[p*dim : (p+1)*dim]
					for d := range row {
						row[d] -= c[d]
					}
				}
			}
			ix.vecs8, ix.mult8 = quantizeInt8(pv, n, dim)
			ix.res8 = true
		default:
			ix.vecs = pv
		}
		ix.finishVectors()
	}
	return nil
}

// finishVectors derives the leaf of each position (residual int8) and the
// squared norms of the stored vectors used by squared_l2.
func (ix *Index) finishVectors() {
	if ix.res8 {
		ix.posLeaf = make([]int32, ix.n)
		for l := 0; l < ix.leaves; l++ {
			for p := ix.leafStart[l]; p < ix.leafStart[l+1]; p++ {
				ix.posLeaf[p] = int32(l)
			}
		}
	}
	if ix.measure != SquaredL2 {
		return
	}
	ix.exactNorm = make([]float32, ix.n)
	row := make([]float32, ix.dim)
	for p := 0; p < ix.n; p++ {
		v := ix.vectorAt(p, row)
		ix.exactNorm[p] = ix.kern.dot(v, v)
	}
}

// vectorAt returns the stored vector at position p (dequantized into buf
// for int8 and float16 storage).
func (ix *Index) vectorAt(p int, buf []float32) []float32 {
	if ix.vecs != nil {
		return ix.vecs[p*ix.dim : (p+1)*ix.dim]
	}
	if ix.vecs16 != nil {
		for d, h := range ix.vecs16[p*ix.dim : (p+1)*ix.dim] {
			buf[d] = f16ToF32(h) * ix.mult16
		}
		return buf
	}
	v := ix.vecs8[p*ix.dim : (p+1)*ix.dim]
	for d := range buf {
		buf[d] = float32(v[d]) * ix.mult8[d]
	}
	if ix.res8 {
		c := ix.centers[int(ix.posLeaf[p])*ix.dim:]
		for d := range buf {
			buf[d] += c[d]
		}
	}
	return buf
}

// quantizeInt8 scales each dimension by its largest magnitude: x[d] ≈
// q[d]·m[d] with q in [-127, 127].
func quantizeInt8(x []float32, n, dim int) ([]int8, []float32) {
	m := make([]float32, dim)
	for i := 0; i < n; i++ {
		for d, v := range x[i*dim : (i+1)*dim] {
			m[d] = max(m[d], float32(math.Abs(float64(v))))
		}
	}
	inv := make([]float32, dim)
	for d := range m {
		if m[d] > 0 {
			m[d] /= 127
			inv[d] = 1 / m[d]
		}
	}
	q := make([]int8, n*dim)
	for i, v := range x {
		d := i % dim
		q[i] = int8(max(-127, min(127, math.Round(float64(v*inv[d])))))
	}
	return q, m
}

func gatherRows(x []float32, dim int, rows []int) []float32 {
	out := make([]float32, len(rows)*dim)
	for i, r := range rows {
		copy(out[i*dim:(i+1)*dim], x[r*dim:(r+1)*dim])
	}
	return out
}

// residual writes x - c into dst (padded with zeros past len(x)).
func residual(dst, x, c []float32) {
	clear(dst[len(x):])
	for d, v := range x {
		dst[d] = v - c[d]
	}
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

func newIndex(m DistanceMeasure, dim, n int) *Index {
	return &Index{measure: m, dim: dim, n: n, kern: defaultKernels(), scratch: new(sync.Pool)}
}
