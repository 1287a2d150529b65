package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

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

type convGeom struct {
	n, h, w, c      int
	kh, kw, co      int
	oh, ow          int
	sh, sw, dh, dw  int
	padTop, padLeft int
}
