package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func argT[T number](o []int64, x []T, outer, n, inner int, isMax bool) {
	for i := 0; i < outer; i++ {
		for j := 0; j < inner; j++ {
			base := i*n*inner + j
			best := x[base]
			bi := 0
			for k := 1; k < n; k++ {
				v := x[base+k*inner]
				if isNaN(best) {
					break
				}
				if (isMax && v > best) || (!isMax && v < best) || isNaN(v) {
					best, bi = v, k
				}
			}
			o[i*inner+j] = int64(bi)
		}
	}
}

func argBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		ot, err := outType(op, attrs, "output_type")
		if err != nil {
			return nil, err
		}
		if _, ok := attrs["output_type"]; !ok {
			ot = tensor.Int64
		}
		isMax := op == "ArgMax"
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			x := in[0]
			a, err := scalarInt(op, "dimension", in[1])
			if err != nil {
				return nil, err
			}
			r := len(x.Shape)
			if a < -int64(r) || a >= int64(r) {
				return nil, Errorf("Expected dimension in the range [%d, %d), but got %d", -r, r, a)
			}
			if a < 0 {
				a += int64(r)
			}
			axis := int(a)
			n := x.Shape[axis]
			if n == 0 {
				return nil, Errorf("Reduction axis %d is empty in shape %v", axis, x.Shape)
			}
			os := append(x.Shape[:axis:axis].Clone(), x.Shape[axis+1:]...)
			outer, inner := prod(x.Shape, 0, axis), prod(x.Shape, axis+1, r)
			o := make([]int64, outer*inner)
			switch d := x.Data.(type) {
			case []float32:
				argT(o, d, outer, n, inner, isMax)
			case []float64:
				argT(o, d, outer, n, inner, isMax)
			case []int32:
				argT(o, d, outer, n, inner, isMax)
			case []int64:
				argT(o, d, outer, n, inner, isMax)
			case []int8:
				argT(o, d, outer, n, inner, isMax)
			case []int16:
				argT(o, d, outer, n, inner, isMax)
			case []uint8:
				argT(o, d, outer, n, inner, isMax)
			case []uint16:
				argT(o, d, outer, n, inner, isMax)
			case []uint32:
				argT(o, d, outer, n, inner, isMax)
			case []uint64:
				argT(o, d, outer, n, inner, isMax)
			case []bool:
				argT(o, nonzeroU8(d), outer, n, inner, isMax)
			default:
				return nil, noKernel(op, x.DType)
			}
			out := ctx.New(ot, os)
			switch od := out.Data.(type) {
			case []int64:
				copy(od, o)
			case []int32:
				for i, v := range o {
					od[i] = int32(v)
				}
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}

func nonzeroU8(b []bool) []uint8 {
	u := make([]uint8, len(b))
	for i, v := range b {
		if v {
			u[i] = 1
		}
	}
	return u
}
