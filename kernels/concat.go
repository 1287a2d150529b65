package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func concatTensors(ctx *Context, op string, vals []*tensor.Tensor, axisT *tensor.Tensor) (*tensor.Tensor, error) {
	if len(vals) == 0 {
		return nil, Errorf("%s: no values to concatenate", op)
	}
	ax, err := scalarInt(op, "axis", axisT)
	if err != nil {
		return nil, err
	}
	v0 := vals[0]
	r := len(v0.Shape)
	if r == 0 {
		return nil, Errorf("Can't concatenate scalars (use tf.stack instead)")
	}
	if ax < -int64(r) || ax >= int64(r) {
		return nil, Errorf("ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %d", -r, r, ax)
	}
	axis := int(ax)
	if axis < 0 {
		axis += r
	}
	os := v0.Shape.Clone()
	os[axis] = 0
	for i, v := range vals {
		if v.DType != v0.DType {
			return nil, Errorf("%s: input %d has type %v, expected %v", op, i, v.DType, v0.DType)
		}
		if len(v.Shape) != r {
			return nil, Errorf("ConcatOp : Ranks of all input tensors should match: shape[0] = %v vs. shape[%d] = %v", v0.Shape, i, v.Shape)
		}
		for j := range v.Shape {
			if j != axis && v.Shape[j] != v0.Shape[j] {
				return nil, Errorf("ConcatOp : Dimension %d in both shapes must be equal: shape[0] = %v vs. shape[%d] = %v", j, v0.Shape, i, v.Shape)
			}
		}
		os[axis] += v.Shape[axis]
	}
	if len(vals) == 1 {
		return v0, nil
	}
	out := ctx.New(v0.DType, os)
	outer := prod(os, 0, axis)
	rowOut := prod(os, axis, r)
	mv := moverOf(out.Data)
	col := 0
	for _, v := range vals {
		row := prod(v.Shape, axis, r)
		for i := 0; i < outer; i++ {
			mv.copyRun(out.Data, i*rowOut+col, v.Data, i*row, row)
		}
		col += row
	}
	return out, nil
}

func concatV2(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkMinInputs("ConcatV2", in, 2); err != nil {
		return nil, err
	}
	t, err := concatTensors(ctx, "ConcatV2", in[:len(in)-1], in[len(in)-1])
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func concatV1(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkMinInputs("Concat", in, 2); err != nil {
		return nil, err
	}
	t, err := concatTensors(ctx, "Concat", in[1:], in[0])
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func concatOffset(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkMinInputs("ConcatOffset", in, 3); err != nil {
		return nil, err
	}
	ax, err := scalarInt("ConcatOffset", "concat_dim", in[0])
	if err != nil {
		return nil, err
	}
	s0, err := vectorInts("ConcatOffset", "shape", in[1], false)
	if err != nil {
		return nil, err
	}
	r := len(s0)
	if ax < -int64(r) || ax >= int64(r) {
		return nil, Errorf("Concat dim is out of range: %d vs. %d", ax, r)
	}
	axis := int(ax)
	if axis < 0 {
		axis += r
	}
	out := make([]*tensor.Tensor, len(in)-1)
	off := 0
	for i, t := range in[1:] {
		s, err := vectorInts("ConcatOffset", "shape", t, false)
		if err != nil {
			return nil, err
		}
		if len(s) != r {
			return nil, Errorf("input %d should contain %d elements, but got %d", i, r, len(s))
		}
		v := make([]int, r)
		for j := range s {
			if j == axis {
				v[j] = off
				off += int(s[j])
			} else if s[j] != s0[j] {
				return nil, Errorf("All dimensions except %d must match. Input %d has shape %v and doesn't match input 0 with shape %v.", axis, i, s, s0)
			}
		}
		o, err := intTensor(ctx, t.DType, tensor.Shape{r}, v)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

func packBuilder(attrs Attrs, n int) (Func, error) {
	ax := attrs.Int("axis", 0)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkMinInputs("Pack", in, 1); err != nil {
			return nil, err
		}
		s0 := in[0].Shape
		r := len(s0) + 1
		if ax < -int64(r) || ax >= int64(r) {
			return nil, Errorf("axis = %d not in [%d, %d)", ax, -r, r)
		}
		axis := int(ax)
		if axis < 0 {
			axis += r
		}
		for i, t := range in {
			if !t.Shape.Equal(s0) {
				return nil, Errorf("Shapes of all inputs must match: values[0].shape = %v != values[%d].shape = %v", s0, i, t.Shape)
			}
			if t.DType != in[0].DType {
				return nil, Errorf("Pack: input %d has type %v, expected %v", i, t.DType, in[0].DType)
			}
		}
		os := make(tensor.Shape, 0, r)
		os = append(os, s0[:axis]...)
		os = append(os, len(in))
		os = append(os, s0[axis:]...)
		out := ctx.New(in[0].DType, os)
		outer := prod(s0, 0, axis)
		inner := prod(s0, axis, len(s0))
		mv := moverOf(out.Data)
		for j, t := range in {
			for i := 0; i < outer; i++ {
				mv.copyRun(out.Data, (i*len(in)+j)*inner, t.Data, i*inner, inner)
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}
