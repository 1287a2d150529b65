package sstable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Options tune a Writer. The zero value writes uncompressed 4 KiB blocks with
// a restart point every 16 entries, like LevelDB and TensorFlow.
type Options struct {
	// BlockSize is the uncompressed size at which a data block is closed.
	BlockSize int
	// RestartInterval is the number of entries between restart points.
	RestartInterval int
	// Compression is NoCompression or SnappyCompression. With snappy a block
	// is stored compressed only when that saves at least 12.5%, as LevelDB
	// does.
	Compression byte
}

// Writer builds a table from keys added in strictly increasing byte order.
type Writer struct {
	w       io.Writer
	opts    Options
	offset  uint64
	data    blockBuilder
	index   blockBuilder
	lastKey []byte
	hasKey  bool
	closed  bool
	err     error
	// pending is the handle of a flushed data block whose index entry waits
	// for the next key, so that a short separator can be chosen as LevelDB
	// does.
	pending    BlockHandle
	hasPending bool
}

// NewWriter returns a Writer that writes a table to w.
func NewWriter(w io.Writer, opts Options) *Writer {
	if opts.BlockSize <= 0 {
		opts.BlockSize = 4096
	}
	if opts.RestartInterval <= 0 {
		opts.RestartInterval = 16
	}
	return &Writer{
		w:     w,
		opts:  opts,
		data:  newBlockBuilder(opts.RestartInterval),
		index: newBlockBuilder(1),
	}
}

// Add appends an entry. Keys must be strictly increasing.
func (w *Writer) Add(key, value []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("sstable: add after close")
	}
	if w.hasKey && string(key) <= string(w.lastKey) {
		return fmt.Errorf("sstable: key %q added after %q: keys must be strictly increasing", key, w.lastKey)
	}
	if w.hasPending {
		w.index.add(shortestSeparator(w.lastKey, key), w.pending.append(nil))
		w.hasPending = false
	}
	w.data.add(key, value)
	w.lastKey = append(w.lastKey[:0], key...)
	w.hasKey = true
	if w.data.estimatedSize() >= w.opts.BlockSize {
		return w.flush()
	}
	return nil
}

// flush writes the pending data block and records it in the index.
func (w *Writer) flush() error {
	if w.data.entries == 0 {
		return nil
	}
	h, err := w.writeBlock(w.data.finish(), w.opts.Compression)
	if err != nil {
		return err
	}
	w.data.reset()
	w.pending, w.hasPending = h, true
	return nil
}

func (w *Writer) writeBlock(raw []byte, compression byte) (BlockHandle, error) {
	contents, typ := raw, NoCompression
	if compression == SnappyCompression {
		if c := snappyEncode(raw); len(c) < len(raw)-len(raw)/8 {
			contents, typ = c, SnappyCompression
		}
	}
	h := BlockHandle{Offset: w.offset, Size: uint64(len(contents))}
	var trailer [trailerLen]byte
	trailer[0] = typ
	crc := ExtendCRC32C(CRC32C(contents), trailer[:1])
	binary.LittleEndian.PutUint32(trailer[1:], MaskCRC(crc))
	if err := w.write(contents); err != nil {
		return h, err
	}
	return h, w.write(trailer[:])
}

func (w *Writer) write(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("sstable: write: %w", err)
		return w.err
	}
	w.offset += uint64(len(b))
	return nil
}

// Close writes the last data block, the metaindex and index blocks and the
// footer. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.flush(); err != nil {
		return err
	}
	if w.hasPending {
		w.index.add(shortSuccessor(w.lastKey), w.pending.append(nil))
		w.hasPending = false
	}
	empty := newBlockBuilder(1)
	meta, err := w.writeBlock(empty.finish(), w.opts.Compression)
	if err != nil {
		return err
	}
	idx, err := w.writeBlock(w.index.finish(), w.opts.Compression)
	if err != nil {
		return err
	}
	footer := make([]byte, 0, FooterLen)
	footer = meta.append(footer)
	footer = idx.append(footer)
	footer = footer[:2*maxHandleLen]
	footer = binary.LittleEndian.AppendUint64(footer, Magic)
	return w.write(footer)
}

// blockBuilder accumulates prefix-compressed entries of one block.
type blockBuilder struct {
	interval int
	buf      []byte
	restarts []uint32
	counter  int
	entries  int
	lastKey  []byte
}

func newBlockBuilder(interval int) blockBuilder {
	return blockBuilder{interval: interval, restarts: []uint32{0}}
}

func (b *blockBuilder) add(key, value []byte) {
	shared := 0
	if b.counter < b.interval {
		for shared < len(key) && shared < len(b.lastKey) && key[shared] == b.lastKey[shared] {
			shared++
		}
	} else {
		b.restarts = append(b.restarts, uint32(len(b.buf)))
		b.counter = 0
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(key)-shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(value)))
	b.buf = append(b.buf, key[shared:]...)
	b.buf = append(b.buf, value...)
	b.lastKey = append(b.lastKey[:0], key...)
	b.counter++
	b.entries++
}

func (b *blockBuilder) estimatedSize() int { return len(b.buf) + 4*len(b.restarts) + 4 }

// finish returns the encoded block; the builder must be reset before reuse.
func (b *blockBuilder) finish() []byte {
	out := b.buf
	for _, r := range b.restarts {
		out = binary.LittleEndian.AppendUint32(out, r)
	}
	return binary.LittleEndian.AppendUint32(out, uint32(len(b.restarts)))
}

func (b *blockBuilder) reset() {
	b.buf = b.buf[:0:0]
	b.restarts = append(b.restarts[:0:0], 0)
	b.counter = 0
	b.entries = 0
	b.lastKey = b.lastKey[:0]
}

// shortestSeparator returns a short key k with start <= k < limit, following
// LevelDB's bytewise comparator: if the keys first differ at byte i and
// start[i]+1 < limit[i], it returns start[:i] + (start[i]+1).
func shortestSeparator(start, limit []byte) []byte {
	i := 0
	for i < len(start) && i < len(limit) && start[i] == limit[i] {
		i++
	}
	if i < len(start) && i < len(limit) && start[i] < 0xff && start[i]+1 < limit[i] {
		out := append([]byte(nil), start[:i+1]...)
		out[i]++
		return out
	}
	return append([]byte(nil), start...)
}

// shortSuccessor returns a short key >= key: key truncated after its first
// byte that is not 0xff, with that byte incremented.
func shortSuccessor(key []byte) []byte {
	for i, c := range key {
		if c != 0xff {
			out := append([]byte(nil), key[:i+1]...)
			out[i]++
			return out
		}
	}
	return append([]byte(nil), key...)
}
