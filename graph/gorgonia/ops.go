package gorgonia

import (
	"fmt"
	"maps"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// lowerFunc writes one node with gorgonia ops, given its lowered inputs.
type lowerFunc func(lw *lowerer, n *graph.Node, in []*value) ([]*value, error)

// opLowerings maps every op the engine writes as gorgonia nodes to its
// lowering, by family: elementwise (ops_elementwise.go), shape
// (ops_shape.go), slicing and joining (ops_slices.go), and the layers below.
func opLowerings() map[string]lowerFunc {
	m := map[string]lowerFunc{
		"Identity": identity, "StopGradient": identity, "Snapshot": identity, "PreventGradient": identity,
		"EnsureShape": identity, "CheckNumerics": identity,
		"IdentityN": func(_ *lowerer, _ *graph.Node, in []*value) ([]*value, error) { return in, nil },
		"MatMul": func(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
			return one(lw.matmul(in[0], in[1], n.Attrs.Bool("transpose_a", false), n.Attrs.Bool("transpose_b", false)))
		},
		fuse.OpGRU: (*lowerer).gru,
		"Conv2D": func(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
			return one(lw.conv2d(n, in[0], in[1]))
		},
		"MaxPool": func(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
			return one(lw.maxPool(n, in[0]))
		},
		"ResourceGather": gatherOp, "GatherV2": gatherOp,
		"Mean": reduceOp, "Sum": reduceOp, "Max": reduceOp,
	}
	for _, family := range []map[string]lowerFunc{elementwiseOps(), shapeOps(), sliceOps()} {
		maps.Copy(m, family)
	}
	return m
}

// lowerOp writes one request-dependent node with gorgonia ops.
func (lw *lowerer) lowerOp(n *graph.Node, in []*value) ([]*value, error) {
	f, ok := lw.ops[n.Op]
	if !ok {
		return nil, lw.unsupported(n, "")
	}
	outs, err := f(lw, n, in)
	if err != nil {
		if _, ok := err.(*UnsupportedError); !ok {
			err = fmt.Errorf("gorgonia engine: node %s (%s): %w", n.Name, n.Op, err)
		}
		return nil, err
	}
	return outs, nil
}

// one is the output list of a single-output lowering.
func one(v *value, err error) ([]*value, error) {
	if err != nil {
		return nil, err
	}
	return []*value{v}, nil
}

func identity(_ *lowerer, _ *graph.Node, in []*value) ([]*value, error) {
	return []*value{in[0]}, nil
}

func gatherOp(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	return one(lw.gather(n, in))
}

func reduceOp(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	return one(lw.reduce(n, in[0], in[1]))
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
		// Ids and other non-embedding tables: tfserve's gather as a
		// kernel node (a string table is refused there).
		return lw.gatherKernel(n, in)
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
