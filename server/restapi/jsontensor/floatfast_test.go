package jsontensor

import (
	"flag"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

var longFloat = flag.Bool("long", false, "check the float32 writer on all 2^32 bit patterns (about 20 minutes on two cores)")

// checkFloat32 compares the fast writer with the strconv-based reference
// (appendDecimal, which TestFloatFormatPythonTable and
// TestFloatFormatBigReference hold to C's printf) on one bit pattern.
func checkFloat32(t testing.TB, u uint32, got, want []byte) ([]byte, []byte) {
	v := math.Float32frombits(u)
	got = AppendFloat32(got[:0], v)
	want = appendDecimal(want[:0], float64(v), 32)
	if string(got) != string(want) {
		t.Fatalf("float32 bits %08x (%v): fast %s, reference %s", u, v, got, want)
	}
	return got, want
}

func checkFloat64(t testing.TB, u uint64, got, want []byte) ([]byte, []byte) {
	v := math.Float64frombits(u)
	got = AppendFloat64(got[:0], v)
	want = appendDecimal(want[:0], v, 64)
	if string(got) != string(want) {
		t.Fatalf("float64 bits %016x (%v): fast %s, reference %s", u, v, got, want)
	}
	return got, want
}

// edgeFloat32 lists the bit patterns where the fast writer's cases meet:
// both signs of every binade's first and last three values, the values
// around each power of ten, decimal-digit carries (999999.5, 99999.95...),
// exact ties of the 9-digit rounding, the subnormal and overflow bounds.
func edgeFloat32() []uint32 {
	var us []uint32
	add := func(v float32) {
		u := math.Float32bits(v)
		for d := -3; d <= 3; d++ {
			us = append(us, u+uint32(d), (u+uint32(d))|1<<31)
		}
	}
	for b := range uint32(256) {
		add(math.Float32frombits(b << 23))
	}
	for k := -45; k <= 38; k++ {
		add(float32(math.Pow10(k)))
		for _, c := range []float64{9.999995, 9.99999949, 9.9999995, 9.99999999, 1.000005, 5, 2.5} {
			add(float32(c * math.Pow10(k)))
		}
	}
	for _, v := range []float32{2097151.625, 2097151.875, 4194303.75, 8388607.5, 16777215, 16777217, 999999.5, 9999995, 0.1, 0.2, 0.3, 3.4028235e38} {
		add(v)
	}
	return us
}

func TestFastFloat32Edges(t *testing.T) {
	var got, want []byte
	for _, u := range edgeFloat32() {
		got, want = checkFloat32(t, u, got, want)
	}
}

func TestFastFloat32Random(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	r := rand.New(rand.NewPCG(5, 6))
	var got, want []byte
	for i := range n {
		u := r.Uint32()
		if i%2 == 1 {
			// Short decimals, which take the 6-digit path and its
			// round-trip decision.
			d := float64(r.IntN(1_000_000)) * math.Pow10(r.IntN(30)-15)
			u = math.Float32bits(float32(d)) + uint32(r.IntN(3)) - 1
		}
		got, want = checkFloat32(t, u, got, want)
	}
}

func TestFastFloat64(t *testing.T) {
	n := 300_000
	if testing.Short() {
		n = 30_000
	}
	r := rand.New(rand.NewPCG(7, 8))
	var got, want []byte
	for b := range uint64(2048) {
		for d := uint64(0); d < 3; d++ {
			got, want = checkFloat64(t, b<<52+d, got, want)
			got, want = checkFloat64(t, b<<52-d-1, got, want)
		}
	}
	for k := -330; k <= 310; k++ {
		for _, c := range []float64{1, 9.999995, 9.9999949999999, 9.999995000000001, 5, 2.5} {
			u := math.Float64bits(c * math.Pow10(k))
			for d := range uint64(5) {
				got, want = checkFloat64(t, u+d-2, got, want)
			}
		}
	}
	for i := range n {
		u := r.Uint64()
		switch i % 3 {
		case 1:
			u = math.Float64bits(float64(r.IntN(1_000_000))*math.Pow10(r.IntN(40)-20)) + uint64(r.IntN(3)) - 1
		case 2: // float32 values widened, as float32 models' outputs cast
			u = math.Float64bits(float64(math.Float32frombits(r.Uint32())))
		}
		got, want = checkFloat64(t, u, got, want)
	}
}

// TestFastFloat32All checks every float32 bit pattern (go test -run
// TestFastFloat32All -long; about 20 minutes on two busy cores).
func TestFastFloat32All(t *testing.T) {
	if !*longFloat {
		t.Skip("-long not set")
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var got, want []byte
			for u := uint64(w); u < 1<<32; u += uint64(workers) {
				got, want = checkFloat32(t, uint32(u), got, want)
			}
		})
	}
	wg.Wait()
}

func FuzzFloatFormat(f *testing.F) {
	f.Add(uint64(math.Float64bits(0.1)))
	f.Add(uint64(math.Float32bits(3.1415927)))
	f.Add(uint64(math.Float64bits(1e23)))
	f.Fuzz(func(t *testing.T, u uint64) {
		checkFloat32(t, uint32(u), nil, nil)
		checkFloat32(t, uint32(u>>32), nil, nil)
		checkFloat64(t, u, nil, nil)
	})
}

// TestFastFloatCoverage holds the fast path to its documented range: every
// normal float32 from 1e-36 to 1e33 and double from 1e-16 to 1e33 is
// written without the strconv fallback.
func TestFastFloatCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 100_000 {
		v := float32(math.Pow(10, -36+r.Float64()*69))
		u := math.Float32bits(v)
		if _, ok := float32Format.appendFast(nil, int(u>>23), uint64(u&(1<<23-1))); !ok {
			t.Fatalf("float32 %v (%08x) fell back", v, u)
		}
		d := math.Pow(10, -16+r.Float64()*49)
		w := math.Float64bits(d)
		if _, ok := float64Format.appendFast(nil, int(w>>52), w&(1<<52-1)); !ok {
			t.Fatalf("float64 %v (%016x) fell back", d, w)
		}
	}
}

// benchFloats are full-precision float32 values in [-1, 1), as a model
// computes them (most take the 9-digit path).
func benchFloats() []float32 {
	r := rand.New(rand.NewPCG(17, 18))
	v := make([]float32, 4096)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func BenchmarkAppendFloat32(b *testing.B) {
	v := benchFloats()
	buf := make([]byte, 0, 64)
	for b.Loop() {
		for _, x := range v {
			buf = AppendFloat32(buf[:0], x)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(v)), "ns/value")
}

func BenchmarkAppendFloat32Reference(b *testing.B) {
	v := benchFloats()
	buf := make([]byte, 0, 64)
	for b.Loop() {
		for _, x := range v {
			buf = appendDecimal(buf[:0], float64(x), 32)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(v)), "ns/value")
}

// TestLog10Pow2 checks log10Pow2 against exact arithmetic for every
// binary exponent of a float64 (subnormals' included).
func TestLog10Pow2(t *testing.T) {
	ten := big.NewInt(10)
	for k := -1100; k <= 1100; k++ {
		// want = max n with 10^n <= 2^k.
		p2 := new(big.Rat).SetFrac(big.NewInt(1), big.NewInt(1))
		if k >= 0 {
			p2.SetInt(new(big.Int).Lsh(big.NewInt(1), uint(k)))
		} else {
			p2.SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(-k)))
		}
		n := log10Pow2(k)
		pow := func(n int) *big.Rat {
			p := new(big.Int).Exp(ten, big.NewInt(int64(max(n, -n))), nil)
			if n >= 0 {
				return new(big.Rat).SetInt(p)
			}
			return new(big.Rat).SetFrac(big.NewInt(1), p)
		}
		if pow(n).Cmp(p2) > 0 || pow(n+1).Cmp(p2) <= 0 {
			t.Fatalf("log10Pow2(%d) = %d, wrong", k, n)
		}
	}
}

// FuzzWriteSeq holds the writer's array loops (float32s, writeSeq) to what
// one prefix() and one reference-formatted value per element write, in
// the same writer state: nesting depth (past the inline levels too),
// single-line arrays or not, first element or not.
func FuzzWriteSeq(f *testing.F) {
	f.Add(uint8(2), true, false, []byte{0, 0, 0x80, 0x3f, 0xdb, 0x0f, 0x49, 0x40})
	f.Add(uint8(11), false, true, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(uint8(0), false, false, []byte{})
	f.Fuzz(func(t *testing.T, depth uint8, single, more bool, data []byte) {
		open := func() (*prettyWriter, *prettyWriter) {
			a, b := newPrettyWriter(nil), newPrettyWriter(nil)
			for _, w := range []*prettyWriter{a, b} {
				w.startObject()
				w.stringS("k")
				for range int(depth % 12) {
					w.startArray()
				}
				w.single = single
				if more {
					w.int64(7)
				}
			}
			return a, b
		}
		f32 := make([]float32, len(data)/4)
		f64 := make([]float64, len(data)/8)
		i64 := make([]int64, len(data)/8)
		for i := range f32 {
			f32[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		for i := range f64 {
			var u uint64
			for k := range 8 {
				u |= uint64(data[8*i+k]) << (8 * k)
			}
			f64[i], i64[i] = math.Float64frombits(u), int64(u)
		}
		check := func(what string, fast func(*prettyWriter) bool, ref func(*prettyWriter)) {
			a, b := open()
			if !fast(a) {
				t.Fatalf("%s: full without a limit", what)
			}
			ref(b)
			a.endArray()
			b.endArray()
			if string(a.buf) != string(b.buf) {
				t.Fatalf("%s: loop wrote\n%s\nper value:\n%s", what, a.buf, b.buf)
			}
		}
		check("float32", func(w *prettyWriter) bool { return w.float32s(f32) }, func(w *prettyWriter) {
			for _, x := range f32 {
				w.prefix()
				w.buf = appendDecimal(w.buf, float64(x), 32)
			}
		})
		check("float64", func(w *prettyWriter) bool { return writeSeq(w, f64, AppendFloat64) }, func(w *prettyWriter) {
			for _, x := range f64 {
				w.prefix()
				w.buf = appendDecimal(w.buf, x, 64)
			}
		})
		check("int64", func(w *prettyWriter) bool { return writeSeq(w, i64, appendInt[int64]) }, func(w *prettyWriter) {
			for _, x := range i64 {
				w.int64(x)
			}
		})
	})
}
