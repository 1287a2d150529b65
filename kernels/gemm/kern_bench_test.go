package gemm

import "testing"

// BenchmarkMicroKernel measures the 4×24 micro-kernel alone on L1-resident
// panels (the upper bound for the blocked driver).
func BenchmarkMicroKernel(b *testing.B) {
	const k = 128
	a := make([]float32, k*mr)
	bp := make([]float32, k*nr)
	c := make([]float32, mr*nr)
	kern := (&Workspace{}).kernels()[mr-1]
	stop := cpuTimer(b)
	for i := 0; i < b.N; i++ {
		kern(k, &a[0], &bp[0], &c[0], nr, 1, 1, 1)
	}
	b.ReportMetric(2*mr*nr*k*float64(b.N)/stop()/1e9, "cpuGFLOP/s")
}
