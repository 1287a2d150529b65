package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is the textbook triple loop in float64: C = alpha*op(A)*op(B) + beta*C.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*ldc+j] = v
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

type shape struct {
	m, n, k        int
	transA, transB bool
	pad            int // extra leading-dimension padding
	alpha, beta    float32
}

func testShapes() []shape {
	var shapes []shape
	dims := [][3]int{
		{1, 1, 1}, {1, 24, 1}, {1, 5, 7}, {7, 1, 5}, {1, 100, 64}, {100, 1, 64},
		{4, 24, 8}, {5, 25, 3}, {3, 23, 17}, {8, 48, 1}, {13, 71, 29}, {17, 384, 128},
		{64, 96, 300}, {97, 50, 257}, {2, 3, 513}, {130, 130, 130}, {6, 3100, 5},
		{1, 768, 256}, {8, 768, 256}, {200, 31, 9},
	}
	i := 0
	for _, d := range dims {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				s := shape{m: d[0], n: d[1], k: d[2], transA: ta, transB: tb, alpha: 1, beta: 0}
				switch i % 4 {
				case 1:
					s.alpha, s.beta = 0.5, 1
				case 2:
					s.alpha, s.beta, s.pad = -1.5, 0.25, 3
				case 3:
					s.pad = 1
				}
				i++
				shapes = append(shapes, s)
			}
		}
	}
	return shapes
}

func (s shape) String() string {
	return fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_pad%d_a%g_b%g", s.m, s.n, s.k, s.transA, s.transB, s.pad, s.alpha, s.beta)
}

// operands builds random A, B, C for s with leading dimensions padded by s.pad.
func (s shape) operands(r *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, acols := s.m, s.k
	if s.transA {
		ar, acols = s.k, s.m
	}
	br, bcols := s.k, s.n
	if s.transB {
		br, bcols = s.n, s.k
	}
	lda, ldb, ldc = acols+s.pad, bcols+s.pad, s.n+s.pad
	a = randSlice(r, ar*lda)
	b = randSlice(r, br*ldb)
	c = randSlice(r, s.m*ldc)
	return
}

// check compares got against want with a tolerance scaled by k.
func check(t *testing.T, got []float32, want []float64, k int) {
	t.Helper()
	tol := 1e-5 * (1 + float64(k)) * 4
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol || math.IsNaN(float64(got[i])) {
			t.Fatalf("element %d: got %g want %g (|diff| %g > %g)", i, got[i], want[i], d, tol)
		}
	}
}

func TestSgemmMatchesReference(t *testing.T) {
	for _, pure := range []bool{false, true} {
		ws := &Workspace{PureGo: pure}
		for _, s := range testShapes() {
			t.Run(fmt.Sprintf("pure%v/%s", pure, s), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(s.m*1000003+s.n*1009+s.k), 7))
				a, lda, b, ldb, c, ldc := s.operands(r)
				want := refGemm(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc)
				got := append([]float32(nil), c...)
				if err := ws.Sgemm(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, got, ldc); err != nil {
					t.Fatal(err)
				}
				check(t, got, want, s.k)
				// Padding columns of C must be untouched.
				for i := 0; i < s.m; i++ {
					for j := s.n; j < ldc; j++ {
						if got[i*ldc+j] != c[i*ldc+j] {
							t.Fatalf("padding C[%d][%d] changed", i, j)
						}
					}
				}
				// The packed path must give the same answer.
				pb, err := PackB(s.transB, s.k, s.n, b, ldb)
				if err != nil {
					t.Fatal(err)
				}
				got2 := append([]float32(nil), c...)
				if err := ws.SgemmPacked(s.transA, s.m, s.alpha, a, lda, pb, s.beta, got2, ldc); err != nil {
					t.Fatal(err)
				}
				check(t, got2, want, s.k)
			})
		}
	}
}

func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, n, k := 9, 50, 11
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	c := make([]float32, m*n)
	for i := range c {
		c[i] = float32(math.NaN())
	}
	if err := Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n); err != nil {
		t.Fatal(err)
	}
	zero := make([]float32, m*n)
	check(t, c, refGemm(false, false, m, n, k, 1, a, k, b, n, 0, zero, n), k)
}

func TestSgemmKZeroScalesC(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	if err := Sgemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0.5, c, 2); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{0.5, 1, 1.5, 2} {
		if c[i] != want {
			t.Fatalf("c[%d] = %g, want %g", i, c[i], want)
		}
	}
}

func TestSgemmRejectsBadInput(t *testing.T) {
	a := make([]float32, 6)
	b := make([]float32, 6)
	c := make([]float32, 4)
	cases := []struct {
		name string
		run  func() error
	}{
		{"negative m", func() error { return Sgemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2) }},
		{"short A", func() error { return Sgemm(false, false, 2, 2, 4, 1, a, 4, b, 2, 0, c, 2) }},
		{"small lda", func() error { return Sgemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) }},
		{"small lda trans", func() error { return Sgemm(true, false, 2, 2, 3, 1, a, 1, b, 2, 0, c, 2) }},
		{"short B", func() error { return Sgemm(false, false, 2, 3, 3, 1, a, 3, b, 3, 0, make([]float32, 6), 3) }},
		{"short C", func() error { return Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) }},
		{"small ldc", func() error { return Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 1) }},
		{"nil packed", func() error { var w Workspace; return w.SgemmPacked(false, 2, 1, a, 3, nil, 0, c, 2) }},
	}
	for _, tc := range cases {
		if err := tc.run(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := PackB(false, 3, 3, b, 3); err == nil {
		t.Error("PackB with short B: no error")
	}
}

func TestSgemmPackedNoAlloc(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 8, 96, 64
	a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	pb, err := PackB(false, k, n, b, n)
	if err != nil {
		t.Fatal(err)
	}
	var ws Workspace
	_ = ws.SgemmPacked(false, m, 1, a, k, pb, 0, c, n)
	allocs := testing.AllocsPerRun(20, func() {
		_ = ws.SgemmPacked(false, m, 1, a, k, pb, 0, c, n)
		_ = ws.Sgemm(false, true, m, n, k, 1, a, k, b, k, 1, c, n)
	})
	if allocs != 0 {
		t.Fatalf("steady-state Sgemm allocates %v times per call", allocs)
	}
}

func benchSgemm(bm *testing.B, m, n, k int, pure bool) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	ws := &Workspace{PureGo: pure}
	_ = ws.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	bm.ResetTimer()
	stop := cpuTimer(bm)
	for i := 0; i < bm.N; i++ {
		_ = ws.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	}
	cpu := stop()
	bm.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(bm.N)/cpu/1e9, "cpuGFLOP/s")
}

func BenchmarkSgemm512(b *testing.B)       { benchSgemm(b, 512, 512, 512, false) }
func BenchmarkSgemm1024(b *testing.B)      { benchSgemm(b, 1024, 1024, 1024, false) }
func BenchmarkSgemmGRU64(b *testing.B)     { benchSgemm(b, 64, 768, 256, false) }
func BenchmarkSgemmGEMV(b *testing.B)      { benchSgemm(b, 1, 768, 256, false) }
func BenchmarkSgemmPureGo256(b *testing.B) { benchSgemm(b, 256, 256, 256, true) }
