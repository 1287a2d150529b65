package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// refReduce reduces x over the axes marked in red, the slow way.
func refReduce(x []float64, s tensor.Shape, red []bool, keep bool, init float64, f func(a, v float64) float64) (tensor.Shape, []float64, []int) {
	var os, full tensor.Shape
	for i, d := range s {
		if red[i] {
			full = append(full, 1)
			if keep {
				os = append(os, 1)
			}
		} else {
			full = append(full, d)
			os = append(os, d)
		}
	}
	if os == nil {
		os = tensor.Shape{}
	}
	out := make([]float64, full.NumElements())
	cnt := make([]int, len(out))
	for i := range out {
		out[i] = init
	}
	for i, v := range x {
		idx := unravel(i, s)
		for k := range idx {
			if red[k] {
				idx[k] = 0
			}
		}
		o := ravel(idx, full)
		out[o] = f(out[o], v)
		cnt[o]++
	}
	return os, out, cnt
}

func TestReductionsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type redDef struct {
		init float64
		f    func(a, v float64) float64
	}
	defs := map[string]redDef{
		"Sum":  {0, func(a, v float64) float64 { return a + v }},
		"Mean": {0, func(a, v float64) float64 { return a + v }},
		"Prod": {1, func(a, v float64) float64 { return a * v }},
		"Max":  {math.Inf(-1), math.Max},
		"Min":  {math.Inf(1), math.Min},
	}
	for iter := 0; iter < 400; iter++ {
		rank := r.IntN(5)
		s := randShape(r, rank, 4)
		x := randF32(r, s)
		red := make([]bool, rank)
		var axes []int32
		for i := range red {
			if r.IntN(2) == 0 {
				red[i] = true
				a := int32(i)
				if r.IntN(2) == 0 {
					a -= int32(rank)
				}
				axes = append(axes, a)
			}
		}
		keep := r.IntN(2) == 0
		var axisT *tensor.Tensor
		if len(axes) == 1 && r.IntN(2) == 0 {
			axisT = sc32(axes[0])
		} else {
			axisT = i32(sh(len(axes)), axes...)
		}
		for op, d := range defs {
			os, want, cnt := refReduce(asF64(x), s, red, keep, d.init, d.f)
			if op == "Mean" {
				for i := range want {
					want[i] /= float64(cnt[i])
				}
			}
			w32 := make([]float32, len(want))
			for i, v := range want {
				w32[i] = float32(v)
			}
			got := mustRun(t, op, Attrs{"keep_dims": keep}, x, axisT)[0]
			wantClose(t, got, f32(os, w32...), 1e-5)
		}
	}
	b := bools(sh(2, 2), true, false, true, true)
	wantTensor(t, mustRun(t, "All", nil, b, sc32(1))[0], bools(sh(2), false, true))
	wantTensor(t, mustRun(t, "Any", nil, b, sc32(0))[0], bools(sh(2), true, true))
	wantTensor(t, mustRun(t, "Sum", nil, i32(sh(2, 2), 1, 2, 3, 4), vec32())[0], i32(sh(2, 2), 1, 2, 3, 4))
	wantTensor(t, mustRun(t, "Mean", nil, i32(sh(3), 1, 2, 4), sc32(0))[0], i32(sh(), 2))
	wantTensor(t, mustRun(t, "Sum", nil, iota32(sh(0, 2)), sc32(0))[0], f32(sh(2), 0, 0))
	mustFail(t, "Sum", nil, "Invalid reduction dimension (2 for input with 2 dimension(s)", iota32(sh(2, 2)), sc32(2))
	mustFail(t, "Sum", nil, "duplicate dimension", iota32(sh(2, 2)), vec32(1, -1))
	mustFail(t, "All", nil, "No OpKernel", iota32(sh(2)), sc32(0))
}

func BenchmarkSumLastAxisF32(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randF32(r, sh(256, 1024))
	bl, _ := Lookup("Sum")
	f, _ := bl(nil, 2)
	ax := sc32(1)
	b.SetBytes(4 * 256 * 1024)
	for i := 0; i < b.N; i++ {
		if _, err := f(&Context{}, []*tensor.Tensor{x, ax}); err != nil {
			b.Fatal(err)
		}
	}
}
