package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/tensor"
)

// samePad returns the symmetric padding of TF's SAME for one spatial dim,
// or an error when TF would pad asymmetrically.
func samePad(in, k, s, d int) (int, error) {
	out := (in + s - 1) / s
	total := max((out-1)*s+(k-1)*d+1-in, 0)
	if total%2 != 0 {
		return 0, fmt.Errorf("SAME padding of %d is asymmetric", total)
	}
	return total / 2, nil
}

func hw(v []int64, def int) (int, int) {
	if len(v) != 4 {
		return def, def
	}
	return int(v[1]), int(v[2])
}

// conv2d lowers an NHWC Conv2D with a constant HWIO filter to gorgonia's
// NCHW Conv2d (transposes around it; the filter is rearranged at lowering).
func (lw *lowerer) conv2d(n *graph.Node, x, f *value) (*value, error) {
	if f.c == nil || f.c.DType != tensor.Float32 || len(f.c.Shape) != 4 {
		return nil, lw.unsupported(n, "filter must be a constant float32 HWIO tensor")
	}
	if df := n.Attrs.String("data_format", "NHWC"); df != "NHWC" {
		return nil, lw.unsupported(n, "data_format %s", df)
	}
	xs := lw.shapeOf(x)
	if len(xs) != 4 {
		return nil, fmt.Errorf("Conv2D input %v", xs)
	}
	kh, kw, ci, co := f.c.Shape[0], f.c.Shape[1], f.c.Shape[2], f.c.Shape[3]
	if xs[3] != ci {
		return nil, fmt.Errorf("Conv2D input %v with filter %v", xs, f.c.Shape)
	}
	sh, sw := hw(n.Attrs.Ints("strides"), 1)
	dh, dw := hw(n.Attrs.Ints("dilations"), 1)
	ph, pw := 0, 0
	switch p := n.Attrs.String("padding", "VALID"); p {
	case "VALID":
	case "SAME":
		var err error
		if ph, err = samePad(xs[1], kh, sh, dh); err != nil {
			return nil, lw.unsupported(n, "%v", err)
		}
		if pw, err = samePad(xs[2], kw, sw, dw); err != nil {
			return nil, lw.unsupported(n, "%v", err)
		}
	default:
		return nil, lw.unsupported(n, "padding %s", p)
	}
	// HWIO → OIHW.
	src := f.c.F32()
	oihw := make([]float32, len(src))
	for h := 0; h < kh; h++ {
		for w := 0; w < kw; w++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					oihw[((o*ci+i)*kh+h)*kw+w] = src[((h*kw+w)*ci+i)*co+o]
				}
			}
		}
	}
	fn, err := lw.node(&value{c: tensor.FromSlice(tensor.Shape{co, ci, kh, kw}, oihw)})
	if err != nil {
		return nil, err
	}
	xn, err := lw.node(x)
	if err != nil {
		return nil, err
	}
	nchw, err := G.Transpose(xn, 0, 3, 1, 2)
	if err != nil {
		return nil, err
	}
	c, err := G.Conv2d(nchw, fn, gt.Shape{kh, kw}, []int{ph, pw}, []int{sh, sw}, []int{dh, dw})
	if err != nil {
		return nil, err
	}
	out, err := G.Transpose(c, 0, 2, 3, 1)
	if err != nil {
		return nil, err
	}
	return dyn(out, tensor.Float32), nil
}

// maxPool lowers an NHWC MaxPool to gorgonia's NCHW MaxPool2D.
func (lw *lowerer) maxPool(n *graph.Node, x *value) (*value, error) {
	if df := n.Attrs.String("data_format", "NHWC"); df != "NHWC" {
		return nil, lw.unsupported(n, "data_format %s", df)
	}
	xs := lw.shapeOf(x)
	if len(xs) != 4 {
		return nil, fmt.Errorf("MaxPool input %v", xs)
	}
	kh, kw := hw(n.Attrs.Ints("ksize"), 1)
	sh, sw := hw(n.Attrs.Ints("strides"), 1)
	ph, pw := 0, 0
	switch p := n.Attrs.String("padding", "VALID"); p {
	case "VALID":
	case "SAME":
		// gorgonia pads with zeros, TF ignores padding in the max: only
		// exact when no padding is needed.
		a, err := samePad(xs[1], kh, sh, 1)
		if err != nil || a != 0 {
			return nil, lw.unsupported(n, "SAME padding")
		}
		b, err := samePad(xs[2], kw, sw, 1)
		if err != nil || b != 0 {
			return nil, lw.unsupported(n, "SAME padding")
		}
	default:
		return nil, lw.unsupported(n, "padding %s", p)
	}
	xn, err := lw.node(x)
	if err != nil {
		return nil, err
	}
	nchw, err := G.Transpose(xn, 0, 3, 1, 2)
	if err != nil {
		return nil, err
	}
	m, err := G.MaxPool2D(nchw, gt.Shape{kh, kw}, []int{ph, pw}, []int{sh, sw})
	if err != nil {
		return nil, err
	}
	out, err := G.Transpose(m, 0, 2, 3, 1)
	if err != nil {
		return nil, err
	}
	return dyn(out, tensor.Float32), nil
}
