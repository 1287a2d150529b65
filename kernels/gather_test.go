package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// refGather is GatherV2 computed from its definition, element by element.
func refGather(p *tensor.Tensor, idx []int64, is tensor.Shape, axis, bd int) (tensor.Shape, []float32) {
	os := tensor.Shape{}
	os = append(os, p.Shape[:axis]...)
	os = append(os, is[bd:]...)
	os = append(os, p.Shape[axis+1:]...)
	out := make([]float32, os.NumElements())
	for i := range out {
		o := unravel(i, os)
		// o = [batch..., outer(axis-bd)..., idx(ir-bd)..., inner...]
		batch := o[:bd]
		outer := o[bd:axis]
		iRest := o[axis : axis+len(is)-bd]
		inner := o[axis+len(is)-bd:]
		iIdx := append(append([]int{}, batch...), iRest...)
		v := idx[ravel(iIdx, is)]
		pIdx := append(append(append(append([]int{}, batch...), outer...), int(v)), inner...)
		out[i] = p.F32()[ravel(pIdx, p.Shape)]
	}
	return os, out
}

func TestGatherV2BatchDims(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 300; iter++ {
		pr := 1 + r.IntN(4)
		ps := randShape(r, pr, 3)
		bd := r.IntN(pr)
		axis := bd + r.IntN(pr-bd)
		ir := bd + r.IntN(3)
		is := make(tensor.Shape, ir)
		copy(is, ps[:bd])
		for i := bd; i < ir; i++ {
			is[i] = 1 + r.IntN(3)
		}
		idx := make([]int64, is.NumElements())
		for i := range idx {
			idx[i] = int64(r.IntN(ps[axis]))
		}
		p := iota32(ps)
		wantShape, want := refGather(p, idx, is, axis, bd)
		axisArg := int64(axis)
		if r.IntN(2) == 0 {
			axisArg -= int64(pr)
		}
		got := mustRun(t, "GatherV2", Attrs{"batch_dims": int64(bd)}, p, i64(is, idx...), i64(sh(), axisArg))[0]
		wantTensor(t, got, f32(wantShape, want...))
	}
	mustFail(t, "GatherV2", nil, "indices[1] = 3 is not in [0, 3)", iota32(sh(3)), vec32(0, 3), sc32(0))
	wantTensor(t, mustRun(t, "Gather", nil, iota32(sh(3, 2)), vec32(2, 0))[0], f32(sh(2, 2), 4, 5, 0, 1))
	got := mustRun(t, "GatherNd", nil, iota32(sh(2, 3)), i32(sh(2, 2), 1, 2, 0, 1))[0]
	wantTensor(t, got, f32(sh(2), 5, 1))
	got = mustRun(t, "GatherNd", nil, iota32(sh(2, 3)), i32(sh(1, 1), 1))[0]
	wantTensor(t, got, f32(sh(1, 3), 3, 4, 5))
	mustFail(t, "GatherNd", nil, "does not index into param shape", iota32(sh(2, 3)), i32(sh(1, 2), 2, 0))
}
