package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func clipT[T number](o, x, lo, hi []T) {
	for i, v := range x {
		l, h := lo[0], hi[0]
		if len(lo) > 1 {
			l = lo[i]
		}
		if len(hi) > 1 {
			h = hi[i]
		}
		if v < l {
			v = l
		}
		if v > h {
			v = h
		}
		o[i] = v
	}
}

func clipByValue(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ClipByValue", in, 3); err != nil {
		return nil, err
	}
	x, lo, hi := in[0], in[1], in[2]
	if lo.DType != x.DType || hi.DType != x.DType {
		return nil, Errorf("ClipByValue: clip values must have type %v", x.DType)
	}
	for _, c := range []*tensor.Tensor{lo, hi} {
		if len(c.Shape) != 0 && !c.Shape.Equal(x.Shape) {
			return nil, Errorf("clip_value_min and clip_value_max must be either scalars or have the same shape as the input: t shape: %v clip_value_min shape: %v clip_value_max shape: %v", x.Shape, lo.Shape, hi.Shape)
		}
	}
	out := ctx.New(x.DType, x.Shape)
	if x.Len() == 0 {
		return []*tensor.Tensor{out}, nil
	}
	switch o := out.Data.(type) {
	case []float32:
		clipT(o, x.F32(), lo.F32(), hi.F32())
	case []float64:
		clipT(o, x.F64(), lo.F64(), hi.F64())
	case []int32:
		clipT(o, x.I32(), lo.I32(), hi.I32())
	case []int64:
		clipT(o, x.I64(), lo.I64(), hi.I64())
	case []uint8:
		clipT(o, x.Data.([]uint8), lo.Data.([]uint8), hi.Data.([]uint8))
	case []int8:
		clipT(o, x.Data.([]int8), lo.Data.([]int8), hi.Data.([]int8))
	case []int16:
		clipT(o, x.Data.([]int16), lo.Data.([]int16), hi.Data.([]int16))
	default:
		return nil, noKernel("ClipByValue", x.DType)
	}
	return []*tensor.Tensor{out}, nil
}
