package jsontensor

import (
	"math"
	"math/big"
	"math/bits"
)

// Grisu2 as rapidjson 1.1.0 implements it (internal/dtoa.h, diyfp.h). TF
// Serving's error messages quote request values through rapidjson's
// Writer::Double, whose digits come from Grisu2; Grisu2 usually gives the
// shortest round-tripping digits but not always, so we reproduce it rather
// than use strconv.

type diyFp struct {
	f uint64
	e int
}

const (
	dpSignificandSize = 52
	dpExponentBias    = 0x3FF + dpSignificandSize
	dpMinExponent     = -dpExponentBias
	dpHiddenBit       = uint64(1) << 52
)

func diyFromDouble(d float64) diyFp {
	u := math.Float64bits(d)
	biased := int(u >> 52 & 0x7FF)
	sig := u & (dpHiddenBit - 1)
	if biased != 0 {
		return diyFp{sig + dpHiddenBit, biased - dpExponentBias}
	}
	return diyFp{sig, dpMinExponent + 1}
}

func (a diyFp) mul(b diyFp) diyFp {
	hi, lo := bits.Mul64(a.f, b.f)
	if lo&(1<<63) != 0 {
		hi++
	}
	return diyFp{hi, a.e + b.e + 64}
}

func (a diyFp) normalize() diyFp {
	s := bits.LeadingZeros64(a.f)
	return diyFp{a.f << s, a.e - s}
}

func (a diyFp) normalizeBoundary() diyFp {
	for a.f&(dpHiddenBit<<1) == 0 {
		a.f <<= 1
		a.e--
	}
	const shift = 64 - dpSignificandSize - 2
	return diyFp{a.f << shift, a.e - shift}
}

func (a diyFp) normalizedBoundaries() (minus, plus diyFp) {
	plus = diyFp{a.f<<1 + 1, a.e - 1}.normalizeBoundary()
	if a.f == dpHiddenBit {
		minus = diyFp{a.f<<2 - 1, a.e - 2}
	} else {
		minus = diyFp{a.f<<1 - 1, a.e - 1}
	}
	minus.f <<= uint(minus.e - plus.e)
	minus.e = plus.e
	return minus, plus
}

// cachedPowers holds 10^k for k = -348, -340, ..., 340 as 64-bit normalized
// significands (rounded to nearest) with binary exponents: the table rapidjson
// and double-conversion ship, computed here exactly.
var cachedPowers = func() (t [87]diyFp) {
	for i := range t {
		k := -348 + 8*i
		r := new(big.Rat)
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(k))), nil)
		if k >= 0 {
			r.SetInt(p)
		} else {
			r.SetFrac(big.NewInt(1), p)
		}
		x := new(big.Float).SetPrec(64).SetMode(big.ToNearestEven).SetRat(r)
		mant := new(big.Float)
		exp := x.MantExp(mant) // x = mant × 2^exp, mant in [0.5, 1)
		f, _ := mant.SetMantExp(mant, 64).Uint64()
		t[i] = diyFp{f, exp - 64}
	}
	return t
}()

func abs(k int) int {
	if k < 0 {
		return -k
	}
	return k
}

func cachedPower(e int) (diyFp, int) {
	dk := float64(-61-e)*0.30102999566398114 + 347
	k := int(dk)
	if dk-float64(k) > 0.0 {
		k++
	}
	index := (k >> 3) + 1
	return cachedPowers[index], -(-348 + index<<3)
}

var pow10u32 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

func grisuRound(buf []byte, delta, rest, tenKappa, wpw uint64) {
	for rest < wpw && delta-rest >= tenKappa && (rest+tenKappa < wpw || wpw-rest > rest+tenKappa-wpw) {
		buf[len(buf)-1]--
		rest += tenKappa
	}
}

func countDecimalDigit32(n uint32) int {
	for i := 1; i < 9; i++ {
		if n < pow10u32[i] {
			return i
		}
	}
	return 9
}

func digitGen(w, mp diyFp, delta uint64, buf []byte, k int) ([]byte, int) {
	oneE := uint(-mp.e)
	oneF := uint64(1) << oneE
	wpw := mp.f - w.f
	p1 := uint32(mp.f >> oneE)
	p2 := mp.f & (oneF - 1)
	kappa := countDecimalDigit32(p1)
	for kappa > 0 {
		div := pow10u32[kappa-1]
		d := p1 / div
		p1 %= div
		if d != 0 || len(buf) > 0 {
			buf = append(buf, byte('0'+d))
		}
		kappa--
		tmp := uint64(p1)<<oneE + p2
		if tmp <= delta {
			k += kappa
			grisuRound(buf, delta, tmp, uint64(pow10u32[kappa])<<oneE, wpw)
			return buf, k
		}
	}
	for {
		p2 *= 10
		delta *= 10
		d := byte(p2 >> oneE)
		if d != 0 || len(buf) > 0 {
			buf = append(buf, '0'+d)
		}
		p2 &= oneF - 1
		kappa--
		if p2 < delta {
			k += kappa
			var m uint64
			if -kappa < 9 {
				m = wpw * uint64(pow10u32[-kappa])
			}
			grisuRound(buf, delta, p2, oneF, m)
			return buf, k
		}
	}
}

// grisu2 returns digits and K with v = digits × 10^K (v > 0, finite).
func grisu2(buf []byte, v float64) ([]byte, int) {
	d := diyFromDouble(v)
	wm, wp := d.normalizedBoundaries()
	cmk, k := cachedPower(wp.e)
	w := d.normalize().mul(cmk)
	wp = wp.mul(cmk)
	wm = wm.mul(cmk)
	wm.f++
	wp.f--
	return digitGen(w, wp, wp.f-wm.f, buf, k)
}
