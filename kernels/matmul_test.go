package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func refMatMul(a []float64, m, k int, b []float64, n int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				c[i*n+j] += a[i*k+p] * b[p*n+j]
			}
		}
	}
	return c
}

func transpose2(x []float64, r, c int) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = x[i*c+j]
		}
	}
	return out
}

func TestMatMulAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	for iter := 0; iter < 60; iter++ {
		m, k, n := 1+r.IntN(9), 1+r.IntN(40), 1+r.IntN(30)
		ta, tb := r.IntN(2) == 0, r.IntN(2) == 0
		a := randF32(r, sh(m, k))
		b := randF32(r, sh(k, n))
		want := refMatMul(asF64(a), m, k, asF64(b), n)
		aIn, bIn := a, b
		if ta {
			aIn = f32(sh(k, m), toF32(transpose2(asF64(a), m, k))...)
		}
		if tb {
			bIn = f32(sh(n, k), toF32(transpose2(asF64(b), k, n))...)
		}
		attrs := Attrs{"transpose_a": ta, "transpose_b": tb}
		got := mustRun(t, "MatMul", attrs, aIn, bIn)[0]
		wantClose(t, got, f32(sh(m, n), toF32(want)...), 1e-5)
		got64 := mustRun(t, "MatMul", attrs, f64(aIn.Shape, asF64(aIn)...), f64(bIn.Shape, asF64(bIn)...))[0]
		wantClose(t, got64, f64(sh(m, n), want...), 1e-12)
	}
	wantTensor(t, mustRun(t, "MatMul", nil, i32(sh(1, 2), 1, 2), i32(sh(2, 1), 3, 4))[0], i32(sh(1, 1), 11))
	mustFail(t, "MatMul", nil, "Matrix size-incompatible: In[0]: [2,3], In[1]: [2,3]", iota32(sh(2, 3)), iota32(sh(2, 3)))
}

func TestBatchMatMulBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	a := randF32(r, sh(2, 1, 3, 4))
	b := randF32(r, sh(3, 4, 5))
	got := mustRun(t, "BatchMatMulV2", nil, a, b)[0]
	if !got.Shape.Equal(sh(2, 3, 3, 5)) {
		t.Fatalf("shape %v", got.Shape)
	}
	ad, bd := asF64(a), asF64(b)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			want := refMatMul(ad[i*12:(i+1)*12], 3, 4, bd[j*20:(j+1)*20], 5)
			g := got.F32()[(i*3+j)*15 : (i*3+j+1)*15]
			for q := range want {
				if math.Abs(float64(g[q])-want[q]) > 1e-5 {
					t.Fatalf("batch %d,%d: got %v want %v", i, j, g, want)
				}
			}
		}
	}
	// adj_y on BatchMatMul (no broadcasting).
	x := f32(sh(1, 2, 2), 1, 2, 3, 4)
	y := f32(sh(1, 2, 2), 5, 6, 7, 8)
	wantTensor(t, mustRun(t, "BatchMatMul", Attrs{"adj_y": true}, x, y)[0], f32(sh(1, 2, 2), 17, 23, 39, 53))
	mustFail(t, "BatchMatMul", nil, "compatible batch dimensions", iota32(sh(2, 2, 2)), iota32(sh(1, 2, 2)))
}

func BenchmarkMatMulF32_256(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randF32(r, sh(256, 256)), randF32(r, sh(256, 256))
	bl, _ := Lookup("MatMul")
	f, _ := bl(nil, 2)
	for i := 0; i < b.N; i++ {
		if _, err := f(&Context{}, []*tensor.Tensor{x, y}); err != nil {
			b.Fatal(err)
		}
	}
}
