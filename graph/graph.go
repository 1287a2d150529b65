// Package graph is tfserve's intermediate representation of a model and the
// engine that runs it.
//
// A Graph is a list of Nodes; each Node names a TensorFlow op, its decoded
// attributes and the node outputs it consumes. Functions (TF's function
// library) are Graphs with numbered arguments and results; control flow
// (While, If, Case) and calls refer to them by name through a Library.
//
// Compile turns a Graph into an immutable Plan: nodes pruned to what the
// requested outputs need, topologically ordered, with every kernel built once.
// A Plan is safe for concurrent use; each Run keeps its values in buffers of
// its own.
package graph

import (
	"fmt"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// Port names one output of a node.
type Port struct {
	Node *Node
	Out  int
}

// String prints the port as TF does, "name:1".
func (p Port) String() string {
	if p.Node == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s:%d", p.Node.Name, p.Out)
}

// Node is one operation.
type Node struct {
	Name  string
	Op    string
	Attrs kernels.Attrs
	// Inputs are the data inputs, in op order.
	Inputs []Port
	// Control lists nodes that must run before this one.
	Control []*Node
	// NumOutputs is the number of data outputs.
	NumOutputs int
	// Where says where the node came from (function name), for errors.
	Where string
}

// Graph is a set of nodes. For a function body, Args are the argument
// nodes (op "_Arg", in order), Rets the results and ControlRets the nodes
// that must run even though no result depends on them.
type Graph struct {
	Name        string
	Nodes       []*Node
	Args        []*Node
	Rets        []Port
	ControlRets []*Node
	// ArgTypes and RetTypes are the declared dtypes of a function's
	// arguments and results (may be empty for top-level graphs).
	ArgTypes []tensor.DType
	RetTypes []tensor.DType
	// Attrs are a function's own attributes (e.g. api_implements).
	Attrs kernels.Attrs
}

// AddNode appends a node and returns it.
func (g *Graph) AddNode(n *Node) *Node {
	g.Nodes = append(g.Nodes, n)
	return n
}

// NodeByName finds a node by name, or nil.
func (g *Graph) NodeByName(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Library holds the functions that call and control-flow nodes refer to.
type Library map[string]*Graph

// UniqueName returns name, or name_k for the first k = 1, 2, … that lib
// does not hold: a name for a function a rewrite adds.
func (lib Library) UniqueName(name string) string {
	out := name
	for k := 1; ; k++ {
		if _, taken := lib[out]; !taken {
			return out
		}
		out = fmt.Sprintf("%s_%d", name, k)
	}
}

// SanitizeName keeps [A-Za-z0-9_] of s; other bytes become '_' (node
// names made part of a function name).
func SanitizeName(s string) string {
	b := []byte(s)
	for i, r := range b {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// Ops used by the executor itself rather than by a kernel.
const (
	OpArg         = "_Arg"
	OpConst       = "Const"
	OpPlaceholder = "Placeholder"
	OpNoOp        = "NoOp"
)

// funcAttrs lists, per control-flow or call op, the attributes that name
// functions.
var funcAttrs = map[string][]string{
	"PartitionedCall":         {"f"},
	"StatefulPartitionedCall": {"f"},
	"While":                   {"cond", "body"},
	"StatelessWhile":          {"cond", "body"},
	"If":                      {"then_branch", "else_branch"},
	"StatelessIf":             {"then_branch", "else_branch"},
	"Case":                    {"branches"},
	"StatelessCase":           {"branches"},
}

// CalledFunctions returns the names of the library functions a node calls.
func (n *Node) CalledFunctions(lib Library) []string {
	if _, ok := lib[n.Op]; ok {
		return []string{n.Op}
	}
	var out []string
	for _, a := range funcAttrs[n.Op] {
		switch v := n.Attrs[a].(type) {
		case kernels.FuncRef:
			out = append(out, v.Name)
		case []kernels.FuncRef:
			for _, f := range v {
				out = append(out, f.Name)
			}
		}
	}
	return out
}
