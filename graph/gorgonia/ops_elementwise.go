package gorgonia

import (
	G "gorgonia.org/gorgonia"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/tensor"
)

// elementwiseOps lowers the arithmetic, comparison, activation and cast
// ops, broadcasting as NumPy does (lowerer.binary).
func elementwiseOps() map[string]lowerFunc {
	m := map[string]lowerFunc{
		"Add": binaryOp(binAdd), "AddV2": binaryOp(binAdd), "Sub": binaryOp(binSub), "Mul": binaryOp(binMul),
		"RealDiv": binaryOp(binDiv), "NotEqual": binaryOp(binNe), "Equal": binaryOp(binEq),
		"Greater": binaryOp(binGt), "GreaterEqual": binaryOp(binGte), "Less": binaryOp(binLt),
		"LessEqual": binaryOp(binLte), "LogicalAnd": binaryOp(binMul),
		"Relu": unaryOp(G.Rectify), "Sigmoid": unaryOp(G.Sigmoid), "Tanh": unaryOp(G.Tanh),
		"Exp": unaryOp(G.Exp), "Log": unaryOp(G.Log), "Neg": unaryOp(G.Neg), "Square": unaryOp(G.Square),
		"Sqrt": unaryOp(G.Sqrt), "Rsqrt": unaryOp(G.InverseSqrt), "Abs": unaryOp(G.Abs), "Softplus": unaryOp(G.Softplus),
		"Softmax":           unaryOp(func(x *G.Node) (*G.Node, error) { return G.SoftMax(x) }),
		"Div":               lowerDiv,
		"AddN":              lowerAddN,
		"SquaredDifference": lowerSquaredDifference,
		"Maximum":           lowerMaxMin(binGte),
		"Minimum":           lowerMaxMin(binLte),
		"LogicalNot":        lowerLogicalNot,
		"Select":            lowerSelect,
		"SelectV2":          lowerSelect,
		"BiasAdd":           lowerBiasAdd,
		"Cast":              lowerCast,
	}
	return m
}

// binaryOp lowers a two-input elementwise op.
func binaryOp(k binKind) lowerFunc {
	return func(lw *lowerer, _ *graph.Node, in []*value) ([]*value, error) {
		return one(lw.binary(k, in[0], in[1]))
	}
}

// unaryOp lowers a one-input elementwise op whose output keeps the input's
// dtype and shape.
func unaryOp(f func(*G.Node) (*G.Node, error)) lowerFunc {
	return func(lw *lowerer, _ *graph.Node, in []*value) ([]*value, error) {
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
}

func lowerDiv(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	if !isFloat(lw.dtypeOf(in[0])) {
		return nil, lw.unsupported(n, "integer division")
	}
	return one(lw.binary(binDiv, in[0], in[1]))
}

func lowerAddN(lw *lowerer, _ *graph.Node, in []*value) ([]*value, error) {
	acc := in[0]
	for _, v := range in[1:] {
		var err error
		if acc, err = lw.binary(binAdd, acc, v); err != nil {
			return nil, err
		}
	}
	return []*value{acc}, nil
}

func lowerSquaredDifference(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	d, err := lw.binary(binSub, in[0], in[1])
	if err != nil {
		return nil, err
	}
	return unaryOp(G.Square)(lw, n, []*value{d})
}

// lowerMaxMin selects elementwise between the inputs by a comparison
// mask: Maximum takes x where x >= y, Minimum where x <= y.
func lowerMaxMin(k binKind) lowerFunc {
	return func(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
		mask, err := lw.binary(k, in[0], in[1])
		if err != nil {
			return nil, err
		}
		return one(lw.sel(n, mask, in[0], in[1]))
	}
}

func lowerLogicalNot(lw *lowerer, _ *graph.Node, in []*value) ([]*value, error) {
	oneC := &value{c: tensor.FromSlice(tensor.Shape{}, []float32{1})}
	r, err := lw.binary(binSub, oneC, in[0])
	if r != nil {
		r.dt = tensor.Bool
	}
	return one(r, err)
}

func lowerSelect(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	return one(lw.sel(n, in[0], in[1], in[2]))
}

func lowerBiasAdd(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	if f := n.Attrs.String("data_format", "NHWC"); f != "NHWC" {
		return nil, lw.unsupported(n, "data_format %s", f)
	}
	return one(lw.binary(binAdd, in[0], in[1]))
}

// lowerCast relabels bool→float32 and same-type casts; a float32→int cast
// stays float, and only a gather may consume it (see gather); the others
// are kernel nodes.
func lowerCast(lw *lowerer, n *graph.Node, in []*value) ([]*value, error) {
	src, dst := lw.dtypeOf(in[0]), n.Attrs.Type("DstT", tensor.Invalid)
	if src == dst || (src == tensor.Bool && dst == tensor.Float32) {
		v := *in[0]
		v.dt = dst
		return []*value{&v}, nil
	}
	if src == tensor.Float32 && (dst == tensor.Int32 || dst == tensor.Int64) {
		v := *in[0]
		v.dt, v.floatInt = dst, true
		return []*value{&v}, nil
	}
	// Other casts (between integer types, integers to floats) run
	// tfserve's Cast kernel as a node of the graph.
	return lw.kernelNode(n, in)
}
