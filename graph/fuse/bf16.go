package fuse

import (
	"fmt"
	"maps"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/kernels/bf16"
	"github.com/tfserve/tfserve/tensor"
)

// Options change how the fused kernels are built.
type Options struct {
	// BF16 stores the fused GRU and LSTM kernels in bfloat16 (a model's
	// assets.extra/tfserve.json "precision": "bf16"; see kernels/bf16).
	// Pair it with BF16MatMuls for the model's Dense layers.
	BF16 bool
}

// BF16MatMuls gives every float32 MatMul of g whose right operand is a
// constant (a Dense layer's kernel once variables are folded) and whose
// left one is not transposed that constant packed in bfloat16
// (kernels.AttrBF16Weights): the MatMul kernel then multiplies in bf16. It
// returns the number of MatMuls changed. charge, when non-nil, is asked
// for each packed matrix's bytes before it is allocated; a MatMul it
// refuses stays float32. Run it after constant folding; the nodes'
// attribute maps are copied, never changed in place (Inline shares them
// with the library).
func BF16MatMuls(g *graph.Graph, charge func(bytes int64) bool) (int, error) {
	count := 0
	for _, n := range g.Nodes {
		if n.Op != "MatMul" || len(n.Inputs) != 2 || n.Inputs[1].Out != 0 || n.Attrs.Bool("transpose_a", false) {
			continue
		}
		if _, done := n.Attrs[kernels.AttrBF16Weights]; done {
			continue
		}
		c := n.Inputs[1].Node
		if c.Op != graph.OpConst {
			continue
		}
		w, ok := c.Attrs["value"].(*tensor.Tensor)
		if !ok || w.DType != tensor.Float32 || len(w.Shape) != 2 {
			continue
		}
		tb := n.Attrs.Bool("transpose_b", false)
		k, cols := w.Shape[0], w.Shape[1]
		if tb {
			k, cols = cols, k
		}
		ldb := w.Shape[1]
		if charge != nil && !charge(bf16.PackedBytes(k, cols)) {
			continue
		}
		pb, err := bf16.Pack(tb, k, cols, w.F32(), ldb)
		if err != nil {
			return count, fmt.Errorf("bf16 weights of %s: %w", n.Name, err)
		}
		n.Attrs = maps.Clone(n.Attrs)
		if n.Attrs == nil {
			n.Attrs = kernels.Attrs{}
		}
		n.Attrs[kernels.AttrBF16Weights] = pb
		count++
	}
	return count, nil
}
