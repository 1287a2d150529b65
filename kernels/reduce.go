package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// reduceAxes resolves a reduction-indices tensor against a rank.
func reduceAxes(op string, t *tensor.Tensor, rank int) ([]bool, error) {
	if len(t.Shape) > 1 {
		return nil, Errorf("%s: reduction_indices must be a scalar or vector, got %v", op, t.Shape)
	}
	ax, err := intsOf(op, "reduction_indices", t)
	if err != nil {
		return nil, err
	}
	red := make([]bool, rank)
	for _, a := range ax {
		if a < -int64(rank) || a >= int64(rank) {
			return nil, Errorf("Invalid reduction dimension (%d for input with %d dimension(s)", a, rank)
		}
		if a < 0 {
			a += int64(rank)
		}
		if red[a] {
			return nil, Errorf("Invalid reduction arguments: Axes contains duplicate dimension: %d", a)
		}
		red[a] = true
	}
	return red, nil
}

// reducePlan describes a reduction after merging neighbouring dims: the
// input is viewed as alternating kept/reduced groups.
type reducePlan struct {
	outShape  tensor.Shape // with keep_dims applied
	dims      []int        // merged dims
	reduced   []bool       // per merged dim
	outN, red int          // output size, elements reduced per output
}

func planReduce(in tensor.Shape, red []bool, keep bool) reducePlan {
	var p reducePlan
	p.outN, p.red = 1, 1
	for i, d := range in {
		if red[i] {
			p.red *= d
			if keep {
				p.outShape = append(p.outShape, 1)
			}
		} else {
			p.outN *= d
			p.outShape = append(p.outShape, d)
		}
		if d == 1 {
			continue
		}
		if n := len(p.dims); n > 0 && p.reduced[n-1] == red[i] {
			p.dims[n-1] *= d
			continue
		}
		p.dims = append(p.dims, d)
		p.reduced = append(p.reduced, red[i])
	}
	if p.outShape == nil {
		p.outShape = tensor.Shape{}
	}
	return p
}

// reduceOp is an accumulating reduction of S values into A accumulators.
type reduceOp[S, A any] struct {
	init  A
	add   func(acc A, v S) A
	final func(acc A, n int) A
}

func numReduceOp[T number](op string) (reduceOp[T, T], bool) {
	switch op {
	case "Sum":
		return reduceOp[T, T]{add: func(a, v T) T { return a + v }}, true
	case "Mean":
		return reduceOp[T, T]{add: func(a, v T) T { return a + v }, final: func(a T, n int) T {
			if n == 0 {
				if isFloat[T]() {
					return T(math.NaN())
				}
				return 0
			}
			return a / T(n)
		}}, true
	case "Prod":
		return reduceOp[T, T]{init: 1, add: func(a, v T) T { return a * v }}, true
	case "Max":
		return reduceOp[T, T]{init: lowest[T](), add: maxNaN[T]}, true
	case "Min":
		return reduceOp[T, T]{init: highest[T](), add: minNaN[T]}, true
	}
	return reduceOp[T, T]{}, false
}

// runReduce reduces src into dst according to the plan.
func runReduce[S, A any](dst []A, src []S, p reducePlan, r reduceOp[S, A]) {
	for i := range dst {
		dst[i] = r.init
	}
	if len(src) > 0 {
		switch {
		case len(p.dims) == 0:
			dst[0] = r.add(dst[0], src[0])
		case len(p.dims) == 1 && p.reduced[0]:
			acc := r.init
			for _, v := range src {
				acc = r.add(acc, v)
			}
			dst[0] = acc
		case len(p.dims) == 1:
			for i, v := range src {
				dst[i] = r.add(dst[i], v)
			}
		case len(p.dims) == 2 && !p.reduced[0]: // [kept, reduced]: row reductions
			n := p.dims[1]
			for i := range dst {
				acc := r.init
				for _, v := range src[i*n : (i+1)*n] {
					acc = r.add(acc, v)
				}
				dst[i] = acc
			}
		case len(p.dims) == 2: // [reduced, kept]: column reductions
			n := p.dims[1]
			for k := 0; k < p.dims[0]; k++ {
				row := src[k*n : (k+1)*n]
				for i, v := range row {
					dst[i] = r.add(dst[i], v)
				}
			}
		default:
			// General: walk the input, tracking the output offset.
			rank := len(p.dims)
			ost := make([]int, rank)
			acc := 1
			for i := rank - 1; i >= 0; i-- {
				if !p.reduced[i] {
					ost[i] = acc
					acc *= p.dims[i]
				}
			}
			idx := make([]int, rank)
			o := 0
			inner := p.dims[rank-1]
			lastRed := p.reduced[rank-1]
			for s := 0; s < len(src); s += inner {
				row := src[s : s+inner]
				if lastRed {
					a := dst[o]
					for _, v := range row {
						a = r.add(a, v)
					}
					dst[o] = a
				} else {
					d := dst[o : o+inner]
					for i, v := range row {
						d[i] = r.add(d[i], v)
					}
				}
				for k := rank - 2; k >= 0; k-- {
					idx[k]++
					o += ost[k]
					if idx[k] < p.dims[k] {
						break
					}
					o -= ost[k] * p.dims[k]
					idx[k] = 0
				}
			}
		}
	}
	if r.final != nil {
		for i := range dst {
			dst[i] = r.final(dst[i], p.red)
		}
	}
}

func reduceNum[T number](op string, dst, src []T, p reducePlan) bool {
	r, ok := numReduceOp[T](op)
	if !ok {
		return false
	}
	if op == "Sum" || op == "Mean" {
		if f, ok := any(src).([]float32); ok {
			// Accumulate float32 sums in float64 for accuracy.
			tmp := make([]float64, len(dst))
			r64 := reduceOp[float32, float64]{add: func(a float64, v float32) float64 { return a + float64(v) }}
			runReduce(tmp, f, p, r64)
			if op == "Mean" {
				for i := range tmp {
					tmp[i] /= float64(p.red)
				}
			}
			d := any(dst).([]float32)
			for i, v := range tmp {
				d[i] = float32(v)
			}
			return true
		}
	}
	runReduce(dst, src, p, r)
	return true
}

func reductionBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		keep := attrs.Bool("keep_dims", false)
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			x := in[0]
			red, err := reduceAxes(op, in[1], len(x.Shape))
			if err != nil {
				return nil, err
			}
			p := planReduce(x.Shape, red, keep)
			out := ctx.New(x.DType, p.outShape)
			ok := true
			switch src := x.Data.(type) {
			case []float32:
				ok = reduceNum(op, out.F32(), src, p)
			case []float64:
				ok = reduceNum(op, out.F64(), src, p)
			case []int32:
				ok = reduceNum(op, out.I32(), src, p)
			case []int64:
				ok = reduceNum(op, out.I64(), src, p)
			case []int8:
				ok = reduceNum(op, out.Data.([]int8), src, p)
			case []int16:
				ok = reduceNum(op, out.Data.([]int16), src, p)
			case []uint8:
				ok = reduceNum(op, out.Data.([]uint8), src, p)
			case []uint16:
				ok = x.DType == tensor.Uint16 && reduceNum(op, out.Data.([]uint16), src, p)
			case []uint32:
				ok = reduceNum(op, out.Data.([]uint32), src, p)
			case []uint64:
				ok = reduceNum(op, out.Data.([]uint64), src, p)
			case []bool:
				switch op {
				case "All":
					runReduce(out.Bools(), src, p, reduceOp[bool, bool]{init: true, add: func(a, v bool) bool { return a && v }})
				case "Any":
					runReduce(out.Bools(), src, p, reduceOp[bool, bool]{add: func(a, v bool) bool { return a || v }})
				default:
					ok = false
				}
			default:
				ok = false
			}
			if !ok || (x.DType != tensor.Bool && (op == "All" || op == "Any")) {
				return nil, noKernel(op, x.DType)
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
