package bf16

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/kernels/gemm"
)

// BenchmarkMatMul multiplies m rows by a 128×384 matrix (a 128-unit GRU's
// recurrent step) and a 512×2048 one, in bf16 and, as the peer, with the
// float32 packed SGEMM the fused RNN kernels use.
func BenchmarkMatMul(b *testing.B) {
	for _, d := range [][2]int{{128, 384}, {512, 2048}} {
		k, n := d[0], d[1]
		r := rand.New(rand.NewPCG(1, 2))
		w := make([]float32, k*n)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		pb, err := Pack(false, k, n, w, n)
		if err != nil {
			b.Fatal(err)
		}
		pf, err := gemm.PackB(false, k, n, w, n)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []int{1, 4, 16} {
			a := make([]float32, m*k)
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			c := make([]float32, m*n)
			flops := func(b *testing.B) {
				b.ReportMetric(2*float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			b.Run(fmt.Sprintf("bf16/k%d_n%d_m%d", k, n, m), func(b *testing.B) {
				var ws Workspace
				for i := 0; i < b.N; i++ {
					if err := ws.MatMul(m, a, k, pb, false, c, n); err != nil {
						b.Fatal(err)
					}
				}
				flops(b)
			})
			b.Run(fmt.Sprintf("fp32/k%d_n%d_m%d", k, n, m), func(b *testing.B) {
				var ws gemm.Workspace
				for i := 0; i < b.N; i++ {
					if err := ws.SgemmPacked(false, m, 1, a, k, pf, 0, c, n); err != nil {
						b.Fatal(err)
					}
				}
				flops(b)
			})
		}
	}
}
