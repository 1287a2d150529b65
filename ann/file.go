package ann

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"os"
)

// File format (little endian), version 2 (version 1 files, which cannot set
// flagSpherical or flagInt8Residual, are read too):
//
//	magic   "TFSANN\x00\x01" (8 bytes)
//	version uint32
//	length  uint64            payload bytes
//	payload                   see encodePayload
//	crc     uint32            CRC-32C (Castagnoli) of everything before it
//
// Derived arrays (group offsets, norms) are recomputed on load.

var fileMagic = [8]byte{'T', 'F', 'S', 'A', 'N', 'N', 0, 1}

const (
	fileVersion = 2
	// minFileVersion is the oldest version Decode reads.
	minFileVersion = 1
)

// ErrCorrupt is wrapped by every Load error caused by the file's content.
var ErrCorrupt = errors.New("ann: corrupt index file")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Save writes the index in the versioned binary format.
func (ix *Index) Save(w io.Writer) error {
	payload := ix.encodePayload()
	buf := make([]byte, 0, len(payload)+24)
	buf = append(buf, fileMagic[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, fileVersion)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(payload)))
	buf = append(buf, payload...)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("ann: save: %w", err)
	}
	return nil
}

// SaveFile writes the index to path (via a temporary file and rename).
func (ix *Index) SaveFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("ann: save %s: %w", path, err)
	}
	if err := ix.Save(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ann: save %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("ann: save %s: %w", path, err)
	}
	return nil
}

// LoadFile reads an index written by SaveFile.
func LoadFile(path string) (*Index, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ann: load %s: %w", path, err)
	}
	ix, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return ix, nil
}

// Load reads an index written by Save.
func Load(r io.Reader) (*Index, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("ann: load: %w", err)
	}
	return Decode(b)
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Decode parses an index file held in memory. Errors caused by the content
// wrap ErrCorrupt.
func Decode(b []byte) (*Index, error) {
	if len(b) < 24 {
		return nil, corrupt("%d bytes is shorter than the header", len(b))
	}
	if !bytes.Equal(b[:8], fileMagic[:]) {
		return nil, corrupt("bad magic %q (not a tfserve ann index)", b[:8])
	}
	version := binary.LittleEndian.Uint32(b[8:])
	if version < minFileVersion || version > fileVersion {
		return nil, corrupt("unsupported version %d (this build reads %d to %d)", version, minFileVersion, fileVersion)
	}
	plen := binary.LittleEndian.Uint64(b[12:])
	if plen != uint64(len(b)-24) {
		return nil, corrupt("payload length %d, but the file holds %d bytes after the header", plen, len(b)-24)
	}
	body := b[:len(b)-4]
	want := binary.LittleEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, corrupt("checksum mismatch: stored %08x, computed %08x", want, got)
	}
	ix, err := decodePayload(b[20:len(b)-4], version)
	if err != nil {
		return nil, err
	}
	return ix, nil
}

const (
	flagBrute = 1 << iota
	flagFloat
	flagInt8
	// flagSpherical (version 2): leaves are ranked by q·c/‖c‖.
	flagSpherical
	// flagInt8Residual (version 2): the int8 vectors are residuals to the
	// leaf centers.
	flagInt8Residual
	// flagFloat16 (version 2): float16 vectors follow (n·dim uint16, then
	// the float32 multiplier).
	flagFloat16
)

func (ix *Index) encodePayload() []byte {
	var e []byte
	flags := uint32(0)
	if ix.brute {
		flags |= flagBrute
	}
	if ix.vecs != nil {
		flags |= flagFloat
	}
	if ix.vecs8 != nil {
		flags |= flagInt8
	}
	if ix.spherical {
		flags |= flagSpherical
	}
	if ix.res8 {
		flags |= flagInt8Residual
	}
	if ix.vecs16 != nil {
		flags |= flagFloat16
	}
	for _, v := range []uint32{uint32(ix.measure), flags, uint32(ix.dim), uint32(ix.n), uint32(ix.leaves),
		uint32(ix.defLeaves), uint32(ix.defReord), uint32(ix.dpb), uint32(ix.nblocks)} {
		e = binary.LittleEndian.AppendUint32(e, v)
	}
	if !ix.brute {
		e = appendF32(e, ix.centers)
		for _, v := range ix.leafStart {
			e = binary.LittleEndian.AppendUint32(e, uint32(v))
		}
		for _, v := range ix.ids {
			e = binary.LittleEndian.AppendUint32(e, uint32(v))
		}
		e = appendF32(e, ix.codebook)
		e = append(e, ix.packed...)
	}
	if ix.vecs != nil {
		e = appendF32(e, ix.vecs)
	}
	if ix.vecs8 != nil {
		for _, v := range ix.vecs8 {
			e = append(e, byte(v))
		}
		e = appendF32(e, ix.mult8)
	}
	if ix.vecs16 != nil {
		for _, v := range ix.vecs16 {
			e = binary.LittleEndian.AppendUint16(e, v)
		}
		e = appendF32(e, []float32{ix.mult16})
	}
	return e
}

func appendF32(e []byte, v []float32) []byte {
	for _, x := range v {
		e = binary.LittleEndian.AppendUint32(e, math.Float32bits(x))
	}
	return e
}

// reader reads fixed-size fields with bounds checks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = corrupt("%s: need %d bytes at offset %d, %d left", what, n, r.off, len(r.b)-r.off)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u32(what string) uint32 {
	s := r.take(4, what)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

// count multiplies sizes, failing on overflow or on more elements than the
// remaining bytes could hold (elemSize bytes each).
func (r *reader) count(what string, elemSize int, dims ...int) int {
	if r.err != nil {
		return 0
	}
	n := 1
	for _, d := range dims {
		if d < 0 || (d > 0 && n > (len(r.b)-r.off)/max(1, elemSize)/d) {
			r.err = corrupt("%s: size %v does not fit in the file", what, dims)
			return 0
		}
		n *= d
	}
	if n*elemSize > len(r.b)-r.off {
		r.err = corrupt("%s: size %v does not fit in the file", what, dims)
		return 0
	}
	return n
}

func (r *reader) f32s(what string, dims ...int) []float32 {
	n := r.count(what, 4, dims...)
	s := r.take(4*n, what)
	if s == nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		v := math.Float32frombits(binary.LittleEndian.Uint32(s[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r.err = corrupt("%s: value %d is not finite", what, i)
			return nil
		}
		out[i] = v
	}
	return out
}

func (r *reader) i32s(what string, n int) []int32 {
	n = r.count(what, 4, n)
	s := r.take(4*n, what)
	if s == nil {
		return nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(s[4*i:]))
	}
	return out
}

const maxDim = 1 << 20

func decodePayload(b []byte, version uint32) (*Index, error) {
	r := &reader{b: b}
	measure := DistanceMeasure(r.u32("distance measure"))
	flags := r.u32("flags")
	dim := int(r.u32("dim"))
	n := int(r.u32("n"))
	leaves := int(r.u32("num_leaves"))
	defLeaves := int(r.u32("num_leaves_to_search"))
	defReord := int(r.u32("reordering_num_neighbors"))
	dpb := int(r.u32("dimensions_per_block"))
	nblocks := int(r.u32("blocks"))
	if r.err != nil {
		return nil, r.err
	}
	switch measure {
	case DotProduct, SquaredL2, Cosine:
	default:
		return nil, corrupt("unknown distance measure %d", measure)
	}
	known := uint32(flagBrute | flagFloat | flagInt8)
	if version >= 2 {
		known |= flagSpherical | flagInt8Residual | flagFloat16
	}
	if nvec := bits.OnesCount32(flags & (flagFloat | flagInt8 | flagFloat16)); nvec > 1 {
		return nil, corrupt("bad flags %#x: more than one kind of stored vectors", flags)
	}
	if flags&^known != 0 ||
		(flags&flagSpherical != 0 && (flags&flagBrute != 0 || measure == SquaredL2)) ||
		(flags&flagInt8Residual != 0 && (flags&flagBrute != 0 || flags&flagInt8 == 0)) {
		return nil, corrupt("bad flags %#x for version %d, %v", flags, version, measure)
	}
	if dim <= 0 || dim > maxDim || n <= 0 || n > math.MaxInt32 || defReord > math.MaxInt32 || defLeaves > math.MaxInt32 {
		return nil, corrupt("bad sizes: dim %d, n %d", dim, n)
	}
	ix := newIndex(measure, dim, n)
	ix.brute = flags&flagBrute != 0
	ix.spherical = flags&flagSpherical != 0
	ix.res8 = flags&flagInt8Residual != 0
	if ix.brute {
		if flags&flagFloat == 0 || leaves != 0 {
			return nil, corrupt("brute-force index without float vectors or with leaves")
		}
	} else {
		if leaves <= 0 || leaves > n || defLeaves <= 0 || defLeaves > leaves || dpb <= 0 || dpb > dim ||
			nblocks != (dim+dpb-1)/dpb {
			return nil, corrupt("bad partition/quantization sizes: leaves %d (search %d), dims_per_block %d, blocks %d, dim %d",
				leaves, defLeaves, dpb, nblocks, dim)
		}
		ix.leaves, ix.defLeaves, ix.defReord, ix.dpb, ix.nblocks = leaves, defLeaves, defReord, dpb, nblocks
		ix.npairs = (nblocks + 1) / 2
		ix.centers = r.f32s("leaf centers", leaves, dim)
		ix.leafStart = r.i32s("leaf offsets", leaves+1)
		ix.ids = r.i32s("datapoint ids", n)
		ix.codebook = r.f32s("codebook", nblocks, centersPerBlock, dpb)
		if r.err != nil {
			return nil, r.err
		}
		if err := ix.checkLayout(); err != nil {
			return nil, err
		}
		groups := int(ix.groupStart[leaves])
		gb := r.count("codes", 1, groups, ix.npairs*32)
		ix.packed = r.take(gb, "codes")
	}
	if flags&flagFloat != 0 {
		ix.vecs = r.f32s("vectors", n, dim)
	}
	if flags&flagInt8 != 0 {
		cnt := r.count("int8 vectors", 1, n, dim)
		raw := r.take(cnt, "int8 vectors")
		ix.mult8 = r.f32s("int8 multipliers", dim)
		if r.err == nil {
			ix.vecs8 = make([]int8, cnt)
			for i, v := range raw {
				ix.vecs8[i] = int8(v)
			}
		}
	}
	if flags&flagFloat16 != 0 {
		cnt := r.count("float16 vectors", 2, n, dim)
		raw := r.take(2*cnt, "float16 vectors")
		m := r.f32s("float16 multiplier", 1)
		if r.err == nil {
			if m[0] <= 0 {
				return nil, corrupt("float16 multiplier %g is not positive", m[0])
			}
			ix.mult16 = m[0]
			ix.vecs16 = make([]uint16, cnt)
			for i := range ix.vecs16 {
				h := binary.LittleEndian.Uint16(raw[2*i:])
				if h&0x7c00 == 0x7c00 {
					return nil, corrupt("float16 vector value %d is not finite", i)
				}
				ix.vecs16[i] = h
			}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(b) {
		return nil, corrupt("%d unexpected bytes after the index", len(b)-r.off)
	}
	if ix.brute {
		ix.ids = make([]int32, n) // n is bounded by the vectors just read
		for i := range ix.ids {
			ix.ids[i] = int32(i)
		}
	} else {
		ix.packed = bytes.Clone(ix.packed)
		ix.finishQuantized()
	}
	if ix.HasVectors() {
		ix.finishVectors()
	}
	return ix, nil
}

// checkLayout validates leafStart and ids and derives groupStart.
func (ix *Index) checkLayout() error {
	L := ix.leaves
	if ix.leafStart[0] != 0 || int(ix.leafStart[L]) != ix.n {
		return corrupt("leaf offsets span [%d, %d], want [0, %d]", ix.leafStart[0], ix.leafStart[L], ix.n)
	}
	ix.groupStart = make([]int32, L+1)
	for l := 0; l < L; l++ {
		c := ix.leafStart[l+1] - ix.leafStart[l]
		if c < 0 {
			return corrupt("leaf %d has negative size %d", l, c)
		}
		ix.groupStart[l+1] = ix.groupStart[l] + (c+groupSize-1)/groupSize
	}
	seen := make([]bool, ix.n)
	for p, id := range ix.ids {
		if id < 0 || int(id) >= ix.n || seen[id] {
			return corrupt("datapoint id %d at position %d is out of range or repeated", id, p)
		}
		seen[id] = true
	}
	return nil
}

// finishQuantized derives the center norms and, for squared_l2, the norms of
// the reconstructed datapoints from the packed codes.
func (ix *Index) finishQuantized() {
	dim := ix.dim
	ix.codebookT = make([]float32, len(ix.codebook))
	for b := 0; b < ix.nblocks; b++ {
		for c := 0; c < centersPerBlock; c++ {
			for j := 0; j < ix.dpb; j++ {
				ix.codebookT[(b*ix.dpb+j)*centersPerBlock+c] = ix.codebook[(b*centersPerBlock+c)*ix.dpb+j]
			}
		}
	}
	ix.centerNorms = make([]float32, ix.leaves)
	for l := range ix.centerNorms {
		c := ix.centers[l*dim : (l+1)*dim]
		ix.centerNorms[l] = ix.kern.dot(c, c)
	}
	ix.rankScale = nil
	if ix.spherical {
		ix.rankScale = make([]float32, ix.leaves)
		for l, sq := range ix.centerNorms {
			if sq > 0 {
				ix.rankScale[l] = float32(1 / math.Sqrt(float64(sq)))
			}
		}
	}
	if ix.measure != SquaredL2 {
		return
	}
	ix.reconNorms = make([]float32, ix.n)
	gb := ix.npairs * 32
	rec := make([]float32, ix.nblocks*ix.dpb)
	for l := 0; l < ix.leaves; l++ {
		p0 := int(ix.leafStart[l])
		for p := p0; p < int(ix.leafStart[l+1]); p++ {
			j := p - p0
			grp := ix.packed[(int(ix.groupStart[l])+j/groupSize)*gb:]
			clear(rec)
			copy(rec, ix.centers[l*dim:(l+1)*dim])
			for b := 0; b < ix.nblocks; b++ {
				c := ix.codebook[(b*centersPerBlock+int(unpackCode(grp, j%groupSize, b)))*ix.dpb:]
				for t := 0; t < ix.dpb; t++ {
					rec[b*ix.dpb+t] += c[t]
				}
			}
			ix.reconNorms[p] = ix.kern.dot(rec[:dim], rec[:dim])
		}
	}
}
