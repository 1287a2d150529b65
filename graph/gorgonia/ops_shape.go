package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/tensor"
)

// shapeOps lowers the ops that only change a value's shape or axis order;
// their shape arguments must be constants.
func shapeOps() map[string]lowerFunc {
	return map[string]lowerFunc{
		"Reshape":    lowerReshape,
		"ExpandDims": lowerExpandDims,
		"Squeeze":    lowerSqueeze,
		"Transpose":  lowerTranspose,
	}
}

func lowerReshape(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	if in[1].c == nil {
		return nil, lw.unsupported(n, "request-dependent target shape")
	}
	s, err := resolveShape(lw.shapeOf(in[0]), toInts(in[1].c))
	if err != nil {
		return nil, err
	}
	return one(lw.reshapeV(in[0], s))
}

func lowerExpandDims(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
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
}

func lowerSqueeze(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	s := lw.shapeOf(in[0])
	dims := n.Attrs.Ints("squeeze_dims")
	drop := map[int]bool{}
	for _, d := range dims {
		if d < 0 {
			d += int64(len(s))
		}
		drop[int(d)] = true
	}
	ns := tensor.Shape{}
	for i, d := range s {
		if (len(dims) == 0 && d == 1) || drop[i] {
			continue
		}
		ns = append(ns, d)
	}
	return one(lw.reshapeV(in[0], ns))
}

func lowerTranspose(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
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
}
