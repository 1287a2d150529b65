package functionalize

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// kind classifies the v1 control-flow ops (their Ref variants included).
type kind uint8

const (
	kNone kind = iota
	kEnter
	kExit
	kMerge
	kSwitch
	kNext
	kLoopCond
)

var kinds = map[string]kind{
	"Enter": kEnter, "RefEnter": kEnter,
	"Exit": kExit, "RefExit": kExit,
	"Merge": kMerge, "RefMerge": kMerge,
	"Switch": kSwitch, "RefSwitch": kSwitch,
	"NextIteration": kNext, "RefNextIteration": kNext,
	"LoopCond": kLoopCond,
}

func kindOf(n *graph.Node) kind { return kinds[n.Op] }

// sideEffectOps run for their effect: inside a loop body nothing may read
// them, yet they must run every iteration.
var sideEffectOps = map[string]bool{
	"Assert": true, "Print": true, "PrintV2": true, "NoOp": true,
	"AssignVariableOp": true, "AssignAddVariableOp": true, "AssignSubVariableOp": true,
	"Assign": true, "AssignAdd": true, "AssignSub": true,
}

// Graph rewrites, in place, the v1 control flow and TensorArrays of g and of
// every function of lib (new cond and body functions are added to lib). It
// returns quickly when no graph uses them. An error names the node that
// cannot be rewritten.
func Graph(g *graph.Graph, lib graph.Library) error {
	if err := rewrite(g, lib, ""); err != nil {
		return err
	}
	names := make([]string, 0, len(lib))
	for name := range lib {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := rewrite(lib[name], lib, name); err != nil {
			return fmt.Errorf("function %s: %w", name, err)
		}
	}
	return nil
}

// Uses reports whether g uses v1 control flow or TF1 TensorArrays.
func Uses(g *graph.Graph) bool {
	for _, n := range g.Nodes {
		if kindOf(n) != kNone || taOps[n.Op] {
			return true
		}
	}
	return false
}

// rewrite functionalizes one graph; where is "" for the top-level graph and
// the function name otherwise.
func rewrite(g *graph.Graph, lib graph.Library, where string) error {
	if !Uses(g) {
		return nil
	}
	fixOutputs(g)
	tensorArraysToLists(g)
	hasLoop := false
	for _, n := range g.Nodes {
		if kindOf(n) == kEnter {
			hasLoop = true
			break
		}
	}
	if hasLoop {
		p := newPass(g, lib, where)
		if err := p.assignFrames(); err != nil {
			return err
		}
		if err := p.loops(); err != nil {
			return err
		}
		p.compact()
	}
	if hasCond(g) {
		if err := conds(g, lib, where); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		switch kindOf(n) {
		case kNone:
		case kSwitch, kMerge:
			return fmt.Errorf("node %s (%s): TF1 conditional left after functionalization", n.Name, n.Op)
		default:
			return fmt.Errorf("node %s (%s) is v1 control flow outside any loop that could be functionalized", n.Name, n.Op)
		}
	}
	return nil
}

// fixOutputs sets the output counts of the control-flow and TensorArray
// ops, which an import without their OpDefs takes as 1.
func fixOutputs(g *graph.Graph) {
	for _, n := range g.Nodes {
		switch {
		case kindOf(n) == kSwitch, kindOf(n) == kMerge, n.Op == "TensorArrayV3", n.Op == "TensorArrayConcatV3":
			n.NumOutputs = max(n.NumOutputs, 2)
		}
	}
}

// use is one edge into a node: data input in, or a control edge (in -1).
type use struct {
	n  *graph.Node
	in int
}

// usersOf indexes the consumers of every node of g.
func usersOf(g *graph.Graph) map[*graph.Node][]use {
	users := make(map[*graph.Node][]use, len(g.Nodes))
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			users[in.Node] = append(users[in.Node], use{n, i})
		}
		for _, c := range n.Control {
			users[c] = append(users[c], use{n, -1})
		}
	}
	return users
}

// frame is one loop: the nodes its Enters lead to.
type frame struct {
	name   string
	parent *frame
	depth  int
	enters []*graph.Node // the Enter nodes into this frame (they sit in parent)
	nodes  []*graph.Node // the nodes inside
}

func (f *frame) String() string {
	if f == nil || f.parent == nil {
		return "top level"
	}
	return fmt.Sprintf("loop %q", f.name)
}

type pass struct {
	g       *graph.Graph
	lib     graph.Library
	where   string
	users   map[*graph.Node][]use
	frameOf map[*graph.Node]*frame
	dead    map[*graph.Node]bool
	names   map[string]bool
	root    *frame
	frames  []*frame
	byName  map[string]*frame
	// parentKnown marks the frames whose enclosing frame an Enter with a
	// known frame has fixed.
	parentKnown map[*frame]bool
}

func newPass(g *graph.Graph, lib graph.Library, where string) *pass {
	p := &pass{g: g, lib: lib, where: where, users: usersOf(g), frameOf: map[*graph.Node]*frame{},
		dead: map[*graph.Node]bool{}, names: make(map[string]bool, len(g.Nodes)), root: &frame{},
		byName: map[string]*frame{}, parentKnown: map[*frame]bool{}}
	for _, n := range g.Nodes {
		p.names[n.Name] = true
	}
	return p
}

// frameless nodes are constants without inputs: any frame may read them
// (they are copied into the functions that need them).
func frameless(n *graph.Node) bool {
	return n.Op == graph.OpConst && len(n.Inputs) == 0 && len(n.Control) == 0
}

// liveUsers lists the consumers of n that are still in the graph.
func (p *pass) liveUsers(n *graph.Node) []use {
	us := p.users[n]
	out := us[:0:0]
	for _, u := range us {
		if !p.dead[u.n] {
			out = append(out, u)
		}
	}
	return out
}

// enterFrame is the frame an Enter leads into (frames are named uniquely,
// as in TF). When the Enter's own frame is known, it fixes the new
// frame's parent.
func (p *pass) enterFrame(n *graph.Node) (*frame, error) {
	name := n.Attrs.String("frame_name", "")
	if name == "" {
		return nil, fmt.Errorf("node %s (%s) has no frame_name", n.Name, n.Op)
	}
	c, ok := p.byName[name]
	if !ok {
		c = &frame{name: name, parent: p.root}
		p.byName[name] = c
		p.frames = append(p.frames, c)
	}
	if f, known := p.frameOf[n]; known {
		if !p.parentKnown[c] {
			c.parent, p.parentKnown[c] = f, true
		} else if c.parent != f {
			return nil, fmt.Errorf("node %s (%s) enters %v from %v, but other Enters enter it from %v", n.Name, n.Op, c, f, c.parent)
		}
	}
	return c, nil
}

// assignFrames finds the frame of every node by a breadth-first walk along
// the edges from the graph's sources, as TF's executor does: an Enter's
// consumers are in its frame, an Exit's in the enclosing one. A node whose
// inputs come from different frames is an error. An Enter reading only
// constants sits in its frame's parent, which another Enter of the frame
// fixes (the top level when none does).
func (p *pass) assignFrames() error {
	var queue, pending []*graph.Node
	floating := map[*graph.Node]bool{}
	for _, n := range p.g.Nodes {
		if frameless(n) {
			continue
		}
		source := true
		for _, in := range n.Inputs {
			if !frameless(in.Node) {
				source = false
				break
			}
		}
		for _, c := range n.Control {
			if !frameless(c) {
				source = false
				break
			}
		}
		if !source {
			continue
		}
		if kindOf(n) == kEnter {
			floating[n] = true
		} else {
			p.frameOf[n] = p.root
		}
		queue = append(queue, n)
	}
	for len(queue) > 0 || len(pending) > 0 {
		if len(queue) == 0 {
			// Exits whose frame's parent no Enter fixed: the top level.
			queue, pending = pending, nil
			for _, n := range queue {
				p.parentKnown[p.frameOf[n]] = true
			}
		}
		n := queue[0]
		queue = queue[1:]
		var out *frame
		switch kindOf(n) {
		case kEnter:
			f, err := p.enterFrame(n)
			if err != nil {
				return err
			}
			f.enters = append(f.enters, n)
			out = f
		case kExit:
			f := p.frameOf[n]
			if f == p.root {
				return fmt.Errorf("node %s (%s) exits no loop: it is not inside any frame", n.Name, n.Op)
			}
			if !p.parentKnown[f] {
				pending = append(pending, n)
				continue
			}
			out = f.parent
		default:
			out = p.frameOf[n]
		}
		for _, u := range p.users[n] {
			if f, ok := p.frameOf[u.n]; ok {
				if f != out {
					return fmt.Errorf("node %s (%s) mixes values of %v and %v (through its input %s); values cross loop frames only through Enter and Exit",
						u.n.Name, u.n.Op, f, out, n.Name)
				}
				continue
			}
			if floating[u.n] {
				continue // its frame is its frame's parent, known later
			}
			p.frameOf[u.n] = out
			queue = append(queue, u.n)
		}
	}
	for n := range floating {
		p.frameOf[n] = p.byName[n.Attrs.String("frame_name", "")].parent
	}
	// Frames nest as a tree: walk each parent chain, bounded.
	for _, f := range p.frames {
		d := 0
		for a := f; a != p.root; a = a.parent {
			if d++; d > len(p.frames) {
				return fmt.Errorf("%v is nested inside itself", f)
			}
		}
		f.depth = d
	}
	for _, n := range p.g.Nodes {
		f, ok := p.frameOf[n]
		if !ok {
			if frameless(n) {
				continue
			}
			// Unreachable from any source: a cycle with no way in.
			f = p.root
			p.frameOf[n] = f
		}
		if f != p.root {
			f.nodes = append(f.nodes, n)
		}
	}
	return nil
}

// loopVar is one loop variable of a frame: carried (Enter → Merge → Switch
// → body → NextIteration) or invariant (an Enter read by the body).
type loopVar struct {
	enter              *graph.Node
	merge, sw, next    *graph.Node // nil for an invariant
	exits              []*graph.Node
	dtype              tensor.DType
	carried            bool
	parallelIterations int64
}

// loopInfo is a frame's structure.
type loopInfo struct {
	f          *frame
	vars       []*loopVar // carried first, then invariants
	ncarried   int
	cond       *graph.Node // the LoopCond
	argOf      map[graph.Port]int
	structural map[*graph.Node]bool
	outside    []*graph.Node // control inputs from the enclosing frame
}

// loops rewrites the frames, innermost first.
func (p *pass) loops() error {
	frames := append([]*frame(nil), p.frames...)
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].depth > frames[j].depth })
	for _, f := range frames {
		if err := p.loop(f); err != nil {
			return err
		}
	}
	return nil
}

// analyze finds the loop variables and the LoopCond of f.
func (p *pass) analyze(f *frame) (*loopInfo, error) {
	lp := &loopInfo{f: f, argOf: map[graph.Port]int{}, structural: map[*graph.Node]bool{}}
	var invariants []*loopVar
	for _, e := range f.enters {
		if p.dead[e] {
			continue
		}
		lp.structural[e] = true
		users := p.liveUsers(e)
		v := &loopVar{enter: e, dtype: e.Attrs.Type("T", tensor.Invalid), parallelIterations: e.Attrs.Int("parallel_iterations", 10)}
		if len(e.Inputs) != 1 {
			return nil, fmt.Errorf("node %s (%s) has %d inputs, want 1", e.Name, e.Op, len(e.Inputs))
		}
		for _, u := range users {
			if kindOf(u.n) == kMerge && u.in >= 0 {
				if v.merge != nil && v.merge != u.n {
					return nil, fmt.Errorf("node %s (%s) feeds two Merges (%s and %s) of %v", e.Name, e.Op, v.merge.Name, u.n.Name, f)
				}
				v.merge = u.n
			}
		}
		if v.merge == nil {
			if len(users) == 0 {
				continue // nothing in the loop reads it (a rewritten TensorArray handle)
			}
			invariants = append(invariants, v)
			continue
		}
		for _, u := range users {
			if u.n != v.merge {
				return nil, fmt.Errorf("node %s (%s) starts loop variable %s of %v but is also read by %s", e.Name, e.Op, v.merge.Name, f, u.n.Name)
			}
		}
		v.carried = true
		lp.vars = append(lp.vars, v)
	}
	lp.ncarried = len(lp.vars)
	if lp.ncarried == 0 {
		return nil, fmt.Errorf("%v has no loop variable (no Enter feeds a Merge); it cannot be functionalized", f)
	}
	for _, v := range lp.vars {
		if err := p.carried(lp, v); err != nil {
			return nil, err
		}
	}
	lp.vars = append(lp.vars, invariants...)
	for i, v := range lp.vars {
		if v.carried {
			lp.argOf[graph.Port{Node: v.merge}] = i
			lp.argOf[graph.Port{Node: v.sw, Out: 1}] = i
		} else {
			lp.argOf[graph.Port{Node: v.enter}] = i
		}
	}
	// Every control-flow node of the frame must belong to its structure.
	for _, n := range f.nodes {
		if p.dead[n] || lp.structural[n] || kindOf(n) == kNone || kindOf(n) == kEnter {
			continue
		}
		if kindOf(n) == kSwitch || kindOf(n) == kMerge {
			// A tf.cond inside the loop: copied into the loop's functions,
			// where it becomes an If (conds).
			continue
		}
		return nil, fmt.Errorf("node %s (%s) in %v is not part of the loop's Enter/Merge/Switch/NextIteration/Exit structure", n.Name, n.Op, f)
	}
	return lp, nil
}

// carried checks one carried variable: Merge(Enter, NextIteration) read by
// one Switch on the LoopCond, whose false branch only Exits read.
func (p *pass) carried(lp *loopInfo, v *loopVar) error {
	f, m := lp.f, v.merge
	if p.frameOf[m] != f {
		return fmt.Errorf("node %s (%s) is not inside %v", m.Name, m.Op, f)
	}
	if len(m.Inputs) != 2 {
		return fmt.Errorf("loop Merge %s has %d inputs, want Enter and NextIteration", m.Name, len(m.Inputs))
	}
	for _, in := range m.Inputs {
		if in.Node == v.enter {
			continue
		}
		if kindOf(in.Node) != kNext || p.frameOf[in.Node] != f {
			return fmt.Errorf("loop Merge %s reads %s (%s), want a NextIteration of %v", m.Name, in.Node.Name, in.Node.Op, f)
		}
		v.next = in.Node
	}
	if v.next == nil {
		return fmt.Errorf("loop Merge %s has no NextIteration input", m.Name)
	}
	if len(v.next.Inputs) != 1 {
		return fmt.Errorf("node %s (%s) has %d inputs, want 1", v.next.Name, v.next.Op, len(v.next.Inputs))
	}
	for _, u := range p.liveUsers(v.next) {
		if u.n != m {
			return fmt.Errorf("node %s (%s) feeds %s as well as its Merge %s", v.next.Name, v.next.Op, u.n.Name, m.Name)
		}
	}
	for _, u := range p.liveUsers(m) {
		if u.in < 0 {
			continue
		}
		if u.n.Inputs[u.in].Out != 0 {
			return fmt.Errorf("node %s reads %s's value_index output; this loop cannot be functionalized", u.n.Name, m.Name)
		}
		if kindOf(u.n) == kSwitch && u.in == 0 && len(u.n.Inputs) == 2 && kindOf(u.n.Inputs[1].Node) == kLoopCond {
			if v.sw != nil {
				return fmt.Errorf("loop Merge %s feeds two Switches (%s and %s)", m.Name, v.sw.Name, u.n.Name)
			}
			v.sw = u.n
		}
	}
	if v.sw == nil {
		return fmt.Errorf("loop Merge %s feeds no Switch", m.Name)
	}
	sw := v.sw
	if len(sw.Inputs) != 2 {
		return fmt.Errorf("node %s (%s) has %d inputs, want 2", sw.Name, sw.Op, len(sw.Inputs))
	}
	lc := sw.Inputs[1].Node
	if kindOf(lc) != kLoopCond || p.frameOf[lc] != f {
		return fmt.Errorf("loop Switch %s is predicated on %s (%s), not on a LoopCond of %v", sw.Name, lc.Name, lc.Op, f)
	}
	if lp.cond != nil && lp.cond != lc {
		return fmt.Errorf("%v has two LoopConds (%s and %s)", f, lp.cond.Name, lc.Name)
	}
	lp.cond = lc
	if len(lc.Inputs) != 1 {
		return fmt.Errorf("node %s (%s) has %d inputs, want 1", lc.Name, lc.Op, len(lc.Inputs))
	}
	for _, u := range p.liveUsers(sw) {
		if u.in < 0 || u.n.Inputs[u.in].Out != 0 {
			continue
		}
		if kindOf(u.n) != kExit {
			return fmt.Errorf("node %s (%s) reads the exit branch of loop Switch %s; only Exit may", u.n.Name, u.n.Op, sw.Name)
		}
		if len(u.n.Inputs) != 1 {
			return fmt.Errorf("node %s (%s) has %d inputs, want 1", u.n.Name, u.n.Op, len(u.n.Inputs))
		}
		v.exits = append(v.exits, u.n)
	}
	lp.structural[m] = true
	lp.structural[sw] = true
	lp.structural[v.next] = true
	lp.structural[lc] = true
	for _, x := range v.exits {
		lp.structural[x] = true
	}
	if v.dtype == tensor.Invalid {
		v.dtype = m.Attrs.Type("T", tensor.Invalid)
	}
	return nil
}

// collect returns the nodes of the frame that computing roots (and running
// sinks) needs, stopping at the loop variables; frameless constants they
// read are included. Control inputs from the enclosing frame are recorded
// in lp.outside for the While node.
func (p *pass) collect(lp *loopInfo, roots []graph.Port, sinks []*graph.Node) ([]*graph.Node, error) {
	f := lp.f
	seen := map[*graph.Node]bool{}
	var order, stack []*graph.Node
	add := func(n *graph.Node) {
		if !seen[n] {
			seen[n] = true
			order = append(order, n)
			if !frameless(n) {
				stack = append(stack, n)
			}
		}
	}
	visit := func(from string, pt graph.Port) error {
		if _, ok := lp.argOf[pt]; ok {
			return nil
		}
		n := pt.Node
		switch {
		case frameless(n):
		case lp.structural[n]:
			return fmt.Errorf("%s in %v reads %v (%s), part of the loop's control structure; the loop cannot be functionalized", from, f, pt, n.Op)
		case p.frameOf[n] != f:
			return fmt.Errorf("%s in %v reads %s, which is outside the loop and does not come in through an Enter", from, f, n.Name)
		}
		add(n)
		return nil
	}
	for _, r := range roots {
		if err := visit("the loop", r); err != nil {
			return nil, err
		}
	}
	for _, s := range sinks {
		add(s)
	}
	outside := map[*graph.Node]bool{}
	for _, n := range lp.outside {
		outside[n] = true
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if k := kindOf(n); k != kNone && k != kSwitch && k != kMerge {
			return nil, fmt.Errorf("node %s (%s) in %v is not part of its loop structure", n.Name, n.Op, f)
		}
		for _, in := range n.Inputs {
			if err := visit("node "+n.Name, in); err != nil {
				return nil, err
			}
		}
		for _, c := range n.Control {
			switch {
			case frameless(c), lp.structural[c]:
				// Ordering on a loop variable or a constant: implied.
			case p.frameOf[c] == f:
				add(c)
			case p.frameOf[c] == f.parent:
				if !outside[c] {
					outside[c] = true
					lp.outside = append(lp.outside, c)
				}
			default:
				return nil, fmt.Errorf("node %s in %v has a control input from %s in another frame", n.Name, f, c.Name)
			}
		}
	}
	return order, nil
}

// function builds a library function over the loop variables from the
// collected nodes.
func (p *pass) function(name string, lp *loopInfo, nodes []*graph.Node, rets []graph.Port, retTypes []tensor.DType, ctlRets []*graph.Node) *graph.Graph {
	fg := &graph.Graph{Name: name}
	for i, v := range lp.vars {
		a := &graph.Node{Name: v.enter.Name + "/_arg", Op: graph.OpArg, NumOutputs: 1, Where: name,
			Attrs: kernels.Attrs{"index": int64(i), "T": v.dtype}}
		fg.Args = append(fg.Args, a)
		fg.ArgTypes = append(fg.ArgTypes, v.dtype)
		fg.AddNode(a)
	}
	copies := make(map[*graph.Node]*graph.Node, len(nodes))
	for _, n := range nodes {
		c := &graph.Node{Name: n.Name, Op: n.Op, Attrs: n.Attrs, NumOutputs: n.NumOutputs, Where: name}
		copies[n] = c
		fg.AddNode(c)
	}
	port := func(pt graph.Port) graph.Port {
		if i, ok := lp.argOf[pt]; ok {
			return graph.Port{Node: fg.Args[i]}
		}
		return graph.Port{Node: copies[pt.Node], Out: pt.Out}
	}
	for _, n := range nodes {
		c := copies[n]
		c.Inputs = make([]graph.Port, len(n.Inputs))
		for i, in := range n.Inputs {
			c.Inputs[i] = port(in)
		}
		for _, ctl := range n.Control {
			if cc, ok := copies[ctl]; ok {
				c.Control = append(c.Control, cc)
			}
		}
	}
	for _, r := range rets {
		fg.Rets = append(fg.Rets, port(r))
	}
	fg.RetTypes = retTypes
	for _, n := range ctlRets {
		fg.ControlRets = append(fg.ControlRets, copies[n])
	}
	return fg
}

// loop replaces frame f by a While node.
func (p *pass) loop(f *frame) error {
	lp, err := p.analyze(f)
	if err != nil {
		return err
	}
	condNodes, err := p.collect(lp, []graph.Port{lp.cond.Inputs[0]}, nil)
	if err != nil {
		return err
	}
	var roots []graph.Port
	for _, v := range lp.vars[:lp.ncarried] {
		roots = append(roots, v.next.Inputs[0])
	}
	bodyNodes, err := p.collect(lp, roots, nil)
	if err != nil {
		return err
	}
	// Effects nothing reads still run every iteration.
	reached := map[*graph.Node]bool{}
	for _, n := range condNodes {
		reached[n] = true
	}
	for _, n := range bodyNodes {
		reached[n] = true
	}
	var sinks []*graph.Node
	for _, n := range f.nodes {
		if p.dead[n] || reached[n] || lp.structural[n] || kindOf(n) != kNone {
			continue
		}
		if (n.NumOutputs == 0 || sideEffectOps[n.Op]) && len(p.liveUsers(n)) == 0 {
			sinks = append(sinks, n)
		}
	}
	if len(sinks) > 0 {
		if bodyNodes, err = p.collect(lp, roots, sinks); err != nil {
			return err
		}
	}
	types := make([]tensor.DType, len(lp.vars))
	for i, v := range lp.vars {
		types[i] = v.dtype
	}
	base := p.funcBase(f.name)
	condName, bodyName := p.funcName(base+"_cond"), p.funcName(base+"_body")
	p.lib[condName] = p.function(condName, lp, condNodes, []graph.Port{lp.cond.Inputs[0]}, []tensor.DType{tensor.Bool}, nil)
	rets := make([]graph.Port, len(lp.vars))
	for i, v := range lp.vars {
		if v.carried {
			rets[i] = v.next.Inputs[0]
		} else {
			rets[i] = graph.Port{Node: v.enter}
		}
	}
	p.lib[bodyName] = p.function(bodyName, lp, bodyNodes, rets, types, sinks)

	w := &graph.Node{Name: p.nodeName(strings.TrimSuffix(f.name, "/while_context")), Op: "While", NumOutputs: len(lp.vars), Where: p.where,
		Attrs: kernels.Attrs{"T": types, "cond": kernels.FuncRef{Name: condName}, "body": kernels.FuncRef{Name: bodyName},
			"parallel_iterations": lp.vars[0].parallelIterations, "_v1_frame": f.name}}
	ctl := map[*graph.Node]bool{}
	addCtl := func(c *graph.Node) {
		if !ctl[c] {
			ctl[c] = true
			w.Control = append(w.Control, c)
			p.users[c] = append(p.users[c], use{w, -1})
		}
	}
	for i, v := range lp.vars {
		src := v.enter.Inputs[0]
		w.Inputs = append(w.Inputs, src)
		p.users[src.Node] = append(p.users[src.Node], use{w, i})
		for _, c := range v.enter.Control {
			addCtl(c)
		}
	}
	for _, c := range lp.outside {
		addCtl(c)
	}
	p.g.AddNode(w)
	p.frameOf[w] = f.parent
	if f.parent != p.root {
		f.parent.nodes = append(f.parent.nodes, w)
	}
	for _, n := range f.nodes {
		p.dead[n] = true
	}
	for _, e := range f.enters {
		p.dead[e] = true
	}
	// Each Exit becomes an Identity of the While's output, keeping its name
	// (signatures may fetch it) and its consumers.
	for i, v := range lp.vars {
		for _, x := range v.exits {
			x.Op = "Identity"
			x.Attrs = kernels.Attrs{"T": v.dtype}
			x.Inputs = []graph.Port{{Node: w, Out: i}}
			x.Control = nil
			x.NumOutputs = 1
			p.users[w] = append(p.users[w], use{x, 0})
			p.dead[x] = false
			p.frameOf[x] = f.parent
			if f.parent != p.root {
				f.parent.nodes = append(f.parent.nodes, x)
			}
		}
	}
	return nil
}

// compact drops the rewritten frames' nodes from the graph.
func (p *pass) compact() {
	kept := p.g.Nodes[:0]
	for _, n := range p.g.Nodes {
		if !p.dead[n] {
			kept = append(kept, n)
		}
	}
	clear(p.g.Nodes[len(kept):])
	p.g.Nodes = kept
}

// funcBase turns a frame name into a function-name stem.
func (p *pass) funcBase(frame string) string {
	frame = strings.TrimSuffix(frame, "/while_context")
	var b strings.Builder
	if p.where != "" {
		b.WriteString(p.where)
		b.WriteByte('_')
	}
	for _, r := range frame {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// funcName returns name, or name_k, whichever the library does not hold.
func (p *pass) funcName(name string) string {
	out := name
	for k := 1; ; k++ {
		if _, taken := p.lib[out]; !taken {
			return out
		}
		out = fmt.Sprintf("%s_%d", name, k)
	}
}

// nodeName returns a node name unused in the graph, based on name.
func (p *pass) nodeName(name string) string {
	out := name
	for k := 1; p.names[out]; k++ {
		out = fmt.Sprintf("%s_%d", name, k)
	}
	p.names[out] = true
	return out
}
