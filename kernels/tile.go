package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func tile(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Tile", in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	m, err := vectorInts("Tile", "multiples", in[1], false)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if len(m) != r {
		return nil, Errorf("Expected multiples argument to be a vector of length %d but got length %d", r, len(m))
	}
	st := stridesOf(x.Shape)
	os := make(tensor.Shape, r)
	offs := make([][]int, r)
	for i, k := range m {
		if k < 0 {
			return nil, Errorf("Expected multiples[%d] >= 0, but got %d", i, k)
		}
		if k > maxElements {
			return nil, Errorf("Tile: multiples[%d] too large", i)
		}
		os[i] = x.Shape[i] * int(k)
		if err := checkSize("Tile", os[:i+1]); err != nil {
			return nil, err
		}
		o := make([]int, os[i])
		for j := range o {
			o[j] = (j % x.Shape[i]) * st[i]
		}
		offs[i] = o
	}
	return []*tensor.Tensor{gatherView(ctx, x, os, 0, offs)}, nil
}
