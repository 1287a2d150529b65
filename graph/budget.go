package graph

import (
	"fmt"
	"math"
)

// MaxCallDepth bounds how deeply function calls (and control-flow bodies)
// may nest. Inlining, compiling and running a call recurse once per level,
// so a model file cannot make them recurse without bound.
const MaxCallDepth = 64

// NodeLimitError reports a graph that would have more nodes, once every
// function call is expanded, than a budget allows.
type NodeLimitError struct {
	// Nodes is how many nodes the expansion needs (saturated at
	// math.MaxInt64); Limit is the budget.
	Nodes, Limit int64
}

func (e *NodeLimitError) Error() string {
	return fmt.Sprintf("graph needs %d nodes with its functions expanded, over the limit of %d", e.Nodes, e.Limit)
}

// Expansion is the size of a graph with every function it reaches expanded
// in place of its calls, once per call site.
type Expansion struct {
	// Nodes counts the graph's nodes plus, for every node that calls a
	// function or runs a control-flow body, the expansion of that
	// function: what Inline would create if it inlined everything, and
	// what one pass through every body costs at run time.
	Nodes int64
	// Depth is the deepest chain of nested calls (0: no calls).
	Depth int
}

// Expand measures g's expansion over lib without building it, in time and
// memory linear in the size of g and lib. It refuses recursive functions,
// calls nested deeper than MaxCallDepth, and (when maxNodes > 0) an
// expansion over maxNodes nodes, with a *NodeLimitError. It does not
// recurse on the depth of calls.
func Expand(g *Graph, lib Library, maxNodes int64) (Expansion, error) {
	type frame struct {
		name  string
		calls []string // functions the body calls, one per call site
		next  int      // index in calls of the next callee to visit
	}
	const (
		unvisited = iota
		inProgress
		done
	)
	state := map[string]int{}
	size := map[string]int64{}
	depth := map[string]int{}
	calls := func(fg *Graph) []string {
		var out []string
		for _, n := range fg.Nodes {
			out = append(out, n.CalledFunctions(lib)...)
		}
		return out
	}
	// finish sums a frame whose callees are all measured.
	finish := func(nodes int, cs []string) (int64, int) {
		total, d := int64(nodes), 0
		for _, c := range cs {
			total = addSat(total, size[c])
			d = max(d, depth[c]+1)
		}
		return total, d
	}
	stack := []*frame{{name: "", calls: calls(g)}}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if top.next < len(top.calls) {
			callee := top.calls[top.next]
			top.next++
			switch state[callee] {
			case done:
				continue
			case inProgress:
				return Expansion{}, fmt.Errorf("function %s calls itself (recursion is not supported)", callee)
			}
			fg, ok := lib[callee]
			if !ok {
				continue // reported when the graph is compiled
			}
			if len(stack) > MaxCallDepth {
				return Expansion{}, fmt.Errorf("function calls nest more than %d deep (at %s)", MaxCallDepth, callee)
			}
			state[callee] = inProgress
			stack = append(stack, &frame{name: callee, calls: calls(fg)})
			continue
		}
		stack = stack[:len(stack)-1]
		if top.name == "" {
			n, d := finish(len(g.Nodes), top.calls)
			if maxNodes > 0 && n > maxNodes {
				return Expansion{}, &NodeLimitError{Nodes: n, Limit: maxNodes}
			}
			return Expansion{Nodes: n, Depth: d}, nil
		}
		n, d := finish(len(lib[top.name].Nodes), top.calls)
		size[top.name], depth[top.name], state[top.name] = n, d, done
	}
	return Expansion{}, nil // unreachable: the root frame returns
}

// addSat adds two non-negative counts, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
