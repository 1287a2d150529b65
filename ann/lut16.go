package ann

// LUT16 layout.
//
// Datapoints of a leaf are stored in groups of 32. For each group, the codes
// of block pair p (blocks 2p and 2p+1) take 32 bytes: bytes [0,16) for block
// 2p and [16,32) for block 2p+1. Within a block's 16 bytes, byte j holds two
// 4-bit codes, low nibble and high nibble:
//
//	j even (j = 2w): low = datapoint w,     high = datapoint 16+w
//	j odd  (j = 2w+1): low = datapoint 8+w, high = datapoint 24+w
//
// This order makes the AVX2 kernel's four 8-word accumulators come out as
// datapoints 0-7, 8-15, 16-23 and 24-31. A query's LUT holds, per pair, 16
// uint8 entries for block 2p followed by 16 for block 2p+1.

const (
	groupSize = 32
	// maxPairsPerCall bounds the pairs one lut16 call may sum, so that the
	// 16-bit lane accumulators of the SIMD kernel cannot overflow.
	maxPairsPerCall = 256
)

// nibbleSlot returns, for datapoint i (0..31) of a group, the byte index j
// (0..15) within a block and whether the code sits in the high nibble.
func nibbleSlot(i int) (j int, high bool) {
	high = i >= 16
	w := i & 15
	if w < 8 {
		return 2 * w, high
	}
	return 2*(w-8) + 1, high
}

// packGroup writes the codes of up to 32 datapoints (codes[i*nblocks+b],
// count rows) into dst, which must hold npairs*32 bytes and be zeroed.
// Missing datapoints and the padding block (odd nblocks) get code 0.
func packGroup(dst []byte, codes []uint8, count, nblocks int) {
	for i := 0; i < count; i++ {
		j, high := nibbleSlot(i)
		row := codes[i*nblocks : (i+1)*nblocks]
		for b, c := range row {
			off := (b>>1)*32 + (b&1)*16 + j
			if high {
				dst[off] |= c << 4
			} else {
				dst[off] |= c & 15
			}
		}
	}
}

// unpackCode reads datapoint i's code of block b from a packed group.
func unpackCode(group []byte, i, b int) uint8 {
	j, high := nibbleSlot(i)
	v := group[(b>>1)*32+(b&1)*16+j]
	if high {
		return v >> 4
	}
	return v & 15
}

// lut16Go is the portable LUT16 kernel; it must produce exactly the sums of
// lut16AVX2.
func lut16Go(codes []byte, stride int, lut []byte, npairs int, out []uint32, ngroups int) {
	for g := 0; g < ngroups; g++ {
		grp := codes[g*stride : g*stride+npairs*32]
		var acc [32]uint32
		for p := 0; p < npairs; p++ {
			c := grp[p*32 : p*32+32]
			l0 := lut[p*32 : p*32+16]
			l1 := lut[p*32+16 : p*32+32]
			for w := 0; w < 8; w++ {
				e, o := c[2*w], c[2*w+1]
				acc[w] += uint32(l0[e&15])
				acc[16+w] += uint32(l0[e>>4])
				acc[8+w] += uint32(l0[o&15])
				acc[24+w] += uint32(l0[o>>4])
				e, o = c[16+2*w], c[16+2*w+1]
				acc[w] += uint32(l1[e&15])
				acc[16+w] += uint32(l1[e>>4])
				acc[8+w] += uint32(l1[o&15])
				acc[24+w] += uint32(l1[o>>4])
			}
		}
		o := out[g*32 : g*32+32]
		for i := range acc {
			o[i] += acc[i]
		}
	}
}

// scanLUT16 sums a query LUT over ngroups packed groups (npairs pairs each,
// contiguous) into out (ngroups*32, overwritten), splitting the pairs into
// calls of at most maxPairsPerCall.
func (k *kernelSet) scanLUT16(codes []byte, npairs int, lut []byte, out []uint32, ngroups int) {
	out = out[:ngroups*32]
	clear(out)
	stride := npairs * 32
	for p0 := 0; p0 < npairs; p0 += maxPairsPerCall {
		np := min(maxPairsPerCall, npairs-p0)
		k.lut16(codes[p0*32:], stride, lut[p0*32:], np, out, ngroups)
	}
}
