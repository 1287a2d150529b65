package jsontensor

import (
	"math"
	"math/bits"
)

// Number parsing for the fast predict decoder, with the results of
// parser.parseNumber (dom.go) bit for bit.
//
// TF Serving parses without rapidjson's kParseFullPrecisionFlag, so a
// decimal is not converted with a correctly rounded algorithm such as
// Eisel–Lemire: rapidjson accumulates the significant digits in a uint64
// while it stays under 2^53 (then in a double), and scales the result by
// one multiplication or division by the double nearest to a power of ten.
// That product can differ from the correctly rounded value (for instance
// when the power is above 10^22, which is not exact), and TF Serving's
// tensors hold rapidjson's value, so a correctly rounded parser would be
// wrong here. The fast path below is that same arithmetic for the common
// shapes of numbers (at most 18 integer digits, all fraction digits taken
// while the significand is under 2^53, an exponent of at most 4 digits):
// one float64 conversion and one multiply or divide. Anything else (longer
// significands, NaN/Infinity, malformed numbers) goes to parseNumber
// itself, so the two cannot differ.

// fastNumMaxSig is the significand bound under which rapidjson takes
// another fraction digit into its integer accumulator.
const fastNumMaxSig = 0x1FFFFFFFFFFFFF

// numResult is a parsed number: a node's flags and bits (see node).
type numResult struct {
	flags uint8
	v     uint64
}

// double is GetDouble of the number.
func (n numResult) double() float64 {
	switch {
	case n.flags&fDouble != 0:
		return math.Float64frombits(n.v)
	case n.flags&fInt64 != 0:
		return float64(int64(n.v))
	default:
		return float64(n.v)
	}
}

// scanNumber parses the number at b[p] as rapidjson does. It returns the
// number, the offset after it, and false where rapidjson fails.
func scanNumber(b []byte, p int) (numResult, int, bool) {
	if r, e, ok := scanNumberFast(b, p); ok {
		return r, e, true
	}
	return scanNumberSlow(b, p)
}

// scanNumberSlow runs the DOM parser's parseNumber on the number at b[p].
func scanNumberSlow(b []byte, p int) (numResult, int, bool) {
	var nodes [1]node
	doc := document{body: b, nodes: nodes[:0]}
	ps := parser{body: b, pos: p, doc: &doc}
	if !ps.parseNumber() {
		return numResult{}, 0, false
	}
	n := doc.nodes[0]
	return numResult{flags: n.flags, v: n.v}, ps.pos, true
}

// scanNumberFast handles the common numbers; false means "ask
// scanNumberSlow", not that the number is invalid.
func scanNumberFast(b []byte, p int) (numResult, int, bool) {
	minus := false
	if p < len(b) && b[p] == '-' {
		minus = true
		p++
	}
	if p >= len(b) {
		return numResult{}, 0, false
	}
	var m uint64
	c := b[p]
	switch {
	case c == '0':
		p++
	case c >= '1' && c <= '9':
		start := p
		for p < len(b) && isDigit(b[p]) {
			m = m*10 + uint64(b[p]-'0')
			p++
		}
		if p-start > 18 {
			return numResult{}, 0, false
		}
	default:
		return numResult{}, 0, false
	}
	if p >= len(b) || (b[p] != '.' && b[p] != 'e' && b[p] != 'E') {
		// An integer: rapidjson's 32- and 64-bit paths give the same
		// value and flags for up to 18 digits.
		if minus {
			v := -int64(m)
			return numResult{flags: int64Flags(v), v: uint64(v)}, p, true
		}
		return numResult{flags: uint64Flags(m), v: m}, p, true
	}
	expFrac := 0
	if b[p] == '.' {
		p++
		if p >= len(b) || !isDigit(b[p]) {
			return numResult{}, 0, false
		}
		for p < len(b) && isDigit(b[p]) {
			if m > fastNumMaxSig {
				return numResult{}, 0, false // rapidjson goes on in a double
			}
			m = m*10 + uint64(b[p]-'0')
			p++
			expFrac--
		}
	}
	exp := 0
	if p < len(b) && (b[p] == 'e' || b[p] == 'E') {
		p++
		expMinus := false
		if p < len(b) && (b[p] == '+' || b[p] == '-') {
			expMinus = b[p] == '-'
			p++
		}
		start := p
		for p < len(b) && isDigit(b[p]) {
			exp = exp*10 + int(b[p]-'0')
			p++
		}
		if n := p - start; n == 0 || n > 4 {
			return numResult{}, 0, false
		}
		if expMinus {
			exp = -exp
		} else if exp > 308-expFrac {
			return numResult{}, 0, false // rapidjson: number too big
		}
	}
	d := strtodNormalPrecision(float64(m), exp+expFrac)
	if minus {
		d = -d
	}
	return numResult{flags: fDouble, v: math.Float64bits(d)}, p, true
}

// scanDouble is GetDouble of the number at b[p] (scanNumber's value as a
// float64), with the digits of common numbers read eight at a time.
func scanDouble(b []byte, p int) (float64, int, bool) {
	if d, e, _, ok := scanDoubleFast(b, p); ok {
		return d, e, true
	}
	r, e, ok := scanNumber(b, p)
	return r.double(), e, ok
}

const (
	swarZeros = 0x3030303030303030
	swarTop   = 0x8080808080808080
	// swarTen carries a byte from 0..9 to 0x76..0x7F and one from
	// 10..0x89 to bit 7.
	swarTen = 0x7676767676767676
)

// swarPow10 holds 10^k for the digit runs of scanDoubleFast.
var swarPow10 = [8]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000}

// load8 reads 8 bytes at b[p] little-endian; p+8 <= len(b).
func load8(b []byte, p int) uint64 {
	b = b[p : p+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// digitRun returns how many of the 8 bytes of x (first byte lowest) are
// ASCII digits before the first non-digit.
func digitRun(x uint64) int {
	// t holds c-'0' for each byte c: a digit gives 0..9, and takes no
	// borrow from the byte before it as long as that one is a digit too.
	// The first non-digit gives 0xD0 and more (it borrowed, bit 7 set) or
	// 10..0xC9 (bit 7 set, or set once 0x76 is added). Borrows and carries
	// only disturb the bytes after it, which do not count.
	t := x - swarZeros
	return bits.TrailingZeros64((t+swarTen|t)&swarTop) >> 3
}

// digitsValue returns the value of the first k (1..8) digits of x.
func digitsValue(x uint64, k int) uint64 {
	// The first k bytes moved to the top, so that the value has 8-k
	// leading zero digits (zero bytes); then neighbours are combined, with
	// the ASCII bits masked off: bytes to 2-digit values (10*a + b =
	// (2561*v)>>8), then 4-digit, then 8-digit.
	x <<= 64 - 8*uint(k)
	x = (x & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8
	x = (x & 0x00FF00FF00FF00FF) * 6553601 >> 16
	return (x & 0x0000FFFF0000FFFF) * 42949672960001 >> 32
}

// scanDoubleFast handles numbers with at most 16 significant digits (so
// rapidjson's accumulator stays under 2^53), an integer part of at most 6
// or 7 digits and a fraction of at most 7, no exponent, and 16 bytes before
// the end of b; false means "ask scanNumber". Each part is read as one
// eight-byte word, and the bytes after it (the '.', the terminator) are
// taken from the same word, so a number costs two loads. It also returns
// the byte after the number (b[end]). floatRun (fastpath.go) has the same
// arithmetic inline in its loop: a change here goes there too.
func scanDoubleFast(b []byte, p int) (float64, int, byte, bool) {
	if p < 0 || p+16 > len(b) {
		return 0, 0, 0, false
	}
	x := load8(b, p)
	minus := byte(x) == '-'
	avail := 8 // bytes of x that are the body's
	if minus {
		x >>= 8
		p++
		avail = 7
	}
	var m uint64
	k := 1 // a leading '0' is the whole integer part
	if byte(x) != '0' {
		k = digitRun(x)
		if k == 0 || k >= avail {
			return 0, 0, 0, false
		}
		m = digitsValue(x, k)
	}
	p += k
	switch c := byte(x >> (8 * uint(k))); c {
	case '.':
	case 'e', 'E':
		return 0, 0, 0, false
	default:
		// An integer: GetDouble of rapidjson's int64/uint64, where a
		// negative zero is the integer 0.
		if minus {
			return float64(-int64(m)), p, c, true
		}
		return float64(m), p, c, true
	}
	p++
	y := load8(b, p)
	f := digitRun(y)
	if f == 0 || f == 8 || k+f > 16 {
		return 0, 0, 0, false
	}
	t := byte(y >> (8 * uint(f)))
	if t == 'e' || t == 'E' {
		return 0, 0, 0, false
	}
	m = m*swarPow10[f&7] + digitsValue(y, f)
	// m < 10^16 < 2^63: the signed conversion is one instruction and
	// rounds as the unsigned one.
	d := float64(int64(m)) / pow10[f&7]
	if minus {
		d = -d
	}
	return d, p + f, t, true
}
