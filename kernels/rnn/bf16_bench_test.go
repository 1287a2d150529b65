package rnn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGRUBF16 runs BenchmarkGRU's layer (reset_after, [B, 20, 64]
// inputs, 128 units, one goroutine) with float32 and with bf16 weights
// side by side: the target is bf16 ≥ 1.5× float32 at batch 1.
func BenchmarkGRUBF16(b *testing.B) {
	for _, batch := range []int{1, 8, 64} {
		for _, half := range []bool{false, true} {
			name := "fp32"
			if half {
				name = "bf16"
			}
			b.Run(fmt.Sprintf("B%d/%s", batch, name), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				I, U, T := 64, 128, 20
				g, err := NewGRU(GRUParams{Input: I, Units: U, Kernel: randF(r, I*3*U, 0.2),
					RecurrentKernel: randF(r, U*3*U, 0.2), Bias: randF(r, 6*U, 0.1), ResetAfter: true,
					Activation: Tanh, RecurrentActivation: Sigmoid, BF16: half})
				if err != nil {
					b.Fatal(err)
				}
				a := &Args{X: randF(r, batch*T*I, 1), Batch: batch, Steps: T, ReturnSequences: true,
					Out: make([]float32, batch*T*U)}
				var ws Workspace
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := g.Forward(&ws, a); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*float64(batch*T*(I+U)*3*U)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
