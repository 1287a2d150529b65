package hdf5

import (
	"fmt"
	"math/bits"
)

// fractalHeap is a parsed fractal heap header with its doubling table.
type fractalHeap struct {
	addr          uint64
	what          string
	idLen         int
	flags         uint8
	maxManaged    uint64
	width         uint64
	startSize     uint64
	maxDirect     uint64
	maxHeapBits   int
	rootAddr      uint64
	rootRows      int
	offSize       int // bytes of a heap offset
	lenSize       int // bytes of a managed object length
	maxDirectRows int
	firstRowBits  int
	rowSize       []uint64 // block size of each row
	rowOff        []uint64 // offset of each row within a block
	blocks        map[uint64][]byte
}

func isPow2(v uint64) bool { return v != 0 && v&(v-1) == 0 }

func (f *File) fractalHeap(addr uint64, what string) (*fractalHeap, error) {
	f.mu.Lock()
	h := f.fheaps[addr]
	f.mu.Unlock()
	if h != nil {
		return h, nil
	}
	hwhat := fmt.Sprintf("%s: fractal heap at 0x%x", what, addr)
	if err := f.chargeObjects(1, hwhat); err != nil {
		return nil, err
	}
	size := uint64(4+1+2+2+1+4) + uint64(12*f.lenSize) + uint64(3*f.offSize) + 2 + 2 + 2 + 2 + 4
	// Size counts: next huge ID, free space, managed space, allocated,
	// iterator, managed count, huge size, huge count, tiny size, tiny
	// count, start block size and max direct size are lengths (12); huge
	// B-tree, free-space manager and root block are addresses (3).
	b, err := f.readMeta(addr, size, hwhat)
	if err != nil {
		return nil, err
	}
	d := f.dec(b, hwhat)
	d.signature("FRHP")
	version := d.u8()
	h = &fractalHeap{addr: addr, what: hwhat, blocks: map[uint64][]byte{}}
	h.idLen = int(d.u16())
	filterLen := d.u16()
	h.flags = d.u8()
	h.maxManaged = uint64(d.u32())
	d.length() // next huge object ID
	d.addr()   // huge object B-tree
	d.length() // free space
	d.addr()   // free-space manager
	d.length() // managed space
	d.length() // allocated managed space
	d.length() // allocation iterator
	d.length() // managed objects
	d.length() // huge objects size
	d.length() // huge objects count
	d.length() // tiny objects size
	d.length() // tiny objects count
	h.width = uint64(d.u16())
	h.startSize = d.length()
	h.maxDirect = d.length()
	h.maxHeapBits = int(d.u16())
	d.u16() // starting rows of the root indirect block
	h.rootAddr = d.addr()
	h.rootRows = int(d.u16())
	if d.err != nil {
		return nil, d.err
	}
	if version != 0 {
		return nil, formatErr("%s: version %d", hwhat, version)
	}
	if filterLen != 0 {
		return nil, unsupportedErr("%s: filtered fractal heap", hwhat)
	}
	if err := checkSum(b, hwhat); err != nil {
		return nil, err
	}
	if !isPow2(h.width) || !isPow2(h.startSize) || !isPow2(h.maxDirect) || h.maxDirect < h.startSize ||
		h.maxDirect > 1<<30 || h.maxHeapBits < 1 || h.maxHeapBits > 64 {
		return nil, formatErr("%s: doubling table width %d, block sizes %d..%d, %d-bit heap", hwhat, h.width, h.startSize, h.maxDirect, h.maxHeapBits)
	}
	startBits := bits.Len64(h.startSize) - 1
	h.firstRowBits = startBits + bits.Len64(h.width) - 1
	if h.firstRowBits > h.maxHeapBits {
		return nil, formatErr("%s: first row of %d bits in a %d-bit heap", hwhat, h.firstRowBits, h.maxHeapBits)
	}
	maxRootRows := h.maxHeapBits - h.firstRowBits + 1
	h.maxDirectRows = bits.Len64(h.maxDirect) - 1 - startBits + 2
	if h.rootRows > maxRootRows {
		return nil, formatErr("%s: %d root rows, at most %d", hwhat, h.rootRows, maxRootRows)
	}
	h.rowSize = make([]uint64, maxRootRows+1)
	h.rowOff = make([]uint64, maxRootRows+1)
	blockSize, off := h.startSize, h.startSize*h.width
	h.rowSize[0] = h.startSize
	for u := 1; u <= maxRootRows; u++ {
		h.rowSize[u], h.rowOff[u] = blockSize, off
		if u < maxRootRows {
			if blockSize > 1<<62 || off > 1<<62 {
				blockSize, off = 1<<63, 1<<63
				continue
			}
			blockSize *= 2
			off *= 2
		}
	}
	h.offSize = (h.maxHeapBits + 7) / 8
	h.lenSize = min((bits.Len64(h.maxDirect)-1+7)/8, encSize(h.maxManaged))
	if h.startSize < uint64(4+1+f.offSize+h.offSize+4) {
		return nil, formatErr("%s: %d-byte starting blocks cannot hold a block header", hwhat, h.startSize)
	}
	f.mu.Lock()
	if prev := f.fheaps[addr]; prev != nil {
		h = prev
	} else {
		f.fheaps[addr] = h
	}
	f.mu.Unlock()
	return h, nil
}

// object returns the bytes of the heap object with the given ID.
func (f *File) heapObject(h *fractalHeap, id []byte) ([]byte, error) {
	if len(id) == 0 {
		return nil, formatErr("%s: empty heap ID", h.what)
	}
	switch (id[0] >> 4) & 3 {
	case 0:
	case 2: // tiny: the object is in the ID
		if id[0]>>6 != 0 {
			return nil, formatErr("%s: heap ID version %d", h.what, id[0]>>6)
		}
		n, data := int(id[0]&0x0f)+1, id[1:]
		if h.idLen > 18 {
			if len(id) < 2 {
				return nil, formatErr("%s: short tiny heap ID", h.what)
			}
			n, data = (int(id[0]&0x0f)<<8|int(id[1]))+1, id[2:]
		}
		if n > len(data) {
			return nil, formatErr("%s: tiny object of %d bytes in a %d-byte ID", h.what, n, len(id))
		}
		return data[:n], nil
	case 1:
		return nil, unsupportedErr("%s: huge heap objects", h.what)
	default:
		return nil, formatErr("%s: heap ID type %d", h.what, (id[0]>>4)&3)
	}
	d := f.dec(id[1:], h.what+": heap ID")
	off := d.uvar(h.offSize)
	n := d.uvar(h.lenSize)
	if d.err != nil {
		return nil, d.err
	}
	if id[0]>>6 != 0 {
		return nil, formatErr("%s: heap ID version %d", h.what, id[0]>>6)
	}
	if n == 0 || n > h.maxManaged {
		return nil, formatErr("%s: object of %d bytes (max %d)", h.what, n, h.maxManaged)
	}
	// Walk the doubling table down from the root to the direct block that
	// holds off.
	blockAddr, blockOff, rows := h.rootAddr, uint64(0), h.rootRows
	for depth := 0; ; depth++ {
		if depth > len(h.rowSize) {
			return nil, formatErr("%s: indirect blocks nest too deep", h.what)
		}
		if blockAddr == undef {
			return nil, formatErr("%s: object at offset %d is in an unallocated block", h.what, off)
		}
		if rows == 0 {
			size := h.startSize
			if depth > 0 {
				return nil, formatErr("%s: empty indirect block", h.what)
			}
			return f.directObject(h, blockAddr, blockOff, size, off, n)
		}
		entries, err := f.indirectBlock(h, blockAddr, blockOff, rows)
		if err != nil {
			return nil, err
		}
		if off < blockOff {
			return nil, formatErr("%s: offset %d below block offset %d", h.what, off, blockOff)
		}
		rel := off - blockOff
		var row int
		var col uint64
		if rel < h.startSize*h.width {
			row, col = 0, rel/h.startSize
		} else {
			high := bits.Len64(rel) - 1
			row = high - h.firstRowBits + 1
			if row < 1 || row >= len(h.rowSize) {
				return nil, formatErr("%s: offset %d outside the table", h.what, off)
			}
			col = (rel - 1<<uint(high)) / h.rowSize[row]
		}
		if row >= rows || col >= h.width {
			return nil, formatErr("%s: offset %d outside its %d-row indirect block", h.what, off, rows)
		}
		child := entries[uint64(row)*h.width+col]
		childOff := blockOff + h.rowOff[row] + col*h.rowSize[row]
		if row < h.maxDirectRows {
			if child == undef {
				return nil, formatErr("%s: object at offset %d is in an unallocated block", h.what, off)
			}
			return f.directObject(h, child, childOff, h.rowSize[row], off, n)
		}
		childRows := bits.Len64(h.rowSize[row]) - 1 - h.firstRowBits + 1
		if childRows <= 0 || childRows >= rows {
			return nil, formatErr("%s: child indirect block of %d rows under %d", h.what, childRows, rows)
		}
		blockAddr, blockOff, rows = child, childOff, childRows
	}
}

// indirectBlock returns the child addresses of an indirect block.
func (f *File) indirectBlock(h *fractalHeap, addr, blockOff uint64, rows int) ([]uint64, error) {
	bwhat := fmt.Sprintf("%s: indirect block at 0x%x", h.what, addr)
	direct := uint64(min(rows, h.maxDirectRows)) * h.width
	indirect := uint64(0)
	if rows > h.maxDirectRows {
		indirect = uint64(rows-h.maxDirectRows) * h.width
	}
	n := direct + indirect
	if n > 1<<20 {
		return nil, formatErr("%s: %d entries", bwhat, n)
	}
	size := uint64(4+1+f.offSize+h.offSize) + n*uint64(f.offSize) + 4
	f.mu.Lock()
	b := h.blocks[addr]
	f.mu.Unlock()
	if b != nil && (uint64(len(b)) != size || string(b[:4]) != "FHIB") {
		return nil, formatErr("%s: also used as another block", bwhat)
	}
	if b == nil {
		if err := f.chargeObjects(1+n, bwhat); err != nil {
			return nil, err
		}
		var err error
		if b, err = f.readMeta(addr, size, bwhat); err != nil {
			return nil, err
		}
		if err := checkSum(b, bwhat); err != nil {
			return nil, err
		}
		f.mu.Lock()
		h.blocks[addr] = b
		f.mu.Unlock()
	}
	d := f.dec(b, bwhat)
	d.signature("FHIB")
	version := d.u8()
	hdr := d.addr()
	off := d.uvar(h.offSize)
	if d.err != nil {
		return nil, d.err
	}
	if version != 0 || hdr != h.addr || off != blockOff {
		return nil, formatErr("%s: version %d, heap 0x%x, offset %d (want heap 0x%x, offset %d)", bwhat, version, hdr, off, h.addr, blockOff)
	}
	entries := make([]uint64, n)
	for i := range entries {
		entries[i] = d.addr()
	}
	return entries, d.err
}

// directObject returns n bytes at heap offset off from the direct block at
// addr, which covers heap offsets from blockOff on and is size bytes long.
func (f *File) directObject(h *fractalHeap, addr, blockOff, size, off, n uint64) ([]byte, error) {
	bwhat := fmt.Sprintf("%s: direct block at 0x%x", h.what, addr)
	f.mu.Lock()
	b := h.blocks[addr]
	f.mu.Unlock()
	if b != nil && (uint64(len(b)) != size || string(b[:4]) != "FHDB") {
		return nil, formatErr("%s: also used as another block", bwhat)
	}
	if b == nil {
		if err := f.chargeObjects(1, bwhat); err != nil {
			return nil, err
		}
		var err error
		if b, err = f.readMeta(addr, size, bwhat); err != nil {
			return nil, err
		}
		d := f.dec(b, bwhat)
		d.signature("FHDB")
		version := d.u8()
		hdr := d.addr()
		boff := d.uvar(h.offSize)
		if d.err != nil {
			return nil, d.err
		}
		if version != 0 || hdr != h.addr || boff != blockOff {
			return nil, formatErr("%s: version %d, heap 0x%x, offset %d (want heap 0x%x, offset %d)", bwhat, version, hdr, boff, h.addr, blockOff)
		}
		f.mu.Lock()
		h.blocks[addr] = b
		f.mu.Unlock()
	}
	prefix := uint64(4 + 1 + f.offSize + h.offSize)
	if h.flags&2 != 0 {
		prefix += 4
	}
	rel := off - blockOff
	if off < blockOff || rel < prefix || rel > size || n > size-rel {
		return nil, formatErr("%s: object of %d bytes at heap offset %d outside the block", bwhat, n, off)
	}
	return b[rel : rel+n], nil
}

// denseLinks lists a group's links kept in a fractal heap, indexed by name.
func (f *File) denseLinks(hi heapIndex, what string) ([]link, error) {
	h, err := f.fractalHeap(hi.heap, what+": links")
	if err != nil {
		return nil, err
	}
	var links []link
	err = f.walkBTree2(hi.names, bt2LinkName, what+": link names", func(rec []byte) error {
		if len(rec) < 4+1 {
			return formatErr("%s: link name record of %d bytes", what, len(rec))
		}
		obj, err := f.heapObject(h, rec[4:])
		if err != nil {
			return err
		}
		l, err := f.parseLink(obj, what)
		if err != nil {
			return err
		}
		links = append(links, l)
		return nil
	})
	return links, err
}

// denseAttrs lists attributes kept in a fractal heap, indexed by name.
func (f *File) denseAttrs(hi heapIndex, what string) ([]*Attribute, error) {
	h, err := f.fractalHeap(hi.heap, what+": attributes")
	if err != nil {
		return nil, err
	}
	var attrs []*Attribute
	err = f.walkBTree2(hi.names, bt2AttrName, what+": attribute names", func(rec []byte) error {
		if len(rec) < 8+1+4+4 {
			return formatErr("%s: attribute name record of %d bytes", what, len(rec))
		}
		if rec[8]&msgFlagShared != 0 {
			return unsupportedErr("%s: shared attribute", what)
		}
		obj, err := f.heapObject(h, rec[:8])
		if err != nil {
			return err
		}
		a, err := f.parseAttribute(obj, what)
		if err != nil {
			return err
		}
		attrs = append(attrs, a)
		return nil
	})
	return attrs, err
}
