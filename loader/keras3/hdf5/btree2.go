package hdf5

import (
	"fmt"
	"math/bits"
)

// Version 2 B-tree record types read here.
const (
	bt2LinkName       = 5
	bt2AttrName       = 8
	bt2Chunks         = 10
	bt2FilteredChunks = 11
)

// encSize is the number of bytes HDF5 uses to encode counts up to n.
func encSize(n uint64) int { return (bits.Len64(n)-1)/8 + 1 }

// walkBTree2 visits every record of the version 2 B-tree whose header is at
// addr, with an explicit stack; each node is read once.
func (f *File) walkBTree2(addr uint64, wantType uint8, what string, visit func(rec []byte) error) error {
	hwhat := fmt.Sprintf("%s: v2 B-tree at 0x%x", what, addr)
	if err := f.chargeObjects(1, hwhat); err != nil {
		return err
	}
	hsize := uint64(4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + f.offSize + 2 + f.lenSize + 4)
	b, err := f.readMeta(addr, hsize, hwhat)
	if err != nil {
		return err
	}
	if err := checkSum(b, hwhat); err != nil {
		return err
	}
	d := f.dec(b, hwhat)
	d.signature("BTHD")
	version := d.u8()
	typ := d.u8()
	nodeSize := uint64(d.u32())
	recSize := uint64(d.u16())
	depth := int(d.u16())
	d.skip(2) // split, merge percent
	root := d.addr()
	rootRecs := uint64(d.u16())
	total := d.length()
	if d.err != nil {
		return d.err
	}
	if version != 0 {
		return formatErr("%s: version %d", hwhat, version)
	}
	if typ != wantType {
		return formatErr("%s: type %d, want %d", hwhat, typ, wantType)
	}
	if root == undef || total == 0 {
		return nil
	}
	const overhead = 10 // signature, version, type, checksum
	if recSize == 0 || nodeSize < overhead+recSize || nodeSize > 1<<24 {
		return formatErr("%s: node size %d for %d-byte records", hwhat, nodeSize, recSize)
	}
	if depth > 64 {
		return formatErr("%s: depth %d", hwhat, depth)
	}
	if err := f.chargeObjects(total, hwhat); err != nil {
		return err
	}
	// Field widths of child pointers, per level (see the format
	// specification: the counts are encoded in as few bytes as the largest
	// possible count of the level below needs).
	maxLeaf := (nodeSize - overhead) / recSize
	maxNrecSize := encSize(maxLeaf)
	cumMax := make([]uint64, depth+1)
	cumSize := make([]int, depth+1)
	maxRecs := make([]uint64, depth+1)
	cumMax[0], maxRecs[0] = maxLeaf, maxLeaf
	for u := 1; u <= depth; u++ {
		ptr := uint64(f.offSize + maxNrecSize + cumSize[u-1])
		if nodeSize < overhead+ptr {
			return formatErr("%s: node size %d too small for depth %d", hwhat, nodeSize, depth)
		}
		maxRecs[u] = (nodeSize - overhead - ptr) / (recSize + ptr)
		hi, lo := bits.Mul64(maxRecs[u]+1, cumMax[u-1])
		lo, carry := bits.Add64(lo, maxRecs[u], 0)
		if hi != 0 || carry != 0 {
			cumMax[u] = 1<<64 - 1
		} else {
			cumMax[u] = lo
		}
		cumSize[u] = encSize(cumMax[u])
		if cumSize[u] > 8 {
			cumSize[u] = 8
		}
	}
	type node struct {
		addr  uint64
		nrec  uint64
		depth int
	}
	stack := []node{{root, rootRecs, depth}}
	seen := map[uint64]bool{}
	visited := uint64(0)
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nwhat := fmt.Sprintf("%s: node at 0x%x", hwhat, nd.addr)
		if seen[nd.addr] {
			return formatErr("%s appears twice", nwhat)
		}
		seen[nd.addr] = true
		if err := f.chargeObjects(1, nwhat); err != nil {
			return err
		}
		if nd.nrec > maxRecs[nd.depth] {
			return formatErr("%s: %d records, at most %d fit", nwhat, nd.nrec, maxRecs[nd.depth])
		}
		b, err := f.readMeta(nd.addr, nodeSize, nwhat)
		if err != nil {
			return err
		}
		sig := "BTLF"
		if nd.depth > 0 {
			sig = "BTIN"
		}
		d := f.dec(b, nwhat)
		d.signature(sig)
		v, t := d.u8(), d.u8()
		if d.err != nil {
			return d.err
		}
		if v != 0 || t != wantType {
			return formatErr("%s: version %d type %d", nwhat, v, t)
		}
		recs := d.bytes(int(nd.nrec * recSize))
		type child struct {
			addr, nrec uint64
		}
		var children []child
		if nd.depth > 0 {
			children = make([]child, nd.nrec+1)
			for i := range children {
				children[i].addr = d.addr()
				children[i].nrec = d.uvar(maxNrecSize)
				if nd.depth > 1 {
					d.uvar(cumSize[nd.depth-1])
				}
			}
		}
		end := d.off
		if d.err != nil {
			return d.err
		}
		if end+4 > len(b) {
			return formatErr("%s: no room for the checksum", nwhat)
		}
		if err := checkSum(b[:end+4], nwhat); err != nil {
			return err
		}
		for i := uint64(0); i < nd.nrec; i++ {
			visited++
			if visited > total {
				return formatErr("%s: more records than the %d the header counts", hwhat, total)
			}
			if err := visit(recs[i*recSize : (i+1)*recSize]); err != nil {
				return err
			}
		}
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, node{children[i].addr, children[i].nrec, nd.depth - 1})
		}
	}
	return nil
}
