package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

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
