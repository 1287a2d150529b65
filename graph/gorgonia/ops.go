package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// lowerOp writes one request-dependent node with gorgonia ops.
func (lw *lowerer) lowerOp(n *graph.Node, in []*value) (outs []*value, err error) {
	defer func() {
		if err != nil {
			if _, ok := err.(*UnsupportedError); !ok {
				err = fmt.Errorf("gorgonia engine: node %s (%s): %w", n.Name, n.Op, err)
			}
		}
	}()
	one := func(v *value, err error) ([]*value, error) {
		if err != nil {
			return nil, err
		}
		return []*value{v}, nil
	}
	unary := func(f func(*G.Node) (*G.Node, error)) ([]*value, error) {
		x, err := lw.node(in[0])
		if err != nil {
			return nil, err
		}
		r, err := f(x)
		if err != nil {
			return nil, err
		}
		return []*value{{n: r, dt: in[0].dt, shape: lw.shapeOf(in[0]).Clone()}}, nil
	}
	switch n.Op {
	case "Identity", "StopGradient", "Snapshot", "PreventGradient", "EnsureShape", "CheckNumerics":
		return []*value{in[0]}, nil
	case "IdentityN":
		return in, nil
	case "Add", "AddV2":
		return one(lw.binary(binAdd, in[0], in[1]))
	case "Sub":
		return one(lw.binary(binSub, in[0], in[1]))
	case "Mul":
		return one(lw.binary(binMul, in[0], in[1]))
	case "RealDiv", "Div":
		if n.Op == "Div" && !isFloat(lw.dtypeOf(in[0])) {
			return nil, lw.unsupported(n, "integer division")
		}
		return one(lw.binary(binDiv, in[0], in[1]))
	case "AddN":
		acc := in[0]
		for _, v := range in[1:] {
			if acc, err = lw.binary(binAdd, acc, v); err != nil {
				return nil, err
			}
		}
		return []*value{acc}, nil
	case "SquaredDifference":
		d, err := lw.binary(binSub, in[0], in[1])
		if err != nil {
			return nil, err
		}
		in = []*value{d}
		return unary(G.Square)
	case "NotEqual":
		return one(lw.binary(binNe, in[0], in[1]))
	case "Equal":
		return one(lw.binary(binEq, in[0], in[1]))
	case "Greater":
		return one(lw.binary(binGt, in[0], in[1]))
	case "GreaterEqual":
		return one(lw.binary(binGte, in[0], in[1]))
	case "Less":
		return one(lw.binary(binLt, in[0], in[1]))
	case "LessEqual":
		return one(lw.binary(binLte, in[0], in[1]))
	case "LogicalAnd":
		return one(lw.binary(binMul, in[0], in[1]))
	case "LogicalNot":
		oneC := &value{c: tensor.FromSlice(tensor.Shape{}, []float32{1})}
		r, err := lw.binary(binSub, oneC, in[0])
		if r != nil {
			r.dt = tensor.Bool
		}
		return one(r, err)
	case "Select", "SelectV2":
		return one(lw.sel(n, in[0], in[1], in[2]))
	case "BiasAdd":
		if f := n.Attrs.String("data_format", "NHWC"); f != "NHWC" {
			return nil, lw.unsupported(n, "data_format %s", f)
		}
		return one(lw.binary(binAdd, in[0], in[1]))
	case "Relu":
		return unary(G.Rectify)
	case "Sigmoid":
		return unary(G.Sigmoid)
	case "Tanh":
		return unary(G.Tanh)
	case "Exp":
		return unary(G.Exp)
	case "Log":
		return unary(G.Log)
	case "Neg":
		return unary(G.Neg)
	case "Square":
		return unary(G.Square)
	case "Sqrt":
		return unary(G.Sqrt)
	case "Abs":
		return unary(G.Abs)
	case "Softplus":
		return unary(G.Softplus)
	case "Softmax":
		return unary(func(x *G.Node) (*G.Node, error) { return G.SoftMax(x) })
	case "Cast":
		src, dst := lw.dtypeOf(in[0]), n.Attrs.Type("DstT", tensor.Invalid)
		if src == dst || (src == tensor.Bool && dst == tensor.Float32) {
			v := *in[0]
			v.dt = dst
			return []*value{&v}, nil
		}
		if src == tensor.Float32 && (dst == tensor.Int32 || dst == tensor.Int64) {
			// Kept as float; only a gather may consume it (see gather).
			v := *in[0]
			v.dt, v.floatInt = dst, true
			return []*value{&v}, nil
		}
		return nil, lw.unsupported(n, "cast from %v to %v of a request-dependent value", src, dst)
	case "MatMul":
		return one(lw.matmul(in[0], in[1], n.Attrs.Bool("transpose_a", false), n.Attrs.Bool("transpose_b", false)))
	case "Reshape":
		if in[1].c == nil {
			return nil, lw.unsupported(n, "request-dependent target shape")
		}
		s, err := resolveShape(lw.shapeOf(in[0]), toInts(in[1].c))
		if err != nil {
			return nil, err
		}
		return one(lw.reshapeV(in[0], s))
	case "ExpandDims":
		if in[1].c == nil {
			return nil, lw.unsupported(n, "request-dependent axis")
		}
		s := lw.shapeOf(in[0])
		ax := int(toInts(in[1].c)[0])
		if ax < 0 {
			ax += len(s) + 1
		}
		if ax < 0 || ax > len(s) {
			return nil, fmt.Errorf("axis %d out of range for %v", ax, s)
		}
		ns := append(append(s[:ax:ax].Clone(), 1), s[ax:]...)
		return one(lw.reshapeV(in[0], ns))
	case "Squeeze":
		s := lw.shapeOf(in[0])
		dims := n.Attrs.Ints("squeeze_dims")
		drop := map[int]bool{}
		for _, d := range dims {
			if d < 0 {
				d += int64(len(s))
			}
			drop[int(d)] = true
		}
		var ns tensor.Shape
		for i, d := range s {
			if (len(dims) == 0 && d == 1) || drop[i] {
				continue
			}
			ns = append(ns, d)
		}
		if ns == nil {
			ns = tensor.Shape{}
		}
		return one(lw.reshapeV(in[0], ns))
	case "Transpose":
		if in[1].c == nil {
			return nil, lw.unsupported(n, "request-dependent permutation")
		}
		perm := toInts(in[1].c)
		x, err := lw.node(in[0])
		if err != nil {
			return nil, err
		}
		p := make([]int, len(perm))
		for i, v := range perm {
			p[i] = int(v)
		}
		r, err := G.Transpose(x, p...)
		if err != nil {
			return nil, err
		}
		return []*value{dyn(r, in[0].dt)}, nil
	case "ConcatV2":
		ax := in[len(in)-1]
		if ax.c == nil {
			return nil, lw.unsupported(n, "request-dependent axis")
		}
		return one(lw.concat(in[:len(in)-1], int(toInts(ax.c)[0])))
	case "Pack":
		s := lw.shapeOf(in[0])
		ax := int(n.Attrs.Int("axis", 0))
		if ax < 0 {
			ax += len(s) + 1
		}
		ns := append(append(s[:ax:ax].Clone(), 1), s[ax:]...)
		parts := make([]*value, len(in))
		for i, v := range in {
			if parts[i], err = lw.reshapeV(v, ns); err != nil {
				return nil, err
			}
		}
		return one(lw.concat(parts, ax))
	case "Unpack":
		s := lw.shapeOf(in[0])
		ax := int(n.Attrs.Int("axis", 0))
		if ax < 0 {
			ax += len(s)
		}
		rest := append(s[:ax:ax].Clone(), s[ax+1:]...)
		for i := 0; i < s[ax]; i++ {
			v, err := lw.sliceV(in[0], ax, i, i+1)
			if err != nil {
				return nil, err
			}
			if v, err = lw.reshapeV(v, rest); err != nil {
				return nil, err
			}
			outs = append(outs, v)
		}
		return outs, nil
	case "Split":
		if in[0].c == nil {
			return nil, lw.unsupported(n, "request-dependent axis")
		}
		s := lw.shapeOf(in[1])
		ax := int(toInts(in[0].c)[0])
		if ax < 0 {
			ax += len(s)
		}
		k := int(n.Attrs.Int("num_split", 1))
		if k <= 0 || s[ax]%k != 0 {
			return nil, fmt.Errorf("cannot split %d into %d", s[ax], k)
		}
		w := s[ax] / k
		for i := 0; i < k; i++ {
			v, err := lw.sliceV(in[1], ax, i*w, (i+1)*w)
			if err != nil {
				return nil, err
			}
			outs = append(outs, v)
		}
		return outs, nil
	case "SplitV":
		if in[1].c == nil || in[2].c == nil {
			return nil, lw.unsupported(n, "request-dependent sizes")
		}
		s := lw.shapeOf(in[0])
		ax := int(toInts(in[2].c)[0])
		if ax < 0 {
			ax += len(s)
		}
		sizes := toInts(in[1].c)
		known, neg := 0, -1
		for i, z := range sizes {
			if z < 0 {
				neg = i
			} else {
				known += int(z)
			}
		}
		if neg >= 0 {
			sizes = append([]int64(nil), sizes...)
			sizes[neg] = int64(s[ax] - known)
		}
		off := 0
		for _, z := range sizes {
			v, err := lw.sliceV(in[0], ax, off, off+int(z))
			if err != nil {
				return nil, err
			}
			outs = append(outs, v)
			off += int(z)
		}
		return outs, nil
	case "Slice":
		if in[1].c == nil || in[2].c == nil {
			return nil, lw.unsupported(n, "request-dependent bounds")
		}
		s := lw.shapeOf(in[0])
		begin, size := toInts(in[1].c), toInts(in[2].c)
		v := in[0]
		for ax := range s {
			b, z := int(begin[ax]), int(size[ax])
			if z < 0 {
				z = s[ax] - b
			}
			if v, err = lw.sliceV(v, ax, b, b+z); err != nil {
				return nil, err
			}
		}
		return []*value{v}, nil
	case "StridedSlice":
		return one(lw.stridedSlice(n, in))
	case "Tile":
		if in[1].c == nil {
			return nil, lw.unsupported(n, "request-dependent multiples")
		}
		v := in[0]
		for ax, k := range toInts(in[1].c) {
			if k == 1 {
				continue
			}
			if k < 1 {
				return nil, lw.unsupported(n, "multiple %d", k)
			}
			parts := make([]*value, k)
			for i := range parts {
				parts[i] = v
			}
			if v, err = lw.concat(parts, ax); err != nil {
				return nil, err
			}
		}
		return []*value{v}, nil
	case fuse.OpGRU:
		return lw.gru(n, in)
	case "Conv2D":
		return one(lw.conv2d(n, in[0], in[1]))
	case "MaxPool":
		return one(lw.maxPool(n, in[0]))
	case "Mean", "Sum", "Max":
		return one(lw.reduce(n, in[0], in[1]))
	case "ResourceGather", "GatherV2":
		return one(lw.gather(n, in))
	}
	return nil, lw.unsupported(n, "")
}

func isFloat(dt tensor.DType) bool { return dt == tensor.Float32 || dt == tensor.Float64 }

func resolveShape(from tensor.Shape, to []int64) (tensor.Shape, error) {
	out := make(tensor.Shape, len(to))
	neg, prod := -1, 1
	for i, d := range to {
		if d < 0 {
			if neg >= 0 {
				return nil, fmt.Errorf("more than one -1 in shape %v", to)
			}
			neg = i
			continue
		}
		out[i] = int(d)
		prod *= int(d)
	}
	total := from.NumElements()
	if neg >= 0 {
		if prod == 0 || total%prod != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", from, to)
		}
		out[neg] = total / prod
	} else if prod != total {
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v", from, total, to)
	}
	return out, nil
}

func (lw *lowerer) reshapeV(v *value, s tensor.Shape) (*value, error) {
	if v.c != nil {
		return &value{c: v.c.Reshaped(s)}, nil
	}
	r, err := reshape(v.n, s)
	if err != nil {
		return nil, err
	}
	return &value{n: r, dt: v.dt, shape: s.Clone()}, nil
}

// sliceV slices along one axis, keeping the rank.
func (lw *lowerer) sliceV(v *value, axis, start, end int) (*value, error) {
	s := lw.shapeOf(v)
	if axis < 0 || axis >= len(s) || start < 0 || end > s[axis] || start > end {
		return nil, fmt.Errorf("slice %d:%d out of range for axis %d of %v", start, end, axis, s)
	}
	if v.c != nil {
		out, err := lw.runKernel("Slice", kernels.Attrs{"T": v.c.DType, "Index": tensor.Int32}, v.c, sliceBegin(len(s), axis, start), sliceSize(s, axis, end-start))
		if err != nil {
			return nil, err
		}
		return &value{c: out[0]}, nil
	}
	if start == end {
		return nil, fmt.Errorf("empty slice")
	}
	r, err := lw.sliceAxis(v.n, axis, start, end)
	if err != nil {
		return nil, err
	}
	ns := s.Clone()
	ns[axis] = end - start
	return &value{n: r, dt: v.dt, shape: ns}, nil
}

func sliceBegin(rank, axis, start int) *tensor.Tensor {
	b := make([]int32, rank)
	b[axis] = int32(start)
	return tensor.FromSlice(tensor.Shape{rank}, b)
}

func sliceSize(s tensor.Shape, axis, size int) *tensor.Tensor {
	z := make([]int32, len(s))
	for i, d := range s {
		z[i] = int32(d)
	}
	z[axis] = int32(size)
	return tensor.FromSlice(tensor.Shape{len(s)}, z)
}

func (lw *lowerer) concat(vals []*value, axis int) (*value, error) {
	if len(vals) == 0 {
		return nil, fmt.Errorf("nothing to concatenate")
	}
	s := lw.shapeOf(vals[0])
	if axis < 0 {
		axis += len(s)
	}
	if len(vals) == 1 {
		return vals[0], nil
	}
	nodes := make([]*G.Node, len(vals))
	total := 0
	dt := lw.dtypeOf(vals[0])
	for i, v := range vals {
		n, err := lw.node(v)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
		total += lw.shapeOf(v)[axis]
	}
	r, err := G.Concat(axis, nodes...)
	if err != nil {
		return nil, err
	}
	ns := s.Clone()
	ns[axis] = total
	return &value{n: r, dt: dt, shape: ns}, nil
}

func (lw *lowerer) matmul(a, b *value, ta, tb bool) (*value, error) {
	an, err := lw.node(a)
	if err != nil {
		return nil, err
	}
	bn, err := lw.node(b)
	if err != nil {
		return nil, err
	}
	if len(an.Shape()) != 2 || len(bn.Shape()) != 2 {
		return nil, fmt.Errorf("MatMul of %v and %v", an.Shape(), bn.Shape())
	}
	if ta {
		if an, err = G.Transpose(an, 1, 0); err != nil {
			return nil, err
		}
	}
	if tb {
		if bn, err = G.Transpose(bn, 1, 0); err != nil {
			return nil, err
		}
	}
	r, err := G.Mul(an, bn)
	if err != nil {
		return nil, err
	}
	return &value{n: r, dt: lw.dtypeOf(a), shape: tensor.Shape{an.Shape()[0], bn.Shape()[1]}}, nil
}

// sel is Select/SelectV2: c*a + (1-c)*b with c a 0/1 mask. (Inf or NaN in
// the branch not taken would leak through as NaN.)
func (lw *lowerer) sel(n *graph.Node, c, a, b *value) (*value, error) {
	if c.c != nil {
		f := toFloat32(c.c)
		if f == nil {
			return nil, fmt.Errorf("condition of type %v", c.c.DType)
		}
		c = &value{c: tensor.FromSlice(c.c.Shape, f)}
	}
	if n.Op == "Select" {
		// Select with a vector condition picks rows.
		cs, as := lw.shapeOf(c), lw.shapeOf(a)
		if len(cs) == 1 && len(as) > 1 {
			ns := append(tensor.Shape{cs[0]}, make(tensor.Shape, len(as)-1)...)
			for i := 1; i < len(ns); i++ {
				ns[i] = 1
			}
			var err error
			if c, err = lw.reshapeV(c, ns); err != nil {
				return nil, err
			}
		}
	}
	ca, err := lw.binary(binMul, c, a)
	if err != nil {
		return nil, err
	}
	oneC := &value{c: tensor.FromSlice(tensor.Shape{}, []float32{1})}
	nc, err := lw.binary(binSub, oneC, c)
	if err != nil {
		return nil, err
	}
	cb, err := lw.binary(binMul, nc, b)
	if err != nil {
		return nil, err
	}
	r, err := lw.binary(binAdd, ca, cb)
	if err != nil {
		return nil, err
	}
	r.dt = lw.dtypeOf(a)
	return r, nil
}

func (lw *lowerer) stridedSlice(n *graph.Node, in []*value) (*value, error) {
	for _, v := range in[1:] {
		if v.c == nil {
			return nil, lw.unsupported(n, "request-dependent bounds")
		}
	}
	if n.Attrs.Int("ellipsis_mask", 0) != 0 || n.Attrs.Int("new_axis_mask", 0) != 0 {
		return nil, lw.unsupported(n, "ellipsis or new-axis masks")
	}
	s := lw.shapeOf(in[0])
	begin, end, strides := toInts(in[1].c), toInts(in[2].c), toInts(in[3].c)
	bm, em, sm := n.Attrs.Int("begin_mask", 0), n.Attrs.Int("end_mask", 0), n.Attrs.Int("shrink_axis_mask", 0)
	v := in[0]
	var out tensor.Shape
	var err error
	for ax := range s {
		if ax >= len(begin) {
			out = append(out, s[ax])
			continue
		}
		if strides[ax] != 1 {
			return nil, lw.unsupported(n, "stride %d", strides[ax])
		}
		b, e := int(begin[ax]), int(end[ax])
		if b < 0 {
			b += s[ax]
		}
		if e < 0 {
			e += s[ax]
		}
		if bm&(1<<ax) != 0 {
			b = 0
		}
		if em&(1<<ax) != 0 {
			e = s[ax]
		}
		if sm&(1<<ax) != 0 {
			e = b + 1
		}
		b, e = min(max(b, 0), s[ax]), min(max(e, 0), s[ax])
		if e < b {
			e = b
		}
		if v, err = lw.sliceV(v, ax, b, e); err != nil {
			return nil, err
		}
		if sm&(1<<ax) == 0 {
			out = append(out, e-b)
		}
	}
	if out == nil {
		out = tensor.Shape{}
	}
	return lw.reshapeV(v, out)
}

func (lw *lowerer) reduce(n *graph.Node, x, axes *value) (*value, error) {
	if axes.c == nil {
		return nil, lw.unsupported(n, "request-dependent axes")
	}
	s := lw.shapeOf(x)
	xn, err := lw.node(x)
	if err != nil {
		return nil, err
	}
	var along []int
	drop := map[int]bool{}
	for _, a := range toInts(axes.c) {
		if a < 0 {
			a += int64(len(s))
		}
		along = append(along, int(a))
		drop[int(a)] = true
	}
	var r *G.Node
	switch n.Op {
	case "Mean":
		r, err = G.Mean(xn, along...)
	case "Sum":
		r, err = G.Sum(xn, along...)
	case "Max":
		r, err = G.Max(xn, along...)
	}
	if err != nil {
		return nil, err
	}
	var ns tensor.Shape
	for i, d := range s {
		if drop[i] {
			if n.Attrs.Bool("keep_dims", false) {
				ns = append(ns, 1)
			}
			continue
		}
		ns = append(ns, d)
	}
	if ns == nil {
		ns = tensor.Shape{}
	}
	if len(ns) == 0 {
		return &value{n: r, dt: x.dt, shape: ns}, nil
	}
	return lw.reshapeV(&value{n: r, dt: x.dt, shape: tensor.Shape(r.Shape())}, ns)
}

// gather with request-dependent indices: a one-hot matrix built with
// gorgonia's Eq against 0..V-1, multiplied by the (constant) table.
func (lw *lowerer) gather(n *graph.Node, in []*value) (*value, error) {
	params, idx := in[0], in[1]
	if params.c == nil {
		return nil, lw.unsupported(n, "request-dependent parameters")
	}
	if n.Op == "GatherV2" {
		if in[2].c == nil || toInts(in[2].c)[0] != 0 {
			return nil, lw.unsupported(n, "axis other than 0")
		}
	}
	table := params.c
	if table.DType == tensor.Variant || table.DType == tensor.Resource {
		out, err := lw.runKernel("ReadVariableOp", kernels.Attrs{"dtype": n.Attrs.Type("dtype", tensor.Float32)}, table)
		if err != nil {
			return nil, err
		}
		table = out[0]
	}
	if table.DType != tensor.Float32 || len(table.Shape) != 2 {
		return nil, lw.unsupported(n, "table of %v%v", table.DType, table.Shape)
	}
	vocab, width := table.Shape[0], table.Shape[1]
	is := lw.shapeOf(idx)
	total := is.NumElements()
	if !idx.floatInt {
		return nil, lw.unsupported(n, "indices held as %v (only float inputs cast to integers are supported)", idx.dt)
	}
	flat, err := lw.reshapeV(idx, tensor.Shape{total, 1})
	if err != nil {
		return nil, err
	}
	ids := make([]float32, vocab)
	for i := range ids {
		ids[i] = float32(i)
	}
	oh, err := lw.binary(binEq, flat, &value{c: tensor.FromSlice(tensor.Shape{1, vocab}, ids)})
	if err != nil {
		return nil, err
	}
	oh.dt = tensor.Float32
	r, err := lw.matmul(oh, &value{c: table}, false, false)
	if err != nil {
		return nil, err
	}
	return lw.reshapeV(r, append(is.Clone(), width))
}

func gShapeOf(s tensor.Shape) gt.Shape { return gt.Shape(gShape(s)) }
