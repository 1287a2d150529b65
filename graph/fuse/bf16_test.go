package fuse_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/kernels/bf16"
	"github.com/tfserve/tfserve/tensor"
)

// TestBF16MatMuls: the pass packs the constant right operand of
// untransposed-A float32 MatMuls (transposed B too) and leaves the others
// (a fed right operand, transpose_a, int32) alone, without changing a
// shared attribute map; the MatMul kernel then gives the bf16 kernel's
// bits, within bf16 rounding of float32. A refused charge keeps float32.
func TestBF16MatMuls(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(shape tensor.Shape) *tensor.Tensor {
		x := tensor.New(tensor.Float32, shape)
		for i := range x.F32() {
			x.F32()[i] = float32(r.NormFloat64())
		}
		return x
	}
	const m, k, n = 3, 37, 21
	w := rnd(tensor.Shape{k, n})
	wt := rnd(tensor.Shape{n, k})
	build := func() (*graph.Graph, []graph.Port, map[string]*graph.Node) {
		g := &graph.Graph{Name: "g"}
		x := g.AddNode(&graph.Node{Name: "x", Op: graph.OpPlaceholder, NumOutputs: 1})
		y := g.AddNode(&graph.Node{Name: "y", Op: graph.OpPlaceholder, NumOutputs: 1})
		cw := g.AddNode(&graph.Node{Name: "w", Op: graph.OpConst, NumOutputs: 1, Attrs: kernels.Attrs{"value": w, "dtype": tensor.Float32}})
		cwt := g.AddNode(&graph.Node{Name: "wt", Op: graph.OpConst, NumOutputs: 1, Attrs: kernels.Attrs{"value": wt, "dtype": tensor.Float32}})
		ci := g.AddNode(&graph.Node{Name: "wi", Op: graph.OpConst, NumOutputs: 1,
			Attrs: kernels.Attrs{"value": tensor.New(tensor.Int32, tensor.Shape{k, n}), "dtype": tensor.Int32}})
		plain := kernels.Attrs{"T": tensor.Float32, "transpose_a": false, "transpose_b": false}
		nodes := map[string]*graph.Node{
			// dense and fed share one attribute map, as Inline's copies do.
			"dense":  {Name: "dense", Op: "MatMul", Attrs: plain, Inputs: []graph.Port{{Node: x}, {Node: cw}}},
			"fed":    {Name: "fed", Op: "MatMul", Attrs: plain, Inputs: []graph.Port{{Node: x}, {Node: y}}},
			"transB": {Name: "transB", Op: "MatMul", Attrs: kernels.Attrs{"T": tensor.Float32, "transpose_b": true}, Inputs: []graph.Port{{Node: x}, {Node: cwt}}},
			"transA": {Name: "transA", Op: "MatMul", Attrs: kernels.Attrs{"T": tensor.Float32, "transpose_a": true}, Inputs: []graph.Port{{Node: y}, {Node: cw}}},
			"int":    {Name: "int", Op: "MatMul", Attrs: kernels.Attrs{"T": tensor.Int32}, Inputs: []graph.Port{{Node: ci}, {Node: ci}}},
		}
		var fetches []graph.Port
		for _, name := range []string{"dense", "fed", "transB", "transA"} {
			nodes[name].NumOutputs = 1
			g.AddNode(nodes[name])
			fetches = append(fetches, graph.Port{Node: nodes[name]})
		}
		nodes["int"].NumOutputs = 1
		g.AddNode(nodes["int"])
		nodes["x"], nodes["y"] = x, y
		return g, fetches, nodes
	}
	run := func(g *graph.Graph, fetches []graph.Port, nodes map[string]*graph.Node, x, y *tensor.Tensor) []*tensor.Tensor {
		sess := graph.NewSession(nil, fuse.Registry(kernels.Lookup))
		p, err := sess.Compile("g", g, []graph.Port{{Node: nodes["x"]}, {Node: nodes["y"]}}, fetches, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(context.Background(), []*tensor.Tensor{x, y})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	x, y := rnd(tensor.Shape{m, k}), rnd(tensor.Shape{k, n})
	g32, f32Fetches, n32 := build()
	want := run(g32, f32Fetches, n32, x, rnd(tensor.Shape{k, k}))

	g, fetches, nodes := build()
	count, err := fuse.BF16MatMuls(g, nil)
	if err != nil || count != 2 {
		t.Fatalf("BF16MatMuls: %d, %v; want 2 (dense, transB)", count, err)
	}
	for name, packed := range map[string]bool{"dense": true, "transB": true, "fed": false, "transA": false, "int": false} {
		_, has := nodes[name].Attrs[kernels.AttrBF16Weights]
		if has != packed {
			t.Errorf("%s: packed %v, want %v", name, has, packed)
		}
	}
	if again, _ := fuse.BF16MatMuls(g, nil); again != 0 {
		t.Errorf("a second pass packed %d more", again)
	}
	got := run(g, fetches, nodes, x, rnd(tensor.Shape{k, k}))
	// dense and transB: the bf16 kernel's bits; within 2⁻⁷Σ|a·b| of float32.
	for i, bw := range []*tensor.Tensor{w, wt} {
		pb, err := bf16.Pack(i == 1, k, n, bw.F32(), bw.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		ref := make([]float32, m*n)
		if err := new(bf16.Workspace).MatMul(m, x.F32(), k, pb, false, ref, n); err != nil {
			t.Fatal(err)
		}
		gi := []int{0, 2}[i]
		for j, v := range got[gi].F32() {
			if math.Float32bits(v) != math.Float32bits(ref[j]) {
				t.Fatalf("output %d[%d] = %v, bf16 kernel %v", gi, j, v, ref[j])
			}
			if d := math.Abs(float64(v - want[gi].F32()[j])); d > 0.08 || d == 0 && j == 0 {
				t.Errorf("output %d[%d] = %v, float32 %v", gi, j, v, want[gi].F32()[j])
			}
		}
	}
	// fed: float32, the same bits as without the pass (y differs per run,
	// so rerun both with one y).
	g32, f32Fetches, n32 = build()
	w32 := run(g32, f32Fetches, n32, x, y)
	if g2 := run(g, fetches, nodes, x, y); !equalBits(g2[1].F32(), w32[1].F32()) {
		t.Error("the MatMul by a fed operand changed")
	}
	// A refused charge packs nothing.
	g3, _, n3 := build()
	var asked int64
	if c, err := fuse.BF16MatMuls(g3, func(b int64) bool { asked += b; return false }); err != nil || c != 0 {
		t.Fatalf("refused charge: %d packed, %v", c, err)
	}
	if want := bf16.PackedBytes(k, n) * 2; asked != want {
		t.Errorf("charged %d bytes, want %d", asked, want)
	}
	if _, has := n3["dense"].Attrs[kernels.AttrBF16Weights]; has {
		t.Error("dense packed though its charge was refused")
	}
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestBF16MatMulShapeChecks: a packed MatMul still checks its inputs as
// MatMul does and names the packed shape when input 1 is not it.
func TestBF16MatMulShapeChecks(t *testing.T) {
	pb, err := bf16.Pack(false, 4, 3, make([]float32, 12), 3)
	if err != nil {
		t.Fatal(err)
	}
	build, _ := kernels.Lookup("MatMul")
	fn, err := build(kernels.Attrs{kernels.AttrBF16Weights: pb}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a, b tensor.Shape
		want string
	}{
		{tensor.Shape{2, 5}, tensor.Shape{4, 3}, "Matrix size-incompatible"},
		{tensor.Shape{2, 5}, tensor.Shape{5, 3}, "not the 4×3 matrix"},
		{tensor.Shape{2}, tensor.Shape{4, 3}, "not matrices"},
	} {
		_, err := fn(nil, []*tensor.Tensor{tensor.New(tensor.Float32, tc.a), tensor.New(tensor.Float32, tc.b)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v × %v: %v, want %q", tc.a, tc.b, err, tc.want)
		}
	}
	if _, err := build(kernels.Attrs{kernels.AttrBF16Weights: pb, "transpose_a": true}, 2); err == nil {
		t.Error("transpose_a with bf16 weights built")
	}
}
