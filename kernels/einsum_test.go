package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEinsum(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	a := randF32(r, sh(2, 3))
	b := randF32(r, sh(3, 4))
	want := refMatMul(asF64(a), 2, 3, asF64(b), 4)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij,jk->ik"}, a, b)[0], f32(sh(2, 4), toF32(want)...), 1e-5)
	// Transposed output: ki
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij,jk->ki"}, a, b)[0], f32(sh(4, 2), toF32(transpose2(want, 2, 4))...), 1e-5)
	// Batched with labels in odd order: bij,bkj->bik (b x adj_y)
	x := randF32(r, sh(2, 3, 4))
	y := randF32(r, sh(2, 5, 4))
	got := mustRun(t, "Einsum", Attrs{"equation": "bij,bkj->bik"}, x, y)[0]
	xd, yd := asF64(x), asF64(y)
	for bb := 0; bb < 2; bb++ {
		w := refMatMul(xd[bb*12:(bb+1)*12], 3, 4, transpose2(yd[bb*20:(bb+1)*20], 5, 4), 5)
		for q := range w {
			if math.Abs(float64(got.F32()[bb*15+q])-w[q]) > 1e-5 {
				t.Fatalf("bij,bkj->bik mismatch")
			}
		}
	}
	// Dot product per row, and a one-operand sum/transpose.
	v := f32(sh(2, 2), 1, 2, 3, 4)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij,ij->i"}, v, v)[0], f32(sh(2), 5, 25), 0)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij->j"}, v)[0], f32(sh(2), 4, 6), 0)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij->ji"}, v)[0], f32(sh(2, 2), 1, 3, 2, 4), 0)
	// Outer product.
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "i,j->ij"}, f32(sh(2), 1, 2), f32(sh(3), 1, 10, 100))[0],
		f32(sh(2, 3), 1, 10, 100, 2, 20, 200), 0)
	if _, err := runOp(t, "Einsum", Attrs{"equation": "...ij,...jk->...ik"}, a, b); err == nil {
		t.Fatal("ellipsis should be rejected at build time")
	}
	if _, err := runOp(t, "Einsum", Attrs{"equation": "ii->i"}, a); err == nil {
		t.Fatal("diagonal should be rejected")
	}
}
