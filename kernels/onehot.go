package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func oneHotBuilder(attrs Attrs, _ int) (Func, error) {
	ax := attrs.Int("axis", -1)
	if ax < -1 {
		return nil, buildErr("OneHot", "axis must be >= -1, got %d", ax)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("OneHot", in, 4); err != nil {
			return nil, err
		}
		indices, depthT, on, off := in[0], in[1], in[2], in[3]
		var idx []int64
		switch d := indices.Data.(type) {
		case []uint8:
			idx = make([]int64, len(d))
			for i, v := range d {
				idx[i] = int64(v)
			}
		default:
			var err error
			if idx, err = intsOf("OneHot", "indices", indices); err != nil {
				return nil, err
			}
		}
		depth, err := scalarInt("OneHot", "depth", depthT)
		if err != nil {
			return nil, err
		}
		if depth < 0 {
			return nil, Errorf("depth must be non-negative, got: %d", depth)
		}
		if on.Len() != 1 || off.Len() != 1 || on.DType != off.DType || len(on.Shape) != 0 || len(off.Shape) != 0 {
			return nil, Errorf("on_value and off_value must be scalars of the same type")
		}
		r := len(indices.Shape)
		axis := int(ax)
		if ax == -1 {
			axis = r
		}
		if axis > r {
			return nil, Errorf("Expected axis to be -1 or between [0, %d).  But received: %d", r+1, ax)
		}
		os := append(indices.Shape[:axis:axis].Clone(), int(depth))
		os = append(os, indices.Shape[axis:]...)
		if err := checkSize("OneHot", os); err != nil {
			return nil, err
		}
		out := ctx.New(on.DType, os)
		mv := moverOf(on.Data)
		mv.fill(out.Data, 0, out.Len(), off.Data, 0)
		outer := prod(indices.Shape, 0, axis)
		inner := prod(indices.Shape, axis, r)
		for i := 0; i < outer; i++ {
			for j := 0; j < inner; j++ {
				v := idx[i*inner+j]
				if v >= 0 && v < depth {
					p := (i*int(depth)+int(v))*inner + j
					mv.fill(out.Data, p, p+1, on.Data, 0)
				}
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}
