package bundle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/tensor"
)

// WriteOptions tune WriteBundleWith. The zero value writes one shard and an
// uncompressed index with 4 KiB blocks.
type WriteOptions struct {
	// Shards is the number of data files; tensors are dealt to them in key
	// order, round robin. 0 means 1.
	Shards int
	// Compression is sstable.NoCompression or sstable.SnappyCompression for
	// the index data blocks.
	Compression byte
	// BlockSize and RestartInterval tune the index table (0: 4096 and 16).
	BlockSize       int
	RestartInterval int
}

// WriteBundle writes tensors as a one-shard bundle at prefix: prefix.index
// and prefix.data-00000-of-00001.
func WriteBundle(prefix string, tensors map[string]*tensor.Tensor) error {
	return WriteBundleWith(prefix, tensors, WriteOptions{})
}

// WriteBundleWith writes tensors as a bundle at prefix, in key order.
func WriteBundleWith(prefix string, tensors map[string]*tensor.Tensor, opts WriteOptions) error {
	keys := make([]string, 0, len(tensors))
	for k := range tensors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w, err := NewWriter(prefix, opts)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := w.Add(k, tensors[k]); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Finish()
}

// Writer writes a bundle incrementally, like TensorFlow's BundleWriter:
// tensor data is appended to the shard files in the order of Add calls and
// the index, sorted by key, is written by Finish. Files are written under
// temporary names and renamed into place by Finish, data files first and
// the index last. A Writer is not safe for concurrent use.
type Writer struct {
	prefix  string
	opts    WriteOptions
	files   []*os.File
	bufs    []*bufio.Writer
	sizes   []int64
	entries map[string][]byte
	next    int
	err     error
	done    bool
}

// NewWriter creates the temporary data files of a bundle at prefix,
// creating its directory if needed.
func NewWriter(prefix string, opts WriteOptions) (*Writer, error) {
	if opts.Shards == 0 {
		opts.Shards = 1
	}
	if opts.Shards < 0 || opts.Shards > 99999 {
		return nil, fmt.Errorf("write bundle %s: %d shards", prefix, opts.Shards)
	}
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return nil, fmt.Errorf("write bundle %s: %w", prefix, err)
	}
	w := &Writer{prefix: prefix, opts: opts, entries: make(map[string][]byte), sizes: make([]int64, opts.Shards)}
	for s := 0; s < opts.Shards; s++ {
		final := DataPath(prefix, s, opts.Shards)
		f, err := os.CreateTemp(filepath.Dir(final), filepath.Base(final)+".tmp*")
		if err == nil {
			// Readable by other users (a non-root server), as TF writes them.
			err = f.Chmod(0o644)
		}
		if err != nil {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
			w.Abort()
			return nil, fmt.Errorf("write bundle %s: %w", prefix, err)
		}
		w.files = append(w.files, f)
		w.bufs = append(w.bufs, bufio.NewWriterSize(f, 1<<20))
	}
	return w, nil
}

// Add appends t under key to the next shard (round robin).
func (w *Writer) Add(key string, t *tensor.Tensor) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return fmt.Errorf("write bundle %s: add after finish", w.prefix)
	}
	switch {
	case key == "":
		return fmt.Errorf("write bundle %s: empty tensor name (reserved for the header)", w.prefix)
	case t == nil:
		return fmt.Errorf("write bundle %s: %q: nil tensor", w.prefix, key)
	}
	if _, dup := w.entries[key]; dup {
		return fmt.Errorf("write bundle %s: %q added twice", w.prefix, key)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("write bundle %s: %q: %w", w.prefix, key, err)
	}
	b, crc, err := encodeTensor(t)
	if err != nil {
		return fmt.Errorf("write bundle %s: %q: %w", w.prefix, key, err)
	}
	s := w.next
	w.next = (w.next + 1) % w.opts.Shards
	if _, err := w.bufs[s].Write(b); err != nil {
		w.err = fmt.Errorf("write bundle %s: %w", w.prefix, err)
		return w.err
	}
	w.entries[key] = encodeEntry(t.DType, t.Shape, s, w.sizes[s], int64(len(b)), crc)
	w.sizes[s] += int64(len(b))
	return nil
}

// Finish writes the index and moves every file into place. On error the
// temporary files are removed.
func (w *Writer) Finish() (err error) {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	if w.done {
		return fmt.Errorf("write bundle %s: finished twice", w.prefix)
	}
	w.done = true
	defer func() {
		if err != nil {
			w.removeTemps()
			err = fmt.Errorf("write bundle %s: %w", w.prefix, err)
		}
	}()
	for s, f := range w.files {
		werr := w.bufs[s].Flush()
		if werr == nil {
			werr = f.Sync()
		}
		if err := errors.Join(werr, f.Close()); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(w.entries))
	for k := range w.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var idx bytes.Buffer
	tw := sstable.NewWriter(&idx, sstable.Options{
		BlockSize: w.opts.BlockSize, RestartInterval: w.opts.RestartInterval, Compression: w.opts.Compression,
	})
	if err := tw.Add(nil, encodeHeader(w.opts.Shards)); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tw.Add([]byte(k), w.entries[k]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	tmp, err := writeTemp(IndexPath(w.prefix), idx.Bytes())
	if err != nil {
		return err
	}
	for s, f := range w.files {
		if err := os.Rename(f.Name(), DataPath(w.prefix, s, w.opts.Shards)); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, IndexPath(w.prefix)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Abort closes and removes the temporary files; the Writer is unusable
// afterwards.
func (w *Writer) Abort() {
	w.done = true
	if w.err == nil {
		w.err = fmt.Errorf("write bundle %s: aborted", w.prefix)
	}
	w.removeTemps()
}

func (w *Writer) removeTemps() {
	for _, f := range w.files {
		f.Close()
		os.Remove(f.Name())
	}
}

// writeTemp writes b to a new temporary file beside final and returns its
// name.
func writeTemp(final string, b []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(final), filepath.Base(final)+".tmp*")
	if err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	_, werr := bw.Write(b)
	if werr == nil {
		werr = bw.Flush()
	}
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// encodeTensor returns the stored bytes of t and their unmasked CRC32C.
func encodeTensor(t *tensor.Tensor) ([]byte, uint32, error) {
	switch d := t.Data.(type) {
	case []string:
		b, crc := EncodeStrings(nil, d)
		return b, crc, nil
	case []complex64:
		b := make([]byte, 0, 8*len(d))
		for _, v := range d {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(real(v)))
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(imag(v)))
		}
		return b, sstable.CRC32C(b), nil
	case []complex128:
		b := make([]byte, 0, 16*len(d))
		for _, v := range d {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(real(v)))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(imag(v)))
		}
		return b, sstable.CRC32C(b), nil
	}
	if t.DType.Size() == 0 {
		return nil, 0, fmt.Errorf("dtype %v cannot be stored: %w", t.DType, ErrUnsupported)
	}
	b, err := t.Bytes()
	if err != nil {
		return nil, 0, err
	}
	return b, sstable.CRC32C(b), nil
}

// encodeHeader builds a BundleHeaderProto for a little-endian bundle.
func encodeHeader(shards int) []byte {
	var ver []byte
	ver = protowire.AppendTag(ver, 1, protowire.VarintType)
	ver = protowire.AppendVarint(ver, formatVersion)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(shards))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, ver)
}

// encodeEntry builds a BundleEntryProto. Zero-valued scalar fields are
// omitted, as proto3 does.
func encodeEntry(dt tensor.DType, shape tensor.Shape, shard int, offset, size int64, crc uint32) []byte {
	var sh []byte
	for _, d := range shape {
		var dim []byte
		if d != 0 {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		}
		sh = protowire.AppendTag(sh, 2, protowire.BytesType)
		sh = protowire.AppendBytes(sh, dim)
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(dt))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, sh)
	for _, f := range []struct {
		num protowire.Number
		v   uint64
	}{{3, uint64(shard)}, {4, uint64(offset)}, {5, uint64(size)}} {
		if f.v != 0 {
			b = protowire.AppendTag(b, f.num, protowire.VarintType)
			b = protowire.AppendVarint(b, f.v)
		}
	}
	if m := sstable.MaskCRC(crc); m != 0 {
		b = protowire.AppendTag(b, 6, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, m)
	}
	return b
}
