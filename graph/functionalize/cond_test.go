package functionalize_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/functionalize"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// cond writes a v1 tf.cond as TensorFlow 1 does: Switch(pred, pred) gives
// the pivots switch_t/switch_f (branch constants hang on them by control
// edges), the captured values go through Switches on pred_id =
// Identity(pred), and a Merge per output joins the branches. The branch
// builders get the captured values and their pivot; it returns the Merges.
func (b *builder) cond(name string, pred graph.Port, capture []graph.Port, then, els func(in []graph.Port, pivot *graph.Node) []graph.Port) []graph.Port {
	psw := b.node(name+"/Switch", "Switch", 2, kernels.Attrs{"T": tensor.Bool}, pred, pred)
	pivotT := b.node(name+"/switch_t", "Identity", 1, kernels.Attrs{"T": tensor.Bool}, graph.Port{Node: psw, Out: 1})
	pivotF := b.node(name+"/switch_f", "Identity", 1, kernels.Attrs{"T": tensor.Bool}, graph.Port{Node: psw})
	predID := b.out(name+"/pred_id", "Identity", kernels.Attrs{"T": tensor.Bool}, pred)
	var ins [2][]graph.Port
	for _, c := range capture {
		sw := b.node(name+"/Switch_1", "Switch", 2, kernels.Attrs{"T": dtypeOf(c)}, c, predID)
		ins[0] = append(ins[0], graph.Port{Node: sw})
		ins[1] = append(ins[1], graph.Port{Node: sw, Out: 1})
	}
	t := then(ins[1], pivotT)
	f := els(ins[0], pivotF)
	var merges []graph.Port
	for i := range t {
		merges = append(merges, graph.Port{Node: b.node(name+"/Merge", "Merge", 2, kernels.Attrs{"T": dtypeOf(t[i]), "N": int64(2)}, f[i], t[i])})
	}
	return merges
}

// pinned is a constant with a control edge from pivot, as tf.cond writes
// branch constants.
func (b *builder) pinned(v *tensor.Tensor, pivot *graph.Node) graph.Port {
	c := b.node("", graph.OpConst, 1, kernels.Attrs{"value": v, "dtype": v.DType})
	c.Control = []*graph.Node{pivot}
	return graph.Port{Node: c}
}

func noV1Cond(t *testing.T, g *graph.Graph, lib graph.Library) {
	t.Helper()
	noV1(t, g)
	for name, f := range lib {
		for _, n := range f.Nodes {
			if n.Op == "Switch" || n.Op == "Merge" {
				t.Errorf("function %s: node %s (%s) left", name, n.Name, n.Op)
			}
		}
	}
}

// TestCond: y, z = tf.cond(p, lambda: (x*3, x), lambda: (x+1, 7)) becomes
// an If; both branches run as TF would run them.
func TestCond(t *testing.T) {
	b := newBuilder()
	p := b.placeholder("p", tensor.Bool)
	x := b.placeholder("x", tensor.Int32)
	outs := b.cond("cond", p, []graph.Port{x},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			return []graph.Port{b.out("cond/mul", "Mul", nil, in[0], b.pinned(i32(3), pv)), b.out("cond/id", "Identity", nil, in[0])}
		},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			return []graph.Port{b.out("cond/add", "Add", nil, in[0], b.pinned(i32(1), pv)), b.pinned(i32(7), pv)}
		})
	y := b.out("y", "Identity", nil, outs[0])
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1Cond(t, b.g, lib)
	ifs := 0
	for _, n := range b.g.Nodes {
		if n.Op == "If" {
			ifs++
		}
	}
	if ifs != 1 || len(lib) != 2 {
		t.Errorf("%d If nodes and %d functions, want 1 and 2", ifs, len(lib))
	}
	for _, c := range []struct {
		p        bool
		x, y, z1 int32
	}{{true, 5, 15, 5}, {false, 5, 6, 7}, {true, -2, -6, -2}, {false, 0, 1, 7}} {
		out := run(t, b.g, lib, []graph.Port{p, x}, []*tensor.Tensor{tensor.Scalar(c.p), i32(c.x)}, y, outs[1])
		if out[0].I32()[0] != c.y || out[1].I32()[0] != c.z1 {
			t.Errorf("p=%v x=%d: got %d, %d, want %d, %d", c.p, c.x, out[0].I32()[0], out[1].I32()[0], c.y, c.z1)
		}
	}
}

// TestNestedCondAndLoop: the true branch of the outer cond holds an inner
// cond on another predicate and the else branch a while loop (counting x
// up to 10); the loop becomes a While inside the else function, the
// inner cond an If inside the then function.
func TestNestedCondAndLoop(t *testing.T) {
	b := newBuilder()
	p := b.placeholder("p", tensor.Bool)
	q := b.placeholder("q", tensor.Bool)
	x := b.placeholder("x", tensor.Int32)
	outs := b.cond("outer", p, []graph.Port{x, q},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			inner := b.cond("outer/inner", in[1], []graph.Port{in[0]},
				func(in2 []graph.Port, pv2 *graph.Node) []graph.Port {
					return []graph.Port{b.out("outer/inner/neg", "Neg", nil, in2[0])}
				},
				func(in2 []graph.Port, pv2 *graph.Node) []graph.Port {
					return []graph.Port{b.out("outer/inner/sq", "Mul", nil, in2[0], in2[0])}
				})
			return []graph.Port{b.out("outer/plus", "Add", nil, inner[0], b.pinned(i32(100), pv))}
		},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			ten := b.pinned(i32(10), pv)
			exits := b.loop("outer/while", []graph.Port{in[0]}, []graph.Port{ten},
				func(v []graph.Port) graph.Port { return b.out("outer/while/Less", "Less", nil, v[0], v[1]) },
				func(v []graph.Port) []graph.Port {
					return []graph.Port{b.out("outer/while/inc", "Add", nil, v[0], b.cnst(i32(1)))}
				})
			return []graph.Port{b.out("outer/loop_out", "Identity", nil, exits[0])}
		})
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1Cond(t, b.g, lib)
	for _, c := range []struct {
		p, q    bool
		x, want int32
	}{{true, true, 4, 96}, {true, false, 4, 116}, {false, true, 4, 10}, {false, false, 12, 12}} {
		out := run(t, b.g, lib, []graph.Port{p, q, x}, []*tensor.Tensor{tensor.Scalar(c.p), tensor.Scalar(c.q), i32(c.x)}, outs[0])
		if got := out[0].I32()[0]; got != c.want {
			t.Errorf("p=%v q=%v x=%d: %d, want %d", c.p, c.q, c.x, got, c.want)
		}
	}
}

// TestCondErrors: values read from a branch other than through its Merge,
// and a Merge's value_index, fail naming the node.
func TestCondErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *builder)
		want  string
	}{
		{"both branches' values read together", func(b *builder) {
			p := b.placeholder("p", tensor.Bool)
			x := b.placeholder("x", tensor.Int32)
			var leak [2]graph.Port
			b.cond("c", p, []graph.Port{x},
				func(in []graph.Port, _ *graph.Node) []graph.Port {
					leak[1] = b.out("c/neg", "Neg", nil, in[0])
					return []graph.Port{leak[1]}
				},
				func(in []graph.Port, _ *graph.Node) []graph.Port {
					leak[0] = b.out("c/abs", "Abs", nil, in[0])
					return []graph.Port{leak[0]}
				})
			b.out("mixed", "Add", nil, leak[0], leak[1])
		}, "node mixed (Add) mixes values of different TF1 conditional branches"},
		{"value_index", func(b *builder) {
			p := b.placeholder("p", tensor.Bool)
			x := b.placeholder("x", tensor.Int32)
			outs := b.cond("c", p, []graph.Port{x},
				func(in []graph.Port, _ *graph.Node) []graph.Port {
					return []graph.Port{b.out("c/neg", "Neg", nil, in[0])}
				},
				func(in []graph.Port, _ *graph.Node) []graph.Port { return []graph.Port{in[0]} })
			b.out("which", "Identity", nil, graph.Port{Node: outs[0].Node, Out: 1})
		}, "which reads the value_index"},
	}
	for _, c := range cases {
		b := newBuilder()
		c.build(b)
		err := functionalize.Graph(b.g, graph.Library{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %s", c.name, err, c.want)
		}
	}
}

// TestSequentialConds: two conditionals at the same depth, the second on
// the first's output and on x, rewritten in one round.
func TestSequentialConds(t *testing.T) {
	b := newBuilder()
	p := b.placeholder("p", tensor.Bool)
	q := b.placeholder("q", tensor.Bool)
	x := b.placeholder("x", tensor.Int32)
	y1 := b.cond("a", p, []graph.Port{x},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			return []graph.Port{b.out("a/mul", "Mul", nil, in[0], b.pinned(i32(3), pv))}
		},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			return []graph.Port{b.out("a/add", "Add", nil, in[0], b.pinned(i32(1), pv))}
		})
	y2 := b.cond("b", q, []graph.Port{y1[0], x},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			return []graph.Port{b.out("b/mul", "Mul", nil, in[0], b.pinned(i32(2), pv))}
		},
		func(in []graph.Port, _ *graph.Node) []graph.Port {
			return []graph.Port{b.out("b/sub", "Sub", nil, in[0], in[1])}
		})
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1Cond(t, b.g, lib)
	if len(lib) != 4 {
		t.Errorf("%d functions, want two branches per conditional", len(lib))
	}
	for _, c := range []struct {
		p, q    bool
		x, want int32
	}{{true, true, 5, 30}, {true, false, 5, 10}, {false, true, 5, 12}, {false, false, 5, 1}} {
		out := run(t, b.g, lib, []graph.Port{p, q, x}, []*tensor.Tensor{tensor.Scalar(c.p), tensor.Scalar(c.q), i32(c.x)}, y2[0])
		if got := out[0].I32()[0]; got != c.want {
			t.Errorf("p=%v q=%v x=%d: %d, want %d", c.p, c.q, c.x, got, c.want)
		}
	}
}

// TestCondInLoop: for i < n { acc += i < x ? 2i : 1 }, the conditional
// (with a NoOp run for its effect in one branch) inside the loop body
// becomes an If inside the body function.
func TestCondInLoop(t *testing.T) {
	b := newBuilder()
	n := b.placeholder("n", tensor.Int32)
	x := b.placeholder("x", tensor.Int32)
	exits := b.loop("w", []graph.Port{b.cnst(i32(0)), b.cnst(i32(0))}, []graph.Port{n, x},
		func(v []graph.Port) graph.Port { return b.out("w/Less", "Less", nil, v[0], v[2]) },
		func(v []graph.Port) []graph.Port {
			pred := b.out("w/small", "Less", nil, v[0], v[3])
			c := b.cond("w/cond", pred, []graph.Port{v[0]},
				func(in []graph.Port, pv *graph.Node) []graph.Port {
					effect := b.node("w/cond/effect", "NoOp", 0, nil)
					effect.Control = []*graph.Node{pv}
					return []graph.Port{b.out("w/cond/double", "Mul", nil, in[0], b.pinned(i32(2), pv))}
				},
				func(in []graph.Port, pv *graph.Node) []graph.Port { return []graph.Port{b.pinned(i32(1), pv)} })
			return []graph.Port{b.out("w/inc", "Add", nil, v[0], b.cnst(i32(1))), b.out("w/acc", "Add", nil, v[1], c[0])}
		})
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1Cond(t, b.g, lib)
	// The NoOp ran every iteration as a control result of the body; it
	// now runs with the If.
	ifRets := 0
	for _, f := range lib {
		for _, c := range f.ControlRets {
			if c.Op == "If" {
				ifRets++
			}
		}
	}
	if ifRets != 1 {
		t.Errorf("%d If control results, want 1 (the body's)", ifRets)
	}
	for _, c := range []struct{ n, x, want int32 }{{5, 3, 8}, {0, 3, 0}, {4, 0, 4}, {3, 9, 6}} {
		out := run(t, b.g, lib, []graph.Port{n, x}, []*tensor.Tensor{i32(c.n), i32(c.x)}, exits[1])
		if got := out[0].I32()[0]; got != c.want {
			t.Errorf("n=%d x=%d: acc %d, want %d", c.n, c.x, got, c.want)
		}
	}
}

// TestCondDepthLimit: conditionals nested past the limit fail naming it,
// before any rewriting (each level would cost a pass over the graph).
func TestCondDepthLimit(t *testing.T) {
	b := newBuilder()
	p := b.placeholder("p", tensor.Bool)
	x := b.placeholder("x", tensor.Int32)
	var nest func(d int, v graph.Port) graph.Port
	nest = func(d int, v graph.Port) graph.Port {
		if d == 0 {
			return b.out("", "Neg", nil, v)
		}
		return b.cond(fmt.Sprintf("c%d", d), p, []graph.Port{v},
			func(in []graph.Port, _ *graph.Node) []graph.Port { return []graph.Port{nest(d-1, in[0])} },
			func(in []graph.Port, _ *graph.Node) []graph.Port { return []graph.Port{b.out("", "Abs", nil, in[0])} })[0]
	}
	nest(300, x)
	err := functionalize.Graph(b.g, graph.Library{})
	if err == nil || !strings.Contains(err.Error(), "nested 300 deep (limit 256)") {
		t.Fatalf("got %v", err)
	}
}

// TestCondEffectOnMerge: a branch effect that only the Merge waits for
// (a control edge) runs as a control result of the branch function.
func TestCondEffectOnMerge(t *testing.T) {
	b := newBuilder()
	p := b.placeholder("p", tensor.Bool)
	x := b.placeholder("x", tensor.Int32)
	var effect *graph.Node
	outs := b.cond("c", p, []graph.Port{x},
		func(in []graph.Port, pv *graph.Node) []graph.Port {
			effect = b.node("c/effect", "NoOp", 0, nil)
			effect.Control = []*graph.Node{pv}
			return []graph.Port{b.out("c/neg", "Neg", nil, in[0])}
		},
		func(in []graph.Port, _ *graph.Node) []graph.Port { return []graph.Port{in[0]} })
	outs[0].Node.Control = []*graph.Node{effect}
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1Cond(t, b.g, lib)
	found := false
	for _, f := range lib {
		for _, c := range f.ControlRets {
			found = found || c.Name == "c/effect"
		}
	}
	if !found || len(outs[0].Node.Control) != 0 {
		t.Fatalf("effect a control result: %v; Merge's control edges left: %d", found, len(outs[0].Node.Control))
	}
	out := run(t, b.g, lib, []graph.Port{p, x}, []*tensor.Tensor{tensor.Scalar(true), i32(4)}, outs[0])
	if got := out[0].I32()[0]; got != -4 {
		t.Fatalf("got %d, want -4", got)
	}
}
