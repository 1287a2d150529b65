package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestTransposeAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 200; iter++ {
		rank := r.IntN(5)
		s := randShape(r, rank, 4)
		x := iota32(s)
		perm := r.Perm(rank)
		p32 := make([]int32, rank)
		os := make(tensor.Shape, rank)
		for i, p := range perm {
			p32[i] = int32(p)
			os[i] = s[p]
		}
		want := make([]float32, x.Len())
		for i := range want {
			oi := unravel(i, os)
			ii := make([]int, rank)
			for k, p := range perm {
				ii[p] = oi[k]
			}
			want[i] = x.F32()[ravel(ii, s)]
		}
		got := mustRun(t, "Transpose", nil, x, i32(sh(rank), p32...))[0]
		wantTensor(t, got, f32(os, want...))
	}
	mustFail(t, "Transpose", nil, "is duplicated", iota32(sh(2, 2)), vec32(0, 0))
	mustFail(t, "Transpose", nil, "expects a vector of size 2", iota32(sh(2, 2)), vec32(0))
	got := mustRun(t, "Transpose", nil, strs(sh(2, 2), "a", "b", "c", "d"), vec32(1, 0))[0]
	wantTensor(t, got, strs(sh(2, 2), "a", "c", "b", "d"))
}

func TestInvertPermutation(t *testing.T) {
	wantTensor(t, mustRun(t, "InvertPermutation", nil, vec32(2, 0, 1))[0], vec32(1, 2, 0))
	mustFail(t, "InvertPermutation", nil, "duplicated", vec32(0, 0))
}
