package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

func rangeT[T number](ctx *Context, dt tensor.DType, s, l, d T) (*tensor.Tensor, error) {
	if d == 0 {
		return nil, Errorf("Requires delta != 0: %v", d)
	}
	if d > 0 && s > l {
		return nil, Errorf("Requires start <= limit when delta > 0: %v/%v", s, l)
	}
	if d < 0 && s < l {
		return nil, Errorf("Requires start >= limit when delta < 0: %v/%v", s, l)
	}
	var n float64
	if isFloat[T]() {
		n = math.Ceil(math.Abs((float64(l) - float64(s)) / float64(d)))
	} else {
		span := math.Abs(float64(l) - float64(s))
		ad := math.Abs(float64(d))
		n = math.Floor((span + ad - 1) / ad)
	}
	if n > maxElements || n != n {
		return nil, Errorf("Requires ((limit - start) / delta) <= %d", int64(maxElements))
	}
	out := ctx.New(dt, tensor.Shape{int(n)})
	o := out.Data.([]T)
	v := s
	for i := range o {
		o[i] = v
		v += d
	}
	return out, nil
}

func rangeOp(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Range", in, 3); err != nil {
		return nil, err
	}
	s, l, d := in[0], in[1], in[2]
	for i, t := range in {
		if t.Len() != 1 || len(t.Shape) > 1 {
			return nil, Errorf("Range: input %d must be a scalar, got shape %v", i, t.Shape)
		}
		if t.DType != s.DType {
			return nil, Errorf("Range: inputs must share a type")
		}
	}
	var out *tensor.Tensor
	var err error
	switch sv := s.Data.(type) {
	case []float32:
		out, err = rangeT(ctx, s.DType, sv[0], l.F32()[0], d.F32()[0])
	case []float64:
		out, err = rangeT(ctx, s.DType, sv[0], l.F64()[0], d.F64()[0])
	case []int32:
		out, err = rangeT(ctx, s.DType, sv[0], l.I32()[0], d.I32()[0])
	case []int64:
		out, err = rangeT(ctx, s.DType, sv[0], l.I64()[0], d.I64()[0])
	default:
		return nil, noKernel("Range", s.DType)
	}
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}
