package gorgonia

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// The input boundary. Strings cannot live in an ExprGraph, so string
// request inputs, and what the model computes from them alone (StringLookup's
// hash-table lookups, reshapes of the keys), run before the graph with
// tfserve's kernels: the host stage. Their numeric results enter the graph
// as extra inputs, fed on every run; the numeric work stays in the graph.
//
// A host value is held in a slot of the machine's host stage: a request
// input seeds it, or a hostStep computes it.

// hostStep runs one node's kernel in the host stage.
type hostStep struct {
	node string
	fn   kernels.Func
	args []hostArg
	outs []int // slot of each output
}

// hostArg is a constant or a slot.
type hostArg struct {
	c    *tensor.Tensor
	slot int
}

// hostFeed copies a numeric slot into a graph input before each run.
type hostFeed struct {
	slot    int
	backing *gt.Dense
}

// hostStage is what a machine runs before its graph.
type hostStage struct {
	slots int
	seeds map[int]int // request input index → slot
	steps []hostStep
	feeds []hostFeed
	kctx  *kernels.Context
}

// run computes the slots from the request's inputs and copies the numeric
// ones into their graph inputs.
func (hs *hostStage) run(args []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if hs.slots == 0 {
		return nil, nil
	}
	slots := make([]*tensor.Tensor, hs.slots)
	for in, s := range hs.seeds {
		slots[s] = args[in]
	}
	for _, st := range hs.steps {
		in := make([]*tensor.Tensor, len(st.args))
		for i, a := range st.args {
			if in[i] = a.c; in[i] == nil {
				in[i] = slots[a.slot]
			}
		}
		outs, err := st.fn(hs.kctx, in)
		if err != nil {
			return nil, fmt.Errorf("host node %s: %w", st.node, err)
		}
		if len(outs) < len(st.outs) {
			return nil, fmt.Errorf("host node %s: %d outputs, want %d", st.node, len(outs), len(st.outs))
		}
		for i, s := range st.outs {
			slots[s] = outs[i]
		}
	}
	for _, f := range hs.feeds {
		t := slots[f.slot]
		if err := fillHeld(f.backing, t); err != nil {
			return nil, err
		}
	}
	return slots, nil
}

// fillHeld copies t into a graph tensor holding its dtype as heldAs says.
func fillHeld(dst *gt.Dense, t *tensor.Tensor) error {
	d, err := toDense("host value", t, t.DType, t.Shape, dst.Dtype())
	if err != nil {
		return err
	}
	if d.Len() != dst.Len() {
		return fmt.Errorf("host value %v: %d values for a graph input of %d", t.Shape, d.Len(), dst.Len())
	}
	switch x := dst.Data().(type) {
	case []float32:
		copy(x, d.Data().([]float32))
	case []float64:
		copy(x, d.Data().([]float64))
	}
	return nil
}

// statefulHost reports ops that change state: never run for a request in
// the host stage.
func statefulHost(op string) bool {
	for _, w := range []string{"Assign", "Insert", "Import", "Remove", "Initialize", "Variable"} {
		if strings.Contains(op, w) {
			return true
		}
	}
	return false
}

// seedHost makes request input i, of a dtype the graph cannot hold, a
// host value.
func (lw *lowerer) seedHost(i int, dt tensor.DType, shape tensor.Shape) *value {
	probe := tensor.New(dt, shape.Clone())
	if i < len(lw.args) && lw.args[i] != nil {
		probe = lw.args[i]
	}
	s := lw.newSlot(probe)
	if lw.host.seeds == nil {
		lw.host.seeds = map[int]int{}
	}
	lw.host.seeds[i] = s
	return &value{host: s + 1, opaque: dt == tensor.String, dt: dt, shape: shape.Clone()}
}

func (lw *lowerer) newSlot(probe *tensor.Tensor) int {
	lw.probes = append(lw.probes, probe)
	lw.host.slots++
	return lw.host.slots - 1
}

// hostNode runs n in the host stage: its inputs are constants and host
// values. The outputs' dtypes and shapes come from running the kernel on
// the stand-in values the slots were lowered with.
func (lw *lowerer) hostNode(n *graph.Node, in []*value) ([]*value, error) {
	if statefulHost(n.Op) {
		return nil, lw.unsupported(n, "a stateful op on a request-dependent value")
	}
	fn, err := lw.kernelFunc(n)
	if err != nil {
		return nil, err
	}
	st := hostStep{node: nodeName(n), fn: fn, args: make([]hostArg, len(in))}
	probe := make([]*tensor.Tensor, len(in))
	for i, v := range in {
		if v.c != nil {
			st.args[i] = hostArg{c: v.c}
			probe[i] = v.c
			continue
		}
		st.args[i] = hostArg{slot: v.host - 1}
		probe[i] = lw.probes[v.host-1]
	}
	outs, err := fn(lw.kctx, probe)
	if err != nil {
		return nil, fmt.Errorf("gorgonia engine: node %s (%s) on inputs of the lowered shapes: %w", n.Name, n.Op, err)
	}
	res := make([]*value, len(outs))
	for i, o := range outs {
		s := lw.newSlot(o)
		st.outs = append(st.outs, s)
		res[i] = &value{host: s + 1, opaque: o.DType == tensor.String, dt: o.DType, shape: o.Shape.Clone()}
	}
	lw.host.steps = append(lw.host.steps, st)
	return res, nil
}

// materialize turns a numeric host value into a graph input fed from its
// slot (once per slot); string host values stay opaque.
func (lw *lowerer) materialize(v *value) (*value, error) {
	if v.host == 0 || v.opaque {
		return v, nil
	}
	if m, ok := lw.inputs[v.host]; ok {
		return m, nil
	}
	gdt, ok := heldAs(v.dt)
	if !ok {
		return nil, fmt.Errorf("gorgonia engine: a %v value computed before the graph cannot enter it", v.dt)
	}
	shape := gShape1(v.shape)
	backing := gt.New(gt.WithShape(shape...), gt.Of(gdt))
	n := G.NewTensor(lw.g, gdt, len(shape), G.WithShape(shape...), G.WithName(fmt.Sprintf("host_%d", v.host-1)), G.WithValue(backing))
	lw.host.feeds = append(lw.host.feeds, hostFeed{slot: v.host - 1, backing: backing})
	isInt := v.dt != tensor.Float32 && v.dt != tensor.Float64 && v.dt != tensor.Bool
	m := &value{n: n, dt: v.dt, shape: v.shape.Clone(), floatInt: isInt}
	if lw.inputs == nil {
		lw.inputs = map[int]*value{}
	}
	lw.inputs[v.host] = m
	return m, nil
}

// hostOnly reports whether in mixes host values with constants only (no
// graph node), so that n runs in the host stage.
func hostOnly(in []*value) bool {
	host := false
	for _, v := range in {
		switch {
		case v.host > 0:
			host = true
		case v.c == nil:
			return false
		}
	}
	return host
}
