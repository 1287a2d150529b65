package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func paddingsOf(op string, t *tensor.Tensor, rank int) ([][2]int, error) {
	if len(t.Shape) != 2 || t.Shape[0] != rank || t.Shape[1] != 2 {
		return nil, Errorf("The first dimension of paddings must be the rank of inputs[%d,2] %v", rank, t.Shape)
	}
	v, err := intsOf(op, "paddings", t)
	if err != nil {
		return nil, err
	}
	p := make([][2]int, rank)
	for i := range p {
		a, b := v[2*i], v[2*i+1]
		if a < 0 || b < 0 {
			return nil, Errorf("Paddings must be non-negative: %d %d", a, b)
		}
		if a > maxElements || b > maxElements {
			return nil, Errorf("Paddings too large: %d %d", a, b)
		}
		p[i] = [2]int{int(a), int(b)}
	}
	return p, nil
}

func padBuilder(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		want := 2
		if op == "PadV2" {
			want = 3
		}
		if err := checkInputs(op, in, want); err != nil {
			return nil, err
		}
		x := in[0]
		p, err := paddingsOf(op, in[1], len(x.Shape))
		if err != nil {
			return nil, err
		}
		os := make(tensor.Shape, len(x.Shape))
		for i, d := range x.Shape {
			os[i] = d + p[i][0] + p[i][1]
		}
		if err := checkSize(op, os); err != nil {
			return nil, err
		}
		out := ctx.New(x.DType, os)
		mv := moverOf(x.Data)
		if op == "PadV2" {
			c := in[2]
			if c.DType != x.DType || c.Len() != 1 {
				return nil, Errorf("constant_values must be a scalar. Shape: %v", c.Shape)
			}
			mv.fill(out.Data, 0, out.Len(), c.Data, 0)
		}
		if x.Len() == 0 {
			return []*tensor.Tensor{out}, nil
		}
		st := stridesOf(os)
		offs := make([][]int, len(os))
		for i, d := range x.Shape {
			offs[i] = axisOffs(p[i][0], 1, d, st[i])
		}
		mv.scatter(out.Data, x.Data, 0, collapseOffs(offs))
		return []*tensor.Tensor{out}, nil
	})
}

func mirrorPadBuilder(attrs Attrs, _ int) (Func, error) {
	mode := attrs.String("mode", "")
	var off int
	switch mode {
	case "REFLECT":
		off = 1
	case "SYMMETRIC":
		off = 0
	default:
		return nil, buildErr("MirrorPad", "mode must be REFLECT or SYMMETRIC, got %q", mode)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("MirrorPad", in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		p, err := paddingsOf("MirrorPad", in[1], len(x.Shape))
		if err != nil {
			return nil, err
		}
		st := stridesOf(x.Shape)
		os := make(tensor.Shape, len(x.Shape))
		offs := make([][]int, len(x.Shape))
		for i, d := range x.Shape {
			lim := d - off
			if p[i][0] > lim || p[i][1] > lim {
				return nil, Errorf("paddings must be less than the dimension size: %d, %d not less than %d", p[i][0], p[i][1], d+1-off)
			}
			os[i] = d + p[i][0] + p[i][1]
			o := make([]int, os[i])
			for j := range o {
				k := j - p[i][0]
				switch {
				case k < 0:
					k = -k - 1 + off
				case k >= d:
					k = 2*d - k - 1 - off
				}
				o[j] = k * st[i]
			}
			offs[i] = o
		}
		return []*tensor.Tensor{gatherView(ctx, x, os, 0, offs)}, nil
	}, nil
}
