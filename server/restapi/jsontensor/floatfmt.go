package jsontensor

import (
	"math"
	"strconv"
)

// AppendFloat32 appends v as TF Serving writes a float in JSON
// (util/json_tensor.cc WriteDecimal<float>):
//
//  1. printf "%g" (6 significant digits; absl::StrCat);
//  2. if that text does not parse back to v (as a float), "%.9g";
//  3. if the text has neither '.' nor 'e', append ".0";
//  4. NaN, +Inf and -Inf are the bare tokens NaN, Infinity, -Infinity.
//
// Examples: 3.1415927 → 3.14159274, 123456789 → 123456792.0, 9e6 → 9e+06,
// 999999 → 999999.0, 3e-5 → 3e-05.
func AppendFloat32(dst []byte, v float32) []byte {
	return appendFloat32Fast(dst, v)
}

// AppendFloat64 is AppendFloat32 for doubles (the fallback is "%.17g").
func AppendFloat64(dst []byte, v float64) []byte {
	return appendFloat64Fast(dst, v)
}

// appendDecimal is the reference implementation of AppendFloat32 (bitSize
// 32) and AppendFloat64 (64) on strconv, which floatfast.go's exact integer
// arithmetic is tested against; it also writes the values the fast path
// leaves out (zero, subnormals, NaN, infinities, extreme exponents).

func appendDecimal(dst []byte, v float64, bitSize int) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	}
	if math.Signbit(v) {
		dst = append(dst, '-')
		v = -v
	}
	var scratch [32]byte
	var digits []byte
	var exp int
	prec := 6
	minNormal := 0x1p-1022
	if bitSize == 32 {
		minNormal = 0x1p-126
	}
	if v >= minNormal {
		// "%g" rounds to 6 significant digits. For a normal number, if the
		// shortest text that parses back to v has at most 6 digits, the
		// correctly rounded 6-digit decimal is that same number (two 6-digit
		// decimals are further apart than one ulp of a normal float32), so
		// it round-trips; if the shortest text needs more digits, no 6-digit
		// text round-trips.
		digits, exp = shortestDigits(scratch[:0], v, bitSize)
		if len(digits) > 6 {
			prec = 0
		}
	} else {
		// Zero and subnormals: ulps are wide, so test the round trip.
		digits, exp = fixedDigits(scratch[:0], v, 6, bitSize)
		var tmp [32]byte
		back, err := strconv.ParseFloat(string(appendG(tmp[:0], digits, exp, 6)), bitSize)
		if err != nil || back != v {
			prec = 0
		}
	}
	if prec == 0 {
		prec = 17
		if bitSize == 32 {
			prec = 9
		}
		digits, exp = fixedDigits(scratch[:0], v, prec, bitSize)
	}
	start := len(dst)
	dst = appendG(dst, digits, exp, prec)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// shortestDigits returns the shortest decimal digits (no trailing zeros)
// that parse back to v (v >= 0), and the decimal exponent of the first digit.
func shortestDigits(buf []byte, v float64, bitSize int) ([]byte, int) {
	return splitE(strconv.AppendFloat(buf, v, 'e', -1, bitSize))
}

// fixedDigits returns v (v >= 0) correctly rounded to prec significant
// digits (trailing zeros removed) and the exponent of the first digit.
func fixedDigits(buf []byte, v float64, prec, bitSize int) ([]byte, int) {
	return splitE(strconv.AppendFloat(buf, v, 'e', prec-1, bitSize))
}

// splitE takes "d.ddde±XX" and returns its digits without the point and
// without trailing zeros (in place), and the exponent.
func splitE(s []byte) ([]byte, int) {
	e := len(s) - 1
	for s[e] != 'e' {
		e--
	}
	exp := 0
	for _, c := range s[e+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[e+1] == '-' {
		exp = -exp
	}
	n := 0
	for _, c := range s[:e] {
		if c != '.' {
			s[n] = c
			n++
		}
	}
	for n > 1 && s[n-1] == '0' {
		n--
	}
	return s[:n], exp
}

// appendG lays out digits (d1 d2 ... with value d1.d2... × 10^exp, no
// trailing zeros) as C's printf "%.<prec>g" does without the '#' flag.
func appendG(dst, digits []byte, exp, prec int) []byte {
	if exp < -4 || exp >= prec {
		dst = append(dst, digits[0])
		if len(digits) > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		if exp < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	}
	if exp < 0 {
		dst = append(dst, '0', '.')
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	intLen := exp + 1
	if len(digits) <= intLen {
		dst = append(dst, digits...)
		for range intLen - len(digits) {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, digits[:intLen]...)
	dst = append(dst, '.')
	return append(dst, digits[intLen:]...)
}
