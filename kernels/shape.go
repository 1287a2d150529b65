package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// intTensor builds a rank-1 int32 or int64 tensor from values.
func intTensor(ctx *Context, dt tensor.DType, shape tensor.Shape, v []int) (*tensor.Tensor, error) {
	t := ctx.New(dt, shape)
	switch d := t.Data.(type) {
	case []int32:
		for i, x := range v {
			if int64(x) != int64(int32(x)) {
				return nil, Errorf("value %d does not fit int32", x)
			}
			d[i] = int32(x)
		}
	case []int64:
		for i, x := range v {
			d[i] = int64(x)
		}
	default:
		return nil, Errorf("out_type must be int32 or int64, got %v", dt)
	}
	return t, nil
}

func outType(op string, attrs Attrs, name string) (tensor.DType, error) {
	dt := attrs.Type(name, tensor.Int32)
	if dt != tensor.Int32 && dt != tensor.Int64 {
		return 0, buildErr(op, "%s must be int32 or int64, got %v", name, dt)
	}
	return dt, nil
}

func shapeBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := outType("Shape", attrs, "out_type")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Shape", in, 1); err != nil {
			return nil, err
		}
		t, err := intTensor(ctx, dt, tensor.Shape{len(in[0].Shape)}, in[0].Shape)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	}, nil
}

func shapeNBuilder(attrs Attrs, n int) (Func, error) {
	dt, err := outType("ShapeN", attrs, "out_type")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkMinInputs("ShapeN", in, 1); err != nil {
			return nil, err
		}
		out := make([]*tensor.Tensor, len(in))
		for i, x := range in {
			t, err := intTensor(ctx, dt, tensor.Shape{len(x.Shape)}, x.Shape)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}, nil
}

func sizeBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := outType("Size", attrs, "out_type")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Size", in, 1); err != nil {
			return nil, err
		}
		t, err := intTensor(ctx, dt, tensor.Shape{}, []int{in[0].Shape.NumElements()})
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	}, nil
}

func rank(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Rank", in, 1); err != nil {
		return nil, err
	}
	t := ctx.New(tensor.Int32, tensor.Shape{})
	t.I32()[0] = int32(len(in[0].Shape))
	return []*tensor.Tensor{t}, nil
}

// reshapeTarget resolves a Reshape shape argument (with at most one -1).
func reshapeTarget(n int, want []int64) (tensor.Shape, error) {
	out := make(tensor.Shape, len(want))
	unknown := -1
	known := 1
	for i, d := range want {
		switch {
		case d == -1:
			if unknown >= 0 {
				return nil, Errorf("Only one input size may be -1, not both %d and %d", unknown, i)
			}
			unknown = i
		case d < 0:
			return nil, Errorf("Size %d must be non-negative, not %d", i, d)
		default:
			if d > maxElements {
				return nil, Errorf("Reshape: dimension %d too large: %d", i, d)
			}
			out[i] = int(d)
			if known != 0 && int64(known)*d > maxElements {
				return nil, Errorf("Reshape: requested shape %v has too many elements", want)
			}
			known *= int(d)
		}
	}
	if unknown >= 0 {
		if known == 0 {
			return nil, Errorf("Reshape cannot infer the missing input size for an empty tensor unless all specified input sizes are non-zero")
		}
		if n%known != 0 {
			return nil, Errorf("Input to reshape is a tensor with %d values, but the requested shape requires a multiple of %d", n, known)
		}
		out[unknown] = n / known
		return out, nil
	}
	if known != n {
		return nil, Errorf("Input to reshape is a tensor with %d values, but the requested shape has %d", n, known)
	}
	return out, nil
}

func reshape(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Reshape", in, 2); err != nil {
		return nil, err
	}
	if len(in[1].Shape) > 1 {
		return nil, Errorf("sizes input must be 1-D, not %v", in[1].Shape)
	}
	want, err := intsOf("Reshape", "shape", in[1])
	if err != nil {
		return nil, err
	}
	s, err := reshapeTarget(in[0].Shape.NumElements(), want)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{in[0].Reshaped(s)}, nil
}

func expandDims(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ExpandDims", in, 2); err != nil {
		return nil, err
	}
	d, err := intsOf("ExpandDims", "dim", in[1])
	if err != nil {
		return nil, err
	}
	if len(d) != 1 {
		return nil, Errorf("'dim' must be a tensor with a single value")
	}
	r := len(in[0].Shape)
	dim := d[0]
	if dim < -int64(r)-1 || dim > int64(r) {
		return nil, Errorf("Tried to expand dim index %d for tensor with %d dimensions.", dim, r)
	}
	if dim < 0 {
		dim += int64(r) + 1
	}
	s := make(tensor.Shape, 0, r+1)
	s = append(s, in[0].Shape[:dim]...)
	s = append(s, 1)
	s = append(s, in[0].Shape[dim:]...)
	return []*tensor.Tensor{in[0].Reshaped(s)}, nil
}

func squeezeBuilder(attrs Attrs, _ int) (Func, error) {
	dims := attrs.Ints("squeeze_dims")
	if dims == nil {
		dims = attrs.Ints("axis")
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Squeeze", in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape
		drop := make([]bool, len(s))
		for _, d := range dims {
			if d < -int64(len(s)) || d >= int64(len(s)) {
				return nil, Errorf("Tried to squeeze dim index %d for tensor with %d dimensions.", d, len(s))
			}
			if d < 0 {
				d += int64(len(s))
			}
			if s[d] != 1 {
				return nil, Errorf("Can not squeeze dim[%d], expected a dimension of 1, got %d", d, s[d])
			}
			drop[d] = true
		}
		out := tensor.Shape{}
		for i, d := range s {
			if len(dims) == 0 && d == 1 || drop[i] {
				continue
			}
			out = append(out, d)
		}
		return []*tensor.Tensor{in[0].Reshaped(out)}, nil
	}, nil
}

func broadcastArgs(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("BroadcastArgs", in, 2); err != nil {
		return nil, err
	}
	a, err := vectorInts("BroadcastArgs", "s0", in[0], false)
	if err != nil {
		return nil, err
	}
	b, err := vectorInts("BroadcastArgs", "s1", in[1], false)
	if err != nil {
		return nil, err
	}
	sa, err := shapeFromInts("BroadcastArgs", a)
	if err != nil {
		return nil, err
	}
	sb, err := shapeFromInts("BroadcastArgs", b)
	if err != nil {
		return nil, err
	}
	os, err := BroadcastShape(sa, sb)
	if err != nil {
		return nil, err
	}
	t, err := intTensor(ctx, in[0].DType, tensor.Shape{len(os)}, os)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func broadcastTo(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("BroadcastTo", in, 2); err != nil {
		return nil, err
	}
	v, err := vectorInts("BroadcastTo", "shape", in[1], false)
	if err != nil {
		return nil, err
	}
	s, err := shapeFromInts("BroadcastTo", v)
	if err != nil {
		return nil, err
	}
	x := in[0]
	os, err := BroadcastShape(x.Shape, s)
	if err != nil || !os.Equal(s) {
		return nil, Errorf("Unable to broadcast tensor of shape %v to tensor of shape %v", x.Shape, s)
	}
	if x.Shape.Equal(s) {
		return []*tensor.Tensor{x}, nil
	}
	return []*tensor.Tensor{gatherView(ctx, x, s, 0, broadcastOffs(x.Shape, s))}, nil
}

// compatible reports whether a concrete shape matches a partial one (nil =
// unknown rank, -1 = unknown dim).
func compatible(s, partial tensor.Shape) bool {
	if partial == nil {
		return true
	}
	if len(s) != len(partial) {
		return false
	}
	for i, d := range partial {
		if d >= 0 && d != s[i] {
			return false
		}
	}
	return true
}

func ensureShapeBuilder(attrs Attrs, _ int) (Func, error) {
	want, _ := attrs["shape"].(tensor.Shape)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("EnsureShape", in, 1); err != nil {
			return nil, err
		}
		if !compatible(in[0].Shape, want) {
			return nil, Errorf("Shape of tensor %v is not compatible with expected shape %v.", in[0].Shape, partialStr(want))
		}
		return []*tensor.Tensor{in[0]}, nil
	}, nil
}

func partialStr(s tensor.Shape) string {
	if s == nil {
		return "<unknown>"
	}
	return s.String()
}
