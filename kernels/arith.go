package kernels

import (
	"math"

	"github.com/tfserve/tfserve/kernels/rnn"
	"github.com/tfserve/tfserve/tensor"
)

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

func runArith[T number](op string, k *binKernel[T, T], out, a, b *tensor.Tensor) error {
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
	if k == nil {
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
	binaryBroadcast(out.Data.([]T), a.Data.([]T), a.Shape, bd, b.Shape, out.Shape, *k)
	return nil
}

// arithKernels holds one op's row kernels for every numeric type (nil
// where the op has none). binaryArith builds them once per op: made per
// call, their closures cost a run six allocations.
type arithKernels struct {
	f32 *binKernel[float32, float32]
	f64 *binKernel[float64, float64]
	i32 *binKernel[int32, int32]
	i64 *binKernel[int64, int64]
	u8  *binKernel[uint8, uint8]
	i8  *binKernel[int8, int8]
	i16 *binKernel[int16, int16]
	u16 *binKernel[uint16, uint16]
	u32 *binKernel[uint32, uint32]
	u64 *binKernel[uint64, uint64]
}

// kernelFor returns arithKernel[T](op), or nil when there is none.
func kernelFor[T number](op string) *binKernel[T, T] {
	if k, ok := arithKernel[T](op); ok {
		return &k
	}
	return nil
}

func newArithKernels(op string) *arithKernels {
	return &arithKernels{
		f32: kernelFor[float32](op), f64: kernelFor[float64](op),
		i32: kernelFor[int32](op), i64: kernelFor[int64](op),
		u8: kernelFor[uint8](op), i8: kernelFor[int8](op), i16: kernelFor[int16](op),
		u16: kernelFor[uint16](op), u32: kernelFor[uint32](op), u64: kernelFor[uint64](op),
	}
}

// binaryShape is BroadcastShape(a, b), without allocating when the result
// is a or b itself (same shapes, or one side a scalar or broadcast only
// along size-1 dims): the caller must not modify it.
func binaryShape(a, b tensor.Shape) (tensor.Shape, error) {
	if dominates(a, b) {
		return a, nil
	}
	if dominates(b, a) {
		return b, nil
	}
	return BroadcastShape(a, b)
}

// dominates reports whether broadcasting a with b gives a: a has at least
// b's rank and each of b's dims equals a's or is 1.
func dominates(a, b tensor.Shape) bool {
	if len(b) > len(a) {
		return false
	}
	off := len(a) - len(b)
	for j, db := range b {
		if db != 1 && db != a[off+j] {
			return false
		}
	}
	return true
}

func binaryArith(op string) Builder {
	ks := newArithKernels(op)
	return func(Attrs, int) (Func, error) {
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if a.DType != b.DType {
				return nil, Errorf("%s: inputs must have the same type, got %v and %v", op, a.DType, b.DType)
			}
			os, err := binaryShape(a.Shape, b.Shape)
			if err != nil {
				return nil, err
			}
			out, res := ctx.new1(a.DType, os)
			switch a.Data.(type) {
			case []float32:
				err = runArith(op, ks.f32, out, a, b)
			case []float64:
				err = runArith(op, ks.f64, out, a, b)
			case []int32:
				err = runArith(op, ks.i32, out, a, b)
			case []int64:
				err = runArith(op, ks.i64, out, a, b)
			case []uint8:
				err = runArith(op, ks.u8, out, a, b)
			case []int8:
				err = runArith(op, ks.i8, out, a, b)
			case []int16:
				err = runArith(op, ks.i16, out, a, b)
			case []uint16:
				if a.DType != tensor.Uint16 {
					return nil, noKernel(op, a.DType)
				}
				err = runArith(op, ks.u16, out, a, b)
			case []uint32:
				err = runArith(op, ks.u32, out, a, b)
			case []uint64:
				err = runArith(op, ks.u64, out, a, b)
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
			return res, nil
		}, nil
	}
}

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
