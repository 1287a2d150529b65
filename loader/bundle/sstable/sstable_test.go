package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
)

// buildTable writes kv (sorted by key) with opts and returns the bytes.
func buildTable(t testing.TB, keys []string, vals map[string]string, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	for _, k := range keys {
		if err := w.Add([]byte(k), []byte(vals[k])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomKV(rng *rand.Rand, n int) ([]string, map[string]string) {
	vals := make(map[string]string, n)
	prefixes := []string{"", "layer/", "layer_with_weights-1/kernel/", "optimizer/slot/m/", "\xff\xff", "a\x00"}
	for len(vals) < n {
		k := prefixes[rng.Intn(len(prefixes))] + fmt.Sprintf("%x", rng.Int63n(1<<uint(rng.Intn(40)+1)))
		v := strings.Repeat(string(rune('a'+rng.Intn(26))), rng.Intn(40)) + fmt.Sprint(rng.Int())
		vals[k] = v
	}
	keys := make([]string, 0, n)
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, vals
}

func readAll(t testing.TB, data []byte) ([]string, map[string]string, *Table) {
	t.Helper()
	tab, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	it := tab.Iter()
	var keys []string
	vals := map[string]string{}
	for it.Next() {
		keys = append(keys, string(it.Key()))
		vals[string(it.Key())] = string(it.Value())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return keys, vals, tab
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		n    int
		opts Options
	}{
		{0, Options{}},
		{1, Options{}},
		{500, Options{}},
		{500, Options{BlockSize: 64, RestartInterval: 1}},
		{500, Options{BlockSize: 200, RestartInterval: 3, Compression: SnappyCompression}},
		{2000, Options{BlockSize: 1024, Compression: SnappyCompression}},
	} {
		t.Run(fmt.Sprintf("n%d_bs%d_ri%d_c%d", tc.n, tc.opts.BlockSize, tc.opts.RestartInterval, tc.opts.Compression), func(t *testing.T) {
			keys, vals := randomKV(rng, tc.n)
			data := buildTable(t, keys, vals, tc.opts)
			gotKeys, gotVals, tab := readAll(t, data)
			if len(gotKeys) != len(keys) {
				t.Fatalf("read %d keys, wrote %d", len(gotKeys), len(keys))
			}
			for i, k := range keys {
				if gotKeys[i] != k || gotVals[k] != vals[k] {
					t.Fatalf("entry %d: got %q=%q, want %q=%q", i, gotKeys[i], gotVals[gotKeys[i]], k, vals[k])
				}
			}
			if tc.opts.BlockSize > 0 && tc.opts.BlockSize < 1024 && len(tab.DataBlocks()) < 10 {
				t.Errorf("only %d data blocks with block size %d", len(tab.DataBlocks()), tc.opts.BlockSize)
			}
			snappy := 0
			for _, h := range tab.DataBlocks() {
				typ, err := tab.BlockType(h)
				if err != nil {
					t.Fatal(err)
				}
				if typ == SnappyCompression {
					snappy++
				}
			}
			if (snappy > 0) != (tc.opts.Compression == SnappyCompression && tc.n > 0) {
				t.Errorf("%d snappy blocks with compression %d", snappy, tc.opts.Compression)
			}
		})
	}
}

func TestWriterRejectsUnsortedKeys(t *testing.T) {
	w := NewWriter(&bytes.Buffer{}, Options{})
	if err := w.Add([]byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Add([]byte("a"), nil); err == nil {
		t.Fatal("out-of-order key accepted")
	}
	if err := w.Add([]byte("b"), nil); err == nil {
		t.Fatal("duplicate key accepted")
	}
}

// TestSeparators checks the index-key helpers against their contract by
// brute force: start <= sep < limit, and succ >= key.
func TestSeparators(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	alpha := []byte{0, 1, 'a', 'b', 'c', 0xfe, 0xff}
	gen := func() []byte {
		b := make([]byte, rng.Intn(5))
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return b
	}
	for i := 0; i < 20000; i++ {
		a, b := gen(), gen()
		if c := bytes.Compare(a, b); c == 0 {
			continue
		} else if c > 0 {
			a, b = b, a
		}
		s := shortestSeparator(a, b)
		if bytes.Compare(a, s) > 0 || bytes.Compare(s, b) >= 0 {
			t.Fatalf("shortestSeparator(%q, %q) = %q", a, b, s)
		}
		if len(s) > len(a) {
			t.Fatalf("separator %q longer than start %q", s, a)
		}
		if u := shortSuccessor(a); bytes.Compare(u, a) < 0 {
			t.Fatalf("shortSuccessor(%q) = %q", a, u)
		}
	}
}

func TestMaskRoundTrip(t *testing.T) {
	for _, c := range []uint32{0, 1, 0xffffffff, 0xa282ead8, 0x12345678} {
		if UnmaskCRC(MaskCRC(c)) != c {
			t.Errorf("unmask(mask(%#x)) != %#x", c, c)
		}
		if MaskCRC(c) == c {
			t.Errorf("mask(%#x) is the identity", c)
		}
	}
	// Known CRC32C test vector (RFC 3720 B.4): 32 bytes of zeros.
	if got := CRC32C(make([]byte, 32)); got != 0x8a9136aa {
		t.Errorf("CRC32C(zeros32) = %#x, want 0x8a9136aa", got)
	}
}

func TestCorruption(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	keys, vals := randomKV(rng, 300)
	for _, comp := range []byte{NoCompression, SnappyCompression} {
		data := buildTable(t, keys, vals, Options{BlockSize: 256, Compression: comp})
		tab, err := Open(data)
		if err != nil {
			t.Fatal(err)
		}
		blocks := tab.DataBlocks()
		// Flip one byte inside each data block: the iterator must report a
		// checksum error naming that block's offset.
		for _, h := range blocks[:5] {
			bad := append([]byte(nil), data...)
			bad[h.Offset+h.Size/2] ^= 0x40
			tab, err := Open(bad)
			if err != nil {
				t.Fatalf("open after data-block flip: %v", err)
			}
			it := tab.Iter()
			for it.Next() {
			}
			err = it.Err()
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), fmt.Sprintf("block at %d", h.Offset)) {
				t.Fatalf("flip in block at %d: err = %v", h.Offset, err)
			}
		}
		// A flip in the trailer's CRC bytes is also a checksum error.
		bad := append([]byte(nil), data...)
		bad[blocks[0].Offset+blocks[0].Size+2] ^= 1
		tab, _ = Open(bad)
		it := tab.Iter()
		for it.Next() {
		}
		if !errors.Is(it.Err(), ErrChecksum) {
			t.Fatalf("trailer flip: err = %v", it.Err())
		}
		// The index block is checked at Open.
		f := tab.Footer()
		bad = append([]byte(nil), data...)
		bad[f.Index.Offset+1] ^= 0x01
		if _, err := Open(bad); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), fmt.Sprintf("block at %d", f.Index.Offset)) {
			t.Fatalf("index flip: err = %v", err)
		}
		// Bad magic.
		bad = append([]byte(nil), data...)
		bad[len(bad)-1] ^= 0xff
		if _, err := Open(bad); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "magic") {
			t.Fatalf("bad magic: err = %v", err)
		}
		// Every truncation must fail cleanly.
		for n := 0; n < len(data); n += 1 + n/16 {
			if _, err := Open(data[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes: no error", n, len(data))
			}
		}
	}
}

func TestHandleOutOfRange(t *testing.T) {
	data := buildTable(t, []string{"a"}, map[string]string{"a": "x"}, Options{})
	orig, err := ParseFooter(data)
	if err != nil {
		t.Fatal(err)
	}
	footer := data[len(data)-FooterLen:]
	// Rewrite the index handle to point past the end of the file.
	var f []byte
	f = orig.MetaIndex.append(f)
	f = BlockHandle{Offset: 1 << 40, Size: 1 << 40}.append(f)
	f = append(f, make([]byte, 40-len(f))...)
	f = binary.LittleEndian.AppendUint64(f, Magic)
	copy(footer, f)
	if _, err := Open(data); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

func TestSnappyBomb(t *testing.T) {
	// A snappy header that claims 1 GiB of output from a few bytes must be
	// refused before allocating.
	src := binary.AppendUvarint(nil, 1<<30)
	src = append(src, 0, 0, 0)
	if _, err := snappyDecode(src); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

func FuzzTable(f *testing.F) {
	rng := rand.New(rand.NewSource(4))
	keys, vals := randomKV(rng, 40)
	f.Add(buildTable(f, keys, vals, Options{}))
	f.Add(buildTable(f, keys, vals, Options{BlockSize: 100, RestartInterval: 2, Compression: SnappyCompression}))
	f.Add(buildTable(f, nil, nil, Options{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Open(data)
		if err != nil {
			return
		}
		it := tab.Iter()
		var prev []byte
		first := true
		for it.Next() {
			if !first && bytes.Compare(it.Key(), prev) <= 0 {
				t.Fatalf("iterator returned %q after %q", it.Key(), prev)
			}
			prev = append(prev[:0], it.Key()...)
			first = false
		}
	})
}

// TestIndexKeyBudget: an index block whose prefix-compressed keys would
// expand to far more than the file size is refused.
func TestIndexKeyBudget(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{})
	w.index = newBlockBuilder(1 << 20) // share prefixes in the index block
	long := strings.Repeat("k", 200_000)
	for i := 0; i < 400; i++ {
		w.index.add([]byte(fmt.Sprintf("%s%04d", long, i)), BlockHandle{}.append(nil))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 400_000 {
		t.Fatalf("table is %d bytes, prefix compression not in effect", buf.Len())
	}
	if _, err := Open(buf.Bytes()); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "keys total") {
		t.Fatalf("err = %v", err)
	}
}

// TestDecodeBudget checks that an iterator stops once the blocks it has
// decoded exceed its budget.
func TestDecodeBudget(t *testing.T) {
	keys, vals := randomKV(rand.New(rand.NewSource(9)), 200)
	tab, err := Open(buildTable(t, keys, vals, Options{BlockSize: 128}))
	if err != nil {
		t.Fatal(err)
	}
	it := tab.Iter()
	it.budget = 1000
	n := 0
	for it.Next() {
		n++
	}
	if !errors.Is(it.Err(), ErrCorrupt) || !strings.Contains(it.Err().Error(), "64 times") || n == 0 || n == len(keys) {
		t.Fatalf("after %d entries: err = %v", n, it.Err())
	}
}
