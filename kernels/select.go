package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// selectV1 is TF's Select: condition is a scalar, has the shape of t, or is
// a vector matching t's first dimension.
func selectV1(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Select", in, 3); err != nil {
		return nil, err
	}
	c, t, e := in[0], in[1], in[2]
	if c.DType != tensor.Bool {
		return nil, Errorf("Select: condition must be bool, got %v", c.DType)
	}
	if t.DType != e.DType {
		return nil, Errorf("Select: then and else must have the same type, got %v and %v", t.DType, e.DType)
	}
	if !t.Shape.Equal(e.Shape) {
		return nil, Errorf("'then' and 'else' must have the same size.  but received: %v vs. %v", t.Shape, e.Shape)
	}
	cond := c.Bools()
	out := ctx.New(t.DType, t.Shape)
	mv := moverOf(t.Data)
	switch {
	case len(c.Shape) == 0 || c.Shape.Equal(t.Shape):
		if len(c.Shape) == 0 {
			src := e.Data
			if cond[0] {
				src = t.Data
			}
			mv.copyRun(out.Data, 0, src, 0, t.Len())
			break
		}
		return selectElems(out, cond, t, e)
	case len(c.Shape) == 1 && len(t.Shape) >= 1 && c.Shape[0] == t.Shape[0]:
		inner := prod(t.Shape, 1, len(t.Shape))
		for i, v := range cond {
			src := e.Data
			if v {
				src = t.Data
			}
			mv.copyRun(out.Data, i*inner, src, i*inner, inner)
		}
	default:
		return nil, Errorf("'then' and 'else' must have the same size. but received: %v vs. %v", t.Shape, e.Shape)
	}
	return []*tensor.Tensor{out}, nil
}

func selectT[T any](o []T, c []bool, a, b []T) {
	for i, v := range c {
		if v {
			o[i] = a[i]
		} else {
			o[i] = b[i]
		}
	}
}

// selectElems does an elementwise select of equal-shaped tensors.
func selectElems(out *tensor.Tensor, c []bool, t, e *tensor.Tensor) ([]*tensor.Tensor, error) {
	switch o := out.Data.(type) {
	case []float32:
		selectT(o, c, t.F32(), e.F32())
	case []float64:
		selectT(o, c, t.F64(), e.F64())
	case []int32:
		selectT(o, c, t.I32(), e.I32())
	case []int64:
		selectT(o, c, t.I64(), e.I64())
	default:
		mv := moverOf(out.Data)
		for i, v := range c {
			src := e.Data
			if v {
				src = t.Data
			}
			mv.copyRun(out.Data, i, src, i, 1)
		}
	}
	return []*tensor.Tensor{out}, nil
}

// selectV2 broadcasts condition, t and e together.
func selectV2(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("SelectV2", in, 3); err != nil {
		return nil, err
	}
	c, t, e := in[0], in[1], in[2]
	if c.DType != tensor.Bool {
		return nil, Errorf("SelectV2: condition must be bool, got %v", c.DType)
	}
	if t.DType != e.DType {
		return nil, Errorf("SelectV2: then and else must have the same type, got %v and %v", t.DType, e.DType)
	}
	s1, err := BroadcastShape(t.Shape, e.Shape)
	if err != nil {
		return nil, err
	}
	os, err := BroadcastShape(c.Shape, s1)
	if err != nil {
		return nil, Errorf("condition %v and then/else %v are not broadcastable", c.Shape, s1)
	}
	if c.Shape.Equal(os) && t.Shape.Equal(os) && e.Shape.Equal(os) {
		return selectElems(ctx.New(t.DType, os), c.Bools(), t, e)
	}
	cb := broadcastView(ctx, c, os)
	tb := broadcastView(ctx, t, os)
	eb := broadcastView(ctx, e, os)
	return selectElems(ctx.New(t.DType, os), cb.Bools(), tb, eb)
}
