package ann

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// newRand returns the deterministic generator for a seed and a purpose.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream^0x9e3779b97f4a7c15))
}

// sampleRows returns up to m distinct row indexes out of n, sorted, chosen by
// rng (all rows when m >= n).
func sampleRows(rng *rand.Rand, n, m int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if m >= n {
		return idx
	}
	for i := 0; i < m; i++ {
		j := i + rng.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	idx = idx[:m]
	slices.Sort(idx)
	return idx
}

// parallelFor runs f(lo, hi) over [0, n) in contiguous chunks on up to
// GOMAXPROCS goroutines. Results must not depend on the chunking.
func parallelFor(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// nearestCenters writes, for each row of x ([n,dim]), the index of the
// nearest center by squared L2 (ties to the lower index).
func nearestCenters(k *kernelSet, x []float32, n, dim int, centers []float32, nc int, out []int32) {
	norms := make([]float32, nc)
	for c := 0; c < nc; c++ {
		v := centers[c*dim : (c+1)*dim]
		norms[c] = k.dot(v, v)
	}
	parallelFor(n, func(lo, hi int) {
		var d4 [4]float32
		for i := lo; i < hi; i++ {
			row := x[i*dim : (i+1)*dim]
			best, bestD := int32(0), float32(0)
			c := 0
			for ; c+4 <= nc; c += 4 {
				k.dot4(row, centers[c*dim:], dim, &d4)
				for j := 0; j < 4; j++ {
					d := norms[c+j] - 2*d4[j]
					if c+j == 0 || d < bestD {
						best, bestD = int32(c+j), d
					}
				}
			}
			for ; c < nc; c++ {
				d := norms[c] - 2*k.dot(row, centers[c*dim:(c+1)*dim])
				if c == 0 || d < bestD {
					best, bestD = int32(c), d
				}
			}
			out[i] = best
		}
	})
}

// kmeans runs Lloyd's algorithm on x ([n,dim]) with nc centers initialised
// from distinct random rows. Empty clusters are re-seeded with a random row.
// It returns the centers ([nc,dim]). With spherical, every center is scaled
// to unit length after each update (spherical k-means: since
// ‖x-ĉ‖² = ‖x‖² - 2x·ĉ + 1, the nearest unit center is the one of largest
// cosine).
func kmeans(k *kernelSet, x []float32, n, dim, nc, iters int, spherical bool, rng *rand.Rand) []float32 {
	centers := make([]float32, nc*dim)
	init := sampleRows(rng, n, nc)
	// sampleRows returns sorted indexes; shuffle is unnecessary for Lloyd.
	for c, r := range init {
		copy(centers[c*dim:(c+1)*dim], x[r*dim:(r+1)*dim])
		if spherical {
			normalize(centers[c*dim : (c+1)*dim])
		}
	}
	assign := make([]int32, n)
	sums := make([]float64, nc*dim)
	counts := make([]int, nc)
	for it := 0; it < iters; it++ {
		nearestCenters(k, x, n, dim, centers, nc, assign)
		clear(sums)
		clear(counts)
		for i := 0; i < n; i++ {
			c := int(assign[i])
			counts[c]++
			s := sums[c*dim : (c+1)*dim]
			for d, v := range x[i*dim : (i+1)*dim] {
				s[d] += float64(v)
			}
		}
		for c := 0; c < nc; c++ {
			dst := centers[c*dim : (c+1)*dim]
			if counts[c] == 0 {
				r := rng.IntN(n)
				copy(dst, x[r*dim:(r+1)*dim])
			} else {
				inv := 1 / float64(counts[c])
				for d := range dst {
					dst[d] = float32(sums[c*dim+d] * inv)
				}
			}
			if spherical {
				normalize(dst)
			}
		}
	}
	return centers
}

// leafMeans returns the mean of the rows of x ([n,dim]) assigned to each of
// nc leaves; an empty leaf keeps its row of fallback.
func leafMeans(x []float32, n, dim, nc int, assign []int32, fallback []float32) []float32 {
	sums := make([]float64, nc*dim)
	counts := make([]int, nc)
	for i := 0; i < n; i++ {
		c := int(assign[i])
		counts[c]++
		s := sums[c*dim : (c+1)*dim]
		for d, v := range x[i*dim : (i+1)*dim] {
			s[d] += float64(v)
		}
	}
	out := make([]float32, nc*dim)
	copy(out, fallback)
	for c := 0; c < nc; c++ {
		if counts[c] == 0 {
			continue
		}
		inv := 1 / float64(counts[c])
		for d := range out[c*dim : (c+1)*dim] {
			out[c*dim+d] = float32(sums[c*dim+d] * inv)
		}
	}
	return out
}
