package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func cumT[T number](o, x []T, outer, n, inner int, mul, exclusive, reverse bool) {
	for i := 0; i < outer; i++ {
		for j := 0; j < inner; j++ {
			var acc T
			if mul {
				acc = 1
			}
			for k := 0; k < n; k++ {
				kk := k
				if reverse {
					kk = n - 1 - k
				}
				p := (i*n+kk)*inner + j
				v := x[p]
				if exclusive {
					o[p] = acc
				}
				if mul {
					acc *= v
				} else {
					acc += v
				}
				if !exclusive {
					o[p] = acc
				}
			}
		}
	}
}

func cumBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		excl := attrs.Bool("exclusive", false)
		rev := attrs.Bool("reverse", false)
		mul := op == "Cumprod"
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			x := in[0]
			a, err := scalarInt(op, "axis", in[1])
			if err != nil {
				return nil, err
			}
			r := len(x.Shape)
			if r == 0 {
				return nil, Errorf("%s: input must be at least 1-D", op)
			}
			axis, err := normAxis(op, a, r)
			if err != nil {
				return nil, Errorf("ScanOp: Expected scan axis in the range [%d, %d), but got %d", -r, r, a)
			}
			n := x.Shape[axis]
			outer, inner := prod(x.Shape, 0, axis), prod(x.Shape, axis+1, r)
			out := ctx.New(x.DType, x.Shape)
			switch d := x.Data.(type) {
			case []float32:
				cumT(out.F32(), d, outer, n, inner, mul, excl, rev)
			case []float64:
				cumT(out.F64(), d, outer, n, inner, mul, excl, rev)
			case []int32:
				cumT(out.I32(), d, outer, n, inner, mul, excl, rev)
			case []int64:
				cumT(out.I64(), d, outer, n, inner, mul, excl, rev)
			case []int8:
				cumT(out.Data.([]int8), d, outer, n, inner, mul, excl, rev)
			case []int16:
				cumT(out.Data.([]int16), d, outer, n, inner, mul, excl, rev)
			case []uint8:
				cumT(out.Data.([]uint8), d, outer, n, inner, mul, excl, rev)
			case []uint16:
				cumT(out.Data.([]uint16), d, outer, n, inner, mul, excl, rev)
			case []uint32:
				cumT(out.Data.([]uint32), d, outer, n, inner, mul, excl, rev)
			case []uint64:
				cumT(out.Data.([]uint64), d, outer, n, inner, mul, excl, rev)
			default:
				return nil, noKernel(op, x.DType)
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
