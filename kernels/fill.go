package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func fill(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Fill", in, 2); err != nil {
		return nil, err
	}
	d, err := vectorInts("Fill", "dims", in[0], false)
	if err != nil {
		return nil, err
	}
	s, err := shapeFromInts("Fill", d)
	if err != nil {
		return nil, err
	}
	v := in[1]
	if len(v.Shape) != 0 {
		return nil, Errorf("value must be a scalar, got shape %v", v.Shape)
	}
	out := ctx.New(v.DType, s)
	moverOf(v.Data).fill(out.Data, 0, out.Len(), v.Data, 0)
	return []*tensor.Tensor{out}, nil
}

func zerosLike(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ZerosLike", in, 1); err != nil {
		return nil, err
	}
	if in[0].DType == tensor.Variant || in[0].DType == tensor.Resource {
		return nil, Errorf("ZerosLike of %v is not supported", in[0].DType)
	}
	return []*tensor.Tensor{ctx.New(in[0].DType, in[0].Shape)}, nil
}

// oneOf returns a one-element slice holding 1 of dtype dt.
func oneOf(dt tensor.DType) (any, bool) {
	one := tensor.MakeSlice(dt, 1)
	switch d := one.(type) {
	case []float32:
		d[0] = 1
	case []float64:
		d[0] = 1
	case []int32:
		d[0] = 1
	case []int64:
		d[0] = 1
	case []int8:
		d[0] = 1
	case []int16:
		d[0] = 1
	case []uint8:
		d[0] = 1
	case []uint16:
		switch dt {
		case tensor.Half:
			d[0] = 0x3c00
		case tensor.BFloat16:
			d[0] = 0x3f80
		default:
			d[0] = 1
		}
	case []uint32:
		d[0] = 1
	case []uint64:
		d[0] = 1
	case []bool:
		d[0] = true
	case []complex64:
		d[0] = 1
	case []complex128:
		d[0] = 1
	default:
		return nil, false
	}
	return one, true
}

func onesLike(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("OnesLike", in, 1); err != nil {
		return nil, err
	}
	one, ok := oneOf(in[0].DType)
	if !ok {
		return nil, noKernel("OnesLike", in[0].DType)
	}
	out := ctx.New(in[0].DType, in[0].Shape)
	moverOf(one).fill(out.Data, 0, out.Len(), one, 0)
	return []*tensor.Tensor{out}, nil
}

func emptyBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := typeAttr("Empty", attrs, "dtype")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Empty", in, 1); err != nil {
			return nil, err
		}
		d, err := vectorInts("Empty", "shape", in[0], false)
		if err != nil {
			return nil, err
		}
		s, err := shapeFromInts("Empty", d)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{ctx.New(dt, s)}, nil
	}, nil
}
