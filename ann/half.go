package ann

import "math"

// IEEE 754 half precision (binary16) for the float16 reordering vectors:
// 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; finite values up
// to 65504, subnormals down to 2^-24.

// f32ToF16 rounds f to the nearest half (ties to even). Values beyond the
// half range become ±Inf; callers scale their data into range first.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	e32 := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if e32 == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	exp := e32 - 127 + 15
	if exp >= 31 {
		return sign | 0x7c00
	}
	if exp <= 0 {
		// Subnormal half: value = h·2^-24, h = (1.mant)·2^(exp-15+24).
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the correct rounding (up to Inf)
	}
	return sign | uint16(h)
}

// f16ToF32 widens a half exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// quantizeF16 stores x as halves of x·s, with s the power of two that puts
// the largest magnitude in [2^14, 2^15) (well inside the half range, and
// exact to undo). It returns the halves and 1/s.
func quantizeF16(x []float32) ([]uint16, float32) {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	mult := 1.0
	if m > 0 {
		_, e := math.Frexp(m) // m < 2^e
		mult = math.Ldexp(1, e-15)
	}
	s := float32(1 / mult)
	out := make([]uint16, len(x))
	for i, v := range x {
		out[i] = f32ToF16(v * s)
	}
	return out, float32(mult)
}

// dotF16Go computes Σ q[d]·half(v[d]).
func dotF16Go(q []float32, v []uint16) float32 {
	v = v[:len(q)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += q[i] * f16ToF32(v[i])
		s1 += q[i+1] * f16ToF32(v[i+1])
		s2 += q[i+2] * f16ToF32(v[i+2])
		s3 += q[i+3] * f16ToF32(v[i+3])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * f16ToF32(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}
