package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func truthy(t *tensor.Tensor) ([]bool, bool) {
	switch d := t.Data.(type) {
	case []bool:
		return d, true
	case []float32:
		return nonzero(d), true
	case []float64:
		return nonzero(d), true
	case []int32:
		return nonzero(d), true
	case []int64:
		return nonzero(d), true
	case []int8:
		return nonzero(d), true
	case []int16:
		return nonzero(d), true
	case []uint8:
		return nonzero(d), true
	case []uint16:
		return nonzero(d), true
	case []uint32:
		return nonzero(d), true
	case []uint64:
		return nonzero(d), true
	}
	return nil, false
}

func nonzero[T number](d []T) []bool {
	b := make([]bool, len(d))
	for i, v := range d {
		b[i] = v != 0
	}
	return b
}

func where(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 3 {
		return selectV1(ctx, in)
	}
	if err := checkInputs("Where", in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	b, ok := truthy(x)
	if !ok {
		return nil, noKernel("Where", x.DType)
	}
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	r := len(x.Shape)
	out := ctx.New(tensor.Int64, tensor.Shape{n, r})
	o := out.I64()
	st := stridesOf(x.Shape)
	k := 0
	for i, v := range b {
		if !v {
			continue
		}
		rem := i
		for d := 0; d < r; d++ {
			o[k] = int64(rem / st[d])
			rem %= st[d]
			k++
		}
	}
	return []*tensor.Tensor{out}, nil
}
