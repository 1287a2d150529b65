package gorgonia

import (
	"fmt"

	"github.com/tfserve/tfserve/graph"
)

// sliceOps lowers the ops that cut values apart or join them, as slices
// and concatenations of gorgonia nodes; their axes, sizes and bounds must
// be constants.
func sliceOps() map[string]lowerFunc {
	return map[string]lowerFunc{
		"ConcatV2": lowerConcat,
		"Pack":     lowerPack,
		"Unpack":   lowerUnpack,
		"Split":    lowerSplit,
		"SplitV":   lowerSplitV,
		"Slice":    lowerSlice,
		"Tile":     lowerTile,
		"StridedSlice": func(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
			return one(lw.stridedSlice(n, in))
		},
	}
}

func lowerConcat(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	ax := in[len(in)-1]
	if ax.c == nil {
		return nil, lw.unsupported(n, "request-dependent axis")
	}
	return one(lw.concat(in[:len(in)-1], int(toInts(ax.c)[0])))
}

func lowerPack(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	s := lw.shapeOf(in[0])
	ax := int(n.Attrs.Int("axis", 0))
	if ax < 0 {
		ax += len(s) + 1
	}
	ns := append(append(s[:ax:ax].Clone(), 1), s[ax:]...)
	parts := make([]*value, len(in))
	for i, v := range in {
		var err error
		if parts[i], err = lw.reshapeV(v, ns); err != nil {
			return nil, err
		}
	}
	return one(lw.concat(parts, ax))
}

func lowerUnpack(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	s := lw.shapeOf(in[0])
	ax := int(n.Attrs.Int("axis", 0))
	if ax < 0 {
		ax += len(s)
	}
	rest := append(s[:ax:ax].Clone(), s[ax+1:]...)
	var outs []*value
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
}

func lowerSplit(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
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
	var outs []*value
	for i := 0; i < k; i++ {
		v, err := lw.sliceV(in[1], ax, i*w, (i+1)*w)
		if err != nil {
			return nil, err
		}
		outs = append(outs, v)
	}
	return outs, nil
}

func lowerSplitV(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
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
	var outs []*value
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
}

func lowerSlice(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
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
		var err error
		if v, err = lw.sliceV(v, ax, b, b+z); err != nil {
			return nil, err
		}
	}
	return []*value{v}, nil
}

func lowerTile(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
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
		var err error
		if v, err = lw.concat(parts, ax); err != nil {
			return nil, err
		}
	}
	return []*value{v}, nil
}
