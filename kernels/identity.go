package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func identity(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 1); err != nil {
			return nil, err
		}
		return []*tensor.Tensor{in[0]}, nil
	})
}

func identityN(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return append([]*tensor.Tensor(nil), in...), nil
}

func noOp(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) { return nil, nil }

func constBuilder(attrs Attrs, _ int) (Func, error) {
	v, ok := attrs["value"].(*tensor.Tensor)
	if !ok || v == nil {
		return nil, buildErr("Const", "missing value attribute")
	}
	if err := checkData("Const", []*tensor.Tensor{v}); err != nil {
		return nil, buildErr("Const", "bad value: %v", err)
	}
	if dt, ok := attrs["dtype"].(tensor.DType); ok && dt != v.DType {
		return nil, buildErr("Const", "dtype %v does not match value of type %v", dt, v.DType)
	}
	return func(*Context, []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{v}, nil
	}, nil
}
