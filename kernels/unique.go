package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func uniqueBuilder(attrs Attrs, _ int) (Func, error) {
	idxType, err := outType("Unique", attrs, "out_idx")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Unique", in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) != 1 {
			return nil, Errorf("unique expects a 1D vector.")
		}
		n := x.Len()
		first := make(map[any]int, n)
		pos := make([]int, n)
		var order []int
		for i := 0; i < n; i++ {
			k := elemAt(x.Data, i)
			if f, ok := k.(float64); ok && f == 0 {
				k = float64(0) // -0 == 0
			}
			if f, ok := k.(float32); ok && f == 0 {
				k = float32(0)
			}
			j, ok := first[k]
			if !ok {
				j = len(order)
				first[k] = j
				order = append(order, i)
			}
			pos[i] = j
		}
		y := ctx.New(x.DType, tensor.Shape{len(order)})
		mv := moverOf(x.Data)
		for j, i := range order {
			mv.copyRun(y.Data, j, x.Data, i, 1)
		}
		idx, err := intTensor(ctx, idxType, tensor.Shape{n}, pos)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{y, idx}, nil
	}, nil
}
