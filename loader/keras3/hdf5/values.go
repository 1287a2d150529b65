package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Name returns the attribute's name.
func (a *Attribute) Name() string { return a.name }

// DType returns the attribute's element type.
func (a *Attribute) DType() DType { return a.dtype }

// Shape returns the attribute's dimensions ([] for a scalar, nil for a
// null dataspace).
func (a *Attribute) Shape() []int64 { return shapeOf(a.space) }

// Raw returns the stored bytes of the attribute's elements (for VarString,
// the global heap references).
func (a *Attribute) Raw() []byte { return a.data }

// Strings returns the values of a string attribute, fixed-length or
// variable-length (read from the global heap).
func (a *Attribute) Strings() ([]string, error) {
	rb := a.f.newReadBudget(a.what)
	out, err := a.f.decodeStrings(a.data, a.dtype, rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.what, err)
	}
	return out, nil
}

// String returns the value of an attribute holding exactly one string
// (what Keras writes, a scalar variable-length UTF-8 string).
func (a *Attribute) String() (string, error) {
	s, err := a.Strings()
	if err != nil {
		return "", err
	}
	if len(s) != 1 {
		return "", typeErr("%s: %d strings, want one", a.what, len(s))
	}
	return s[0], nil
}

// Float64s returns the values of a numeric attribute (floats and integers;
// integers beyond 2^53 round).
func (a *Attribute) Float64s() ([]float64, error) {
	switch a.dtype.Kind {
	case Float:
		return floats64(a.data, a.dtype), nil
	case Int, Uint:
		n := len(a.data) / a.dtype.Size
		out := make([]float64, n)
		for i := range out {
			v := a.data[i*a.dtype.Size : (i+1)*a.dtype.Size]
			if a.dtype.Kind == Int {
				out[i] = float64(intAt(v, a.dtype))
			} else {
				out[i] = float64(uintAt(v, a.dtype))
			}
		}
		return out, nil
	}
	return nil, typeErr("%s: %s values are not numbers", a.what, a.dtype)
}

// Int64s returns the values of an integer attribute.
func (a *Attribute) Int64s() ([]int64, error) {
	if a.dtype.Kind != Int && a.dtype.Kind != Uint {
		return nil, typeErr("%s: %s values are not integers", a.what, a.dtype)
	}
	out, err := ints64(a.data, a.dtype)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.what, err)
	}
	return out, nil
}

func findAttr(attrs []*Attribute, name, owner string) (*Attribute, error) {
	for _, a := range attrs {
		if a.name == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%w: %s has no attribute %q", ErrNotFound, owner, name)
}

func order(t DType) binary.ByteOrder {
	if t.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// floats32 converts stored floats to float32.
func floats32(raw []byte, t DType) []float32 {
	n := len(raw) / t.Size
	out := make([]float32, n)
	bo := order(t)
	switch t.Size {
	case 2:
		for i := range out {
			out[i] = float16(bo.Uint16(raw[2*i:]))
		}
	case 4:
		for i := range out {
			out[i] = math.Float32frombits(bo.Uint32(raw[4*i:]))
		}
	case 8:
		for i := range out {
			out[i] = float32(math.Float64frombits(bo.Uint64(raw[8*i:])))
		}
	}
	return out
}

// floats64 converts stored floats to float64.
func floats64(raw []byte, t DType) []float64 {
	n := len(raw) / t.Size
	out := make([]float64, n)
	bo := order(t)
	switch t.Size {
	case 2:
		for i := range out {
			out[i] = float64(float16(bo.Uint16(raw[2*i:])))
		}
	case 4:
		for i := range out {
			out[i] = float64(math.Float32frombits(bo.Uint32(raw[4*i:])))
		}
	case 8:
		for i := range out {
			out[i] = math.Float64frombits(bo.Uint64(raw[8*i:]))
		}
	}
	return out
}

// float16 widens an IEEE binary16 to float32 exactly.
func float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: man × 2^-24.
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

func intAt(b []byte, t DType) int64 {
	bo := order(t)
	switch t.Size {
	case 1:
		return int64(int8(b[0]))
	case 2:
		return int64(int16(bo.Uint16(b)))
	case 4:
		return int64(int32(bo.Uint32(b)))
	}
	return int64(bo.Uint64(b))
}

func uintAt(b []byte, t DType) uint64 {
	bo := order(t)
	switch t.Size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(bo.Uint16(b))
	case 4:
		return uint64(bo.Uint32(b))
	}
	return bo.Uint64(b)
}

// ints64 converts stored integers to int64.
func ints64(raw []byte, t DType) ([]int64, error) {
	n := len(raw) / t.Size
	out := make([]int64, n)
	for i := range out {
		v := raw[i*t.Size : (i+1)*t.Size]
		if t.Kind == Int {
			out[i] = intAt(v, t)
			continue
		}
		u := uintAt(v, t)
		if u > math.MaxInt64 {
			return nil, typeErr("value %d at index %d exceeds int64", u, i)
		}
		out[i] = int64(u)
	}
	return out, nil
}

// strings decodes fixed or variable-length strings.
func (f *File) decodeStrings(raw []byte, t DType, rb *readBudget) ([]string, error) {
	switch t.Kind {
	case String:
		n := len(raw) / t.Size
		if err := rb.charge(uint64(len(raw)) + uint64(n)*16); err != nil {
			return nil, err
		}
		out := make([]string, n)
		for i := range out {
			v := raw[i*t.Size : (i+1)*t.Size]
			if t.Pad == PadSpacePad {
				out[i] = strings.TrimRight(string(v), " ")
			} else {
				out[i] = cString(v)
			}
		}
		return out, nil
	case VarString:
		n := len(raw) / t.Size
		if err := rb.charge(uint64(n) * 16); err != nil {
			return nil, err
		}
		out := make([]string, n)
		for i := range out {
			d := f.dec(raw[i*t.Size:(i+1)*t.Size], "variable-length string")
			length := uint64(d.u32())
			coll := d.addr()
			idx := d.u32()
			if d.err != nil {
				return nil, d.err
			}
			if length == 0 {
				continue
			}
			obj, err := f.globalObject(coll, idx)
			if err != nil {
				return nil, fmt.Errorf("string %d: %w", i, err)
			}
			if uint64(len(obj)) < length {
				return nil, formatErr("string %d: %d bytes in a %d-byte heap object", i, length, len(obj))
			}
			if err := rb.charge(length); err != nil {
				return nil, err
			}
			s := obj[:length]
			if t.Pad == PadSpacePad {
				out[i] = strings.TrimRight(string(s), " ")
			} else {
				out[i] = cString(s)
			}
		}
		return out, nil
	}
	return nil, typeErr("%s values are not strings", t)
}

// globalHeap is a parsed global heap collection: its objects by index.
type globalHeap struct {
	objs map[uint32][]byte
}

// maxGlobalHeap bounds one global heap collection.
const maxGlobalHeap = 1 << 30

// globalObject returns object idx of the global heap collection at addr.
func (f *File) globalObject(addr uint64, idx uint32) ([]byte, error) {
	what := fmt.Sprintf("global heap at 0x%x", addr)
	f.mu.Lock()
	h := f.gheaps[addr]
	f.mu.Unlock()
	if h == nil {
		if err := f.chargeObjects(1, what); err != nil {
			return nil, err
		}
		b, err := f.readMeta(addr, uint64(8+f.lenSize), what)
		if err != nil {
			return nil, err
		}
		d := f.dec(b, what)
		d.signature("GCOL")
		version := d.u8()
		d.skip(3)
		size := d.length()
		if d.err != nil {
			return nil, d.err
		}
		if version != 1 {
			return nil, formatErr("%s: version %d", what, version)
		}
		if size < uint64(align8(8+f.lenSize)) || size > maxGlobalHeap {
			return nil, formatErr("%s: collection of %d bytes", what, size)
		}
		b, err = f.readMeta(addr, size, what)
		if err != nil {
			return nil, err
		}
		h = &globalHeap{objs: map[uint32][]byte{}}
		// The collection header and each object header are padded to a
		// multiple of 8 bytes.
		hdr := align8(8 + f.lenSize)
		d = f.dec(b[hdr:], what)
		for d.remaining() >= hdr {
			index := d.u16()
			d.skip(2 + 4) // reference count, reserved
			osize := d.length()
			d.skip(hdr - 8 - f.lenSize)
			if index == 0 { // free space: the rest of the collection
				break
			}
			if d.err != nil {
				return nil, d.err
			}
			if osize > uint64(d.remaining()) {
				return nil, formatErr("%s: object %d of %d bytes past the collection end", what, index, osize)
			}
			if err := f.chargeObjects(1, what); err != nil {
				return nil, err
			}
			h.objs[uint32(index)] = d.bytes(int(osize))
			if pad := int(osize % 8); pad != 0 {
				d.skip(min(8-pad, d.remaining()))
			}
		}
		f.mu.Lock()
		if prev := f.gheaps[addr]; prev != nil {
			h = prev
		} else {
			f.gheaps[addr] = h
		}
		f.mu.Unlock()
	}
	obj, ok := h.objs[idx]
	if !ok {
		return nil, formatErr("%s: no object %d", what, idx)
	}
	return obj, nil
}

func align8(n int) int { return (n + 7) &^ 7 }
