package gorgonia

import (
	"fmt"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

var listOps = map[string]bool{
	"TensorListReserve": true, "EmptyTensorList": true, "TensorListFromTensor": true,
	"TensorListGetItem": true, "TensorListSetItem": true, "TensorListStack": true,
	"TensorListLength": true, "TensorListPushBack": true, "TensorListElementShape": true,
}

func isListOp(op string) bool { return listOps[op] }

// asList returns a TensorList value, converting a constant variant tensor
// (a list built by a kernel) into one.
func asList(v *value) (*tlist, error) {
	if v.list != nil {
		return v.list, nil
	}
	if v.c != nil && v.c.DType == tensor.Variant {
		if d, ok := v.c.Data.([]any); ok && len(d) == 1 {
			if l, ok := d[0].(*kernels.TensorList); ok {
				out := &tlist{dt: l.ElementDType, elemShape: l.ElementShape, items: make([]*value, len(l.Items))}
				for i, it := range l.Items {
					if it != nil {
						out.items[i] = &value{c: it}
					}
				}
				return out, nil
			}
		}
	}
	return nil, fmt.Errorf("not a TensorList")
}

func constShape(v *value) tensor.Shape {
	if v.c == nil {
		return nil
	}
	if len(v.c.Shape) == 0 {
		if x := toInts(v.c); len(x) == 1 && x[0] == -1 {
			return nil // unknown rank
		}
	}
	ints := toInts(v.c)
	s := make(tensor.Shape, len(ints))
	for i, d := range ints {
		s[i] = int(d)
	}
	return s
}

func fullyDefined(s tensor.Shape) bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

func (lw *lowerer) listOp(n *graph.Node, in []*value) ([]*value, error) {
	wrap := func(l *tlist) []*value { return []*value{{list: l}} }
	idx := func(v *value, size int) (int, error) {
		if v.c == nil {
			return 0, lw.unsupported(n, "request-dependent list index")
		}
		i := int(toInts(v.c)[0])
		if i < 0 || i >= size {
			return 0, fmt.Errorf("gorgonia engine: %s: index %d out of range [0, %d)", n.Name, i, size)
		}
		return i, nil
	}
	switch n.Op {
	case "TensorListReserve":
		if in[1].c == nil {
			return nil, lw.unsupported(n, "request-dependent size")
		}
		k := int(toInts(in[1].c)[0])
		if k < 0 {
			return nil, fmt.Errorf("gorgonia engine: %s: negative size %d", n.Name, k)
		}
		return wrap(&tlist{dt: n.Attrs.Type("element_dtype", tensor.Float32), elemShape: constShape(in[0]), items: make([]*value, k)}), nil
	case "EmptyTensorList":
		return wrap(&tlist{dt: n.Attrs.Type("element_dtype", tensor.Float32), elemShape: constShape(in[0])}), nil
	case "TensorListFromTensor":
		s := lw.shapeOf(in[0])
		if len(s) == 0 {
			return nil, fmt.Errorf("gorgonia engine: %s: scalar cannot become a list", n.Name)
		}
		l := &tlist{dt: lw.dtypeOf(in[0]), elemShape: s[1:].Clone(), items: make([]*value, s[0])}
		for i := range l.items {
			v, err := lw.sliceV(in[0], 0, i, i+1)
			if err != nil {
				return nil, err
			}
			if l.items[i], err = lw.reshapeV(v, l.elemShape); err != nil {
				return nil, err
			}
		}
		return wrap(l), nil
	case "TensorListLength":
		l, err := asList(in[0])
		if err != nil {
			return nil, err
		}
		return []*value{{c: tensor.FromSlice(tensor.Shape{}, []int32{int32(len(l.items))})}}, nil
	case "TensorListElementShape":
		l, err := asList(in[0])
		if err != nil {
			return nil, err
		}
		return []*value{{c: shapeTensor(l.elemShape, n.Attrs.Type("shape_type", tensor.Int32))}}, nil
	case "TensorListGetItem":
		l, err := asList(in[0])
		if err != nil {
			return nil, err
		}
		i, err := idx(in[1], len(l.items))
		if err != nil {
			return nil, err
		}
		if it := l.items[i]; it != nil {
			return []*value{it}, nil
		}
		s := constShape(in[2])
		if !fullyDefined(s) {
			s = l.elemShape
		}
		if !fullyDefined(s) {
			return nil, fmt.Errorf("gorgonia engine: %s: reading an unset item of unknown shape", n.Name)
		}
		return []*value{{c: tensor.New(n.Attrs.Type("element_dtype", l.dt), s)}}, nil
	case "TensorListSetItem":
		l, err := asList(in[0])
		if err != nil {
			return nil, err
		}
		i, err := idx(in[1], len(l.items))
		if err != nil {
			return nil, err
		}
		c := l.clone()
		c.items[i] = in[2]
		return wrap(c), nil
	case "TensorListPushBack":
		l, err := asList(in[0])
		if err != nil {
			return nil, err
		}
		c := l.clone()
		c.items = append(c.items, in[1])
		return wrap(c), nil
	case "TensorListStack":
		l, err := asList(in[0])
		if err != nil {
			return nil, err
		}
		s := constShape(in[1])
		for _, it := range l.items {
			if it != nil {
				s = lw.shapeOf(it)
				break
			}
		}
		if !fullyDefined(s) {
			s = l.elemShape
		}
		if !fullyDefined(s) {
			return nil, fmt.Errorf("gorgonia engine: %s: stacking items of unknown shape", n.Name)
		}
		if len(l.items) == 0 {
			return []*value{{c: tensor.New(l.dt, append(tensor.Shape{0}, s...))}}, nil
		}
		parts := make([]*value, len(l.items))
		es := append(tensor.Shape{1}, s...)
		allC := true
		for i, it := range l.items {
			if it == nil {
				it = &value{c: tensor.New(l.dt, s.Clone())}
			}
			if it.c == nil {
				allC = false
			}
			if parts[i], err = lw.reshapeV(it, es); err != nil {
				return nil, err
			}
		}
		if allC {
			out := tensor.New(l.dt, append(tensor.Shape{len(parts)}, s...))
			per := s.NumElements()
			for i, p := range parts {
				copyInto(out, i*per, p.c)
			}
			return []*value{{c: out}}, nil
		}
		v, err := lw.concat(parts, 0)
		if err != nil {
			return nil, err
		}
		return []*value{v}, nil
	}
	return nil, lw.unsupported(n, "")
}

func copyInto(dst *tensor.Tensor, off int, src *tensor.Tensor) {
	switch d := dst.Data.(type) {
	case []float32:
		copy(d[off:], src.F32())
	case []int32:
		copy(d[off:], src.I32())
	case []int64:
		copy(d[off:], src.I64())
	case []float64:
		copy(d[off:], src.F64())
	case []bool:
		copy(d[off:], src.Bools())
	}
}
