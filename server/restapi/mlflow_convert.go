package restapi

import (
	"math"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
)

// This file converts JSON values and CSV fields to a signature input's
// dtype as numpy does for MLflow (np.array(value, dtype=...) for
// instances/inputs, Series.astype for dataframes): numbers to any real
// type (floats truncated toward zero into integer types; NaN, infinities
// and values out of range fail), bools to 0/1, numeric strings parsed,
// null to NaN for floating types; strings only to DT_STRING.

// convErr is a failed conversion, as the Python exception numpy or pandas
// raises (pyType and its message); fatal, when set, is a request limit
// that was hit instead.
type convErr struct {
	pyType, text string
	fatal        *mlflowErr
}

// builder fills a tensor of a signature input's dtype, charged to the
// request budget before it is allocated.
type builder struct {
	t      *tensor.Tensor
	budget *limits.Budget
}

// mlflowDType reports whether /invocations can build inputs of dt.
func mlflowDType(dt tensor.DType) bool {
	switch dt {
	case tensor.Float32, tensor.Float64, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
		tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64, tensor.Bool, tensor.String:
		return true
	}
	return false
}

// newBuilder checks the rank, charges elements and bytes (16 per string
// plus its payload when set) to budget and allocates the tensor.
func newBuilder(alias string, dt tensor.DType, shape tensor.Shape, budget *limits.Budget) (*builder, *mlflowErr) {
	if !mlflowDType(dt) {
		return nil, badInput("Input " + pyRepr(alias) + " has dtype " + dt.String() +
			", which /invocations cannot build from JSON or CSV values.")
	}
	if err := budget.Rank(len(shape)); err != nil {
		return nil, badInput(err.Error())
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	n := limits.Elements(dims)
	per := int64(dt.Size())
	if dt == tensor.String {
		per = 16
	}
	if n < 0 || (per > 0 && n > math.MaxInt64/per) {
		return nil, badInput("tensor size overflows")
	}
	if err := budget.Take(n, n*per); err != nil {
		return nil, badInput(err.Error())
	}
	return &builder{t: tensor.New(dt, shape), budget: budget}, nil
}

func isFloat(dt tensor.DType) bool { return dt == tensor.Float32 || dt == tensor.Float64 }

// setNode sets element i from a JSON scalar (n < 0: a missing value, as
// null).
func (b *builder) setNode(i int, t *jsontensor.Tree, n jsontensor.Node) *convErr {
	if n < 0 {
		return b.setMissing(i)
	}
	switch t.Kind(n) {
	case jsontensor.KindNull:
		return b.setMissing(i)
	case jsontensor.KindTrue:
		return b.setBool(i, true)
	case jsontensor.KindFalse:
		return b.setBool(i, false)
	case jsontensor.KindString:
		return b.setString(i, t.Str(n))
	case jsontensor.KindNumber:
		if v, ok := t.Int64(n); ok {
			return b.setInt(i, v)
		}
		if v, ok := t.Uint64(n); ok {
			return b.setUint(i, v)
		}
		return b.setFloat(i, t.Float64(n))
	case jsontensor.KindArray:
		return &convErr{pyType: "ValueError", text: "setting an array element with a sequence."}
	}
	return &convErr{pyType: "TypeError", text: "a dict cannot be converted to " + numpyName(b.t.DType)}
}

func (b *builder) setMissing(i int) *convErr {
	switch b.t.DType {
	case tensor.Float32:
		b.t.F32()[i] = float32(math.NaN())
		return nil
	case tensor.Float64:
		b.t.F64()[i] = math.NaN()
		return nil
	case tensor.Bool:
		return &convErr{pyType: "ValueError", text: "cannot convert None to bool"}
	case tensor.String:
		return &convErr{pyType: "TypeError", text: "expected str, got NoneType"}
	}
	return &convErr{pyType: "ValueError", text: "cannot convert float NaN to integer"}
}

func (b *builder) setBool(i int, v bool) *convErr {
	switch b.t.DType {
	case tensor.Bool:
		b.t.Bools()[i] = v
		return nil
	case tensor.String:
		return &convErr{pyType: "TypeError", text: "expected str, got bool"}
	}
	if v {
		return b.setInt(i, 1)
	}
	return b.setInt(i, 0)
}

// intRange is the range of an integer dtype.
func intRange(dt tensor.DType) (lo int64, hi uint64) {
	switch dt {
	case tensor.Int8:
		return math.MinInt8, math.MaxInt8
	case tensor.Int16:
		return math.MinInt16, math.MaxInt16
	case tensor.Int32:
		return math.MinInt32, math.MaxInt32
	case tensor.Int64:
		return math.MinInt64, math.MaxInt64
	case tensor.Uint8:
		return 0, math.MaxUint8
	case tensor.Uint16:
		return 0, math.MaxUint16
	case tensor.Uint32:
		return 0, math.MaxUint32
	}
	return 0, math.MaxUint64
}

func (b *builder) outOfBounds(v string) *convErr {
	return &convErr{pyType: "OverflowError", text: "Python integer " + v + " out of bounds for " + numpyName(b.t.DType)}
}

func (b *builder) setInt(i int, v int64) *convErr {
	switch b.t.DType {
	case tensor.Float32:
		b.t.F32()[i] = float32(v)
		return nil
	case tensor.Float64:
		b.t.F64()[i] = float64(v)
		return nil
	case tensor.Bool:
		b.t.Bools()[i] = v != 0
		return nil
	case tensor.String:
		return &convErr{pyType: "TypeError", text: "expected str, got int"}
	}
	lo, hi := intRange(b.t.DType)
	if v < lo || (v > 0 && uint64(v) > hi) {
		return b.outOfBounds(strconv.FormatInt(v, 10))
	}
	b.storeInt(i, v)
	return nil
}

func (b *builder) setUint(i int, v uint64) *convErr {
	if v <= math.MaxInt64 {
		return b.setInt(i, int64(v))
	}
	switch b.t.DType {
	case tensor.Uint64:
		b.t.Data.([]uint64)[i] = v
		return nil
	case tensor.Float32:
		b.t.F32()[i] = float32(v)
		return nil
	case tensor.Float64:
		b.t.F64()[i] = float64(v)
		return nil
	case tensor.Bool:
		b.t.Bools()[i] = true
		return nil
	case tensor.String:
		return &convErr{pyType: "TypeError", text: "expected str, got int"}
	}
	return b.outOfBounds(strconv.FormatUint(v, 10))
}

// storeInt stores v, known to fit, into an integer tensor.
func (b *builder) storeInt(i int, v int64) {
	switch d := b.t.Data.(type) {
	case []int8:
		d[i] = int8(v)
	case []int16:
		d[i] = int16(v)
	case []int32:
		d[i] = int32(v)
	case []int64:
		d[i] = v
	case []uint8:
		d[i] = uint8(v)
	case []uint16:
		d[i] = uint16(v)
	case []uint32:
		d[i] = uint32(v)
	case []uint64:
		d[i] = uint64(v)
	}
}

func (b *builder) setFloat(i int, v float64) *convErr {
	switch b.t.DType {
	case tensor.Float32:
		b.t.F32()[i] = float32(v)
		return nil
	case tensor.Float64:
		b.t.F64()[i] = v
		return nil
	case tensor.Bool:
		b.t.Bools()[i] = v != 0
		return nil
	case tensor.String:
		return &convErr{pyType: "TypeError", text: "expected str, got float"}
	}
	switch {
	case math.IsNaN(v):
		return &convErr{pyType: "ValueError", text: "cannot convert float NaN to integer"}
	case math.IsInf(v, 0):
		return &convErr{pyType: "OverflowError", text: "cannot convert float infinity to integer"}
	}
	v = math.Trunc(v)
	lo, hi := intRange(b.t.DType)
	if v < float64(lo) || v >= float64(hi)+1 {
		return b.outOfBounds(strconv.FormatFloat(v, 'f', 0, 64))
	}
	if b.t.DType == tensor.Uint64 && v >= 1<<63 {
		b.t.Data.([]uint64)[i] = uint64(v)
		return nil
	}
	b.storeInt(i, int64(v))
	return nil
}

// setString sets element i from a JSON string (or CSV text): kept as bytes
// for DT_STRING, parsed for the other types.
func (b *builder) setString(i int, s []byte) *convErr {
	dt := b.t.DType
	switch {
	case dt == tensor.String:
		if err := b.budget.Take(0, int64(len(s))); err != nil {
			return &convErr{fatal: badInput(err.Error())}
		}
		b.t.Strings()[i] = string(s)
		return nil
	case dt == tensor.Bool:
		switch strings.TrimSpace(string(s)) {
		case "True", "true", "TRUE", "1":
			b.t.Bools()[i] = true
			return nil
		case "False", "false", "FALSE", "0":
			b.t.Bools()[i] = false
			return nil
		}
		return &convErr{pyType: "ValueError", text: "could not convert string to bool: " + pyRepr(string(s))}
	case isFloat(dt):
		v, ok := parsePyFloat(string(s))
		if !ok {
			return &convErr{pyType: "ValueError", text: "could not convert string to float: " + pyRepr(string(s))}
		}
		return b.setFloat(i, v)
	}
	txt := strings.TrimSpace(string(s))
	if v, err := strconv.ParseInt(txt, 10, 64); err == nil {
		return b.setInt(i, v)
	}
	if v, err := strconv.ParseUint(strings.TrimPrefix(txt, "+"), 10, 64); err == nil && isDecimalInt(txt) {
		return b.setUint(i, v)
	}
	if isDecimalInt(txt) {
		return b.outOfBounds(txt)
	}
	return &convErr{pyType: "ValueError", text: "invalid literal for int() with base 10: " + pyRepr(string(s))}
}

// isDecimalInt reports whether s is [+-]digits.
func isDecimalInt(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsePyFloat parses s as Python's float() does: surrounding whitespace
// ignored, decimal and exponent forms, nan, inf and infinity in any case,
// values past the double range as ±inf. Hex and Go's underscore forms are
// refused.
func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "xX_pP") {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// csvNA lists the fields pandas.read_csv reads as NaN by default.
var csvNA = map[string]bool{
	"": true, "#N/A": true, "#N/A N/A": true, "#NA": true, "-1.#IND": true, "-1.#QNAN": true, "-NaN": true,
	"-nan": true, "1.#IND": true, "1.#QNAN": true, "<NA>": true, "N/A": true, "NA": true, "NULL": true,
	"NaN": true, "None": true, "n/a": true, "nan": true, "null": true,
}

// setText sets element i from a CSV field as pandas.read_csv reads it with
// the column's dtype: NA markers are NaN (an error for non-float types),
// DT_STRING keeps the text.
func (b *builder) setText(i int, f []byte) *convErr {
	dt := b.t.DType
	if dt != tensor.String && csvNA[string(f)] {
		if isFloat(dt) {
			return b.setMissing(i)
		}
		return &convErr{pyType: "ValueError", text: "Integer column has NA values"}
	}
	return b.setString(i, f)
}
