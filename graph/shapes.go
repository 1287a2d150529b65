package graph

import (
	"github.com/tfserve/tfserve/tensor"
)

// Static shapes: -1 marks an unknown dimension (typically the batch), a nil
// Shape an unknown rank.

var unaryShapeOps = map[string]bool{
	"Identity": true, "Snapshot": true, "StopGradient": true, "Relu": true, "Relu6": true, "Elu": true,
	"Selu": true, "Sigmoid": true, "Tanh": true, "Neg": true, "Abs": true, "Exp": true, "Log": true,
	"Sqrt": true, "Rsqrt": true, "Square": true, "Softmax": true, "LogSoftmax": true, "Cast": true,
	"Softplus": true, "Softsign": true, "LeakyRelu": true, "Floor": true, "Ceil": true, "Round": true,
	"BiasAdd": true, "ZerosLike": true, "OnesLike": true, "IsNan": true, "LogicalNot": true,
	"Erf": true, "Reciprocal": true, "Sign": true, "ClipByValue": true, "CheckNumerics": true,
	"PlaceholderWithDefault": true, "EnsureShape": true,
}

var binaryShapeOps = map[string]bool{
	"Add": true, "AddV2": true, "Sub": true, "Mul": true, "RealDiv": true, "Div": true, "Maximum": true,
	"Minimum": true, "Pow": true, "SquaredDifference": true, "FloorDiv": true, "FloorMod": true,
	"Equal": true, "NotEqual": true, "Less": true, "LessEqual": true, "Greater": true, "GreaterEqual": true,
	"LogicalAnd": true, "LogicalOr": true, "DivNoNan": true, "MulNoNan": true,
}

// broadcastStatic broadcasts two static shapes (nil if unknown or
// incompatible).
func broadcastStatic(a, b tensor.Shape) tensor.Shape {
	if a == nil || b == nil {
		return nil
	}
	out, _ := tensor.Broadcast(a, b)
	return out
}

func constInts(p Port) ([]int, bool) {
	if p.Node.Op != OpConst {
		return nil, false
	}
	v, ok := p.Node.Attrs["value"].(*tensor.Tensor)
	if !ok {
		return nil, false
	}
	switch d := v.Data.(type) {
	case []int32:
		out := make([]int, len(d))
		for i, x := range d {
			out[i] = int(x)
		}
		return out, true
	case []int64:
		out := make([]int, len(d))
		for i, x := range d {
			out[i] = int(x)
		}
		return out, true
	}
	return nil, false
}

// InferShapes propagates static shapes through g, starting from the shapes
// given for some ports (the feeds), and returns the shape of every data
// output it could determine. Functions and control flow are not entered.
func InferShapes(g *Graph, known map[Port]tensor.Shape) map[Port]tensor.Shape {
	shapes := map[Port]tensor.Shape{}
	for p, s := range known {
		shapes[p] = s
	}
	order, err := topoSort(g, allNodes(g), nil)
	if err != nil {
		return shapes
	}
	in := func(n *Node, i int) tensor.Shape {
		if i >= len(n.Inputs) {
			return nil
		}
		return shapes[n.Inputs[i]]
	}
	for _, n := range order {
		if _, ok := shapes[Port{n, 0}]; ok {
			continue
		}
		var out tensor.Shape
		switch {
		case n.Op == OpConst:
			if v, ok := n.Attrs["value"].(*tensor.Tensor); ok {
				out = v.Shape
			}
		case n.Op == OpPlaceholder:
			if s, ok := n.Attrs["shape"].(tensor.Shape); ok {
				out = s
			}
		case unaryShapeOps[n.Op]:
			out = in(n, 0)
		case binaryShapeOps[n.Op]:
			out = broadcastStatic(in(n, 0), in(n, 1))
		case n.Op == "MatMul":
			a, b := in(n, 0), in(n, 1)
			if len(a) == 2 && len(b) == 2 {
				r, c := a[0], b[1]
				if n.Attrs.Bool("transpose_a", false) {
					r = a[1]
				}
				if n.Attrs.Bool("transpose_b", false) {
					c = b[0]
				}
				out = tensor.Shape{r, c}
			}
		case n.Op == "Reshape":
			dims, ok := constInts(n.Inputs[1])
			if ok {
				out = make(tensor.Shape, len(dims))
				copy(out, dims)
				src := in(n, 0)
				if total := src.NumElements(); src != nil && total >= 0 {
					known, unknownAt := 1, -1
					for i, d := range dims {
						if d == -1 {
							unknownAt = i
						} else {
							known *= d
						}
					}
					if unknownAt >= 0 && known > 0 {
						out[unknownAt] = total / known
					}
				}
			}
		case n.Op == "ExpandDims":
			src := in(n, 0)
			if ax, ok := constInts(n.Inputs[1]); ok && src != nil && len(ax) == 1 {
				a := ax[0]
				if a < 0 {
					a += len(src) + 1
				}
				if a >= 0 && a <= len(src) {
					out = append(append(append(tensor.Shape{}, src[:a]...), 1), src[a:]...)
				}
			}
		case n.Op == "ConcatV2":
			k := len(n.Inputs) - 1
			ax, ok := constInts(n.Inputs[k])
			first := in(n, 0)
			if ok && len(ax) == 1 && first != nil {
				a := ax[0]
				if a < 0 {
					a += len(first)
				}
				out = first.Clone()
				for i := 1; i < k && out != nil; i++ {
					s := in(n, i)
					if len(s) != len(out) || a < 0 || a >= len(out) {
						out = nil
						break
					}
					if out[a] >= 0 && s[a] >= 0 {
						out[a] += s[a]
					} else {
						out[a] = -1
					}
				}
			}
		case n.Op == "_FusedGRU" || n.Op == "_FusedLSTM":
			x, rk := in(n, 0), in(n, 2)
			if n.Op == "_FusedLSTM" {
				rk = in(n, 3)
			}
			if len(x) == 3 && len(rk) == 2 {
				b, t := x[0], x[1]
				if n.Attrs.Bool("time_major", false) {
					b, t = t, b
				}
				if !n.Attrs.Bool("return_all", true) {
					t = 1
				}
				u := rk[0]
				shapes[Port{n, 0}] = tensor.Shape{b, u}
				seq := tensor.Shape{b, t, u}
				if n.Attrs.Bool("time_major", false) {
					seq = tensor.Shape{t, b, u}
				}
				shapes[Port{n, 1}] = seq
				for i := 2; i < n.NumOutputs; i++ {
					shapes[Port{n, i}] = tensor.Shape{b, u}
				}
			}
			continue
		}
		if out != nil && n.NumOutputs > 0 {
			shapes[Port{n, 0}] = out
		}
	}
	return shapes
}
