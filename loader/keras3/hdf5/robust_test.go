package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hostileOptions are small limits for damaged inputs.
var hostileOptions = Options{MaxBytes: 8 << 20, MaxMetadataBytes: 4 << 20, MaxObjects: 50000, MaxDepth: 32}

// sentinel reports whether err wraps one of the package's errors.
func sentinel(err error) bool {
	return errors.Is(err, ErrFormat) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrBudget) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrType)
}

// allocated returns the bytes fn allocated.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// readSlack covers what a read allocates beyond its budget: a zlib reader,
// error messages, small slices.
const readSlack = 1 << 20

// exercise opens data and touches everything the API offers: every group
// (members, attributes and their values) and every dataset (shape, type,
// attributes, values through every reader that fits its type), checking
// that each failure is a clean, wrapped error and that no single read
// allocates much more than the limits allow. It returns the errors seen.
func exercise(t testing.TB, data []byte, opts Options) []error {
	var errs []error
	note := func(err error) {
		if err == nil {
			return
		}
		if !sentinel(err) {
			t.Errorf("error wraps no sentinel: %v", err)
		}
		errs = append(errs, err)
	}
	var f *File
	var err error
	metaLimit := uint64(4*opts.MaxMetadataBytes) + uint64(opts.MaxObjects)*512 + 4<<20
	if got := allocated(func() { f, err = OpenOptions(bytes.NewReader(data), int64(len(data)), opts) }); got > metaLimit {
		t.Errorf("Open allocated %d bytes (limit %d)", got, metaLimit)
	}
	if err != nil {
		note(err)
		return errs
	}
	readLimit := uint64(2*opts.MaxBytes) + readSlack
	checkRead := func(what string, fn func() error) {
		var err error
		if got := allocated(func() { err = fn() }); got > readLimit {
			t.Errorf("%s allocated %d bytes (limit %d)", what, got, readLimit)
		}
		note(err)
	}
	attrs := func(list []*Attribute) {
		for _, a := range list {
			_ = a.Shape()
			switch a.DType().Kind {
			case String, VarString:
				checkRead("attribute strings", func() error { _, err := a.Strings(); return err })
			case Int, Uint:
				checkRead("attribute ints", func() error { _, err := a.Int64s(); return err })
				checkRead("attribute floats", func() error { _, err := a.Float64s(); return err })
			case Float:
				checkRead("attribute floats", func() error { _, err := a.Float64s(); return err })
			}
		}
	}
	// Groups through the public API, with an explicit stack.
	type item struct {
		g     *Group
		depth int
	}
	stack := []item{{f.Root(), 0}}
	seen := map[string]bool{}
	groups := 0
	for len(stack) > 0 && groups < 2000 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		groups++
		attrs(it.g.Attrs())
		if it.depth >= 8 {
			continue
		}
		for i, name := range it.g.Members() {
			if i >= 64 {
				break // Walk resolves the rest
			}
			sub, err := it.g.Group(name)
			if err == nil {
				if !seen[sub.Path()] {
					seen[sub.Path()] = true
					stack = append(stack, item{sub, it.depth + 1})
				}
				continue
			}
			if _, err := it.g.Dataset(name); err != nil {
				note(err)
			}
		}
	}
	datasets := 0
	read := map[uint64]bool{}
	note(f.Walk(func(p string, d *Dataset) error {
		datasets++
		if datasets > 500 || read[d.obj.addr] {
			return nil
		}
		read[d.obj.addr] = true
		_, _, _ = d.Shape(), d.Layout(), d.Filters()
		attrs(d.Attrs())
		checkRead("ReadRaw", func() error { _, err := d.ReadRaw(); return err })
		switch d.DType().Kind {
		case Float:
			checkRead("ReadFloat32", func() error { _, err := d.ReadFloat32(); return err })
			checkRead("ReadFloat64", func() error { _, err := d.ReadFloat64(); return err })
		case Int, Uint:
			checkRead("ReadInt64", func() error { _, err := d.ReadInt64(); return err })
		case String, VarString:
			checkRead("ReadStrings", func() error { _, err := d.ReadStrings(); return err })
		}
		return nil
	}))
	return errs
}

func testFiles(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, name := range generated {
		b, err := os.ReadFile(filepath.Join("testdata", name+".h5"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// TestExerciseClean: the generated files read without errors but the
// expected ones: the unsupported chunk index, soft and external links
// opened as groups or datasets, and a uint64 beyond int64.
func TestExerciseClean(t *testing.T) {
	for name, b := range testFiles(t) {
		for _, err := range exercise(t, b, Options{}) {
			switch {
			case errors.Is(err, ErrUnsupported) && strings.Contains(err.Error(), "extensible array"):
			case errors.Is(err, ErrUnsupported) && strings.Contains(err.Error(), "soft or external link"):
			case errors.Is(err, ErrType) && strings.Contains(err.Error(), "exceeds int64"):
			default:
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// TestTruncated cuts every test file at many lengths: each cut opens or
// fails cleanly, and whatever opens reads or fails cleanly.
func TestTruncated(t *testing.T) {
	for name, b := range testFiles(t) {
		step := max(len(b)/97, 1)
		cuts := []int{0, 1, 7, 8, 9, 15, 16, 23, 24, 40, 55, 56, 64, 95, 96, 100, 200, 511, 512, 600, 800, 1024, 2048}
		for n := 0; n < len(b); n += step {
			cuts = append(cuts, n)
		}
		opened := 0
		for _, n := range cuts {
			if n > len(b) {
				continue
			}
			errs := exercise(t, b[:n], hostileOptions)
			if len(errs) == 0 && n < len(b) {
				// Cutting unused space at the end is harmless; anything
				// shorter than the data must have failed somewhere.
				opened++
			}
		}
		t.Logf("%s: %d cuts, %d read without error", name, len(cuts), opened)
	}
}

// TestCorrupted flips, zeroes and saturates random bytes and byte runs of
// every test file: nothing panics, every error wraps a sentinel, and reads
// stay within their limits.
func TestCorrupted(t *testing.T) {
	rounds := 150
	if testing.Short() {
		rounds = 40
	}
	rng := rand.New(rand.NewSource(1))
	for name, orig := range testFiles(t) {
		failed := 0
		for r := 0; r < rounds; r++ {
			b := append([]byte(nil), orig...)
			for k := rng.Intn(4) + 1; k > 0; k-- {
				i := rng.Intn(len(b))
				switch rng.Intn(4) {
				case 0:
					b[i] ^= 1 << uint(rng.Intn(8))
				case 1:
					b[i] = 0xff
				case 2:
					for j := i; j < min(i+8, len(b)); j++ {
						b[j] = 0xff
					}
				default:
					b[i] = byte(rng.Intn(256))
				}
			}
			if len(exercise(t, b, hostileOptions)) > 0 {
				failed++
			}
		}
		t.Logf("%s: %d of %d corrupted copies reported errors", name, failed, rounds)
	}
}

// patch returns a copy of b with the bytes of old (which must occur once,
// at or after from) replaced by repl.
func patch(t *testing.T, b, old, repl []byte) []byte {
	t.Helper()
	i := bytes.Index(b, old)
	if i < 0 || bytes.Contains(b[i+1:], old) {
		t.Fatalf("pattern found %d times", bytes.Count(b, old))
	}
	out := append([]byte(nil), b...)
	copy(out[i:], repl)
	return out
}

// messageOf returns the data of the first message of type typ in the
// header of the object at path.
func messageOf(t *testing.T, b []byte, path string, typ uint16) []byte {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var addr uint64
	if path == "" {
		addr = f.rootAddr
	} else if d, err := f.Dataset(path); err == nil {
		addr = d.obj.addr
	} else if g, err := f.Group(path); err == nil {
		addr = g.obj.addr
	} else {
		t.Fatal(err)
	}
	msgs, err := f.readHeader(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.typ == typ {
			return append([]byte(nil), m.data...)
		}
	}
	t.Fatalf("%q has no message of type %d", path, typ)
	return nil
}

// TestHostileShapes: datasets that claim astronomically many elements, or
// chunk grids of trillions of chunks, fail before allocating.
func TestHostileShapes(t *testing.T) {
	v0 := testFiles(t)["v0"]
	for _, tc := range []struct {
		path string
		dims []uint64
	}{
		{"dtypes/f4", []uint64{1 << 40, 1 << 40}},           // product overflows
		{"dtypes/f4", []uint64{1 << 26, 1 << 26}},           // 2^52 elements: past MaxBytes
		{"chunked/deflate", []uint64{1 << 30, 1 << 30}},     // 2^60 chunks
		{"chunked/deflate", []uint64{1 << 20, 3}},           // past MaxBytes
		{"compact", []uint64{1 << 20, 1 << 20}},             // more than the compact data
		{"chunked/missing", []uint64{1<<63 - 1, 1<<63 - 1}}, // overflow
	} {
		ds := messageOf(t, v0, tc.path, msgDataspace)
		repl := append([]byte(nil), ds...)
		// Version 1 dataspace: 8 header bytes, then the dimensions.
		for i, v := range tc.dims {
			binary.LittleEndian.PutUint64(repl[8+8*i:], v)
		}
		b := patch(t, v0, ds, repl)
		var err error
		got := allocated(func() {
			var f *File
			if f, err = OpenOptions(bytes.NewReader(b), int64(len(b)), hostileOptions); err != nil {
				return
			}
			var d *Dataset
			if d, err = f.Dataset(tc.path); err != nil {
				return
			}
			_, err = d.ReadFloat32()
		})
		if err == nil || !sentinel(err) {
			t.Errorf("%s with dims %v: error %v", tc.path, tc.dims, err)
		}
		if got > 16<<20 {
			t.Errorf("%s with dims %v: allocated %d bytes", tc.path, tc.dims, got)
		}
		t.Logf("%s %v: %v", tc.path, tc.dims, err)
	}
}

// TestCycles: a B-tree node, a symbol table node and an object header
// continuation that point back at themselves end in errors.
func TestCycles(t *testing.T) {
	files := testFiles(t)

	// A version 1 object header continuation back to its first block.
	v0 := files["v0"]
	f, err := Open(bytes.NewReader(v0), int64(len(v0)))
	if err != nil {
		t.Fatal(err)
	}
	root := f.rootAddr
	// readHeader drops continuation messages, so find one in the raw
	// header: type 0x10, size 16, then the address and length.
	hdr, _ := f.readMeta(root, 16, "test")
	size := binary.LittleEndian.Uint32(hdr[8:])
	body, _ := f.readMeta(root+16, uint64(size), "test")
	found := false
	for off := 0; off+8 <= len(body); {
		typ := binary.LittleEndian.Uint16(body[off:])
		msize := int(binary.LittleEndian.Uint16(body[off+2:]))
		if typ == msgContinuation {
			b := append([]byte(nil), v0...)
			binary.LittleEndian.PutUint64(b[root+16+uint64(off)+8:], root+16)
			_, err := Open(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "appears twice") {
				t.Errorf("continuation loop: %v", err)
			}
			found = true
			break
		}
		off += 8 + msize
	}
	if !found {
		t.Error("no continuation message in the root header of v0.h5")
	}

	// A group B-tree whose child points back to the node itself.
	o4 := files["offsets4"]
	st := messageOf(t, o4, "many", msgSymbolTable)
	btree := uint64(binary.LittleEndian.Uint32(st))
	node := append([]byte(nil), o4[btree:btree+64]...)
	if string(node[:4]) != "TREE" || node[5] == 0 {
		t.Fatalf("many's B-tree root is not an internal node: %q level %d", node[:4], node[5])
	}
	// 4-byte offsets: signature, type, level, entries, 2 siblings, then
	// key 0 (4 bytes) and child 0.
	b := append([]byte(nil), o4...)
	binary.LittleEndian.PutUint32(b[btree+8+8+4:], uint32(btree))
	f2, err := Open(bytes.NewReader(b), int64(len(b)))
	if err == nil {
		_, err = f2.Group("many")
	}
	if !errors.Is(err, ErrFormat) {
		t.Errorf("B-tree loop: %v", err)
	}
	t.Logf("B-tree loop: %v", err)

	// A hard link cycle is walked once (v0.h5 links layers/loop to the
	// root); a depth limit stops deep nesting.
	f3, _ := Open(bytes.NewReader(v0), int64(len(v0)))
	n := 0
	if err := f3.Walk(func(string, *Dataset) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	f4, _ := OpenOptions(bytes.NewReader(v0), int64(len(v0)), Options{MaxDepth: 5})
	err = f4.Walk(func(string, *Dataset) error { return nil })
	if !errors.Is(err, ErrBudget) {
		t.Errorf("MaxDepth 5 over 13 nested groups: %v", err)
	}
	if _, err := f4.Dataset("d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/leaf"); !errors.Is(err, ErrBudget) {
		t.Errorf("deep path under MaxDepth 5: %v", err)
	}
}

// TestBudgets: each limit stops what exceeds it with ErrBudget.
func TestBudgets(t *testing.T) {
	files := testFiles(t)
	latest := files["latest"]
	for _, tc := range []struct {
		name string
		opts Options
		run  func(f *File) error
	}{
		{"metadata", Options{MaxMetadataBytes: 4096}, func(f *File) error {
			return f.Walk(func(string, *Dataset) error { return nil })
		}},
		{"objects", Options{MaxObjects: 100}, func(f *File) error {
			return f.Walk(func(string, *Dataset) error { return nil })
		}},
		{"read", Options{MaxBytes: 1000}, func(f *File) error {
			d, err := f.Dataset("chunked/fixed")
			if err != nil {
				return err
			}
			_, err = d.ReadFloat32()
			return err
		}},
		{"read-contiguous", Options{MaxBytes: 16}, func(f *File) error {
			d, err := f.Dataset("be")
			if err != nil {
				return err
			}
			_, err = d.ReadFloat64()
			return err
		}},
	} {
		f, err := OpenOptions(bytes.NewReader(latest), int64(len(latest)), tc.opts)
		if err == nil {
			err = tc.run(f)
		}
		if !errors.Is(err, ErrBudget) {
			t.Errorf("%s: %v, want ErrBudget", tc.name, err)
		}
	}
}

// TestErrorsNameTheirPlace: errors say which dataset, chunk or offset.
func TestErrorsNameTheirPlace(t *testing.T) {
	v0 := testFiles(t)["v0"]
	f, err := Open(bytes.NewReader(v0), int64(len(v0)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Dataset("chunked/deflate")
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt the first stored chunk's zlib stream.
	var first chunkRec
	rb := f.newReadBudget("test")
	grid := []uint64{3, 3}
	if err := d.chunks(rb, 48, grid, func(c chunkRec) error {
		if first.coords == nil {
			first = c
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), v0...)
	for i := uint64(2); i < first.size; i++ {
		b[first.addr+i] ^= 0x55
	}
	f, _ = Open(bytes.NewReader(b), int64(len(b)))
	d, _ = f.Dataset("chunked/deflate")
	_, err = d.ReadFloat32()
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("corrupt chunk: %v", err)
	}
	for _, want := range []string{`dataset "chunked/deflate"`, fmt.Sprintf("chunk at %v (0x%x)", first.coords, first.addr), "deflate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := f.Dataset("chunked/nothing"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "chunked/nothing") {
		t.Errorf("missing dataset: %v", err)
	}
}

// TestConcurrentReads: one File serves many goroutines (run with -race).
func TestConcurrentReads(t *testing.T) {
	b := testFiles(t)["latest"]
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"chunked/fixed", "chunked/btree2", "dense/link_with_a_longer_name_007", "target", "layers/gru/cell/vars/1"}
	want := map[string][]float32{}
	for _, p := range paths {
		d, err := f.Dataset(p)
		if err != nil {
			t.Fatal(err)
		}
		if want[p], err = d.ReadFloat32(); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func(w int) {
			f2, err := Open(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < 20; i++ {
				for _, file := range []*File{f, f2} {
					p := paths[(w+i)%len(paths)]
					d, err := file.Dataset(p)
					if err != nil {
						errs <- err
						return
					}
					got, err := d.ReadFloat32()
					if err != nil || len(got) != len(want[p]) || (len(got) > 0 && got[len(got)-1] != want[p][len(got)-1]) {
						errs <- fmt.Errorf("%s: %d values, %v", p, len(got), err)
						return
					}
					a, err := file.Root().Attr("vlen_list")
					if err != nil {
						errs <- err
						return
					}
					if _, err := a.Strings(); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- f2.Walk(func(string, *Dataset) error { return nil })
		}(w)
	}
	for w := 0; w < 8; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
