// Package tensorproto converts between tensor.Tensor and TensorFlow's
// TensorProto: the form constants take inside GraphDefs and the form gRPC
// clients send.
package tensorproto

import (
	"fmt"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

// MaxElements bounds the size of a decoded tensor so that a corrupt or
// hostile proto cannot make us allocate without limit.
const MaxElements = 1 << 31

// Shape converts a TensorShapeProto. Unknown rank gives nil.
func Shape(p *tfpb.TensorShapeProto) tensor.Shape {
	if p == nil {
		return tensor.Shape{}
	}
	if p.UnknownRank {
		return nil
	}
	s := make(tensor.Shape, len(p.Dim))
	for i, d := range p.Dim {
		s[i] = int(d.Size)
	}
	return s
}

// ShapeProto converts a shape to its proto.
func ShapeProto(s tensor.Shape) *tfpb.TensorShapeProto {
	p := &tfpb.TensorShapeProto{}
	if s == nil {
		p.UnknownRank = true
		return p
	}
	for _, d := range s {
		p.Dim = append(p.Dim, &tfpb.TensorShapeProto_Dim{Size: int64(d)})
	}
	return p
}

// MaxRank is TensorFlow's limit on the number of dimensions
// (TensorShape::MaxDimensions()).
const MaxRank = 254

// Take is charged for a tensor before it is allocated: its element count and
// decoded bytes (for strings, the payload bytes plus a 16-byte header per
// element). A non-nil error stops the decode and is returned as is.
type Take func(elements, bytes int64) error

// Decode converts a TensorProto into a tensor. As in TF, a repeated field
// with fewer values than elements is padded with its last value (so one
// value fills the whole tensor), and an empty one means zeros. Decode
// allows at most MaxElements elements; DecodeLimited charges a budget
// instead.
func Decode(p *tfpb.TensorProto) (*tensor.Tensor, error) {
	return DecodeLimited(p, nil)
}

// DecodeLimited is Decode that checks the shape and rank, then charges take
// (when non-nil) before allocating anything sized by the proto.
func DecodeLimited(p *tfpb.TensorProto, take Take) (*tensor.Tensor, error) {
	dt := tensor.DType(p.Dtype)
	if p.TensorShape != nil && len(p.TensorShape.Dim) > MaxRank {
		return nil, fmt.Errorf("tensor proto of %v has rank %d, more than TensorFlow's limit of %d", dt, len(p.TensorShape.Dim), MaxRank)
	}
	shape := Shape(p.TensorShape)
	if shape == nil {
		return nil, fmt.Errorf("tensor proto of %v has unknown rank", dt)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor proto of %v has negative dimension in %v", dt, shape)
		}
		if d > 0 && n > MaxElements/d {
			if take != nil {
				// Let the budget name its limit and flag.
				e := elementsOrMax(p.TensorShape)
				b := e
				if sz := int64(max(dt.Size(), 1)); b <= (1<<63-1)/sz {
					b *= sz
				}
				if err := take(e, b); err != nil {
					return nil, err
				}
			}
			return nil, fmt.Errorf("tensor proto of %v%v is too large", dt, shape)
		}
		n *= d
	}
	if len(p.TensorContent) > 0 {
		if dt == tensor.String {
			return nil, fmt.Errorf("DT_STRING tensor cannot use tensor_content")
		}
		if size := dt.Size(); size > 0 && int64(len(p.TensorContent)) != int64(n)*int64(size) {
			return nil, fmt.Errorf("tensor proto of %v%v has %d bytes of tensor_content, want %d", dt, shape, len(p.TensorContent), int64(n)*int64(size))
		}
		if take != nil {
			if err := take(int64(n), int64(len(p.TensorContent))); err != nil {
				return nil, err
			}
		}
		return tensor.FromBytes(dt, shape, p.TensorContent)
	}
	src, err := valueCount(p, dt)
	if err != nil {
		return nil, err
	}
	if src > n {
		return nil, fmt.Errorf("tensor proto of %v%v holds %d values, more than its %d elements", dt, shape, src, n)
	}
	if take != nil {
		if err := take(int64(n), decodedBytes(p, dt, n, src)); err != nil {
			return nil, err
		}
	} else if src == 0 && n > 0 && n > 1<<26 {
		return nil, fmt.Errorf("tensor proto of %v%v has no values for %d elements", dt, shape, n)
	}
	t := tensor.New(dt, shape)
	fill := func(i int) int {
		if i < src {
			return i
		}
		return src - 1
	}
	if src == 0 {
		return t, nil
	}
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = p.FloatVal[fill(i)]
		}
	case []float64:
		for i := range d {
			d[i] = p.DoubleVal[fill(i)]
		}
	case []int32:
		for i := range d {
			d[i] = p.IntVal[fill(i)]
		}
	case []int16:
		for i := range d {
			d[i] = int16(p.IntVal[fill(i)])
		}
	case []int8:
		for i := range d {
			d[i] = int8(p.IntVal[fill(i)])
		}
	case []uint8:
		for i := range d {
			d[i] = uint8(p.IntVal[fill(i)])
		}
	case []uint16:
		if dt == tensor.Half || dt == tensor.BFloat16 {
			for i := range d {
				d[i] = uint16(p.HalfVal[fill(i)])
			}
		} else {
			for i := range d {
				d[i] = uint16(p.IntVal[fill(i)])
			}
		}
	case []int64:
		for i := range d {
			d[i] = p.Int64Val[fill(i)]
		}
	case []uint32:
		for i := range d {
			d[i] = p.Uint32Val[fill(i)]
		}
	case []uint64:
		for i := range d {
			d[i] = p.Uint64Val[fill(i)]
		}
	case []bool:
		for i := range d {
			d[i] = p.BoolVal[fill(i)]
		}
	case []string:
		for i := range d {
			d[i] = string(p.StringVal[fill(i)])
		}
	case []complex64:
		for i := range d {
			j := fill(i)
			d[i] = complex(p.ScomplexVal[2*j], p.ScomplexVal[2*j+1])
		}
	case []complex128:
		for i := range d {
			j := fill(i)
			d[i] = complex(p.DcomplexVal[2*j], p.DcomplexVal[2*j+1])
		}
	}
	return t, nil
}

// Encode converts a tensor to a TensorProto. Fixed-size types use
// tensor_content (what TF itself sends); strings use string_val.
func Encode(t *tensor.Tensor) (*tfpb.TensorProto, error) {
	p := &tfpb.TensorProto{Dtype: tfpb.DataType(t.DType), TensorShape: ShapeProto(t.Shape)}
	if s, ok := t.Data.([]string); ok {
		p.StringVal = make([][]byte, len(s))
		for i, v := range s {
			p.StringVal[i] = []byte(v)
		}
		return p, nil
	}
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	p.TensorContent = b
	return p, nil
}

// EncodeTyped converts a tensor to a TensorProto using the typed repeated
// fields (float_val, int64_val, ...) rather than tensor_content.
func EncodeTyped(t *tensor.Tensor) (*tfpb.TensorProto, error) {
	p := &tfpb.TensorProto{Dtype: tfpb.DataType(t.DType), TensorShape: ShapeProto(t.Shape)}
	switch d := t.Data.(type) {
	case []float32:
		p.FloatVal = append([]float32(nil), d...)
	case []float64:
		p.DoubleVal = append([]float64(nil), d...)
	case []int32:
		p.IntVal = append([]int32(nil), d...)
	case []int64:
		p.Int64Val = append([]int64(nil), d...)
	case []bool:
		p.BoolVal = append([]bool(nil), d...)
	case []string:
		p.StringVal = make([][]byte, len(d))
		for i, v := range d {
			p.StringVal[i] = []byte(v)
		}
	case []uint8:
		for _, v := range d {
			p.IntVal = append(p.IntVal, int32(v))
		}
	case []int8:
		for _, v := range d {
			p.IntVal = append(p.IntVal, int32(v))
		}
	case []int16:
		for _, v := range d {
			p.IntVal = append(p.IntVal, int32(v))
		}
	case []uint16:
		if t.DType == tensor.Half || t.DType == tensor.BFloat16 {
			for _, v := range d {
				p.HalfVal = append(p.HalfVal, int32(v))
			}
		} else {
			for _, v := range d {
				p.IntVal = append(p.IntVal, int32(v))
			}
		}
	case []uint32:
		p.Uint32Val = append([]uint32(nil), d...)
	case []uint64:
		p.Uint64Val = append([]uint64(nil), d...)
	default:
		return nil, fmt.Errorf("encode %v: unsupported", t.DType)
	}
	return p, nil
}

// valueCount returns how many values p's typed field for dt holds.
func valueCount(p *tfpb.TensorProto, dt tensor.DType) (int, error) {
	var src int
	switch dt {
	case tensor.Float32:
		src = len(p.FloatVal)
	case tensor.Float64:
		src = len(p.DoubleVal)
	case tensor.Int32, tensor.Int16, tensor.Int8, tensor.Uint8, tensor.Uint16, tensor.QInt8, tensor.QUint8, tensor.QInt16, tensor.QUint16, tensor.QInt32:
		src = len(p.IntVal)
	case tensor.Half, tensor.BFloat16:
		src = len(p.HalfVal)
	case tensor.Int64:
		src = len(p.Int64Val)
	case tensor.Uint32:
		src = len(p.Uint32Val)
	case tensor.Uint64:
		src = len(p.Uint64Val)
	case tensor.Bool:
		src = len(p.BoolVal)
	case tensor.String:
		src = len(p.StringVal)
	case tensor.Complex64:
		src = len(p.ScomplexVal) / 2
	case tensor.Complex128:
		src = len(p.DcomplexVal) / 2
	case tensor.Resource, tensor.Variant:
		return 0, fmt.Errorf("cannot decode a %v tensor proto", dt)
	default:
		return 0, fmt.Errorf("unsupported dtype %v", dt)
	}
	return src, nil
}

// decodedBytes is what a decoded tensor of n elements, src of them given,
// occupies: n × the element size, or for strings the payloads (the last one
// repeated for padding) plus a 16-byte header each. It saturates instead of
// overflowing.
func decodedBytes(p *tfpb.TensorProto, dt tensor.DType, n, src int) int64 {
	const maxInt64 = 1<<63 - 1
	if dt != tensor.String {
		return int64(n) * int64(dt.Size())
	}
	total := int64(n) * 16
	for _, v := range p.StringVal {
		total += int64(len(v))
	}
	if src > 0 && n > src {
		last := int64(len(p.StringVal[src-1]))
		if last > 0 && int64(n-src) > (maxInt64-total)/last {
			return maxInt64
		}
		total += int64(n-src) * last
	}
	return total
}

// elementsOrMax is the product of the proto's dims, saturated at the
// largest int64.
func elementsOrMax(s *tfpb.TensorShapeProto) int64 {
	const maxInt64 = 1<<63 - 1
	n := int64(1)
	for _, d := range s.Dim {
		if d.Size > 0 && n > maxInt64/d.Size {
			return maxInt64
		}
		n *= d.Size
	}
	return n
}
