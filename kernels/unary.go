package kernels

import (
	"math"

	"github.com/tfserve/tfserve/kernels/rnn"
	"github.com/tfserve/tfserve/tensor"
)

// unaryKernel returns the vector kernel of a unary op for T.
func unaryKernel[T number](op string, alpha float64) (func(o, a []T), bool) {
	fl := isFloat[T]()
	signed := isSigned[T]()
	f64 := func(f func(float64) float64) (func(o, a []T), bool) {
		if !fl {
			return nil, false
		}
		return func(o, a []T) {
			o = o[:len(a)]
			for i, v := range a {
				o[i] = T(f(float64(v)))
			}
		}, true
	}
	each := func(f func(T) T) (func(o, a []T), bool) {
		return func(o, a []T) {
			o = o[:len(a)]
			for i, v := range a {
				o[i] = f(v)
			}
		}, true
	}
	switch op {
	case "Neg":
		if !signed {
			return nil, false
		}
		return each(func(v T) T { return -v })
	case "Abs":
		if !signed {
			return nil, false
		}
		if fl {
			return f64(math.Abs)
		}
		return each(func(v T) T {
			if v < 0 {
				return -v
			}
			return v
		})
	case "Sign":
		if !signed {
			return nil, false
		}
		return each(func(v T) T {
			switch {
			case v > 0:
				return 1
			case v < 0:
				var m T
				return m - 1
			case v == 0:
				return 0
			}
			return v // NaN
		})
	case "Square":
		return each(func(v T) T { return v * v })
	case "Relu":
		return func(o, a []T) {
			o = o[:len(a)]
			for i, v := range a {
				if v > 0 {
					o[i] = v
				} else {
					o[i] = 0
				}
			}
		}, true
	case "Relu6":
		return each(func(v T) T {
			if v <= 0 {
				return 0
			}
			if v >= 6 {
				return 6
			}
			return v
		})
	case "Sqrt":
		return f64(math.Sqrt)
	case "Rsqrt":
		return f64(func(x float64) float64 { return 1 / math.Sqrt(x) })
	case "Exp":
		return f64(math.Exp)
	case "Log":
		return f64(math.Log)
	case "Log1p":
		return f64(math.Log1p)
	case "Expm1":
		return f64(math.Expm1)
	case "Reciprocal", "Inv":
		if !fl {
			return each(func(v T) T { return 1 / v })
		}
		return f64(func(x float64) float64 { return 1 / x })
	case "Floor":
		return f64(math.Floor)
	case "Ceil":
		return f64(math.Ceil)
	case "Round", "Rint":
		if !fl {
			if op == "Round" {
				return each(func(v T) T { return v })
			}
			return nil, false
		}
		return f64(math.RoundToEven)
	case "Sigmoid":
		return f64(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) })
	case "Tanh":
		return f64(math.Tanh)
	case "Elu":
		return f64(func(x float64) float64 {
			if x < 0 {
				return math.Expm1(x)
			}
			return x
		})
	case "Selu":
		const scale, al = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
		return f64(func(x float64) float64 {
			if x < 0 {
				return scale * al * math.Expm1(x)
			}
			return scale * x
		})
	case "LeakyRelu":
		return f64(func(x float64) float64 {
			if x < 0 {
				return alpha * x
			}
			return x
		})
	case "Softplus":
		return f64(func(x float64) float64 {
			if x > 0 {
				return x + math.Log1p(math.Exp(-x))
			}
			return math.Log1p(math.Exp(x))
		})
	case "Softsign":
		return f64(func(x float64) float64 { return x / (1 + math.Abs(x)) })
	case "Erf":
		return f64(math.Erf)
	case "Erfc":
		return f64(math.Erfc)
	case "Sin":
		return f64(math.Sin)
	case "Cos":
		return f64(math.Cos)
	case "Tan":
		return f64(math.Tan)
	case "Asin":
		return f64(math.Asin)
	case "Acos":
		return f64(math.Acos)
	case "Atan":
		return f64(math.Atan)
	case "Sinh":
		return f64(math.Sinh)
	case "Cosh":
		return f64(math.Cosh)
	case "Asinh":
		return f64(math.Asinh)
	case "Acosh":
		return f64(math.Acosh)
	case "Atanh":
		return f64(math.Atanh)
	}
	return nil, false
}

func runUnary[T number](op string, alpha float64, out, x *tensor.Tensor) error {
	f, ok := unaryKernel[T](op, alpha)
	if !ok {
		return noKernel(op, x.DType)
	}
	f(out.Data.([]T), x.Data.([]T))
	return nil
}

func unary(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		alpha := float64(attrs.Float("alpha", 0.2))
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			out := ctx.New(x.DType, x.Shape)
			var err error
			switch xd := x.Data.(type) {
			case []float32:
				// Vectorized float32 paths for the activations models use most.
				switch op {
				case "Sigmoid":
					rnn.SigmoidSlice(out.F32(), xd)
				case "Tanh":
					rnn.TanhSlice(out.F32(), xd)
				case "Relu":
					rnn.ReluSlice(out.F32(), xd)
				default:
					err = runUnary[float32](op, alpha, out, x)
				}
			case []float64:
				err = runUnary[float64](op, alpha, out, x)
			case []int32:
				err = runUnary[int32](op, alpha, out, x)
			case []int64:
				err = runUnary[int64](op, alpha, out, x)
			case []int8:
				err = runUnary[int8](op, alpha, out, x)
			case []int16:
				err = runUnary[int16](op, alpha, out, x)
			case []uint8:
				err = runUnary[uint8](op, alpha, out, x)
			case []uint16:
				if x.DType != tensor.Uint16 {
					return nil, noKernel(op, x.DType)
				}
				err = runUnary[uint16](op, alpha, out, x)
			case []uint32:
				err = runUnary[uint32](op, alpha, out, x)
			case []uint64:
				err = runUnary[uint64](op, alpha, out, x)
			default:
				return nil, noKernel(op, x.DType)
			}
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
