package rnn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkGRU and BenchmarkLSTM run a reset_after GRU and an LSTM over
// [B, 20, 64] inputs with 128 units on the calling goroutine; the Pool
// sub-benchmarks split the call across GOMAXPROCS cores as graph/fuse
// does. bench/rnn/run.sh is the full comparison against torch and of 1 vs 2
// cores.
func BenchmarkGRU(b *testing.B) { benchLayer(b, false) }

func BenchmarkLSTM(b *testing.B) { benchLayer(b, true) }

func benchLayer(b *testing.B, lstm bool) {
	for _, batch := range []int{1, 8, 64} {
		for _, pooled := range []bool{false, true} {
			if pooled && batch < 64 {
				continue
			}
			name := fmt.Sprintf("B%d", batch)
			if pooled {
				name += "/Pool"
			}
			b.Run(name, func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				I, U, T, gates := 64, 128, 20, 3
				var l Layer
				var err error
				if lstm {
					gates = 4
					l, err = NewLSTM(LSTMParams{Input: I, Units: U, Kernel: randF(r, I*4*U, 0.2),
						RecurrentKernel: randF(r, U*4*U, 0.2), Bias: randF(r, 4*U, 0.1),
						Activation: Tanh, RecurrentActivation: Sigmoid})
				} else {
					l, err = NewGRU(GRUParams{Input: I, Units: U, Kernel: randF(r, I*3*U, 0.2),
						RecurrentKernel: randF(r, U*3*U, 0.2), Bias: randF(r, 6*U, 0.1), ResetAfter: true,
						Activation: Tanh, RecurrentActivation: Sigmoid})
				}
				if err != nil {
					b.Fatal(err)
				}
				a := &Args{X: randF(r, batch*T*I, 1), Batch: batch, Steps: T, ReturnSequences: true,
					Out: make([]float32, batch*T*U)}
				var ws Workspace
				var pool Pool
				procs := runtime.GOMAXPROCS(0)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if pooled {
						err = pool.Forward(l, a, procs)
					} else {
						err = l.Forward(&ws, a)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*float64(batch*T*(I+U)*gates*U)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
