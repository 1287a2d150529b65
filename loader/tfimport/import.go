// Package tfimport translates TensorFlow graphs (GraphDef and the function
// library of a MetaGraphDef) into tfserve's graph IR. It resolves TF's
// input naming ("node:1", "node:output:0", "^ctrl"), fills attributes that TF
// stripped to their OpDef defaults, and counts each node's outputs from its
// OpDef.
package tfimport

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// Result is a translated MetaGraph.
type Result struct {
	// Graph is the top-level graph.
	Graph *graph.Graph
	// Library holds the translated functions.
	Library graph.Library
	// Ops counts the op names used, over the graph and every function.
	Ops map[string]int
}

// refConsumers take a TF1 reference input as a reference; every other
// consumer of a VariableV2 output reads its value.
var refConsumers = map[string]bool{
	"Assign": true, "AssignAdd": true, "AssignSub": true, "IsVariableInitialized": true,
	"ScatterUpdate": true, "ScatterAdd": true, "ScatterSub": true, "CountUpTo": true,
}

type importer struct {
	ops   map[string]*tfpb.OpDef
	funcs map[string]*tfpb.FunctionDef
	used  map[string]int
	take  tensorproto.Take
}

// Import translates a GraphDef with its library. opList is the MetaGraph's
// stripped_op_list (may be nil: then output counts of unknown ops are taken
// as 1 and stripped defaults cannot be restored).
func Import(gd *tfpb.GraphDef, opList *tfpb.OpList) (*Result, error) {
	return ImportLimited(gd, opList, nil)
}

// ImportLimited is Import that charges every tensor attribute (the Consts
// of the graph and of its functions) to take before allocating it, so a
// TensorProto declaring a huge shape with one value fails with take's
// error instead of allocating.
func ImportLimited(gd *tfpb.GraphDef, opList *tfpb.OpList, take tensorproto.Take) (*Result, error) {
	im := &importer{ops: map[string]*tfpb.OpDef{}, funcs: map[string]*tfpb.FunctionDef{}, used: map[string]int{}, take: take}
	if opList != nil {
		for _, op := range opList.Op {
			im.ops[op.Name] = op
		}
	}
	if gd.Library != nil {
		for _, f := range gd.Library.Function {
			if f.Signature == nil || f.Signature.Name == "" {
				return nil, fmt.Errorf("function library has a function without a name")
			}
			im.funcs[f.Signature.Name] = f
		}
	}
	res := &Result{Library: graph.Library{}, Ops: im.used}
	g, err := im.graphDef(gd)
	if err != nil {
		return nil, err
	}
	res.Graph = g
	names := make([]string, 0, len(im.funcs))
	for n := range im.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fg, err := im.function(im.funcs[name])
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		res.Library[name] = fg
	}
	return res, nil
}

// opAttrDefs returns the attr declarations of an op or function.
func (im *importer) opAttrDefs(op string) []*tfpb.OpDef_AttrDef {
	if d, ok := im.ops[op]; ok {
		return d.Attr
	}
	return nil
}

// outputs returns, for a node, the start index of each named output arg and
// the total number of outputs.
func (im *importer) outputs(op string, attrs kernels.Attrs) (map[string]int, int, error) {
	if f, ok := im.funcs[op]; ok {
		starts := map[string]int{}
		for i, a := range f.Signature.OutputArg {
			starts[a.Name] = i
		}
		return starts, len(f.Signature.OutputArg), nil
	}
	def, ok := im.ops[op]
	if !ok {
		return fallbackOutputs(op, attrs)
	}
	starts := map[string]int{}
	n := 0
	for _, a := range def.OutputArg {
		starts[a.Name] = n
		switch {
		case a.NumberAttr != "":
			k, ok := attrs[a.NumberAttr].(int64)
			if !ok || k < 0 {
				return nil, 0, fmt.Errorf("output %s needs int attr %s", a.Name, a.NumberAttr)
			}
			n += int(k)
		case a.TypeListAttr != "":
			n += listLen(attrs[a.TypeListAttr])
		default:
			n++
		}
	}
	return starts, n, nil
}

// zeroOutputOps have no data outputs; used when the MetaGraph's
// stripped_op_list lacks their OpDef (seen in real exports).
var zeroOutputOps = map[string]bool{
	"NoOp": true, "AssignVariableOp": true, "AssignAddVariableOp": true, "AssignSubVariableOp": true,
	"Assert": true, "SaveV2": true, "Save": true, "SaveSlices": true, "MergeV2Checkpoints": true,
	"LookupTableImportV2": true, "InitializeTableV2": true, "InitializeTableFromTextFileV2": true,
	"LookupTableInsertV2": true, "DestroyResourceOp": true, "DisableCopyOnRead": true,
}

// fallbackOutputs counts the outputs of an op whose OpDef is missing, for
// the ops whose layout we know.
func fallbackOutputs(op string, attrs kernels.Attrs) (map[string]int, int, error) {
	switch {
	case zeroOutputOps[op]:
		return map[string]int{}, 0, nil
	case op == "While" || op == "StatelessWhile":
		return map[string]int{"output": 0}, listLen(attrs["T"]), nil
	case op == "If" || op == "StatelessIf" || op == "Case" || op == "StatelessCase" ||
		op == "PartitionedCall" || op == "StatefulPartitionedCall":
		return map[string]int{"output": 0}, listLen(attrs["Tout"]), nil
	case op == "RestoreV2":
		return map[string]int{"tensors": 0}, listLen(attrs["dtypes"]), nil
	case op == "IdentityN":
		return map[string]int{"output": 0}, listLen(attrs["T"]), nil
	case op == "Unpack":
		return map[string]int{"output": 0}, int(attrs.Int("num", 1)), nil
	case op == "Split" || op == "SplitV":
		return map[string]int{"output": 0}, int(attrs.Int("num_split", 1)), nil
	case op == fuse.OpGRU:
		// Translators (Keras 3) emit the fused recurrent ops directly.
		return map[string]int{"last_output": 0, "outputs": 1, "state": 2}, 3, nil
	case op == fuse.OpLSTM:
		return map[string]int{"last_output": 0, "outputs": 1, "state_h": 2, "state_c": 3}, 4, nil
	case op == "TopKV2" || op == "Unique":
		return map[string]int{"values": 0, "y": 0, "indices": 1, "idx": 1}, 2, nil
	case op == "ParseExample":
		ns, nd := int(attrs.Int("Nsparse", 0)), int(attrs.Int("Ndense", 0))
		return map[string]int{"sparse_indices": 0, "sparse_values": ns, "sparse_shapes": 2 * ns, "dense_values": 3 * ns}, 3*ns + nd, nil
	}
	return nil, 1, nil
}

func listLen(v any) int {
	if v == nil {
		return 0
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		return rv.Len()
	}
	return 0
}

type pendingInput struct {
	node   *graph.Node
	inputs []string
}

func (im *importer) newNode(nd *tfpb.NodeDef, where string) (*graph.Node, error) {
	if nd.Op == "" {
		return nil, fmt.Errorf("node %q has no op", nd.Name)
	}
	attrs, err := decodeAttrs(nd.Attr, im.opAttrDefs(nd.Op), im.take)
	if err != nil {
		return nil, fmt.Errorf("node %s (%s): %w", nd.Name, nd.Op, err)
	}
	_, nout, err := im.outputs(nd.Op, attrs)
	if err != nil {
		return nil, fmt.Errorf("node %s (%s): %w", nd.Name, nd.Op, err)
	}
	im.used[nd.Op]++
	return &graph.Node{Name: nd.Name, Op: nd.Op, Attrs: attrs, NumOutputs: nout, Where: where}, nil
}

func (im *importer) graphDef(gd *tfpb.GraphDef) (*graph.Graph, error) {
	g := &graph.Graph{Name: "graph"}
	byName := map[string]*graph.Node{}
	var pend []pendingInput
	for _, nd := range gd.Node {
		if _, dup := byName[nd.Name]; dup {
			return nil, fmt.Errorf("duplicate node name %q", nd.Name)
		}
		n, err := im.newNode(nd, "")
		if err != nil {
			return nil, err
		}
		byName[nd.Name] = n
		g.AddNode(n)
		pend = append(pend, pendingInput{n, nd.Input})
	}
	for _, p := range pend {
		for _, in := range p.inputs {
			if strings.HasPrefix(in, "^") {
				src, ok := byName[in[1:]]
				if !ok {
					return nil, fmt.Errorf("node %s: control input %q not found", p.node.Name, in)
				}
				p.node.Control = append(p.node.Control, src)
				continue
			}
			name, idx := in, 0
			if i := strings.LastIndexByte(in, ':'); i >= 0 {
				k, err := strconv.Atoi(in[i+1:])
				if err != nil || k < 0 {
					return nil, fmt.Errorf("node %s: bad input %q", p.node.Name, in)
				}
				name, idx = in[:i], k
			}
			src, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("node %s: input %q not found", p.node.Name, in)
			}
			p.node.Inputs = append(p.node.Inputs, graph.Port{Node: src, Out: idx})
		}
	}
	im.insertRefReads(g)
	return g, nil
}

// insertRefReads gives TF1 ref-variable consumers the variable's value: a
// ReadVariableOp is placed between a VariableV2 and each consumer that is
// not a ref op.
func (im *importer) insertRefReads(g *graph.Graph) {
	reads := map[*graph.Node]*graph.Node{}
	var added []*graph.Node
	for _, n := range g.Nodes {
		if refConsumers[n.Op] {
			continue
		}
		for i, in := range n.Inputs {
			src := in.Node
			if src.Op != "VariableV2" && src.Op != "Variable" {
				continue
			}
			r, ok := reads[src]
			if !ok {
				dt := src.Attrs.Type("dtype", tensor.Float32)
				r = &graph.Node{Name: src.Name + "/_value", Op: "ReadVariableOp", NumOutputs: 1,
					Attrs: kernels.Attrs{"dtype": dt}, Inputs: []graph.Port{{Node: src}}}
				reads[src] = r
				added = append(added, r)
			}
			n.Inputs[i] = graph.Port{Node: r}
		}
	}
	g.Nodes = append(g.Nodes, added...)
}

func (im *importer) function(f *tfpb.FunctionDef) (*graph.Graph, error) {
	sig := f.Signature
	g := &graph.Graph{Name: sig.Name}
	fattrs, err := decodeAttrs(f.Attr, nil, im.take)
	if err != nil {
		return nil, err
	}
	g.Attrs = fattrs
	args := map[string]*graph.Node{}
	for i, a := range sig.InputArg {
		if a.NumberAttr != "" || a.TypeListAttr != "" {
			return nil, fmt.Errorf("argument %s is a list; only concrete functions are supported", a.Name)
		}
		n := &graph.Node{Name: a.Name, Op: graph.OpArg, NumOutputs: 1, Where: sig.Name,
			Attrs: kernels.Attrs{"index": int64(i), "T": tensor.DType(a.Type)}}
		args[a.Name] = n
		g.Args = append(g.Args, n)
		g.ArgTypes = append(g.ArgTypes, tensor.DType(a.Type))
		g.AddNode(n)
	}
	byName := map[string]*graph.Node{}
	starts := map[*graph.Node]map[string]int{}
	var pend []pendingInput
	for _, nd := range f.NodeDef {
		if _, dup := byName[nd.Name]; dup {
			return nil, fmt.Errorf("duplicate node name %q", nd.Name)
		}
		if _, clash := args[nd.Name]; clash {
			return nil, fmt.Errorf("node %q has an argument's name", nd.Name)
		}
		n, err := im.newNode(nd, sig.Name)
		if err != nil {
			return nil, err
		}
		st, _, _ := im.outputs(nd.Op, n.Attrs)
		starts[n] = st
		byName[nd.Name] = n
		g.AddNode(n)
		pend = append(pend, pendingInput{n, nd.Input})
	}
	resolve := func(ref string) (graph.Port, error) {
		parts := strings.Split(ref, ":")
		switch len(parts) {
		case 1:
			if a, ok := args[ref]; ok {
				return graph.Port{Node: a}, nil
			}
			if n, ok := byName[ref]; ok {
				return graph.Port{Node: n}, nil
			}
			return graph.Port{}, fmt.Errorf("unknown input %q", ref)
		case 2, 3:
			n, ok := byName[parts[0]]
			if !ok {
				return graph.Port{}, fmt.Errorf("unknown input %q", ref)
			}
			idx := 0
			if len(parts) == 3 {
				k, err := strconv.Atoi(parts[2])
				if err != nil || k < 0 {
					return graph.Port{}, fmt.Errorf("bad input %q", ref)
				}
				idx = k
			}
			base, ok := starts[n][parts[1]]
			if !ok {
				if im.ops[n.Op] == nil && im.funcs[n.Op] == nil {
					// Unknown op: assume outputs are numbered in order.
					return graph.Port{Node: n, Out: idx}, nil
				}
				return graph.Port{}, fmt.Errorf("input %q: op %s has no output %q", ref, n.Op, parts[1])
			}
			return graph.Port{Node: n, Out: base + idx}, nil
		}
		return graph.Port{}, fmt.Errorf("bad input %q", ref)
	}
	for _, p := range pend {
		for _, in := range p.inputs {
			if strings.HasPrefix(in, "^") {
				src, ok := byName[in[1:]]
				if !ok {
					if _, isArg := args[in[1:]]; isArg {
						continue
					}
					return nil, fmt.Errorf("node %s: control input %q not found", p.node.Name, in)
				}
				p.node.Control = append(p.node.Control, src)
				continue
			}
			port, err := resolve(in)
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", p.node.Name, err)
			}
			if port.Out >= port.Node.NumOutputs {
				// Unknown ops are assumed to have enough outputs.
				if im.ops[port.Node.Op] == nil && im.funcs[port.Node.Op] == nil {
					port.Node.NumOutputs = port.Out + 1
				} else {
					return nil, fmt.Errorf("node %s: input %q is out of range (%s has %d outputs)", p.node.Name, in, port.Node.Op, port.Node.NumOutputs)
				}
			}
			p.node.Inputs = append(p.node.Inputs, port)
		}
	}
	for _, a := range sig.OutputArg {
		ref, ok := f.Ret[a.Name]
		if !ok {
			return nil, fmt.Errorf("output %s has no ret mapping", a.Name)
		}
		port, err := resolve(ref)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", a.Name, err)
		}
		g.Rets = append(g.Rets, port)
		g.RetTypes = append(g.RetTypes, tensor.DType(a.Type))
	}
	for _, name := range sig.ControlOutput {
		ref, ok := f.ControlRet[name]
		if !ok {
			continue
		}
		n, ok := byName[ref]
		if !ok {
			return nil, fmt.Errorf("control output %s: unknown node %q", name, ref)
		}
		g.ControlRets = append(g.ControlRets, n)
	}
	// Stateful nodes that nothing depends on still run in TF2 functions
	// when they are control outputs; also keep any node named only in
	// control_ret without a signature entry.
	if len(sig.ControlOutput) == 0 {
		names := make([]string, 0, len(f.ControlRet))
		for k := range f.ControlRet {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if n, ok := byName[f.ControlRet[k]]; ok {
				g.ControlRets = append(g.ControlRets, n)
			}
		}
	}
	im.insertRefReads(g)
	return g, nil
}
