package functionalize

import (
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// taSlot says where a TensorArray op takes the array's handle and flow
// (-1: none) and whether its output 0 is a new flow.
type taSlot struct {
	handle, flow int
	flowOut      bool
}

var taSlots = map[string]taSlot{
	"TensorArrayWriteV3":   {0, 3, true},
	"TensorArrayReadV3":    {0, 2, false},
	"TensorArrayGatherV3":  {0, 2, false},
	"TensorArrayScatterV3": {0, 3, true},
	"TensorArraySizeV3":    {0, 1, false},
	"TensorArrayConcatV3":  {0, 1, false},
	"TensorArrayCloseV3":   {0, -1, false},
}

// taOps are the TensorArray ops Uses looks for.
var taOps = map[string]bool{"TensorArrayV3": true}

func init() {
	for op := range taSlots {
		taOps[op] = true
	}
}

// passThrough ops forward a value unchanged (for a TensorArray, its handle
// or flow).
func passThrough(n *graph.Node) bool {
	k := kindOf(n)
	return (k != kNone && k != kLoopCond) || n.Op == "Identity"
}

// passOutputs are the outputs of a pass-through node that forward its
// input.
func passOutputs(n *graph.Node) []int {
	if kindOf(n) == kSwitch {
		return []int{0, 1}
	}
	return []int{0}
}

// tensorArraysToLists rewrites every TensorArrayV3 of g, and the ops that
// use it, to TensorList ops whose list travels where the array's flow did:
//
//	TensorArrayV3(size)                 → TensorListReserve(element_shape, size)
//	TensorArrayWriteV3(h, i, v, flow)   → TensorListSetItem(flow, i, v)
//	TensorArrayReadV3(h, i, flow)       → TensorListGetItem(flow, i, -1)
//	TensorArrayGatherV3(h, idx, flow)   → TensorListGather(flow, idx, element_shape)
//	TensorArrayScatterV3(h, idx, v, fl) → TensorListScatterIntoExistingList(flow, v, idx)
//	TensorArraySizeV3(h, flow)          → TensorListLength(flow)
//	TensorArrayConcatV3(h, flow)        → TensorListConcatV2(flow, -1, [])
//	TensorArrayCloseV3(h)               → NoOp
//
// The handles (and the Enters that carried them into loops) are left
// unread. It changes nothing, and reports false, unless every use of every
// array's handle and flow is one of these ops or passes through
// Enter/Exit/Merge/Switch/NextIteration/Identity.
func tensorArraysToLists(g *graph.Graph) bool {
	var arrays []*graph.Node
	for _, n := range g.Nodes {
		switch {
		case n.Op == "TensorArrayV3":
			arrays = append(arrays, n)
		case strings.HasPrefix(n.Op, "TensorArray") && !taOps[n.Op]:
			return false // a variant we do not rewrite (Grad, Split, V2, ...)
		}
	}
	if len(arrays) == 0 {
		return false
	}
	users := usersOf(g)
	// Find every port that carries an array's handle or flow.
	values := map[graph.Port]bool{}
	var work []graph.Port
	mark := func(pt graph.Port) {
		if !values[pt] {
			values[pt] = true
			work = append(work, pt)
		}
	}
	for _, a := range arrays {
		if len(a.Inputs) != 1 || a.NumOutputs < 2 {
			return false
		}
		mark(graph.Port{Node: a})
		mark(graph.Port{Node: a, Out: 1})
	}
	var ops, passes []*graph.Node
	seen := map[*graph.Node]bool{}
	for len(work) > 0 {
		pt := work[len(work)-1]
		work = work[:len(work)-1]
		for _, u := range users[pt.Node] {
			if u.in < 0 || u.n.Inputs[u.in] != pt {
				continue
			}
			n := u.n
			if s, ok := taSlots[n.Op]; ok {
				if u.in != s.handle && u.in != s.flow {
					return false
				}
				if s.flowOut {
					mark(graph.Port{Node: n})
				}
				if !seen[n] {
					seen[n] = true
					ops = append(ops, n)
				}
				continue
			}
			if !passThrough(n) || (kindOf(n) == kSwitch && u.in != 0) {
				return false
			}
			if !seen[n] {
				seen[n] = true
				passes = append(passes, n)
			}
			for _, o := range passOutputs(n) {
				mark(graph.Port{Node: n, Out: o})
			}
		}
	}
	// A Merge carries an array only if every input does.
	for _, n := range passes {
		if kindOf(n) == kMerge {
			for _, in := range n.Inputs {
				if !values[in] {
					return false
				}
			}
		}
	}
	// Every op must use an array's flow and a handle traced back to its
	// TensorArrayV3.
	src := map[*graph.Node]*graph.Node{}
	for _, n := range ops {
		s := taSlots[n.Op]
		if len(n.Inputs) <= max(s.handle, s.flow) {
			return false
		}
		if s.flow >= 0 && !values[n.Inputs[s.flow]] {
			return false
		}
		cur := n.Inputs[s.handle]
		for steps := 0; ; steps++ {
			if steps > len(g.Nodes) {
				return false
			}
			if cur.Node.Op == "TensorArrayV3" && cur.Out == 0 {
				break
			}
			if !passThrough(cur.Node) || len(cur.Node.Inputs) == 0 {
				return false
			}
			cur = cur.Node.Inputs[0]
		}
		src[n] = cur.Node
	}
	for _, n := range g.Nodes {
		if _, ok := taSlots[n.Op]; ok && !seen[n] {
			return false // an op on an array that does not come from a TensorArrayV3 here
		}
	}

	names := make(map[string]bool, len(g.Nodes))
	for _, n := range g.Nodes {
		names[n.Name] = true
	}
	where := ""
	if len(g.Nodes) > 0 {
		where = g.Nodes[0].Where
	}
	shapeConst := func(base string, s tensor.Shape) graph.Port {
		name := base + "/_element_shape"
		for k := 1; names[name]; k++ {
			name = base + "/_element_shape_" + strconv.Itoa(k)
		}
		names[name] = true
		var v *tensor.Tensor
		if s == nil {
			v = tensor.Scalar(int32(-1))
		} else {
			d := make([]int32, len(s))
			for i, x := range s {
				d[i] = int32(max(x, -1))
			}
			v = tensor.FromSlice(tensor.Shape{len(d)}, d)
		}
		c := &graph.Node{Name: name, Op: graph.OpConst, NumOutputs: 1, Where: where, Attrs: kernels.Attrs{"value": v, "dtype": tensor.Int32}}
		g.AddNode(c)
		return graph.Port{Node: c}
	}
	for _, n := range passes {
		a := make(kernels.Attrs, len(n.Attrs)+1)
		for k, v := range n.Attrs {
			a[k] = v
		}
		a["T"] = tensor.Variant
		n.Attrs = a
	}
	for _, a := range arrays {
		dt := a.Attrs.Type("dtype", tensor.Invalid)
		es, _ := a.Attrs["element_shape"].(tensor.Shape)
		a.Op = "TensorListReserve"
		a.Inputs = []graph.Port{shapeConst(a.Name, es), a.Inputs[0]}
		a.Attrs = kernels.Attrs{"element_dtype": dt, "shape_type": tensor.Int32}
		a.NumOutputs = 1
		for _, u := range users[a] {
			if u.in >= 0 && u.n.Inputs[u.in].Node == a {
				u.n.Inputs[u.in].Out = 0
			}
		}
	}
	for _, n := range ops {
		s := src[n]
		dt := s.Attrs.Type("dtype", tensor.Invalid)
		in := n.Inputs
		switch n.Op {
		case "TensorArrayWriteV3":
			n.Op = "TensorListSetItem"
			n.Inputs = []graph.Port{in[3], in[1], in[2]}
			n.Attrs = kernels.Attrs{"element_dtype": dt, "resize_if_index_out_of_bounds": s.Attrs.Bool("dynamic_size", false)}
		case "TensorArrayReadV3":
			n.Op = "TensorListGetItem"
			n.Inputs = []graph.Port{in[2], in[1], shapeConst(n.Name, nil)}
			n.Attrs = kernels.Attrs{"element_dtype": dt}
		case "TensorArrayGatherV3":
			es, _ := n.Attrs["element_shape"].(tensor.Shape)
			n.Op = "TensorListGather"
			n.Inputs = []graph.Port{in[2], in[1], shapeConst(n.Name, es)}
			n.Attrs = kernels.Attrs{"element_dtype": dt}
		case "TensorArrayScatterV3":
			n.Op = "TensorListScatterIntoExistingList"
			n.Inputs = []graph.Port{in[3], in[2], in[1]}
			n.Attrs = kernels.Attrs{"element_dtype": dt}
		case "TensorArraySizeV3":
			n.Op = "TensorListLength"
			n.Inputs = []graph.Port{in[1]}
			n.Attrs = kernels.Attrs{}
		case "TensorArrayConcatV3":
			lead := &graph.Node{Name: n.Name + "/_leading_dims", Op: graph.OpConst, NumOutputs: 1, Where: where,
				Attrs: kernels.Attrs{"value": tensor.FromSlice(tensor.Shape{0}, []int64{}), "dtype": tensor.Int64}}
			g.AddNode(lead)
			n.Op = "TensorListConcatV2"
			n.Inputs = []graph.Port{in[1], shapeConst(n.Name, nil), {Node: lead}}
			n.Attrs = kernels.Attrs{"element_dtype": dt, "shape_type": tensor.Int32}
			n.NumOutputs = 2
		case "TensorArrayCloseV3":
			n.Op = graph.OpNoOp
			n.Inputs = nil
			n.Attrs = kernels.Attrs{}
			n.NumOutputs = 0
		}
	}
	return true
}
