package functionalize_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/functionalize"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// builder writes TF1-style graphs node by node, as tf.while_loop does.
type builder struct {
	g *graph.Graph
	k int
}

func newBuilder() *builder { return &builder{g: &graph.Graph{Name: "graph"}} }

func (b *builder) node(name, op string, nout int, attrs kernels.Attrs, in ...graph.Port) *graph.Node {
	if name == "" {
		b.k++
		name = fmt.Sprintf("%s_%d", op, b.k)
	}
	if attrs == nil {
		attrs = kernels.Attrs{}
	}
	return b.g.AddNode(&graph.Node{Name: name, Op: op, NumOutputs: nout, Attrs: attrs, Inputs: in})
}

func (b *builder) out(name, op string, attrs kernels.Attrs, in ...graph.Port) graph.Port {
	return graph.Port{Node: b.node(name, op, 1, attrs, in...)}
}

func (b *builder) placeholder(name string, dt tensor.DType) graph.Port {
	return b.out(name, graph.OpPlaceholder, kernels.Attrs{"dtype": dt})
}

func (b *builder) cnst(v *tensor.Tensor) graph.Port {
	return b.out("", graph.OpConst, kernels.Attrs{"value": v, "dtype": v.DType})
}

func dtypeOf(p graph.Port) tensor.DType {
	if t, ok := p.Node.Attrs["T"].(tensor.DType); ok {
		return t
	}
	if t, ok := p.Node.Attrs["dtype"].(tensor.DType); ok {
		return t
	}
	if p.Node.Op == "Less" || p.Node.Op == "LogicalAnd" {
		return tensor.Bool
	}
	return tensor.Int32
}

// loop writes a v1 while loop in frame: carried variables start at init,
// invariants enter unchanged; cond and body see the carried values, then
// the invariants. It returns the Exits.
func (b *builder) loop(frame string, init, invariants []graph.Port, cond func(v []graph.Port) graph.Port, body func(v []graph.Port) []graph.Port) []graph.Port {
	enterAttrs := func(p graph.Port, constant bool) kernels.Attrs {
		return kernels.Attrs{"frame_name": frame, "is_constant": constant, "parallel_iterations": int64(10), "T": dtypeOf(p)}
	}
	var merges, inv, ids []graph.Port
	for _, p := range init {
		e := b.out(frame+"/Enter", "Enter", enterAttrs(p, false), p)
		merges = append(merges, graph.Port{Node: b.node(frame+"/Merge", "Merge", 2, kernels.Attrs{"T": dtypeOf(p)}, e)})
	}
	for _, p := range invariants {
		inv = append(inv, b.out(frame+"/Enter_inv", "Enter", enterAttrs(p, true), p))
	}
	lc := b.out(frame+"/LoopCond", "LoopCond", nil, cond(append(append([]graph.Port(nil), merges...), inv...)))
	var exits []graph.Port
	for _, m := range merges {
		sw := b.node(frame+"/Switch", "Switch", 2, kernels.Attrs{"T": dtypeOf(m)}, m, lc)
		exits = append(exits, b.out(frame+"/Exit", "Exit", kernels.Attrs{"T": dtypeOf(m)}, graph.Port{Node: sw}))
		ids = append(ids, b.out(frame+"/Identity", "Identity", kernels.Attrs{"T": dtypeOf(m)}, graph.Port{Node: sw, Out: 1}))
	}
	next := body(append(append([]graph.Port(nil), ids...), inv...))
	for i, m := range merges {
		n := b.out(frame+"/NextIteration", "NextIteration", kernels.Attrs{"T": dtypeOf(m)}, next[i])
		m.Node.Inputs = append(m.Node.Inputs, n)
	}
	return exits
}

func i32(v int32) *tensor.Tensor { return tensor.Scalar(v) }

func run(t *testing.T, g *graph.Graph, lib graph.Library, feeds []graph.Port, args []*tensor.Tensor, fetches ...graph.Port) []*tensor.Tensor {
	t.Helper()
	sess := graph.NewSession(lib, kernels.Lookup)
	plan, err := sess.Compile("test", g, feeds, fetches, nil)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out, err := plan.Run(context.Background(), args)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

func noV1(t *testing.T, g *graph.Graph) {
	t.Helper()
	for _, n := range g.Nodes {
		switch n.Op {
		case "Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond":
			t.Errorf("node %s (%s) left after functionalization", n.Name, n.Op)
		}
	}
}

// TestSumLoop: i, acc = 0, 0; while i < n: acc += x*i; i += 1.
func TestSumLoop(t *testing.T) {
	b := newBuilder()
	x := b.placeholder("x", tensor.Int32)
	n := b.placeholder("n", tensor.Int32)
	exits := b.loop("while/while_context", []graph.Port{b.cnst(i32(0)), b.cnst(i32(0))}, []graph.Port{x, n},
		func(v []graph.Port) graph.Port { return b.out("while/Less", "Less", nil, v[0], v[3]) },
		func(v []graph.Port) []graph.Port {
			// TF gives body constants a control edge from the pivot.
			one := b.node("while/one", graph.OpConst, 1, kernels.Attrs{"value": i32(1), "dtype": tensor.Int32})
			one.Control = []*graph.Node{v[0].Node}
			prod := b.out("while/mul", "Mul", nil, v[2], v[0])
			return []graph.Port{b.out("while/add", "Add", nil, v[0], graph.Port{Node: one}), b.out("while/acc", "Add", nil, v[1], prod)}
		})
	res := b.out("result", "Identity", nil, exits[1])
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1(t, b.g)
	if len(lib) != 2 {
		t.Errorf("library has %d functions, want cond and body", len(lib))
	}
	for _, c := range []struct{ x, n, want int32 }{{3, 4, 18}, {2, 0, 0}, {5, 1, 0}, {1, 10, 45}} {
		out := run(t, b.g, lib, []graph.Port{x, n}, []*tensor.Tensor{i32(c.x), i32(c.n)}, res, exits[0])
		if got := out[0].I32()[0]; got != c.want {
			t.Errorf("x=%d n=%d: acc %d, want %d", c.x, c.n, got, c.want)
		}
		if got := out[1].I32()[0]; got != max(c.n, 0) {
			t.Errorf("x=%d n=%d: i %d, want %d", c.x, c.n, got, c.n)
		}
	}
}

// TestNestedLoops: for i < n { for j < m { count++ } }, the inner loop
// reading the outer's invariant m and carried count.
func TestNestedLoops(t *testing.T) {
	b := newBuilder()
	n := b.placeholder("n", tensor.Int32)
	m := b.placeholder("m", tensor.Int32)
	exits := b.loop("outer", []graph.Port{b.cnst(i32(0)), b.cnst(i32(0))}, []graph.Port{n, m},
		func(v []graph.Port) graph.Port { return b.out("outer/Less", "Less", nil, v[0], v[2]) },
		func(v []graph.Port) []graph.Port {
			zero := b.node("outer/zero", graph.OpConst, 1, kernels.Attrs{"value": i32(0), "dtype": tensor.Int32})
			zero.Control = []*graph.Node{v[0].Node}
			inner := b.loop("outer/inner", []graph.Port{{Node: zero}, v[1]}, []graph.Port{v[3]},
				func(w []graph.Port) graph.Port { return b.out("inner/Less", "Less", nil, w[0], w[2]) },
				func(w []graph.Port) []graph.Port {
					one := b.cnst(i32(1))
					return []graph.Port{b.out("inner/j", "Add", nil, w[0], one), b.out("inner/count", "Add", nil, w[1], one)}
				})
			one := b.cnst(i32(1))
			return []graph.Port{b.out("outer/i", "Add", nil, v[0], one), inner[1]}
		})
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1(t, b.g)
	if len(lib) != 4 {
		t.Errorf("library has %d functions, want two conds and two bodies", len(lib))
	}
	out := run(t, b.g, lib, []graph.Port{n, m}, []*tensor.Tensor{i32(3), i32(4)}, exits[1])
	if got := out[0].I32()[0]; got != 12 {
		t.Errorf("count %d, want 12", got)
	}
}

// taLoop writes dynamic_rnn's pattern: the input unstacked into a
// TensorArray, a loop reading step t, doubling it and writing the result
// array, which is gathered after the loop.
func taLoop(b *builder, x graph.Port, steps int) graph.Port {
	size := b.cnst(i32(int32(steps)))
	in := b.node("ta_in", "TensorArrayV3", 2, kernels.Attrs{"dtype": tensor.Float32, "element_shape": tensor.Shape{2}}, size)
	out := b.node("ta_out", "TensorArrayV3", 2, kernels.Attrs{"dtype": tensor.Float32, "element_shape": tensor.Shape{2}}, size)
	idx := b.cnst(tensor.FromSlice(tensor.Shape{steps}, func() []int32 {
		v := make([]int32, steps)
		for i := range v {
			v[i] = int32(i)
		}
		return v
	}()))
	scat := b.out("scatter", "TensorArrayScatterV3", kernels.Attrs{"T": tensor.Float32}, graph.Port{Node: in}, idx, x, graph.Port{Node: in, Out: 1})
	exits := b.loop("rnn/while/while_context", []graph.Port{b.cnst(i32(0)), {Node: out, Out: 1}},
		[]graph.Port{size, {Node: in}, scat, {Node: out}},
		func(v []graph.Port) graph.Port { return b.out("rnn/Less", "Less", nil, v[0], v[2]) },
		func(v []graph.Port) []graph.Port {
			step := b.out("rnn/read", "TensorArrayReadV3", kernels.Attrs{"dtype": tensor.Float32}, v[3], v[0], v[4])
			two := b.cnst(tensor.Scalar(float32(2)))
			y := b.out("rnn/double", "Mul", nil, step, two)
			w := b.out("rnn/write", "TensorArrayWriteV3", kernels.Attrs{"T": tensor.Float32}, v[5], v[0], y, v[1])
			return []graph.Port{b.out("rnn/t", "Add", nil, v[0], b.cnst(i32(1))), w}
		})
	ssz := b.out("size", "TensorArraySizeV3", nil, graph.Port{Node: out}, exits[1])
	rng := b.out("range", "Range", kernels.Attrs{"Tidx": tensor.Int32}, b.cnst(i32(0)), ssz, b.cnst(i32(1)))
	return b.out("gather", "TensorArrayGatherV3", kernels.Attrs{"dtype": tensor.Float32, "element_shape": tensor.Shape{2}}, graph.Port{Node: out}, rng, exits[1])
}

func TestTensorArrayLoop(t *testing.T) {
	b := newBuilder()
	x := b.placeholder("x", tensor.Float32)
	y := taLoop(b, x, 3)
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1(t, b.g)
	for _, n := range b.g.Nodes {
		if strings.HasPrefix(n.Op, "TensorArray") {
			t.Errorf("node %s is still %s", n.Name, n.Op)
		}
	}
	in := tensor.FromSlice(tensor.Shape{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	out := run(t, b.g, lib, []graph.Port{x}, []*tensor.Tensor{in}, y)
	want := []float32{2, 4, 6, 8, 10, 12}
	if !out[0].Shape.Equal(tensor.Shape{3, 2}) || fmt.Sprint(out[0].F32()) != fmt.Sprint(want) {
		t.Errorf("got %v %v, want [3 2] %v", out[0].Shape, out[0].F32(), want)
	}
}

// TestTensorArrayLoopFoldedConcurrent compiles the TensorArray loop as the
// loader does (inline, fold constants: the arrays' sizes are constant) and
// runs it from many goroutines with different inputs: no request may see
// another's array.
func TestTensorArrayLoopFoldedConcurrent(t *testing.T) {
	b := newBuilder()
	x := b.placeholder("x", tensor.Float32)
	y := taLoop(b, x, 4)
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	sess := graph.NewSession(lib, kernels.Lookup)
	g, ports, err := graph.Inline(b.g, lib, []graph.Port{x, y}, 0)
	if err != nil {
		t.Fatal(err)
	}
	fetches, folded, err := sess.FoldConstants(context.Background(), g, ports[:1], ports[1:], graph.FoldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if folded == 0 {
		t.Error("nothing folded; the test wants the array creation folded")
	}
	plan, err := sess.Compile("folded", g, ports[:1], fetches, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for k := 0; k < 16; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				in := make([]float32, 8)
				for i := range in {
					in[i] = float32(k*100 + rep + i)
				}
				out, err := plan.Run(context.Background(), []*tensor.Tensor{tensor.FromSlice(tensor.Shape{4, 2}, in)})
				if err != nil {
					errs <- err
					return
				}
				for i, v := range out[0].F32() {
					if v != 2*in[i] {
						errs <- fmt.Errorf("goroutine %d: element %d is %v, want %v", k, i, v, 2*in[i])
						return
					}
				}
			}
		}(k)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLoopInFunction: a library function holding a v1 loop is rewritten
// too, its results following the Exits.
func TestLoopInFunction(t *testing.T) {
	b := newBuilder()
	arg := b.node("n", graph.OpArg, 1, kernels.Attrs{"index": int64(0), "T": tensor.Int32})
	exits := b.loop("f/while", []graph.Port{b.cnst(i32(1))}, []graph.Port{{Node: arg}},
		func(v []graph.Port) graph.Port { return b.out("f/Less", "Less", nil, v[0], v[1]) },
		func(v []graph.Port) []graph.Port { return []graph.Port{b.out("f/double", "Add", nil, v[0], v[0])} })
	fn := b.g
	fn.Name = "pow2above"
	for _, n := range fn.Nodes {
		n.Where = fn.Name
	}
	fn.Args = []*graph.Node{arg}
	fn.ArgTypes = []tensor.DType{tensor.Int32}
	fn.Rets = []graph.Port{exits[0]}
	fn.RetTypes = []tensor.DType{tensor.Int32}
	lib := graph.Library{fn.Name: fn}
	top := newBuilder()
	n := top.placeholder("n", tensor.Int32)
	call := top.out("call", fn.Name, nil, n)
	if err := functionalize.Graph(top.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1(t, fn)
	out := run(t, top.g, lib, []graph.Port{n}, []*tensor.Tensor{i32(100)}, call)
	if got := out[0].I32()[0]; got != 128 {
		t.Errorf("got %d, want 128", got)
	}
}

// TestDeepNesting: frames nested thousands deep and a long chain in a
// body are walked without recursion.
func TestDeepNesting(t *testing.T) {
	const depth = 2000
	b := newBuilder()
	n := b.placeholder("n", tensor.Int32)
	// Each level runs once (i < 1) around the next level's loop and adds
	// one; the innermost body is a long chain of Identities.
	var build func(d int, start graph.Port) graph.Port
	build = func(d int, start graph.Port) graph.Port {
		frame := fmt.Sprintf("l%d", d)
		exits := b.loop(frame, []graph.Port{b.cnst(i32(0)), start}, nil,
			func(v []graph.Port) graph.Port { return b.out("", "Less", nil, v[0], b.cnst(i32(1))) },
			func(v []graph.Port) []graph.Port {
				inner := v[1]
				if d+1 < depth {
					inner = build(d+1, v[1])
				} else {
					for k := 0; k < 10000; k++ {
						inner = b.out("", "Identity", kernels.Attrs{"T": tensor.Int32}, inner)
					}
				}
				return []graph.Port{b.out("", "Add", nil, v[0], b.cnst(i32(1))), b.out("", "Add", nil, inner, b.cnst(i32(1)))}
			})
		return exits[1]
	}
	res := build(0, n)
	lib := graph.Library{}
	if err := functionalize.Graph(b.g, lib); err != nil {
		t.Fatal(err)
	}
	noV1(t, b.g)
	if len(lib) != 2*depth {
		t.Fatalf("library has %d functions, want %d", len(lib), 2*depth)
	}
	out := run(t, b.g, lib, []graph.Port{n}, []*tensor.Tensor{i32(5)}, res)
	if got := out[0].I32()[0]; got != 5+depth {
		t.Errorf("got %d, want %d", got, 5+depth)
	}
}

func TestErrorsNameTheNode(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *builder)
		want  string
	}{
		{"v1 cond merging two predicates", func(b *builder) {
			p := b.placeholder("p", tensor.Bool)
			q := b.placeholder("q", tensor.Bool)
			x := b.placeholder("x", tensor.Int32)
			sw := b.node("cond/Switch", "Switch", 2, nil, x, p)
			sw2 := b.node("cond/Switch_1", "Switch", 2, nil, x, q)
			b.node("cond/Merge", "Merge", 2, nil, graph.Port{Node: sw}, graph.Port{Node: sw2, Out: 1})
		}, "cond/Merge"},
		{"read from outside without Enter", func(b *builder) {
			x := b.placeholder("x", tensor.Int32)
			b.loop("w", []graph.Port{b.cnst(i32(0))}, nil,
				func(v []graph.Port) graph.Port { return b.out("w/Less", "Less", nil, v[0], b.cnst(i32(3))) },
				func(v []graph.Port) []graph.Port {
					return []graph.Port{b.out("w/bad", "Add", nil, v[0], graph.Port{Node: b.node("w/outside", "Identity", 1, nil, x)})}
				})
		}, "mixes values of"},
		{"Merge without NextIteration", func(b *builder) {
			e := b.out("w/Enter", "Enter", kernels.Attrs{"frame_name": "w"}, b.cnst(i32(0)))
			x := b.placeholder("x", tensor.Int32)
			xe := b.out("w/Enter_1", "Enter", kernels.Attrs{"frame_name": "w"}, x)
			m := b.node("w/Merge", "Merge", 2, nil, e, xe)
			lc := b.out("w/LoopCond", "LoopCond", nil, b.out("w/Less", "Less", nil, graph.Port{Node: m}, b.cnst(i32(3))))
			sw := b.node("w/Switch", "Switch", 2, nil, graph.Port{Node: m}, lc)
			b.out("w/Exit", "Exit", nil, graph.Port{Node: sw})
		}, "w/Merge"},
		{"inputs from two frames", func(b *builder) {
			var inside graph.Port
			exits := b.loop("w", []graph.Port{b.cnst(i32(0))}, nil,
				func(v []graph.Port) graph.Port { return b.out("w/Less", "Less", nil, v[0], b.cnst(i32(3))) },
				func(v []graph.Port) []graph.Port {
					inside = b.out("w/add", "Add", nil, v[0], b.cnst(i32(1)))
					return []graph.Port{inside}
				})
			b.out("mixed", "Add", nil, exits[0], inside)
		}, "mixed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder()
			c.build(b)
			err := functionalize.Graph(b.g, graph.Library{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %s", err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestNoControlFlowIsUntouched(t *testing.T) {
	b := newBuilder()
	x := b.placeholder("x", tensor.Int32)
	b.out("y", "Add", nil, x, x)
	before := len(b.g.Nodes)
	lib := graph.Library{}
	if functionalize.Uses(b.g) {
		t.Error("Uses reports v1 control flow in a plain graph")
	}
	if err := functionalize.Graph(b.g, lib); err != nil || len(b.g.Nodes) != before || len(lib) != 0 {
		t.Errorf("plain graph changed: err %v, %d nodes (was %d), %d functions", err, len(b.g.Nodes), before, len(lib))
	}
}

// FuzzGraph wires random graphs of control-flow, TensorArray and plain ops
// (cycles included) from the fuzzer's bytes: Graph may refuse them but
// must not panic, and what it accepts must compile or fail cleanly.
func FuzzGraph(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{1, 2, 1, 3, 0, 4, 1, 5, 2, 6, 3, 7, 2, 8, 4, 9, 5, 10})
	ops := []struct {
		op   string
		nin  int
		nout int
	}{
		{"Const", 0, 1}, {"Placeholder", 0, 1}, {"Enter", 1, 1}, {"Enter", 1, 1}, {"Exit", 1, 1}, {"Merge", 2, 2},
		{"Switch", 2, 2}, {"NextIteration", 1, 1}, {"LoopCond", 1, 1}, {"Identity", 1, 1}, {"Add", 2, 1},
		{"Less", 2, 1}, {"TensorArrayV3", 1, 2}, {"TensorArrayWriteV3", 4, 1}, {"TensorArrayReadV3", 3, 1},
		{"TensorArrayGatherV3", 3, 1}, {"TensorArraySizeV3", 2, 1}, {"TensorArrayCloseV3", 1, 0},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			return
		}
		b := newBuilder()
		var nodes []*graph.Node
		type pending struct {
			n    *graph.Node
			srcs []byte
		}
		var pend []pending
		for i := 0; i+1 < len(data); i += 2 {
			spec := ops[int(data[i])%len(ops)]
			attrs := kernels.Attrs{"T": tensor.Int32, "dtype": tensor.Int32, "value": i32(1),
				"frame_name": []string{"a", "b", "a/c"}[int(data[i+1])%3], "is_constant": data[i+1]&4 != 0}
			n := b.node("", spec.op, spec.nout, attrs)
			nodes = append(nodes, n)
			srcs := make([]byte, spec.nin)
			for k := range srcs {
				if j := i + 2 + k; j < len(data) {
					srcs[k] = data[j]
				}
			}
			pend = append(pend, pending{n, srcs})
		}
		for _, p := range pend {
			for _, s := range p.srcs {
				src := nodes[int(s)%len(nodes)]
				if src.NumOutputs == 0 {
					continue
				}
				p.n.Inputs = append(p.n.Inputs, graph.Port{Node: src, Out: int(s/16) % src.NumOutputs})
			}
		}
		lib := graph.Library{}
		if err := functionalize.Graph(b.g, lib); err != nil {
			return
		}
		var fetches []graph.Port
		for _, n := range b.g.Nodes {
			if n.NumOutputs > 0 {
				fetches = append(fetches, graph.Port{Node: n})
			}
		}
		sess := graph.NewSession(lib, kernels.Lookup)
		sess.Compile("fuzz", b.g, nil, fetches, nil)
	})
}
