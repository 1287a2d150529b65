package bundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/tensor"
)

var allDTypes = []tensor.DType{
	tensor.Float32, tensor.Float64, tensor.Int32, tensor.Uint8, tensor.Int16, tensor.Int8,
	tensor.String, tensor.Complex64, tensor.Int64, tensor.Bool, tensor.QInt8, tensor.QUint8,
	tensor.QInt32, tensor.BFloat16, tensor.QInt16, tensor.QUint16, tensor.Uint16,
	tensor.Complex128, tensor.Half, tensor.Uint32, tensor.Uint64,
}

var testShapes = []tensor.Shape{{}, {0}, {3}, {2, 3}, {1, 1, 1, 4}, {5, 0, 2}, {17, 9}}

// randomTensor fills a tensor of dt and shape with random values, including
// edge values (extremes, -0, Inf, empty and long strings).
func randomTensor(rng *rand.Rand, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(dt, shape)
	f64 := func() float64 {
		switch rng.Intn(8) {
		case 0:
			return math.Copysign(0, -1)
		case 1:
			return math.Inf(1 - 2*rng.Intn(2))
		case 2:
			return math.SmallestNonzeroFloat64
		}
		return rng.NormFloat64() * math.Pow(10, float64(rng.Intn(20)-10))
	}
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(f64())
		}
	case []float64:
		for i := range d {
			d[i] = f64()
		}
	case []complex64:
		for i := range d {
			d[i] = complex(float32(f64()), float32(f64()))
		}
	case []complex128:
		for i := range d {
			d[i] = complex(f64(), f64())
		}
	case []int32:
		for i := range d {
			d[i] = int32(rng.Uint32())
		}
	case []int64:
		for i := range d {
			d[i] = int64(rng.Uint64())
		}
	case []uint8:
		for i := range d {
			d[i] = uint8(rng.Intn(256))
		}
	case []int8:
		for i := range d {
			d[i] = int8(rng.Intn(256))
		}
	case []int16:
		for i := range d {
			d[i] = int16(rng.Intn(1 << 16))
		}
	case []uint16:
		for i := range d {
			d[i] = uint16(rng.Intn(1 << 16))
		}
	case []uint32:
		for i := range d {
			d[i] = rng.Uint32()
		}
	case []uint64:
		for i := range d {
			d[i] = rng.Uint64()
		}
	case []bool:
		for i := range d {
			d[i] = rng.Intn(2) == 1
		}
	case []string:
		for i := range d {
			n := []int{0, 1, 5, 127, 128, 300, 20000}[rng.Intn(7)]
			b := make([]byte, n)
			rng.Read(b)
			d[i] = string(b)
		}
	default:
		panic(fmt.Sprintf("randomTensor: %v", dt))
	}
	return t
}

// sameTensor compares dtype, shape and data bit for bit (so -0 and 0 differ).
func sameTensor(a, b *tensor.Tensor) bool {
	if a.DType != b.DType || !a.Shape.Equal(b.Shape) {
		return false
	}
	switch x := a.Data.(type) {
	case []float32:
		y, ok := b.Data.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case []float64:
		y, ok := b.Data.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Data, b.Data)
}

func randomBundle(rng *rand.Rand, extraKeys int) map[string]*tensor.Tensor {
	ts := map[string]*tensor.Tensor{}
	for _, dt := range allDTypes {
		for i, s := range testShapes {
			ts[fmt.Sprintf("model/%v/%d/.ATTRIBUTES/VARIABLE_VALUE", dt, i)] = randomTensor(rng, dt, s)
		}
	}
	for i := 0; i < extraKeys; i++ {
		ts[fmt.Sprintf("optimizer/slot_%05d", i)] = randomTensor(rng, tensor.Float32, tensor.Shape{rng.Intn(4)})
	}
	ts["_CHECKPOINTABLE_OBJECT_GRAPH"] = tensor.Scalar("\x0a\x00")
	ts["\x00binary\xffkey"] = tensor.Scalar(int64(-7))
	return ts
}

func TestRoundTripAllDTypes(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	ts := randomBundle(rng, 400)
	for _, opts := range []WriteOptions{
		{},
		{Compression: sstable.SnappyCompression},
		{BlockSize: 256, Compression: sstable.SnappyCompression},
		{BlockSize: 256, RestartInterval: 3, Shards: 2},
		{Shards: 3, Compression: sstable.SnappyCompression, BlockSize: 1024},
	} {
		name := fmt.Sprintf("shards%d_c%d_bs%d_ri%d", opts.Shards, opts.Compression, opts.BlockSize, opts.RestartInterval)
		t.Run(name, func(t *testing.T) {
			prefix := filepath.Join(t.TempDir(), "variables")
			if err := WriteBundleWith(prefix, ts, opts); err != nil {
				t.Fatal(err)
			}
			r, err := Open(prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			want := make([]string, 0, len(ts))
			for k := range ts {
				want = append(want, k)
			}
			sort.Strings(want)
			if got := r.Keys(); !reflect.DeepEqual(got, want) {
				t.Fatalf("keys differ: got %d, want %d", len(got), len(want))
			}
			shardsUsed := map[int]bool{}
			for _, k := range want {
				got, err := r.Tensor(k)
				if err != nil {
					t.Fatalf("%q: %v", k, err)
				}
				if !sameTensor(got, ts[k]) {
					t.Fatalf("%q: read %v %v, wrote %v %v", k, got, got.Data, ts[k], ts[k].Data)
				}
				e, _ := r.Entry(k)
				shardsUsed[e.Shard] = true
			}
			wantShards := max(opts.Shards, 1)
			if r.Header().NumShards != wantShards || len(shardsUsed) != wantShards {
				t.Errorf("header says %d shards, entries use %d, want %d", r.Header().NumShards, len(shardsUsed), wantShards)
			}
			types := r.Index().BlockTypes
			if opts.BlockSize == 256 && len(types) < 20 {
				t.Errorf("only %d index data blocks with 256-byte blocks", len(types))
			}
			snappy := bytes.Count(types, []byte{sstable.SnappyCompression})
			if (snappy > 0) != (opts.Compression == sstable.SnappyCompression) {
				t.Errorf("%d of %d blocks snappy-compressed with compression %d", snappy, len(types), opts.Compression)
			}
			// No temporary files are left behind.
			files, _ := filepath.Glob(filepath.Join(filepath.Dir(prefix), "*tmp*"))
			if len(files) != 0 {
				t.Errorf("temporary files left: %v", files)
			}
		})
	}
}

func TestWriterRejects(t *testing.T) {
	dir := t.TempDir()
	for name, ts := range map[string]map[string]*tensor.Tensor{
		"empty key":  {"": tensor.Scalar(float32(1))},
		"nil tensor": {"a": nil},
		"bad data":   {"a": {DType: tensor.Float32, Shape: tensor.Shape{2}, Data: []float32{1}}},
		"resource":   {"a": {DType: tensor.Resource, Shape: tensor.Shape{1}, Data: []any{nil}}},
	} {
		prefix := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := WriteBundle(prefix, ts); err == nil {
			t.Errorf("%s: no error", name)
		}
		if left, _ := filepath.Glob(prefix + "*"); len(left) != 0 {
			t.Errorf("%s: files left behind: %v", name, left)
		}
	}
	w, err := NewWriter(filepath.Join(dir, "dup"), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add("x", tensor.Scalar(int32(1))); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("x", tensor.Scalar(int32(2))); err == nil {
		t.Error("duplicate key accepted")
	}
	w.Abort()
}

// writeSmall writes a small bundle and returns its prefix.
func writeSmall(t *testing.T, opts WriteOptions) (string, map[string]*tensor.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewSource(11))
	ts := randomBundle(rng, 200)
	prefix := filepath.Join(t.TempDir(), "variables")
	if err := WriteBundleWith(prefix, ts, opts); err != nil {
		t.Fatal(err)
	}
	return prefix, ts
}

func TestCorruptIndex(t *testing.T) {
	for _, comp := range []byte{sstable.NoCompression, sstable.SnappyCompression} {
		prefix, _ := writeSmall(t, WriteOptions{BlockSize: 512, Compression: comp})
		orig, err := os.ReadFile(IndexPath(prefix))
		if err != nil {
			t.Fatal(err)
		}
		tab, err := sstable.Open(orig)
		if err != nil {
			t.Fatal(err)
		}
		blocks := tab.DataBlocks()
		for _, h := range []sstable.BlockHandle{blocks[0], blocks[len(blocks)/2], blocks[len(blocks)-1]} {
			bad := append([]byte(nil), orig...)
			bad[h.Offset+h.Size/3] ^= 0x10
			_, err := ParseIndex(bad)
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), fmt.Sprintf("block at %d", h.Offset)) {
				t.Errorf("flip in block at %d: err = %v", h.Offset, err)
			}
		}
		// Through Open, the error names the file.
		bad := append([]byte(nil), orig...)
		bad[blocks[0].Offset+1] ^= 1
		if err := os.WriteFile(IndexPath(prefix), bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(prefix); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "bundle "+IndexPath(prefix)) {
			t.Errorf("Open after flip: err = %v", err)
		}
		// Bad magic.
		bad = append([]byte(nil), orig...)
		bad[len(bad)-3] ^= 0x55
		if _, err := ParseIndex(bad); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "magic") {
			t.Errorf("bad magic: err = %v", err)
		}
		// Truncation at every length fails cleanly.
		for n := 0; n < len(orig); n += 1 + n/32 {
			if _, err := ParseIndex(orig[:n]); err == nil {
				t.Fatalf("index truncated to %d of %d bytes parsed", n, len(orig))
			}
		}
	}
}

func TestCorruptData(t *testing.T) {
	prefix, ts := writeSmall(t, WriteOptions{})
	r, err := Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	victim := "model/DT_DOUBLE/3/.ATTRIBUTES/VARIABLE_VALUE"
	strVictim := "model/DT_STRING/6/.ATTRIBUTES/VARIABLE_VALUE"
	e, _ := r.Entry(victim)
	se, _ := r.Entry(strVictim)
	r.Close()

	dataPath := DataPath(prefix, 0, 1)
	orig, err := os.ReadFile(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, mutate func([]byte) []byte, key string, want error) {
		t.Helper()
		if err := os.WriteFile(dataPath, mutate(append([]byte(nil), orig...)), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(prefix)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = r.Tensor(key)
		if !errors.Is(err, want) || !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
			t.Errorf("%s: err = %v, want %v naming %q", name, err, want, key)
		}
		// Untouched tensors still read.
		if got, err := r.Tensor("_CHECKPOINTABLE_OBJECT_GRAPH"); name != "truncated" && (err != nil || !sameTensor(got, ts["_CHECKPOINTABLE_OBJECT_GRAPH"])) {
			t.Errorf("%s: other tensor: %v", name, err)
		}
	}
	check("flip", func(b []byte) []byte { b[e.Offset+e.Size/2] ^= 1; return b }, victim, ErrChecksum)
	// Flipping a string byte breaks the entry CRC; flipping a length byte
	// breaks the length checksum or the layout.
	check("string byte", func(b []byte) []byte { b[se.Offset+se.Size-1] ^= 1; return b }, strVictim, ErrChecksum)
	check("string length", func(b []byte) []byte { b[se.Offset] ^= 1; return b }, strVictim, ErrChecksum)
	check("truncated", func(b []byte) []byte { return b[:se.Offset+se.Size-1] }, strVictim, ErrCorrupt)

	os.Remove(dataPath)
	r, err = Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Tensor(victim); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing shard: err = %v", err)
	}
	if _, err := r.Tensor("no such key"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: err = %v", err)
	}
	r.Close()
	if _, err := r.Tensor(victim); err == nil {
		t.Error("Tensor after Close succeeded")
	}
}

// rawIndex builds an index table from a header and raw entry protos.
func rawIndex(t *testing.T, header []byte, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := sstable.NewWriter(&buf, sstable.Options{})
	if header != nil {
		if err := w.Add(nil, header); err != nil {
			t.Fatal(err)
		}
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := w.Add([]byte(k), entries[k]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func headerProto(shards int, endian int, minConsumer int, bad ...int) []byte {
	var ver []byte
	ver = protowire.AppendTag(ver, 1, protowire.VarintType)
	ver = protowire.AppendVarint(ver, 1)
	if minConsumer != 0 {
		ver = protowire.AppendTag(ver, 2, protowire.VarintType)
		ver = protowire.AppendVarint(ver, uint64(minConsumer))
	}
	for _, c := range bad {
		ver = protowire.AppendTag(ver, 3, protowire.VarintType)
		ver = protowire.AppendVarint(ver, uint64(c))
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(shards))
	if endian != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(endian))
	}
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, ver)
}

func TestHeaderAndEntryChecks(t *testing.T) {
	good := encodeEntry(tensor.Float32, tensor.Shape{2}, 0, 0, 8, 0)
	negDim := func() []byte {
		var dim, sh, b []byte
		dim = protowire.AppendTag(dim, 1, protowire.VarintType)
		dim = protowire.AppendVarint(dim, uint64(1<<64-1)) // -1
		sh = protowire.AppendTag(sh, 2, protowire.BytesType)
		sh = protowire.AppendBytes(sh, dim)
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendBytes(b, sh)
	}()
	for name, tc := range map[string]struct {
		header  []byte
		entries map[string][]byte
		want    error
	}{
		"ok":              {headerProto(1, 0, 0), map[string][]byte{"a": good}, nil},
		"no header":       {nil, map[string][]byte{"a": good}, ErrCorrupt},
		"zero shards":     {headerProto(0, 0, 0), map[string][]byte{"a": good}, ErrCorrupt},
		"big endian":      {headerProto(1, 1, 0), map[string][]byte{"a": good}, ErrUnsupported},
		"min consumer":    {headerProto(1, 0, 2), map[string][]byte{"a": good}, ErrUnsupported},
		"bad consumer":    {headerProto(1, 0, 0, 1), map[string][]byte{"a": good}, ErrUnsupported},
		"shard range":     {headerProto(1, 0, 0), map[string][]byte{"a": encodeEntry(tensor.Float32, tensor.Shape{2}, 1, 0, 8, 0)}, ErrCorrupt},
		"size mismatch":   {headerProto(1, 0, 0), map[string][]byte{"a": encodeEntry(tensor.Float32, tensor.Shape{2}, 0, 0, 12, 0)}, ErrCorrupt},
		"huge shape":      {headerProto(1, 0, 0), map[string][]byte{"a": encodeEntry(tensor.Float32, tensor.Shape{1 << 30, 1 << 30, 1 << 30}, 0, 0, 8, 0)}, ErrCorrupt},
		"strings too big": {headerProto(1, 0, 0), map[string][]byte{"a": encodeEntry(tensor.String, tensor.Shape{100}, 0, 0, 50, 0)}, ErrCorrupt},
		"negative dim":    {headerProto(1, 0, 0), map[string][]byte{"a": negDim}, ErrCorrupt},
		"bad proto":       {headerProto(1, 0, 0), map[string][]byte{"a": {0x0a, 0x05}}, ErrCorrupt},
		"huge dtype":      {headerProto(1, 0, 0), map[string][]byte{"a": encodeEntry(tensor.DType(0x0c8467c3), tensor.Shape{}, 0, 0, 0, 0)}, ErrCorrupt},
	} {
		_, err := ParseIndex(rawIndex(t, tc.header, tc.entries))
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestUnsupportedEntries(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "v")
	sliced := append(encodeEntry(tensor.Float32, tensor.Shape{4}, 0, 0, 0, 0), protowire.AppendTag(nil, 7, protowire.BytesType)...)
	sliced = protowire.AppendBytes(sliced, []byte{0x0a, 0x00})
	variant := encodeEntry(tensor.Variant, tensor.Shape{}, 0, 0, 3, 0)
	idx := rawIndex(t, headerProto(1, 0, 0), map[string][]byte{"part": sliced, "var": variant})
	if err := os.WriteFile(IndexPath(prefix), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(DataPath(prefix, 0, 1), []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if e, _ := r.Entry("part"); e.Slices != 1 {
		t.Errorf("slices = %d", e.Slices)
	}
	for _, k := range []string{"part", "var"} {
		if _, err := r.Tensor(k); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), k) {
			t.Errorf("%s: err = %v, want ErrUnsupported", k, err)
		}
	}
}

// TestKeyBudget: prefix compression lets a small file describe keys whose
// total length is quadratic in its size; ParseIndex must refuse that.
func TestKeyBudget(t *testing.T) {
	long := strings.Repeat("k", 200_000)
	entries := map[string][]byte{}
	for i := 0; i < 400; i++ {
		entries[fmt.Sprintf("%s%04d", long, i)] = nil
	}
	var buf bytes.Buffer
	w := sstable.NewWriter(&buf, sstable.Options{BlockSize: 1 << 30, RestartInterval: 1 << 20})
	w.Add(nil, headerProto(1, 0, 0))
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Add([]byte(k), nil)
	}
	w.Close()
	if buf.Len() > 400_000 {
		t.Fatalf("test index is %d bytes, prefix compression not in effect", buf.Len())
	}
	if _, err := ParseIndex(buf.Bytes()); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "keys total") {
		t.Fatalf("err = %v", err)
	}
}

// referenceStrings encodes the DT_STRING layout independently of
// EncodeStrings, straight from the format description, with hash/crc32.
func referenceStrings(strs []string) ([]byte, uint32) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	var b, lens []byte
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		lens = binary.LittleEndian.AppendUint32(lens, uint32(len(s)))
	}
	c := crc32.Checksum(lens, tab)
	masked := ((c >> 15) | (c << 17)) + 0xa282ead8
	b = binary.LittleEndian.AppendUint32(b, masked)
	all := append(append([]byte(nil), lens...), b[len(b)-4:]...)
	for _, s := range strs {
		b = append(b, s...)
		all = append(all, s...)
	}
	return b, crc32.Checksum(all, tab)
}

func TestStringLayout(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, strs := range [][]string{
		{}, {""}, {"a"}, {"", "", ""}, {strings.Repeat("x", 128), "y", strings.Repeat("z", 1<<17)},
		randomTensor(rng, tensor.String, tensor.Shape{50}).Strings(),
	} {
		want, wantCRC := referenceStrings(strs)
		got, gotCRC := EncodeStrings(nil, strs)
		if !bytes.Equal(got, want) || gotCRC != wantCRC {
			t.Fatalf("EncodeStrings(%d strings) differs from the reference", len(strs))
		}
		dec, crc, err := DecodeStrings(want, int64(len(strs)))
		if err != nil || crc != wantCRC || !reflect.DeepEqual(dec, append([]string{}, strs...)) {
			t.Fatalf("DecodeStrings(%d strings): %v", len(strs), err)
		}
		// Wrong element counts and trailing bytes are errors.
		if _, _, err := DecodeStrings(want, int64(len(strs))+1); err == nil {
			t.Errorf("decoding %d strings as %d succeeded", len(strs), len(strs)+1)
		}
		if _, _, err := DecodeStrings(append(want, 0), int64(len(strs))); err == nil {
			t.Errorf("trailing byte accepted")
		}
	}
	// A length checksum mismatch is reported as such.
	b, _ := referenceStrings([]string{"ab", "c"})
	b[2] ^= 1
	if _, _, err := DecodeStrings(b, 2); !errors.Is(err, ErrChecksum) {
		t.Errorf("length checksum flip: err = %v", err)
	}
	// A length that claims more than the buffer is refused before use.
	huge := binary.AppendUvarint(nil, 1<<62)
	if _, _, err := DecodeStrings(append(huge, 0, 0, 0, 0), 1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge length: err = %v", err)
	}
	if _, _, err := DecodeStrings(nil, -1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("negative count: err = %v", err)
	}
}

// TestConcurrentReads reads every tensor from several goroutines at once
// (run with -race to check the shard cache).
func TestConcurrentReads(t *testing.T) {
	prefix, ts := writeSmall(t, WriteOptions{Shards: 3})
	r, err := Open(prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for _, k := range r.Keys() {
				got, err := r.Tensor(k)
				if err != nil {
					errs <- err
					return
				}
				if !sameTensor(got, ts[k]) {
					errs <- fmt.Errorf("%q differs", k)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
