// Package tensor holds the dense, typed n-dimensional arrays that flow through
// tfserve: requests are decoded into tensors, kernels read and write them, and
// responses are encoded from them.
//
// DType values equal TensorFlow's DataType enum numbers, so converting to and
// from TF protos is a cast.
package tensor

import (
	"fmt"
	"strings"
)

// DType is an element type. The numbers match tensorflow.DataType.
type DType int32

// Element types. Numbers follow tensorflow/core/framework/types.proto.
const (
	Invalid    DType = 0
	Float32    DType = 1
	Float64    DType = 2
	Int32      DType = 3
	Uint8      DType = 4
	Int16      DType = 5
	Int8       DType = 6
	String     DType = 7
	Complex64  DType = 8
	Int64      DType = 9
	Bool       DType = 10
	QInt8      DType = 11
	QUint8     DType = 12
	QInt32     DType = 13
	BFloat16   DType = 14
	QInt16     DType = 15
	QUint16    DType = 16
	Uint16     DType = 17
	Complex128 DType = 18
	Half       DType = 19
	Resource   DType = 20
	Variant    DType = 21
	Uint32     DType = 22
	Uint64     DType = 23
)

var dtypeNames = map[DType]string{
	Invalid: "DT_INVALID", Float32: "DT_FLOAT", Float64: "DT_DOUBLE", Int32: "DT_INT32",
	Uint8: "DT_UINT8", Int16: "DT_INT16", Int8: "DT_INT8", String: "DT_STRING",
	Complex64: "DT_COMPLEX64", Int64: "DT_INT64", Bool: "DT_BOOL", QInt8: "DT_QINT8",
	QUint8: "DT_QUINT8", QInt32: "DT_QINT32", BFloat16: "DT_BFLOAT16", QInt16: "DT_QINT16",
	QUint16: "DT_QUINT16", Uint16: "DT_UINT16", Complex128: "DT_COMPLEX128", Half: "DT_HALF",
	Resource: "DT_RESOURCE", Variant: "DT_VARIANT", Uint32: "DT_UINT32", Uint64: "DT_UINT64",
}

// String returns TensorFlow's name for the type, e.g. "DT_FLOAT". Reference
// types (TF adds 100) print as "DT_FLOAT_REF".
func (d DType) String() string {
	if d > 100 && d < 200 {
		if s, ok := dtypeNames[d-100]; ok {
			return s + "_REF"
		}
	}
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("DT_UNKNOWN_%d", int32(d))
}

// Name is TensorFlow's DataTypeString, the short name its error messages
// use: "float", "int64", "string", "float_ref".
func (d DType) Name() string {
	return strings.ToLower(strings.TrimPrefix(d.String(), "DT_"))
}

// Base strips the reference bit TF sets on *_REF types.
func (d DType) Base() DType {
	if d > 100 && d < 200 {
		return d - 100
	}
	return d
}

// ParseDType parses a TensorFlow type name such as "DT_FLOAT".
func ParseDType(s string) (DType, bool) {
	for d, n := range dtypeNames {
		if n == s {
			return d, true
		}
	}
	return Invalid, false
}

// Size is the number of bytes of one element in TF's little-endian encoding,
// or 0 for types without a fixed size (string, resource, variant).
func (d DType) Size() int {
	switch d {
	case Float32, Int32, Uint32, QInt32:
		return 4
	case Float64, Int64, Uint64, Complex64:
		return 8
	case Complex128:
		return 16
	case Uint8, Int8, Bool, QInt8, QUint8:
		return 1
	case Int16, Uint16, Half, BFloat16, QInt16, QUint16:
		return 2
	}
	return 0
}

// Numeric reports whether the type is a real number type that kernels compute on.
func (d DType) Numeric() bool {
	switch d {
	case Float32, Float64, Int32, Int64, Uint8, Int8, Int16, Uint16, Uint32, Uint64:
		return true
	}
	return false
}

// Shape is a list of dimension sizes. In signatures -1 means unknown.
type Shape []int

// NumElements is the product of the dimensions (1 for a scalar). Unknown
// dimensions make it negative.
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Equal reports whether two shapes are identical.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that does not alias s.
func (s Shape) Clone() Shape {
	if s == nil {
		return Shape{}
	}
	return append(Shape{}, s...)
}

// Broadcast returns the NumPy-style broadcast of two shapes, and false when
// they are incompatible. Unknown (-1) dimensions broadcast as TF's shape
// inference does: against 1 or another unknown they stay unknown, against a
// known size above 1 they take it.
func Broadcast(a, b Shape) (Shape, bool) {
	r := max(len(a), len(b))
	out := make(Shape, r)
	for i := range r {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		case da < 0:
			out[i] = db
		case db < 0:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// String prints the shape as "[2,3]".
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Tensor is a dense array. Data holds a Go slice whose element type matches
// DType: []float32, []float64, []int32, []int64, []uint8, []int8, []int16,
// []uint16, []uint32, []uint64, []bool or []string. DT_HALF and DT_BFLOAT16
// are held as raw []uint16 bits. Resource and Variant tensors hold []any.
type Tensor struct {
	DType DType
	Shape Shape
	Data  any
}

// smallTensor is a tensor and its shape's dims in one allocation, for
// shapes of rank four or less (most of them).
type smallTensor struct {
	t    Tensor
	dims [4]int
}

// New allocates a zeroed tensor. Its shape is a copy of shape.
func New(dt DType, shape Shape) *Tensor {
	n := max(shape.NumElements(), 0)
	if len(shape) > len(smallTensor{}.dims) {
		return &Tensor{DType: dt, Shape: shape.Clone(), Data: MakeSlice(dt, n)}
	}
	b := &smallTensor{}
	r := copy(b.dims[:], shape)
	b.t = Tensor{DType: dt, Shape: b.dims[:r:r], Data: MakeSlice(dt, n)}
	return &b.t
}

// MakeSlice allocates the Go slice that holds n elements of dt.
func MakeSlice(dt DType, n int) any {
	switch dt {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Int32, QInt32:
		return make([]int32, n)
	case Int64:
		return make([]int64, n)
	case Uint8, QUint8:
		return make([]uint8, n)
	case Int8, QInt8:
		return make([]int8, n)
	case Int16, QInt16:
		return make([]int16, n)
	case Uint16, QUint16, Half, BFloat16:
		return make([]uint16, n)
	case Uint32:
		return make([]uint32, n)
	case Uint64:
		return make([]uint64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	case Complex64:
		return make([]complex64, n)
	case Complex128:
		return make([]complex128, n)
	}
	return make([]any, n)
}

// Len returns the number of elements held in Data.
func (t *Tensor) Len() int {
	switch v := t.Data.(type) {
	case []float32:
		return len(v)
	case []float64:
		return len(v)
	case []int32:
		return len(v)
	case []int64:
		return len(v)
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []int16:
		return len(v)
	case []uint16:
		return len(v)
	case []uint32:
		return len(v)
	case []uint64:
		return len(v)
	case []bool:
		return len(v)
	case []string:
		return len(v)
	case []complex64:
		return len(v)
	case []complex128:
		return len(v)
	case []any:
		return len(v)
	}
	return 0
}

// Validate checks that Data has the Go type DType asks for and as many
// elements as Shape says.
func (t *Tensor) Validate() error {
	if !dataMatches(t.DType, t.Data) {
		return fmt.Errorf("tensor of %v holds %T", t.DType, t.Data)
	}
	if n := t.Shape.NumElements(); n != t.Len() {
		return fmt.Errorf("tensor of shape %v holds %d elements", t.Shape, t.Len())
	}
	return nil
}

func dataMatches(dt DType, data any) bool {
	switch data.(type) {
	case []float32:
		return dt == Float32
	case []float64:
		return dt == Float64
	case []int32:
		return dt == Int32 || dt == QInt32
	case []int64:
		return dt == Int64
	case []uint8:
		return dt == Uint8 || dt == QUint8
	case []int8:
		return dt == Int8 || dt == QInt8
	case []int16:
		return dt == Int16 || dt == QInt16
	case []uint16:
		return dt == Uint16 || dt == QUint16 || dt == Half || dt == BFloat16
	case []uint32:
		return dt == Uint32
	case []uint64:
		return dt == Uint64
	case []bool:
		return dt == Bool
	case []string:
		return dt == String
	case []complex64:
		return dt == Complex64
	case []complex128:
		return dt == Complex128
	case []any:
		return dt == Resource || dt == Variant
	}
	return false
}

// F32 returns the float32 data, or nil if the tensor holds another type.
func (t *Tensor) F32() []float32 { v, _ := t.Data.([]float32); return v }

// F64 returns the float64 data, or nil.
func (t *Tensor) F64() []float64 { v, _ := t.Data.([]float64); return v }

// I32 returns the int32 data, or nil.
func (t *Tensor) I32() []int32 { v, _ := t.Data.([]int32); return v }

// I64 returns the int64 data, or nil.
func (t *Tensor) I64() []int64 { v, _ := t.Data.([]int64); return v }

// Bools returns the bool data, or nil.
func (t *Tensor) Bools() []bool { v, _ := t.Data.([]bool); return v }

// Strings returns the string data, or nil.
func (t *Tensor) Strings() []string { v, _ := t.Data.([]string); return v }

// Scalar builds a rank-0 tensor from a Go value of a supported element type.
func Scalar(v any) *Tensor {
	switch x := v.(type) {
	case float32:
		return &Tensor{DType: Float32, Shape: Shape{}, Data: []float32{x}}
	case float64:
		return &Tensor{DType: Float64, Shape: Shape{}, Data: []float64{x}}
	case int32:
		return &Tensor{DType: Int32, Shape: Shape{}, Data: []int32{x}}
	case int64:
		return &Tensor{DType: Int64, Shape: Shape{}, Data: []int64{x}}
	case bool:
		return &Tensor{DType: Bool, Shape: Shape{}, Data: []bool{x}}
	case string:
		return &Tensor{DType: String, Shape: Shape{}, Data: []string{x}}
	case uint8:
		return &Tensor{DType: Uint8, Shape: Shape{}, Data: []uint8{x}}
	}
	panic(fmt.Sprintf("tensor.Scalar: unsupported %T", v))
}

// FromSlice wraps a Go slice (not copied) with the given shape. The dtype is
// derived from the slice type ([]uint16 is taken as DT_UINT16).
func FromSlice(shape Shape, data any) *Tensor {
	var dt DType
	switch data.(type) {
	case []float32:
		dt = Float32
	case []float64:
		dt = Float64
	case []int32:
		dt = Int32
	case []int64:
		dt = Int64
	case []uint8:
		dt = Uint8
	case []int8:
		dt = Int8
	case []int16:
		dt = Int16
	case []uint16:
		dt = Uint16
	case []uint32:
		dt = Uint32
	case []uint64:
		dt = Uint64
	case []bool:
		dt = Bool
	case []string:
		dt = String
	default:
		panic(fmt.Sprintf("tensor.FromSlice: unsupported %T", data))
	}
	return &Tensor{DType: dt, Shape: shape.Clone(), Data: data}
}

// Reshaped returns a tensor sharing t's data with another shape.
func (t *Tensor) Reshaped(shape Shape) *Tensor {
	return &Tensor{DType: t.DType, Shape: shape.Clone(), Data: t.Data}
}

// Clone deep-copies the tensor.
func (t *Tensor) Clone() *Tensor {
	out := New(t.DType, t.Shape)
	CopyData(out.Data, t.Data)
	return out
}

// CopyData copies src into dst; both must be slices of the same type.
func CopyData(dst, src any) int {
	switch d := dst.(type) {
	case []float32:
		return copy(d, src.([]float32))
	case []float64:
		return copy(d, src.([]float64))
	case []int32:
		return copy(d, src.([]int32))
	case []int64:
		return copy(d, src.([]int64))
	case []uint8:
		return copy(d, src.([]uint8))
	case []int8:
		return copy(d, src.([]int8))
	case []int16:
		return copy(d, src.([]int16))
	case []uint16:
		return copy(d, src.([]uint16))
	case []uint32:
		return copy(d, src.([]uint32))
	case []uint64:
		return copy(d, src.([]uint64))
	case []bool:
		return copy(d, src.([]bool))
	case []string:
		return copy(d, src.([]string))
	case []complex64:
		return copy(d, src.([]complex64))
	case []complex128:
		return copy(d, src.([]complex128))
	case []any:
		return copy(d, src.([]any))
	}
	panic(fmt.Sprintf("tensor.CopyData: unsupported %T", dst))
}

// String prints a short description, e.g. "DT_FLOAT[2,3]".
func (t *Tensor) String() string { return t.DType.String() + t.Shape.String() }
