package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

func gDType(dt tensor.DType) (gt.Dtype, bool) {
	switch dt.Base() {
	case tensor.Float32:
		return gt.Float32, true
	case tensor.Float64:
		return gt.Float64, true
	case tensor.Int32:
		return gt.Int32, true
	case tensor.Int64:
		return gt.Int64, true
	case tensor.Bool:
		// Booleans live in gorgonia as 0/1 float32 masks.
		return gt.Float32, true
	}
	return gt.Dtype{}, false
}

func gShape(s tensor.Shape) []int { return append([]int(nil), s...) }

func shapeTensor(s tensor.Shape, dt tensor.DType) *tensor.Tensor {
	v := make([]int64, len(s))
	for i, d := range s {
		v[i] = int64(d)
	}
	return intTensor(dt, tensor.Shape{len(s)}, v)
}

func intTensor(dt tensor.DType, shape tensor.Shape, v []int64) *tensor.Tensor {
	if dt == tensor.Int64 {
		return tensor.FromSlice(shape, v)
	}
	w := make([]int32, len(v))
	for i, x := range v {
		w[i] = int32(x)
	}
	return tensor.FromSlice(shape, w)
}

func fillOnes(t *tensor.Tensor) {
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = 1
		}
	case []float64:
		for i := range d {
			d[i] = 1
		}
	case []int32:
		for i := range d {
			d[i] = 1
		}
	case []int64:
		for i := range d {
			d[i] = 1
		}
	case []bool:
		for i := range d {
			d[i] = true
		}
	}
}

// toInts reads an integer (or integral float) tensor.
func toInts(t *tensor.Tensor) []int64 {
	switch d := t.Data.(type) {
	case []int32:
		out := make([]int64, len(d))
		for i, x := range d {
			out[i] = int64(x)
		}
		return out
	case []int64:
		return d
	case []float32:
		out := make([]int64, len(d))
		for i, x := range d {
			out[i] = int64(x)
		}
		return out
	}
	return nil
}

// toFloat32 returns t's values as float32 (bools as 0/1), or nil.
func toFloat32(t *tensor.Tensor) []float32 {
	switch d := t.Data.(type) {
	case []float32:
		return d
	case []bool:
		out := make([]float32, len(d))
		for i, b := range d {
			if b {
				out[i] = 1
			}
		}
		return out
	}
	return nil
}

// node returns v as a gorgonia node. A constant becomes an input node with
// a unique name and its value bound (gorgonia deduplicates constants by
// their printed value, which can merge distinct large tensors).
func (lw *lowerer) node(v *value) (*G.Node, error) {
	if v.n != nil {
		return v.n, nil
	}
	if v.c == nil {
		return nil, fmt.Errorf("value is not a tensor")
	}
	t := v.c
	var data any
	switch t.DType {
	case tensor.Bool:
		data = toFloat32(t)
	case tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64:
		data = tensor.MakeSlice(t.DType, t.Len())
		tensor.CopyData(data, t.Data)
	default:
		return nil, fmt.Errorf("constant of type %v cannot be a gorgonia value", t.DType)
	}
	lw.nconst++
	name := fmt.Sprintf("const_%d", lw.nconst)
	gdt, _ := gDType(t.DType)
	if len(t.Shape) == 0 {
		var sv G.Value
		switch d := data.(type) {
		case []float32:
			sv = G.NewF32(d[0])
		case []float64:
			sv = G.NewF64(d[0])
		case []int32:
			sv = G.NewI32(d[0])
		case []int64:
			sv = G.NewI64(d[0])
		}
		n := G.NewScalar(lw.g, gdt, G.WithName(name), G.WithValue(sv))
		v.n, v.shape, v.dt = n, tensor.Shape{}, t.DType
		return n, nil
	}
	d := gt.New(gt.WithShape(gShape(t.Shape)...), gt.WithBacking(data))
	n := G.NewTensor(lw.g, gdt, len(t.Shape), G.WithShape(gShape(t.Shape)...), G.WithName(name), G.WithValue(d))
	return n, nil
}

// dyn wraps a gorgonia node into a value with a known shape.
func dyn(n *G.Node, dt tensor.DType) *value {
	return &value{n: n, dt: dt, shape: tensor.Shape(append([]int(nil), n.Shape()...))}
}

func (lw *lowerer) shapeOf(v *value) tensor.Shape {
	if v.c != nil {
		return v.c.Shape
	}
	return v.shape
}

func (lw *lowerer) dtypeOf(v *value) tensor.DType {
	if v.c != nil {
		return v.c.DType
	}
	return v.dt
}

// reshape reshapes a node, skipping no-op reshapes.
func reshape(n *G.Node, s tensor.Shape) (*G.Node, error) {
	if tensor.Shape(n.Shape()).Equal(s) {
		return n, nil
	}
	if len(s) == 0 {
		s = tensor.Shape{1}
		if tensor.Shape(n.Shape()).Equal(s) {
			return n, nil
		}
	}
	return G.Reshape(n, gt.Shape(gShape(s)))
}

type sliceKey struct {
	parent           *G.Node
	axis, start, end int
}

// sliceAxis returns x[..., start:end, ...] along axis, with the same rank.
// gorgonia hashes slice bounds as bytes, so two slices of one node whose
// bounds agree modulo 256 would be merged into one node; sliceAxis detects
// that and slices through a distinct intermediate instead.
func (lw *lowerer) sliceAxis(x *G.Node, axis, start, end int) (*G.Node, error) {
	shp := tensor.Shape(x.Shape())
	if start == 0 && end == shp[axis] {
		return x, nil
	}
	k := sliceKey{x, axis, start % 256, end % 256}
	if prev, ok := lw.slices[k]; ok && prev != [2]int{start, end} {
		// Colliding bounds: slice [start-1:end] first, then drop one.
		if start == 0 {
			return nil, fmt.Errorf("gorgonia engine: cannot make slice %d:%d unique", start, end)
		}
		mid, err := lw.sliceAxis(x, axis, start-1, end)
		if err != nil {
			return nil, err
		}
		return lw.sliceAxis(mid, axis, 1, end-start+1)
	}
	lw.slices[k] = [2]int{start, end}
	ss := make([]gt.Slice, len(shp))
	ss[axis] = G.S(start, end)
	out, err := G.Slice(x, ss[:axis+1]...) // trailing ":" slices would run as ops too
	if err != nil {
		return nil, err
	}
	want := shp.Clone()
	want[axis] = end - start
	return reshape(out, want)
}

type binKind int

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
	binNe
	binEq
	binGt
	binGte
	binLt
	binLte
)

// binary applies an elementwise op with NumPy broadcasting.
func (lw *lowerer) binary(k binKind, a, b *value) (*value, error) {
	vs, err := kernels.BroadcastShape(lw.shapeOf(a), lw.shapeOf(b))
	if err != nil {
		return nil, err
	}
	// gorgonia has no integer scalar-tensor kernels: widen an integer
	// scalar constant to the other operand's shape.
	if dt := lw.dtypeOf(a); dt == tensor.Int32 || dt == tensor.Int64 {
		if a.c != nil && a.c.Len() == 1 && b.n != nil && len(b.n.Shape()) > 0 {
			a = &value{c: fullOf(a.c, tensor.Shape(b.n.Shape()))}
		} else if b.c != nil && b.c.Len() == 1 && a.n != nil && len(a.n.Shape()) > 0 {
			b = &value{c: fullOf(b.c, tensor.Shape(a.n.Shape()))}
		}
	}
	an, err := lw.node(a)
	if err != nil {
		return nil, err
	}
	bn, err := lw.node(b)
	if err != nil {
		return nil, err
	}
	sa, sb := tensor.Shape(an.Shape()), tensor.Shape(bn.Shape())
	if an.IsScalar() {
		sa = tensor.Shape{}
	}
	if bn.IsScalar() {
		sb = tensor.Shape{}
	}
	dt := lw.dtypeOf(a)
	if k >= binNe {
		dt = tensor.Bool
	}
	out, err := kernels.BroadcastShape(sa, sb)
	if err != nil {
		return nil, err
	}
	var lp, rp []byte
	if !(len(sa) == 0 || len(sb) == 0 || sa.Equal(sb)) {
		if len(sa) < len(out) {
			s := append(make(tensor.Shape, len(out)-len(sa)), sa...)
			for i := 0; i < len(out)-len(sa); i++ {
				s[i] = 1
			}
			if an, err = reshape(an, s); err != nil {
				return nil, err
			}
			sa = s
		}
		if len(sb) < len(out) {
			s := append(make(tensor.Shape, len(out)-len(sb)), sb...)
			for i := 0; i < len(out)-len(sb); i++ {
				s[i] = 1
			}
			if bn, err = reshape(bn, s); err != nil {
				return nil, err
			}
			sb = s
		}
		for i := range out {
			if sa[i] == 1 && out[i] != 1 {
				lp = append(lp, byte(i))
			}
			if sb[i] == 1 && out[i] != 1 {
				rp = append(rp, byte(i))
			}
		}
	}
	var r *G.Node
	if lp == nil && rp == nil {
		switch k {
		case binAdd:
			r, err = G.Add(an, bn)
		case binSub:
			r, err = G.Sub(an, bn)
		case binMul:
			r, err = G.HadamardProd(an, bn)
		case binDiv:
			r, err = G.HadamardDiv(an, bn)
		case binNe:
			r, err = G.Ne(an, bn, true)
		case binEq:
			r, err = G.Eq(an, bn, true)
		case binGt:
			r, err = G.Gt(an, bn, true)
		case binGte:
			r, err = G.Gte(an, bn, true)
		case binLt:
			r, err = G.Lt(an, bn, true)
		case binLte:
			r, err = G.Lte(an, bn, true)
		}
	} else {
		switch k {
		case binAdd:
			r, err = G.BroadcastAdd(an, bn, lp, rp)
		case binSub:
			r, err = G.BroadcastSub(an, bn, lp, rp)
		case binMul:
			r, err = G.BroadcastHadamardProd(an, bn, lp, rp)
		case binDiv:
			r, err = G.BroadcastHadamardDiv(an, bn, lp, rp)
		case binNe:
			r, err = G.BroadcastNe(an, bn, true, lp, rp)
		case binEq:
			r, err = G.BroadcastEq(an, bn, true, lp, rp)
		case binGt:
			r, err = G.BroadcastGt(an, bn, true, lp, rp)
		case binGte:
			r, err = G.BroadcastGte(an, bn, true, lp, rp)
		case binLt:
			r, err = G.BroadcastLt(an, bn, true, lp, rp)
		case binLte:
			r, err = G.BroadcastLte(an, bn, true, lp, rp)
		}
	}
	if err != nil {
		return nil, err
	}
	return &value{n: r, dt: dt, shape: vs}, nil
}

// fullOf returns a tensor of shape s filled with the single value of t.
func fullOf(t *tensor.Tensor, s tensor.Shape) *tensor.Tensor {
	out := tensor.New(t.DType, s.Clone())
	switch d := out.Data.(type) {
	case []int32:
		for i := range d {
			d[i] = t.I32()[0]
		}
	case []int64:
		for i := range d {
			d[i] = t.I64()[0]
		}
	}
	return out
}
