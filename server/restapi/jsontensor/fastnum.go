package jsontensor

import "math"

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
