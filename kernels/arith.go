package kernels

import (
	"github.com/tfserve/tfserve/kernels/rnn"
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// noKernel is TF's error for an op that has no kernel for a dtype.
func noKernel(op string, dt tensor.DType) error {
	return Errorf("No OpKernel was registered to support Op '%s' with these attrs: [T=%v]", op, dt)
}

// ---- binary arithmetic -------------------------------------------------

// arithKernel returns the row kernels of a binary arithmetic op for T.
func arithKernel[T number](op string) (binKernel[T, T], bool) {
	fl := isFloat[T]()
	switch op {
	case "Add", "AddV2":
		return binKernel[T, T]{
			vv: func(o, a, b []T) {
				b, o = b[:len(a)], o[:len(a)]
				for i := range a {
					o[i] = a[i] + b[i]
				}
			},
			sv: func(o []T, a T, b []T) {
				o = o[:len(b)]
				for i := range b {
					o[i] = a + b[i]
				}
			},
			vs: func(o, a []T, b T) {
				o = o[:len(a)]
				for i := range a {
					o[i] = a[i] + b
				}
			},
		}, true
	case "Sub":
		return binKernel[T, T]{
			vv: func(o, a, b []T) {
				b, o = b[:len(a)], o[:len(a)]
				for i := range a {
					o[i] = a[i] - b[i]
				}
			},
			sv: func(o []T, a T, b []T) {
				o = o[:len(b)]
				for i := range b {
					o[i] = a - b[i]
				}
			},
			vs: func(o, a []T, b T) {
				o = o[:len(a)]
				for i := range a {
					o[i] = a[i] - b
				}
			},
		}, true
	case "Mul":
		return binKernel[T, T]{
			vv: func(o, a, b []T) {
				b, o = b[:len(a)], o[:len(a)]
				for i := range a {
					o[i] = a[i] * b[i]
				}
			},
			sv: func(o []T, a T, b []T) {
				o = o[:len(b)]
				for i := range b {
					o[i] = a * b[i]
				}
			},
			vs: func(o, a []T, b T) {
				o = o[:len(a)]
				for i := range a {
					o[i] = a[i] * b
				}
			},
		}, true
	case "RealDiv", "Div", "TruncateDiv":
		if !fl && op == "RealDiv" {
			return binKernel[T, T]{}, false
		}
		if fl && op == "TruncateDiv" {
			return binKernel[T, T]{}, false
		}
		// Integer division truncates toward zero in both Go and TF's Div.
		return binKernel[T, T]{
			vv: func(o, a, b []T) {
				b, o = b[:len(a)], o[:len(a)]
				for i := range a {
					o[i] = a[i] / b[i]
				}
			},
			sv: func(o []T, a T, b []T) {
				o = o[:len(b)]
				for i := range b {
					o[i] = a / b[i]
				}
			},
			vs: func(o, a []T, b T) {
				o = o[:len(a)]
				if fl {
					r := 1 / b
					if !math.IsInf(float64(r), 0) && r != 0 && float64(r)*float64(b) == 1 {
						// Exact reciprocal (power of two): multiplication is bit-identical.
						for i := range a {
							o[i] = a[i] * r
						}
						return
					}
				}
				for i := range a {
					o[i] = a[i] / b
				}
			},
		}, true
	case "Maximum":
		return binKernel[T, T]{
			vv: func(o, a, b []T) {
				b, o = b[:len(a)], o[:len(a)]
				for i := range a {
					o[i] = maxNaN(a[i], b[i])
				}
			},
			sv: func(o []T, a T, b []T) {
				o = o[:len(b)]
				for i := range b {
					o[i] = maxNaN(a, b[i])
				}
			},
			vs: func(o, a []T, b T) {
				o = o[:len(a)]
				for i := range a {
					o[i] = maxNaN(a[i], b)
				}
			},
		}, true
	case "Minimum":
		return binKernel[T, T]{
			vv: func(o, a, b []T) {
				b, o = b[:len(a)], o[:len(a)]
				for i := range a {
					o[i] = minNaN(a[i], b[i])
				}
			},
			sv: func(o []T, a T, b []T) {
				o = o[:len(b)]
				for i := range b {
					o[i] = minNaN(a, b[i])
				}
			},
			vs: func(o, a []T, b T) {
				o = o[:len(a)]
				for i := range a {
					o[i] = minNaN(a[i], b)
				}
			},
		}, true
	case "SquaredDifference":
		return elemKernel(func(a, b T) T { d := a - b; return d * d }), true
	case "DivNoNan":
		if !fl {
			return binKernel[T, T]{}, false
		}
		return elemKernel(func(a, b T) T {
			if b == 0 {
				return 0
			}
			return a / b
		}), true
	case "MulNoNan":
		if !fl {
			return binKernel[T, T]{}, false
		}
		return elemKernel(func(a, b T) T {
			if b == 0 {
				return 0
			}
			return a * b
		}), true
	case "FloorDiv":
		if fl {
			return elemKernel(func(a, b T) T { return T(math.Floor(float64(a) / float64(b))) }), true
		}
		return elemKernel(func(a, b T) T {
			q := a / b
			if (imod(a, b) != 0) && ((a < 0) != (b < 0)) {
				q--
			}
			return q
		}), true
	case "FloorMod":
		if fl {
			return elemKernel(func(a, b T) T {
				r := T(math.Mod(float64(a), float64(b)))
				if r != 0 && ((r < 0) != (b < 0)) {
					r += b
				}
				return r
			}), true
		}
		return elemKernel(func(a, b T) T {
			r := imod(a, b)
			if r != 0 && ((r < 0) != (b < 0)) {
				r += b
			}
			return r
		}), true
	case "Mod", "TruncateMod":
		if fl {
			return elemKernel(func(a, b T) T { return T(math.Mod(float64(a), float64(b))) }), true
		}
		return elemKernel(imod[T]), true
	case "Pow":
		if fl {
			return elemKernel(func(a, b T) T { return T(math.Pow(float64(a), float64(b))) }), true
		}
		return elemKernel(func(a, b T) T { return intPow(a, b) }), true
	case "Atan2":
		if !fl {
			return binKernel[T, T]{}, false
		}
		return elemKernel(func(a, b T) T { return T(math.Atan2(float64(a), float64(b))) }), true
	case "Xdivy":
		if !fl {
			return binKernel[T, T]{}, false
		}
		return elemKernel(func(a, b T) T {
			if a == 0 {
				return 0
			}
			return a / b
		}), true
	}
	return binKernel[T, T]{}, false
}

func maxNaN[T number](a, b T) T {
	if a != a || a > b {
		return a
	}
	return b
}

func minNaN[T number](a, b T) T {
	if a != a || a < b {
		return a
	}
	return b
}

// intPow is integer exponentiation by squaring (b >= 0 checked by caller).
func intPow[T number](a, b T) T {
	r := T(1)
	for b > 0 {
		if imod(b, 2) == 1 {
			r *= a
		}
		a *= a
		b /= 2
	}
	return r
}

// imod is the truncated remainder of integers held in a number type.
func imod[T number](a, b T) T {
	if isSigned[T]() {
		return T(int64(a) % int64(b))
	}
	return T(uint64(a) % uint64(b))
}

// intDivisionOp reports ops that fail on integer division by zero.
func intDivisionOp(op string) bool {
	switch op {
	case "Div", "FloorDiv", "FloorMod", "Mod", "TruncateDiv", "TruncateMod":
		return true
	}
	return false
}

func runArith[T number](op string, out, a, b *tensor.Tensor) error {
	// Vectorized float32 Add and Mul of same-sized operands.
	if o, ok := out.Data.([]float32); ok {
		ad, bd := a.Data.([]float32), b.Data.([]float32)
		if len(ad) == len(o) && len(bd) == len(o) {
			switch op {
			case "Add", "AddV2":
				rnn.AddSlice(o, ad, bd)
				return nil
			case "Mul":
				rnn.MulSlice(o, ad, bd)
				return nil
			}
		}
	}
	k, ok := arithKernel[T](op)
	if !ok {
		return noKernel(op, a.DType)
	}
	bd := b.Data.([]T)
	if !isFloat[T]() {
		if intDivisionOp(op) {
			for _, v := range bd {
				if v == 0 {
					return Errorf("Integer division by zero")
				}
			}
		}
		if op == "Pow" && isSigned[T]() {
			for _, v := range bd {
				if v < 0 {
					return Errorf("Integers to negative integer powers are not allowed")
				}
			}
		}
	}
	binaryBroadcast(out.Data.([]T), a.Data.([]T), a.Shape, bd, b.Shape, out.Shape, k)
	return nil
}

func binaryArith(op string) Builder {
	return func(Attrs, int) (Func, error) {
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if a.DType != b.DType {
				return nil, Errorf("%s: inputs must have the same type, got %v and %v", op, a.DType, b.DType)
			}
			os, err := broadcastShape(a.Shape, b.Shape)
			if err != nil {
				return nil, err
			}
			out := ctx.New(a.DType, os)
			switch a.Data.(type) {
			case []float32:
				err = runArith[float32](op, out, a, b)
			case []float64:
				err = runArith[float64](op, out, a, b)
			case []int32:
				err = runArith[int32](op, out, a, b)
			case []int64:
				err = runArith[int64](op, out, a, b)
			case []uint8:
				err = runArith[uint8](op, out, a, b)
			case []int8:
				err = runArith[int8](op, out, a, b)
			case []int16:
				err = runArith[int16](op, out, a, b)
			case []uint16:
				if a.DType != tensor.Uint16 {
					return nil, noKernel(op, a.DType)
				}
				err = runArith[uint16](op, out, a, b)
			case []uint32:
				err = runArith[uint32](op, out, a, b)
			case []uint64:
				err = runArith[uint64](op, out, a, b)
			case []string:
				if op != "Add" && op != "AddV2" {
					return nil, noKernel(op, a.DType)
				}
				binaryBroadcast(out.Data.([]string), a.Data.([]string), a.Shape, b.Data.([]string), b.Shape, os,
					elemKernel(func(x, y string) string { return x + y }))
			default:
				return nil, noKernel(op, a.DType)
			}
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}

// ---- comparisons and logic ---------------------------------------------

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
			os, err := broadcastShape(a.Shape, b.Shape)
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
		os, err := broadcastShape(a.Shape, b.Shape)
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

// ---- unary ----------------------------------------------------------------

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

// ---- AddN, Select, ClipByValue ------------------------------------------

func addNT[T number](o []T, in []*tensor.Tensor) {
	copy(o, in[0].Data.([]T))
	for _, t := range in[1:] {
		d := t.Data.([]T)[:len(o)]
		for i := range o {
			o[i] += d[i]
		}
	}
}

func addN(attrs Attrs, n int) (Func, error) {
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkMinInputs("AddN", in, 1); err != nil {
			return nil, err
		}
		for i, t := range in[1:] {
			if t.DType != in[0].DType || !t.Shape.Equal(in[0].Shape) {
				return nil, Errorf("AddN: inputs must have the same size and shape. Input 0: %v != input %d: %v", in[0].Shape, i+1, t.Shape)
			}
		}
		out := ctx.New(in[0].DType, in[0].Shape)
		switch out.Data.(type) {
		case []float32:
			addNT[float32](out.F32(), in)
		case []float64:
			addNT[float64](out.F64(), in)
		case []int32:
			addNT[int32](out.I32(), in)
		case []int64:
			addNT[int64](out.I64(), in)
		case []int8:
			addNT[int8](out.Data.([]int8), in)
		case []int16:
			addNT[int16](out.Data.([]int16), in)
		case []uint8:
			addNT[uint8](out.Data.([]uint8), in)
		case []uint16:
			addNT[uint16](out.Data.([]uint16), in)
		case []uint32:
			addNT[uint32](out.Data.([]uint32), in)
		case []uint64:
			addNT[uint64](out.Data.([]uint64), in)
		default:
			return nil, noKernel("AddN", in[0].DType)
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// selectV1 is TF's Select: condition is a scalar, has the shape of t, or is
// a vector matching t's first dimension.
func selectV1(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Select", in, 3); err != nil {
		return nil, err
	}
	c, t, e := in[0], in[1], in[2]
	if c.DType != tensor.Bool {
		return nil, Errorf("Select: condition must be bool, got %v", c.DType)
	}
	if t.DType != e.DType {
		return nil, Errorf("Select: then and else must have the same type, got %v and %v", t.DType, e.DType)
	}
	if !t.Shape.Equal(e.Shape) {
		return nil, Errorf("'then' and 'else' must have the same size.  but received: %v vs. %v", t.Shape, e.Shape)
	}
	cond := c.Bools()
	out := ctx.New(t.DType, t.Shape)
	mv := moverOf(t.Data)
	switch {
	case len(c.Shape) == 0 || c.Shape.Equal(t.Shape):
		if len(c.Shape) == 0 {
			src := e.Data
			if cond[0] {
				src = t.Data
			}
			mv.copyRun(out.Data, 0, src, 0, t.Len())
			break
		}
		return selectElems(out, cond, t, e)
	case len(c.Shape) == 1 && len(t.Shape) >= 1 && c.Shape[0] == t.Shape[0]:
		inner := prod(t.Shape, 1, len(t.Shape))
		for i, v := range cond {
			src := e.Data
			if v {
				src = t.Data
			}
			mv.copyRun(out.Data, i*inner, src, i*inner, inner)
		}
	default:
		return nil, Errorf("'then' and 'else' must have the same size. but received: %v vs. %v", t.Shape, e.Shape)
	}
	return []*tensor.Tensor{out}, nil
}

func selectT[T any](o []T, c []bool, a, b []T) {
	for i, v := range c {
		if v {
			o[i] = a[i]
		} else {
			o[i] = b[i]
		}
	}
}

// selectElems does an elementwise select of equal-shaped tensors.
func selectElems(out *tensor.Tensor, c []bool, t, e *tensor.Tensor) ([]*tensor.Tensor, error) {
	switch o := out.Data.(type) {
	case []float32:
		selectT(o, c, t.F32(), e.F32())
	case []float64:
		selectT(o, c, t.F64(), e.F64())
	case []int32:
		selectT(o, c, t.I32(), e.I32())
	case []int64:
		selectT(o, c, t.I64(), e.I64())
	default:
		mv := moverOf(out.Data)
		for i, v := range c {
			src := e.Data
			if v {
				src = t.Data
			}
			mv.copyRun(out.Data, i, src, i, 1)
		}
	}
	return []*tensor.Tensor{out}, nil
}

// selectV2 broadcasts condition, t and e together.
func selectV2(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("SelectV2", in, 3); err != nil {
		return nil, err
	}
	c, t, e := in[0], in[1], in[2]
	if c.DType != tensor.Bool {
		return nil, Errorf("SelectV2: condition must be bool, got %v", c.DType)
	}
	if t.DType != e.DType {
		return nil, Errorf("SelectV2: then and else must have the same type, got %v and %v", t.DType, e.DType)
	}
	s1, err := broadcastShape(t.Shape, e.Shape)
	if err != nil {
		return nil, err
	}
	os, err := broadcastShape(c.Shape, s1)
	if err != nil {
		return nil, Errorf("condition %v and then/else %v are not broadcastable", c.Shape, s1)
	}
	if c.Shape.Equal(os) && t.Shape.Equal(os) && e.Shape.Equal(os) {
		return selectElems(ctx.New(t.DType, os), c.Bools(), t, e)
	}
	cb := broadcastView(ctx, c, os)
	tb := broadcastView(ctx, t, os)
	eb := broadcastView(ctx, e, os)
	return selectElems(ctx.New(t.DType, os), cb.Bools(), tb, eb)
}

// broadcastView materializes t broadcast to shape os (t itself when equal).
func broadcastView(ctx *Context, t *tensor.Tensor, os tensor.Shape) *tensor.Tensor {
	if t.Shape.Equal(os) {
		return t
	}
	return gatherView(ctx, t, os, 0, broadcastOffs(t.Shape, os))
}

func clipT[T number](o, x, lo, hi []T) {
	for i, v := range x {
		l, h := lo[0], hi[0]
		if len(lo) > 1 {
			l = lo[i]
		}
		if len(hi) > 1 {
			h = hi[i]
		}
		if v < l {
			v = l
		}
		if v > h {
			v = h
		}
		o[i] = v
	}
}

func clipByValue(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ClipByValue", in, 3); err != nil {
		return nil, err
	}
	x, lo, hi := in[0], in[1], in[2]
	if lo.DType != x.DType || hi.DType != x.DType {
		return nil, Errorf("ClipByValue: clip values must have type %v", x.DType)
	}
	for _, c := range []*tensor.Tensor{lo, hi} {
		if len(c.Shape) != 0 && !c.Shape.Equal(x.Shape) {
			return nil, Errorf("clip_value_min and clip_value_max must be either scalars or have the same shape as the input: t shape: %v clip_value_min shape: %v clip_value_max shape: %v", x.Shape, lo.Shape, hi.Shape)
		}
	}
	out := ctx.New(x.DType, x.Shape)
	if x.Len() == 0 {
		return []*tensor.Tensor{out}, nil
	}
	switch o := out.Data.(type) {
	case []float32:
		clipT(o, x.F32(), lo.F32(), hi.F32())
	case []float64:
		clipT(o, x.F64(), lo.F64(), hi.F64())
	case []int32:
		clipT(o, x.I32(), lo.I32(), hi.I32())
	case []int64:
		clipT(o, x.I64(), lo.I64(), hi.I64())
	case []uint8:
		clipT(o, x.Data.([]uint8), lo.Data.([]uint8), hi.Data.([]uint8))
	case []int8:
		clipT(o, x.Data.([]int8), lo.Data.([]int8), hi.Data.([]int8))
	case []int16:
		clipT(o, x.Data.([]int16), lo.Data.([]int16), hi.Data.([]int16))
	default:
		return nil, noKernel("ClipByValue", x.DType)
	}
	return []*tensor.Tensor{out}, nil
}
