package ann

import "math"

// kernelSet holds the inner loops an Index uses. Tests compare the SIMD set
// against portableKernels.
type kernelSet struct {
	name string
	dot  func(a, b []float32) float32
	dot4 func(x, rows []float32, stride int, out *[4]float32)
	// lut16 adds, for ngroups groups of 32 datapoints, the LUT16 sums of
	// npairs block pairs to out[32*g : 32*g+32]. Group g's codes start at
	// codes[g*stride]. npairs must be <= maxPairsPerCall.
	lut16 func(codes []byte, stride int, lut []byte, npairs int, out []uint32, ngroups int)
	// lutFloat computes a query's float LUT from the transposed codebook
	// cbT [nb][dpb][16]: f[16b+c] = Σ_j q[b*dpb+j]·cbT[b][j][c], with the
	// per-block minimum and maximum in lo and hi.
	lutFloat func(q, cbT []float32, nb, dpb int, f, lo, hi []float32)
	// lutQuant writes out[16b+c] = uint8(roundeven((f[16b+c]-lo[b])·inv)),
	// saturated to [0, 255].
	lutQuant func(f, lo []float32, nb int, inv float32, out []byte)
	// dotInt8 is Σ q[d]·float32(v[d]).
	dotInt8 func(q []float32, v []int8) float32
	// dotF16 is Σ q[d]·half(v[d]) for IEEE half-precision v.
	dotF16 func(q []float32, v []uint16) float32
	// prefetch hints that b will be read soon (a no-op in pure Go).
	prefetch func(b []byte)
}

func portableKernels() kernelSet {
	return kernelSet{name: "go", dot: dotGo, dot4: dot4Go, lut16: lut16Go,
		lutFloat: lutFloatGo, lutQuant: lutQuantGo, dotInt8: dotInt8Go, dotF16: dotF16Go,
		prefetch: func([]byte) {}}
}

func lutFloatGo(q, cbT []float32, nb, dpb int, f, lo, hi []float32) {
	for b := 0; b < nb; b++ {
		var acc [16]float32
		for j := 0; j < dpb; j++ {
			x := q[b*dpb+j]
			row := cbT[(b*dpb+j)*16 : (b*dpb+j)*16+16]
			for c := range acc {
				acc[c] += x * row[c]
			}
		}
		mn, mx := acc[0], acc[0]
		for _, v := range acc[1:] {
			mn, mx = min(mn, v), max(mx, v)
		}
		copy(f[b*16:b*16+16], acc[:])
		lo[b], hi[b] = mn, mx
	}
}

func lutQuantGo(f, lo []float32, nb int, inv float32, out []byte) {
	for b := 0; b < nb; b++ {
		l := lo[b]
		for c := 0; c < 16; c++ {
			v := math.RoundToEven(float64((f[b*16+c] - l) * inv))
			out[b*16+c] = uint8(min(255, max(0, v)))
		}
	}
}
