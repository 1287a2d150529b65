// Package sstable reads and writes LevelDB-format sorted string tables, the
// container TensorFlow uses for checkpoint `.index` files.
//
// A table is a run of data blocks, a metaindex block, an index block and a
// 48-byte footer. Each block holds prefix-compressed key/value entries
// followed by a uint32 restart array and its count, and is stored followed by
// a 5-byte trailer: a compression type byte (0 raw, 1 snappy) and the masked
// CRC32C of the stored block bytes plus that type byte. The index block maps
// each data block's last key (or a separator at or after it) to a BlockHandle
// (varint offset, varint size). The footer holds the metaindex and index
// handles padded to 40 bytes, then the magic number 0xdb4775248b80fb57.
//
// The reader works on an in-memory byte slice, verifies every checksum it
// touches and never panics on malformed input: all lengths are checked
// against the bytes actually present before anything is allocated.
package sstable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Magic is the table magic number stored little-endian in the last 8 bytes.
const Magic uint64 = 0xdb4775248b80fb57

// FooterLen is the encoded size of the footer.
const FooterLen = 48

// Block compression types, as stored in the block trailer.
const (
	NoCompression     byte = 0
	SnappyCompression byte = 1
)

const (
	trailerLen         = 5
	maxHandleLen       = 20 // two varint64s
	crcMaskDelta       = 0xa282ead8
	maxSnappyExpansion = 32 // snappy cannot expand a stream by more than ~21.4x
)

// ErrCorrupt is wrapped by every error about malformed table bytes.
var ErrCorrupt = errors.New("corrupt")

// ErrChecksum is wrapped by every block checksum mismatch.
var ErrChecksum = errors.New("checksum mismatch")

// castagnoli is the CRC32C polynomial table; it is never written after init.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C returns the CRC32C (Castagnoli) checksum of b.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// ExtendCRC32C continues a CRC32C computation with more bytes.
func ExtendCRC32C(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }

// MaskCRC applies LevelDB's CRC mask, used wherever a CRC is stored next to
// data that may itself contain CRCs.
func MaskCRC(crc uint32) uint32 { return ((crc >> 15) | (crc << 17)) + crcMaskDelta }

// UnmaskCRC inverts MaskCRC.
func UnmaskCRC(masked uint32) uint32 {
	rot := masked - crcMaskDelta
	return (rot >> 17) | (rot << 15)
}

// QuoteKey quotes a key for an error message, eliding all but the first 64
// bytes of long (possibly corrupt) keys.
func QuoteKey(k []byte) string {
	if len(k) <= 64 {
		return strconv.Quote(string(k))
	}
	return fmt.Sprintf("%s...(%d bytes)", strconv.Quote(string(k[:64])), len(k))
}

// BlockHandle locates a block: its offset in the file and its size without
// the 5-byte trailer.
type BlockHandle struct {
	Offset, Size uint64
}

// decodeHandle parses a BlockHandle from the start of b and returns the
// number of bytes consumed.
func decodeHandle(b []byte) (BlockHandle, int, error) {
	off, n1 := binary.Uvarint(b)
	if n1 <= 0 {
		return BlockHandle{}, 0, fmt.Errorf("block handle offset: bad varint: %w", ErrCorrupt)
	}
	size, n2 := binary.Uvarint(b[n1:])
	if n2 <= 0 {
		return BlockHandle{}, 0, fmt.Errorf("block handle size: bad varint: %w", ErrCorrupt)
	}
	return BlockHandle{Offset: off, Size: size}, n1 + n2, nil
}

func (h BlockHandle) append(b []byte) []byte {
	b = binary.AppendUvarint(b, h.Offset)
	return binary.AppendUvarint(b, h.Size)
}

// Footer is the decoded table footer.
type Footer struct {
	MetaIndex, Index BlockHandle
}

// ParseFooter decodes the footer at the end of a table file.
func ParseFooter(data []byte) (Footer, error) {
	if len(data) < FooterLen {
		return Footer{}, fmt.Errorf("file is %d bytes, shorter than the %d-byte footer: %w", len(data), FooterLen, ErrCorrupt)
	}
	f := data[len(data)-FooterLen:]
	if m := binary.LittleEndian.Uint64(f[FooterLen-8:]); m != Magic {
		return Footer{}, fmt.Errorf("bad magic %#016x (want %#016x): %w", m, Magic, ErrCorrupt)
	}
	meta, n, err := decodeHandle(f[:FooterLen-8])
	if err != nil {
		return Footer{}, fmt.Errorf("footer metaindex: %w", err)
	}
	idx, _, err := decodeHandle(f[n : FooterLen-8])
	if err != nil {
		return Footer{}, fmt.Errorf("footer index: %w", err)
	}
	return Footer{MetaIndex: meta, Index: idx}, nil
}

// Table is a parsed table held in memory. Its methods are safe for
// concurrent use; iterators are not.
type Table struct {
	data   []byte
	footer Footer
	index  []indexEntry
}

type indexEntry struct {
	key    []byte
	handle BlockHandle
}

// Open parses the footer and index block of a table held in data. It
// verifies the index block checksum; data blocks are verified as they are
// read. data must not be modified while the Table is in use.
func Open(data []byte) (*Table, error) {
	footer, err := ParseFooter(data)
	if err != nil {
		return nil, err
	}
	t := &Table{data: data, footer: footer}
	// The metaindex block is read only to validate it: TensorFlow writes it
	// empty and nothing here needs filters or properties.
	if _, err := t.ReadBlock(footer.MetaIndex); err != nil {
		return nil, fmt.Errorf("metaindex: %w", err)
	}
	idx, err := t.ReadBlock(footer.Index)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	it, err := newBlockIter(idx)
	if err != nil {
		return nil, fmt.Errorf("index block at %d: %w", footer.Index.Offset, err)
	}
	var prev []byte
	// Prefix compression lets a small index block describe keys whose total
	// length is quadratic in its size; bound what we keep.
	budget := int64(len(data))*64 + 4<<20
	for it.next() {
		if budget -= int64(len(it.key)) + 32; budget < 0 {
			return nil, fmt.Errorf("index block at %d: keys total more than 64 times the table size: %w", footer.Index.Offset, ErrCorrupt)
		}
		h, n, err := decodeHandle(it.value)
		if err != nil {
			return nil, fmt.Errorf("index block at %d: entry %s: %w", footer.Index.Offset, QuoteKey(it.key), err)
		}
		if n != len(it.value) {
			return nil, fmt.Errorf("index block at %d: entry %s: %d trailing bytes after block handle: %w", footer.Index.Offset, QuoteKey(it.key), len(it.value)-n, ErrCorrupt)
		}
		if prev != nil && string(it.key) <= string(prev) {
			return nil, fmt.Errorf("index block at %d: keys out of order (%s after %s): %w", footer.Index.Offset, QuoteKey(it.key), QuoteKey(prev), ErrCorrupt)
		}
		key := append([]byte(nil), it.key...)
		t.index = append(t.index, indexEntry{key: key, handle: h})
		prev = key
	}
	if it.err != nil {
		return nil, fmt.Errorf("index block at %d: %w", footer.Index.Offset, it.err)
	}
	return t, nil
}

// Footer returns the decoded footer.
func (t *Table) Footer() Footer { return t.footer }

// DataBlocks returns the handles of the data blocks in key order.
func (t *Table) DataBlocks() []BlockHandle {
	out := make([]BlockHandle, len(t.index))
	for i, e := range t.index {
		out[i] = e.handle
	}
	return out
}

// ReadBlock returns the uncompressed contents of the block at h after
// checking its trailer checksum. Errors name the block offset.
func (t *Table) ReadBlock(h BlockHandle) ([]byte, error) {
	contents, typ, err := t.rawBlock(h)
	if err != nil {
		return nil, err
	}
	switch typ {
	case NoCompression:
		return contents, nil
	case SnappyCompression:
		out, err := snappyDecode(contents)
		if err != nil {
			return nil, fmt.Errorf("block at %d: %w", h.Offset, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("block at %d: unknown compression type %d: %w", h.Offset, typ, ErrCorrupt)
}

// rawBlock bounds-checks h, verifies the trailer CRC and returns the stored
// bytes and the compression type.
func (t *Table) rawBlock(h BlockHandle) ([]byte, byte, error) {
	limit := uint64(len(t.data) - FooterLen)
	if h.Offset > limit || h.Size > limit-h.Offset || trailerLen > limit-h.Offset-h.Size {
		return nil, 0, fmt.Errorf("block at %d: size %d runs past the end of the table (%d bytes before the footer): %w", h.Offset, h.Size, limit, ErrCorrupt)
	}
	end := h.Offset + h.Size
	b := t.data[h.Offset : end+trailerLen]
	want := UnmaskCRC(binary.LittleEndian.Uint32(b[h.Size+1:]))
	if got := CRC32C(b[:h.Size+1]); got != want {
		return nil, 0, fmt.Errorf("block at %d (size %d): crc32c %#08x, trailer says %#08x: %w", h.Offset, h.Size, got, want, ErrChecksum)
	}
	return b[:h.Size:h.Size], b[h.Size], nil
}

// BlockType returns the compression type byte stored for the block at h,
// after verifying its checksum.
func (t *Table) BlockType(h BlockHandle) (byte, error) {
	_, typ, err := t.rawBlock(h)
	return typ, err
}

// Iterator walks every entry of a table's data blocks in key order. Key and
// Value are valid until the next call to Next.
type Iterator struct {
	t     *Table
	block int
	bi    *blockIter
	key   []byte
	err   error
	// budget bounds the total bytes decoded by one walk: a crafted index
	// could otherwise point many times at overlapping compressed blocks.
	budget int64
}

// Iter returns an iterator positioned before the first entry.
func (t *Table) Iter() *Iterator {
	return &Iterator{t: t, block: -1, budget: int64(len(t.data))*64 + 4<<20}
}

// Next advances to the next entry. It returns false at the end of the table
// or on error; check Err afterwards.
func (it *Iterator) Next() bool {
	if it.err != nil {
		return false
	}
	for {
		if it.bi != nil && it.bi.next() {
			if it.key != nil && string(it.bi.key) <= string(it.key) {
				h := it.t.index[it.block].handle
				it.err = fmt.Errorf("block at %d: keys out of order (%s after %s): %w", h.Offset, QuoteKey(it.bi.key), QuoteKey(it.key), ErrCorrupt)
				return false
			}
			// Keep our own copy of the current key for the order check; the
			// block iterator's buffer is reused.
			it.key = append(it.key[:0], it.bi.key...)
			if it.key == nil {
				it.key = []byte{}
			}
			return true
		}
		if it.bi != nil && it.bi.err != nil {
			it.err = fmt.Errorf("block at %d: %w", it.t.index[it.block].handle.Offset, it.bi.err)
			return false
		}
		if it.block >= 0 && it.bi != nil && it.key != nil {
			// A data block's entries must not go past its index key.
			if ik := it.t.index[it.block].key; string(it.key) > string(ik) {
				it.err = fmt.Errorf("block at %d: last key %s is after its index key %s: %w", it.t.index[it.block].handle.Offset, QuoteKey(it.key), QuoteKey(ik), ErrCorrupt)
				return false
			}
		}
		it.block++
		if it.block >= len(it.t.index) {
			it.bi = nil
			return false
		}
		h := it.t.index[it.block].handle
		b, err := it.t.ReadBlock(h)
		if err != nil {
			it.err = err
			return false
		}
		if it.budget -= int64(len(b)); it.budget < 0 {
			it.err = fmt.Errorf("block at %d: data blocks decode to more than 64 times the table size: %w", h.Offset, ErrCorrupt)
			return false
		}
		it.bi, err = newBlockIter(b)
		if err != nil {
			it.err = fmt.Errorf("block at %d: %w", h.Offset, err)
			return false
		}
	}
}

// Key returns the current key.
func (it *Iterator) Key() []byte { return it.key }

// Value returns the current value; it aliases the block's bytes.
func (it *Iterator) Value() []byte {
	if it.bi == nil {
		return nil
	}
	return it.bi.value
}

// BlockOffset returns the file offset of the block holding the current entry.
func (it *Iterator) BlockOffset() uint64 {
	if it.block < 0 || it.block >= len(it.t.index) {
		return 0
	}
	return it.t.index[it.block].handle.Offset
}

// Err returns the first error met by Next.
func (it *Iterator) Err() error { return it.err }

// blockIter decodes the entries of one uncompressed block.
type blockIter struct {
	data     []byte // entry region, before the restart array
	restarts []byte
	pos      int
	n        int // entries seen
	key      []byte
	value    []byte
	err      error
}

func newBlockIter(b []byte) (*blockIter, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("block of %d bytes has no restart count: %w", len(b), ErrCorrupt)
	}
	num := binary.LittleEndian.Uint32(b[len(b)-4:])
	maxRestarts := uint32((len(b) - 4) / 4)
	if num > maxRestarts {
		return nil, fmt.Errorf("restart count %d does not fit in a %d-byte block: %w", num, len(b), ErrCorrupt)
	}
	restartOff := len(b) - 4 - 4*int(num)
	it := &blockIter{data: b[:restartOff], restarts: b[restartOff : len(b)-4]}
	var prev uint32
	for i := 0; i < int(num); i++ {
		r := binary.LittleEndian.Uint32(it.restarts[4*i:])
		if int64(r) > int64(restartOff) || (i > 0 && r <= prev) {
			return nil, fmt.Errorf("restart point %d (%d) is out of range or order: %w", i, r, ErrCorrupt)
		}
		prev = r
	}
	if num == 0 && restartOff > 0 {
		return nil, fmt.Errorf("block has entries but no restart points: %w", ErrCorrupt)
	}
	if num > 0 && binary.LittleEndian.Uint32(it.restarts) != 0 {
		return nil, fmt.Errorf("first restart point is not 0: %w", ErrCorrupt)
	}
	return it, nil
}

func (it *blockIter) next() bool {
	if it.err != nil || it.pos >= len(it.data) {
		return false
	}
	p := it.data[it.pos:]
	shared, n1 := binary.Uvarint(p)
	if n1 <= 0 || n1 > 5 {
		return it.fail("bad shared-length varint")
	}
	nonShared, n2 := binary.Uvarint(p[n1:])
	if n2 <= 0 || n2 > 5 {
		return it.fail("bad key-length varint")
	}
	valLen, n3 := binary.Uvarint(p[n1+n2:])
	if n3 <= 0 || n3 > 5 {
		return it.fail("bad value-length varint")
	}
	h := n1 + n2 + n3
	rest := uint64(len(p) - h)
	if shared > uint64(len(it.key)) {
		return it.fail(fmt.Sprintf("entry shares %d key bytes with a %d-byte previous key", shared, len(it.key)))
	}
	if it.isRestart() && shared != 0 {
		return it.fail("entry at a restart point shares key bytes")
	}
	if nonShared > rest || valLen > rest-nonShared {
		return it.fail(fmt.Sprintf("entry (key %d, value %d bytes) overruns the block", nonShared, valLen))
	}
	it.key = append(it.key[:shared], p[h:h+int(nonShared)]...)
	vs := h + int(nonShared)
	it.value = p[vs : vs+int(valLen) : vs+int(valLen)]
	it.pos += vs + int(valLen)
	it.n++
	return true
}

// isRestart reports whether the entry at it.pos is listed as a restart point.
func (it *blockIter) isRestart() bool {
	// Restart points are strictly increasing; a linear scan is fine for the
	// small blocks tables use, but binary search keeps it O(log n).
	lo, hi := 0, len(it.restarts)/4
	for lo < hi {
		m := (lo + hi) / 2
		r := int(binary.LittleEndian.Uint32(it.restarts[4*m:]))
		switch {
		case r == it.pos:
			return true
		case r < it.pos:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

func (it *blockIter) fail(msg string) bool {
	it.err = fmt.Errorf("entry at block offset %d: %s: %w", it.pos, msg, ErrCorrupt)
	return false
}
