package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func unpackBuilder(attrs Attrs, _ int) (Func, error) {
	num := attrs.Int("num", -1)
	ax := attrs.Int("axis", 0)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Unpack", in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Shape)
		if ax < -int64(r) || ax >= int64(r) {
			return nil, Errorf("axis = %d not in [%d, %d)", ax, -r, r)
		}
		axis := int(ax)
		if axis < 0 {
			axis += r
		}
		n := x.Shape[axis]
		if num >= 0 && int64(n) != num {
			return nil, Errorf("Input shape axis %d must equal %d, got shape %v", axis, num, x.Shape)
		}
		os := append(x.Shape[:axis:axis].Clone(), x.Shape[axis+1:]...)
		outer := prod(x.Shape, 0, axis)
		inner := prod(x.Shape, axis+1, r)
		mv := moverOf(x.Data)
		out := make([]*tensor.Tensor, n)
		for j := range out {
			t := ctx.New(x.DType, os)
			for i := 0; i < outer; i++ {
				mv.copyRun(t.Data, i*inner, x.Data, (i*n+j)*inner, inner)
			}
			out[j] = t
		}
		return out, nil
	}, nil
}

// splitSizes slices x along axis into pieces of the given sizes.
func splitSizes(ctx *Context, x *tensor.Tensor, axis int, sizes []int) []*tensor.Tensor {
	r := len(x.Shape)
	outer := prod(x.Shape, 0, axis)
	inner := prod(x.Shape, axis+1, r)
	row := x.Shape[axis] * inner
	mv := moverOf(x.Data)
	out := make([]*tensor.Tensor, len(sizes))
	start := 0
	for k, sz := range sizes {
		s := x.Shape.Clone()
		s[axis] = sz
		t := ctx.New(x.DType, s)
		n := sz * inner
		for i := 0; i < outer && n > 0; i++ {
			mv.copyRun(t.Data, i*n, x.Data, i*row+start*inner, n)
		}
		start += sz
		out[k] = t
	}
	return out
}

func splitBuilder(attrs Attrs, _ int) (Func, error) {
	num := attrs.Int("num_split", 1)
	if num < 1 {
		return nil, buildErr("Split", "num_split must be >= 1, got %d", num)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Split", in, 2); err != nil {
			return nil, err
		}
		ax, err := scalarInt("Split", "split_dim", in[0])
		if err != nil {
			return nil, err
		}
		x := in[1]
		axis, err := normAxis("Split", ax, len(x.Shape))
		if err != nil {
			return nil, Errorf("-input rank(-%d) <= split_dim < input rank (%d), but got %d", len(x.Shape), len(x.Shape), ax)
		}
		if x.Shape[axis]%int(num) != 0 {
			return nil, Errorf("Number of ways to split should evenly divide the split dimension, but got split_dim %d (size = %d) and num_split %d", axis, x.Shape[axis], num)
		}
		sizes := make([]int, num)
		for i := range sizes {
			sizes[i] = x.Shape[axis] / int(num)
		}
		return splitSizes(ctx, x, axis, sizes), nil
	}, nil
}

func splitVBuilder(attrs Attrs, _ int) (Func, error) {
	num := attrs.Int("num_split", 1)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("SplitV", in, 3); err != nil {
			return nil, err
		}
		x := in[0]
		sz, err := vectorInts("SplitV", "size_splits", in[1], false)
		if err != nil {
			return nil, err
		}
		ax, err := scalarInt("SplitV", "split_dim", in[2])
		if err != nil {
			return nil, err
		}
		axis, err := normAxis("SplitV", ax, len(x.Shape))
		if err != nil {
			return nil, Errorf("-input rank(-%d) <= split_dim < input rank (%d), but got %d", len(x.Shape), len(x.Shape), ax)
		}
		if int64(len(sz)) != num {
			return nil, Errorf("Determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified.  Got: %d sizes for num_split %d", len(sz), num)
		}
		sizes := make([]int, len(sz))
		neg, total := -1, 0
		for i, v := range sz {
			if v == -1 {
				if neg >= 0 {
					return nil, Errorf("There can only be one -1 in the input.")
				}
				neg = i
				continue
			}
			if v < 0 || v > int64(x.Shape[axis]) {
				return nil, Errorf("Split size at index %d must be >= 0 and <= %d. Got: %d", i, x.Shape[axis], v)
			}
			sizes[i] = int(v)
			total += int(v)
		}
		dim := x.Shape[axis]
		if neg >= 0 {
			if total > dim {
				return nil, Errorf("Determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified.  Got: %d", total)
			}
			sizes[neg] = dim - total
		} else if total != dim {
			return nil, Errorf("Determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified.  Got: %d", total)
		}
		return splitSizes(ctx, x, axis, sizes), nil
	}, nil
}
