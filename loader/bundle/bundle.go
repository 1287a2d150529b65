// Package bundle reads and writes TensorFlow checkpoint bundles
// (tensorflow/core/util/tensor_bundle), the `variables/variables.index` plus
// `variables.data-SSSSS-of-NNNNN` files of a SavedModel.
//
// The index is an SSTable (package sstable) whose empty key holds a
// BundleHeaderProto and whose other keys map tensor names to
// BundleEntryProtos (dtype, shape, shard, offset, size, masked CRC32C). The
// data files hold raw little-endian tensors; DT_STRING tensors are stored as
// varint lengths, a masked CRC32C of those lengths, then the bytes.
//
// Everything read is verified: block checksums when the index is opened,
// the entry checksum each time a tensor is read. Sizes taken from the files
// are checked against the bytes actually present before anything is
// allocated, so corrupt input yields errors, never panics or huge
// allocations.
package bundle

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/tensor"
)

// ErrNotFound is returned by Reader.Tensor for a key the bundle lacks.
var ErrNotFound = errors.New("no such tensor")

// Index is a parsed `.index` file: the header and every entry.
type Index struct {
	Header  Header
	keys    []string
	entries map[string]Entry
	// BlockTypes lists the compression type of every data block, in order.
	BlockTypes []byte
}

// ParseIndex parses the bytes of a `.index` file, verifying every block
// checksum, decoding the header and every entry, and checking each entry's
// size against its dtype and shape. It never panics and allocates at most a
// small multiple of len(data).
func ParseIndex(data []byte) (*Index, error) {
	t, err := sstable.Open(data)
	if err != nil {
		return nil, err
	}
	ix := &Index{entries: make(map[string]Entry)}
	for _, h := range t.DataBlocks() {
		typ, err := t.BlockType(h)
		if err != nil {
			return nil, err
		}
		ix.BlockTypes = append(ix.BlockTypes, typ)
	}
	// Prefix compression lets a few bytes of a block stand for a long key, so
	// materialising every key could cost far more than the file size. Real
	// indexes stay far below this budget.
	budget := int64(len(data))*64 + 4<<20
	it := t.Iter()
	sawHeader := false
	for it.Next() {
		key := it.Key()
		if !sawHeader {
			if len(key) != 0 {
				return nil, fmt.Errorf("first key is %s, not the empty header key: %w", sstable.QuoteKey(key), ErrCorrupt)
			}
			h, err := decodeHeader(it.Value())
			if err != nil {
				return nil, fmt.Errorf("block at %d: %w", it.BlockOffset(), err)
			}
			if err := h.check(); err != nil {
				return nil, err
			}
			ix.Header = h
			sawHeader = true
			continue
		}
		budget -= int64(len(key)) + 64
		if budget < 0 {
			return nil, fmt.Errorf("keys total more than 64 times the index size: %w", ErrCorrupt)
		}
		e, err := DecodeEntry(it.Value())
		if err != nil {
			return nil, fmt.Errorf("block at %d: entry %s: %w", it.BlockOffset(), sstable.QuoteKey(key), err)
		}
		if err := checkEntry(e, ix.Header); err != nil {
			return nil, fmt.Errorf("entry %s: %w", sstable.QuoteKey(key), err)
		}
		k := string(key)
		ix.keys = append(ix.keys, k)
		ix.entries[k] = e
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	if !sawHeader {
		return nil, fmt.Errorf("no header entry: %w", ErrCorrupt)
	}
	return ix, nil
}

// checkEntry validates an entry against the header and its own dtype/shape.
func checkEntry(e Entry, h Header) error {
	if e.Shard >= h.NumShards {
		return fmt.Errorf("shard %d, but the bundle has %d: %w", e.Shard, h.NumShards, ErrCorrupt)
	}
	if e.Slices > 0 {
		return nil // partitioned variable: no data of its own
	}
	n, _ := numElements(e.Shape) // DecodeEntry checked overflow
	if sz := int64(e.DType.Size()); sz > 0 {
		if n > e.Size/sz || n*sz != e.Size {
			return fmt.Errorf("%v%v needs %d bytes, entry says %d: %w", e.DType, e.Shape, n*sz, e.Size, ErrCorrupt)
		}
	} else if e.DType == tensor.String && n > e.Size {
		return fmt.Errorf("%v%v cannot fit in %d bytes: %w", e.DType, e.Shape, e.Size, ErrCorrupt)
	}
	return nil
}

// Keys returns the tensor names in sorted order, without the header key.
func (ix *Index) Keys() []string { return append([]string(nil), ix.keys...) }

// Entry returns the entry stored under key. Its Shape is a copy.
func (ix *Index) Entry(key string) (Entry, bool) {
	e, ok := ix.entries[key]
	if ok {
		e.Shape = e.Shape.Clone()
	}
	return e, ok
}

// Reader reads tensors from a bundle on disk. It is safe for concurrent use.
type Reader struct {
	prefix string
	index  *Index

	mu     sync.Mutex
	shards map[int]*shardFile
	closed bool
}

type shardFile struct {
	f    *os.File
	size int64
}

// IndexPath returns the `.index` file name for a bundle prefix.
func IndexPath(prefix string) string { return prefix + ".index" }

// DataPath returns the data file name of one shard.
func DataPath(prefix string, shard, numShards int) string {
	return fmt.Sprintf("%s.data-%05d-of-%05d", prefix, shard, numShards)
}

// Open reads and verifies the index of the bundle at prefix (for a
// SavedModel, ".../variables/variables"). Data files are opened when a
// tensor is first read from them.
func Open(prefix string) (*Reader, error) {
	p := IndexPath(prefix)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", prefix, err)
	}
	ix, err := ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", p, err)
	}
	return &Reader{prefix: prefix, index: ix, shards: make(map[int]*shardFile)}, nil
}

// Header returns the decoded bundle header.
func (r *Reader) Header() Header { return r.index.Header }

// Index returns the parsed index.
func (r *Reader) Index() *Index { return r.index }

// Keys returns the tensor names in sorted order, without the header key.
func (r *Reader) Keys() []string { return r.index.Keys() }

// Entry returns the entry stored under key.
func (r *Reader) Entry(key string) (Entry, bool) { return r.index.Entry(key) }

// Tensor reads the tensor stored under key and verifies its checksum.
func (r *Reader) Tensor(key string) (*tensor.Tensor, error) {
	e, ok := r.index.Entry(key)
	if !ok {
		return nil, fmt.Errorf("bundle %s: %q: %w", r.prefix, key, ErrNotFound)
	}
	if e.Slices > 0 {
		return nil, fmt.Errorf("bundle %s: %q is a partitioned variable (%d slices): %w", r.prefix, key, e.Slices, ErrUnsupported)
	}
	if e.DType.Size() == 0 && e.DType != tensor.String {
		return nil, fmt.Errorf("bundle %s: %q has dtype %v: %w", r.prefix, key, e.DType, ErrUnsupported)
	}
	sf, err := r.shard(e.Shard)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %q: %w", r.prefix, key, err)
	}
	if e.Offset > sf.size || e.Size > sf.size-e.Offset {
		return nil, fmt.Errorf("bundle %s: %q: bytes [%d,%d) run past the end of shard %d (%d bytes): %w",
			r.prefix, key, e.Offset, e.Offset+e.Size, e.Shard, sf.size, ErrCorrupt)
	}
	b := make([]byte, e.Size)
	if _, err := sf.f.ReadAt(b, e.Offset); err != nil && !(errors.Is(err, io.EOF) && e.Size == 0) {
		return nil, fmt.Errorf("bundle %s: %q: read shard %d: %w", r.prefix, key, e.Shard, err)
	}
	t, err := DecodeTensor(e, b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %q: %w", r.prefix, key, err)
	}
	return t, nil
}

// DecodeTensor turns the stored bytes of an entry into a tensor, verifying
// the entry checksum.
func DecodeTensor(e Entry, b []byte) (*tensor.Tensor, error) {
	if !knownDTypeRange(e.DType) {
		return nil, fmt.Errorf("dtype %d: %w", int32(e.DType), ErrUnsupported)
	}
	if int64(len(b)) != e.Size {
		return nil, fmt.Errorf("have %d bytes, entry says %d: %w", len(b), e.Size, ErrCorrupt)
	}
	n, ok := numElements(e.Shape)
	if !ok {
		return nil, fmt.Errorf("shape %v too large: %w", e.Shape, ErrCorrupt)
	}
	if e.DType == tensor.String {
		s, crc, err := DecodeStrings(b, n)
		if err != nil {
			return nil, err
		}
		if crc != e.CRC32C {
			return nil, fmt.Errorf("data crc32c %#08x, entry says %#08x: %w", crc, e.CRC32C, ErrChecksum)
		}
		return &tensor.Tensor{DType: tensor.String, Shape: e.Shape.Clone(), Data: s}, nil
	}
	if crc := sstable.CRC32C(b); crc != e.CRC32C {
		return nil, fmt.Errorf("data crc32c %#08x, entry says %#08x: %w", crc, e.CRC32C, ErrChecksum)
	}
	sz := int64(e.DType.Size())
	if sz == 0 {
		return nil, fmt.Errorf("dtype %v: %w", e.DType, ErrUnsupported)
	}
	if n > int64(len(b))/sz || n*sz != int64(len(b)) {
		return nil, fmt.Errorf("%v%v needs %d bytes, have %d: %w", e.DType, e.Shape, n*sz, len(b), ErrCorrupt)
	}
	t, err := tensor.FromBytes(e.DType, e.Shape, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrUnsupported)
	}
	return t, nil
}

// shard opens (once) the data file of shard i.
func (r *Reader) shard(i int) (*shardFile, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("reader is closed")
	}
	if sf, ok := r.shards[i]; ok {
		return sf, nil
	}
	p := DataPath(r.prefix, i, r.index.Header.NumShards)
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	sf := &shardFile{f: f, size: st.Size()}
	r.shards[i] = sf
	return sf, nil
}

// Close closes the data files. Tensor fails afterwards.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	ids := make([]int, 0, len(r.shards))
	for i := range r.shards {
		ids = append(ids, i)
	}
	sort.Ints(ids)
	var errs []error
	for _, i := range ids {
		if err := r.shards[i].f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("bundle %s: close shard %d: %w", r.prefix, i, err))
		}
	}
	r.shards = nil
	return errors.Join(errs...)
}
