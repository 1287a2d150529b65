package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
)

// Dataset is a dataset of the file, reached by the path it was opened at.
type Dataset struct {
	f    *File
	path string
	obj  *object
}

// Path returns the dataset's path from the root ("layers/gru/cell/vars/0").
func (d *Dataset) Path() string { return d.path }

// Shape returns the dimensions ([] for a scalar, nil for a null dataspace).
func (d *Dataset) Shape() []int64 { return shapeOf(d.obj.space) }

func shapeOf(s dataspace) []int64 {
	if s.null {
		return nil
	}
	out := make([]int64, len(s.dims))
	for i, v := range s.dims {
		out[i] = int64(v)
	}
	return out
}

// Len returns the number of elements.
func (d *Dataset) Len() int64 { return int64(d.obj.space.count()) }

// DType returns the element type.
func (d *Dataset) DType() DType { return d.obj.dtype }

// Attrs returns the dataset's attributes in byte-wise name order.
func (d *Dataset) Attrs() []*Attribute { return d.obj.attrs }

// Attr returns the attribute called name.
func (d *Dataset) Attr(name string) (*Attribute, error) {
	return findAttr(d.obj.attrs, name, fmt.Sprintf("dataset %q", d.path))
}

// Layout names the storage layout: "compact", "contiguous", or
// "chunked/<index>" with the chunk index ("btree-v1", "single",
// "implicit", "fixed-array", "extensible-array", "btree-v2").
func (d *Dataset) Layout() string {
	switch d.obj.layout.class {
	case layoutCompact:
		return "compact"
	case layoutContiguous:
		return "contiguous"
	}
	names := []string{"btree-v1", "single", "implicit", "fixed-array", "extensible-array", "btree-v2"}
	return "chunked/" + names[d.obj.layout.index]
}

// Filters names the filters of a chunked dataset in pipeline order
// ("shuffle", "deflate", "fletcher32", or "filter-<id>").
func (d *Dataset) Filters() []string {
	var out []string
	for _, fl := range d.obj.filters {
		switch fl.id {
		case filterDeflate:
			out = append(out, "deflate")
		case filterShuffle:
			out = append(out, "shuffle")
		case filterFletcher32:
			out = append(out, "fletcher32")
		default:
			out = append(out, fmt.Sprintf("filter-%d", fl.id))
		}
	}
	return out
}

func (d *Dataset) describe() string { return fmt.Sprintf("dataset %q", d.path) }

// ReadRaw returns the stored bytes of every element in row-major order, in
// the file's byte order (see DType), with unwritten chunks holding the
// fill value.
func (d *Dataset) ReadRaw() ([]byte, error) {
	rb := d.f.newReadBudget(d.describe())
	b, err := d.readRaw(rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	return b, nil
}

// ReadFloat32 returns the values of a float dataset (binary16, 32 or 64,
// either byte order) as float32, converting as Go does.
func (d *Dataset) ReadFloat32() ([]float32, error) {
	rb := d.f.newReadBudget(d.describe())
	t := d.obj.dtype
	if t.Kind != Float {
		return nil, typeErr("%s: %s values are not floats", d.describe(), t)
	}
	n := d.obj.space.count()
	if err := rb.charge(n * 4); err != nil {
		return nil, err
	}
	raw, err := d.readRaw(rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	return floats32(raw, t), nil
}

// ReadFloat64 returns the values of a float dataset as float64.
func (d *Dataset) ReadFloat64() ([]float64, error) {
	rb := d.f.newReadBudget(d.describe())
	t := d.obj.dtype
	if t.Kind != Float {
		return nil, typeErr("%s: %s values are not floats", d.describe(), t)
	}
	if err := rb.charge(d.obj.space.count() * 8); err != nil {
		return nil, err
	}
	raw, err := d.readRaw(rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	return floats64(raw, t), nil
}

// ReadInt64 returns the values of an integer dataset as int64; unsigned
// values above the int64 range are an error.
func (d *Dataset) ReadInt64() ([]int64, error) {
	rb := d.f.newReadBudget(d.describe())
	t := d.obj.dtype
	if t.Kind != Int && t.Kind != Uint {
		return nil, typeErr("%s: %s values are not integers", d.describe(), t)
	}
	if err := rb.charge(d.obj.space.count() * 8); err != nil {
		return nil, err
	}
	raw, err := d.readRaw(rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	out, err := ints64(raw, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	return out, nil
}

// ReadStrings returns the values of a string dataset (fixed-length or
// variable-length).
func (d *Dataset) ReadStrings() ([]string, error) {
	rb := d.f.newReadBudget(d.describe())
	raw, err := d.readRaw(rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	out, err := d.f.decodeStrings(raw, d.obj.dtype, rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.describe(), err)
	}
	return out, nil
}

// readRaw reads the dataset's elements.
func (d *Dataset) readRaw(rb *readBudget) ([]byte, error) {
	o := d.obj
	t := o.dtype
	if t.Kind == Other {
		return nil, unsupportedErr("datatype %s", t.Desc)
	}
	n := o.space.count()
	esize := uint64(t.Size)
	total := n * esize // product() keeps n below 2^56; sizes are below 2^20
	if n != 0 && total/n != esize {
		return nil, formatErr("%d elements of %d bytes overflow", n, esize)
	}
	l := &o.layout
	switch l.class {
	case layoutCompact:
		if uint64(len(l.compact)) < total {
			return nil, formatErr("compact data of %d bytes for %d elements of %d bytes", len(l.compact), n, esize)
		}
		out, err := rb.alloc(total)
		if err != nil {
			return nil, err
		}
		copy(out, l.compact)
		return out, nil
	case layoutContiguous:
		if l.addr == undef || total == 0 {
			return fillBuffer(rb, total, o.fill)
		}
		if l.size < total {
			return nil, formatErr("contiguous storage of %d bytes for %d elements of %d bytes", l.size, n, esize)
		}
		return rb.read(l.addr, total, "contiguous data")
	case layoutChunked:
		return d.readChunked(rb, total)
	}
	return nil, formatErr("layout class %d", l.class)
}

func fillBuffer(rb *readBudget, total uint64, fill []byte) ([]byte, error) {
	out, err := rb.alloc(total)
	if err != nil {
		return nil, err
	}
	if fill != nil && !allZero(fill) {
		for i := 0; i+len(fill) <= len(out); i += len(fill) {
			copy(out[i:], fill)
		}
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// chunkRec is one stored chunk: its first element's coordinates, where it
// is, its stored size and which filters were skipped for it.
type chunkRec struct {
	coords []uint64
	addr   uint64
	size   uint64
	mask   uint32
}

func (d *Dataset) readChunked(rb *readBudget, total uint64) ([]byte, error) {
	o := d.obj
	l := &o.layout
	dims := o.space.dims
	rank := len(dims)
	if rank == 0 {
		return nil, formatErr("chunked scalar dataset")
	}
	esize := uint64(o.dtype.Size)
	chunkElems, _ := product(l.chunk) // checked at open
	chunkBytes := chunkElems * esize
	if chunkElems != 0 && chunkBytes/chunkElems != esize {
		return nil, formatErr("chunk of %v overflows", l.chunk)
	}
	// The chunk grid over the current extent; each chunk may be stored once.
	grid := make([]uint64, rank)
	for i := range dims {
		grid[i] = (dims[i] + l.chunk[i] - 1) / l.chunk[i]
	}
	nchunks, ok := product(grid)
	if !ok {
		return nil, formatErr("chunk grid %v overflows", grid)
	}
	out, err := fillBuffer(rb, total, o.fill)
	if err != nil {
		return nil, err
	}
	if total == 0 {
		return out, nil
	}
	seen, err := rb.alloc((nchunks + 7) / 8)
	if err != nil {
		return nil, err
	}
	// Filters may grow data by a few bytes (fletcher32's checksum) before
	// the last one is undone; anything larger is refused.
	cd := &chunkDecoder{rb: rb, f: d.f, filters: o.filters, esize: esize, chunkBytes: chunkBytes,
		limit: chunkBytes + 4*uint64(len(o.filters)) + 16}
	work, workLimit := uint64(0), 8*uint64(d.f.opts.MaxBytes)+64<<20
	visit := func(c chunkRec) error {
		if err := rb.chargeObjects(1); err != nil {
			return err
		}
		idx := uint64(0)
		for i := range dims {
			if c.coords[i]%l.chunk[i] != 0 {
				return formatErr("chunk at %v is not aligned to chunks of %v", c.coords, l.chunk)
			}
			g := c.coords[i] / l.chunk[i]
			if g >= grid[i] {
				return nil // beyond the current extent: not part of the data
			}
			idx = idx*grid[i] + g
		}
		if seen[idx/8]&(1<<(idx%8)) != 0 {
			return formatErr("chunk at %v is stored twice", c.coords)
		}
		seen[idx/8] |= 1 << (idx % 8)
		if c.addr == undef {
			return nil
		}
		// Chunks hanging far past the extent could make decoding cost
		// much more than the result's size: bound the bytes decoded.
		work += chunkBytes
		if work > workLimit {
			return budgetErr("decoding more than %d bytes of chunks", workLimit)
		}
		data, err := cd.load(c)
		if err != nil {
			return fmt.Errorf("chunk at %v (0x%x): %w", c.coords, c.addr, err)
		}
		copyChunk(out, data, dims, l.chunk, c.coords, esize)
		return nil
	}
	if err := d.chunks(rb, chunkBytes, grid, visit); err != nil {
		return nil, err
	}
	return out, nil
}

// chunkDecoder undoes the filters of one dataset's chunks, reusing its
// buffers (charged to the read budget when they grow).
type chunkDecoder struct {
	rb         *readBudget
	f          *File
	filters    []filter
	esize      uint64
	chunkBytes uint64
	limit      uint64 // largest intermediate result allowed
	stored     []byte // the chunk as stored
	bufs       [2][]byte
	zr         io.ReadCloser
}

func (cd *chunkDecoder) buf(i int, n uint64) ([]byte, error) {
	if uint64(cap(cd.bufs[i])) < n {
		if err := cd.rb.charge(n); err != nil {
			return nil, err
		}
		cd.bufs[i] = make([]byte, n)
	}
	return cd.bufs[i][:n], nil
}

// load reads one chunk and undoes its filters, returning its chunkBytes
// decoded bytes in a buffer reused by the next call.
func (cd *chunkDecoder) load(c chunkRec) ([]byte, error) {
	active := 0
	for i := range cd.filters {
		if i >= 32 || c.mask&(1<<uint(i)) == 0 {
			active++
		}
	}
	if active == 0 && c.size < cd.chunkBytes {
		return nil, formatErr("%d stored bytes for a %d-byte chunk", c.size, cd.chunkBytes)
	}
	n := c.size
	if active == 0 {
		n = cd.chunkBytes
	} else if n > cd.limit+cd.limit/64+4096 {
		// More than deflate's worst-case growth: not what any filter here
		// writes.
		return nil, formatErr("%d stored bytes for a %d-byte chunk", c.size, cd.chunkBytes)
	}
	off, err := cd.f.abs(c.addr, n, "chunk")
	if err != nil {
		return nil, err
	}
	if uint64(cap(cd.stored)) < n {
		if err := cd.rb.charge(n); err != nil {
			return nil, err
		}
		cd.stored = make([]byte, n)
	}
	data := cd.stored[:n]
	if m, err := cd.f.r.ReadAt(data, off); m != len(data) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d bytes: %w", n, err)
	}
	next := 0 // which scratch buffer the next filter writes to
	for i := len(cd.filters) - 1; i >= 0; i-- {
		if i < 32 && c.mask&(1<<uint(i)) != 0 {
			continue
		}
		fl := cd.filters[i]
		switch fl.id {
		case filterDeflate:
			out, err := cd.buf(next, cd.limit+1)
			if err != nil {
				return nil, err
			}
			if data, err = cd.inflate(data, out); err != nil {
				return nil, err
			}
			next ^= 1
		case filterShuffle:
			esize := cd.esize
			if len(fl.cdata) > 0 {
				esize = uint64(fl.cdata[0])
			}
			if esize > 1 && uint64(len(data)) >= esize {
				out, err := cd.buf(next, uint64(len(data)))
				if err != nil {
					return nil, err
				}
				unshuffle(out, data, esize)
				data = out
				next ^= 1
			}
		case filterFletcher32:
			if data, err = checkFletcher32(data); err != nil {
				return nil, err
			}
		default:
			return nil, unsupportedErr("filter %d (%s)", fl.id, fl.name)
		}
	}
	if uint64(len(data)) != cd.chunkBytes {
		return nil, formatErr("chunk decodes to %d bytes, want %d", len(data), cd.chunkBytes)
	}
	return data, nil
}

// inflate undoes the deflate filter into out, refusing output that fills
// it (out is one byte longer than the largest valid result).
func (cd *chunkDecoder) inflate(in, out []byte) ([]byte, error) {
	var err error
	if cd.zr == nil {
		cd.zr, err = zlib.NewReader(bytes.NewReader(in))
	} else {
		err = cd.zr.(zlib.Resetter).Reset(bytes.NewReader(in), nil)
	}
	if err != nil {
		cd.zr = nil
		return nil, formatErr("deflate: %v", err)
	}
	n := 0
	for {
		m, err := cd.zr.Read(out[n:])
		n += m
		if err == io.EOF {
			return out[:n], nil
		}
		if err != nil {
			return nil, formatErr("deflate: %v", err)
		}
		if n == len(out) {
			return nil, formatErr("deflate: chunk inflates past %d bytes", len(out)-1)
		}
	}
}

// unshuffle undoes the shuffle filter: byte k of every element was stored
// together; a remainder shorter than an element is kept as is.
func unshuffle(out, in []byte, esize uint64) {
	n := uint64(len(in)) / esize
	for k := uint64(0); k < esize; k++ {
		src := in[k*n : (k+1)*n]
		for i := uint64(0); i < n; i++ {
			out[i*esize+k] = src[i]
		}
	}
	copy(out[n*esize:], in[n*esize:])
}

// checkFletcher32 verifies and strips the fletcher32 filter's checksum,
// accepting both byte orders as the HDF5 library does for old files.
func checkFletcher32(in []byte) ([]byte, error) {
	if len(in) < 4 {
		return nil, formatErr("fletcher32: %d bytes", len(in))
	}
	body := in[:len(in)-4]
	sum := fletcher32(body)
	stored := binary.LittleEndian.Uint32(in[len(in)-4:])
	if sum != stored && sum != binary.BigEndian.Uint32(in[len(in)-4:]) {
		return nil, formatErr("fletcher32 checksum 0x%08x, stored 0x%08x", sum, stored)
	}
	return body, nil
}

// copyChunk copies the part of a chunk starting at coords that lies inside
// dims into out, one run along the last dimension at a time.
func copyChunk(out, chunk []byte, dims, cdims, coords []uint64, esize uint64) {
	rank := len(dims)
	// Extent of the chunk inside the dataset.
	ext := make([]uint64, rank)
	for i := range dims {
		ext[i] = min(cdims[i], dims[i]-coords[i])
	}
	run := ext[rank-1] * esize
	pos := make([]uint64, rank-1) // odometer over all but the last dimension
	for {
		var src, dst uint64
		for i := 0; i < rank; i++ {
			p := uint64(0)
			if i < rank-1 {
				p = pos[i]
			}
			src = src*cdims[i] + p
			dst = dst*dims[i] + coords[i] + p
		}
		copy(out[dst*esize:dst*esize+run], chunk[src*esize:src*esize+run])
		i := rank - 2
		for ; i >= 0; i-- {
			pos[i]++
			if pos[i] < ext[i] {
				break
			}
			pos[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// chunks visits the dataset's stored chunks through its chunk index.
func (d *Dataset) chunks(rb *readBudget, chunkBytes uint64, grid []uint64, visit func(chunkRec) error) error {
	f := d.f
	l := &d.obj.layout
	rank := len(grid)
	if l.addr == undef {
		return nil // nothing written yet
	}
	filtered := len(d.obj.filters) > 0
	switch l.index {
	case indexBTree1:
		keySize := 8 + 8*(rank+1)
		return f.btree1(l.addr, 1, keySize, "chunk B-tree", -1, func(child uint64, key []byte) error {
			kd := f.dec(key, "chunk B-tree key")
			size := uint64(kd.u32())
			mask := kd.u32()
			coords := make([]uint64, rank)
			for i := range coords {
				coords[i] = kd.u64()
			}
			if kd.err != nil {
				return kd.err
			}
			return visit(chunkRec{coords: coords, addr: child, size: size, mask: mask})
		})
	case indexSingle:
		c := chunkRec{coords: make([]uint64, rank), addr: l.addr, size: chunkBytes}
		if l.flags&2 != 0 {
			c.size, c.mask = l.single.size, l.single.mask
		}
		return visit(c)
	case indexImplicit:
		if filtered {
			return formatErr("implicit chunk index with filters")
		}
		// Chunks lie one after the other over the grid of the maximum
		// extent (the current one when that is fixed).
		mgrid := d.maxGrid(grid)
		return forGrid(mgrid, grid, func(idx uint64, coords []uint64) error {
			for i := range coords {
				coords[i] *= l.chunk[i]
			}
			off := idx * chunkBytes
			if idx != 0 && off/idx != chunkBytes {
				return formatErr("implicit chunk %d overflows", idx)
			}
			return visit(chunkRec{coords: coords, addr: l.addr + off, size: chunkBytes})
		})
	case indexFixed:
		return d.fixedArray(rb, chunkBytes, grid, visit)
	case indexBTree2:
		typ := uint8(bt2Chunks)
		if filtered {
			typ = bt2FilteredChunks
		}
		return f.walkBTree2(l.addr, typ, "chunk index", func(rec []byte) error {
			rd := f.dec(rec, "chunk record")
			c := chunkRec{addr: rd.addr(), size: chunkBytes}
			if filtered {
				sizeLen := len(rec) - f.offSize - 4 - 8*rank
				if sizeLen < 1 || sizeLen > 8 {
					return formatErr("chunk record of %d bytes for rank %d", len(rec), rank)
				}
				c.size = rd.uvar(sizeLen)
				c.mask = rd.u32()
			} else if len(rec) != f.offSize+8*rank {
				return formatErr("chunk record of %d bytes for rank %d", len(rec), rank)
			}
			c.coords = make([]uint64, rank)
			for i := range c.coords {
				s := rd.u64()
				if s >= grid[i] {
					s = grid[i] // beyond the extent; visit skips it
				}
				c.coords[i] = s * l.chunk[i]
			}
			if rd.err != nil {
				return rd.err
			}
			return visit(c)
		})
	case indexExtArray:
		return unsupportedErr("extensible array chunk index (a chunked dataset with one unlimited dimension written with libver latest)")
	}
	return formatErr("chunk index type %d", l.index)
}

// maxGrid is the chunk grid over the maximum extent, or grid where that
// is unlimited or unknown.
func (d *Dataset) maxGrid(grid []uint64) []uint64 {
	md := d.obj.space.maxDims
	if md == nil {
		return grid
	}
	out := make([]uint64, len(grid))
	for i := range grid {
		if md[i] == undef || md[i] < d.obj.space.dims[i] {
			out[i] = grid[i]
			continue
		}
		c := d.obj.layout.chunk[i]
		out[i] = md[i]/c + min(md[i]%c, 1)
	}
	return out
}

// forGrid calls fn for each chunk of grid (the current extent) with its
// linear index in mgrid (the maximum extent, same rank, at least grid).
func forGrid(mgrid, grid []uint64, fn func(idx uint64, coords []uint64) error) error {
	rank := len(grid)
	for i := range grid {
		if grid[i] == 0 {
			return nil
		}
	}
	pos := make([]uint64, rank)
	for {
		idx := uint64(0)
		for i := range pos {
			idx = idx*mgrid[i] + pos[i]
		}
		coords := make([]uint64, rank)
		copy(coords, pos)
		if err := fn(idx, coords); err != nil {
			return err
		}
		i := rank - 1
		for ; i >= 0; i-- {
			pos[i]++
			if pos[i] < grid[i] {
				break
			}
			pos[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}
