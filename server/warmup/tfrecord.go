package warmup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/tfserve/tfserve/servable/status"
)

// TFRecord framing (tensorflow/core/lib/io/record_writer.h): each record is
//
//	uint64 length (little endian)
//	uint32 masked crc32c of the 8 length bytes
//	byte   data[length]
//	uint32 masked crc32c of the data
const (
	headerSize = 12
	footerSize = 4
	maskDelta  = 0xa282ead8
)

// DefaultMaxRecordBytes is the largest record RecordReader accepts unless
// told otherwise.
const DefaultMaxRecordBytes = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TF's crc32c::Mask of the CRC-32C of b.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + maskDelta
}

// RecordWriter writes TFRecord records.
type RecordWriter struct {
	w   io.Writer
	hdr [headerSize]byte
}

// NewRecordWriter returns a writer of TFRecord records to w.
func NewRecordWriter(w io.Writer) *RecordWriter { return &RecordWriter{w: w} }

// Write writes one record.
func (w *RecordWriter) Write(rec []byte) error {
	binary.LittleEndian.PutUint64(w.hdr[:8], uint64(len(rec)))
	binary.LittleEndian.PutUint32(w.hdr[8:], maskedCRC(w.hdr[:8]))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("write record header: %w", err)
	}
	if _, err := w.w.Write(rec); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	var foot [footerSize]byte
	binary.LittleEndian.PutUint32(foot[:], maskedCRC(rec))
	if _, err := w.w.Write(foot[:]); err != nil {
		return fmt.Errorf("write record footer: %w", err)
	}
	return nil
}

// RecordReader reads TFRecord records, checking both CRCs of each.
type RecordReader struct {
	r    io.Reader
	off  int64
	size int64 // bytes in r from the start, or -1 when unknown
	buf  []byte
	// MaxRecordBytes bounds one record's length (DefaultMaxRecordBytes
	// when zero); a longer length is reported as corrupt data.
	MaxRecordBytes int64
}

// NewRecordReader returns a reader of the TFRecord records in r.
func NewRecordReader(r io.Reader) *RecordReader { return &RecordReader{r: r, size: -1} }

// NewRecordReaderSize returns a reader of the TFRecord records in r, which
// holds size bytes (a file's size): a record whose length runs past the end
// is reported as truncated before anything is allocated for it.
func NewRecordReaderSize(r io.Reader, size int64) *RecordReader {
	return &RecordReader{r: r, size: size}
}

// Offset is the byte offset of the next record.
func (r *RecordReader) Offset() int64 { return r.off }

// Next returns the next record, valid until the following call. At the end
// of the data it returns io.EOF. Corrupt or truncated data gives an error
// with status code DataLoss.
func (r *RecordReader) Next() ([]byte, error) {
	var hdr [headerSize]byte
	n, err := io.ReadFull(r.r, hdr[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, status.Errorf(status.DataLoss, "truncated record at %d", r.off)
		}
		return nil, fmt.Errorf("read record at %d: %w", r.off, err)
	}
	if maskedCRC(hdr[:8]) != binary.LittleEndian.Uint32(hdr[8:]) {
		return nil, status.Errorf(status.DataLoss, "corrupted record at %d", r.off)
	}
	length := binary.LittleEndian.Uint64(hdr[:8])
	limit := r.MaxRecordBytes
	if limit <= 0 {
		limit = DefaultMaxRecordBytes
	}
	if length > uint64(limit) {
		return nil, status.Errorf(status.DataLoss, "record at %d is %d bytes, more than the limit of %d", r.off, length, limit)
	}
	total := int(length) + footerSize
	if r.size >= 0 {
		if left := r.size - r.off - headerSize; int64(total) > left {
			return nil, status.Errorf(status.DataLoss, "truncated record at %d: its length %d runs past the end of the data (%d bytes left)",
				r.off, length, max(left-footerSize, 0))
		}
		// The length fits in what is left: read it in one piece.
		if cap(r.buf) < total {
			r.buf = make([]byte, total)
		}
		r.buf = r.buf[:total]
		if _, err := io.ReadFull(r.r, r.buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, status.Errorf(status.DataLoss, "truncated record at %d", r.off)
			}
			return nil, fmt.Errorf("read record at %d: %w", r.off, err)
		}
		return r.check(length, total)
	}
	// Size unknown: grow the buffer only as data actually arrives, so a
	// corrupt length cannot make us allocate far more than the input holds.
	r.buf = r.buf[:0]
	for len(r.buf) < total {
		chunk := min(total-len(r.buf), 1<<20)
		start := len(r.buf)
		r.buf = append(r.buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(r.r, r.buf[start:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, status.Errorf(status.DataLoss, "truncated record at %d", r.off)
			}
			return nil, fmt.Errorf("read record at %d: %w", r.off, err)
		}
	}
	return r.check(length, total)
}

// check verifies the data CRC of the record in r.buf and moves past it.
func (r *RecordReader) check(length uint64, total int) ([]byte, error) {
	data := r.buf[:length]
	if maskedCRC(data) != binary.LittleEndian.Uint32(r.buf[length:]) {
		return nil, status.Errorf(status.DataLoss, "corrupted record at %d", r.off)
	}
	r.off += int64(headerSize + total)
	return data, nil
}
