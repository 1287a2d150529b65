package graph

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// Registry resolves an op name to its kernel builder.
type Registry func(op string) (kernels.Builder, bool)

// resourceOps create a stateful resource once per Session; later runs reuse
// it (TF keeps such resources in its ResourceMgr).
var resourceOps = map[string]bool{
	"VarHandleOp": true, "VariableV2": true, "Variable": true,
	"HashTableV2": true, "HashTable": true, "MutableHashTableV2": true, "MutableHashTable": true,
	"MutableHashTableOfTensorsV2": true, "MutableDenseHashTableV2": true,
}

// IsResourceOp reports whether op creates a session-lived resource.
func IsResourceOp(op string) bool { return resourceOps[op] }

// Session is the state of one loaded model: its function library, kernel
// registry and the resources (variables, tables) its stateful ops created.
// Plans compiled from a Session share its resources.
type Session struct {
	lib Library
	reg Registry

	// runs pools per-run scratch (value slots, kernel context).
	runs sync.Pool

	mu        sync.Mutex
	resources map[*Node]*tensor.Tensor
	funcs     map[string]*Plan
	compiling map[string]bool
}

// NewSession makes a session over a library and a registry.
func NewSession(lib Library, reg Registry) *Session {
	if lib == nil {
		lib = Library{}
	}
	return &Session{lib: lib, reg: reg, resources: map[*Node]*tensor.Tensor{}, funcs: map[string]*Plan{}, compiling: map[string]bool{}}
}

// Library returns the session's function library.
func (s *Session) Library() Library { return s.lib }

// Registry returns the registry the session binds kernels with: a second
// engine over the same plans evaluates constant nodes with the same
// kernels (ScaNN's, the checkpoint readers', the fused ones).
func (s *Session) Registry() Registry { return s.reg }

// resource returns the resource a node created, creating it on first use.
func (s *Session) resource(n *Node, create func() (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.resources[n]; ok {
		return t, nil
	}
	t, err := create()
	if err != nil {
		return nil, err
	}
	s.resources[n] = t
	return t, nil
}

// Resource returns the resource tensor created by node n, if it exists.
func (s *Session) Resource(n *Node) (*tensor.Tensor, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.resources[n]
	return t, ok
}

type stepKind uint8

const (
	stepKernel stepKind = iota
	stepConst
	stepArg
	stepPlaceholder
	stepNoOp
	stepResource
	stepCall
	stepWhile
	stepIf
	stepCase
)

type step struct {
	node     *Node
	kind     stepKind
	fn       kernels.Func
	in       []int // slots of data inputs
	out      int   // first output slot
	nout     int
	arg      int // for stepArg
	value    *tensor.Tensor
	constOut []*tensor.Tensor // stepConst: {value}, shared by every run
	callee   *Plan            // stepCall
	cond     *Plan            // stepWhile
	body     *Plan            // stepWhile
	branch   []*Plan          // stepIf (then, else) and stepCase
	// release lists slots whose last reader is this step; they are cleared
	// after it runs so big intermediates can be collected early.
	release []int
}

// Plan is a compiled, immutable graph: safe for concurrent Runs.
type Plan struct {
	name     string
	sess     *Session
	steps    []step
	numSlots int
	argSlots []int
	retSlots []int
	retNames []string
	argNames []string
}

// Name is the graph or function name the plan was compiled from.
func (p *Plan) Name() string { return p.name }

// NumArgs is the number of inputs Run expects.
func (p *Plan) NumArgs() int { return len(p.argSlots) }

// NumSteps is the number of nodes the plan runs (after pruning).
func (p *Plan) NumSteps() int { return len(p.steps) }

// MissingOpsError lists every op without a kernel and where it is used.
type MissingOpsError struct {
	// Uses maps op name to the nodes (as "function/node") that use it.
	Uses map[string][]string
}

func (e *MissingOpsError) Error() string {
	ops := make([]string, 0, len(e.Uses))
	for op := range e.Uses {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "unsupported ops (%d): ", len(ops))
	for i, op := range ops {
		if i > 0 {
			b.WriteString("; ")
		}
		uses := e.Uses[op]
		shown := uses
		if len(shown) > 3 {
			shown = shown[:3]
		}
		fmt.Fprintf(&b, "%s used by %s", op, strings.Join(shown, ", "))
		if len(uses) > len(shown) {
			fmt.Fprintf(&b, " and %d more", len(uses)-len(shown))
		}
	}
	return b.String()
}

// Ops lists the missing op names, sorted.
func (e *MissingOpsError) Ops() []string {
	ops := make([]string, 0, len(e.Uses))
	for op := range e.Uses {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

type compiler struct {
	s       *Session
	missing map[string][]string
}

// Compile builds a plan that computes fetches from feeds. Feeds replace the
// outputs of the nodes they name (typically placeholders); every other node
// the fetches and targets need is run. targets are nodes run for their
// effects only (e.g. an init op).
func (s *Session) Compile(name string, g *Graph, feeds []Port, fetches []Port, targets []*Node) (*Plan, error) {
	c := &compiler{s: s, missing: map[string][]string{}}
	p, err := c.compile(name, g, feeds, fetches, targets, false)
	if err != nil {
		return nil, err
	}
	if len(c.missing) > 0 {
		return nil, &MissingOpsError{Uses: c.missing}
	}
	return p, nil
}

// Function compiles (once) and returns the plan of a library function.
func (s *Session) Function(name string) (*Plan, error) {
	c := &compiler{s: s, missing: map[string][]string{}}
	p, err := c.function(name)
	if err != nil {
		return nil, err
	}
	if len(c.missing) > 0 {
		return nil, &MissingOpsError{Uses: c.missing}
	}
	return p, nil
}

func (c *compiler) function(name string) (*Plan, error) {
	c.s.mu.Lock()
	if p, ok := c.s.funcs[name]; ok {
		c.s.mu.Unlock()
		return p, nil
	}
	if c.s.compiling[name] {
		c.s.mu.Unlock()
		return nil, fmt.Errorf("function %s calls itself recursively", name)
	}
	c.s.compiling[name] = true
	c.s.mu.Unlock()
	defer func() {
		c.s.mu.Lock()
		delete(c.s.compiling, name)
		c.s.mu.Unlock()
	}()
	g, ok := c.s.lib[name]
	if !ok {
		return nil, fmt.Errorf("function %s is not in the library", name)
	}
	feeds := make([]Port, len(g.Args))
	for i, a := range g.Args {
		feeds[i] = Port{a, 0}
	}
	p, err := c.compile(name, g, feeds, g.Rets, g.ControlRets, true)
	if err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	c.s.funcs[name] = p
	c.s.mu.Unlock()
	return p, nil
}

func (c *compiler) compile(name string, g *Graph, feeds, fetches []Port, targets []*Node, isFunc bool) (*Plan, error) {
	fed := map[*Node]int{}
	for i, f := range feeds {
		if f.Node == nil {
			return nil, fmt.Errorf("compile %s: feed %d names no node", name, i)
		}
		if f.Out != 0 || f.Node.NumOutputs > 1 {
			return nil, fmt.Errorf("compile %s: can only feed single-output nodes, not %v", name, f)
		}
		fed[f.Node] = i
	}
	// Collect needed nodes (reverse reachability), stopping at fed nodes.
	needed := map[*Node]bool{}
	var stack []*Node
	push := func(n *Node) {
		if n != nil && !needed[n] {
			needed[n] = true
			stack = append(stack, n)
		}
	}
	for _, f := range fetches {
		if f.Node == nil {
			return nil, fmt.Errorf("compile %s: fetch names no node", name)
		}
		if f.Out < 0 || f.Out >= f.Node.NumOutputs {
			return nil, fmt.Errorf("compile %s: %s has %d outputs, no output %d", name, f.Node.Name, f.Node.NumOutputs, f.Out)
		}
		push(f.Node)
	}
	for _, t := range targets {
		push(t)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := fed[n]; ok {
			continue
		}
		for _, in := range n.Inputs {
			push(in.Node)
		}
		for _, cn := range n.Control {
			push(cn)
		}
	}
	for n := range fed {
		needed[n] = true
	}
	order, err := topoSort(g, needed, fed)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", name, err)
	}
	p := &Plan{name: name, sess: c.s}
	slot := map[*Node]int{}
	for _, n := range order {
		slot[n] = p.numSlots
		nout := n.NumOutputs
		if nout < 1 {
			nout = 1
		}
		p.numSlots += nout
	}
	p.argSlots = make([]int, len(feeds))
	p.argNames = make([]string, len(feeds))
	for i, f := range feeds {
		p.argSlots[i] = slot[f.Node]
		p.argNames[i] = f.Node.Name
	}
	p.retSlots = make([]int, len(fetches))
	p.retNames = make([]string, len(fetches))
	for i, f := range fetches {
		p.retSlots[i] = slot[f.Node] + f.Out
		p.retNames[i] = f.String()
	}
	for _, n := range order {
		if _, ok := fed[n]; ok {
			continue
		}
		st := step{node: n, out: slot[n], nout: n.NumOutputs}
		st.in = make([]int, len(n.Inputs))
		for i, in := range n.Inputs {
			if in.Out >= in.Node.NumOutputs {
				return nil, fmt.Errorf("compile %s: node %s reads %v, which has %d outputs", name, n.Name, in, in.Node.NumOutputs)
			}
			st.in[i] = slot[in.Node] + in.Out
		}
		if err := c.buildStep(&st); err != nil {
			return nil, fmt.Errorf("compile %s: node %s (%s): %w", name, n.Name, n.Op, err)
		}
		p.steps = append(p.steps, st)
	}
	p.computeReleases()
	return p, nil
}

// computeReleases marks, for every slot that is neither an argument nor a
// result, the step after which nothing reads it.
func (p *Plan) computeReleases() {
	keep := map[int]bool{}
	for _, s := range p.retSlots {
		keep[s] = true
	}
	last := map[int]int{}
	for i, st := range p.steps {
		for _, s := range st.in {
			last[s] = i
		}
	}
	for s, i := range last {
		if keep[s] {
			continue
		}
		p.steps[i].release = append(p.steps[i].release, s)
	}
	for i := range p.steps {
		sort.Ints(p.steps[i].release)
	}
}

func (c *compiler) buildStep(st *step) error {
	n := st.node
	if _, ok := c.s.lib[n.Op]; ok {
		callee, err := c.function(n.Op)
		if err != nil {
			return err
		}
		st.kind, st.callee = stepCall, callee
		return c.checkCall(st, callee)
	}
	switch n.Op {
	case OpArg:
		return fmt.Errorf("argument node is not fed")
	case OpConst:
		v, ok := n.Attrs["value"].(*tensor.Tensor)
		if !ok {
			return fmt.Errorf("Const has no value")
		}
		if dt := n.Attrs.Type("dtype", v.DType); dt != v.DType {
			return fmt.Errorf("Const value is %v, dtype attr says %v", v.DType, dt)
		}
		st.kind, st.value, st.constOut = stepConst, v, []*tensor.Tensor{v}
		return nil
	case OpPlaceholder:
		st.kind = stepPlaceholder
		return nil
	case OpNoOp:
		st.kind = stepNoOp
		return nil
	case "PartitionedCall", "StatefulPartitionedCall":
		f, ok := n.Attrs["f"].(kernels.FuncRef)
		if !ok {
			return fmt.Errorf("call has no function attribute f")
		}
		callee, err := c.function(f.Name)
		if err != nil {
			return err
		}
		st.kind, st.callee = stepCall, callee
		return c.checkCall(st, callee)
	case "While", "StatelessWhile":
		cf, ok1 := n.Attrs["cond"].(kernels.FuncRef)
		bf, ok2 := n.Attrs["body"].(kernels.FuncRef)
		if !ok1 || !ok2 {
			return fmt.Errorf("While needs cond and body functions")
		}
		cond, err := c.function(cf.Name)
		if err != nil {
			return err
		}
		body, err := c.function(bf.Name)
		if err != nil {
			return err
		}
		if len(body.argSlots) != len(n.Inputs) || len(body.retSlots) != len(n.Inputs) || len(cond.argSlots) != len(n.Inputs) || len(cond.retSlots) != 1 {
			return fmt.Errorf("While with %d loop variables: body takes %d and returns %d, cond takes %d and returns %d",
				len(n.Inputs), len(body.argSlots), len(body.retSlots), len(cond.argSlots), len(cond.retSlots))
		}
		if n.NumOutputs != len(n.Inputs) {
			return fmt.Errorf("While has %d inputs and %d outputs", len(n.Inputs), n.NumOutputs)
		}
		st.kind, st.cond, st.body = stepWhile, cond, body
		return nil
	case "If", "StatelessIf":
		tf, ok1 := n.Attrs["then_branch"].(kernels.FuncRef)
		ef, ok2 := n.Attrs["else_branch"].(kernels.FuncRef)
		if !ok1 || !ok2 {
			return fmt.Errorf("If needs then_branch and else_branch")
		}
		for _, name := range []string{tf.Name, ef.Name} {
			b, err := c.function(name)
			if err != nil {
				return err
			}
			if len(b.argSlots) != len(n.Inputs)-1 || len(b.retSlots) != n.NumOutputs {
				return fmt.Errorf("If branch %s takes %d and returns %d; node has %d inputs, %d outputs", name, len(b.argSlots), len(b.retSlots), len(n.Inputs)-1, n.NumOutputs)
			}
			st.branch = append(st.branch, b)
		}
		st.kind = stepIf
		return nil
	case "Case", "StatelessCase":
		fs, _ := n.Attrs["branches"].([]kernels.FuncRef)
		if len(fs) == 0 {
			return fmt.Errorf("Case has no branches")
		}
		for _, f := range fs {
			b, err := c.function(f.Name)
			if err != nil {
				return err
			}
			if len(b.argSlots) != len(n.Inputs)-1 || len(b.retSlots) != n.NumOutputs {
				return fmt.Errorf("Case branch %s takes %d and returns %d", f.Name, len(b.argSlots), len(b.retSlots))
			}
			st.branch = append(st.branch, b)
		}
		st.kind = stepCase
		return nil
	}
	if resourceOps[n.Op] {
		st.kind = stepResource
		if n.Op == "VarHandleOp" || n.Op == "VariableV2" || n.Op == "Variable" {
			return nil
		}
	}
	b, ok := c.s.reg(n.Op)
	if !ok {
		where := n.Where
		if where == "" {
			where = "graph"
		}
		c.missing[n.Op] = append(c.missing[n.Op], where+"/"+n.Name)
		return nil
	}
	fn, err := b(n.Attrs, len(n.Inputs))
	if err != nil {
		return err
	}
	st.fn = fn
	if st.kind != stepResource {
		st.kind = stepKernel
	}
	return nil
}

func (c *compiler) checkCall(st *step, callee *Plan) error {
	if len(callee.argSlots) != len(st.node.Inputs) {
		return fmt.Errorf("calls %s with %d inputs; it takes %d", callee.name, len(st.node.Inputs), len(callee.argSlots))
	}
	if len(callee.retSlots) != st.node.NumOutputs {
		return fmt.Errorf("expects %d outputs from %s; it returns %d", st.node.NumOutputs, callee.name, len(callee.retSlots))
	}
	return nil
}

// topoSort orders the needed nodes so every node follows its inputs and
// control dependencies. Fed nodes have no dependencies.
func topoSort(g *Graph, needed map[*Node]bool, fed map[*Node]int) ([]*Node, error) {
	indeg := map[*Node]int{}
	users := map[*Node][]*Node{}
	var nodes []*Node
	for _, n := range g.Nodes {
		if needed[n] {
			nodes = append(nodes, n)
		}
	}
	// Nodes reachable but not in g.Nodes (shouldn't happen) are an error.
	if len(nodes) != len(needed) {
		in := map[*Node]bool{}
		for _, n := range nodes {
			in[n] = true
		}
		for n := range needed {
			if !in[n] {
				return nil, fmt.Errorf("node %s is used but not part of the graph", n.Name)
			}
		}
	}
	for _, n := range nodes {
		if _, ok := fed[n]; ok {
			continue
		}
		deps := map[*Node]bool{}
		for _, in := range n.Inputs {
			deps[in.Node] = true
		}
		for _, cn := range n.Control {
			deps[cn] = true
		}
		for d := range deps {
			indeg[n]++
			users[d] = append(users[d], n)
		}
	}
	var queue, order []*Node
	for _, n := range nodes {
		if indeg[n] == 0 {
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		order = append(order, n)
		for _, u := range users[n] {
			indeg[u]--
			if indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	if len(order) != len(nodes) {
		var stuck []string
		for _, n := range nodes {
			if indeg[n] > 0 {
				stuck = append(stuck, n.Name)
			}
		}
		sort.Strings(stuck)
		if len(stuck) > 5 {
			stuck = append(stuck[:5], "...")
		}
		return nil, fmt.Errorf("graph has a cycle through %s", strings.Join(stuck, ", "))
	}
	return order, nil
}

// Ops counts the ops of the plan's steps (not of the functions it calls).
func (p *Plan) Ops() map[string]int {
	out := map[string]int{}
	for _, st := range p.steps {
		out[st.node.Op]++
	}
	return out
}
