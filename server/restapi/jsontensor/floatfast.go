package jsontensor

import (
	"math"
	"math/bits"
	"slices"
)

// The fast float writer. TF Serving's text for a float (AppendFloat32) is
// C's "%g" (6 significant digits) when that text parses back to the value,
// else "%.9g" ("%.17g" for doubles). Both are correctly rounded fixed-digit
// decimals of the exact binary value, so for v = m × 2^e they are
// round(v × 10^q) for q = P-1-E, P the digit count and E the decimal
// exponent of v. appendFast computes that product exactly in 128-bit
// integers (v × 10^q = N / D with integer N and D), rounds it half to even
// as printf does, and decides the 6-digit round trip exactly: the decimal
// parses back to v if and only if it lies within half an ulp of v (a
// quarter below a power of two, whose lower neighbour is closer), the
// bounds included when m is even (parsing rounds ties to even). Values whose
// numbers do not fit 128 bits (|v| below about 1e-36 for floats or 1e-16
// for doubles, or 1e33 and above), subnormals, zero, NaN and infinities
// are handled by appendDecimal, the strconv-based reference.

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - borrow, lo}
}

// shl shifts left by n < 128 bits (bits shifted out are lost).
func (a u128) shl(n uint) u128 {
	if n >= 64 {
		return u128{a.lo << (n - 64), 0}
	}
	if n == 0 {
		return a
	}
	return u128{a.hi<<n | a.lo>>(64-n), a.lo << n}
}

// shr shifts right by n < 128 bits.
func (a u128) shr(n uint) u128 {
	if n >= 64 {
		return u128{0, a.hi >> (n - 64)}
	}
	if n == 0 {
		return a
	}
	return u128{a.hi >> n, a.lo>>n | a.hi<<(64-n)}
}

// lowBits keeps the low n < 128 bits.
func (a u128) lowBits(n uint) u128 {
	if n >= 64 {
		return u128{a.hi & (1<<(n-64) - 1), a.lo}
	}
	return u128{0, a.lo & (1<<n - 1)}
}

// pow5 holds 5^q for q = 0..55 (5^55 < 2^128).
var pow5 = func() (t [56]u128) {
	t[0] = u128{0, 1}
	for q := 1; q < len(t); q++ {
		hi, lo := bits.Mul64(t[q-1].lo, 5)
		t[q] = u128{t[q-1].hi*5 + hi, lo}
	}
	return t
}()

// pow5lo holds 5^q for q = 0..27, the powers below 2^64.
var pow5lo = func() (t [28]uint64) {
	for q := range t {
		t[q] = pow5[q].lo
	}
	return t
}()

// floatFormat describes one binary format for appendFast.
type floatFormat struct {
	mantBits uint // explicit mantissa bits (23, 52)
	bias     int  // exponent bias (127, 1023)
	long     int  // digits of the fallback precision (9, 17)
}

var (
	float32Format = &floatFormat{mantBits: 23, bias: 127, long: 9}
	float64Format = &floatFormat{mantBits: 52, bias: 1023, long: 17}
)

// log10Pow2 is floor(log10(2^k)) for |k| <= 1100 (TestLog10Pow2 checks
// every k against exact arithmetic).
func log10Pow2(k int) int {
	// 1292913986 / 2^32 is log10(2) within 2e-11; the shift floors.
	return (k * 1292913986) >> 32
}

// scaled returns v × 10^q = fl + r/d exactly for v = m × 2^e, with h/d
// twice the half-ulp of v in the same scale (h is meaningless when r is
// zero). ok is false when the numbers do not fit 128 bits or fl does not
// fit 64.
func scaled(m uint64, e, q int) (fl uint64, r, d, h u128, ok bool) {
	if q >= 0 {
		if q >= len(pow5) {
			return
		}
		p := pow5[q]
		h1, lo := bits.Mul64(m, p.lo)
		h2, l2 := bits.Mul64(m, p.hi)
		hi, carry := bits.Add64(l2, h1, 0)
		if h2 != 0 || carry != 0 {
			return
		}
		a := u128{hi, lo}
		t := e + q
		if t >= 0 {
			if a.hi != 0 || t >= 64 || a.lo>>(63-uint(t)) != 0 {
				return
			}
			return a.lo << uint(t), u128{}, u128{0, 1}, u128{0, 1}, true
		}
		s := uint(-t)
		if s >= 127 {
			return
		}
		f := a.shr(s)
		if f.hi != 0 {
			return
		}
		return f.lo, a.lowBits(s), u128{0, 1}.shl(s), p, true
	}
	Q := -q
	if Q > 27 { // 5^27 < 2^64 <= 5^28
		return
	}
	p := pow5[Q].lo
	var n u128
	var den uint64
	if e >= Q {
		sh := uint(e - Q)
		if sh >= 127-64 || bits.Len64(m)+int(sh) > 127 {
			return
		}
		n = u128{0, m}.shl(sh)
		den = p
		h = u128{0, 1}.shl(sh)
	} else {
		sh := uint(Q - e)
		if bits.Len64(p)+int(sh) > 63 {
			return
		}
		n = u128{0, m}
		den = p << sh
		h = u128{0, 1}
	}
	if n.hi >= den {
		return
	}
	quo, rem := bits.Div64(n.hi, n.lo, den)
	return quo, u128{0, rem}, u128{0, den}, h, true
}

// roundDigits rounds v × 10^q (v = m × 2^e) half to even and reports
// whether the result parses back to v: within half an ulp of v (a quarter
// ulp below v when quarterBelow), bounds included when even.
func roundDigits(m uint64, e, q int, even, quarterBelow bool) (dig uint64, roundTrips, ok bool) {
	if uint(q) < uint(len(pow5lo)) && e+q < 0 && e+q > -62 {
		// The usual case (|v| from about 1e-9 to 1e9): everything fits
		// 64 bits. a = v × 10^q × 2^s exactly.
		hi, a := bits.Mul64(m, pow5lo[q])
		if hi == 0 {
			s := uint(-(e + q))
			fl, r, d := a>>s, a&(1<<s-1), uint64(1)<<s
			if r == 0 {
				return fl, true, true
			}
			up := 2*r > d || (2*r == d && fl&1 == 1)
			diff := r
			if up {
				fl++
				diff = d - r
			}
			lhs := diff << 1 // diff <= 2^(s-1) <= 2^60
			if !up && quarterBelow {
				lhs <<= 1
			}
			h := pow5lo[q]
			return fl, lhs < h || (even && lhs == h), true
		}
	}
	fl, r, d, h, ok := scaled(m, e, q)
	if !ok {
		return 0, false, false
	}
	if r.hi == 0 && r.lo == 0 {
		return fl, true, true
	}
	r2 := r.shl(1) // r < d <= 2^127
	up := d.less(r2) || (r2 == d && fl&1 == 1)
	diff := r
	if up {
		fl++
		diff = d.sub(r)
	}
	lhs := diff.shl(1)
	if !up && quarterBelow {
		lhs = diff.shl(2)
	}
	return fl, lhs.less(h) || (even && lhs == h), true
}

// appendFast appends v (finite, positive and normal, with biased exponent
// b and mantissa bits mant) in TF Serving's text, or returns ok false when v
// is out of its range.
func (f *floatFormat) appendFast(dst []byte, b int, mant uint64) ([]byte, bool) {
	m := mant | 1<<f.mantBits
	e := b - f.bias - int(f.mantBits)
	// v is in [2^(b-bias), 2^(b-bias+1)), so its decimal exponent is E or
	// E+1; roundAt finds which.
	E := log10Pow2(b - f.bias)
	const short = 6
	dig, rt, E, ok := roundAt(m, e, E, short, m&1 == 0, mant == 0 && b > 1)
	if !ok {
		return dst, false
	}
	prec := short
	if !rt {
		prec = f.long
		if dig, _, E, ok = roundAt(m, e, E, prec, false, false); !ok {
			return dst, false
		}
	}
	if dig == pow10u64[prec] {
		dig /= 10
		E++
	}
	return appendGDigits(dst, dig, prec, E), true
}

// roundAt is roundDigits for prec significant digits of v = m × 2^e, whose
// decimal exponent is E or E+1; it returns the exponent the digits have.
// When E is one too small the digits come out above 10^prec (rounding to
// exactly 10^prec reads the same either way: the decimal 10^(E+1)), and
// they are computed again at E+1.
func roundAt(m uint64, e, E, prec int, even, quarterBelow bool) (dig uint64, roundTrips bool, exp int, ok bool) {
	dig, roundTrips, ok = roundDigits(m, e, prec-1-E, even, quarterBelow)
	if ok && dig > pow10u64[prec] {
		E++
		dig, roundTrips, ok = roundDigits(m, e, prec-1-E, even, quarterBelow)
	}
	return dig, roundTrips, E, ok
}

var pow10u64 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendGDigits lays out dig (prec digits, possibly with trailing zeros,
// the first nonzero; value dig × 10^(E-prec+1)) as C's "%.<prec>g", then
// appends ".0" when the text has neither '.' nor 'e' (TF Serving's rule).
// prec is at most 17 and E from -324 to 308, so the text takes at most 32
// bytes, which it writes in place after making room for them.
func appendGDigits(dst []byte, dig uint64, prec, E int) []byte {
	n := prec
	for n > 1 && dig%10 == 0 {
		dig /= 10
		n--
	}
	dst = slices.Grow(dst, 32)
	start := len(dst)
	b := dst[start : start+32]
	switch {
	case E < -4 || E >= prec:
		// d.ddde±XX: the digits at b[1:], the first moved before the point.
		putDigits(b[1:1+n], dig)
		b[0] = b[1]
		k := n + 1
		if n > 1 {
			b[1] = '.'
		} else {
			k = 1
		}
		x := E
		b[k] = 'e'
		if x < 0 {
			b[k+1] = '-'
			x = -x
		} else {
			b[k+1] = '+'
		}
		k += 2
		if x >= 100 {
			b[k] = byte('0' + x/100)
			k++
			x %= 100
		}
		b[k], b[k+1] = digitPairs[2*x], digitPairs[2*x+1]
		return dst[:start+k+2]
	case E < 0:
		// 0.000ddd
		z := -E - 1
		b[0], b[1] = '0', '.'
		for i := range z {
			b[2+i] = '0'
		}
		putDigits(b[2+z:2+z+n], dig)
		return dst[:start+2+z+n]
	case n <= E+1:
		// ddd000.0
		putDigits(b[:n], dig)
		for i := n; i <= E; i++ {
			b[i] = '0'
		}
		b[E+1], b[E+2] = '.', '0'
		return dst[:start+E+3]
	default:
		// ddd.ddd: the digits at b[1:], the integer part moved left.
		putDigits(b[1:1+n], dig)
		copy(b[:E+1], b[1:E+2])
		b[E+1] = '.'
		return dst[:start+n+1]
	}
}

// putDigits writes dig's len(b) decimal digits (with leading zeros) into b.
func putDigits(b []byte, dig uint64) {
	i := len(b)
	for i >= 2 {
		q := dig / 100
		k := (dig - q*100) * 2
		b[i-2], b[i-1] = digitPairs[k], digitPairs[k+1]
		dig = q
		i -= 2
	}
	if i == 1 {
		b[0] = byte('0' + dig)
	}
}

// appendFloat32Fast is AppendFloat32.
func appendFloat32Fast(dst []byte, v float32) []byte {
	u := math.Float32bits(v)
	b := int(u >> 23 & 0xFF)
	if b == 0 || b == 0xFF {
		return appendDecimal(dst, float64(v), 32)
	}
	if u>>31 != 0 {
		dst = append(dst, '-')
	}
	out, ok := float32Format.appendFast(dst, b, uint64(u&(1<<23-1)))
	if !ok {
		return appendDecimal(dst, math.Abs(float64(v)), 32)
	}
	return out
}

// appendFloat64Fast is AppendFloat64.
func appendFloat64Fast(dst []byte, v float64) []byte {
	u := math.Float64bits(v)
	b := int(u >> 52 & 0x7FF)
	if b == 0 || b == 0x7FF {
		return appendDecimal(dst, v, 64)
	}
	if u>>63 != 0 {
		dst = append(dst, '-')
	}
	out, ok := float64Format.appendFast(dst, b, u&(1<<52-1))
	if !ok {
		return appendDecimal(dst, math.Abs(v), 64)
	}
	return out
}
