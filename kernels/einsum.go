package kernels

import (
	"strings"

	"github.com/tfserve/tfserve/tensor"
)

// einsumPlan is a parsed 1- or 2-operand equation without ellipsis.
type einsumPlan struct {
	inputs []string
	output string
}

func parseEinsum(eq string, n int) (*einsumPlan, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	if strings.Contains(eq, "...") {
		return nil, buildErr("Einsum", "equation %q: ellipsis is not supported", eq)
	}
	lhs, rhs, ok := strings.Cut(eq, "->")
	if !ok {
		return nil, buildErr("Einsum", "equation %q: implicit output is not supported", eq)
	}
	ins := strings.Split(lhs, ",")
	if len(ins) != n || n < 1 || n > 2 {
		return nil, buildErr("Einsum", "equation %q has %d operands, node has %d inputs (only 1 or 2 supported)", eq, len(ins), n)
	}
	all := map[rune]bool{}
	for _, s := range ins {
		seen := map[rune]bool{}
		for _, r := range s {
			if r < 'A' || r > 'z' || (r > 'Z' && r < 'a') {
				return nil, buildErr("Einsum", "equation %q: bad label %q", eq, r)
			}
			if seen[r] {
				return nil, buildErr("Einsum", "equation %q: repeated label %q in one operand (diagonals) is not supported", eq, r)
			}
			seen[r] = true
			all[r] = true
		}
	}
	seen := map[rune]bool{}
	for _, r := range rhs {
		if !all[r] || seen[r] {
			return nil, buildErr("Einsum", "equation %q: output label %q must appear once and in an input", eq, r)
		}
		seen[r] = true
	}
	return &einsumPlan{inputs: ins, output: rhs}, nil
}

// sumOut reduces the dims of x labelled with letters absent from keep.
func einsumReduce(ctx *Context, x *tensor.Tensor, labels string, keep func(rune) bool) (*tensor.Tensor, string, error) {
	red := make([]bool, len(labels))
	any := false
	var rest []rune
	for i, r := range labels {
		if !keep(r) {
			red[i] = true
			any = true
		} else {
			rest = append(rest, r)
		}
	}
	if !any {
		return x, labels, nil
	}
	p := planReduce(x.Shape, red, false)
	out := ctx.New(x.DType, p.outShape)
	ok := false
	switch src := x.Data.(type) {
	case []float32:
		ok = reduceNum("Sum", out.F32(), src, p)
	case []float64:
		ok = reduceNum("Sum", out.F64(), src, p)
	case []int32:
		ok = reduceNum("Sum", out.I32(), src, p)
	case []int64:
		ok = reduceNum("Sum", out.I64(), src, p)
	}
	if !ok {
		return nil, "", noKernel("Einsum", x.DType)
	}
	return out, string(rest), nil
}

func permute(ctx *Context, x *tensor.Tensor, from, to string) *tensor.Tensor {
	perm := make([]int, len(to))
	for i, r := range to {
		perm[i] = strings.IndexRune(from, r)
	}
	return transposeTensor(ctx, x, perm)
}

func einsumBuilder(attrs Attrs, n int) (Func, error) {
	p, err := parseEinsum(attrs.String("equation", ""), n)
	if err != nil {
		return nil, err
	}
	mm := newMatMuler()
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Einsum", in, len(p.inputs)); err != nil {
			return nil, err
		}
		dims := map[rune]int{}
		for i, t := range in {
			if len(t.Shape) != len(p.inputs[i]) {
				return nil, Errorf("Input %d to einsum has rank %d but subscript %q expects %d", i, len(t.Shape), p.inputs[i], len(p.inputs[i]))
			}
			for j, r := range p.inputs[i] {
				if d, ok := dims[r]; ok && d != t.Shape[j] {
					return nil, Errorf("Expected dimension %d at axis %d of input %d, got %d", d, j, i, t.Shape[j])
				}
				dims[r] = t.Shape[j]
			}
		}
		inOut := func(r rune) bool { return strings.ContainsRune(p.output, r) }
		if len(in) == 1 {
			x, labels, err := einsumReduce(ctx, in[0], p.inputs[0], inOut)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{permute(ctx, x, labels, p.output)}, nil
		}
		la, lb := p.inputs[0], p.inputs[1]
		// Sum out labels that appear in only one operand and not in the output.
		a, la, err := einsumReduce(ctx, in[0], la, func(r rune) bool { return inOut(r) || strings.ContainsRune(lb, r) })
		if err != nil {
			return nil, err
		}
		b, lb, err := einsumReduce(ctx, in[1], lb, func(r rune) bool { return inOut(r) || strings.ContainsRune(la, r) })
		if err != nil {
			return nil, err
		}
		var batch, freeA, freeB, contr string
		for _, r := range la {
			switch {
			case strings.ContainsRune(lb, r) && inOut(r):
				batch += string(r)
			case strings.ContainsRune(lb, r):
				contr += string(r)
			default:
				freeA += string(r)
			}
		}
		for _, r := range lb {
			if !strings.ContainsRune(la, r) {
				freeB += string(r)
			}
		}
		size := func(s string) int {
			n := 1
			for _, r := range s {
				n *= dims[r]
			}
			return n
		}
		at := permute(ctx, a, la, batch+freeA+contr)
		bt := permute(ctx, b, lb, batch+contr+freeB)
		nb, m, k, nn := size(batch), size(freeA), size(contr), size(freeB)
		at = at.Reshaped(tensor.Shape{nb, m, k})
		bt = bt.Reshaped(tensor.Shape{nb, k, nn})
		c, err := batchMatMul(ctx, mm, at, bt, false, false, false)
		if err != nil {
			return nil, err
		}
		cl := batch + freeA + freeB
		cs := make(tensor.Shape, len(cl))
		for i, r := range cl {
			cs[i] = dims[r]
		}
		return []*tensor.Tensor{permute(ctx, c.Reshaped(cs), cl, p.output)}, nil
	}, nil
}
