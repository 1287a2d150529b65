package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// refBroadcast applies f elementwise with numpy broadcasting, computed the
// slow way: every output index is mapped back into each input.
func refBroadcast(a []float64, as tensor.Shape, b []float64, bs tensor.Shape, f func(x, y float64) float64) ([]float64, tensor.Shape) {
	r := max(len(as), len(bs))
	pad := func(s tensor.Shape) tensor.Shape {
		p := make(tensor.Shape, r)
		for i := range p {
			p[i] = 1
		}
		copy(p[r-len(s):], s)
		return p
	}
	pa, pb := pad(as), pad(bs)
	os := make(tensor.Shape, r)
	for i := range os {
		os[i] = max(pa[i], pb[i])
	}
	out := make([]float64, os.NumElements())
	for i := range out {
		idx := unravel(i, os)
		ia := make([]int, r)
		ib := make([]int, r)
		for k := range idx {
			if pa[k] != 1 {
				ia[k] = idx[k]
			}
			if pb[k] != 1 {
				ib[k] = idx[k]
			}
		}
		out[i] = f(a[ravel(ia, pa)], b[ravel(ib, pb)])
	}
	return out, os
}

// randBroadcastPair returns two shapes that broadcast together.
func randBroadcastPair(r *rand.Rand) (tensor.Shape, tensor.Shape) {
	rank := r.IntN(5)
	full := randShape(r, rank, 4)
	mk := func() tensor.Shape {
		drop := r.IntN(rank + 1)
		s := full[drop:].Clone()
		for i := range s {
			if r.IntN(3) == 0 {
				s[i] = 1
			}
		}
		return s
	}
	return mk(), mk()
}

func TestBinaryBroadcastFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ops := map[string]func(x, y float64) float64{
		"Add":               func(x, y float64) float64 { return x + y },
		"AddV2":             func(x, y float64) float64 { return x + y },
		"Sub":               func(x, y float64) float64 { return x - y },
		"Mul":               func(x, y float64) float64 { return x * y },
		"RealDiv":           func(x, y float64) float64 { return x / y },
		"Div":               func(x, y float64) float64 { return x / y },
		"Maximum":           math.Max,
		"Minimum":           math.Min,
		"SquaredDifference": func(x, y float64) float64 { return (x - y) * (x - y) },
		"Pow":               func(x, y float64) float64 { return math.Pow(math.Abs(x), y) },
		"FloorDiv":          func(x, y float64) float64 { return math.Floor(x / y) },
		"FloorMod":          func(x, y float64) float64 { return x - math.Floor(x/y)*y },
		"DivNoNan":          func(x, y float64) float64 { return x / y },
	}
	for op, f := range ops {
		for iter := 0; iter < 60; iter++ {
			as, bs := randBroadcastPair(r)
			a, b := randF32(r, as), randF32(r, bs)
			if op == "Pow" {
				for i, v := range a.F32() {
					a.F32()[i] = float32(math.Abs(float64(v)))
				}
			}
			want, os := refBroadcast(asF64(a), as, asF64(b), bs, f)
			w32 := make([]float32, len(want))
			for i, v := range want {
				w32[i] = float32(v)
			}
			got := mustRun(t, op, nil, a, b)[0]
			wantClose(t, got, f32(os, w32...), 1e-5)
			// float64 path too.
			a64 := f64(as, asF64(a)...)
			b64 := f64(bs, asF64(b)...)
			got64 := mustRun(t, op, nil, a64, b64)[0]
			wantClose(t, got64, f64(os, want...), 1e-12)
		}
	}
}

func TestBinaryIntegerSemantics(t *testing.T) {
	a := i32(sh(6), -7, 7, -7, 7, 5, -1)
	b := i32(sh(6), 2, 2, -2, -2, 3, 3)
	cases := []struct {
		op   string
		want []int32
	}{
		{"FloorDiv", []int32{-4, 3, 3, -4, 1, -1}},
		{"FloorMod", []int32{1, 1, -1, -1, 2, 2}},
		{"TruncateDiv", []int32{-3, 3, 3, -3, 1, 0}},
		{"Div", []int32{-3, 3, 3, -3, 1, 0}},
		{"Mod", []int32{-1, 1, -1, 1, 2, -1}},
		{"TruncateMod", []int32{-1, 1, -1, 1, 2, -1}},
		{"Maximum", []int32{2, 7, -2, 7, 5, 3}},
		{"Pow", []int32{49, 49, 0, 0, 125, -1}},
	}
	for _, c := range cases {
		bb := b
		if c.op == "Pow" {
			bb = i32(sh(6), 2, 2, 0, 0, 3, 3)
			c.want = []int32{49, 49, 1, 1, 125, -1}
		}
		got := mustRun(t, c.op, nil, a, bb)[0]
		wantTensor(t, got, i32(sh(6), c.want...))
	}
	mustFail(t, "FloorDiv", nil, "Integer division by zero", i32(sh(2), 1, 2), i32(sh(2), 1, 0))
	mustFail(t, "FloorMod", nil, "Integer division by zero", i64(sh(1), 1), i64(sh(), 0))
	mustFail(t, "Pow", nil, "negative integer powers", i32(sh(1), 2), i32(sh(1), -1))
	mustFail(t, "Add", nil, "Incompatible shapes: [2,3] vs. [2]", iota32(sh(2, 3)), iota32(sh(2)))
	mustFail(t, "Add", nil, "same type", iota32(sh(2)), i32(sh(2), 1, 2))
	mustFail(t, "RealDiv", nil, "No OpKernel", i32(sh(1), 1), i32(sh(1), 1))
	// uint8 wraps like TF's uint8 arithmetic.
	got := mustRun(t, "Add", nil, tensor.FromSlice(sh(2), []uint8{250, 3}), tensor.FromSlice(sh(), []uint8{10}))[0]
	wantTensor(t, got, tensor.FromSlice(sh(2), []uint8{4, 13}))
	// String Add concatenates with broadcasting.
	got = mustRun(t, "Add", nil, strs(sh(2), "a", "b"), strs(sh(), "!"))[0]
	wantTensor(t, got, strs(sh(2), "a!", "b!"))
}

func TestMaximumNaN(t *testing.T) {
	nan := float32(math.NaN())
	got := mustRun(t, "Maximum", nil, f32(sh(3), nan, 1, 2), f32(sh(3), 1, nan, 1))[0].F32()
	if !math.IsNaN(float64(got[0])) || !math.IsNaN(float64(got[1])) || got[2] != 2 {
		t.Fatalf("Maximum NaN propagation: %v", got)
	}
}

func TestAddN(t *testing.T) {
	a := f32(sh(2, 2), 1, 2, 3, 4)
	b := f32(sh(2, 2), 5, 6, 7, 8)
	got := mustRun(t, "AddN", nil, a, b, a)[0]
	wantTensor(t, got, f32(sh(2, 2), 7, 10, 13, 16))
	mustFail(t, "AddN", nil, "same size and shape", a, f32(sh(4), 1, 2, 3, 4))
}

func BenchmarkAddF32SameShape(b *testing.B) {
	benchBinary(b, "AddV2", sh(256, 1024), sh(256, 1024))
}

func BenchmarkAddF32RowBroadcast(b *testing.B) {
	benchBinary(b, "AddV2", sh(256, 1024), sh(1024))
}

func BenchmarkMulF32Scalar(b *testing.B) {
	benchBinary(b, "Mul", sh(256, 1024), sh())
}

func BenchmarkAddF32ColBroadcast(b *testing.B) {
	benchBinary(b, "AddV2", sh(256, 1024), sh(256, 1))
}

func benchBinary(b *testing.B, op string, as, bs tensor.Shape) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randF32(r, as), randF32(r, bs)
	bl, _ := Lookup(op)
	f, err := bl(nil, 2)
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Context{}
	b.SetBytes(int64(4 * as.NumElements()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f(ctx, []*tensor.Tensor{x, y}); err != nil {
			b.Fatal(err)
		}
	}
}
