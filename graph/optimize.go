package graph

import (
	"context"
	"fmt"
	"math"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// callOps are the ops Inline expands.
func isCall(n *Node, lib Library) (string, bool) {
	if _, ok := lib[n.Op]; ok {
		return n.Op, true
	}
	if n.Op == "PartitionedCall" || n.Op == "StatefulPartitionedCall" {
		if f, ok := n.Attrs["f"].(kernels.FuncRef); ok {
			if _, ok := lib[f.Name]; ok {
				return f.Name, true
			}
		}
	}
	return "", false
}

// Inline returns a copy of g in which every call to a library function
// (PartitionedCall, StatefulPartitionedCall or a direct call) is replaced by
// the function's body, recursively, and the ports of g given in ports
// mapped to the copy. Control-flow bodies (While, If, Case) stay functions.
// g is not modified. Resource-creating nodes are shared, not copied, so the
// copy sees the session's existing variables and tables. When maxNodes > 0,
// Inline stops with a *NodeLimitError as soon as the copy would pass
// maxNodes nodes; calls nest at most MaxCallDepth deep.
func Inline(g *Graph, lib Library, ports []Port, maxNodes int) (*Graph, []Port, error) {
	out := &Graph{Name: g.Name, Attrs: g.Attrs}
	added := map[*Node]bool{}
	add := func(n *Node) {
		if !added[n] {
			added[n] = true
			out.Nodes = append(out.Nodes, n)
		}
	}
	type result struct {
		rets    []Port
		effects []*Node
	}
	var emit func(src *Graph, prefix string, args []Port, ctlIn []*Node, depth int) (map[*Node]*Node, map[*Node]*result, error)
	emit = func(src *Graph, prefix string, args []Port, ctlIn []*Node, depth int) (map[*Node]*Node, map[*Node]*result, error) {
		if depth > MaxCallDepth {
			return nil, nil, fmt.Errorf("inline: calls nested over %d deep in %s", MaxCallDepth, src.Name)
		}
		order, err := topoSort(src, allNodes(src), nil)
		if err != nil {
			return nil, nil, fmt.Errorf("inline %s: %w", src.Name, err)
		}
		argIdx := map[*Node]int{}
		for i, a := range src.Args {
			argIdx[a] = i
		}
		copies := map[*Node]*Node{}
		calls := map[*Node]*result{}
		port := func(p Port) (Port, error) {
			if i, ok := argIdx[p.Node]; ok {
				if i >= len(args) {
					return Port{}, fmt.Errorf("inline %s: argument %d not supplied", src.Name, i)
				}
				return args[i], nil
			}
			if r, ok := calls[p.Node]; ok {
				if p.Out >= len(r.rets) {
					return Port{}, fmt.Errorf("inline %s: call %s has no output %d", src.Name, p.Node.Name, p.Out)
				}
				return r.rets[p.Out], nil
			}
			c, ok := copies[p.Node]
			if !ok {
				return Port{}, fmt.Errorf("inline %s: node %s used before it is defined", src.Name, p.Node.Name)
			}
			return Port{Node: c, Out: p.Out}, nil
		}
		ctl := func(ns []*Node) []*Node {
			var o []*Node
			for _, c := range ns {
				if _, isArg := argIdx[c]; isArg {
					continue
				}
				if r, ok := calls[c]; ok {
					o = append(o, r.effects...)
				} else if cp, ok := copies[c]; ok {
					o = append(o, cp)
				}
			}
			return o
		}
		for _, n := range order {
			if _, isArg := argIdx[n]; isArg {
				continue
			}
			ins := make([]Port, len(n.Inputs))
			for i, in := range n.Inputs {
				p, err := port(in)
				if err != nil {
					return nil, nil, err
				}
				ins[i] = p
			}
			cs := ctl(n.Control)
			if len(n.Inputs) == 0 && len(n.Control) == 0 {
				cs = append(cs, ctlIn...)
			}
			if fname, ok := isCall(n, lib); ok {
				fg := lib[fname]
				if len(fg.Args) != len(ins) || len(fg.Rets) != n.NumOutputs {
					return nil, nil, fmt.Errorf("inline: %s calls %s with %d inputs and %d outputs; it takes %d and returns %d",
						n.Name, fname, len(ins), n.NumOutputs, len(fg.Args), len(fg.Rets))
				}
				sub, subCalls, err := emit(fg, prefix+n.Name+"/", ins, cs, depth+1)
				if err != nil {
					return nil, nil, err
				}
				r := &result{}
				subPort := func(p Port) Port {
					for i, a := range fg.Args {
						if a == p.Node {
							return ins[i]
						}
					}
					if sr, ok := subCalls[p.Node]; ok {
						return sr.rets[p.Out]
					}
					return Port{Node: sub[p.Node], Out: p.Out}
				}
				for _, rp := range fg.Rets {
					r.rets = append(r.rets, subPort(rp))
				}
				for _, cr := range fg.ControlRets {
					if sr, ok := subCalls[cr]; ok {
						r.effects = append(r.effects, sr.effects...)
					} else if c := sub[cr]; c != nil {
						r.effects = append(r.effects, c)
					}
				}
				for _, rp := range r.rets {
					r.effects = append(r.effects, rp.Node)
				}
				if len(r.effects) == 0 {
					r.effects = cs
				}
				calls[n] = r
				continue
			}
			if IsResourceOp(n.Op) {
				copies[n] = n
				add(n)
				continue
			}
			if maxNodes > 0 && len(out.Nodes) >= maxNodes {
				return nil, nil, &NodeLimitError{Nodes: int64(len(out.Nodes)) + 1, Limit: int64(maxNodes)}
			}
			c := &Node{Name: prefix + n.Name, Op: n.Op, Attrs: n.Attrs, NumOutputs: n.NumOutputs, Where: n.Where, Inputs: ins, Control: cs}
			copies[n] = c
			add(c)
		}
		return copies, calls, nil
	}
	copies, calls, err := emit(g, "", nil, nil, 0)
	if err != nil {
		return nil, nil, err
	}
	mapped := make([]Port, len(ports))
	for i, p := range ports {
		if r, ok := calls[p.Node]; ok {
			mapped[i] = r.rets[p.Out]
		} else if c, ok := copies[p.Node]; ok {
			mapped[i] = Port{Node: c, Out: p.Out}
		} else {
			return nil, nil, fmt.Errorf("inline: port %v is not in the graph", p)
		}
	}
	return out, mapped, nil
}

// statefulOps must run on every request and are never folded.
var statefulOps = map[string]bool{
	"Assign": true, "AssignAdd": true, "AssignSub": true, "AssignVariableOp": true,
	"AssignAddVariableOp": true, "AssignSubVariableOp": true, "RandomUniform": true,
	"RandomStandardNormal": true, "TruncatedNormal": true, "RandomUniformInt": true,
	"LookupTableImportV2": true, "InitializeTableV2": true, "InitializeTableFromTextFileV2": true,
	"LookupTableInsertV2": true, "Placeholder": true, "PlaceholderWithDefault": true, OpArg: true,
	"ReadFile": true, "Print": true, "PrintV2": true, "NoOp": true,
	// A TensorArray is a mutable resource: folded, one array would be
	// shared by every request (v1 loops whose arrays were not rewritten
	// to TensorLists keep these ops).
	"TensorArrayV3": true, "TensorArrayWriteV3": true, "TensorArrayScatterV3": true, "TensorArraySplitV3": true,
}

// FoldOptions configure FoldConstants.
type FoldOptions struct {
	// KeepVariables keeps variable reads live (the model assigns variables
	// while serving) instead of folding them into values.
	KeepVariables bool
	// MaxBytes bounds one tensor made by folding (0: no bound). A node
	// whose kernel asks for a larger tensor is left to run at request
	// time, as Grappler leaves constants over 10 MiB; the tensor is
	// refused before it is allocated. Outputs that alias an input (a
	// Reshape or Identity of a variable) allocate nothing and still fold.
	MaxBytes int64
	// Charge, when non-nil, is asked for the bytes each folded node's
	// kernel allocated before its outputs are kept; false leaves the node
	// to run time (a budget for all folded constants together).
	Charge func(bytes int64) bool
}

// FoldConstants evaluates, once, every node that the fetches need and that
// does not depend on a fed node or on state that requests can change, and
// replaces it with a Const. Unless opts.KeepVariables is set, resource
// creators whose resource the session already holds become constants too,
// so variable reads fold into values. It returns the number of nodes
// folded. Control-flow bodies are not folded. A kernel that fails or panics
// while folding is left to run (and fail, or not) at request time.
func (s *Session) FoldConstants(ctx context.Context, g *Graph, feeds, fetches []Port, opts FoldOptions) ([]Port, int, error) {
	keepVariables := opts.KeepVariables
	fed := map[*Node]bool{}
	for _, f := range feeds {
		fed[f.Node] = true
	}
	needed := map[*Node]bool{}
	var stack []*Node
	for _, f := range fetches {
		stack = append(stack, f.Node)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if needed[n] {
			continue
		}
		needed[n] = true
		if fed[n] {
			continue
		}
		for _, in := range n.Inputs {
			stack = append(stack, in.Node)
		}
		stack = append(stack, n.Control...)
	}
	constVal := map[Port]*tensor.Tensor{}
	folded := 0
	order, err := topoSort(g, allNodes(g), nil)
	if err != nil {
		return nil, 0, err
	}
	alloc := &foldAllocator{max: opts.MaxBytes}
	kctx := &kernels.Context{Alloc: alloc.alloc}
	for _, n := range order {
		if !needed[n] || fed[n] || statefulOps[n.Op] || len(n.CalledFunctions(s.lib)) > 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if n.Op == OpConst {
			if v, ok := n.Attrs["value"].(*tensor.Tensor); ok {
				constVal[Port{n, 0}] = v
			}
			continue
		}
		if IsResourceOp(n.Op) {
			if t, ok := s.Resource(n); ok && !keepVariables {
				constVal[Port{n, 0}] = t
			}
			continue
		}
		if len(n.Inputs) == 0 || n.NumOutputs == 0 {
			continue
		}
		ins := make([]*tensor.Tensor, len(n.Inputs))
		ok := true
		for i, in := range n.Inputs {
			v, isConst := constVal[in]
			if !isConst {
				ok = false
				break
			}
			ins[i] = v
		}
		if !ok {
			continue
		}
		if opts.MaxBytes > 0 && foldOutputBytes(n, ins) > opts.MaxBytes {
			continue // too big to keep as a constant: computed at run time
		}
		b, found := s.reg(n.Op)
		if !found {
			continue
		}
		fn, err := b(n.Attrs, len(n.Inputs))
		if err != nil {
			continue
		}
		outs, ok := foldNode(fn, kctx, alloc, ins, n.NumOutputs, opts)
		if !ok {
			continue // leave it to run (and fail, or not) at run time
		}
		for i := 0; i < n.NumOutputs; i++ {
			constVal[Port{n, i}] = outs[i]
		}
		folded++
	}
	if folded == 0 {
		return fetches, 0, nil
	}
	// Replace uses of folded outputs by Const nodes.
	consts := map[Port]*Node{}
	constFor := func(p Port) *Node {
		if c, ok := consts[p]; ok {
			return c
		}
		v := constVal[p]
		c := &Node{Name: fmt.Sprintf("%s/_folded_%d", p.Node.Name, p.Out), Op: OpConst, NumOutputs: 1, Where: p.Node.Where,
			Attrs: kernels.Attrs{"value": v, "dtype": v.DType}}
		consts[p] = c
		return c
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in.Node.Op == OpConst {
				continue
			}
			if _, ok := constVal[in]; ok {
				n.Inputs[i] = Port{Node: constFor(in)}
			}
		}
		// Folded nodes have no effects, so ordering after them is moot
		// (TF2 adds such control edges to every read of a variable).
		if len(n.Control) > 0 {
			kept := n.Control[:0:0]
			for _, c := range n.Control {
				if _, folded := constVal[Port{c, 0}]; folded || c.Op == OpConst {
					continue
				}
				kept = append(kept, c)
			}
			n.Control = kept
		}
	}
	out := make([]Port, len(fetches))
	for i, r := range fetches {
		out[i] = r
		if _, ok := constVal[r]; ok && r.Node.Op != OpConst {
			out[i] = Port{Node: constFor(r)}
		}
	}
	for _, c := range consts {
		g.Nodes = append(g.Nodes, c)
	}
	return out, folded, nil
}

func allNodes(g *Graph) map[*Node]bool {
	m := make(map[*Node]bool, len(g.Nodes))
	for _, n := range g.Nodes {
		m[n] = true
	}
	return m
}

// foldTooBig is the panic value foldAllocator uses to stop a kernel before
// it allocates an output over the folding bound.
type foldTooBig struct{}

// foldAllocator allocates for folding kernels: it refuses, before
// allocating, any tensor over max bytes (0: no bound), and counts the
// bytes a kernel allocates (outputs that alias an input cost nothing).
type foldAllocator struct {
	max, used int64
}

func (a *foldAllocator) alloc(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	b := tensorBytes(dt, shape)
	if a.max > 0 && b > a.max {
		panic(foldTooBig{})
	}
	a.used = addSat(a.used, b)
	return tensor.New(dt, shape)
}

// foldNode runs one kernel for folding. It reports false when the kernel
// fails, panics (the allocator's refusal included), returns too few
// outputs, or allocates more than opts.Charge grants.
func foldNode(fn kernels.Func, kctx *kernels.Context, a *foldAllocator, ins []*tensor.Tensor, nout int, opts FoldOptions) (outs []*tensor.Tensor, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			outs, ok = nil, false
		}
	}()
	a.used = 0
	outs, err := fn(kctx, ins)
	if err != nil || len(outs) < nout {
		return nil, false
	}
	if opts.Charge != nil && !opts.Charge(a.used) {
		return nil, false
	}
	return outs, true
}

// tensorBytes is the size of a tensor of dt and shape (strings count 16
// bytes of header per element), saturating at math.MaxInt64; a negative
// dimension counts as huge.
func tensorBytes(dt tensor.DType, shape tensor.Shape) int64 {
	per := int64(dt.Size())
	if per <= 0 {
		per = 16
	}
	n := per
	for _, d := range shape {
		if d < 0 {
			return math.MaxInt64
		}
		if d != 0 && n > math.MaxInt64/int64(d) {
			return math.MaxInt64
		}
		n *= int64(d)
	}
	return n
}
