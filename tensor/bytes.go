package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// FromBytes decodes n elements of dt from TF's little-endian raw layout
// (TensorProto.tensor_content and checkpoint data files). Strings are not
// stored this way and are rejected.
func FromBytes(dt DType, shape Shape, b []byte) (*Tensor, error) {
	n := shape.NumElements()
	if n < 0 {
		return nil, fmt.Errorf("decode %v: unknown shape %v", dt, shape)
	}
	sz := dt.Size()
	if sz == 0 {
		return nil, fmt.Errorf("decode %v: no fixed-size byte layout", dt)
	}
	if len(b) != n*sz {
		return nil, fmt.Errorf("decode %v%v: have %d bytes, want %d", dt, shape, len(b), n*sz)
	}
	t := New(dt, shape)
	le := binary.LittleEndian
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case []int32:
		for i := range d {
			d[i] = int32(le.Uint32(b[4*i:]))
		}
	case []int64:
		for i := range d {
			d[i] = int64(le.Uint64(b[8*i:]))
		}
	case []uint8:
		copy(d, b)
	case []int8:
		for i := range d {
			d[i] = int8(b[i])
		}
	case []int16:
		for i := range d {
			d[i] = int16(le.Uint16(b[2*i:]))
		}
	case []uint16:
		for i := range d {
			d[i] = le.Uint16(b[2*i:])
		}
	case []uint32:
		for i := range d {
			d[i] = le.Uint32(b[4*i:])
		}
	case []uint64:
		for i := range d {
			d[i] = le.Uint64(b[8*i:])
		}
	case []bool:
		for i := range d {
			d[i] = b[i] != 0
		}
	case []complex64:
		for i := range d {
			d[i] = complex(math.Float32frombits(le.Uint32(b[8*i:])), math.Float32frombits(le.Uint32(b[8*i+4:])))
		}
	case []complex128:
		for i := range d {
			d[i] = complex(math.Float64frombits(le.Uint64(b[16*i:])), math.Float64frombits(le.Uint64(b[16*i+8:])))
		}
	default:
		return nil, fmt.Errorf("decode %v: unsupported", dt)
	}
	return t, nil
}

// Bytes encodes a fixed-size tensor in TF's little-endian raw layout.
func (t *Tensor) Bytes() ([]byte, error) {
	sz := t.DType.Size()
	if sz == 0 {
		return nil, fmt.Errorf("encode %v: no fixed-size byte layout", t.DType)
	}
	b := make([]byte, t.Len()*sz)
	le := binary.LittleEndian
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			le.PutUint32(b[4*i:], math.Float32bits(v))
		}
	case []float64:
		for i, v := range d {
			le.PutUint64(b[8*i:], math.Float64bits(v))
		}
	case []int32:
		for i, v := range d {
			le.PutUint32(b[4*i:], uint32(v))
		}
	case []int64:
		for i, v := range d {
			le.PutUint64(b[8*i:], uint64(v))
		}
	case []uint8:
		copy(b, d)
	case []int8:
		for i, v := range d {
			b[i] = byte(v)
		}
	case []int16:
		for i, v := range d {
			le.PutUint16(b[2*i:], uint16(v))
		}
	case []uint16:
		for i, v := range d {
			le.PutUint16(b[2*i:], v)
		}
	case []uint32:
		for i, v := range d {
			le.PutUint32(b[4*i:], v)
		}
	case []uint64:
		for i, v := range d {
			le.PutUint64(b[8*i:], v)
		}
	case []bool:
		for i, v := range d {
			if v {
				b[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("encode %v: unsupported", t.DType)
	}
	return b, nil
}
