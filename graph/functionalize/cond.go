package functionalize

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// A TF1 tf.cond (outside loops, which are functional by now) is spelled
// with dead-tensor semantics: Switch(x, pred) forwards x on output 1 when
// pred holds (0 otherwise), the branch reading output k runs only then,
// and Merge forwards whichever of its inputs is alive. conds rewrites each
// such conditional into an If node whose then/else functions hold the two
// branches, innermost first, as TensorFlow's functionalize_cond does.
//
// A node's conditional context is the chain of (predicate, branch) it
// sits under: a Switch's output k opens branch k of its predicate below
// the Switch's own context, a Merge of the two branches of one predicate
// closes it, and any other node is in the deepest context of its inputs
// (data and control), which must extend all the others.

// maxCondDepth bounds how deep conditionals may nest: each level costs a
// pass over the graph.
const maxCondDepth = 256

// condCtx is one conditional context; contexts are interned, so equal
// contexts are the same pointer (nil is the unconditional top).
type condCtx struct {
	parent *condCtx
	pred   graph.Port
	branch int
	depth  int
}

type ctxKey struct {
	parent *condCtx
	pred   graph.Port
	branch int
}

type condPass struct {
	g     *graph.Graph
	lib   graph.Library
	where string
	names map[string]bool
	ctxs  map[ctxKey]*condCtx
	ctx   map[*graph.Node]*condCtx
	users map[*graph.Node][]use
}

// hasCond reports whether g still holds Switch or Merge nodes.
func hasCond(g *graph.Graph) bool {
	for _, n := range g.Nodes {
		if k := kindOf(n); k == kSwitch || k == kMerge {
			return true
		}
	}
	return false
}

// conds rewrites every v1 conditional of g into an If node.
func conds(g *graph.Graph, lib graph.Library, where string) error {
	p := &condPass{g: g, lib: lib, where: where, names: make(map[string]bool, len(g.Nodes))}
	for _, n := range g.Nodes {
		p.names[n.Name] = true
	}
	// Each round rewrites the innermost conditionals (their branch
	// contexts are the deepest; same-depth conditionals are disjoint), so
	// the rounds are bounded by the nesting depth, itself below the node
	// count.
	for rounds := len(g.Nodes); hasCond(g); rounds-- {
		if rounds < 0 {
			return fmt.Errorf("conditionals do not reduce")
		}
		if err := p.contexts(); err != nil {
			return err
		}
		// Merges' inputs count: a branch may hold no node.
		depth := 0
		for _, c := range p.ctxs {
			depth = max(depth, c.depth)
		}
		if depth > maxCondDepth {
			return fmt.Errorf("TF1 conditionals nested %d deep (limit %d)", depth, maxCondDepth)
		}
		if depth == 0 {
			for _, n := range g.Nodes {
				if k := kindOf(n); k == kSwitch || k == kMerge {
					return fmt.Errorf("node %s (%s): no branch reads this TF1 conditional's outputs; it cannot be functionalized", n.Name, n.Op)
				}
			}
			return nil
		}
		type condKey struct {
			parent *condCtx
			pred   graph.Port
		}
		seen := map[condKey]bool{}
		var inner []condKey
		for _, c := range p.ctxs {
			if k := (condKey{c.parent, c.pred}); c.depth == depth && !seen[k] {
				seen[k] = true
				inner = append(inner, k)
			}
		}
		sort.Slice(inner, func(i, j int) bool {
			a, b := inner[i], inner[j]
			if a.pred.Node.Name != b.pred.Node.Name {
				return a.pred.Node.Name < b.pred.Node.Name
			}
			if a.pred.Out != b.pred.Out {
				return a.pred.Out < b.pred.Out
			}
			return a.parent.path() < b.parent.path()
		})
		for _, k := range inner {
			if err := p.rewrite(k.parent, k.pred); err != nil {
				return err
			}
		}
	}
	return nil
}

// path names a context by its chain of predicates and branches.
func (c *condCtx) path() string {
	var b strings.Builder
	for ; c != nil; c = c.parent {
		fmt.Fprintf(&b, "%s:%d/%d;", c.pred.Node.Name, c.pred.Out, c.branch)
	}
	return b.String()
}

func (p *condPass) child(parent *condCtx, pred graph.Port, branch int) *condCtx {
	k := ctxKey{parent, pred, branch}
	c, ok := p.ctxs[k]
	if !ok {
		d := 1
		if parent != nil {
			d = parent.depth + 1
		}
		c = &condCtx{parent: parent, pred: pred, branch: branch, depth: d}
		p.ctxs[k] = c
	}
	return c
}

// portCtx is the context of the value at pt.
func (p *condPass) portCtx(pt graph.Port) *condCtx {
	n := pt.Node
	if kindOf(n) == kSwitch && len(n.Inputs) == 2 {
		return p.child(p.ctx[n], canonPred(n.Inputs[1]), pt.Out)
	}
	return p.ctx[n]
}

// canonPred follows a predicate through Identity nodes: tf.cond switches
// its pivots on pred and its values on Identity(pred) ("pred_id"), one
// conditional. The walk is bounded (an Identity cycle is not a DAG and
// fails the topological walk anyway).
func canonPred(pt graph.Port) graph.Port {
	for i := 0; i < 1<<16 && pt.Out == 0 && pt.Node.Op == "Identity" && len(pt.Node.Inputs) == 1; i++ {
		pt = pt.Node.Inputs[0]
	}
	return pt
}

// within says whether context a is c or encloses it.
func within(a, c *condCtx) bool {
	for ; c != nil; c = c.parent {
		if c == a {
			return true
		}
	}
	return a == nil
}

func (c *condCtx) String() string {
	if c == nil {
		return "outside any conditional"
	}
	return fmt.Sprintf("branch %v of the conditional on %s:%d", c.branch == 1, c.pred.Node.Name, c.pred.Out)
}

// contexts computes every node's context, in topological order.
func (p *condPass) contexts() error {
	p.ctxs = map[ctxKey]*condCtx{}
	p.ctx = make(map[*graph.Node]*condCtx, len(p.g.Nodes))
	p.users = usersOf(p.g)
	pending := make(map[*graph.Node]int, len(p.g.Nodes))
	var queue []*graph.Node
	for _, n := range p.g.Nodes {
		pending[n] = len(n.Inputs) + len(n.Control)
		if pending[n] == 0 {
			queue = append(queue, n)
		}
	}
	done := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		done++
		c, err := p.nodeCtx(n)
		if err != nil {
			return err
		}
		p.ctx[n] = c
		for _, u := range p.users[n] {
			if pending[u.n]--; pending[u.n] == 0 {
				queue = append(queue, u.n)
			}
		}
	}
	if done != len(p.g.Nodes) {
		for _, n := range p.g.Nodes {
			if pending[n] > 0 {
				return fmt.Errorf("node %s (%s) is on a cycle outside any while loop", n.Name, n.Op)
			}
		}
	}
	return nil
}

func (p *condPass) nodeCtx(n *graph.Node) (*condCtx, error) {
	if kindOf(n) == kMerge {
		if len(n.Inputs) != 2 {
			return nil, fmt.Errorf("node %s (%s) has %d inputs; only two-way TF1 conditionals are supported", n.Name, n.Op, len(n.Inputs))
		}
		a, b := p.portCtx(n.Inputs[0]), p.portCtx(n.Inputs[1])
		if a == nil || b == nil || a.parent != b.parent || a.pred != b.pred || a.branch == b.branch {
			return nil, fmt.Errorf("node %s (%s) merges values from %v and %v, not the two branches of one TF1 conditional", n.Name, n.Op, a, b)
		}
		for _, c := range n.Control {
			// An effect in either branch may gate the Merge.
			if cc := p.ctx[c]; !within(cc, a.parent) && cc != a && cc != b {
				return nil, fmt.Errorf("node %s (%s) has a control input from %s, %v", n.Name, n.Op, c.Name, p.ctx[c])
			}
		}
		return a.parent, nil
	}
	var deep *condCtx
	var from string
	consider := func(c *condCtx, name string) error {
		switch {
		case within(c, deep):
		case within(deep, c):
			deep, from = c, name
		default:
			return fmt.Errorf("node %s (%s) mixes values of different TF1 conditional branches (%s: %v; %s: %v)", n.Name, n.Op, from, deep, name, c)
		}
		return nil
	}
	for _, in := range n.Inputs {
		if err := consider(p.portCtx(in), in.Node.Name); err != nil {
			return nil, err
		}
	}
	for _, c := range n.Control {
		if err := consider(p.ctx[c], c.Name); err != nil {
			return nil, err
		}
	}
	return deep, nil
}

// rewrite replaces the conditional on pred under parent by an If node.
func (p *condPass) rewrite(parent *condCtx, pred graph.Port) error {
	br := [2]*condCtx{p.child(parent, pred, 0), p.child(parent, pred, 1)}
	var nodes [2][]*graph.Node
	var switches, merges []*graph.Node
	for _, n := range p.g.Nodes {
		c := p.ctx[n]
		switch {
		case kindOf(n) == kSwitch && c == parent && len(n.Inputs) == 2 && canonPred(n.Inputs[1]) == pred:
			switches = append(switches, n)
		case kindOf(n) == kMerge && c == parent && p.portCtx(n.Inputs[0]).parent == parent && p.portCtx(n.Inputs[0]).pred == pred:
			merges = append(merges, n)
		case c == br[0]:
			nodes[0] = append(nodes[0], n)
		case c == br[1]:
			nodes[1] = append(nodes[1], n)
		}
	}
	isSwitch := map[*graph.Node]bool{}
	for _, s := range switches {
		isSwitch[s] = true
	}
	// The If's inputs: what the branches read from outside them, a
	// Switch's data in its place.
	var args []graph.Port
	var argTypes []tensor.DType
	argOf := map[graph.Port]int{}
	outsideCtl := map[*graph.Node]bool{}
	var ctl []*graph.Node
	inBranch := map[*graph.Node]bool{}
	for k := range nodes {
		for _, n := range nodes[k] {
			inBranch[n] = true
		}
	}
	addArg := func(pt graph.Port) {
		src, dt := pt, portType(pt)
		if isSwitch[pt.Node] {
			src, dt = pt.Node.Inputs[0], pt.Node.Attrs.Type("T", tensor.Invalid)
		}
		if _, ok := argOf[pt]; ok {
			return
		}
		// Both outputs of a Switch carry the same value.
		key := src
		if i, ok := argOf[key]; ok {
			argOf[pt] = i
			return
		}
		argOf[key], argOf[pt] = len(args), len(args)
		args = append(args, src)
		argTypes = append(argTypes, dt)
	}
	for k := range nodes {
		for _, n := range nodes[k] {
			for _, in := range n.Inputs {
				if !inBranch[in.Node] && !frameless(in.Node) {
					addArg(in)
				}
			}
			for _, c := range n.Control {
				if !inBranch[c] && !frameless(c) && !isSwitch[c] && !outsideCtl[c] {
					outsideCtl[c] = true
					ctl = append(ctl, c)
				}
			}
		}
	}
	for _, m := range merges {
		for _, in := range m.Inputs {
			if !inBranch[in.Node] && !frameless(in.Node) {
				addArg(in)
			}
		}
		for _, u := range p.users[m] {
			if u.in >= 0 && u.n.Inputs[u.in].Out != 0 {
				return fmt.Errorf("node %s reads the value_index output of TF1 conditional Merge %s; it cannot be functionalized", u.n.Name, m.Name)
			}
		}
	}
	base := p.where
	if base != "" {
		base += "_"
	}
	base += graph.SanitizeName(pred.Node.Name)
	outTypes := make([]tensor.DType, len(merges))
	for j, m := range merges {
		outTypes[j] = m.Attrs.Type("T", tensor.Invalid)
	}
	var fnames [2]string
	for k := range nodes {
		name := p.lib.UniqueName(fmt.Sprintf("%s_cond_%s", base, [2]string{"else", "then"}[k]))
		fnames[k] = name
		var rets []graph.Port
		for _, m := range merges {
			for _, in := range m.Inputs {
				if p.portCtx(in) == br[k] {
					rets = append(rets, in)
				}
			}
		}
		p.lib[name] = branchFunction(name, nodes[k], args, argTypes, argOf, rets, outTypes, p.users, inBranch)
	}
	iff := &graph.Node{Name: p.nodeName(pred.Node.Name + "/cond_if"), Op: "If", NumOutputs: len(merges), Where: p.where,
		Inputs: append([]graph.Port{pred}, args...), Control: ctl,
		Attrs: kernels.Attrs{"Tcond": tensor.Bool, "Tin": argTypes, "Tout": outTypes,
			"then_branch": kernels.FuncRef{Name: fnames[1]}, "else_branch": kernels.FuncRef{Name: fnames[0]}}}
	p.g.AddNode(iff)
	for j, m := range merges {
		m.Op = "Identity"
		m.Attrs = kernels.Attrs{"T": outTypes[j]}
		m.Inputs = []graph.Port{{Node: iff, Out: j}}
		m.NumOutputs = 1
		// Control edges from the branches are the If's now (its control
		// results).
		kept := m.Control[:0]
		for _, c := range m.Control {
			if !inBranch[c] && !isSwitch[c] {
				kept = append(kept, c)
			}
		}
		m.Control = kept
	}
	dead := map[*graph.Node]bool{}
	for _, s := range switches {
		dead[s] = true
	}
	for n := range inBranch {
		dead[n] = true
	}
	// In a function, the results must not come from a branch, and a branch's
	// effects run with the If.
	for _, r := range p.g.Rets {
		if dead[r.Node] {
			return fmt.Errorf("function %s returns %s, inside a TF1 conditional branch, not through its Merge", p.g.Name, r.Node.Name)
		}
	}
	ctlRets := p.g.ControlRets[:0]
	ifListed := false
	for _, c := range p.g.ControlRets {
		switch {
		case !dead[c]:
			ctlRets = append(ctlRets, c)
		case !ifListed:
			ctlRets, ifListed = append(ctlRets, iff), true
		}
	}
	p.g.ControlRets = ctlRets
	kept := p.g.Nodes[:0]
	for _, n := range p.g.Nodes {
		if !dead[n] {
			kept = append(kept, n)
		}
	}
	clear(p.g.Nodes[len(kept):])
	p.g.Nodes = kept
	for _, n := range p.g.Nodes {
		for _, c := range n.Control {
			if dead[c] {
				return fmt.Errorf("node %s has a control input from %s, inside a TF1 conditional branch", n.Name, c.Name)
			}
		}
		for _, in := range n.Inputs {
			if dead[in.Node] {
				return fmt.Errorf("node %s reads %s, inside a TF1 conditional branch, not through its Merge", n.Name, in.Node.Name)
			}
		}
	}
	return nil
}

// branchFunction builds one branch of an If from its nodes: every If input
// is an argument; nodes without consumers that run for their effect are
// control results.
func branchFunction(name string, nodes []*graph.Node, args []graph.Port, argTypes []tensor.DType, argOf map[graph.Port]int,
	rets []graph.Port, retTypes []tensor.DType, users map[*graph.Node][]use, inBranch map[*graph.Node]bool) *graph.Graph {
	fg := &graph.Graph{Name: name}
	for i := range args {
		a := &graph.Node{Name: fmt.Sprintf("arg_%d", i), Op: graph.OpArg, NumOutputs: 1, Where: name,
			Attrs: kernels.Attrs{"index": int64(i), "T": argTypes[i]}}
		fg.Args = append(fg.Args, a)
		fg.ArgTypes = append(fg.ArgTypes, argTypes[i])
		fg.AddNode(a)
	}
	copies := make(map[*graph.Node]*graph.Node, len(nodes))
	add := func(n *graph.Node) *graph.Node {
		if c, ok := copies[n]; ok {
			return c
		}
		c := &graph.Node{Name: n.Name, Op: n.Op, Attrs: n.Attrs, NumOutputs: n.NumOutputs, Where: name}
		copies[n] = c
		fg.AddNode(c)
		return c
	}
	for _, n := range nodes {
		add(n)
	}
	port := func(pt graph.Port) graph.Port {
		if i, ok := argOf[pt]; ok && !inBranch[pt.Node] {
			return graph.Port{Node: fg.Args[i]}
		}
		return graph.Port{Node: add(pt.Node), Out: pt.Out} // in the branch, or a frameless constant
	}
	for _, n := range nodes {
		c := copies[n]
		c.Inputs = make([]graph.Port, len(n.Inputs))
		for i, in := range n.Inputs {
			c.Inputs[i] = port(in)
		}
		for _, ctl := range n.Control {
			if inBranch[ctl] {
				c.Control = append(c.Control, add(ctl))
			}
		}
	}
	for _, r := range rets {
		fg.Rets = append(fg.Rets, port(r))
	}
	fg.RetTypes = retTypes
	// Effects nothing in the branch reads (at most a Merge's control edge)
	// run as control results.
	for _, n := range nodes {
		if !(n.NumOutputs == 0 || sideEffectOps[n.Op]) {
			continue
		}
		read := false
		for _, u := range users[n] {
			read = read || inBranch[u.n]
		}
		if !read {
			fg.ControlRets = append(fg.ControlRets, copies[n])
		}
	}
	return fg
}

// portType is the dtype of the value at pt as far as its node's attributes
// tell (the executor does not need it; it documents the function).
func portType(pt graph.Port) tensor.DType {
	n := pt.Node
	if pt.Out == 0 || kindOf(n) == kSwitch {
		for _, a := range []string{"T", "dtype", "DstT", "out_type"} {
			if t := n.Attrs.Type(a, tensor.Invalid); t != tensor.Invalid {
				return t
			}
		}
	}
	return tensor.Invalid
}

func (p *condPass) nodeName(name string) string {
	out := name
	for k := 1; p.names[out]; k++ {
		out = fmt.Sprintf("%s_%d", name, k)
	}
	p.names[out] = true
	return out
}
