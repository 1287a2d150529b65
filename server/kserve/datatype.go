package kserve

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// The protocol's tensor data types and TensorFlow's: one to one.
var datatypes = [...]struct {
	name string
	dt   tensor.DType
}{
	{"BOOL", tensor.Bool}, {"UINT8", tensor.Uint8}, {"UINT16", tensor.Uint16}, {"UINT32", tensor.Uint32},
	{"UINT64", tensor.Uint64}, {"INT8", tensor.Int8}, {"INT16", tensor.Int16}, {"INT32", tensor.Int32},
	{"INT64", tensor.Int64}, {"FP16", tensor.Half}, {"FP32", tensor.Float32}, {"FP64", tensor.Float64},
	{"BYTES", tensor.String}, {"BF16", tensor.BFloat16},
}

// invalidDatatype is what metadata prints for a TensorFlow type the
// protocol has no name for (complex, quantized, resource, variant).
const invalidDatatype = "INVALID"

// DatatypeOf returns the protocol's name for a TensorFlow type ("FP32" for
// DT_FLOAT, "BYTES" for DT_STRING), or "INVALID" when it has none.
func DatatypeOf(dt tensor.DType) string {
	dt = dt.Base()
	for _, d := range datatypes {
		if d.dt == dt {
			return d.name
		}
	}
	return invalidDatatype
}

// ParseDatatype is the inverse of DatatypeOf.
func ParseDatatype(s string) (tensor.DType, bool) {
	for _, d := range datatypes {
		if d.name == s {
			return d.dt, true
		}
	}
	return tensor.Invalid, false
}

// checkDatatype checks an input's declared datatype against the model's.
func checkDatatype(name, datatype string, want tensor.DType) (tensor.DType, error) {
	dt, ok := ParseDatatype(datatype)
	if !ok {
		return 0, status.New(status.InvalidArgument, "input '"+name+"': invalid datatype '"+datatype+
			"' (want one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES)")
	}
	if dt != want.Base() {
		return 0, status.New(status.InvalidArgument, "input '"+name+"': datatype "+datatype+
			" does not match the model's "+DatatypeOf(want))
	}
	return dt, nil
}

// elementCount checks a declared input shape against the rank limit and
// returns its element count, refusing negative dimensions and products
// that overflow.
func elementCount(name string, shape []int64, budget *limits.Budget) (int64, error) {
	if err := budget.Rank(len(shape)); err != nil {
		return 0, status.New(status.InvalidArgument, "input '"+name+"': "+err.Error())
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, status.New(status.InvalidArgument, "input '"+name+"': shape "+shapeString(shape)+
				" has a negative dimension")
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, status.New(status.InvalidArgument, "input '"+name+"': shape "+shapeString(shape)+
				" has more elements than an int64 counts")
		}
		n *= d
	}
	return n, nil
}

// charge takes an input's elements and fixed-size bytes from the request
// budget, before anything of that size is allocated. String payloads are
// charged by the caller once their size is known.
func charge(name string, dt tensor.DType, n int64, budget *limits.Budget) error {
	bytes := int64(0)
	if sz := int64(dt.Size()); sz > 0 {
		if n > math.MaxInt64/sz {
			return status.New(status.InvalidArgument, "input '"+name+"': too many elements")
		}
		bytes = n * sz
	} else {
		// A string element costs its header even when empty.
		bytes = n * 16
		if n > math.MaxInt64/16 {
			return status.New(status.InvalidArgument, "input '"+name+"': too many elements")
		}
	}
	if err := budget.Take(n, bytes); err != nil {
		return status.New(status.CodeOf(err), "input '"+name+"': "+err.Error())
	}
	return nil
}

func shapeString(shape []int64) string {
	b := []byte{'['}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return string(append(b, ']'))
}

func tensorShape(shape []int64) tensor.Shape {
	s := make(tensor.Shape, len(shape))
	for i, d := range shape {
		s[i] = int(d)
	}
	return s
}

func int64Shape(s tensor.Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// rawSize is the byte size of t in the binary layout (raw contents and the
// binary data extension): fixed-size elements little-endian, strings each
// after a 4-byte little-endian length. ok is false for types the protocol
// cannot represent and for strings longer than 4 GiB.
func rawSize(t *tensor.Tensor) (int64, bool) {
	if t.DType == tensor.String {
		n := int64(0)
		for _, s := range t.Strings() {
			if int64(len(s)) > math.MaxUint32 {
				return 0, false
			}
			n += 4 + int64(len(s))
		}
		return n, true
	}
	if DatatypeOf(t.DType) == invalidDatatype {
		return 0, false
	}
	return int64(t.Len()) * int64(t.DType.Size()), true
}

// appendRaw appends t in the binary layout (see rawSize).
func appendRaw(dst []byte, t *tensor.Tensor) ([]byte, error) {
	if t.DType == tensor.String {
		for _, s := range t.Strings() {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
			dst = append(dst, s...)
		}
		return dst, nil
	}
	le := binary.LittleEndian
	switch v := t.Data.(type) {
	case []float32:
		dst = slices.Grow(dst, 4*len(v))
		for _, x := range v {
			dst = le.AppendUint32(dst, math.Float32bits(x))
		}
		return dst, nil
	case []int64:
		dst = slices.Grow(dst, 8*len(v))
		for _, x := range v {
			dst = le.AppendUint64(dst, uint64(x))
		}
		return dst, nil
	}
	b, err := t.Bytes()
	if err != nil {
		return dst, status.New(status.Internal, err.Error())
	}
	if len(dst) == 0 {
		return b, nil
	}
	return append(dst, b...), nil
}

// fromRaw decodes n elements of dt in the binary layout from b, which must
// hold exactly them. String payloads are charged to budget before they are
// copied.
func fromRaw(name string, dt tensor.DType, shape []int64, n int64, b []byte, budget *limits.Budget) (*tensor.Tensor, error) {
	if dt == tensor.String {
		strs := make([]string, n)
		off := 0
		for i := range strs {
			if len(b)-off < 4 {
				return nil, status.New(status.InvalidArgument, "input '"+name+"': BYTES element "+strconv.Itoa(i)+
					" of "+strconv.FormatInt(n, 10)+" has no 4-byte length: the data holds fewer elements than shape "+
					shapeString(shape)+" declares")
			}
			l := int64(binary.LittleEndian.Uint32(b[off:]))
			off += 4
			if l > int64(len(b)-off) {
				return nil, status.New(status.InvalidArgument, "input '"+name+"': BYTES element "+strconv.Itoa(i)+
					" declares "+strconv.FormatInt(l, 10)+" bytes, but only "+strconv.Itoa(len(b)-off)+" remain")
			}
			if err := budget.Take(0, l); err != nil {
				return nil, status.New(status.CodeOf(err), "input '"+name+"': "+err.Error())
			}
			strs[i] = string(b[off : off+int(l)])
			off += int(l)
		}
		if off != len(b) {
			return nil, status.New(status.InvalidArgument, "input '"+name+"': "+strconv.Itoa(len(b)-off)+
				" bytes follow its "+strconv.FormatInt(n, 10)+" BYTES elements")
		}
		return tensor.FromSlice(tensorShape(shape), strs), nil
	}
	want := n * int64(dt.Size())
	if int64(len(b)) != want {
		return nil, status.New(status.InvalidArgument, "input '"+name+"': "+strconv.Itoa(len(b))+
			" bytes of data, but shape "+shapeString(shape)+" of "+DatatypeOf(dt)+" needs "+strconv.FormatInt(want, 10))
	}
	t, err := tensor.FromBytes(dt, tensorShape(shape), b)
	if err != nil {
		return nil, status.New(status.InvalidArgument, "input '"+name+"': "+err.Error())
	}
	return t, nil
}
