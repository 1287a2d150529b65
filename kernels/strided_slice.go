package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// sliceMasks are StridedSlice's attributes.
type sliceMasks struct {
	begin, end, ellipsis, newAxis, shrink int64
}

func masksOf(a Attrs) sliceMasks {
	return sliceMasks{
		begin:    a.Int("begin_mask", 0),
		end:      a.Int("end_mask", 0),
		ellipsis: a.Int("ellipsis_mask", 0),
		newAxis:  a.Int("new_axis_mask", 0),
		shrink:   a.Int("shrink_axis_mask", 0),
	}
}

// slicePlan is a validated strided slice over a concrete input shape: for
// each input dim the canonical begin, stride and size; and the final shape.
type slicePlan struct {
	begin, stride, size []int
	final               tensor.Shape
}

const (
	gatherShrink  = -1
	gatherNewAxis = -2
)

// planStridedSlice follows TF's ValidateStridedSliceOp: the sparse spec
// (begin/end/strides with masks) is expanded against the input rank into a
// dense spec, then each dim's range is canonicalized and clamped.
func planStridedSlice(in tensor.Shape, begin, end, strides []int64, m sliceMasks) (*slicePlan, error) {
	d, err := expandSliceSpec(len(in), begin, end, strides, m)
	if err != nil {
		return nil, err
	}
	dims := len(in)
	p := &slicePlan{begin: make([]int, dims), stride: make([]int, dims), size: make([]int, dims)}
	for i := 0; i < dims; i++ {
		b, size, err := d.canonDim(i, int64(in[i]))
		if err != nil {
			return nil, err
		}
		p.begin[i], p.stride[i], p.size[i] = int(b), int(d.stride[i]), int(size)
	}
	p.final = tensor.Shape{}
	for _, g := range d.gather {
		switch {
		case g >= 0:
			p.final = append(p.final, p.size[g])
		case g == gatherNewAxis:
			p.final = append(p.final, 1)
		}
	}
	return p, nil
}

// denseSliceSpec is a strided-slice spec expanded to one entry per input
// dim, with the masks moved to input dims; gather lists the output dims (an
// input dim, gatherShrink or gatherNewAxis).
type denseSliceSpec struct {
	begin, end, stride  []int64
	bmask, emask, smask int64
	gather              []int
}

// expandSliceSpec expands the sparse spec (begin/end/strides with masks)
// against an input of rank dims: the ellipsis covers the dims that the spec
// does not name, and a spec without one ends with an implicit ellipsis.
func expandSliceSpec(dims int, begin, end, strides []int64, m sliceMasks) (*denseSliceSpec, error) {
	if len(begin) != len(strides) || len(end) != len(strides) || len(strides) >= 32 {
		return nil, Errorf("Expected begin, end, and strides to be 1D equal size tensors, but got shapes [%d], [%d], and [%d] instead.", len(begin), len(end), len(strides))
	}
	if m.ellipsis != 0 && m.ellipsis&(m.ellipsis-1) != 0 {
		return nil, Errorf("Multiple ellipses in slice spec not allowed")
	}
	sparseDims := len(strides)
	ellipsis := m.ellipsis
	addAfterEllipsis := 0
	seen := false
	for i := 0; i < sparseDims; i++ {
		if seen && (1<<i)&m.newAxis != 0 {
			addAfterEllipsis++
		}
		if (1<<i)&ellipsis != 0 {
			seen = true
		}
	}
	if !seen {
		ellipsis |= 1 << sparseDims
		sparseDims++
	}
	d := &denseSliceSpec{begin: make([]int64, dims), end: make([]int64, dims), stride: make([]int64, dims)}
	full := 0
	for i := 0; i < sparseDims; i++ {
		bit := int64(1) << i
		switch {
		case bit&ellipsis != 0:
			next := min(dims-(sparseDims-i)+1+addAfterEllipsis, dims)
			for ; full < next; full++ {
				d.stride[full] = 1
				d.bmask |= 1 << full
				d.emask |= 1 << full
				d.gather = append(d.gather, full)
			}
		case bit&m.newAxis != 0:
			d.gather = append(d.gather, gatherNewAxis)
		default:
			if full == dims {
				return nil, Errorf("Index out of range using input dim %d; input has only %d dims", full, dims)
			}
			d.begin[full], d.end[full], d.stride[full] = begin[i], end[i], strides[i]
			if m.begin&bit != 0 {
				d.bmask |= 1 << full
			}
			if m.end&bit != 0 {
				d.emask |= 1 << full
			}
			if m.shrink&bit != 0 {
				d.gather = append(d.gather, gatherShrink)
				d.smask |= 1 << full
			} else {
				d.gather = append(d.gather, full)
			}
			full++
		}
	}
	return d, nil
}

// canonDim returns input dim i's canonical begin and its size: indices
// wrapped and clamped to the dim, masked bounds set to the dim's ends.
func (d *denseSliceSpec) canonDim(i int, dim int64) (begin, size int64, err error) {
	b, e, s := d.begin[i], d.end[i], d.stride[i]
	if s == 0 {
		return 0, 0, Errorf("strides[%d] must be non-zero", i)
	}
	shrink := d.smask&(1<<i) != 0
	if shrink && s <= 0 {
		return 0, 0, Errorf("only stride 1 allowed on non-range indexing.")
	}
	lo, hi := int64(0), dim
	if s < 0 {
		lo, hi = -1, dim-1
	}
	canon := func(x int64, masked bool, isEnd bool) int64 {
		if masked {
			// begin: lo for positive strides, hi for negative; end the other way.
			if (s > 0) != isEnd {
				return lo
			}
			return hi
		}
		if x < 0 {
			x += dim
		}
		return max(lo, min(x, hi))
	}
	if shrink {
		x := b
		if x < 0 {
			x += dim
		}
		if x < 0 || x >= dim {
			return 0, 0, Errorf("slice index %d of dimension %d out of bounds.", b, i)
		}
		b, e = x, x+1
	} else {
		b = canon(b, d.bmask&(1<<i) != 0, false)
		e = canon(e, d.emask&(1<<i) != 0, true)
	}
	n := e - b
	if n == 0 || (n < 0) != (s < 0) {
		return b, 0, nil
	}
	size = n / s
	if n%s != 0 {
		size++
	}
	return b, size, nil
}

// offsets returns the view offsets of the plan over an input of shape in.
func (p *slicePlan) offsets(in tensor.Shape) [][]int {
	st := stridesOf(in)
	offs := make([][]int, len(in))
	for i := range in {
		offs[i] = axisOffs(p.begin[i], p.stride[i], p.size[i], st[i])
	}
	return offs
}

func sliceArgs(op string, in []*tensor.Tensor) (b, e, s []int64, err error) {
	if b, err = vectorInts(op, "begin", in[0], false); err != nil {
		return
	}
	if e, err = vectorInts(op, "end", in[1], false); err != nil {
		return
	}
	s, err = vectorInts(op, "strides", in[2], false)
	return
}

func stridedSliceBuilder(attrs Attrs, _ int) (Func, error) {
	m := masksOf(attrs)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("StridedSlice", in, 4); err != nil {
			return nil, err
		}
		x := in[0]
		b, e, s, err := sliceArgs("StridedSlice", in[1:])
		if err != nil {
			return nil, err
		}
		p, err := planStridedSlice(x.Shape, b, e, s, m)
		if err != nil {
			return nil, err
		}
		var out *tensor.Tensor
		if tensor.Shape(p.size).Equal(x.Shape) && allOne(p.stride) {
			out = x.Reshaped(p.final)
		} else {
			out = gatherView(ctx, x, p.final, 0, p.offsets(x.Shape))
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func allOne(v []int) bool {
	for _, x := range v {
		if x != 1 {
			return false
		}
	}
	return true
}

// stridedSliceGrad scatters dy into zeros of the original shape.
func stridedSliceGradBuilder(attrs Attrs, _ int) (Func, error) {
	m := masksOf(attrs)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("StridedSliceGrad", in, 5); err != nil {
			return nil, err
		}
		sv, err := vectorInts("StridedSliceGrad", "shape", in[0], false)
		if err != nil {
			return nil, err
		}
		shape, err := shapeFromInts("StridedSliceGrad", sv)
		if err != nil {
			return nil, err
		}
		b, e, s, err := sliceArgs("StridedSliceGrad", in[1:4])
		if err != nil {
			return nil, err
		}
		p, err := planStridedSlice(shape, b, e, s, m)
		if err != nil {
			return nil, err
		}
		dy := in[4]
		if !dy.Shape.Equal(p.final) {
			return nil, Errorf("shape of dy was %v instead of %v", dy.Shape, p.final)
		}
		out := ctx.New(dy.DType, shape)
		if dy.Len() > 0 {
			moverOf(dy.Data).scatter(out.Data, dy.Data, 0, p.offsets(shape))
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}
