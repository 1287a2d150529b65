package loader

import (
	"errors"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/servable/limits"
)

// constBudget counts the bytes of one model's stored tensors (constants of
// the graph and its functions, restored variables, tensors made by constant
// folding) against limits.Load.MaxConstBytes. A load runs on one goroutine,
// so it needs no lock.
type constBudget struct {
	limit, used int64
	// folded and biggestFold count what constant folding allocated.
	folded, biggestFold int64
}

func newConstBudget(l limits.Load) *constBudget {
	return &constBudget{limit: l.WithDefaults().MaxConstBytes}
}

// take charges one tensor before it is allocated (a tensorproto.Take).
func (b *constBudget) take(elements, bytes int64) error {
	if elements < 0 || bytes < 0 {
		return limits.Exceeded("model constant's size", -1, b.limit, "model_max_const_bytes")
	}
	if bytes > b.limit-b.used {
		return limits.Exceeded("model constants and variables (decoded bytes)", b.used+bytes, b.limit, "model_max_const_bytes")
	}
	b.used += bytes
	return nil
}

// charge is take for constant folding: over budget, the fold is skipped.
func (b *constBudget) charge(bytes int64) bool {
	if b.take(0, bytes) != nil {
		return false
	}
	b.folded += bytes
	b.biggestFold = max(b.biggestFold, bytes)
	return true
}

// LoadStats says how much of its load budget (limits.Load) a model used.
type LoadStats struct {
	// Nodes is the graph's size with every function call expanded
	// (against MaxNodes).
	Nodes int64
	// ConstBytes counts the decoded bytes of constants, restored
	// variables and folded tensors (against MaxConstBytes).
	ConstBytes int64
	// FoldedBytes is what constant folding allocated, of which
	// BiggestFold by one node (against MaxFoldBytes).
	FoldedBytes, BiggestFold int64
}

// LoadStats returns the model's use of its load budget.
func (m *Model) LoadStats() LoadStats {
	st := LoadStats{Nodes: m.im.Expansion.Nodes}
	if b := m.im.budget; b != nil {
		st.ConstBytes, st.FoldedBytes, st.BiggestFold = b.used, b.folded, b.biggestFold
	}
	return st
}

// checkExpansion fails a model whose graph, with every function call
// expanded, would have more nodes than l allows, or whose calls recurse or
// nest too deeply. It runs before anything is compiled or inlined, and also
// guards models served without optimization, whose calls expand at run
// time.
func checkExpansion(im *Imported, l limits.Load) (graph.Expansion, error) {
	max := int64(l.WithDefaults().MaxNodes)
	ex, err := graph.Expand(im.Graph, im.Library, max)
	return ex, nodeLimitError(err)
}

// nodeLimitError turns graph's node budget error into the limit error
// naming the flag; other errors pass through.
func nodeLimitError(err error) error {
	var nl *graph.NodeLimitError
	if errors.As(err, &nl) {
		return limits.Exceeded("model graph with its functions inlined (nodes)", nl.Nodes, nl.Limit, "model_max_nodes")
	}
	return err
}
