package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

func softmaxT[T floating](o, x []T, n int, log bool) {
	for s := 0; s+n <= len(x); s += n {
		row, or := x[s:s+n], o[s:s+n]
		mx := math.Inf(-1)
		for _, v := range row {
			if float64(v) > mx {
				mx = float64(v)
			}
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		if log {
			ls := math.Log(sum)
			for i, v := range row {
				or[i] = T(float64(v) - mx - ls)
			}
		} else {
			for i, v := range row {
				or[i] = T(math.Exp(float64(v)-mx) / sum)
			}
		}
	}
}

func softmaxBuilder(op string) Builder {
	log := op == "LogSoftmax"
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 1 {
			return nil, Errorf("logits must have >= 1 dimension, got %v", x.Shape)
		}
		n := x.Shape[len(x.Shape)-1]
		out := ctx.New(x.DType, x.Shape)
		if n == 0 {
			return []*tensor.Tensor{out}, nil
		}
		switch o := out.Data.(type) {
		case []float32:
			softmaxT(o, x.F32(), n, log)
		case []float64:
			softmaxT(o, x.F64(), n, log)
		default:
			return nil, noKernel(op, x.DType)
		}
		return []*tensor.Tensor{out}, nil
	})
}
