package kernels

import (
	"fmt"
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// number is every real element type kernels compute on.
type number interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// floating is the floating-point element types.
type floating interface{ ~float32 | ~float64 }

// integer is the integer element types.
type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// isFloat reports whether T is a floating-point type.
func isFloat[T number]() bool {
	var one T = 1
	return one/2 != 0 // integer division truncates to zero
}

// isSigned reports whether T can hold negative values.
func isSigned[T number]() bool {
	var z T
	return z-1 < z
}

// lowest returns the smallest value of T (-Inf for floats).
func lowest[T number]() T {
	var z T
	switch p := any(&z).(type) {
	case *float32:
		*p = float32(math.Inf(-1))
	case *float64:
		*p = math.Inf(-1)
	case *int8:
		*p = math.MinInt8
	case *int16:
		*p = math.MinInt16
	case *int32:
		*p = math.MinInt32
	case *int64:
		*p = math.MinInt64
	}
	return z // unsigned: zero
}

// highest returns the largest value of T (+Inf for floats).
func highest[T number]() T {
	var z T
	switch p := any(&z).(type) {
	case *float32:
		*p = float32(math.Inf(1))
	case *float64:
		*p = math.Inf(1)
	case *int8:
		*p = math.MaxInt8
	case *int16:
		*p = math.MaxInt16
	case *int32:
		*p = math.MaxInt32
	case *int64:
		*p = math.MaxInt64
	case *uint8:
		*p = math.MaxUint8
	case *uint16:
		*p = math.MaxUint16
	case *uint32:
		*p = math.MaxUint32
	case *uint64:
		*p = math.MaxUint64
	}
	return z
}

// isNaN reports whether a value is NaN (never true for integers).
func isNaN[T number](v T) bool { return v != v }

// checkInputs verifies the number of inputs a Func received.
func checkInputs(op string, in []*tensor.Tensor, n int) error {
	if len(in) != n {
		return Errorf("%s expects %d inputs, got %d", op, n, len(in))
	}
	for i, t := range in {
		if t == nil {
			return Errorf("%s: input %d is missing", op, i)
		}
	}
	return nil
}

// checkMinInputs verifies that at least n inputs are present and non-nil.
func checkMinInputs(op string, in []*tensor.Tensor, n int) error {
	if len(in) < n {
		return Errorf("%s expects at least %d inputs, got %d", op, n, len(in))
	}
	for i, t := range in {
		if t == nil {
			return Errorf("%s: input %d is missing", op, i)
		}
	}
	return nil
}

// buildErr formats a load-time attribute error naming the op.
func buildErr(op, format string, args ...any) error {
	return fmt.Errorf("%s: %s", op, fmt.Sprintf(format, args...))
}

// noKernel is TF's error for an op that has no kernel for a dtype.
func noKernel(op string, dt tensor.DType) error {
	return Errorf("No OpKernel was registered to support Op '%s' with these attrs: [T=%v]", op, dt)
}

// wantInputs checks the node's input count at build time.
func wantInputs(op string, got, want int) error {
	if got != want {
		return buildErr(op, "expects %d inputs, node has %d", want, got)
	}
	return nil
}

// intList returns an int32/int64 tensor's values as int64.
func intList(t *tensor.Tensor) ([]int64, bool) {
	switch d := t.Data.(type) {
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, true
	case []int64:
		return append([]int64(nil), d...), true
	}
	return nil, false
}

// intsOf returns an integer tensor's values, or an InvalidArgument error.
func intsOf(op, what string, t *tensor.Tensor) ([]int64, error) {
	v, ok := intList(t)
	if !ok {
		return nil, Errorf("%s: %s must be int32 or int64, got %v", op, what, t.DType)
	}
	return v, nil
}

// vectorInts returns the values of a rank-1 (or, if allowScalar, rank-0) int tensor.
func vectorInts(op, what string, t *tensor.Tensor, allowScalar bool) ([]int64, error) {
	if len(t.Shape) != 1 && !(allowScalar && len(t.Shape) == 0) {
		return nil, Errorf("%s: %s must be a vector, got shape %v", op, what, t.Shape)
	}
	return intsOf(op, what, t)
}

// scalarInt returns the single value of a one-element int tensor.
func scalarInt(op, what string, t *tensor.Tensor) (int64, error) {
	v, err := intsOf(op, what, t)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 || len(t.Shape) > 1 {
		return 0, Errorf("%s: %s must be a scalar, got shape %v", op, what, t.Shape)
	}
	return v[0], nil
}

// shapeFromInts converts shape values, rejecting negatives.
func shapeFromInts(op string, v []int64) (tensor.Shape, error) {
	s := make(tensor.Shape, len(v))
	for i, d := range v {
		if d < 0 {
			return nil, Errorf("%s: dimension %d must be >= 0, got %d", op, i, d)
		}
		if d > math.MaxInt32*16 {
			return nil, Errorf("%s: dimension %d too large: %d", op, i, d)
		}
		s[i] = int(d)
	}
	if err := checkSize(op, s); err != nil {
		return nil, err
	}
	return s, nil
}

// maxElements bounds the size of any tensor a kernel allocates, so a bad
// shape argument gives an error rather than an out-of-memory crash.
const maxElements = 1 << 34

// checkSize rejects shapes whose element count would overflow or exceed maxElements.
func checkSize(op string, s tensor.Shape) error {
	n := int64(1)
	for _, d := range s {
		if d < 0 {
			return Errorf("%s: negative dimension in shape %v", op, s)
		}
		if d == 0 {
			return nil
		}
		if n > maxElements/int64(d) {
			return Errorf("%s: shape %v has too many elements", op, s)
		}
		n *= int64(d)
	}
	return nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(op string, axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, Errorf("%s: axis %d is out of range for a tensor of rank %d; expected in [%d, %d)", op, axis, rank, -rank, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// stridesOf returns row-major strides for shape.
func stridesOf(s tensor.Shape) []int {
	st := make([]int, len(s))
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

// prod multiplies dims[a:b].
func prod(s tensor.Shape, a, b int) int {
	n := 1
	for i := a; i < b; i++ {
		n *= s[i]
	}
	return n
}

// shapeStr formats a shape the way TF prints it in errors, e.g. [2,3].
func shapeStr(s tensor.Shape) string { return s.String() }

// numericData reports whether a tensor's Data is one of the real number slices.
func isNumeric(d tensor.DType) bool { return d.Numeric() }

// constBuilder wraps a Func that needs no attributes.
func simple(f Func) Builder {
	return func(Attrs, int) (Func, error) { return f, nil }
}

// typeAttr reads a required dtype attribute.
func typeAttr(op string, a Attrs, name string) (tensor.DType, error) {
	v, ok := a[name].(tensor.DType)
	if !ok {
		return tensor.Invalid, buildErr(op, "missing type attribute %q", name)
	}
	return v, nil
}

// asTensorData returns data's length-agnostic element at i boxed (slow path only).
func elemAt(data any, i int) any {
	switch d := data.(type) {
	case []float32:
		return d[i]
	case []float64:
		return d[i]
	case []int32:
		return d[i]
	case []int64:
		return d[i]
	case []uint8:
		return d[i]
	case []int8:
		return d[i]
	case []int16:
		return d[i]
	case []uint16:
		return d[i]
	case []uint32:
		return d[i]
	case []uint64:
		return d[i]
	case []bool:
		return d[i]
	case []string:
		return d[i]
	case []complex64:
		return d[i]
	case []complex128:
		return d[i]
	case []any:
		return d[i]
	}
	return nil
}

// dataMatches reports whether Data's Go type is the one DType calls for.
func dataMatches(t *tensor.Tensor) bool {
	switch t.Data.(type) {
	case []float32:
		return t.DType == tensor.Float32
	case []float64:
		return t.DType == tensor.Float64
	case []int32:
		return t.DType == tensor.Int32 || t.DType == tensor.QInt32
	case []int64:
		return t.DType == tensor.Int64
	case []uint8:
		return t.DType == tensor.Uint8 || t.DType == tensor.QUint8
	case []int8:
		return t.DType == tensor.Int8 || t.DType == tensor.QInt8
	case []int16:
		return t.DType == tensor.Int16 || t.DType == tensor.QInt16
	case []uint16:
		return t.DType == tensor.Uint16 || t.DType == tensor.QUint16 || t.DType == tensor.Half || t.DType == tensor.BFloat16
	case []uint32:
		return t.DType == tensor.Uint32
	case []uint64:
		return t.DType == tensor.Uint64
	case []bool:
		return t.DType == tensor.Bool
	case []string:
		return t.DType == tensor.String
	case []complex64:
		return t.DType == tensor.Complex64
	case []complex128:
		return t.DType == tensor.Complex128
	case []any:
		return t.DType == tensor.Resource || t.DType == tensor.Variant
	}
	return false
}

// checkData verifies that every input holds the Go slice its dtype and
// shape call for, so kernels can index without panicking.
func checkData(op string, in []*tensor.Tensor) error {
	for i, t := range in {
		if t == nil {
			continue // optional/missing inputs are reported by the kernel
		}
		if !dataMatches(t) {
			return Errorf("%s: input %d of type %v holds %T", op, i, t.DType, t.Data)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return Errorf("%s: input %d has negative dimension in shape %v", op, i, t.Shape)
			}
			n *= d
		}
		if n != t.Len() {
			return Errorf("%s: input %d of shape %v holds %d elements", op, i, t.Shape, t.Len())
		}
	}
	return nil
}
