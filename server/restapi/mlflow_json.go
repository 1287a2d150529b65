package restapi

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// This file writes JSON the way MLflow's scoring server does: Python's
// json.dumps with its default separators (", " and ": "), ensure_ascii and
// allow_nan, and mlflow.utils.proto_json_utils.NumpyEncoder for numpy
// values (ndarray.tolist(), floats as float.__repr__, bytes as
// base64.encodebytes).

// pyAppendString appends s as json.dumps(ensure_ascii=True) quotes it:
// '"' and '\\' escaped, \b \f \n \r \t, every other character outside
// ' '..'~' as \uXXXX (UTF-16 surrogate pairs above U+FFFF). Bytes that are
// not UTF-8 become U+FFFD.
func pyAppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u4 := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
	}
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= ' ' && c <= '~' {
			if c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, c)
			i++
			continue
		}
		switch c {
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < utf8.RuneSelf {
				b = u4(b, rune(c))
				break
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size - 1
			if r > 0xFFFF {
				r -= 0x10000
				b = u4(b, 0xD800+(r>>10))
				b = u4(b, 0xDC00+(r&0x3FF))
			} else {
				b = u4(b, r)
			}
		}
		i++
	}
	return append(b, '"')
}

// pyAppendFloat appends v as Python's float.__repr__ (the shortest digits
// that round-trip; exponent notation below 1e-4 and from 1e16 on, with at
// least two exponent digits; ".0" on integral values) and json.dumps's
// NaN, Infinity and -Infinity.
func pyAppendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "Infinity"...)
	case math.IsInf(v, -1):
		return append(b, "-Infinity"...)
	case v == 0:
		if math.Signbit(v) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], v, 'e', -1, 64) // [-]d[.ddd]e±XX
	if e[0] == '-' {
		b = append(b, '-')
		e = e[1:]
	}
	ei := 0
	for e[ei] != 'e' {
		ei++
	}
	exp, _ := strconv.Atoi(string(e[ei+1:]))
	var digits [24]byte
	d := append(digits[:0], e[0])
	if ei > 1 {
		d = append(d, e[2:ei]...)
	}
	decpt := exp + 1 // value = 0.d1d2... × 10^decpt
	if decpt > 16 || decpt <= -4 {
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	switch {
	case decpt <= 0:
		b = append(b, '0', '.')
		for range -decpt {
			b = append(b, '0')
		}
		b = append(b, d...)
	case decpt >= len(d):
		b = append(b, d...)
		for range decpt - len(d) {
			b = append(b, '0')
		}
		b = append(b, '.', '0')
	default:
		b = append(b, d[:decpt]...)
		b = append(b, '.')
		b = append(b, d[decpt:]...)
	}
	return b
}

// pyAppendBytes appends s as NumpyEncoder writes bytes: the JSON string of
// base64.encodebytes(s), a newline after every 76 characters and at the end
// (nothing for empty input).
func pyAppendBytes(b []byte, s string) []byte {
	b = append(b, '"')
	enc := base64.StdEncoding
	for i := 0; i < len(s); i += 57 {
		chunk := s[i:min(i+57, len(s))]
		n := enc.EncodedLen(len(chunk))
		b = append(b, make([]byte, n)...)
		enc.Encode(b[len(b)-n:], []byte(chunk))
		b = append(b, '\\', 'n')
	}
	return append(b, '"')
}

// pyRepr is Python's repr() of a str, for error messages: single quotes
// unless the text holds a single quote and no double quote.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, q)
	for _, r := range s {
		switch {
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == rune(q):
			b = append(b, '\\', q)
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < ' ' || r == 0x7f:
			b = append(b, '\\', 'x', "0123456789abcdef"[r>>4], "0123456789abcdef"[r&15])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return string(append(b, q))
}

// pyListRepr is Python's repr() of a list of labels (strings quoted, other
// labels as written).
func pyListRepr(ls []label) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.repr())
	}
	b.WriteByte(']')
	return b.String()
}

// pySetRepr is Python's repr() of a set of strings, in the order given
// (Python's own order depends on string hashing).
func pySetRepr(ss []string) string {
	if len(ss) == 0 {
		return "set()"
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyRepr(s))
	}
	b.WriteByte('}')
	return b.String()
}

// pyShape is a numpy shape as Python prints the tuple: (), (-1,), (-1, 3).
func pyShape(dims []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range dims {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	if len(dims) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// numpyName is the numpy dtype name MLflow's TensorSpec holds for a TF
// dtype (tf.string is numpy's object).
func numpyName(dt tensor.DType) string {
	switch dt {
	case tensor.Float32:
		return "float32"
	case tensor.Float64:
		return "float64"
	case tensor.Half:
		return "float16"
	case tensor.BFloat16:
		return "bfloat16"
	case tensor.Int8:
		return "int8"
	case tensor.Int16:
		return "int16"
	case tensor.Int32:
		return "int32"
	case tensor.Int64:
		return "int64"
	case tensor.Uint8:
		return "uint8"
	case tensor.Uint16:
		return "uint16"
	case tensor.Uint32:
		return "uint32"
	case tensor.Uint64:
		return "uint64"
	case tensor.Bool:
		return "bool"
	case tensor.String:
		return "object"
	case tensor.Complex64:
		return "complex64"
	case tensor.Complex128:
		return "complex128"
	}
	return dt.Name()
}

// mlflowPredictions appends MLflow's answer for a TensorFlow model,
// {"predictions": {alias: values, ...}}, as json.dumps writes what
// mlflow.tensorflow._TF2Wrapper.predict returns for dict input: one entry
// per output alias (sorted, as TensorFlow's nest orders a signature's
// outputs), each the output's ndarray.tolist(), except that an output of
// rank 2 or more whose every row has one element is flattened (ravel()).
// A rank-0 output is written as its value. maxBytes (when positive)
// bounds the answer.
func mlflowPredictions(dst []byte, maxBytes int64, aliases []string, outputs map[string]*tensor.Tensor) ([]byte, error) {
	base := len(dst)
	full := func() bool { return maxBytes > 0 && int64(len(dst)-base) > maxBytes }
	tooLarge := func() error {
		return status.Errorf(status.InvalidArgument,
			"JSON response is larger than the limit of %d bytes (--response_max_bytes)", maxBytes)
	}
	dst = append(dst, `{"predictions": {`...)
	for i, a := range aliases {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = pyAppendString(dst, a)
		dst = append(dst, ": "...)
		t := outputs[a]
		if t.Shape.NumElements() != t.Len() {
			return dst, status.Errorf(status.Internal, "output %s: %v holds %d values", a, t, t.Len())
		}
		dims := t.Shape
		if len(dims) >= 2 && dims[1] == 1 {
			dims = tensor.Shape{t.Shape.NumElements()}
		}
		var err error
		if dst, err = appendNested(dst, t, dims, full); err != nil {
			return dst, err
		}
		if full() {
			return dst, tooLarge()
		}
	}
	dst = append(dst, "}}"...)
	if full() {
		return dst, tooLarge()
	}
	return dst, nil
}

// appendNested writes t's elements as nested lists of shape dims (whose
// element count is t's), without recursion.
func appendNested(dst []byte, t *tensor.Tensor, dims tensor.Shape, full func() bool) ([]byte, error) {
	if len(dims) == 0 {
		if t.Len() == 0 {
			return dst, status.New(status.Internal, "rank-0 output without a value")
		}
		return appendElem(dst, t, 0)
	}
	n := dims.NumElements()
	if n == 0 {
		// A zero-size dimension: every list up to it is written, empty
		// below it (tolist of shape (2, 0) is [[], []]).
		z := 0
		for z < len(dims) && dims[z] != 0 {
			z++
		}
		return appendEmpty(dst, dims[:z+1], full), nil
	}
	rank := len(dims)
	for i := range n {
		// Open the lists that start at element i.
		opens, stride := 0, 1
		for k := rank - 1; k >= 0; k-- {
			stride *= dims[k]
			if i%stride != 0 {
				break
			}
			opens++
		}
		if i > 0 {
			dst = append(dst, ", "...)
		}
		for range opens {
			dst = append(dst, '[')
		}
		var err error
		if dst, err = appendElem(dst, t, i); err != nil {
			return dst, err
		}
		closes, stride := 0, 1
		for k := rank - 1; k >= 0; k-- {
			stride *= dims[k]
			if (i+1)%stride != 0 {
				break
			}
			closes++
		}
		for range closes {
			dst = append(dst, ']')
		}
		if i&1023 == 1023 && full() {
			return dst, nil
		}
	}
	return dst, nil
}

// appendEmpty writes the lists of a shape whose last dimension is 0
// (recursing at most the output's rank deep), stopping once full.
func appendEmpty(dst []byte, dims tensor.Shape, full func() bool) []byte {
	if len(dims) == 1 {
		return append(dst, '[', ']')
	}
	dst = append(dst, '[')
	for i := range dims[0] {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendEmpty(dst, dims[1:], full)
		if i&1023 == 1023 && full() {
			return dst
		}
	}
	return append(dst, ']')
}

// appendElem writes element i as json.dumps writes the Python value
// ndarray.tolist() gives (NumpyEncoder for bytes).
func appendElem(dst []byte, t *tensor.Tensor, i int) ([]byte, error) {
	switch v := t.Data.(type) {
	case []float32:
		return pyAppendFloat(dst, float64(v[i])), nil
	case []float64:
		return pyAppendFloat(dst, v[i]), nil
	case []int8:
		return strconv.AppendInt(dst, int64(v[i]), 10), nil
	case []int16:
		return strconv.AppendInt(dst, int64(v[i]), 10), nil
	case []int32:
		return strconv.AppendInt(dst, int64(v[i]), 10), nil
	case []int64:
		return strconv.AppendInt(dst, v[i], 10), nil
	case []uint8:
		return strconv.AppendUint(dst, uint64(v[i]), 10), nil
	case []uint16:
		switch t.DType {
		case tensor.Half:
			return pyAppendFloat(dst, float64(halfToFloat32(v[i]))), nil
		case tensor.BFloat16:
			return pyAppendFloat(dst, float64(math.Float32frombits(uint32(v[i])<<16))), nil
		}
		return strconv.AppendUint(dst, uint64(v[i]), 10), nil
	case []uint32:
		return strconv.AppendUint(dst, uint64(v[i]), 10), nil
	case []uint64:
		return strconv.AppendUint(dst, v[i], 10), nil
	case []bool:
		return strconv.AppendBool(dst, v[i]), nil
	case []string:
		return pyAppendBytes(dst, v[i]), nil
	case []complex64, []complex128:
		return dst, status.New(status.Internal, "Object of type complex is not JSON serializable")
	}
	return dst, status.Errorf(status.Internal, "Object of type %s is not JSON serializable", t.DType.Name())
}

// halfToFloat32 decodes an IEEE 754 binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: frac × 2^-24.
		f := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}
