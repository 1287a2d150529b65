package ann

import (
	"math"
	"math/rand/v2"
)

// centersPerBlock is the number of codebook entries per block (4-bit codes).
const centersPerBlock = 16

// trainCodebook trains one 16-center codebook per block on the residuals
// res ([m, pdim], pdim = nblocks*dpb) by k-means. Each block uses its own
// generator derived from seed, so blocks train in parallel deterministically.
// It returns codebook [nblocks][16][dpb].
func trainCodebook(res []float32, m, nblocks, dpb, iters int, seed uint64) []float32 {
	pdim := nblocks * dpb
	cb := make([]float32, nblocks*centersPerBlock*dpb)
	parallelFor(nblocks, func(lo, hi int) {
		sub := make([]float32, m*dpb)
		for b := lo; b < hi; b++ {
			for i := 0; i < m; i++ {
				copy(sub[i*dpb:(i+1)*dpb], res[i*pdim+b*dpb:i*pdim+(b+1)*dpb])
			}
			rng := newRand(seed, 0x100000+uint64(b))
			smallKMeans(sub, m, dpb, cb[b*centersPerBlock*dpb:(b+1)*centersPerBlock*dpb], iters, rng)
		}
	})
	return cb
}

// smallKMeans is Lloyd's k-means with 16 centers for low-dimensional rows,
// writing the centers into out ([16, dim]). With fewer than 16 rows the
// remaining centers repeat rows.
func smallKMeans(x []float32, n, dim int, out []float32, iters int, rng *rand.Rand) {
	const nc = centersPerBlock
	init := sampleRows(rng, n, nc)
	for c := 0; c < nc; c++ {
		r := init[c%len(init)]
		copy(out[c*dim:(c+1)*dim], x[r*dim:(r+1)*dim])
	}
	sums := make([]float64, nc*dim)
	var counts [nc]int
	for it := 0; it < iters; it++ {
		clear(sums)
		counts = [nc]int{}
		for i := 0; i < n; i++ {
			row := x[i*dim : (i+1)*dim]
			c := nearestSmall(row, out, dim)
			counts[c]++
			for d, v := range row {
				sums[c*dim+d] += float64(v)
			}
		}
		for c := 0; c < nc; c++ {
			dst := out[c*dim : (c+1)*dim]
			if counts[c] == 0 {
				r := rng.IntN(n)
				copy(dst, x[r*dim:(r+1)*dim])
				continue
			}
			inv := 1 / float64(counts[c])
			for d := range dst {
				dst[d] = float32(sums[c*dim+d] * inv)
			}
		}
	}
}

// nearestSmall returns the index of the center (of 16) nearest to row.
func nearestSmall(row, centers []float32, dim int) int {
	best, bestD := 0, float32(math.Inf(1))
	for c := 0; c < centersPerBlock; c++ {
		cc := centers[c*dim : (c+1)*dim]
		var d float32
		for j, v := range row {
			t := v - cc[j]
			d += t * t
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// encodePlain writes the nearest-center code of every block of residual r
// (length nblocks*dpb) into codes.
func encodePlain(r, cb []float32, nblocks, dpb int, codes []uint8) {
	for b := 0; b < nblocks; b++ {
		codes[b] = uint8(nearestSmall(r[b*dpb:(b+1)*dpb], cb[b*centersPerBlock*dpb:], dpb))
	}
}

// parallelCostMultiplier is ScaNN's eta = h_parallel / h_perpendicular for
// the anisotropic loss with threshold t, a datapoint of squared norm sqNorm
// and dim dimensions. It returns 1 (plain quantization) when the threshold
// is not below the norm.
func parallelCostMultiplier(t, sqNorm float64, dim int) float64 {
	if dim < 2 || sqNorm <= 0 {
		return 1
	}
	ratio := t * t / sqNorm
	if ratio >= 1 {
		return 1
	}
	parallel := ratio
	perpendicular := (1 - ratio) / float64(dim-1)
	return parallel / perpendicular
}

// encodeAnisotropic encodes residual r of datapoint x by coordinate descent on
// ScaNN's score-aware loss
//
//	loss = eta·‖e∥‖² + ‖e⊥‖² = ‖e‖² + (eta-1)·(e·x̂)²,  e = r - r̃,
//
// where x̂ is the unit datapoint (the parallel direction of the score error
// q·(x - x̃)). It starts from the plain codes and stops when a round changes
// nothing or after maxRounds. err is scratch of length nblocks*dpb.
func encodeAnisotropic(x, r, cb []float32, dim, nblocks, dpb int, eta float64, codes []uint8, err []float32, maxRounds int) {
	encodePlain(r, cb, nblocks, dpb, codes)
	if eta == 1 {
		return
	}
	pdim := nblocks * dpb
	var sq float64
	for _, v := range x {
		sq += float64(v) * float64(v)
	}
	if sq == 0 {
		return
	}
	inv := 1 / math.Sqrt(sq)
	xhat := make([]float64, pdim)
	for d := 0; d < dim; d++ {
		xhat[d] = float64(x[d]) * inv
	}
	var par float64
	for b := 0; b < nblocks; b++ {
		c := cb[(b*centersPerBlock+int(codes[b]))*dpb:]
		for j := 0; j < dpb; j++ {
			e := r[b*dpb+j] - c[j]
			err[b*dpb+j] = e
			par += float64(e) * xhat[b*dpb+j]
		}
	}
	w := eta - 1
	for round := 0; round < maxRounds; round++ {
		changed := false
		for b := 0; b < nblocks; b++ {
			eb := err[b*dpb : (b+1)*dpb]
			xb := xhat[b*dpb : (b+1)*dpb]
			rb := r[b*dpb : (b+1)*dpb]
			var oldSq, oldPar float64
			for j := range eb {
				oldSq += float64(eb[j]) * float64(eb[j])
				oldPar += float64(eb[j]) * xb[j]
			}
			rest := par - oldPar
			bestC := int(codes[b])
			bestLoss := oldSq + w*par*par
			for c := 0; c < centersPerBlock; c++ {
				if c == int(codes[b]) {
					continue
				}
				cc := cb[(b*centersPerBlock+c)*dpb:]
				var nsq, npar float64
				for j := range eb {
					e := float64(rb[j] - cc[j])
					nsq += e * e
					npar += e * xb[j]
				}
				p := rest + npar
				if l := nsq + w*p*p; l < bestLoss-1e-12 {
					bestC, bestLoss = c, l
				}
			}
			if bestC != int(codes[b]) {
				changed = true
				codes[b] = uint8(bestC)
				cc := cb[(b*centersPerBlock+bestC)*dpb:]
				var npar float64
				for j := range eb {
					eb[j] = rb[j] - cc[j]
					npar += float64(eb[j]) * xb[j]
				}
				par = rest + npar
			}
		}
		if !changed {
			break
		}
	}
}
