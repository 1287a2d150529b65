package hdf5

import "fmt"

// fixedArray visits the chunks of a fixed array chunk index (version 4
// layouts of datasets whose maximum extent is fixed).
func (d *Dataset) fixedArray(rb *readBudget, chunkBytes uint64, grid []uint64, visit func(chunkRec) error) error {
	f := d.f
	l := &d.obj.layout
	hwhat := fmt.Sprintf("fixed array at 0x%x", l.addr)
	hsize := uint64(4+1+1+1+1+f.lenSize+f.offSize) + 4
	hb, err := rb.read(l.addr, hsize, hwhat)
	if err != nil {
		return err
	}
	if err := checkSum(hb, hwhat); err != nil {
		return err
	}
	hd := f.dec(hb, hwhat)
	hd.signature("FAHD")
	version := hd.u8()
	client := hd.u8()
	entrySize := uint64(hd.u8())
	pageBits := hd.u8()
	nelems := hd.length()
	dblock := hd.addr()
	if hd.err != nil {
		return hd.err
	}
	filtered := len(d.obj.filters) > 0
	wantClient := uint8(0)
	minEntry := uint64(f.offSize)
	if filtered {
		wantClient, minEntry = 1, uint64(f.offSize)+1+4
	}
	if version != 0 || client != wantClient || entrySize < minEntry || entrySize > minEntry+7 || (!filtered && entrySize != minEntry) {
		return formatErr("%s: version %d, client %d, %d-byte entries", hwhat, version, client, entrySize)
	}
	if pageBits == 0 || pageBits > 32 {
		return formatErr("%s: %d page bits", hwhat, pageBits)
	}
	mgrid := d.maxGrid(grid)
	want, ok := product(mgrid)
	if !ok || nelems != want {
		return formatErr("%s: %d entries for a grid of %v chunks", hwhat, nelems, mgrid)
	}
	if dblock == undef || nelems == 0 {
		return nil
	}
	if err := rb.chargeObjects(nelems); err != nil {
		return err
	}
	bwhat := fmt.Sprintf("%s: data block at 0x%x", hwhat, dblock)
	prefix := uint64(4 + 1 + 1 + f.offSize)
	pageSize := uint64(1) << pageBits
	paged := nelems > pageSize
	npages := uint64(0)
	var size uint64
	if paged {
		npages = (nelems + pageSize - 1) / pageSize
		prefix += (npages + 7) / 8
		size = prefix + 4 + nelems*entrySize + npages*4
	} else {
		size = prefix + nelems*entrySize + 4
	}
	b, err := rb.read(dblock, size, bwhat)
	if err != nil {
		return err
	}
	bd := f.dec(b, bwhat)
	bd.signature("FADB")
	bversion := bd.u8()
	bclient := bd.u8()
	owner := bd.addr()
	if bd.err != nil {
		return bd.err
	}
	if bversion != 0 || bclient != client || owner != l.addr {
		return formatErr("%s: version %d, client %d, header 0x%x", bwhat, bversion, bclient, owner)
	}
	// entry returns the bytes of entry idx, or nil when its page was never
	// written.
	var entry func(idx uint64) ([]byte, error)
	if !paged {
		if err := checkSum(b, bwhat); err != nil {
			return err
		}
		entry = func(idx uint64) ([]byte, error) {
			o := prefix + idx*entrySize
			return b[o : o+entrySize], nil
		}
	} else {
		if err := checkSum(b[:prefix+4], bwhat); err != nil {
			return err
		}
		bitmap := b[4+1+1+f.offSize : prefix]
		checked := make([]bool, npages)
		entry = func(idx uint64) ([]byte, error) {
			page := idx / pageSize
			if bitmap[page/8]&(0x80>>(page%8)) == 0 {
				return nil, nil
			}
			start := prefix + 4 + page*(pageSize*entrySize+4)
			n := min(pageSize, nelems-page*pageSize)
			end := start + n*entrySize + 4
			if !checked[page] {
				if err := checkSum(b[start:end], fmt.Sprintf("%s, page %d", bwhat, page)); err != nil {
					return nil, err
				}
				checked[page] = true
			}
			o := start + (idx%pageSize)*entrySize
			return b[o : o+entrySize], nil
		}
	}
	return forGrid(mgrid, grid, func(idx uint64, coords []uint64) error {
		e, err := entry(idx)
		if err != nil || e == nil {
			return err
		}
		ed := f.dec(e, bwhat)
		c := chunkRec{addr: ed.addr(), size: chunkBytes}
		if filtered {
			c.size = ed.uvar(int(entrySize) - f.offSize - 4)
			c.mask = ed.u32()
		}
		if ed.err != nil {
			return ed.err
		}
		for i := range coords {
			coords[i] *= d.obj.layout.chunk[i]
		}
		c.coords = coords
		return visit(c)
	})
}
