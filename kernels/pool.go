package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

func poolT[T floating](o, x []T, g *convGeom, avg bool) {
	for b := 0; b < g.n; b++ {
		for oy := 0; oy < g.oh; oy++ {
			y0 := oy*g.sh - g.padTop
			ys, ye := max(y0, 0), min(y0+g.kh, g.h)
			for ox := 0; ox < g.ow; ox++ {
				x0 := ox*g.sw - g.padLeft
				xs, xe := max(x0, 0), min(x0+g.kw, g.w)
				acc := o[((b*g.oh+oy)*g.ow+ox)*g.c:][:g.c]
				for c := range acc {
					if avg {
						acc[c] = 0
					} else {
						acc[c] = T(math.Inf(-1))
					}
				}
				for iy := ys; iy < ye; iy++ {
					for ix := xs; ix < xe; ix++ {
						px := x[((b*g.h+iy)*g.w+ix)*g.c:][:g.c]
						if avg {
							for c, v := range px {
								acc[c] += v
							}
						} else {
							for c, v := range px {
								if v > acc[c] || v != v {
									acc[c] = v
								}
							}
						}
					}
				}
				if avg {
					cnt := T((ye - ys) * (xe - xs))
					for c := range acc {
						acc[c] /= cnt
					}
				}
			}
		}
	}
}

func poolBuilder(op string) Builder {
	avg := op == "AvgPool"
	return func(attrs Attrs, _ int) (Func, error) {
		ca, err := decodeWindowAttrs(op, attrs, op != "MaxPoolV2")
		if err != nil {
			return nil, err
		}
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			want := 1
			if op == "MaxPoolV2" {
				want = 3
			}
			if err := checkInputs(op, in, want); err != nil {
				return nil, err
			}
			c := *ca
			if op == "MaxPoolV2" {
				k, err := vectorInts(op, "ksize", in[1], false)
				if err != nil {
					return nil, err
				}
				s, err := vectorInts(op, "strides", in[2], false)
				if err != nil {
					return nil, err
				}
				if len(k) != 4 || len(s) != 4 {
					return nil, Errorf("Sliding window ksize and strides fields must specify 4 dimensions")
				}
				hi := 1
				if c.nchw {
					hi = 2
				}
				c.kh, c.kw, c.sh, c.sw = int(k[hi]), int(k[hi+1]), int(s[hi]), int(s[hi+1])
				if c.kh < 1 || c.kw < 1 || c.sh < 1 || c.sw < 1 {
					return nil, Errorf("Sliding window ksize and strides must be positive")
				}
			}
			x := in[0]
			if len(x.Shape) != 4 {
				return nil, Errorf("input must be 4-dimensional: %v", x.Shape)
			}
			x = toNHWC(ctx, x, c.nchw)
			g := &convGeom{n: x.Shape[0], h: x.Shape[1], w: x.Shape[2], c: x.Shape[3],
				kh: c.kh, kw: c.kw, sh: c.sh, sw: c.sw, dh: 1, dw: 1}
			var err error
			if g.oh, g.padTop, err = windowDim(g.h, g.kh, g.sh, 1, c.padding, c.explicit[0]); err != nil {
				return nil, err
			}
			if g.ow, g.padLeft, err = windowDim(g.w, g.kw, g.sw, 1, c.padding, c.explicit[1]); err != nil {
				return nil, err
			}
			if g.padTop >= g.kh || g.padLeft >= g.kw {
				return nil, Errorf("%s: padding must be smaller than the window", op)
			}
			out := ctx.New(x.DType, tensor.Shape{g.n, g.oh, g.ow, g.c})
			switch o := out.Data.(type) {
			case []float32:
				poolT(o, x.F32(), g, avg)
			case []float64:
				poolT(o, x.F64(), g, avg)
			default:
				return nil, noKernel(op, x.DType)
			}
			return []*tensor.Tensor{fromNHWC(ctx, out, c.nchw)}, nil
		}, nil
	}
}
