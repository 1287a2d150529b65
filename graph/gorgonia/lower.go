package gorgonia

import (
	"context"
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// value is what a node output becomes during lowering: a constant known at
// lowering time, a gorgonia node (request-dependent), or a TensorList.
type value struct {
	c *tensor.Tensor
	n *G.Node
	// dt and shape describe n. dt is Bool for 0/1 float masks.
	dt    tensor.DType
	shape tensor.Shape
	list  *tlist
	// floatInt marks an integer value held as an integral float32 node
	// (a float input cast to int32 for an embedding lookup).
	floatInt bool
	// opaque marks a request-dependent value gorgonia cannot hold (strings).
	opaque bool
	// host, when positive, is 1 + the host-stage slot holding the value
	// (see boundary.go).
	host int
}

func (v *value) dynamic() bool { return v.c == nil }

// tlist is a TensorList whose items are values.
type tlist struct {
	dt        tensor.DType
	elemShape tensor.Shape // may hold -1; nil for unknown rank
	items     []*value
}

func (l *tlist) clone() *tlist {
	c := *l
	c.items = append([]*value(nil), l.items...)
	return &c
}

type frame struct {
	g     *graph.Graph
	where string
	fed   map[*graph.Node]*value
	memo  map[*graph.Node][]*value
	depth int
}

type lowerer struct {
	sess   *graph.Session
	lib    graph.Library
	opts   Options
	g      *G.ExprGraph
	nconst int
	slices map[sliceKey][2]int
	kctx   *kernels.Context
	ops    map[string]lowerFunc
	// host is the stage before the graph; probes are its slots' stand-in
	// values; inputs maps a materialized slot (1-based) to its graph input.
	host   hostStage
	probes []*tensor.Tensor
	inputs map[int]*value
	// args, when lowering for a request, are its inputs: the host stage
	// is lowered on them rather than on stand-ins (a parser's output
	// shapes depend on the data).
	args []*tensor.Tensor
}

func newLowerer(sess *graph.Session, opts Options) *lowerer {
	return &lowerer{sess: sess, lib: sess.Library(), opts: opts, g: G.NewGraph(), slices: map[sliceKey][2]int{}, kctx: &kernels.Context{}, ops: opLowerings()}
}

func (lw *lowerer) unsupported(n *graph.Node, why string, args ...any) error {
	name := n.Name
	if n.Where != "" {
		name = n.Where + "/" + n.Name
	}
	return &UnsupportedError{Op: n.Op, Node: name, Why: fmt.Sprintf(why, args...)}
}

func (lw *lowerer) lowerSignature(top *graph.Graph, sp *graph.SignaturePlan, shapes []tensor.Shape) (*machine, error) {
	mc := &machine{g: lw.g}
	fr := &frame{g: top, fed: map[*graph.Node]*value{}, memo: map[*graph.Node][]*value{}}
	for i, f := range sp.Feeds {
		dt := sp.DTypes[i]
		gdt, ok := gDType(dt)
		if !ok {
			fr.fed[f.Node] = lw.seedHost(i, dt, shapes[i])
			mc.inputs = append(mc.inputs, nil)
			mc.inVals = append(mc.inVals, nil)
			continue
		}
		backing := gt.New(gt.WithShape(gShape(shapes[i])...), gt.Of(gdt))
		var n *G.Node
		if len(shapes[i]) == 0 {
			// A scalar input is fed as a one-element vector reshaped to ().
			backing = gt.New(gt.WithShape(1), gt.Of(gdt))
			vn := G.NewTensor(lw.g, gdt, 1, G.WithShape(1), G.WithName(fmt.Sprintf("input_%d_%s", i, sp.Inputs[i])), G.WithValue(backing))
			fr.fed[f.Node] = &value{n: vn, dt: dt, shape: tensor.Shape{}}
			mc.inputs = append(mc.inputs, vn)
			mc.inVals = append(mc.inVals, backing)
			continue
		}
		n = G.NewTensor(lw.g, gdt, len(shapes[i]), G.WithShape(gShape(shapes[i])...), G.WithName(fmt.Sprintf("input_%d_%s", i, sp.Inputs[i])), G.WithValue(backing))
		fr.fed[f.Node] = &value{n: n, dt: dt, shape: shapes[i].Clone()}
		mc.inputs = append(mc.inputs, n)
		mc.inVals = append(mc.inVals, backing)
	}
	anyNode := false
	for i, f := range sp.Fetches {
		v, err := lw.eval(fr, f)
		if err != nil {
			return nil, err
		}
		switch {
		case v.c != nil:
			mc.outs = append(mc.outs, output{c: v.c})
		case v.host > 0:
			mc.outs = append(mc.outs, output{slot: v.host})
		case v.n != nil:
			mc.outs = append(mc.outs, output{n: v.n, dt: v.dt, shape: v.shape})
			anyNode = true
		default:
			return nil, fmt.Errorf("gorgonia engine: output %s is not a tensor gorgonia can compute", sp.Outputs[i])
		}
	}
	if anyNode || len(lw.host.feeds) > 0 {
		mc.vm = G.NewTapeMachine(lw.g)
	}
	mc.host = lw.host
	mc.host.kctx = &kernels.Context{}
	return mc, nil
}

// eval returns the value of one node output.
func (lw *lowerer) eval(fr *frame, p graph.Port) (*value, error) {
	if v, ok := fr.fed[p.Node]; ok {
		return v, nil
	}
	outs, err := lw.evalNode(fr, p.Node)
	if err != nil {
		return nil, err
	}
	if p.Out >= len(outs) {
		return nil, fmt.Errorf("gorgonia engine: node %s has %d outputs, no %d", p.Node.Name, len(outs), p.Out)
	}
	return outs[p.Out], nil
}

func (lw *lowerer) evalNode(fr *frame, n *graph.Node) ([]*value, error) {
	if outs, ok := fr.memo[n]; ok {
		if outs == nil {
			return nil, fmt.Errorf("gorgonia engine: cycle through node %s", n.Name)
		}
		return outs, nil
	}
	fr.memo[n] = nil
	in := make([]*value, len(n.Inputs))
	for i, p := range n.Inputs {
		v, err := lw.eval(fr, p)
		if err != nil {
			return nil, err
		}
		in[i] = v
	}
	outs, err := lw.lowerNode(fr, n, in)
	if err != nil {
		return nil, err
	}
	fr.memo[n] = outs
	return outs, nil
}

func allConst(in []*value) bool {
	for _, v := range in {
		if v.c == nil {
			return false
		}
	}
	return true
}

func (lw *lowerer) lowerNode(fr *frame, n *graph.Node, in []*value) ([]*value, error) {
	// Calls are inlined.
	if callee, ok := lw.lib[n.Op]; ok {
		return lw.call(fr, n, callee, in)
	}
	switch n.Op {
	case "PartitionedCall", "StatefulPartitionedCall":
		f, ok := n.Attrs["f"].(kernels.FuncRef)
		if !ok {
			return nil, fmt.Errorf("gorgonia engine: %s has no function", n.Name)
		}
		callee, ok := lw.lib[f.Name]
		if !ok {
			return nil, fmt.Errorf("gorgonia engine: function %s is not in the library", f.Name)
		}
		return lw.call(fr, n, callee, in)
	case "While", "StatelessWhile":
		return lw.while(fr, n, in)
	case "If", "StatelessIf":
		if in[0].c == nil {
			return nil, lw.unsupported(n, "the branch predicate depends on the request")
		}
		c, err := kernels.Truth(in[0].c)
		if err != nil {
			return nil, err
		}
		br := "else_branch"
		if c {
			br = "then_branch"
		}
		f, _ := n.Attrs[br].(kernels.FuncRef)
		callee, ok := lw.lib[f.Name]
		if !ok {
			return nil, fmt.Errorf("gorgonia engine: If branch %q is not in the library", f.Name)
		}
		return lw.call(fr, n, callee, in[1:])
	case "Case", "StatelessCase":
		if in[0].c == nil {
			return nil, lw.unsupported(n, "the branch index depends on the request")
		}
		fs, _ := n.Attrs["branches"].([]kernels.FuncRef)
		idx := int(toInts(in[0].c)[0])
		if idx < 0 || idx >= len(fs) {
			idx = len(fs) - 1
		}
		callee, ok := lw.lib[fs[idx].Name]
		if !ok {
			return nil, fmt.Errorf("gorgonia engine: Case branch is not in the library")
		}
		return lw.call(fr, n, callee, in[1:])
	case graph.OpConst:
		v, ok := n.Attrs["value"].(*tensor.Tensor)
		if !ok {
			return nil, fmt.Errorf("gorgonia engine: Const %s has no value", n.Name)
		}
		return []*value{{c: v}}, nil
	case graph.OpNoOp:
		return []*value{}, nil
	case graph.OpPlaceholder, graph.OpArg:
		return nil, fmt.Errorf("gorgonia engine: placeholder %s is not fed", n.Name)
	case "PlaceholderWithDefault":
		return []*value{in[0]}, nil
	}
	if graph.IsResourceOp(n.Op) {
		t, ok := lw.sess.Resource(n)
		if !ok {
			return nil, fmt.Errorf("gorgonia engine: resource %s (%s) was never created by the model's restore or init", n.Name, n.Op)
		}
		return []*value{{c: t}}, nil
	}
	if in1 := len(in) == 1 && in[0].list != nil; in1 && (n.Op == "Identity" || n.Op == "StopGradient") {
		return []*value{in[0]}, nil
	}
	if isListOp(n.Op) {
		return lw.listOp(n, in)
	}
	for _, v := range in {
		if v.list != nil {
			return nil, lw.unsupported(n, "TensorList input")
		}
	}
	if allConst(in) {
		return lw.fold(n, in)
	}
	// Shape-only ops on request-dependent values are constants: shapes are
	// fixed when lowering.
	switch n.Op {
	case "Shape":
		return []*value{{c: shapeTensor(in[0].shape, n.Attrs.Type("out_type", tensor.Int32))}}, nil
	case "ShapeN":
		outs := make([]*value, len(in))
		for i, v := range in {
			outs[i] = &value{c: shapeTensor(v.shape, n.Attrs.Type("out_type", tensor.Int32))}
		}
		return outs, nil
	case "Size":
		return []*value{{c: intTensor(n.Attrs.Type("out_type", tensor.Int32), tensor.Shape{}, []int64{int64(in[0].shape.NumElements())})}}, nil
	case "Rank":
		return []*value{{c: intTensor(tensor.Int32, tensor.Shape{}, []int64{int64(len(in[0].shape))})}}, nil
	case "ZerosLike", "OnesLike":
		dt := in[0].dt
		t := tensor.New(dt, in[0].shape.Clone())
		if n.Op == "OnesLike" {
			fillOnes(t)
		}
		return []*value{{c: t}}, nil
	}
	if hostOnly(in) {
		return lw.hostNode(n, in)
	}
	for i, v := range in {
		m, err := lw.materialize(v)
		if err != nil {
			return nil, err
		}
		in[i] = m
	}
	for _, v := range in {
		if v.opaque {
			return nil, lw.unsupported(n, "input of type %v from the request", v.dt)
		}
	}
	if kernelNodeOps[n.Op] && n.Op != "Cast" {
		return lw.kernelNode(n, in)
	}
	if !floatIntOK[n.Op] {
		for _, v := range in {
			if v.floatInt {
				return nil, lw.unsupported(n, "integer arithmetic on a request-dependent value")
			}
		}
	}
	outs, err := lw.lowerOp(n, in)
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// fold evaluates a request-independent node with tfserve's kernel.
func (lw *lowerer) fold(n *graph.Node, in []*value) ([]*value, error) {
	b, ok := lw.opts.Registry(n.Op)
	if !ok {
		return nil, lw.unsupported(n, "no kernel to evaluate this request-independent node")
	}
	fn, err := b(n.Attrs, len(n.Inputs))
	if err != nil {
		return nil, fmt.Errorf("gorgonia engine: node %s (%s): %w", n.Name, n.Op, err)
	}
	args := make([]*tensor.Tensor, len(in))
	for i, v := range in {
		args[i] = v.c
	}
	res, err := fn(lw.kctx, args)
	if err != nil {
		return nil, fmt.Errorf("gorgonia engine: evaluating %s (%s): %w", n.Name, n.Op, err)
	}
	outs := make([]*value, len(res))
	for i, t := range res {
		outs[i] = &value{c: t}
	}
	return outs, nil
}

func (lw *lowerer) call(fr *frame, n *graph.Node, callee *graph.Graph, in []*value) ([]*value, error) {
	if fr.depth > 64 {
		return nil, fmt.Errorf("gorgonia engine: calls nested too deep at %s", n.Name)
	}
	if len(in) != len(callee.Args) {
		return nil, fmt.Errorf("gorgonia engine: %s calls %s with %d inputs; it takes %d", n.Name, callee.Name, len(in), len(callee.Args))
	}
	sub := &frame{g: callee, where: callee.Name, fed: make(map[*graph.Node]*value, len(in)), memo: map[*graph.Node][]*value{}, depth: fr.depth + 1}
	for i, a := range callee.Args {
		sub.fed[a] = in[i]
	}
	outs := make([]*value, len(callee.Rets))
	for i, r := range callee.Rets {
		v, err := lw.eval(sub, r)
		if err != nil {
			return nil, err
		}
		outs[i] = v
	}
	return outs, nil
}

// while unrolls a While loop: the condition must be computable without the
// request's values.
func (lw *lowerer) while(fr *frame, n *graph.Node, in []*value) ([]*value, error) {
	cf, _ := n.Attrs["cond"].(kernels.FuncRef)
	bf, _ := n.Attrs["body"].(kernels.FuncRef)
	cond, ok1 := lw.lib[cf.Name]
	body, ok2 := lw.lib[bf.Name]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("gorgonia engine: While %s: cond or body missing from the library", n.Name)
	}
	vars := in
	for iter := 0; ; iter++ {
		if iter > lw.opts.MaxUnroll {
			return nil, lw.unsupported(n, "loop runs more than %d iterations", lw.opts.MaxUnroll)
		}
		cv, err := lw.call(fr, n, cond, vars)
		if err != nil {
			return nil, err
		}
		if len(cv) != 1 {
			return nil, fmt.Errorf("gorgonia engine: While %s: condition returns %d values", n.Name, len(cv))
		}
		if cv[0].c == nil {
			return nil, lw.unsupported(n, "the loop condition depends on the request's values, so the loop cannot be unrolled")
		}
		c, err := kernels.Truth(cv[0].c)
		if err != nil {
			return nil, err
		}
		if !c {
			return vars, nil
		}
		nv, err := lw.call(fr, n, body, vars)
		if err != nil {
			return nil, err
		}
		if len(nv) != len(vars) {
			return nil, fmt.Errorf("gorgonia engine: While %s: body returns %d values for %d loop variables", n.Name, len(nv), len(vars))
		}
		vars = nv
	}
}

// runKernel evaluates op on constant tensors with tfserve's kernels.
func (lw *lowerer) runKernel(op string, attrs kernels.Attrs, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	b, ok := lw.opts.Registry(op)
	if !ok {
		return nil, fmt.Errorf("no kernel %s", op)
	}
	fn, err := b(attrs, len(in))
	if err != nil {
		return nil, err
	}
	return fn(lw.kctx, in)
}

var _ = context.Background

// floatIntOK lists the ops that may consume an integer held as float.
var floatIntOK = map[string]bool{"ResourceGather": true, "GatherV2": true, "Identity": true, "StopGradient": true}
