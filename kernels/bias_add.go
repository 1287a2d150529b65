package kernels

import (
	"github.com/tfserve/tfserve/kernels/rnn"
	"github.com/tfserve/tfserve/tensor"
)

func biasAddT[T number](o, x, b []T, outer, c, inner int) {
	if inner == 1 {
		// NHWC (Dense layers): add the bias vector to each row.
		if o32, ok := any(o).([]float32); ok {
			x32, b32 := any(x).([]float32), any(b).([]float32)
			for i := 0; i < outer; i++ {
				rnn.AddSlice(o32[i*c:(i+1)*c], x32[i*c:(i+1)*c], b32[:c])
			}
			return
		}
		for i := 0; i < outer; i++ {
			xr, or := x[i*c:(i+1)*c], o[i*c:(i+1)*c]
			for j, v := range xr {
				or[j] = v + b[j]
			}
		}
		return
	}
	for i := 0; i < outer; i++ {
		for j := 0; j < c; j++ {
			bv := b[j]
			base := (i*c + j) * inner
			xr, or := x[base:base+inner], o[base:base+inner]
			for k, v := range xr {
				or[k] = v + bv
			}
		}
	}
}

func biasAddBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		format := attrs.String("data_format", "NHWC")
		if format != "NHWC" && format != "NCHW" {
			return nil, buildErr(op, "unknown data_format %q", format)
		}
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			x, b := in[0], in[1]
			r := len(x.Shape)
			if r < 2 {
				return nil, Errorf("Input tensor must be at least 2D: %v", x.Shape)
			}
			if len(b.Shape) != 1 {
				return nil, Errorf("Biases must be 1D: %v", b.Shape)
			}
			if b.DType != x.DType {
				return nil, Errorf("%s: bias type %v does not match value type %v", op, b.DType, x.DType)
			}
			axis := r - 1
			if format == "NCHW" {
				axis = 1
			}
			c := x.Shape[axis]
			if b.Shape[0] != c {
				return nil, Errorf("Must provide as many biases as the last dimension of the input tensor: %v vs. %v", b.Shape, x.Shape)
			}
			outer, inner := prod(x.Shape, 0, axis), prod(x.Shape, axis+1, r)
			out := ctx.New(x.DType, x.Shape)
			switch o := out.Data.(type) {
			case []float32:
				biasAddT(o, x.F32(), b.F32(), outer, c, inner)
			case []float64:
				biasAddT(o, x.F64(), b.F64(), outer, c, inner)
			case []int32:
				biasAddT(o, x.I32(), b.I32(), outer, c, inner)
			case []int64:
				biasAddT(o, x.I64(), b.I64(), outer, c, inner)
			default:
				return nil, noKernel(op, x.DType)
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
