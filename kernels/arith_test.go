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

func TestCompareAndLogic(t *testing.T) {
	a := f32(sh(2, 2), 1, 2, 3, 4)
	b := f32(sh(2), 2, 2)
	cases := map[string][]bool{
		"Less":         {true, false, false, false},
		"LessEqual":    {true, true, false, false},
		"Greater":      {false, false, true, true},
		"GreaterEqual": {false, true, true, true},
		"Equal":        {false, true, false, false},
		"NotEqual":     {true, false, true, true},
	}
	for op, want := range cases {
		got := mustRun(t, op, nil, a, b)[0]
		wantTensor(t, got, bools(sh(2, 2), want...))
	}
	got := mustRun(t, "Equal", nil, strs(sh(3), "a", "b", "c"), strs(sh(), "b"))[0]
	wantTensor(t, got, bools(sh(3), false, true, false))
	got = mustRun(t, "Equal", Attrs{"incompatible_shape_error": false}, iota32(sh(3)), iota32(sh(2)))[0]
	wantTensor(t, got, bools(sh(), false))
	mustFail(t, "Less", nil, "No OpKernel", strs(sh(1), "a"), strs(sh(1), "b"))
	got = mustRun(t, "LogicalAnd", nil, bools(sh(2, 2), true, true, false, true), bools(sh(2), true, false))[0]
	wantTensor(t, got, bools(sh(2, 2), true, false, false, false))
	got = mustRun(t, "LogicalOr", nil, bools(sh(2), false, false), bools(sh(), true))[0]
	wantTensor(t, got, bools(sh(2), true, true))
	got = mustRun(t, "LogicalNot", nil, bools(sh(2), false, true))[0]
	wantTensor(t, got, bools(sh(2), true, false))
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	x := f32(sh(3), 1, inf, nan)
	wantTensor(t, mustRun(t, "IsNan", nil, x)[0], bools(sh(3), false, false, true))
	wantTensor(t, mustRun(t, "IsInf", nil, x)[0], bools(sh(3), false, true, false))
	wantTensor(t, mustRun(t, "IsFinite", nil, x)[0], bools(sh(3), true, false, false))
}

func TestUnaryFloat(t *testing.T) {
	x := f64(sh(7), -2.5, -1, -0.5, 0, 0.5, 1.5, 3)
	sigmoid := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	ops := map[string]func(float64) float64{
		"Neg":        func(v float64) float64 { return -v },
		"Abs":        math.Abs,
		"Square":     func(v float64) float64 { return v * v },
		"Exp":        math.Exp,
		"Expm1":      math.Expm1,
		"Floor":      math.Floor,
		"Ceil":       math.Ceil,
		"Round":      math.RoundToEven,
		"Rint":       math.RoundToEven,
		"Sigmoid":    sigmoid,
		"Tanh":       math.Tanh,
		"Relu":       func(v float64) float64 { return math.Max(v, 0) },
		"Relu6":      func(v float64) float64 { return math.Min(math.Max(v, 0), 6) },
		"Elu":        func(v float64) float64 { return map[bool]float64{true: math.Exp(v) - 1, false: v}[v < 0] },
		"Softplus":   func(v float64) float64 { return math.Log(1 + math.Exp(v)) },
		"Softsign":   func(v float64) float64 { return v / (1 + math.Abs(v)) },
		"Erf":        math.Erf,
		"Sin":        math.Sin,
		"Cos":        math.Cos,
		"Reciprocal": func(v float64) float64 { return 1 / v },
		"Sign": func(v float64) float64 {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return -1
			}
			return 0
		},
		"Selu": func(v float64) float64 {
			if v < 0 {
				return 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * (math.Exp(v) - 1)
			}
			return 1.0507009873554804934193349852946 * v
		},
	}
	for op, f := range ops {
		want := make([]float64, x.Len())
		for i, v := range x.F64() {
			want[i] = f(v)
		}
		wantClose(t, mustRun(t, op, nil, x)[0], f64(sh(7), want...), 1e-12)
		x32 := f32(sh(7), -2.5, -1, -0.5, 0, 0.5, 1.5, 3)
		w32 := make([]float32, len(want))
		for i, v := range want {
			w32[i] = float32(v)
		}
		wantClose(t, mustRun(t, op, nil, x32)[0], f32(sh(7), w32...), 1e-6)
	}
	pos := f64(sh(3), 0.25, 1, 4)
	wantClose(t, mustRun(t, "Sqrt", nil, pos)[0], f64(sh(3), 0.5, 1, 2), 1e-15)
	wantClose(t, mustRun(t, "Rsqrt", nil, pos)[0], f64(sh(3), 2, 1, 0.5), 1e-15)
	wantClose(t, mustRun(t, "Log", nil, pos)[0], f64(sh(3), math.Log(0.25), 0, math.Log(4)), 1e-15)
	wantClose(t, mustRun(t, "Log1p", nil, pos)[0], f64(sh(3), math.Log(1.25), math.Log(2), math.Log(5)), 1e-15)
	wantClose(t, mustRun(t, "LeakyRelu", Attrs{"alpha": float32(0.1)}, f64(sh(2), -2, 3))[0], f64(sh(2), -0.2, 3), 1e-7)
	// Integer unary ops.
	wantTensor(t, mustRun(t, "Abs", nil, i32(sh(3), -3, 0, 4))[0], i32(sh(3), 3, 0, 4))
	wantTensor(t, mustRun(t, "Neg", nil, i64(sh(2), -3, 4))[0], i64(sh(2), 3, -4))
	wantTensor(t, mustRun(t, "Sign", nil, i32(sh(3), -3, 0, 4))[0], i32(sh(3), -1, 0, 1))
	wantTensor(t, mustRun(t, "Square", nil, i32(sh(2), -3, 4))[0], i32(sh(2), 9, 16))
	mustFail(t, "Sqrt", nil, "No OpKernel", i32(sh(1), 4))
	mustFail(t, "Neg", nil, "No OpKernel", strs(sh(1), "x"))
}

func TestCast(t *testing.T) {
	x := f32(sh(5), -1.7, -0.5, 0, 2.9, 300)
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Int32}, x)[0], i32(sh(5), -1, 0, 0, 2, 300))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Bool}, x)[0], bools(sh(5), true, true, false, true, true))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Uint8}, i32(sh(2), 257, 3))[0], tensor.FromSlice(sh(2), []uint8{1, 3}))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Float32}, bools(sh(2), true, false))[0], f32(sh(2), 1, 0))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Float64}, i64(sh(2), 1<<40, -3))[0], f64(sh(2), 1<<40, -3))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Int64}, f64(sh(2), 1e10, -2.5))[0], i64(sh(2), 10000000000, -2))
	// Half: 1.0 = 0x3c00, -2 = 0xc000, 65504 = 0x7bff, 1/3 rounds to 0x3555.
	h := mustRun(t, "Cast", Attrs{"DstT": tensor.Half}, f32(sh(4), 1, -2, 65504, 1.0/3))[0]
	if got := h.Data.([]uint16); got[0] != 0x3c00 || got[1] != 0xc000 || got[2] != 0x7bff || got[3] != 0x3555 {
		t.Fatalf("half bits %x", got)
	}
	back := mustRun(t, "Cast", Attrs{"DstT": tensor.Float32}, h)[0]
	wantClose(t, back, f32(sh(4), 1, -2, 65504, 0.333251953125), 0)
	bf := mustRun(t, "Cast", Attrs{"DstT": tensor.BFloat16}, f32(sh(2), 1, -2))[0]
	if got := bf.Data.([]uint16); got[0] != 0x3f80 || got[1] != 0xc000 {
		t.Fatalf("bfloat16 bits %x", got)
	}
	if _, err := runOp(t, "Cast", Attrs{}, x); err == nil {
		t.Fatal("Cast without DstT should fail to build")
	}
	mustFail(t, "Cast", Attrs{"DstT": tensor.Int32}, "Unsupported cast", strs(sh(1), "1"))
}

func TestSelectClipAddN(t *testing.T) {
	c := bools(sh(2), true, false)
	a := f32(sh(2, 2), 1, 2, 3, 4)
	b := f32(sh(2, 2), 5, 6, 7, 8)
	wantTensor(t, mustRun(t, "Select", nil, c, a, b)[0], f32(sh(2, 2), 1, 2, 7, 8))
	wantTensor(t, mustRun(t, "Select", nil, bools(sh(2, 2), true, false, false, true), a, b)[0], f32(sh(2, 2), 1, 6, 7, 4))
	wantTensor(t, mustRun(t, "Select", nil, bools(sh(), false), a, b)[0], b)
	mustFail(t, "Select", nil, "must have the same size", bools(sh(3), true, true, true), a, b)
	// SelectV2 broadcasts all three.
	got := mustRun(t, "SelectV2", nil, bools(sh(2), true, false), f32(sh(2, 1), 1, 2), f32(sh(), 0))[0]
	wantTensor(t, got, f32(sh(2, 2), 1, 0, 2, 0))
	got = mustRun(t, "ClipByValue", nil, f32(sh(4), -3, 0, 2, 9), f32(sh(), -1), f32(sh(), 5))[0]
	wantTensor(t, got, f32(sh(4), -1, 0, 2, 5))
	mustFail(t, "ClipByValue", nil, "must be either scalars", f32(sh(4), 1, 2, 3, 4), f32(sh(2), 0, 0), f32(sh(), 1))
	got = mustRun(t, "AddN", nil, a, b, a)[0]
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

func BenchmarkSigmoidF32(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randF32(r, sh(256, 1024))
	bl, _ := Lookup("Sigmoid")
	f, _ := bl(nil, 1)
	b.SetBytes(4 * 256 * 1024)
	for i := 0; i < b.N; i++ {
		if _, err := f(&Context{}, []*tensor.Tensor{x}); err != nil {
			b.Fatal(err)
		}
	}
}
