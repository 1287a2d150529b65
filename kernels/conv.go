package kernels

import (
	"github.com/tfserve/tfserve/kernels/rnn"
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// ---- BiasAdd ----------------------------------------------------------------

func biasAddT[T number](o, x, b []T, outer, c, inner int) {
	if inner == 1 {
		// NHWC (Dense layers): add the bias vector to each row.
		if o32, ok := any(o).([]float32); ok {
			x32, b32 := any(x).([]float32), any(b).([]float32)
			for i := 0; i < outer; i++ {
				rnn.AddSlice(o32[i*c:(i+1)*c], x32[i*c:(i+1)*c], b32[:c])
			}
			return
		}
		for i := 0; i < outer; i++ {
			xr, or := x[i*c:(i+1)*c], o[i*c:(i+1)*c]
			for j, v := range xr {
				or[j] = v + b[j]
			}
		}
		return
	}
	for i := 0; i < outer; i++ {
		for j := 0; j < c; j++ {
			bv := b[j]
			base := (i*c + j) * inner
			xr, or := x[base:base+inner], o[base:base+inner]
			for k, v := range xr {
				or[k] = v + bv
			}
		}
	}
}

func biasAddBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		format := attrs.String("data_format", "NHWC")
		if format != "NHWC" && format != "NCHW" {
			return nil, buildErr(op, "unknown data_format %q", format)
		}
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			x, b := in[0], in[1]
			r := len(x.Shape)
			if r < 2 {
				return nil, Errorf("Input tensor must be at least 2D: %v", x.Shape)
			}
			if len(b.Shape) != 1 {
				return nil, Errorf("Biases must be 1D: %v", b.Shape)
			}
			if b.DType != x.DType {
				return nil, Errorf("%s: bias type %v does not match value type %v", op, b.DType, x.DType)
			}
			axis := r - 1
			if format == "NCHW" {
				axis = 1
			}
			c := x.Shape[axis]
			if b.Shape[0] != c {
				return nil, Errorf("Must provide as many biases as the last dimension of the input tensor: %v vs. %v", b.Shape, x.Shape)
			}
			outer, inner := prod(x.Shape, 0, axis), prod(x.Shape, axis+1, r)
			out := ctx.New(x.DType, x.Shape)
			switch o := out.Data.(type) {
			case []float32:
				biasAddT(o, x.F32(), b.F32(), outer, c, inner)
			case []float64:
				biasAddT(o, x.F64(), b.F64(), outer, c, inner)
			case []int32:
				biasAddT(o, x.I32(), b.I32(), outer, c, inner)
			case []int64:
				biasAddT(o, x.I64(), b.I64(), outer, c, inner)
			default:
				return nil, noKernel(op, x.DType)
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}

// ---- Softmax ----------------------------------------------------------------

func softmaxT[T floating](o, x []T, n int, log bool) {
	for s := 0; s+n <= len(x); s += n {
		row, or := x[s:s+n], o[s:s+n]
		mx := math.Inf(-1)
		for _, v := range row {
			if float64(v) > mx {
				mx = float64(v)
			}
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		if log {
			ls := math.Log(sum)
			for i, v := range row {
				or[i] = T(float64(v) - mx - ls)
			}
		} else {
			for i, v := range row {
				or[i] = T(math.Exp(float64(v)-mx) / sum)
			}
		}
	}
}

func softmaxBuilder(op string) Builder {
	log := op == "LogSoftmax"
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 1 {
			return nil, Errorf("logits must have >= 1 dimension, got %v", x.Shape)
		}
		n := x.Shape[len(x.Shape)-1]
		out := ctx.New(x.DType, x.Shape)
		if n == 0 {
			return []*tensor.Tensor{out}, nil
		}
		switch o := out.Data.(type) {
		case []float32:
			softmaxT(o, x.F32(), n, log)
		case []float64:
			softmaxT(o, x.F64(), n, log)
		default:
			return nil, noKernel(op, x.DType)
		}
		return []*tensor.Tensor{out}, nil
	})
}

// ---- convolution geometry ---------------------------------------------

// windowDim computes the output size and leading padding of one spatial dim.
func windowDim(in, k, stride, dil int, padding string, explicit [2]int) (out, before int, err error) {
	if stride < 1 || dil < 1 || k < 1 {
		return 0, 0, Errorf("window, stride and dilation must be positive: %d %d %d", k, stride, dil)
	}
	eff := (k-1)*dil + 1
	switch padding {
	case "VALID":
		out = (in - eff + stride) / stride
		if in < eff {
			out = 0
		}
	case "SAME":
		out = (in + stride - 1) / stride
		need := max(0, (out-1)*stride+eff-in)
		before = need / 2
	case "EXPLICIT":
		before = explicit[0]
		span := in + explicit[0] + explicit[1] - eff
		if span < 0 {
			return 0, 0, Errorf("Computed output size would be negative: %d [input_size: %d, effective_filter_size: %d, stride: %d]", span/stride+1, in, eff, stride)
		}
		out = span/stride + 1
	default:
		return 0, 0, Errorf("unknown padding %q", padding)
	}
	if out < 0 {
		return 0, 0, Errorf("Computed output size would be negative: %d [input_size: %d, effective_filter_size: %d, stride: %d]", out, in, eff, stride)
	}
	return out, before, nil
}

// conv2dAttrs are the decoded attrs shared by convolutions and pools, in NHWC order.
type conv2dAttrs struct {
	nchw     bool
	sh, sw   int
	dh, dw   int
	kh, kw   int // pools only
	padding  string
	explicit [2][2]int
}

func decodeWindowAttrs(op string, attrs Attrs, pool bool) (*conv2dAttrs, error) {
	c := &conv2dAttrs{padding: attrs.String("padding", "")}
	switch f := attrs.String("data_format", "NHWC"); f {
	case "NHWC":
	case "NCHW":
		c.nchw = true
	default:
		return nil, buildErr(op, "unknown data_format %q", f)
	}
	if c.padding != "SAME" && c.padding != "VALID" && c.padding != "EXPLICIT" {
		return nil, buildErr(op, "padding must be SAME, VALID or EXPLICIT, got %q", c.padding)
	}
	hw := func(name string, def []int64) (int, int, error) {
		v := attrs.Ints(name)
		if v == nil {
			v = def
		}
		if len(v) != 4 {
			return 0, 0, buildErr(op, "%s must have 4 elements, got %v", name, v)
		}
		n, h, w, ch := v[0], v[1], v[2], v[3]
		if c.nchw {
			ch, h, w = v[1], v[2], v[3]
		}
		if n != 1 || ch != 1 {
			return 0, 0, buildErr(op, "Current implementation does not yet support %s in the batch and depth dimensions.", name)
		}
		if h < 1 || w < 1 || h > 1<<20 || w > 1<<20 {
			return 0, 0, buildErr(op, "%s must be positive, got %v", name, v)
		}
		return int(h), int(w), nil
	}
	var err error
	if c.sh, c.sw, err = hw("strides", nil); err != nil {
		return nil, err
	}
	if pool {
		if c.kh, c.kw, err = hw("ksize", nil); err != nil {
			return nil, err
		}
		c.dh, c.dw = 1, 1
	} else if c.dh, c.dw, err = hw("dilations", []int64{1, 1, 1, 1}); err != nil {
		return nil, err
	}
	if c.padding == "EXPLICIT" {
		p := attrs.Ints("explicit_paddings")
		if len(p) != 8 {
			return nil, buildErr(op, "explicit_paddings must have 8 elements, got %v", p)
		}
		hi, wi := 2, 4
		if c.nchw {
			hi, wi = 4, 6
		}
		for _, v := range p {
			if v < 0 || v > 1<<20 {
				return nil, buildErr(op, "explicit_paddings must be non-negative, got %v", p)
			}
		}
		c.explicit = [2][2]int{{int(p[hi]), int(p[hi+1])}, {int(p[wi]), int(p[wi+1])}}
	}
	return c, nil
}

// toNHWC / fromNHWC transpose 4-D tensors between layouts.
func toNHWC(ctx *Context, x *tensor.Tensor, nchw bool) *tensor.Tensor {
	if !nchw {
		return x
	}
	return transposeTensor(ctx, x, []int{0, 2, 3, 1})
}

func fromNHWC(ctx *Context, x *tensor.Tensor, nchw bool) *tensor.Tensor {
	if !nchw {
		return x
	}
	return transposeTensor(ctx, x, []int{0, 3, 1, 2})
}

// ---- Conv2D -----------------------------------------------------------------

type convGeom struct {
	n, h, w, c      int
	kh, kw, co      int
	oh, ow          int
	sh, sw, dh, dw  int
	padTop, padLeft int
}

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

// ---- pooling ----------------------------------------------------------------

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
