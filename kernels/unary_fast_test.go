package kernels

import (
	"math"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// TestFastFloat32Activations: the vectorized float32 Sigmoid, Tanh and Relu
// agree with float64 math on a wide range, including saturated inputs.
func TestFastFloat32Activations(t *testing.T) {
	var xs []float32
	for x := -100.0; x <= 100; x += 0.37 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, -0.0001, 0.0001, 1e-20, -1e-20, 88, -88, 1000, -1000)
	ref := map[string]func(float64) float64{
		"Sigmoid": func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		"Tanh":    math.Tanh,
		"Relu":    func(x float64) float64 { return math.Max(x, 0) },
	}
	for op, f := range ref {
		b, _ := Lookup(op)
		fn, err := b(Attrs{"T": tensor.Float32}, 1)
		if err != nil {
			t.Fatal(err)
		}
		out, err := fn(&Context{}, []*tensor.Tensor{tensor.FromSlice(tensor.Shape{len(xs)}, xs)})
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			want := f(float64(x))
			got := float64(out[0].F32()[i])
			if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("%s(%v) = %v, want %v", op, x, got, want)
			}
		}
	}
}
