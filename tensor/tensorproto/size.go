package tensorproto

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

// Decodable reports whether DecodeLimited can decode a TensorProto of
// dtype dt (a type with a value field: not DT_INVALID, DT_RESOURCE,
// DT_VARIANT, reference types or unknown numbers), so that callers can
// check a proto's dtype before decoding it.
func Decodable(dt tfpb.DataType) bool {
	_, err := valueCount(&tfpb.TensorProto{}, tensor.DType(dt))
	return err == nil
}

// EncodedSize is the size in bytes of t's TensorProto as Encode (typed
// false) or EncodeTyped (typed true) would marshal it, computed without
// encoding so that a response can be checked against a budget first. It
// is exact for the value field and at most a few bytes over for the dtype
// and shape.
func EncodedSize(t *tensor.Tensor, typed bool) int64 {
	const header = 2 + 2 // dtype tag and value, shape tag and length
	n := int64(header)
	for _, d := range t.Shape {
		n += 4 + int64(protowire.SizeVarint(uint64(d)))
	}
	if !typed {
		if s, ok := t.Data.([]string); ok {
			return n + stringsSize(s)
		}
		b := int64(t.Len()) * int64(t.DType.Size())
		return n + 1 + int64(protowire.SizeVarint(uint64(b))) + b
	}
	var body int64
	switch d := t.Data.(type) {
	case []float32:
		body = 4 * int64(len(d))
	case []float64:
		body = 8 * int64(len(d))
	case []bool:
		body = int64(len(d))
	case []string:
		return n + stringsSize(d)
	case []int32:
		body = varints(d, func(v int32) uint64 { return uint64(int64(v)) })
	case []int16:
		body = varints(d, func(v int16) uint64 { return uint64(int64(v)) })
	case []int8:
		body = varints(d, func(v int8) uint64 { return uint64(int64(v)) })
	case []uint8:
		body = varints(d, func(v uint8) uint64 { return uint64(v) })
	case []uint16:
		body = varints(d, func(v uint16) uint64 { return uint64(v) })
	case []int64:
		body = varints(d, func(v int64) uint64 { return uint64(v) })
	case []uint32:
		body = varints(d, func(v uint32) uint64 { return uint64(v) })
	case []uint64:
		body = varints(d, func(v uint64) uint64 { return v })
	default:
		return EncodedSize(t, false)
	}
	if body == 0 {
		return n
	}
	return n + 2 + int64(protowire.SizeVarint(uint64(body))) + body
}

// varints is the packed size of vals as protobuf varints.
func varints[T any](vals []T, wide func(T) uint64) int64 {
	var n int64
	for _, v := range vals {
		n += int64(protowire.SizeVarint(wide(v)))
	}
	return n
}

// stringsSize is the size of vals as string_val.
func stringsSize(vals []string) int64 {
	var n int64
	for _, s := range vals {
		n += 1 + int64(protowire.SizeVarint(uint64(len(s)))) + int64(len(s))
	}
	return n
}
