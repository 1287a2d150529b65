package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func reverseV2(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ReverseV2", in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	axes, err := vectorInts("ReverseV2", "axis", in[1], false)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	rev := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis("ReverseV2", a, r)
		if err != nil {
			return nil, Errorf("'axis'[%d] = %d is out of valid range [%d, %d", 0, a, -r, r-1)
		}
		if rev[ax] {
			return nil, Errorf("axis %d specified more than once.", ax)
		}
		rev[ax] = true
	}
	st := stridesOf(x.Shape)
	offs := make([][]int, r)
	for i, d := range x.Shape {
		if rev[i] {
			offs[i] = axisOffs(d-1, -1, d, st[i])
		} else {
			offs[i] = axisOffs(0, 1, d, st[i])
		}
	}
	return []*tensor.Tensor{gatherView(ctx, x, x.Shape, 0, offs)}, nil
}
