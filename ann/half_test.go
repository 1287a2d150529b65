package ann

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFloat16Conversions(t *testing.T) {
	for _, tc := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {0.5, 0x3800},
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Ldexp(1, -24)), 0x0001}, // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000}, // half of it: tie to even (0)
		{float32(math.Ldexp(3, -25)), 0x0002}, // 1.5 units: tie to even (2)
		{1 + 1.0/2048, 0x3c00},                // tie between 1 and 1+2^-10: even
		{1 + 3.0/2048, 0x3c02},                // tie: to even mantissa 2
		{0.1, 0x2e66}, {65520, 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
	} {
		if got := f32ToF16(tc.f); got != tc.h {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tc.f, got, tc.h)
		}
	}
	// Every finite half survives the round trip, and widening is exact:
	// the widened value rounds back to itself.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 {
			continue
		}
		f := f16ToF32(uint16(h))
		if back := f32ToF16(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, back)
		}
	}
	// Rounding is to the nearest half: no other half is closer.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		f := float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
		h := f32ToF16(f)
		err := math.Abs(float64(f16ToF32(h)) - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 {
				continue
			}
			if e := math.Abs(float64(f16ToF32(n)) - float64(f)); e < err {
				t.Fatalf("f32ToF16(%g) = %#04x (error %g), but %#04x is closer (%g)", f, h, err, n, e)
			}
		}
	}
}

func TestQuantizeF16Scale(t *testing.T) {
	x := []float32{3e5, -1e5, 1, 1e-3, 0}
	h, mult := quantizeF16(x)
	if m, e := math.Frexp(float64(mult)); m != 0.5 {
		t.Fatalf("multiplier %g (2^%d·%g) is not a power of two", mult, e, m)
	}
	if big := 3e5 / float64(mult); big < 1<<14 || big >= 1<<15 {
		t.Fatalf("largest value scaled to %g, want [2^14, 2^15)", big)
	}
	for i, v := range x {
		got := f16ToF32(h[i]) * mult
		// Half a unit in the last place (2^-11 relative), or half the
		// subnormal step for tiny values.
		if tol := math.Abs(float64(v))/2048 + float64(mult)*math.Ldexp(1, -25); math.Abs(float64(got-v)) > tol {
			t.Errorf("x[%d] = %g comes back as %g", i, v, got)
		}
	}
}

func TestDotF16Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	simd, ref := defaultKernels(), portableKernels()
	for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 784} {
		q := make([]float32, n)
		v := make([]uint16, n)
		var want float64
		for i := range q {
			q[i] = float32(rng.NormFloat64())
			v[i] = f32ToF16(float32(rng.NormFloat64()))
			want += float64(q[i]) * float64(f16ToF32(v[i]))
		}
		for _, k := range []kernelSet{simd, ref} {
			if got := k.dotF16(q, v); math.Abs(float64(got)-want) > 1e-5*float64(n) {
				t.Errorf("%s dotF16 n=%d = %v, want %v", k.name, n, got, want)
			}
		}
	}
}

// TestReservoirKeepsTopK compares the reservoir with the heap on scores with
// many ties: both must keep exactly the same best k.
func TestReservoirKeepsTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range []int{1, 2, 10, 50} {
		for trial := 0; trial < 20; trial++ {
			n := rng.IntN(20 * k)
			var h topK
			var r reservoir
			h.reset(k)
			r.reset(k)
			for i := 0; i < n; i++ {
				s := float32(rng.IntN(8)) // ties
				h.push(s, int32(i))
				if s >= r.threshold() {
					r.push(s, int32(i))
				}
			}
			r.compact()
			var h2 topK
			h2.reset(k)
			for j, s := range r.s {
				h2.push(s, r.id[j])
			}
			a, b := h.sorted(nil), h2.sorted(nil)
			if len(a) != len(b) {
				t.Fatalf("k=%d n=%d: heap kept %d, reservoir %d", k, n, len(a), len(b))
			}
			for j := range a {
				if a[j] != b[j] {
					t.Fatalf("k=%d n=%d: entry %d: heap %v, reservoir %v", k, n, j, a[j], b[j])
				}
			}
		}
	}
}
