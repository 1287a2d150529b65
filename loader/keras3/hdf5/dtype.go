package hdf5

import "fmt"

// Kind is the class of a DType as this package reads it.
type Kind int

const (
	// Other is any datatype outside the supported subset (compound, array,
	// reference, opaque, bitfield, time, variable-length sequences,
	// non-IEEE floats, odd-sized integers). Such values can be listed but
	// not read.
	Other Kind = iota
	// Int is a signed two's-complement integer of 1, 2, 4 or 8 bytes.
	Int
	// Uint is an unsigned integer of 1, 2, 4 or 8 bytes.
	Uint
	// Float is an IEEE 754 binary16, binary32 or binary64.
	Float
	// String is a fixed-length string of Size bytes.
	String
	// VarString is a variable-length string kept in the global heap.
	VarString
)

// String padding and character sets.
const (
	PadNullTerm  = 0
	PadNullPad   = 1
	PadSpacePad  = 2
	CharsetASCII = 0
	CharsetUTF8  = 1
)

// DType is an element type.
type DType struct {
	Kind Kind
	// Size is the stored size of one element in bytes (for VarString, the
	// size of its global heap reference).
	Size int
	// BigEndian is set for big-endian numbers.
	BigEndian bool
	// Enum is set for an enumeration, read as its integer base type (h5py
	// stores booleans as an int8 enumeration).
	Enum bool
	// Pad and Charset describe strings.
	Pad, Charset int
	// Desc names an Other type ("compound", "non-IEEE float", ...).
	Desc string
}

func (t DType) String() string {
	order := "<"
	if t.BigEndian {
		order = ">"
	}
	if t.Size == 1 {
		order = "|"
	}
	switch t.Kind {
	case Int:
		return fmt.Sprintf("%si%d", order, t.Size)
	case Uint:
		return fmt.Sprintf("%su%d", order, t.Size)
	case Float:
		return fmt.Sprintf("%sf%d", order, t.Size)
	case String:
		return fmt.Sprintf("|S%d", t.Size)
	case VarString:
		if t.Charset == CharsetUTF8 {
			return "vlen-utf8"
		}
		return "vlen-ascii"
	}
	return "unsupported(" + t.Desc + ")"
}

// parseDatatype decodes a datatype message. Nested types (the base of an
// enumeration or a variable-length type) are read without recursion: only
// what this package supports is followed.
func (f *File) parseDatatype(b []byte, what string) (DType, error) {
	d := f.dec(b, what+": datatype")
	cv := d.u8()
	bf0, bf1, _ := d.u8(), d.u8(), d.u8()
	size := d.u32()
	if d.err != nil {
		return DType{}, d.err
	}
	class, version := cv&0x0f, cv>>4
	if version < 1 || version > 5 {
		return DType{}, formatErr("%s: datatype version %d", d.what, version)
	}
	if size == 0 {
		return DType{}, formatErr("%s: zero-size datatype", d.what)
	}
	if size > 1<<20 {
		return DType{Kind: Other, Size: int(size), Desc: fmt.Sprintf("%d-byte elements", size)}, nil
	}
	switch class {
	case 0: // fixed-point
		return fixedPoint(d, bf0, size), d.err
	case 1: // floating-point
		t := DType{Kind: Float, Size: int(size), BigEndian: bf0&1 != 0}
		if bf0&0x40 != 0 {
			return DType{Kind: Other, Size: int(size), Desc: "VAX-order float"}, nil
		}
		signLoc := bf1
		offset, prec := d.u16(), d.u16()
		expLoc, expSize, manLoc, manSize := d.u8(), d.u8(), d.u8(), d.u8()
		bias := d.u32()
		if d.err != nil {
			return DType{}, d.err
		}
		var want [6]uint32
		switch size {
		case 2:
			want = [6]uint32{15, 10, 5, 0, 10, 15}
		case 4:
			want = [6]uint32{31, 23, 8, 0, 23, 127}
		case 8:
			want = [6]uint32{63, 52, 11, 0, 52, 1023}
		default:
			return DType{Kind: Other, Size: int(size), Desc: fmt.Sprintf("%d-byte float", size)}, nil
		}
		got := [6]uint32{uint32(signLoc), uint32(expLoc), uint32(expSize), uint32(manLoc), uint32(manSize), bias}
		// Mantissa normalization must be "implied" (2) for IEEE.
		if got != want || offset != 0 || uint32(prec) != size*8 || (bf0>>4)&3 != 2 {
			return DType{Kind: Other, Size: int(size), Desc: "non-IEEE float"}, nil
		}
		return t, nil
	case 3: // string
		return DType{Kind: String, Size: int(size), Pad: int(bf0 & 0x0f), Charset: int(bf0 >> 4)}, nil
	case 8: // enumeration: base type first
		base, err := f.parseBaseInt(d.b[d.off:], what)
		if err != nil || base.Kind == Other {
			return DType{Kind: Other, Size: int(size), Desc: "enumeration of a non-integer type"}, err
		}
		if base.Size != int(size) {
			return DType{}, formatErr("%s: enumeration of %d bytes over a %d-byte base", d.what, size, base.Size)
		}
		base.Enum = true
		return base, nil
	case 9: // variable-length
		if bf0&0x0f != 1 {
			return DType{Kind: Other, Size: int(size), Desc: "variable-length sequence"}, nil
		}
		t := DType{Kind: VarString, Size: 4 + f.offSize + 4, Pad: int(bf0 >> 4), Charset: int(bf1 & 0x0f)}
		if int(size) != t.Size {
			return DType{}, formatErr("%s: variable-length string of %d bytes (want %d)", d.what, size, t.Size)
		}
		return t, nil
	}
	names := map[uint8]string{2: "time", 4: "bitfield", 5: "opaque", 6: "compound", 7: "reference", 10: "array", 11: "complex"}
	desc, ok := names[class]
	if !ok {
		return DType{}, formatErr("%s: datatype class %d", d.what, class)
	}
	return DType{Kind: Other, Size: int(size), Desc: desc}, nil
}

func fixedPoint(d *decoder, bf0 uint8, size uint32) DType {
	offset, prec := d.u16(), d.u16()
	t := DType{Kind: Uint, Size: int(size), BigEndian: bf0&1 != 0}
	if bf0&0x08 != 0 {
		t.Kind = Int
	}
	switch size {
	case 1, 2, 4, 8:
	default:
		return DType{Kind: Other, Size: int(size), Desc: fmt.Sprintf("%d-byte integer", size)}
	}
	if offset != 0 || uint32(prec) != size*8 {
		return DType{Kind: Other, Size: int(size), Desc: "integer with padding bits"}
	}
	return t
}

// parseBaseInt reads the integer base type of an enumeration.
func (f *File) parseBaseInt(b []byte, what string) (DType, error) {
	d := f.dec(b, what+": enumeration base type")
	cv := d.u8()
	bf0 := d.u8()
	d.skip(2)
	size := d.u32()
	if d.err != nil {
		return DType{}, d.err
	}
	if cv&0x0f != 0 {
		return DType{Kind: Other}, nil
	}
	t := fixedPoint(d, bf0, size)
	return t, d.err
}

// Dataspace is a shape; a nil Dims with Null set has no elements, an empty
// Dims is a scalar.
type dataspace struct {
	dims    []uint64
	maxDims []uint64
	null    bool
}

const maxRank = 32

func (f *File) parseDataspace(b []byte, what string) (dataspace, error) {
	d := f.dec(b, what+": dataspace")
	version := d.u8()
	rank := int(d.u8())
	flags := d.u8()
	var ds dataspace
	switch version {
	case 1:
		d.skip(5)
	case 2:
		switch d.u8() {
		case 0: // scalar
			rank = 0
		case 1:
		case 2:
			ds.null = true
			rank = 0
		default:
			return ds, formatErr("%s: dataspace type", d.what)
		}
	default:
		if d.err != nil {
			return ds, d.err
		}
		return ds, formatErr("%s: dataspace version %d", d.what, version)
	}
	if rank > maxRank {
		return ds, formatErr("%s: rank %d exceeds %d", d.what, rank, maxRank)
	}
	ds.dims = make([]uint64, rank)
	for i := range ds.dims {
		ds.dims[i] = d.length()
	}
	if flags&1 != 0 {
		ds.maxDims = make([]uint64, rank)
		for i := range ds.maxDims {
			ds.maxDims[i] = d.length()
		}
	}
	if d.err != nil {
		return ds, d.err
	}
	if _, ok := product(ds.dims); !ok {
		return ds, formatErr("%s: %v elements overflow", d.what, ds.dims)
	}
	return ds, nil
}

// maxElements bounds element counts so that counts times element sizes
// stay far from overflow.
const maxElements = 1 << 56

// product multiplies dims, reporting false past maxElements.
func product(dims []uint64) (uint64, bool) {
	n := uint64(1)
	for _, v := range dims {
		if v == 0 {
			return 0, true
		}
	}
	for _, v := range dims {
		if v > maxElements || n > maxElements/v {
			return 0, false
		}
		n *= v
	}
	return n, true
}

func (ds dataspace) count() uint64 {
	if ds.null {
		return 0
	}
	n, _ := product(ds.dims)
	return n
}
