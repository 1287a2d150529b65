package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

func compareKernel[T number](op string) binKernel[T, bool] {
	switch op {
	case "Less":
		return elemKernel(func(a, b T) bool { return a < b })
	case "LessEqual":
		return elemKernel(func(a, b T) bool { return a <= b })
	case "Greater":
		return elemKernel(func(a, b T) bool { return a > b })
	case "GreaterEqual":
		return elemKernel(func(a, b T) bool { return a >= b })
	case "NotEqual":
		return elemKernel(func(a, b T) bool { return a != b })
	}
	return elemKernel(func(a, b T) bool { return a == b })
}

func runCompare[T number](op string, out, a, b *tensor.Tensor) {
	binaryBroadcast(out.Data.([]bool), a.Data.([]T), a.Shape, b.Data.([]T), b.Shape, out.Shape, compareKernel[T](op))
}

func eqKernel[T comparable](op string) binKernel[T, bool] {
	if op == "NotEqual" {
		return elemKernel(func(a, b T) bool { return a != b })
	}
	return elemKernel(func(a, b T) bool { return a == b })
}

func binaryCompare(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		shapeErr := attrs.Bool("incompatible_shape_error", true)
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if a.DType != b.DType {
				return nil, Errorf("%s: inputs must have the same type, got %v and %v", op, a.DType, b.DType)
			}
			os, err := BroadcastShape(a.Shape, b.Shape)
			if err != nil {
				if !shapeErr && (op == "Equal" || op == "NotEqual") {
					r := ctx.New(tensor.Bool, tensor.Shape{})
					r.Data.([]bool)[0] = op == "NotEqual"
					return []*tensor.Tensor{r}, nil
				}
				return nil, err
			}
			out := ctx.New(tensor.Bool, os)
			eq := op == "Equal" || op == "NotEqual"
			switch a.Data.(type) {
			case []float32:
				runCompare[float32](op, out, a, b)
			case []float64:
				runCompare[float64](op, out, a, b)
			case []int32:
				runCompare[int32](op, out, a, b)
			case []int64:
				runCompare[int64](op, out, a, b)
			case []uint8:
				runCompare[uint8](op, out, a, b)
			case []int8:
				runCompare[int8](op, out, a, b)
			case []int16:
				runCompare[int16](op, out, a, b)
			case []uint16:
				if a.DType != tensor.Uint16 && !eq {
					return nil, noKernel(op, a.DType)
				}
				runCompare[uint16](op, out, a, b)
			case []uint32:
				runCompare[uint32](op, out, a, b)
			case []uint64:
				runCompare[uint64](op, out, a, b)
			case []bool:
				if !eq {
					return nil, noKernel(op, a.DType)
				}
				binaryBroadcast(out.Data.([]bool), a.Data.([]bool), a.Shape, b.Data.([]bool), b.Shape, os, eqKernel[bool](op))
			case []string:
				if !eq {
					return nil, noKernel(op, a.DType)
				}
				binaryBroadcast(out.Data.([]bool), a.Data.([]string), a.Shape, b.Data.([]string), b.Shape, os, eqKernel[string](op))
			default:
				return nil, noKernel(op, a.DType)
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}

func binaryLogical(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		if a.DType != tensor.Bool || b.DType != tensor.Bool {
			return nil, Errorf("%s: inputs must be bool, got %v and %v", op, a.DType, b.DType)
		}
		os, err := BroadcastShape(a.Shape, b.Shape)
		if err != nil {
			return nil, err
		}
		out := ctx.New(tensor.Bool, os)
		k := elemKernel(func(x, y bool) bool { return x && y })
		if op == "LogicalOr" {
			k = elemKernel(func(x, y bool) bool { return x || y })
		}
		binaryBroadcast(out.Data.([]bool), a.Bools(), a.Shape, b.Bools(), b.Shape, os, k)
		return []*tensor.Tensor{out}, nil
	})
}

func floatPredicate(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		out := ctx.New(tensor.Bool, x.Shape)
		o := out.Bools()
		var pred func(float64) bool
		switch op {
		case "IsNan":
			pred = math.IsNaN
		case "IsInf":
			pred = func(v float64) bool { return math.IsInf(v, 0) }
		default:
			pred = func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
		}
		switch d := x.Data.(type) {
		case []float32:
			for i, v := range d {
				o[i] = pred(float64(v))
			}
		case []float64:
			for i, v := range d {
				o[i] = pred(v)
			}
		default:
			return nil, noKernel(op, x.DType)
		}
		return []*tensor.Tensor{out}, nil
	})
}

func logicalNot(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("LogicalNot", in, 1); err != nil {
		return nil, err
	}
	if in[0].DType != tensor.Bool {
		return nil, noKernel("LogicalNot", in[0].DType)
	}
	out := ctx.New(tensor.Bool, in[0].Shape)
	o := out.Bools()
	for i, v := range in[0].Bools() {
		o[i] = !v
	}
	return []*tensor.Tensor{out}, nil
}
