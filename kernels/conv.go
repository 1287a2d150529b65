package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// im2col builds the [oh*ow, kh*kw*c] patch matrix of image b.
func im2col[T number](dst, x []T, g *convGeom, b int) {
	row := g.kh * g.kw * g.c
	img := x[b*g.h*g.w*g.c:]
	for oy := 0; oy < g.oh; oy++ {
		for ox := 0; ox < g.ow; ox++ {
			d := dst[(oy*g.ow+ox)*row:]
			p := 0
			for ky := 0; ky < g.kh; ky++ {
				iy := oy*g.sh - g.padTop + ky*g.dh
				for kx := 0; kx < g.kw; kx++ {
					ix := ox*g.sw - g.padLeft + kx*g.dw
					seg := d[p : p+g.c]
					if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
						for i := range seg {
							seg[i] = 0
						}
					} else {
						copy(seg, img[(iy*g.w+ix)*g.c:])
					}
					p += g.c
				}
			}
		}
	}
}

func conv2dT[T number](mm *matMuler, o, x, f []T, g *convGeom) error {
	k := g.kh * g.kw * g.c
	rows := g.oh * g.ow
	direct := g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0 && g.oh == g.h && g.ow == g.w
	var patches []T
	if !direct {
		patches = make([]T, rows*k)
	}
	for b := 0; b < g.n; b++ {
		src := x[b*g.h*g.w*g.c : (b+1)*g.h*g.w*g.c]
		if !direct {
			im2col(patches, x, g, b)
			src = patches
		}
		if err := mm.mul(o[b*rows*g.co:(b+1)*rows*g.co], src, f, rows, g.co, k, false, false); err != nil {
			return err
		}
	}
	return nil
}

func conv2dBuilder(attrs Attrs, _ int) (Func, error) {
	ca, err := decodeWindowAttrs("Conv2D", attrs, false)
	if err != nil {
		return nil, err
	}
	mm := newMatMuler()
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Conv2D", in, 2); err != nil {
			return nil, err
		}
		x, f := in[0], in[1]
		if len(x.Shape) != 4 {
			return nil, Errorf("input must be 4-dimensional%v", x.Shape)
		}
		if len(f.Shape) != 4 {
			return nil, Errorf("filter must be 4-dimensional: %v", f.Shape)
		}
		if x.DType != f.DType {
			return nil, Errorf("Conv2D: filter type %v does not match input type %v", f.DType, x.DType)
		}
		x = toNHWC(ctx, x, ca.nchw)
		g := &convGeom{n: x.Shape[0], h: x.Shape[1], w: x.Shape[2], c: x.Shape[3],
			kh: f.Shape[0], kw: f.Shape[1], co: f.Shape[3], sh: ca.sh, sw: ca.sw, dh: ca.dh, dw: ca.dw}
		if f.Shape[2] != g.c {
			return nil, Errorf("input depth must be evenly divisible by filter depth: %d vs %d (grouped convolution is not supported)", g.c, f.Shape[2])
		}
		var err error
		if g.oh, g.padTop, err = windowDim(g.h, g.kh, g.sh, g.dh, ca.padding, ca.explicit[0]); err != nil {
			return nil, err
		}
		if g.ow, g.padLeft, err = windowDim(g.w, g.kw, g.sw, g.dw, ca.padding, ca.explicit[1]); err != nil {
			return nil, err
		}
		os := tensor.Shape{g.n, g.oh, g.ow, g.co}
		if err := checkSize("Conv2D", tensor.Shape{g.oh * g.ow, g.kh * g.kw * g.c}); err != nil {
			return nil, err
		}
		out := ctx.New(x.DType, os)
		if out.Len() > 0 {
			switch o := out.Data.(type) {
			case []float32:
				err = conv2dT(mm, o, x.F32(), f.F32(), g)
			case []float64:
				err = conv2dT(mm, o, x.F64(), f.F64(), g)
			case []int32:
				err = conv2dT(mm, o, x.I32(), f.I32(), g)
			default:
				return nil, noKernel("Conv2D", x.DType)
			}
			if err != nil {
				return nil, err
			}
		}
		return []*tensor.Tensor{fromNHWC(ctx, out, ca.nchw)}, nil
	}, nil
}

func depthwiseT[T number](o, x, f []T, g *convGeom, mult int) {
	co := g.c * mult
	for b := 0; b < g.n; b++ {
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				acc := o[((b*g.oh+oy)*g.ow+ox)*co:][:co]
				for ky := 0; ky < g.kh; ky++ {
					iy := oy*g.sh - g.padTop + ky*g.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					for kx := 0; kx < g.kw; kx++ {
						ix := ox*g.sw - g.padLeft + kx*g.dw
						if ix < 0 || ix >= g.w {
							continue
						}
						px := x[((b*g.h+iy)*g.w+ix)*g.c:][:g.c]
						fw := f[(ky*g.kw+kx)*co:][:co]
						for c, v := range px {
							for m := 0; m < mult; m++ {
								acc[c*mult+m] += v * fw[c*mult+m]
							}
						}
					}
				}
			}
		}
	}
}

func depthwiseBuilder(attrs Attrs, _ int) (Func, error) {
	ca, err := decodeWindowAttrs("DepthwiseConv2dNative", attrs, false)
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("DepthwiseConv2dNative", in, 2); err != nil {
			return nil, err
		}
		x, f := in[0], in[1]
		if len(x.Shape) != 4 || len(f.Shape) != 4 {
			return nil, Errorf("input and filter must be 4-dimensional: %v %v", x.Shape, f.Shape)
		}
		if x.DType != f.DType {
			return nil, Errorf("DepthwiseConv2dNative: filter type %v does not match input type %v", f.DType, x.DType)
		}
		x = toNHWC(ctx, x, ca.nchw)
		g := &convGeom{n: x.Shape[0], h: x.Shape[1], w: x.Shape[2], c: x.Shape[3],
			kh: f.Shape[0], kw: f.Shape[1], sh: ca.sh, sw: ca.sw, dh: ca.dh, dw: ca.dw}
		if f.Shape[2] != g.c {
			return nil, Errorf("input and filter must have the same depth: %d vs %d", g.c, f.Shape[2])
		}
		mult := f.Shape[3]
		var err error
		if g.oh, g.padTop, err = windowDim(g.h, g.kh, g.sh, g.dh, ca.padding, ca.explicit[0]); err != nil {
			return nil, err
		}
		if g.ow, g.padLeft, err = windowDim(g.w, g.kw, g.sw, g.dw, ca.padding, ca.explicit[1]); err != nil {
			return nil, err
		}
		out := ctx.New(x.DType, tensor.Shape{g.n, g.oh, g.ow, g.c * mult})
		switch o := out.Data.(type) {
		case []float32:
			depthwiseT(o, x.F32(), f.F32(), g, mult)
		case []float64:
			depthwiseT(o, x.F64(), f.F64(), g, mult)
		default:
			return nil, noKernel("DepthwiseConv2dNative", x.DType)
		}
		return []*tensor.Tensor{fromNHWC(ctx, out, ca.nchw)}, nil
	}, nil
}
