package jsontensor

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestFloatFormatExamples(t *testing.T) {
	// From docs/tf-serving.md and TF Serving's own tests.
	f32 := []struct {
		v    float32
		want string
	}{
		{3.1415927, "3.14159274"},
		{123456789, "123456792.0"},
		{1.0 / 3, "0.333333343"},
		{9e6, "9e+06"},
		{999999, "999999.0"},
		{3e-5, "3e-05"},
		{0.2, "0.2"},
		{1, "1.0"},
		{0, "0.0"},
		{float32(math.Copysign(0, -1)), "-0.0"},
		{-2.5, "-2.5"},
		{1e21, "1e+21"},
		{100000, "100000.0"},
		{1000000, "1e+06"},
		{0.0001, "0.0001"},
		{float32(math.NaN()), "NaN"},
		{float32(math.Inf(1)), "Infinity"},
		{float32(math.Inf(-1)), "-Infinity"},
	}
	for _, c := range f32 {
		if got := string(AppendFloat32(nil, c.v)); got != c.want {
			t.Errorf("float32 %v: got %s want %s", c.v, got, c.want)
		}
	}
	f64 := []struct {
		v    float64
		want string
	}{
		{1.0 / 3, "0.33333333333333331"},
		{0.1, "0.1"},
		{9e6, "9e+06"},
		{3e-5, "3e-05"},
		{123456789, "123456789.0"},
		{1.5e300, "1.5e+300"},
		{5e-324, "4.94066e-324"},
	}
	for _, c := range f64 {
		if got := string(AppendFloat64(nil, c.v)); got != c.want {
			t.Errorf("float64 %v: got %s want %s", c.v, got, c.want)
		}
	}
}

// TestFloatFormatPythonTable compares with testdata/floatfmt.tsv, written by
// testdata/gen_floatfmt.py from Python's C-printf '%g' and an exact rational
// round-trip check.
func TestFloatFormatPythonTable(t *testing.T) {
	lines := readLines(t, "testdata/floatfmt.tsv")
	if len(lines) < 5000 {
		t.Fatalf("only %d lines", len(lines))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		bits, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if f[1] == "f32" {
			got = string(AppendFloat32(nil, math.Float32frombits(uint32(bits))))
		} else {
			got = string(AppendFloat64(nil, math.Float64frombits(bits)))
		}
		if got != f[2] {
			t.Errorf("%s %s: got %s want %s", f[1], f[0], got, f[2])
		}
	}
}

// refG is C's "%.<p>g", written from the C standard's definition with exact
// big-float arithmetic: X is the exponent of the value rounded to p digits;
// if p > X >= -4 use "%.<p-1-X>f", else "%.<p-1>e"; then drop trailing
// zeros and a trailing point.
func refG(v float64, p int) string {
	x := new(big.Float).SetFloat64(v)
	e := x.Text('e', p-1)
	mant, expStr, _ := strings.Cut(e, "e")
	X, _ := strconv.Atoi(expStr)
	var s string
	if X < -4 || X >= p {
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := "+"
		if X < 0 {
			sign, X = "-", -X
		}
		es := strconv.Itoa(X)
		if len(es) < 2 {
			es = "0" + es
		}
		s = mant + "e" + sign + es
	} else {
		s = x.Text('f', p-1-X)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
	}
	return s
}

func refWriteDecimal(v float64, bitSize int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	s := refG(v, 6)
	back, err := strconv.ParseFloat(s, bitSize)
	if err != nil || back != v {
		if bitSize == 32 {
			s = refG(v, 9)
		} else {
			s = refG(v, 17)
		}
	}
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func TestFloatFormatBigReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		var b32 uint32
		var v64 float64
		switch i % 4 {
		case 0:
			b32 = r.Uint32()
			v64 = math.Float64frombits(r.Uint64())
		case 1: // short decimals, which take the 6-digit path
			d := math.Round(r.Float64()*1e6) / math.Pow10(r.IntN(12))
			b32 = math.Float32bits(float32(d))
			v64 = d * math.Pow10(r.IntN(40)-20)
		case 2: // integers
			v64 = float64(r.Int64N(1 << 40))
			b32 = math.Float32bits(float32(v64))
		default: // subnormals
			b32 = r.Uint32N(1 << 23)
			v64 = math.Float64frombits(r.Uint64N(1 << 52))
		}
		v32 := math.Float32frombits(b32)
		if got, want := string(AppendFloat32(nil, v32)), refWriteDecimal(float64(v32), 32); got != want {
			t.Fatalf("float32 bits %08x: got %s want %s", b32, got, want)
		}
		if got, want := string(AppendFloat64(nil, v64)), refWriteDecimal(v64, 64); got != want {
			t.Fatalf("float64 %v (%016x): got %s want %s", v64, math.Float64bits(v64), got, want)
		}
	}
}
