package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func sliceOp(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Slice", in, 3); err != nil {
		return nil, err
	}
	x := in[0]
	r := len(x.Shape)
	begin, err := vectorInts("Slice", "begin", in[1], false)
	if err != nil {
		return nil, err
	}
	size, err := vectorInts("Slice", "size", in[2], false)
	if err != nil {
		return nil, err
	}
	if len(begin) != r || len(size) != r {
		return nil, Errorf("Expected begin and size arguments to be 1-D tensors of size %d, but got shapes %v and %v instead.", r, in[1].Shape, in[2].Shape)
	}
	st := stridesOf(x.Shape)
	os := make(tensor.Shape, r)
	offs := make([][]int, r)
	for i := range begin {
		b, s := begin[i], size[i]
		if s == -1 {
			s = int64(x.Shape[i]) - b
		}
		if b < 0 || s < 0 || b+s > int64(x.Shape[i]) {
			return nil, Errorf("Expected begin[%d] in [0, %d], but got %d", i, x.Shape[i], b)
		}
		os[i] = int(s)
		offs[i] = axisOffs(int(b), 1, int(s), st[i])
	}
	if os.Equal(x.Shape) {
		return []*tensor.Tensor{x}, nil
	}
	return []*tensor.Tensor{gatherView(ctx, x, os, 0, offs)}, nil
}
