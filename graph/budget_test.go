package graph

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// doublingLibrary returns functions f0..f<levels>, where f<i> calls f<i-1>
// twice in sequence and f0 is an Identity.
func doublingLibrary(levels int) Library {
	lib := Library{}
	f0 := &Graph{Name: "f0"}
	a0 := node(f0, "x", OpArg, 1, nil)
	f0.Args = []*Node{a0}
	f0.Rets = []Port{{node(f0, "id", "Identity", 1, kernels.Attrs{"T": tensor.Float32}, Port{a0, 0}), 0}}
	lib["f0"] = f0
	for i := 1; i <= levels; i++ {
		f := &Graph{Name: fmt.Sprintf("f%d", i)}
		x := node(f, "x", OpArg, 1, nil)
		f.Args = []*Node{x}
		callee := fmt.Sprintf("f%d", i-1)
		a := node(f, "a", callee, 1, nil, Port{x, 0})
		b := node(f, "b", callee, 1, nil, Port{a, 0})
		f.Rets = []Port{{b, 0}}
		lib[f.Name] = f
	}
	return lib
}

// callTop returns a graph x -> f<levels>(x).
func callTop(levels int) (*Graph, Port, Port) {
	g := &Graph{Name: "top"}
	x := node(g, "x", OpPlaceholder, 1, nil)
	c := node(g, "call", fmt.Sprintf("f%d", levels), 1, nil, Port{x, 0})
	return g, Port{x, 0}, Port{c, 0}
}

func TestExpandCountsEveryCallSite(t *testing.T) {
	for _, levels := range []int{0, 1, 5, 12} {
		g, _, _ := callTop(levels)
		ex, err := Expand(g, doublingLibrary(levels), 0)
		if err != nil {
			t.Fatal(err)
		}
		// f0 has 2 nodes, f<k> 3 plus twice f<k-1>'s: 5*2^k - 3, plus
		// the top graph's 2.
		want := int64(5<<levels) - 1
		if ex.Nodes != want || ex.Depth != levels+1 {
			t.Errorf("levels %d: %+v, want %d nodes, depth %d", levels, ex, want, levels+1)
		}
	}
	// Inline builds exactly the counted nodes, less the _Args it skips.
	g, x, y := callTop(10)
	ig, _, err := Inline(g, doublingLibrary(10), []Port{x, y}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ig.Nodes); got != 1+1<<10 {
		t.Fatalf("inlined %d nodes, want %d", got, 1+1<<10)
	}
}

func TestExpandRefusesExponentialCalls(t *testing.T) {
	g, x, y := callTop(40)
	lib := doublingLibrary(40)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Expand(g, lib, 1<<20)
	var nl *NodeLimitError
	if !errors.As(err, &nl) || nl.Limit != 1<<20 || nl.Nodes != 5<<40-1 {
		t.Fatalf("Expand: %v (%+v)", err, nl)
	}
	_, _, err = Inline(g, lib, []Port{x, y}, 1000)
	if !errors.As(err, &nl) || nl.Limit != 1000 || nl.Nodes != 1001 {
		t.Fatalf("Inline: %v", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("refusing 2^40 nodes allocated %d bytes", d)
	}
}

func TestExpandRefusesRecursionAndDepth(t *testing.T) {
	lib := doublingLibrary(3)
	lib["f0"].Nodes[1].Op = "f2" // f0's Identity now calls f2: a cycle
	g, _, _ := callTop(3)
	if _, err := Expand(g, lib, 0); err == nil || !strings.Contains(err.Error(), "calls itself") {
		t.Fatalf("cycle: %v", err)
	}
	// A chain of MaxCallDepth calls passes; one more fails.
	chain := func(depth int) (*Graph, Library) {
		lib := Library{}
		for i := 0; i < depth; i++ {
			f := &Graph{Name: fmt.Sprintf("c%d", i)}
			x := node(f, "x", OpArg, 1, nil)
			f.Args = []*Node{x}
			op := "Identity"
			if i > 0 {
				op = fmt.Sprintf("c%d", i-1)
			}
			f.Rets = []Port{{node(f, "y", op, 1, nil, Port{x, 0}), 0}}
			lib[f.Name] = f
		}
		g := &Graph{Name: "top"}
		x := node(g, "x", OpPlaceholder, 1, nil)
		node(g, "call", fmt.Sprintf("c%d", depth-1), 1, nil, Port{x, 0})
		return g, lib
	}
	g, lib = chain(MaxCallDepth)
	if ex, err := Expand(g, lib, 0); err != nil || ex.Depth != MaxCallDepth {
		t.Fatalf("depth %d: %+v, %v", MaxCallDepth, ex, err)
	}
	g, lib = chain(MaxCallDepth + 1)
	if _, err := Expand(g, lib, 0); err == nil || !strings.Contains(err.Error(), "nest more than 64 deep") {
		t.Fatalf("depth %d: %v", MaxCallDepth+1, err)
	}
}

// TestFoldSkipsHugeFill: Fill([2^28], 1) folded from two tiny constants is
// left to run time without allocating its 1 GiB; a small Fill still folds.
func TestFoldSkipsHugeFill(t *testing.T) {
	build := func(n int64) (*Graph, Port, Port) {
		g := &Graph{Name: "top"}
		x := node(g, "x", OpPlaceholder, 1, nil)
		dims := konst(g, "dims", tensor.FromSlice(tensor.Shape{1}, []int64{n}))
		one := konst(g, "one", tensor.Scalar(float32(1)))
		fill := node(g, "fill", "Fill", 1, kernels.Attrs{"T": tensor.Float32}, Port{dims, 0}, Port{one, 0})
		add := node(g, "add", "AddV2", 1, kernels.Attrs{"T": tensor.Float32}, Port{x, 0}, Port{fill, 0})
		return g, Port{x, 0}, Port{add, 0}
	}
	s := NewSession(nil, kernels.Lookup)
	g, x, y := build(1 << 28)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, folded, err := s.FoldConstants(context.Background(), g, []Port{x}, []Port{y}, FoldOptions{MaxBytes: 10 << 20})
	runtime.ReadMemStats(&after)
	if err != nil || folded != 0 {
		t.Fatalf("huge Fill: folded %d, %v", folded, err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("skipping the fold allocated %d bytes", d)
	}
	if y.Node.Inputs[1].Node.Op != "Fill" {
		t.Fatalf("Fill was replaced by %s", y.Node.Inputs[1].Node.Op)
	}

	g, x, y = build(1000)
	var charged int64
	_, folded, err = s.FoldConstants(context.Background(), g, []Port{x}, []Port{y},
		FoldOptions{MaxBytes: 10 << 20, Charge: func(b int64) bool { charged += b; return true }})
	if err != nil || folded != 1 || charged != 4000 {
		t.Fatalf("small Fill: folded %d, charged %d, %v", folded, charged, err)
	}
	if in := y.Node.Inputs[1].Node; in.Op != OpConst || in.Attrs["value"].(*tensor.Tensor).Len() != 1000 {
		t.Fatalf("small Fill not folded: %s", in.Op)
	}

	// A refused charge leaves the node unfolded too.
	g, x, y = build(1000)
	_, folded, _ = s.FoldConstants(context.Background(), g, []Port{x}, []Port{y},
		FoldOptions{Charge: func(int64) bool { return false }})
	if folded != 0 {
		t.Fatalf("folded %d nodes over the charge budget", folded)
	}
}

// TestFoldAllocatorRefusesUnpredictedOutput: an op whose output size the
// folder does not predict (Einsum's outer product of two 80 KB vectors,
// 1.6 GB) is stopped by the folding allocator before it allocates.
func TestFoldAllocatorRefusesUnpredictedOutput(t *testing.T) {
	g := &Graph{Name: "top"}
	x := node(g, "x", OpPlaceholder, 1, nil)
	v := konst(g, "v", tensor.New(tensor.Float32, tensor.Shape{20000}))
	outer := node(g, "outer", "Einsum", 1, kernels.Attrs{"T": tensor.Float32, "equation": "i,j->ij", "N": int64(2)}, Port{v, 0}, Port{v, 0})
	add := node(g, "add", "AddV2", 1, kernels.Attrs{"T": tensor.Float32}, Port{x, 0}, Port{outer, 0})
	s := NewSession(nil, kernels.Lookup)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, folded, err := s.FoldConstants(context.Background(), g, []Port{{x, 0}}, []Port{{add, 0}}, FoldOptions{MaxBytes: 10 << 20})
	runtime.ReadMemStats(&after)
	if err != nil || folded != 0 || add.Inputs[1].Node != outer {
		t.Fatalf("folded %d, %v", folded, err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 100<<20 {
		t.Fatalf("refused fold allocated %d bytes", d)
	}
}
