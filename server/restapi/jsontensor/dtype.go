package jsontensor

import (
	"strconv"

	"github.com/tfserve/tfserve/tensor"
)

// dataTypeString is TensorFlow's DataTypeString (types.cc): the lower-case
// names TF Serving puts into its error messages ("float", "int32", ...),
// with "_ref" appended for reference types.
func dataTypeString(d tensor.DType) string {
	if d > 100 {
		return dataTypeString(d-100) + "_ref"
	}
	switch d {
	case tensor.Invalid:
		return "INVALID"
	case tensor.Float32:
		return "float"
	case tensor.Float64:
		return "double"
	case tensor.Int32:
		return "int32"
	case tensor.Uint32:
		return "uint32"
	case tensor.Uint8:
		return "uint8"
	case tensor.Uint16:
		return "uint16"
	case tensor.Int16:
		return "int16"
	case tensor.Int8:
		return "int8"
	case tensor.String:
		return "string"
	case tensor.Complex64:
		return "complex64"
	case tensor.Complex128:
		return "complex128"
	case tensor.Int64:
		return "int64"
	case tensor.Uint64:
		return "uint64"
	case tensor.Bool:
		return "bool"
	case tensor.QInt8:
		return "qint8"
	case tensor.QUint8:
		return "quint8"
	case tensor.QUint16:
		return "quint16"
	case tensor.QInt16:
		return "qint16"
	case tensor.QInt32:
		return "qint32"
	case tensor.BFloat16:
		return "bfloat16"
	case tensor.Half:
		return "half"
	case tensor.Resource:
		return "resource"
	case tensor.Variant:
		return "variant"
	}
	return "unknown dtype enum (" + strconv.Itoa(int(d)) + ")"
}
