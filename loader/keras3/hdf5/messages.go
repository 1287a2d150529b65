package hdf5

import (
	"fmt"
	"unicode/utf8"
)

// Storage layouts.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
)

// Chunk indexes.
const (
	indexBTree1   = 0 // version 3 layouts
	indexSingle   = 1
	indexImplicit = 2
	indexFixed    = 3
	indexExtArray = 4
	indexBTree2   = 5
)

type layout struct {
	version  int
	class    int
	compact  []byte
	addr     uint64 // contiguous data or chunk index address
	size     uint64 // contiguous size
	chunk    []uint64
	elemSize uint64
	index    int
	flags    uint8
	single   struct {
		size uint64
		mask uint32
	} // filtered single chunk
	pageBits uint8 // fixed array
}

func (f *File) parseLayout(b []byte, what string) (layout, error) {
	d := f.dec(b, what+": data layout")
	var l layout
	l.version = int(d.u8())
	if d.err != nil {
		return l, d.err
	}
	if l.version < 3 || l.version > 4 {
		return l, unsupportedErr("%s version %d (3 and 4 are supported)", d.what, l.version)
	}
	l.class = int(d.u8())
	switch l.class {
	case layoutCompact:
		n := int(d.u16())
		l.compact = d.bytes(n)
	case layoutContiguous:
		l.addr = d.addr()
		l.size = d.length()
	case layoutChunked:
		if l.version == 3 {
			ndims := int(d.u8())
			l.addr = d.addr()
			if ndims < 2 || ndims > maxRank+1 {
				if d.err == nil {
					return l, formatErr("%s: %d chunk dimensions", d.what, ndims)
				}
				break
			}
			dims := make([]uint64, ndims)
			for i := range dims {
				dims[i] = uint64(d.u32())
			}
			l.chunk, l.elemSize = dims[:ndims-1], dims[ndims-1]
			l.index = indexBTree1
			break
		}
		l.flags = d.u8()
		ndims := int(d.u8())
		encLen := int(d.u8())
		if d.err != nil {
			break
		}
		if ndims < 2 || ndims > maxRank+1 {
			return l, formatErr("%s: %d chunk dimensions", d.what, ndims)
		}
		if encLen < 1 || encLen > 8 {
			return l, formatErr("%s: %d-byte chunk dimension sizes", d.what, encLen)
		}
		dims := make([]uint64, ndims)
		for i := range dims {
			dims[i] = d.uvar(encLen)
		}
		l.chunk, l.elemSize = dims[:ndims-1], dims[ndims-1]
		l.index = int(d.u8())
		switch l.index {
		case indexSingle:
			if l.flags&2 != 0 {
				l.single.size = d.length()
				l.single.mask = d.u32()
			}
		case indexImplicit:
		case indexFixed:
			l.pageBits = d.u8()
		case indexExtArray:
			d.skip(5)
		case indexBTree2:
			d.skip(6)
		default:
			if d.err == nil {
				return l, formatErr("%s: chunk index type %d", d.what, l.index)
			}
		}
		l.addr = d.addr()
	case 3:
		return l, unsupportedErr("%s: virtual dataset", d.what)
	default:
		if d.err == nil {
			return l, formatErr("%s: layout class %d", d.what, l.class)
		}
	}
	if d.err != nil {
		return l, d.err
	}
	if l.class == layoutChunked {
		for _, c := range l.chunk {
			if c == 0 || c > 1<<32 {
				return l, formatErr("%s: chunk dimensions %v", d.what, l.chunk)
			}
		}
		if l.elemSize == 0 {
			return l, formatErr("%s: zero element size", d.what)
		}
	}
	return l, nil
}

// Filters.
const (
	filterDeflate    = 1
	filterShuffle    = 2
	filterFletcher32 = 3
)

type filter struct {
	id       uint16
	optional bool
	name     string
	cdata    []uint32
}

const maxFilters = 32

func (f *File) parseFilters(b []byte, what string) ([]filter, error) {
	d := f.dec(b, what+": filter pipeline")
	version := d.u8()
	n := int(d.u8())
	if d.err != nil {
		return nil, d.err
	}
	if version != 1 && version != 2 {
		return nil, formatErr("%s version %d", d.what, version)
	}
	if n > maxFilters {
		return nil, formatErr("%s: %d filters", d.what, n)
	}
	if version == 1 {
		d.skip(6)
	}
	fs := make([]filter, 0, n)
	for i := 0; i < n; i++ {
		var fl filter
		fl.id = d.u16()
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(d.u16())
		}
		flags := d.u16()
		fl.optional = flags&1 != 0
		nvals := int(d.u16())
		if nameLen > 0 {
			name := d.bytes(nameLen)
			if version == 1 && nameLen%8 != 0 {
				d.skip(8 - nameLen%8)
			}
			fl.name = cString(name)
		}
		if d.err != nil {
			return nil, d.err
		}
		if nvals > d.remaining()/4 {
			return nil, formatErr("%s: %d client values for filter %d", d.what, nvals, fl.id)
		}
		fl.cdata = make([]uint32, nvals)
		for j := range fl.cdata {
			fl.cdata[j] = d.u32()
		}
		if version == 1 && nvals%2 == 1 {
			d.skip(4)
		}
		fs = append(fs, fl)
	}
	return fs, d.err
}

// parseFill reads a fill value message (old or new); nil means the fill
// value is undefined (zeros are used).
func (f *File) parseFill(m message, what string) ([]byte, error) {
	d := f.dec(m.data, what+": fill value")
	if m.typ == msgFillOld {
		n := d.u32()
		v := d.bytes(int(min(n, 1<<24)))
		return v, d.err
	}
	version := d.u8()
	switch version {
	case 1, 2:
		d.skip(2) // allocation time, write time
		defined := d.u8()
		if defined == 0 && version == 2 {
			return nil, d.err
		}
		if d.remaining() == 0 && version == 1 {
			return nil, d.err
		}
		n := d.u32()
		if n == 0 {
			return nil, d.err
		}
		v := d.bytes(int(min(n, 1<<24)))
		return v, d.err
	case 3:
		flags := d.u8()
		if flags&0x20 == 0 {
			return nil, d.err
		}
		n := d.u32()
		v := d.bytes(int(min(n, 1<<24)))
		return v, d.err
	}
	if d.err != nil {
		return nil, d.err
	}
	return nil, formatErr("%s version %d", d.what, version)
}

// Link kinds.
const (
	linkHard     = 0
	linkSoft     = 1
	linkExternal = 64
)

type link struct {
	name string
	kind int
	addr uint64
}

const maxNameLen = 1 << 16

func (f *File) parseLink(b []byte, what string) (link, error) {
	d := f.dec(b, what+": link")
	var l link
	version := d.u8()
	flags := d.u8()
	if d.err != nil {
		return l, d.err
	}
	if version != 1 {
		return l, formatErr("%s version %d", d.what, version)
	}
	if flags&0x08 != 0 {
		l.kind = int(d.u8())
	}
	if flags&0x04 != 0 {
		d.skip(8) // creation order
	}
	if flags&0x10 != 0 {
		d.skip(1) // name character set
	}
	n := d.uvar(1 << (flags & 3))
	if d.err == nil && (n == 0 || n > maxNameLen) {
		return l, formatErr("%s: name of %d bytes", d.what, n)
	}
	name := d.bytes(int(n))
	l.name = string(name)
	switch l.kind {
	case linkHard:
		l.addr = d.addr()
	case linkSoft, linkExternal:
		n := int(d.u16())
		d.skip(n)
	default:
		if d.err == nil && l.kind < linkExternal {
			return l, formatErr("%s: link type %d", d.what, l.kind)
		}
	}
	if d.err != nil {
		return l, d.err
	}
	return l, checkName(l.name, d.what)
}

func checkName(name, what string) error {
	if name == "" || name == "." {
		return formatErr("%s: empty name or \".\"", what)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return formatErr("%s: name %q holds '/' or NUL", what, name)
		}
	}
	return nil
}

// heapIndex is the link info or attribute info message: where dense
// storage keeps its fractal heap and name index.
type heapIndex struct {
	heap, names uint64
}

func (f *File) parseHeapIndex(m message, what string) (heapIndex, error) {
	d := f.dec(m.data, what)
	version := d.u8()
	flags := d.u8()
	if d.err != nil {
		return heapIndex{}, d.err
	}
	if version != 0 {
		return heapIndex{}, formatErr("%s version %d", what, version)
	}
	if flags&1 != 0 {
		if m.typ == msgLinkInfo {
			d.skip(8)
		} else {
			d.skip(2)
		}
	}
	h := heapIndex{heap: d.addr(), names: d.addr()}
	return h, d.err
}

// Attribute is a named value attached to a group or dataset.
type Attribute struct {
	f     *File
	name  string
	dtype DType
	space dataspace
	data  []byte
	what  string
}

func (f *File) parseAttribute(b []byte, what string) (*Attribute, error) {
	d := f.dec(b, what+": attribute")
	version := d.u8()
	flags := byte(0)
	if version == 1 {
		d.skip(1)
	} else {
		flags = d.u8()
	}
	nameSize := int(d.u16())
	typeSize := int(d.u16())
	spaceSize := int(d.u16())
	if d.err != nil {
		return nil, d.err
	}
	if version < 1 || version > 3 {
		return nil, formatErr("%s version %d", d.what, version)
	}
	if flags&3 != 0 {
		return nil, unsupportedErr("%s: shared datatype or dataspace", d.what)
	}
	if version == 3 {
		d.skip(1) // name character set
	}
	pad := func(n int) int {
		if version == 1 && n%8 != 0 {
			return n + 8 - n%8
		}
		return n
	}
	name := d.bytes(nameSize)
	d.skip(pad(nameSize) - nameSize)
	tb := d.bytes(typeSize)
	d.skip(pad(typeSize) - typeSize)
	sb := d.bytes(spaceSize)
	d.skip(pad(spaceSize) - spaceSize)
	if d.err != nil {
		return nil, d.err
	}
	a := &Attribute{f: f, name: cString(name)}
	if err := checkAttrName(a.name, d.what); err != nil {
		return nil, err
	}
	a.what = fmt.Sprintf("%s %q", what, a.name)
	var err error
	if a.dtype, err = f.parseDatatype(tb, a.what); err != nil {
		return nil, err
	}
	if a.space, err = f.parseDataspace(sb, a.what); err != nil {
		return nil, err
	}
	n := a.space.count()
	if n > uint64(d.remaining())/uint64(a.dtype.Size) {
		return nil, formatErr("%s: %d elements of %d bytes but %d bytes of data", a.what, n, a.dtype.Size, d.remaining())
	}
	a.data = d.bytes(int(n) * a.dtype.Size)
	return a, d.err
}

func checkAttrName(name, what string) error {
	if name == "" || !utf8.ValidString(name) {
		return formatErr("%s: empty or invalid attribute name", what)
	}
	return nil
}

// cString cuts b at its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
