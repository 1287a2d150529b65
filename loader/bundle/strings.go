package bundle

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
)

// DecodeStrings decodes n strings stored in the checkpoint DT_STRING layout:
// n varint64 lengths, a 4-byte masked CRC32C of the lengths (each taken as a
// little-endian uint32, or uint64 when it does not fit), then the bytes. It
// returns the strings and the unmasked CRC32C that the entry must carry:
// the CRC of the lengths as checksummed, the stored 4-byte length checksum
// and the string bytes. b must hold exactly the encoded tensor.
func DecodeStrings(b []byte, n int64) ([]string, uint32, error) {
	if n < 0 || n > int64(len(b)) {
		return nil, 0, fmt.Errorf("%d strings cannot fit in %d bytes: %w", n, len(b), ErrCorrupt)
	}
	lengths := make([]uint64, n)
	var crc uint32
	var scratch [8]byte
	pos := 0
	var total uint64
	for i := range lengths {
		l, k := binary.Uvarint(b[pos:])
		if k <= 0 {
			return nil, 0, fmt.Errorf("string %d: bad length varint at byte %d: %w", i, pos, ErrCorrupt)
		}
		pos += k
		lengths[i] = l
		crc = extendLength(crc, l, &scratch)
		if l > uint64(len(b)) || total > uint64(len(b))-l {
			return nil, 0, fmt.Errorf("string %d: length %d overruns the %d-byte tensor: %w", i, l, len(b), ErrCorrupt)
		}
		total += l
	}
	if len(b)-pos < 4 {
		return nil, 0, fmt.Errorf("missing string-length checksum: %w", ErrCorrupt)
	}
	stored := binary.LittleEndian.Uint32(b[pos:])
	if want := sstable.MaskCRC(crc); stored != want {
		return nil, 0, fmt.Errorf("string lengths crc32c: stored %#08x, computed %#08x: %w", stored, want, ErrChecksum)
	}
	crc = sstable.ExtendCRC32C(crc, b[pos:pos+4])
	pos += 4
	rest := b[pos:]
	if uint64(len(rest)) != total {
		return nil, 0, fmt.Errorf("string bytes: have %d, lengths add up to %d: %w", len(rest), total, ErrCorrupt)
	}
	crc = sstable.ExtendCRC32C(crc, rest)
	all := string(rest) // one allocation; the strings share it
	out := make([]string, n)
	off := uint64(0)
	for i, l := range lengths {
		out[i] = all[off : off+l]
		off += l
	}
	return out, crc, nil
}

// EncodeStrings appends strs to dst in the checkpoint DT_STRING layout and
// returns the result with the unmasked CRC32C for the entry.
func EncodeStrings(dst []byte, strs []string) ([]byte, uint32) {
	var crc uint32
	var scratch [8]byte
	for _, s := range strs {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		crc = extendLength(crc, uint64(len(s)), &scratch)
	}
	dst = binary.LittleEndian.AppendUint32(dst, sstable.MaskCRC(crc))
	crc = sstable.ExtendCRC32C(crc, dst[len(dst)-4:])
	start := len(dst)
	for _, s := range strs {
		dst = append(dst, s...)
	}
	return dst, sstable.ExtendCRC32C(crc, dst[start:])
}

// extendLength adds one string length to the length checksum the way
// TensorFlow does: as a uint32 when it fits, else as a uint64.
func extendLength(crc uint32, l uint64, scratch *[8]byte) uint32 {
	if l <= math.MaxUint32 {
		binary.LittleEndian.PutUint32(scratch[:4], uint32(l))
		return sstable.ExtendCRC32C(crc, scratch[:4])
	}
	binary.LittleEndian.PutUint64(scratch[:], l)
	return sstable.ExtendCRC32C(crc, scratch[:])
}
