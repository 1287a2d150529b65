package batching

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

// BenchmarkGRUConcurrent measures a Keras GRU fixture under 16 concurrent
// batch-1 callers, with and without batching (model level, no HTTP).
func BenchmarkGRUConcurrent(b *testing.B) {
	dir := filepath.Join(fixtures.Dir(b), "keras/gru/beagle_music_genre/1")
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(tensor.Float32, tensor.Shape{1, 130, 13})
	for i := range x.F32() {
		x.F32()[i] = float32(i%17) * 0.05
	}
	in := map[string]*tensor.Tensor{"gru_input": x}
	s, err := NewScheduler(Params{MaxBatchSize: 16, BatchTimeout: 500 * time.Microsecond, NumBatchThreads: runtime.NumCPU(), MaxEnqueuedBatches: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name string
		m    servable.Model
	}{{"plain", m}, {"batching", s.Wrap(m)}} {
		b.Run(c.name, func(b *testing.B) {
			var n atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n.Add(1) <= int64(b.N) {
						if _, err := c.m.Run(context.Background(), "serving_default", in, nil); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
