package fuse_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// v1GRU builds the functional form of a TF1 dynamic_rnn GRU loop (as
// graph/functionalize makes it): x [T, B, I] unstacked into a list, an
// output list reserved for n steps, While (time, h, out, n, in, weights)
// running the cell while time < n. block picks GRUBlockCell over the
// GRUCell ops; seq adds dynamic_rnn's sequence_length (a feed [B]): past
// a row's length the step writes zero_output and keeps the state, through
// Select(time >= len, ...). It returns the graph, its library, the feeds
// x, n (and len) and the fetches: the final state and the stacked outputs.
func v1GRU(block, seq bool, kg, bg, kc, bc *tensor.Tensor, units int) (*graph.Graph, graph.Library, []graph.Port, []graph.Port) {
	k := 0
	add := func(g *graph.Graph, op string, nout int, attrs kernels.Attrs, in ...graph.Port) graph.Port {
		k++
		if attrs == nil {
			attrs = kernels.Attrs{}
		}
		return graph.Port{Node: g.AddNode(&graph.Node{Name: op + "_" + string(rune('a'+k%26)) + string(rune('a'+k/26)), Op: op, NumOutputs: nout, Attrs: attrs, Inputs: in, Where: g.Name})}
	}
	cnst := func(g *graph.Graph, t *tensor.Tensor) graph.Port {
		return add(g, graph.OpConst, 1, kernels.Attrs{"value": t, "dtype": t.DType})
	}
	f32 := kernels.Attrs{"T": tensor.Float32}
	types := []tensor.DType{tensor.Int32, tensor.Float32, tensor.Variant, tensor.Int32, tensor.Variant,
		tensor.Float32, tensor.Float32, tensor.Float32, tensor.Float32}
	if seq {
		types = append(types, tensor.Int32, tensor.Float32) // len, zero_output
	}
	fn := func(name string) (*graph.Graph, []graph.Port) {
		f := &graph.Graph{Name: name}
		var args []graph.Port
		for i, t := range types {
			a := f.AddNode(&graph.Node{Name: "arg" + string(rune('a'+i)), Op: graph.OpArg, NumOutputs: 1, Attrs: kernels.Attrs{"index": int64(i), "T": t}, Where: name})
			f.Args = append(f.Args, a)
			f.ArgTypes = append(f.ArgTypes, t)
			args = append(args, graph.Port{Node: a})
		}
		return f, args
	}
	cond, ca := fn("cond")
	cond.Rets = []graph.Port{add(cond, "Less", 1, kernels.Attrs{"T": tensor.Int32}, ca[0], ca[3])}
	body, a := fn("body")
	t := add(body, "Identity", 1, kernels.Attrs{"T": tensor.Int32}, a[0])
	h := add(body, "Identity", 1, f32, a[1])
	unknown := cnst(body, tensor.Scalar(int32(-1)))
	x := add(body, "TensorListGetItem", 1, kernels.Attrs{"element_dtype": tensor.Float32}, a[4], t, unknown)
	var hn graph.Port
	if block {
		cell := add(body, "GRUBlockCell", 4, f32, x, h, a[5], a[7], a[6], a[8])
		hn = graph.Port{Node: cell.Node, Out: 3}
	} else {
		axis := cnst(body, tensor.Scalar(int32(1)))
		cat := add(body, "ConcatV2", 1, kernels.Attrs{"T": tensor.Float32, "N": int64(2), "Tidx": tensor.Int32}, x, h, axis)
		gates := add(body, "Sigmoid", 1, f32, add(body, "BiasAdd", 1, f32, add(body, "MatMul", 1, f32, cat, a[5]), a[6]))
		split := add(body, "Split", 2, kernels.Attrs{"T": tensor.Float32, "num_split": int64(2)}, axis, gates)
		r, u := graph.Port{Node: split.Node}, graph.Port{Node: split.Node, Out: 1}
		cat2 := add(body, "ConcatV2", 1, kernels.Attrs{"T": tensor.Float32, "N": int64(2), "Tidx": tensor.Int32}, x, add(body, "Mul", 1, f32, r, h), axis)
		c := add(body, "Tanh", 1, f32, add(body, "BiasAdd", 1, f32, add(body, "MatMul", 1, f32, cat2, a[7]), a[8]))
		oneMinus := add(body, "Sub", 1, f32, cnst(body, tensor.Scalar(float32(1))), u)
		hn = add(body, "Add", 1, f32, add(body, "Mul", 1, f32, u, h), add(body, "Mul", 1, f32, oneMinus, c))
	}
	written, state := hn, hn
	if seq {
		past := add(body, "GreaterEqual", 1, kernels.Attrs{"T": tensor.Int32}, t, a[9])
		written = add(body, "Select", 1, f32, past, a[10], hn)
		state = add(body, "Select", 1, f32, past, h, hn)
	}
	set := add(body, "TensorListSetItem", 1, kernels.Attrs{"element_dtype": tensor.Float32}, a[2], t, written)
	body.Rets = []graph.Port{add(body, "Add", 1, kernels.Attrs{"T": tensor.Int32}, t, cnst(body, tensor.Scalar(int32(1)))), state, set, a[3], a[4], a[5], a[6], a[7], a[8]}
	if seq {
		body.Rets = append(body.Rets, a[9], a[10])
	}
	body.RetTypes = types

	g := &graph.Graph{Name: "graph"}
	xp := add(g, graph.OpPlaceholder, 1, kernels.Attrs{"dtype": tensor.Float32})
	np := add(g, graph.OpPlaceholder, 1, kernels.Attrs{"dtype": tensor.Int32})
	unk := cnst(g, tensor.Scalar(int32(-1)))
	in := add(g, "TensorListFromTensor", 1, kernels.Attrs{"element_dtype": tensor.Float32, "shape_type": tensor.Int32}, xp, unk)
	out := add(g, "TensorListReserve", 1, kernels.Attrs{"element_dtype": tensor.Float32, "shape_type": tensor.Int32}, unk, np)
	batch := add(g, "StridedSlice", 1, kernels.Attrs{"T": tensor.Int32, "Index": tensor.Int32, "shrink_axis_mask": int64(1)},
		add(g, "Shape", 1, kernels.Attrs{"T": tensor.Float32, "out_type": tensor.Int32}, xp),
		cnst(g, tensor.FromSlice(tensor.Shape{1}, []int32{1})), cnst(g, tensor.FromSlice(tensor.Shape{1}, []int32{2})), cnst(g, tensor.FromSlice(tensor.Shape{1}, []int32{1})))
	h0 := add(g, "Fill", 1, kernels.Attrs{"T": tensor.Float32, "index_type": tensor.Int32},
		add(g, "Pack", 1, kernels.Attrs{"T": tensor.Int32, "N": int64(2)}, batch, cnst(g, tensor.Scalar(int32(units)))), cnst(g, tensor.Scalar(float32(0))))
	inputs := []graph.Port{cnst(g, tensor.Scalar(int32(0))), h0, out, np, in, cnst(g, kg), cnst(g, bg), cnst(g, kc), cnst(g, bc)}
	feeds := []graph.Port{xp, np}
	if seq {
		lp := add(g, graph.OpPlaceholder, 1, kernels.Attrs{"dtype": tensor.Int32})
		feeds = append(feeds, lp)
		inputs = append(inputs, lp, h0) // h0 is zeros [B, U], as zero_output
	}
	w := g.AddNode(&graph.Node{Name: "rnn/while", Op: "While", NumOutputs: len(types), Attrs: kernels.Attrs{"T": types,
		"cond": kernels.FuncRef{Name: "cond"}, "body": kernels.FuncRef{Name: "body"}, "parallel_iterations": int64(32)},
		Inputs: inputs})
	stacked := add(g, "TensorListStack", 1, kernels.Attrs{"element_dtype": tensor.Float32, "num_elements": int64(-1)}, graph.Port{Node: w, Out: 2}, unk)
	return g, graph.Library{"cond": cond, "body": body}, feeds, []graph.Port{{Node: w, Out: 1}, stacked}
}

func runGraph(t *testing.T, g *graph.Graph, lib graph.Library, feeds, fetches []graph.Port, args ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	plan, err := graph.NewSession(lib, fuse.Registry(kernels.Lookup)).Compile("test", g, feeds, fetches, nil)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out, err := plan.Run(context.Background(), args)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

// fusedNodes counts the fused GRU nodes of the library.
func fusedNodes(lib graph.Library) int {
	n := 0
	for _, f := range lib {
		for _, nd := range f.Nodes {
			if nd.Op == fuse.OpGRU {
				n++
			}
		}
	}
	return n
}

// TestV1GRULoops: GRUCell and GRUBlockCell loops, with and without
// sequence_length, are fused (one fused node each) and compute what the
// loop computes op by op: with n = T through the fused branch, with n < T
// (a shorter loop) through the original loop.
func TestV1GRULoops(t *testing.T) {
	const T, B, I, U = 5, 3, 4, 2
	for _, c := range []struct{ block, seq bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		block := c.block
		r := rand.New(rand.NewPCG(51, 52))
		rnd := func(shape ...int) *tensor.Tensor {
			x := tensor.New(tensor.Float32, tensor.Shape(shape))
			for i := range x.F32() {
				x.F32()[i] = float32(r.Float64()*2 - 1)
			}
			return x
		}
		kg, bg, kc, bc := rnd(I+U, 2*U), rnd(2*U), rnd(I+U, U), rnd(U)
		x := rnd(T, B, I)
		for _, n := range []int32{T, 3} {
			args := []*tensor.Tensor{x, tensor.Scalar(n)}
			if c.seq {
				// Rows of lengths 5 (all), 2 and 0.
				args = append(args, tensor.FromSlice(tensor.Shape{B}, []int32{T, 2, 0}))
			}
			g, lib, feeds, fetches := v1GRU(block, c.seq, kg, bg, kc, bc, U)
			want := runGraph(t, g, lib, feeds, fetches, args...)
			g, lib, feeds, fetches = v1GRU(block, c.seq, kg, bg, kc, bc, U)
			rep := fuse.Loops(g, lib)
			if len(rep.Fused) != 1 || fusedNodes(lib) != 1 {
				t.Fatalf("%+v: fused %v (%d fused nodes), skipped %v", c, rep.Fused, fusedNodes(lib), rep.Skipped)
			}
			got := runGraph(t, g, lib, feeds, fetches, args...)
			for i := range want {
				if !got[i].Shape.Equal(want[i].Shape) {
					t.Fatalf("%+v n=%d: fetch %d shape %v, want %v", c, n, i, got[i].Shape, want[i].Shape)
				}
				for j, v := range want[i].F32() {
					if math.Abs(float64(got[i].F32()[j]-v)) > 1e-5 {
						t.Fatalf("%+v n=%d: fetch %d [%d] = %v, want %v", c, n, i, j, got[i].F32()[j], v)
					}
				}
			}
		}
	}
}

// TestV1LoopsLeaveOthers: a loop whose cell is not a GRU (here the
// candidate's weights are not constants) stays a While.
func TestV1LoopsLeaveOthers(t *testing.T) {
	z := func(shape ...int) *tensor.Tensor { return tensor.New(tensor.Float32, tensor.Shape(shape)) }
	g, lib, _, _ := v1GRU(false, false, z(6, 4), z(4), z(6, 2), z(2), 2)
	for _, n := range g.Nodes {
		if n.Op == "While" {
			n.Inputs[7] = n.Inputs[1] // the candidate kernel is now the state
		}
	}
	rep := fuse.Loops(g, lib)
	if len(rep.Fused) != 0 || rep.Skipped["rnn/while"] == "" {
		t.Fatalf("fused %v, skipped %v", rep.Fused, rep.Skipped)
	}
}

// TestDL4JDynamicGRUFused: the dl4j dynamic_rnn GRUCell graph (relu
// candidate) has its loop fused on load, the fused branch is the one taken
// on its input, and its outputs match TensorFlow's within 1e-5 with and
// without fusion.
func TestDL4JDynamicGRUFused(t *testing.T) {
	dir := fixtures.Path(t, "gru_frozen_graphs/dl4j/rnn/grucell/dynamic_b1_nIn5_nOut3_ts4_relu_noIS_noTM_float")
	im, err := loader.ImportLimited(dir, nil, limits.Load{})
	if err != nil {
		t.Fatal(err)
	}
	rep := fuse.Loops(im.Graph, im.Library)
	if len(rep.Fused) != 1 || fusedNodes(im.Library) != 1 {
		t.Fatalf("fused %v (%d fused nodes), skipped %v", rep.Fused, fusedNodes(im.Library), rep.Skipped)
	}
	var iff *graph.Node
	var fetches []graph.Port
	for _, n := range im.Graph.Nodes {
		switch {
		case n.Op == "If":
			iff = n
		case n.Name == "concat" || n.Name == "concat_1":
			fetches = append(fetches, graph.Port{Node: n})
		}
	}
	if iff == nil || len(fetches) != 2 {
		t.Fatalf("no If (%v) or outputs (%d)", iff, len(fetches))
	}
	res := runGraph(t, im.Graph, im.Library, nil, append(fetches, iff.Inputs[0]))
	if !res[2].Bools()[0] {
		t.Fatalf("the fused branch's condition is false on the fixture")
	}
	for i, fe := range fetches {
		want := readFloats(t, filepath.Join(dir, fe.Node.Name+".prediction.csv"))
		if len(want) != res[i].Len() {
			t.Fatalf("%s: %d values, want %d", fe.Node.Name, res[i].Len(), len(want))
		}
		for j, v := range res[i].F32() {
			if math.Abs(float64(v)-want[j]) > 1e-5 {
				t.Fatalf("%s[%d] = %v, TensorFlow %v", fe.Node.Name, j, v, want[j])
			}
		}
	}
}

// readFloats reads a dl4j value file: numbers separated by space, comma or
// newline.
func readFloats(t *testing.T, path string) []float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, f := range strings.Fields(strings.ReplaceAll(string(data), ",", " ")) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// BenchmarkV1GRULoop times a TF1 GRUCell loop (T=50, B=32, I=64, U=128)
// run op by op and fused.
func BenchmarkV1GRULoop(b *testing.B) {
	const T, B, I, U = 50, 32, 64, 128
	r := rand.New(rand.NewPCG(53, 54))
	rnd := func(shape ...int) *tensor.Tensor {
		x := tensor.New(tensor.Float32, tensor.Shape(shape))
		for i := range x.F32() {
			x.F32()[i] = float32(r.Float64()*0.2 - 0.1)
		}
		return x
	}
	kg, bg, kc, bc, x := rnd(I+U, 2*U), rnd(2*U), rnd(I+U, U), rnd(U), rnd(T, B, I)
	for _, fused := range []bool{false, true} {
		name := "op_by_op"
		if fused {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			g, lib, feeds, fetches := v1GRU(false, false, kg, bg, kc, bc, U)
			if fused && len(fuse.Loops(g, lib).Fused) != 1 {
				b.Fatal("not fused")
			}
			plan, err := graph.NewSession(lib, fuse.Registry(kernels.Lookup)).Compile("bench", g, feeds, fetches, nil)
			if err != nil {
				b.Fatal(err)
			}
			args := []*tensor.Tensor{x, tensor.Scalar(int32(T))}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := plan.Run(context.Background(), args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// v1LSTM builds a TF1 dynamic_rnn LSTM loop as v1GRU does a GRU one: loop
// variables time, c, h, out, n, in, kernel [I+U, 4U], bias [4U] (and len,
// zero_output with seq). kind "basic" writes BasicLSTMCell's ops
// (c⊙σ(f+1) + σ(i)⊙tanh(j), tanh(c')⊙σ(o)), "cell" LSTMCell's operand
// order (σ(f+1)⊙c + σ(i)⊙tanh(j), σ(o)⊙tanh(c')), "block" an
// LSTMBlockCell.
func v1LSTM(kind string, seq bool, k, bias *tensor.Tensor, units int) (*graph.Graph, graph.Library, []graph.Port, []graph.Port) {
	n := 0
	add := func(g *graph.Graph, op string, nout int, attrs kernels.Attrs, in ...graph.Port) graph.Port {
		n++
		if attrs == nil {
			attrs = kernels.Attrs{}
		}
		return graph.Port{Node: g.AddNode(&graph.Node{Name: fmt.Sprintf("%s_%d", op, n), Op: op, NumOutputs: nout, Attrs: attrs, Inputs: in, Where: g.Name})}
	}
	cnst := func(g *graph.Graph, t *tensor.Tensor) graph.Port {
		return add(g, graph.OpConst, 1, kernels.Attrs{"value": t, "dtype": t.DType})
	}
	f32 := kernels.Attrs{"T": tensor.Float32}
	types := []tensor.DType{tensor.Int32, tensor.Float32, tensor.Float32, tensor.Variant, tensor.Int32, tensor.Variant, tensor.Float32, tensor.Float32}
	if seq {
		types = append(types, tensor.Int32, tensor.Float32)
	}
	fn := func(name string) (*graph.Graph, []graph.Port) {
		f := &graph.Graph{Name: name}
		var args []graph.Port
		for i, t := range types {
			a := f.AddNode(&graph.Node{Name: fmt.Sprintf("arg%d", i), Op: graph.OpArg, NumOutputs: 1, Attrs: kernels.Attrs{"index": int64(i), "T": t}, Where: name})
			f.Args = append(f.Args, a)
			f.ArgTypes = append(f.ArgTypes, t)
			args = append(args, graph.Port{Node: a})
		}
		return f, args
	}
	cond, ca := fn("cond")
	cond.Rets = []graph.Port{add(cond, "Less", 1, kernels.Attrs{"T": tensor.Int32}, ca[0], ca[4])}
	body, a := fn("body")
	t := add(body, "Identity", 1, kernels.Attrs{"T": tensor.Int32}, a[0])
	c, h := add(body, "Identity", 1, f32, a[1]), add(body, "Identity", 1, f32, a[2])
	x := add(body, "TensorListGetItem", 1, kernels.Attrs{"element_dtype": tensor.Float32}, a[5], t, cnst(body, tensor.Scalar(int32(-1))))
	var hn, cn graph.Port
	if kind == "block" {
		zeros := cnst(body, tensor.New(tensor.Float32, tensor.Shape{units}))
		cell := add(body, "LSTMBlockCell", 7, kernels.Attrs{"T": tensor.Float32, "forget_bias": float32(1), "cell_clip": float32(-1), "use_peephole": false},
			x, c, h, a[6], zeros, zeros, zeros, a[7])
		hn, cn = graph.Port{Node: cell.Node, Out: 6}, graph.Port{Node: cell.Node, Out: 1}
	} else {
		axis := cnst(body, tensor.Scalar(int32(1)))
		cat := add(body, "ConcatV2", 1, kernels.Attrs{"T": tensor.Float32, "N": int64(2), "Tidx": tensor.Int32}, x, h, axis)
		gates := add(body, "BiasAdd", 1, f32, add(body, "MatMul", 1, f32, cat, a[6]), a[7])
		split := add(body, "Split", 4, kernels.Attrs{"T": tensor.Float32, "num_split": int64(4)}, axis, gates)
		g := func(i int) graph.Port { return graph.Port{Node: split.Node, Out: i} }
		sig := func(p graph.Port) graph.Port { return add(body, "Sigmoid", 1, f32, p) }
		fplus := sig(add(body, "Add", 1, f32, g(2), cnst(body, tensor.Scalar(float32(1)))))
		in := add(body, "Mul", 1, f32, sig(g(0)), add(body, "Tanh", 1, f32, g(1)))
		if kind == "basic" {
			cn = add(body, "Add", 1, f32, add(body, "Mul", 1, f32, c, fplus), in)
			hn = add(body, "Mul", 1, f32, add(body, "Tanh", 1, f32, cn), sig(g(3)))
		} else {
			cn = add(body, "AddV2", 1, f32, add(body, "Mul", 1, f32, fplus, c), in)
			hn = add(body, "Mul", 1, f32, sig(g(3)), add(body, "Tanh", 1, f32, cn))
		}
	}
	written, hState, cState := hn, hn, cn
	if seq {
		past := add(body, "GreaterEqual", 1, kernels.Attrs{"T": tensor.Int32}, t, a[8])
		written = add(body, "Select", 1, f32, past, a[9], hn)
		hState = add(body, "Select", 1, f32, past, h, hn)
		cState = add(body, "Select", 1, f32, past, c, cn)
	}
	set := add(body, "TensorListSetItem", 1, kernels.Attrs{"element_dtype": tensor.Float32}, a[3], t, written)
	body.Rets = []graph.Port{add(body, "Add", 1, kernels.Attrs{"T": tensor.Int32}, t, cnst(body, tensor.Scalar(int32(1)))), cState, hState, set, a[4], a[5], a[6], a[7]}
	if seq {
		body.Rets = append(body.Rets, a[8], a[9])
	}
	body.RetTypes = types

	g := &graph.Graph{Name: "graph"}
	xp := add(g, graph.OpPlaceholder, 1, kernels.Attrs{"dtype": tensor.Float32})
	np := add(g, graph.OpPlaceholder, 1, kernels.Attrs{"dtype": tensor.Int32})
	unk := cnst(g, tensor.Scalar(int32(-1)))
	in := add(g, "TensorListFromTensor", 1, kernels.Attrs{"element_dtype": tensor.Float32, "shape_type": tensor.Int32}, xp, unk)
	out := add(g, "TensorListReserve", 1, kernels.Attrs{"element_dtype": tensor.Float32, "shape_type": tensor.Int32}, unk, np)
	batch := add(g, "StridedSlice", 1, kernels.Attrs{"T": tensor.Int32, "Index": tensor.Int32, "shrink_axis_mask": int64(1)},
		add(g, "Shape", 1, kernels.Attrs{"T": tensor.Float32, "out_type": tensor.Int32}, xp),
		cnst(g, tensor.FromSlice(tensor.Shape{1}, []int32{1})), cnst(g, tensor.FromSlice(tensor.Shape{1}, []int32{2})), cnst(g, tensor.FromSlice(tensor.Shape{1}, []int32{1})))
	zeros := add(g, "Fill", 1, kernels.Attrs{"T": tensor.Float32, "index_type": tensor.Int32},
		add(g, "Pack", 1, kernels.Attrs{"T": tensor.Int32, "N": int64(2)}, batch, cnst(g, tensor.Scalar(int32(units)))), cnst(g, tensor.Scalar(float32(0))))
	inputs := []graph.Port{cnst(g, tensor.Scalar(int32(0))), zeros, zeros, out, np, in, cnst(g, k), cnst(g, bias)}
	feeds := []graph.Port{xp, np}
	if seq {
		lp := add(g, graph.OpPlaceholder, 1, kernels.Attrs{"dtype": tensor.Int32})
		feeds = append(feeds, lp)
		inputs = append(inputs, lp, zeros)
	}
	w := g.AddNode(&graph.Node{Name: "rnn/while", Op: "While", NumOutputs: len(types), Attrs: kernels.Attrs{"T": types,
		"cond": kernels.FuncRef{Name: "cond"}, "body": kernels.FuncRef{Name: "body"}, "parallel_iterations": int64(32)},
		Inputs: inputs})
	stacked := add(g, "TensorListStack", 1, kernels.Attrs{"element_dtype": tensor.Float32, "num_elements": int64(-1)}, graph.Port{Node: w, Out: 3}, unk)
	return g, graph.Library{"cond": cond, "body": body}, feeds, []graph.Port{{Node: w, Out: 1}, {Node: w, Out: 2}, stacked}
}

// TestV1LSTMLoops: BasicLSTMCell, LSTMCell and LSTMBlockCell loops, with
// and without sequence_length, are fused (one fused LSTM node each) and
// compute what the loop computes op by op (final c, final h, outputs):
// n = T through the fused branch, n < T through the loop.
func TestV1LSTMLoops(t *testing.T) {
	const T, B, I, U = 4, 3, 3, 2
	for _, kind := range []string{"basic", "cell", "block"} {
		for _, seq := range []bool{false, true} {
			r := rand.New(rand.NewPCG(55, 56))
			rnd := func(shape ...int) *tensor.Tensor {
				x := tensor.New(tensor.Float32, tensor.Shape(shape))
				for i := range x.F32() {
					x.F32()[i] = float32(r.Float64()*2 - 1)
				}
				return x
			}
			k, b, x := rnd(I+U, 4*U), rnd(4*U), rnd(T, B, I)
			for _, n := range []int32{T, 2} {
				args := []*tensor.Tensor{x, tensor.Scalar(n)}
				if seq {
					args = append(args, tensor.FromSlice(tensor.Shape{B}, []int32{T, 1, 0}))
				}
				g, lib, feeds, fetches := v1LSTM(kind, seq, k, b, U)
				want := runGraph(t, g, lib, feeds, fetches, args...)
				g, lib, feeds, fetches = v1LSTM(kind, seq, k, b, U)
				rep := fuse.Loops(g, lib)
				lstms := 0
				for _, f := range lib {
					for _, nd := range f.Nodes {
						if nd.Op == fuse.OpLSTM {
							lstms++
						}
					}
				}
				if len(rep.Fused) != 1 || lstms != 1 {
					t.Fatalf("%s seq=%v: fused %v (%d fused LSTM nodes), skipped %v", kind, seq, rep.Fused, lstms, rep.Skipped)
				}
				got := runGraph(t, g, lib, feeds, fetches, args...)
				for i := range want {
					if !got[i].Shape.Equal(want[i].Shape) {
						t.Fatalf("%s seq=%v n=%d: fetch %d shape %v, want %v", kind, seq, n, i, got[i].Shape, want[i].Shape)
					}
					for j, v := range want[i].F32() {
						if math.Abs(float64(got[i].F32()[j]-v)) > 1e-5 {
							t.Fatalf("%s seq=%v n=%d: fetch %d [%d] = %v, want %v", kind, seq, n, i, j, got[i].F32()[j], v)
						}
					}
				}
			}
		}
	}
}
