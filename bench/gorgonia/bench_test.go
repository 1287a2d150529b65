// Package gorgoniabench compares tfserve's own engine with the gorgonia
// engine (graph/gorgonia) on a real Keras GRU fixture. Run with
// `go test -run '^$' -bench . -benchmem ./bench/gorgonia/`.
package gorgoniabench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

func BenchmarkChristopherStock(b *testing.B) {
	fx := fixtures.Dir(b)
	dir := filepath.Join(fx, "keras/gru/christopher_stock/1")
	if _, err := os.Stat(dir); err != nil {
		b.Fatal(err)
	}
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	gm, err := gorgonia.New(m, gorgonia.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 64} {
		x := tensor.New(tensor.Float32, tensor.Shape{batch, 14, 6})
		for i, d := 0, x.F32(); i < len(d); i++ {
			d[i] = float32(math.Sin(float64(i) * 0.1))
		}
		in := map[string]*tensor.Tensor{"input_2": x}
		for _, e := range []struct {
			name string
			m    servable.Model
		}{{"tfserve", m}, {"gorgonia", gm}} {
			b.Run(fmt.Sprintf("batch=%d/engine=%s", batch, e.name), func(b *testing.B) {
				if _, err := e.m.Run(context.Background(), "serving_default", in, nil); err != nil {
					b.Fatal(err) // also lowers the gorgonia graph outside the timing
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := e.m.Run(context.Background(), "serving_default", in, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
