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

func benchPacked(b *testing.B, m, n, k int) {
	a := make([]float32, m*k)
	bm := make([]float32, k*n)
	for i := range bm {
		bm[i] = float32(i%7) * 0.1
	}
	c := make([]float32, m*n)
	pb, err := PackB(false, k, n, bm, n)
	if err != nil {
		b.Fatal(err)
	}
	var ws Workspace
	_ = ws.SgemmPacked(false, m, 1, a, k, pb, 0, c, n)
	stop := cpuTimer(b)
	for i := 0; i < b.N; i++ {
		_ = ws.SgemmPacked(false, m, 1, a, k, pb, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/stop()/1e9, "cpuGFLOP/s")
}

func BenchmarkPackedGEMV256(b *testing.B) { benchPacked(b, 1, 768, 256) }
func BenchmarkPackedGEMV128(b *testing.B) { benchPacked(b, 1, 384, 128) }
func BenchmarkPacked8x256(b *testing.B)   { benchPacked(b, 8, 768, 256) }
func BenchmarkPacked64x128(b *testing.B)  { benchPacked(b, 64, 384, 128) }

func BenchmarkMicroKernel1Row(b *testing.B) {
	const k = 128
	a := make([]float32, k*mr)
	bp := make([]float32, k*nr)
	c := make([]float32, mr*nr)
	kern := (&Workspace{}).kernels()[0]
	stop := cpuTimer(b)
	for i := 0; i < b.N; i++ {
		kern(k, &a[0], &bp[0], &c[0], nr, 1, 1, 1)
	}
	b.ReportMetric(2*nr*k*float64(b.N)/stop()/1e9, "cpuGFLOP/s")
}
