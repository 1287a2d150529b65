package ann

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDotKernels(t *testing.T) {
	simd, ref := defaultKernels(), portableKernels()
	t.Logf("kernels: %s", simd.name)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 784} {
		a := randVec(rng, n)
		rows := randVec(rng, 4*n+5)
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(rows[i])
		}
		tol := 1e-4 * float64(n)
		if got := simd.dot(a, rows[:n]); math.Abs(float64(got)-want) > tol {
			t.Errorf("n=%d: %s dot = %v, want %v", n, simd.name, got, want)
		}
		if got := ref.dot(a, rows[:n]); math.Abs(float64(got)-want) > tol {
			t.Errorf("n=%d: go dot = %v, want %v", n, got, want)
		}
		stride := n + 1
		rows = randVec(rng, 3*stride+n)
		var got [4]float32
		simd.dot4(a, rows, stride, &got)
		for j := 0; j < 4; j++ {
			var w float64
			for i := range a {
				w += float64(a[i]) * float64(rows[j*stride+i])
			}
			if math.Abs(float64(got[j])-w) > tol {
				t.Errorf("n=%d row %d: dot4 = %v, want %v", n, j, got[j], w)
			}
		}
	}
}

// TestLUT16KernelsAgree checks that the SIMD and pure-Go LUT16 kernels give
// exactly the integer sums computed directly from unpacked codes.
func TestLUT16KernelsAgree(t *testing.T) {
	simd, ref := defaultKernels(), portableKernels()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ nblocks, ngroups int }{
		{1, 1}, {2, 1}, {3, 2}, {8, 3}, {64, 5}, {392, 4}, {511, 2}, {600, 3}, {1030, 2},
	} {
		npairs := (tc.nblocks + 1) / 2
		gbytes := npairs * 32
		codes := make([]uint8, tc.ngroups*groupSize*tc.nblocks)
		for i := range codes {
			codes[i] = uint8(rng.IntN(16))
		}
		packed := make([]byte, tc.ngroups*gbytes)
		for g := 0; g < tc.ngroups; g++ {
			packGroup(packed[g*gbytes:(g+1)*gbytes], codes[g*groupSize*tc.nblocks:], groupSize, tc.nblocks)
		}
		lut := make([]byte, gbytes)
		for b := 0; b < tc.nblocks; b++ {
			for c := 0; c < 16; c++ {
				// Mostly large values so that 16-bit overflow would show.
				v := 255 - rng.IntN(8)
				if rng.IntN(4) == 0 {
					v = rng.IntN(256)
				}
				lut[(b>>1)*32+(b&1)*16+c] = uint8(v)
			}
		}
		want := make([]uint32, tc.ngroups*32)
		for g := 0; g < tc.ngroups; g++ {
			for i := 0; i < groupSize; i++ {
				var s uint32
				for b := 0; b < tc.nblocks; b++ {
					c := codes[(g*groupSize+i)*tc.nblocks+b]
					if got := unpackCode(packed[g*gbytes:], i, b); got != c {
						t.Fatalf("unpack g%d i%d b%d = %d, want %d", g, i, b, got, c)
					}
					s += uint32(lut[(b>>1)*32+(b&1)*16+int(c)])
				}
				want[g*32+i] = s
			}
		}
		for _, k := range []kernelSet{simd, ref} {
			got := make([]uint32, tc.ngroups*32)
			k.scanLUT16(packed, npairs, lut, got, tc.ngroups)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s kernel, %d blocks: sum[%d] = %d, want %d", k.name, tc.nblocks, i, got[i], want[i])
				}
			}
		}
	}
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func TestLUTBuildKernels(t *testing.T) {
	simd, ref := defaultKernels(), portableKernels()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ nb, dpb int }{{1, 1}, {5, 2}, {392, 2}, {33, 3}, {196, 4}} {
		q := randVec(rng, tc.nb*tc.dpb)
		cbT := randVec(rng, tc.nb*tc.dpb*16)
		f1, f2 := make([]float32, tc.nb*16), make([]float32, tc.nb*16)
		lo1, lo2 := make([]float32, tc.nb), make([]float32, tc.nb)
		hi1, hi2 := make([]float32, tc.nb), make([]float32, tc.nb)
		simd.lutFloat(q, cbT, tc.nb, tc.dpb, f1, lo1, hi1)
		ref.lutFloat(q, cbT, tc.nb, tc.dpb, f2, lo2, hi2)
		for b := 0; b < tc.nb; b++ {
			mn, mx := math.Inf(1), math.Inf(-1)
			for c := 0; c < 16; c++ {
				var want float64
				for j := 0; j < tc.dpb; j++ {
					want += float64(q[b*tc.dpb+j]) * float64(cbT[(b*tc.dpb+j)*16+c])
				}
				for _, got := range []float32{f1[b*16+c], f2[b*16+c]} {
					if math.Abs(float64(got)-want) > 1e-5*float64(tc.dpb) {
						t.Fatalf("nb=%d dpb=%d: f[%d][%d] = %v, want %v", tc.nb, tc.dpb, b, c, got, want)
					}
				}
				mn, mx = math.Min(mn, float64(f1[b*16+c])), math.Max(mx, float64(f1[b*16+c]))
			}
			if float64(lo1[b]) != mn || float64(hi1[b]) != mx {
				t.Fatalf("block %d: lo/hi = %v/%v, want %v/%v", b, lo1[b], hi1[b], mn, mx)
			}
		}
		// Quantization must agree exactly on the same float input.
		inv := float32(255 / 3.7)
		o1, o2 := make([]byte, tc.nb*16), make([]byte, tc.nb*16)
		simd.lutQuant(f1, lo1, tc.nb, inv, o1)
		ref.lutQuant(f1, lo1, tc.nb, inv, o2)
		for i := range o1 {
			if o1[i] != o2[i] {
				t.Fatalf("nb=%d: quantized[%d] = %d (%s) vs %d (go)", tc.nb, i, o1[i], simd.name, o2[i])
			}
		}
	}
	for _, n := range []int{1, 15, 16, 17, 784} {
		q := randVec(rng, n)
		v := make([]int8, n)
		var want float64
		for i := range v {
			v[i] = int8(rng.IntN(255) - 127)
			want += float64(q[i]) * float64(v[i])
		}
		for _, k := range []kernelSet{simd, ref} {
			if got := k.dotInt8(q, v); math.Abs(float64(got)-want) > 1e-3*float64(n) {
				t.Errorf("%s dotInt8 n=%d = %v, want %v", k.name, n, got, want)
			}
		}
	}
}
