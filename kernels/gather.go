package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// ---- identities and constants ------------------------------------------

func identity(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 1); err != nil {
			return nil, err
		}
		return []*tensor.Tensor{in[0]}, nil
	})
}

func identityN(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return append([]*tensor.Tensor(nil), in...), nil
}

func noOp(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) { return nil, nil }

func constBuilder(attrs Attrs, _ int) (Func, error) {
	v, ok := attrs["value"].(*tensor.Tensor)
	if !ok || v == nil {
		return nil, buildErr("Const", "missing value attribute")
	}
	if err := checkData("Const", []*tensor.Tensor{v}); err != nil {
		return nil, buildErr("Const", "bad value: %v", err)
	}
	if dt, ok := attrs["dtype"].(tensor.DType); ok && dt != v.DType {
		return nil, buildErr("Const", "dtype %v does not match value of type %v", dt, v.DType)
	}
	return func(*Context, []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{v}, nil
	}, nil
}

// ---- transpose --------------------------------------------------------------

func permOf(op string, t *tensor.Tensor, rank int) ([]int, error) {
	p, err := vectorInts(op, "perm", t, false)
	if err != nil {
		return nil, err
	}
	if len(p) != rank {
		return nil, Errorf("transpose expects a vector of size %d. But input(1) is a vector of size %d", rank, len(p))
	}
	seen := make([]bool, rank)
	out := make([]int, rank)
	for i, v := range p {
		if v < 0 || v >= int64(rank) {
			return nil, Errorf("%d is out of range [0 .. %d)", v, rank)
		}
		if seen[v] {
			return nil, Errorf("%d is duplicated in the input.", v)
		}
		seen[v] = true
		out[i] = int(v)
	}
	return out, nil
}

func transposeTensor(ctx *Context, x *tensor.Tensor, perm []int) *tensor.Tensor {
	st := stridesOf(x.Shape)
	os := make(tensor.Shape, len(perm))
	offs := make([][]int, len(perm))
	identity := true
	for i, p := range perm {
		os[i] = x.Shape[p]
		offs[i] = axisOffs(0, 1, x.Shape[p], st[p])
		if p != i {
			identity = false
		}
	}
	if identity {
		return x
	}
	return gatherView(ctx, x, os, 0, offs)
}

func transpose(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		perm, err := permOf(op, in[1], len(in[0].Shape))
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{transposeTensor(ctx, in[0], perm)}, nil
	})
}

func invertPermutation(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("InvertPermutation", in, 1); err != nil {
		return nil, err
	}
	p, err := vectorInts("InvertPermutation", "x", in[0], false)
	if err != nil {
		return nil, err
	}
	n := len(p)
	inv := make([]int, n)
	seen := make([]bool, n)
	for i, v := range p {
		if v < 0 || v >= int64(n) {
			return nil, Errorf("%d is not between 0 and %d", v, n)
		}
		if seen[v] {
			return nil, Errorf("%d is duplicated in the input.", v)
		}
		seen[v] = true
		inv[v] = i
	}
	t, err := intTensor(ctx, in[0].DType, tensor.Shape{n}, inv)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

// ---- concat / pack / split ---------------------------------------------

func concatTensors(ctx *Context, op string, vals []*tensor.Tensor, axisT *tensor.Tensor) (*tensor.Tensor, error) {
	if len(vals) == 0 {
		return nil, Errorf("%s: no values to concatenate", op)
	}
	ax, err := scalarInt(op, "axis", axisT)
	if err != nil {
		return nil, err
	}
	v0 := vals[0]
	r := len(v0.Shape)
	if r == 0 {
		return nil, Errorf("Can't concatenate scalars (use tf.stack instead)")
	}
	if ax < -int64(r) || ax >= int64(r) {
		return nil, Errorf("ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %d", -r, r, ax)
	}
	axis := int(ax)
	if axis < 0 {
		axis += r
	}
	os := v0.Shape.Clone()
	os[axis] = 0
	for i, v := range vals {
		if v.DType != v0.DType {
			return nil, Errorf("%s: input %d has type %v, expected %v", op, i, v.DType, v0.DType)
		}
		if len(v.Shape) != r {
			return nil, Errorf("ConcatOp : Ranks of all input tensors should match: shape[0] = %v vs. shape[%d] = %v", v0.Shape, i, v.Shape)
		}
		for j := range v.Shape {
			if j != axis && v.Shape[j] != v0.Shape[j] {
				return nil, Errorf("ConcatOp : Dimension %d in both shapes must be equal: shape[0] = %v vs. shape[%d] = %v", j, v0.Shape, i, v.Shape)
			}
		}
		os[axis] += v.Shape[axis]
	}
	if len(vals) == 1 {
		return v0, nil
	}
	out := ctx.New(v0.DType, os)
	outer := prod(os, 0, axis)
	rowOut := prod(os, axis, r)
	mv := moverOf(out.Data)
	col := 0
	for _, v := range vals {
		row := prod(v.Shape, axis, r)
		for i := 0; i < outer; i++ {
			mv.copyRun(out.Data, i*rowOut+col, v.Data, i*row, row)
		}
		col += row
	}
	return out, nil
}

func concatV2(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkMinInputs("ConcatV2", in, 2); err != nil {
		return nil, err
	}
	t, err := concatTensors(ctx, "ConcatV2", in[:len(in)-1], in[len(in)-1])
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func concatV1(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkMinInputs("Concat", in, 2); err != nil {
		return nil, err
	}
	t, err := concatTensors(ctx, "Concat", in[1:], in[0])
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func concatOffset(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkMinInputs("ConcatOffset", in, 3); err != nil {
		return nil, err
	}
	ax, err := scalarInt("ConcatOffset", "concat_dim", in[0])
	if err != nil {
		return nil, err
	}
	s0, err := vectorInts("ConcatOffset", "shape", in[1], false)
	if err != nil {
		return nil, err
	}
	r := len(s0)
	if ax < -int64(r) || ax >= int64(r) {
		return nil, Errorf("Concat dim is out of range: %d vs. %d", ax, r)
	}
	axis := int(ax)
	if axis < 0 {
		axis += r
	}
	out := make([]*tensor.Tensor, len(in)-1)
	off := 0
	for i, t := range in[1:] {
		s, err := vectorInts("ConcatOffset", "shape", t, false)
		if err != nil {
			return nil, err
		}
		if len(s) != r {
			return nil, Errorf("input %d should contain %d elements, but got %d", i, r, len(s))
		}
		v := make([]int, r)
		for j := range s {
			if j == axis {
				v[j] = off
				off += int(s[j])
			} else if s[j] != s0[j] {
				return nil, Errorf("All dimensions except %d must match. Input %d has shape %v and doesn't match input 0 with shape %v.", axis, i, s, s0)
			}
		}
		o, err := intTensor(ctx, t.DType, tensor.Shape{r}, v)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

func packBuilder(attrs Attrs, n int) (Func, error) {
	ax := attrs.Int("axis", 0)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkMinInputs("Pack", in, 1); err != nil {
			return nil, err
		}
		s0 := in[0].Shape
		r := len(s0) + 1
		if ax < -int64(r) || ax >= int64(r) {
			return nil, Errorf("axis = %d not in [%d, %d)", ax, -r, r)
		}
		axis := int(ax)
		if axis < 0 {
			axis += r
		}
		for i, t := range in {
			if !t.Shape.Equal(s0) {
				return nil, Errorf("Shapes of all inputs must match: values[0].shape = %v != values[%d].shape = %v", s0, i, t.Shape)
			}
			if t.DType != in[0].DType {
				return nil, Errorf("Pack: input %d has type %v, expected %v", i, t.DType, in[0].DType)
			}
		}
		os := make(tensor.Shape, 0, r)
		os = append(os, s0[:axis]...)
		os = append(os, len(in))
		os = append(os, s0[axis:]...)
		out := ctx.New(in[0].DType, os)
		outer := prod(s0, 0, axis)
		inner := prod(s0, axis, len(s0))
		mv := moverOf(out.Data)
		for j, t := range in {
			for i := 0; i < outer; i++ {
				mv.copyRun(out.Data, (i*len(in)+j)*inner, t.Data, i*inner, inner)
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

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

// ---- slice / tile / reverse / pad --------------------------------------

func sliceOp(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Slice", in, 3); err != nil {
		return nil, err
	}
	x := in[0]
	r := len(x.Shape)
	begin, err := vectorInts("Slice", "begin", in[1], false)
	if err != nil {
		return nil, err
	}
	size, err := vectorInts("Slice", "size", in[2], false)
	if err != nil {
		return nil, err
	}
	if len(begin) != r || len(size) != r {
		return nil, Errorf("Expected begin and size arguments to be 1-D tensors of size %d, but got shapes %v and %v instead.", r, in[1].Shape, in[2].Shape)
	}
	st := stridesOf(x.Shape)
	os := make(tensor.Shape, r)
	offs := make([][]int, r)
	for i := range begin {
		b, s := begin[i], size[i]
		if s == -1 {
			s = int64(x.Shape[i]) - b
		}
		if b < 0 || s < 0 || b+s > int64(x.Shape[i]) {
			return nil, Errorf("Expected begin[%d] in [0, %d], but got %d", i, x.Shape[i], b)
		}
		os[i] = int(s)
		offs[i] = axisOffs(int(b), 1, int(s), st[i])
	}
	if os.Equal(x.Shape) {
		return []*tensor.Tensor{x}, nil
	}
	return []*tensor.Tensor{gatherView(ctx, x, os, 0, offs)}, nil
}

func tile(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Tile", in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	m, err := vectorInts("Tile", "multiples", in[1], false)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if len(m) != r {
		return nil, Errorf("Expected multiples argument to be a vector of length %d but got length %d", r, len(m))
	}
	st := stridesOf(x.Shape)
	os := make(tensor.Shape, r)
	offs := make([][]int, r)
	for i, k := range m {
		if k < 0 {
			return nil, Errorf("Expected multiples[%d] >= 0, but got %d", i, k)
		}
		if k > maxElements {
			return nil, Errorf("Tile: multiples[%d] too large", i)
		}
		os[i] = x.Shape[i] * int(k)
		if err := checkSize("Tile", os[:i+1]); err != nil {
			return nil, err
		}
		o := make([]int, os[i])
		for j := range o {
			o[j] = (j % x.Shape[i]) * st[i]
		}
		offs[i] = o
	}
	return []*tensor.Tensor{gatherView(ctx, x, os, 0, offs)}, nil
}

func reverseV2(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ReverseV2", in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	axes, err := vectorInts("ReverseV2", "axis", in[1], false)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	rev := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis("ReverseV2", a, r)
		if err != nil {
			return nil, Errorf("'axis'[%d] = %d is out of valid range [%d, %d", 0, a, -r, r-1)
		}
		if rev[ax] {
			return nil, Errorf("axis %d specified more than once.", ax)
		}
		rev[ax] = true
	}
	st := stridesOf(x.Shape)
	offs := make([][]int, r)
	for i, d := range x.Shape {
		if rev[i] {
			offs[i] = axisOffs(d-1, -1, d, st[i])
		} else {
			offs[i] = axisOffs(0, 1, d, st[i])
		}
	}
	return []*tensor.Tensor{gatherView(ctx, x, x.Shape, 0, offs)}, nil
}

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

// ---- fill / like / range / empty ----------------------------------------

func fill(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Fill", in, 2); err != nil {
		return nil, err
	}
	d, err := vectorInts("Fill", "dims", in[0], false)
	if err != nil {
		return nil, err
	}
	s, err := shapeFromInts("Fill", d)
	if err != nil {
		return nil, err
	}
	v := in[1]
	if len(v.Shape) != 0 {
		return nil, Errorf("value must be a scalar, got shape %v", v.Shape)
	}
	out := ctx.New(v.DType, s)
	moverOf(v.Data).fill(out.Data, 0, out.Len(), v.Data, 0)
	return []*tensor.Tensor{out}, nil
}

func zerosLike(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ZerosLike", in, 1); err != nil {
		return nil, err
	}
	if in[0].DType == tensor.Variant || in[0].DType == tensor.Resource {
		return nil, Errorf("ZerosLike of %v is not supported", in[0].DType)
	}
	return []*tensor.Tensor{ctx.New(in[0].DType, in[0].Shape)}, nil
}

// oneOf returns a one-element slice holding 1 of dtype dt.
func oneOf(dt tensor.DType) (any, bool) {
	one := tensor.MakeSlice(dt, 1)
	switch d := one.(type) {
	case []float32:
		d[0] = 1
	case []float64:
		d[0] = 1
	case []int32:
		d[0] = 1
	case []int64:
		d[0] = 1
	case []int8:
		d[0] = 1
	case []int16:
		d[0] = 1
	case []uint8:
		d[0] = 1
	case []uint16:
		switch dt {
		case tensor.Half:
			d[0] = 0x3c00
		case tensor.BFloat16:
			d[0] = 0x3f80
		default:
			d[0] = 1
		}
	case []uint32:
		d[0] = 1
	case []uint64:
		d[0] = 1
	case []bool:
		d[0] = true
	case []complex64:
		d[0] = 1
	case []complex128:
		d[0] = 1
	default:
		return nil, false
	}
	return one, true
}

func onesLike(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("OnesLike", in, 1); err != nil {
		return nil, err
	}
	one, ok := oneOf(in[0].DType)
	if !ok {
		return nil, noKernel("OnesLike", in[0].DType)
	}
	out := ctx.New(in[0].DType, in[0].Shape)
	moverOf(one).fill(out.Data, 0, out.Len(), one, 0)
	return []*tensor.Tensor{out}, nil
}

func emptyBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := typeAttr("Empty", attrs, "dtype")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Empty", in, 1); err != nil {
			return nil, err
		}
		d, err := vectorInts("Empty", "shape", in[0], false)
		if err != nil {
			return nil, err
		}
		s, err := shapeFromInts("Empty", d)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{ctx.New(dt, s)}, nil
	}, nil
}

func rangeT[T number](ctx *Context, dt tensor.DType, s, l, d T) (*tensor.Tensor, error) {
	if d == 0 {
		return nil, Errorf("Requires delta != 0: %v", d)
	}
	if d > 0 && s > l {
		return nil, Errorf("Requires start <= limit when delta > 0: %v/%v", s, l)
	}
	if d < 0 && s < l {
		return nil, Errorf("Requires start >= limit when delta < 0: %v/%v", s, l)
	}
	var n float64
	if isFloat[T]() {
		n = math.Ceil(math.Abs((float64(l) - float64(s)) / float64(d)))
	} else {
		span := math.Abs(float64(l) - float64(s))
		ad := math.Abs(float64(d))
		n = math.Floor((span + ad - 1) / ad)
	}
	if n > maxElements || n != n {
		return nil, Errorf("Requires ((limit - start) / delta) <= %d", int64(maxElements))
	}
	out := ctx.New(dt, tensor.Shape{int(n)})
	o := out.Data.([]T)
	v := s
	for i := range o {
		o[i] = v
		v += d
	}
	return out, nil
}

func rangeOp(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Range", in, 3); err != nil {
		return nil, err
	}
	s, l, d := in[0], in[1], in[2]
	for i, t := range in {
		if t.Len() != 1 || len(t.Shape) > 1 {
			return nil, Errorf("Range: input %d must be a scalar, got shape %v", i, t.Shape)
		}
		if t.DType != s.DType {
			return nil, Errorf("Range: inputs must share a type")
		}
	}
	var out *tensor.Tensor
	var err error
	switch sv := s.Data.(type) {
	case []float32:
		out, err = rangeT(ctx, s.DType, sv[0], l.F32()[0], d.F32()[0])
	case []float64:
		out, err = rangeT(ctx, s.DType, sv[0], l.F64()[0], d.F64()[0])
	case []int32:
		out, err = rangeT(ctx, s.DType, sv[0], l.I32()[0], d.I32()[0])
	case []int64:
		out, err = rangeT(ctx, s.DType, sv[0], l.I64()[0], d.I64()[0])
	default:
		return nil, noKernel("Range", s.DType)
	}
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}

// ---- gather ----------------------------------------------------------------

// gatherAxis implements GatherV2 with batch_dims.
func gatherAxis(ctx *Context, op string, params, indices *tensor.Tensor, axis, batchDims int64) (*tensor.Tensor, error) {
	idx, err := intsOf(op, "indices", indices)
	if err != nil {
		return nil, err
	}
	pr, ir := len(params.Shape), len(indices.Shape)
	if batchDims < 0 {
		batchDims += int64(ir)
	}
	if batchDims < 0 || batchDims > int64(ir) {
		return nil, Errorf("Expected batch_dims in the range [%d, %d], but got %d", -ir, ir, batchDims)
	}
	if axis < -int64(pr) || axis >= int64(pr) {
		return nil, Errorf("Expected axis in the range [%d, %d), but got %d", -pr, pr, axis)
	}
	if axis < 0 {
		axis += int64(pr)
	}
	bd, ax := int(batchDims), int(axis)
	if bd >= pr && bd > 0 {
		return nil, Errorf("batch_dims (%d) must be less than rank(params) (%d).", bd, pr)
	}
	if ax < bd {
		return nil, Errorf("batch_dims (%d) must be less than or equal to axis (%d).", bd, ax)
	}
	for i := 0; i < bd; i++ {
		if params.Shape[i] != indices.Shape[i] {
			return nil, Errorf("params.shape[%d]: %d should be equal to indices.shape[%d]: %d", i, params.Shape[i], i, indices.Shape[i])
		}
	}
	os := tensor.Shape{}
	os = append(os, params.Shape[:ax]...)
	os = append(os, indices.Shape[bd:]...)
	os = append(os, params.Shape[ax+1:]...)
	out := ctx.New(params.DType, os)
	batch := prod(params.Shape, 0, bd)
	outer := prod(params.Shape, bd, ax)
	limit := params.Shape[ax]
	inner := prod(params.Shape, ax+1, pr)
	nIdx := prod(indices.Shape, bd, ir)
	for i, v := range idx {
		if v < 0 || v >= int64(limit) {
			return nil, Errorf("indices%s = %d is not in [0, %d)", indexStr(i, indices.Shape), v, limit)
		}
	}
	if out.Len() == 0 {
		return out, nil
	}
	mv := moverOf(params.Data)
	o := 0
	for b := 0; b < batch; b++ {
		for i := 0; i < outer; i++ {
			base := (b*outer + i) * limit * inner
			for _, v := range idx[b*nIdx : (b+1)*nIdx] {
				mv.copyRun(out.Data, o, params.Data, base+int(v)*inner, inner)
				o += inner
			}
		}
	}
	return out, nil
}

// indexStr formats flat index i of shape s as TF does in errors: "[1,2]".
func indexStr(i int, s tensor.Shape) string {
	if len(s) == 0 {
		return ""
	}
	st := stridesOf(s)
	b := []byte{'['}
	for k := range s {
		if k > 0 {
			b = append(b, ',')
		}
		v := 0
		if st[k] > 0 {
			v = i / st[k]
			i %= st[k]
		}
		b = appendInt(b, v)
	}
	return string(append(b, ']'))
}

func appendInt(b []byte, v int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	k := len(tmp)
	for {
		k--
		tmp[k] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[k:]...)
}

func gatherV2Builder(attrs Attrs, _ int) (Func, error) {
	bd := attrs.Int("batch_dims", 0)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("GatherV2", in, 3); err != nil {
			return nil, err
		}
		ax, err := scalarInt("GatherV2", "axis", in[2])
		if err != nil {
			return nil, err
		}
		out, err := gatherAxis(ctx, "GatherV2", in[0], in[1], ax, bd)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func gatherV1(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Gather", in, 2); err != nil {
		return nil, err
	}
	if len(in[0].Shape) < 1 {
		return nil, Errorf("params must be at least 1 dimensional")
	}
	out, err := gatherAxis(ctx, "Gather", in[0], in[1], 0, 0)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}

func gatherNd(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("GatherNd", in, 2); err != nil {
		return nil, err
	}
	params, indices := in[0], in[1]
	idx, err := intsOf("GatherNd", "indices", indices)
	if err != nil {
		return nil, err
	}
	ir := len(indices.Shape)
	if ir < 1 {
		return nil, Errorf("indices must be at least a vector, got shape %v", indices.Shape)
	}
	q := indices.Shape[ir-1]
	if q > len(params.Shape) {
		return nil, Errorf("index innermost dimension length must be <= params rank; saw: %d vs. %d", q, len(params.Shape))
	}
	os := append(indices.Shape[:ir-1:ir-1].Clone(), params.Shape[q:]...)
	out := ctx.New(params.DType, os)
	inner := prod(params.Shape, q, len(params.Shape))
	n := prod(indices.Shape, 0, ir-1)
	st := stridesOf(params.Shape)
	mv := moverOf(params.Data)
	for i := 0; i < n; i++ {
		off := 0
		for k := 0; k < q; k++ {
			v := idx[i*q+k]
			if v < 0 || v >= int64(params.Shape[k]) {
				return nil, Errorf("indices%s = %v does not index into param shape %v, node name: GatherNd", indexStr(i, indices.Shape[:ir-1]), idx[i*q:(i+1)*q], params.Shape)
			}
			off += int(v) * st[k]
		}
		if inner > 0 {
			mv.copyRun(out.Data, i*inner, params.Data, off, inner)
		}
	}
	return []*tensor.Tensor{out}, nil
}

// ---- one hot -----------------------------------------------------------------

func oneHotBuilder(attrs Attrs, _ int) (Func, error) {
	ax := attrs.Int("axis", -1)
	if ax < -1 {
		return nil, buildErr("OneHot", "axis must be >= -1, got %d", ax)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("OneHot", in, 4); err != nil {
			return nil, err
		}
		indices, depthT, on, off := in[0], in[1], in[2], in[3]
		var idx []int64
		switch d := indices.Data.(type) {
		case []uint8:
			idx = make([]int64, len(d))
			for i, v := range d {
				idx[i] = int64(v)
			}
		default:
			var err error
			if idx, err = intsOf("OneHot", "indices", indices); err != nil {
				return nil, err
			}
		}
		depth, err := scalarInt("OneHot", "depth", depthT)
		if err != nil {
			return nil, err
		}
		if depth < 0 {
			return nil, Errorf("depth must be non-negative, got: %d", depth)
		}
		if on.Len() != 1 || off.Len() != 1 || on.DType != off.DType || len(on.Shape) != 0 || len(off.Shape) != 0 {
			return nil, Errorf("on_value and off_value must be scalars of the same type")
		}
		r := len(indices.Shape)
		axis := int(ax)
		if ax == -1 {
			axis = r
		}
		if axis > r {
			return nil, Errorf("Expected axis to be -1 or between [0, %d).  But received: %d", r+1, ax)
		}
		os := append(indices.Shape[:axis:axis].Clone(), int(depth))
		os = append(os, indices.Shape[axis:]...)
		if err := checkSize("OneHot", os); err != nil {
			return nil, err
		}
		out := ctx.New(on.DType, os)
		mv := moverOf(on.Data)
		mv.fill(out.Data, 0, out.Len(), off.Data, 0)
		outer := prod(indices.Shape, 0, axis)
		inner := prod(indices.Shape, axis, r)
		for i := 0; i < outer; i++ {
			for j := 0; j < inner; j++ {
				v := idx[i*inner+j]
				if v >= 0 && v < depth {
					p := (i*int(depth)+int(v))*inner + j
					mv.fill(out.Data, p, p+1, on.Data, 0)
				}
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// ---- where / unique ------------------------------------------------------

func truthy(t *tensor.Tensor) ([]bool, bool) {
	switch d := t.Data.(type) {
	case []bool:
		return d, true
	case []float32:
		return nonzero(d), true
	case []float64:
		return nonzero(d), true
	case []int32:
		return nonzero(d), true
	case []int64:
		return nonzero(d), true
	case []int8:
		return nonzero(d), true
	case []int16:
		return nonzero(d), true
	case []uint8:
		return nonzero(d), true
	case []uint16:
		return nonzero(d), true
	case []uint32:
		return nonzero(d), true
	case []uint64:
		return nonzero(d), true
	}
	return nil, false
}

func nonzero[T number](d []T) []bool {
	b := make([]bool, len(d))
	for i, v := range d {
		b[i] = v != 0
	}
	return b
}

func where(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 3 {
		return selectV1(ctx, in)
	}
	if err := checkInputs("Where", in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	b, ok := truthy(x)
	if !ok {
		return nil, noKernel("Where", x.DType)
	}
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	r := len(x.Shape)
	out := ctx.New(tensor.Int64, tensor.Shape{n, r})
	o := out.I64()
	st := stridesOf(x.Shape)
	k := 0
	for i, v := range b {
		if !v {
			continue
		}
		rem := i
		for d := 0; d < r; d++ {
			o[k] = int64(rem / st[d])
			rem %= st[d]
			k++
		}
	}
	return []*tensor.Tensor{out}, nil
}

func uniqueBuilder(attrs Attrs, _ int) (Func, error) {
	idxType, err := outType("Unique", attrs, "out_idx")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Unique", in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) != 1 {
			return nil, Errorf("unique expects a 1D vector.")
		}
		n := x.Len()
		first := make(map[any]int, n)
		pos := make([]int, n)
		var order []int
		for i := 0; i < n; i++ {
			k := elemAt(x.Data, i)
			if f, ok := k.(float64); ok && f == 0 {
				k = float64(0) // -0 == 0
			}
			if f, ok := k.(float32); ok && f == 0 {
				k = float32(0)
			}
			j, ok := first[k]
			if !ok {
				j = len(order)
				first[k] = j
				order = append(order, i)
			}
			pos[i] = j
		}
		y := ctx.New(x.DType, tensor.Shape{len(order)})
		mv := moverOf(x.Data)
		for j, i := range order {
			mv.copyRun(y.Data, j, x.Data, i, 1)
		}
		idx, err := intTensor(ctx, idxType, tensor.Shape{n}, pos)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{y, idx}, nil
	}, nil
}
