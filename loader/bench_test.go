package loader_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/tensor"
)

// BenchmarkGRUFixture runs christopher_stock (GRU(64) over 14 steps →
// Dense → Dense) at batch 1 through the loaded model, fused and unfused.
func BenchmarkGRUFixture(b *testing.B) {
	fx := fixtures.Dir(b)
	dir := filepath.Join(fx, "keras/gru/christopher_stock/1")
	for _, fused := range []bool{true, false} {
		name := "fused"
		if !fused {
			name = "unfused"
		}
		b.Run(name, func(b *testing.B) {
			m, err := loader.Load(context.Background(), dir, loader.Options{DisableFusion: !fused})
			if err != nil {
				b.Fatal(err)
			}
			x := tensor.New(tensor.Float32, tensor.Shape{1, 14, 6})
			for i, v := range x.F32() {
				x.F32()[i] = float32(i%7) * 0.1
				_ = v
			}
			in := map[string]*tensor.Tensor{"input_2": x}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Run(context.Background(), "serving_default", in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHalfPlusTwo runs TF Serving's half_plus_two at batch 3.
func BenchmarkHalfPlusTwo(b *testing.B) {
	fx := fixtures.Dir(b)
	m, err := loader.Load(context.Background(), filepath.Join(fx, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123"), loader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{3, 1}, []float32{1, 2, 5})}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.Run(context.Background(), "serving_default", in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
