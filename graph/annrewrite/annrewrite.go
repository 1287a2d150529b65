// Package annrewrite switches TFRS BruteForce retrieval to tfserve's
// quantized index: a TopKV2 over MatMul(queries, candidates, transpose_b)
// whose candidate matrix is a constant (after variables are folded) becomes
// one _ANNTopK node that searches an ann.Index built from the candidates.
// It is opt-in per model (assets.extra/tfserve.json: "bruteforce_to_ann").
package annrewrite

import (
	"fmt"

	"github.com/tfserve/tfserve/ann"
	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// OpANNTopK is the op name of the rewritten search.
const OpANNTopK = "_ANNTopK"

// Options tune the index built over the candidates.
type Options struct {
	// LeavesToSearch overrides the default leaves per query (0 keeps
	// ann.DefaultConfig's choice, at least 1/8 of the leaves).
	LeavesToSearch int
	// Reorder is the number of candidates rescored exactly (default 100).
	Reorder int
}

// Rewrite replaces every matching TopKV2 in g and returns fetches with any
// port that pointed at a replaced node redirected, and the number of
// rewrites.
func Rewrite(g *graph.Graph, fetches []graph.Port, opts Options) ([]graph.Port, int, error) {
	repl := map[graph.Port]graph.Port{}
	count := 0
	for _, t := range g.Nodes {
		if t.Op != "TopKV2" || len(t.Inputs) != 2 {
			continue
		}
		mm := t.Inputs[0].Node
		kNode := t.Inputs[1].Node
		if mm.Op != "MatMul" || len(mm.Inputs) != 2 || mm.Attrs.Bool("transpose_a", false) || !mm.Attrs.Bool("transpose_b", false) {
			continue
		}
		cand, ok := constValue(mm.Inputs[1].Node)
		kt, ok2 := constValue(kNode)
		if !ok || !ok2 || cand.DType != tensor.Float32 || len(cand.Shape) != 2 || t.Inputs[0].Out != 0 || mm.Inputs[1].Out != 0 {
			continue
		}
		k := 0
		switch d := kt.Data.(type) {
		case []int32:
			k = int(d[0])
		case []int64:
			k = int(d[0])
		}
		n, dim := cand.Shape[0], cand.Shape[1]
		if k <= 0 || k > n {
			continue
		}
		cfg := ann.DefaultConfig(ann.DotProduct, n)
		cfg.NumLeavesToSearch = max(cfg.NumLeavesToSearch, cfg.NumLeaves/4, 1)
		if opts.LeavesToSearch > 0 {
			cfg.NumLeavesToSearch = min(opts.LeavesToSearch, cfg.NumLeaves)
		}
		cfg.ReorderingNumNeighbors = max(200, 20*k)
		if opts.Reorder > 0 {
			cfg.ReorderingNumNeighbors = max(opts.Reorder, k)
		}
		ix, err := ann.Build(cand.F32(), n, dim, cfg)
		if err != nil {
			return nil, 0, fmt.Errorf("build ANN index for %s: %w", t.Name, err)
		}
		nn := &graph.Node{Name: t.Name + "/ann", Op: OpANNTopK, NumOutputs: 2, Where: t.Where,
			Attrs:  kernels.Attrs{"index": ix, "k": int64(k), "index_type": t.Attrs.Type("index_type", tensor.Int32)},
			Inputs: []graph.Port{mm.Inputs[0]}, Control: t.Control}
		g.AddNode(nn)
		repl[graph.Port{Node: t, Out: 0}] = graph.Port{Node: nn, Out: 0}
		repl[graph.Port{Node: t, Out: 1}] = graph.Port{Node: nn, Out: 1}
		count++
	}
	if count == 0 {
		return fetches, 0, nil
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if r, ok := repl[in]; ok {
				n.Inputs[i] = r
			}
		}
	}
	out := make([]graph.Port, len(fetches))
	for i, f := range fetches {
		out[i] = f
		if r, ok := repl[f]; ok {
			out[i] = r
		}
	}
	return out, count, nil
}

func constValue(n *graph.Node) (*tensor.Tensor, bool) {
	if n.Op != graph.OpConst {
		return nil, false
	}
	v, ok := n.Attrs["value"].(*tensor.Tensor)
	return v, ok
}

// Registry adds the _ANNTopK kernel to base.
func Registry(base graph.Registry) graph.Registry {
	return func(op string) (kernels.Builder, bool) {
		if op == OpANNTopK {
			return build, true
		}
		return base(op)
	}
}

func build(attrs kernels.Attrs, numInputs int) (kernels.Func, error) {
	ix, ok := attrs["index"].(*ann.Index)
	if !ok || numInputs != 1 {
		return nil, fmt.Errorf("_ANNTopK needs an index and one input")
	}
	k := int(attrs.Int("k", 0))
	idxType := attrs.Type("index_type", tensor.Int32)
	return func(ctx *kernels.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		q := in[0]
		if q.DType != tensor.Float32 || len(q.Shape) != 2 || q.Shape[1] != ix.Dim() {
			return nil, kernels.Errorf("ANN top-k: queries must be float32 [batch, %d], got %v", ix.Dim(), q)
		}
		b := q.Shape[0]
		if b == 0 {
			return []*tensor.Tensor{tensor.New(tensor.Float32, tensor.Shape{0, k}), tensor.New(idxType, tensor.Shape{0, k})}, nil
		}
		ids, scores, err := ix.SearchBatched(q.F32(), k, ann.SearchOptions{})
		if err != nil {
			return nil, kernels.Errorf("ANN top-k: %v", err)
		}
		vals := tensor.FromSlice(tensor.Shape{b, k}, scores)
		var idx *tensor.Tensor
		if idxType == tensor.Int64 {
			d := make([]int64, len(ids))
			for i, v := range ids {
				d[i] = int64(v)
			}
			idx = tensor.FromSlice(tensor.Shape{b, k}, d)
		} else {
			idx = tensor.FromSlice(tensor.Shape{b, k}, ids)
		}
		return []*tensor.Tensor{vals, idx}, nil
	}, nil
}
