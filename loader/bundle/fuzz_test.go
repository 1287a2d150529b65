package bundle

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/tensor"
)

// seedIndexes writes small bundles with our writer and returns their index
// bytes: uncompressed, snappy, many blocks, two shards.
func seedIndexes(f *testing.F) [][]byte {
	rng := rand.New(rand.NewSource(21))
	ts := map[string]*tensor.Tensor{
		"_CHECKPOINTABLE_OBJECT_GRAPH": tensor.Scalar("\x0a\x02\x0a\x00"),
		"a":                            tensor.Scalar(float32(0.5)),
		"b":                            tensor.Scalar(float32(2)),
		"layer/kernel":                 randomTensor(rng, tensor.Float32, tensor.Shape{3, 2}),
		"ids":                          randomTensor(rng, tensor.String, tensor.Shape{4}),
		"step":                         tensor.Scalar(int64(7)),
	}
	var out [][]byte
	dir := f.TempDir()
	for i, opts := range []WriteOptions{
		{},
		{Compression: sstable.SnappyCompression},
		{BlockSize: 64, RestartInterval: 2},
		{Shards: 2, Compression: sstable.SnappyCompression, BlockSize: 100},
	} {
		prefix := filepath.Join(dir, "b"+string(rune('0'+i)))
		if err := WriteBundleWith(prefix, ts, opts); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(IndexPath(prefix))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzIndex feeds arbitrary bytes to ParseIndex. Whatever parses must be
// self-consistent and survive a re-encode/re-parse round trip.
func FuzzIndex(f *testing.F) {
	for _, b := range seedIndexes(f) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, sstable.FooterLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		keys := ix.Keys()
		if !sort.StringsAreSorted(keys) {
			t.Fatalf("keys not sorted")
		}
		var buf bytes.Buffer
		w := sstable.NewWriter(&buf, sstable.Options{})
		if err := w.Add(nil, encodeHeader(ix.Header.NumShards)); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			e, ok := ix.Entry(k)
			if !ok {
				t.Fatalf("key %q has no entry", k)
			}
			if e.Shard < 0 || e.Shard >= ix.Header.NumShards || e.Offset < 0 || e.Size < 0 {
				t.Fatalf("inconsistent entry %q: %+v", k, e)
			}
			if err := w.Add([]byte(k), encodeEntry(e.DType, e.Shape, e.Shard, e.Offset, e.Size, e.CRC32C)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		ix2, err := ParseIndex(buf.Bytes())
		if err != nil {
			t.Fatalf("re-encoded index does not parse: %v", err)
		}
		if !reflect.DeepEqual(ix2.Keys(), keys) {
			t.Fatalf("re-encoded index has other keys")
		}
		for _, k := range keys {
			a, _ := ix.Entry(k)
			b, _ := ix2.Entry(k)
			a.Slices = 0
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("entry %q: %+v became %+v", k, a, b)
			}
		}
	})
}

// FuzzBundleEntry decodes arbitrary BundleEntryProto bytes, checks the
// re-encode round trip, and feeds arbitrary tensor bytes to DecodeTensor.
func FuzzBundleEntry(f *testing.F) {
	f.Add(encodeEntry(tensor.Float32, tensor.Shape{2, 3}, 0, 16, 24, 0xdeadbeef), make([]byte, 24))
	f.Add(encodeEntry(tensor.Float32, tensor.Shape{}, 0, 0, 4, 0), []byte{0, 0, 0, 0x3f})
	f.Add(encodeEntry(tensor.String, tensor.Shape{2}, 1, 100, 9, 1), []byte{1, 2, 0x2b, 0x9d, 0x4c, 0x8a, 'a', 'b', 'c'})
	f.Add(encodeEntry(tensor.Complex128, tensor.Shape{1}, 0, 0, 16, 0), make([]byte, 16))
	f.Add(encodeEntry(tensor.Bool, tensor.Shape{0, 5}, 0, 0, 0, 0), []byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x7f}, []byte{})
	f.Fuzz(func(t *testing.T, proto, data []byte) {
		e, err := DecodeEntry(proto)
		if err != nil {
			return
		}
		if e.Offset < 0 || e.Size < 0 || e.Shard < 0 {
			t.Fatalf("negative field accepted: %+v", e)
		}
		if e.Slices == 0 {
			e2, err := DecodeEntry(encodeEntry(e.DType, e.Shape, e.Shard, e.Offset, e.Size, e.CRC32C))
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("re-encode: %+v became %+v (%v)", e, e2, err)
			}
		}
		// Make the bytes pass the size and CRC checks so decoding runs.
		e.Size = int64(len(data))
		if e.DType != tensor.String {
			e.CRC32C = sstable.CRC32C(data)
		}
		tt, err := DecodeTensor(e, data)
		if err != nil {
			return
		}
		if err := tt.Validate(); err != nil {
			t.Fatalf("decoded tensor invalid: %v", err)
		}
	})
}

// FuzzStringTensor decodes arbitrary bytes as a DT_STRING tensor. Whatever
// decodes must re-encode to the same entry checksum and decode back to the
// same strings.
func FuzzStringTensor(f *testing.F) {
	for _, strs := range [][]string{{}, {""}, {"ab", "c"}, {"hello", "", "world\x00\xff"}} {
		b, _ := EncodeStrings(nil, strs)
		f.Add(b, int64(len(strs)))
	}
	f.Add([]byte{0x80, 0x00, 0, 0, 0, 0}, int64(1))
	f.Fuzz(func(t *testing.T, b []byte, n int64) {
		strs, crc, err := DecodeStrings(b, n)
		if err != nil {
			return
		}
		if int64(len(strs)) != n {
			t.Fatalf("decoded %d strings, asked for %d", len(strs), n)
		}
		re, crc2 := EncodeStrings(nil, strs)
		if crc2 != crc {
			t.Fatalf("re-encoded crc %#x, decoded %#x", crc2, crc)
		}
		back, crc3, err := DecodeStrings(re, n)
		if err != nil || crc3 != crc || !reflect.DeepEqual(back, strs) {
			t.Fatalf("re-encoded strings do not decode back: %v", err)
		}
	})
}

// wrapBlock builds a valid table around one raw data block: fuzzed block
// contents get a correct trailer, an index entry and a footer, so that the
// fuzzer exercises block and entry parsing instead of stopping at the CRC.
func wrapBlock(contents []byte) []byte {
	trailer := func(out, block []byte) []byte {
		out = append(out, block...)
		crc := sstable.ExtendCRC32C(sstable.CRC32C(block), []byte{0})
		out = append(out, 0)
		return binary.LittleEndian.AppendUint32(out, sstable.MaskCRC(crc))
	}
	out := trailer(nil, contents)
	dataHandle := binary.AppendUvarint(nil, 0)
	dataHandle = binary.AppendUvarint(dataHandle, uint64(len(contents)))

	metaOff := len(out)
	meta := []byte{0, 0, 0, 0, 1, 0, 0, 0}
	out = trailer(out, meta)

	// The index key must be >= every key in the block; "\xff"*8 is for any
	// realistic fuzzed key.
	key := bytes.Repeat([]byte{0xff}, 8)
	var idx []byte
	idx = append(idx, 0, byte(len(key)), byte(len(dataHandle)))
	idx = append(idx, key...)
	idx = append(idx, dataHandle...)
	idx = append(idx, 0, 0, 0, 0, 1, 0, 0, 0)
	idxOff := len(out)
	out = trailer(out, idx)

	var footer []byte
	footer = binary.AppendUvarint(footer, uint64(metaOff))
	footer = binary.AppendUvarint(footer, uint64(len(meta)))
	footer = binary.AppendUvarint(footer, uint64(idxOff))
	footer = binary.AppendUvarint(footer, uint64(len(idx)))
	footer = append(footer, make([]byte, 40-len(footer))...)
	footer = binary.LittleEndian.AppendUint64(footer, sstable.Magic)
	return append(out, footer...)
}

// FuzzIndexBlock fuzzes the contents of an index data block (entries,
// restart array, header and entry protos) inside an otherwise valid table.
func FuzzIndexBlock(f *testing.F) {
	for _, idx := range seedIndexes(f) {
		tab, err := sstable.Open(idx)
		if err != nil {
			f.Fatal(err)
		}
		for i, h := range tab.DataBlocks() {
			b, err := tab.ReadBlock(h)
			if err != nil {
				f.Fatal(err)
			}
			if _, err := ParseIndex(wrapBlock(b)); i == 0 && err != nil {
				f.Fatalf("wrapped first block does not parse: %v", err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, contents []byte) {
		ix, err := ParseIndex(wrapBlock(contents))
		if err != nil {
			return
		}
		for _, k := range ix.Keys() {
			if _, ok := ix.Entry(k); !ok {
				t.Fatalf("key %q has no entry", k)
			}
		}
	})
}
