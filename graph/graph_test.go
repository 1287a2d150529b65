package graph

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

func node(g *Graph, name, op string, nout int, attrs kernels.Attrs, in ...Port) *Node {
	return g.AddNode(&Node{Name: name, Op: op, NumOutputs: nout, Attrs: attrs, Inputs: in})
}

func konst(g *Graph, name string, v *tensor.Tensor) *Node {
	return node(g, name, OpConst, 1, kernels.Attrs{"value": v, "dtype": v.DType})
}

// counting loop: while i < n { i = i + 1; acc = acc * 2 }.
func loopLibrary() Library {
	cond := &Graph{Name: "cond"}
	i := node(cond, "i", OpArg, 1, nil)
	acc := node(cond, "acc", OpArg, 1, nil)
	n := node(cond, "n", OpArg, 1, nil)
	cond.Args = []*Node{i, acc, n}
	less := node(cond, "less", "Less", 1, kernels.Attrs{"T": tensor.Int32}, Port{i, 0}, Port{n, 0})
	cond.Rets = []Port{{less, 0}}

	body := &Graph{Name: "body"}
	bi := node(body, "i", OpArg, 1, nil)
	bacc := node(body, "acc", OpArg, 1, nil)
	bn := node(body, "n", OpArg, 1, nil)
	body.Args = []*Node{bi, bacc, bn}
	one := konst(body, "one", tensor.Scalar(int32(1)))
	two := konst(body, "two", tensor.Scalar(float32(2)))
	inc := node(body, "inc", "AddV2", 1, kernels.Attrs{"T": tensor.Int32}, Port{bi, 0}, Port{one, 0})
	dbl := node(body, "dbl", "Mul", 1, kernels.Attrs{"T": tensor.Float32}, Port{bacc, 0}, Port{two, 0})
	body.Rets = []Port{{inc, 0}, {dbl, 0}, {bn, 0}}

	then := &Graph{Name: "then"}
	tx := node(then, "x", OpArg, 1, nil)
	then.Args = []*Node{tx}
	then.Rets = []Port{{node(then, "neg", "Neg", 1, kernels.Attrs{"T": tensor.Float32}, Port{tx, 0}), 0}}
	els := &Graph{Name: "else"}
	ex := node(els, "x", OpArg, 1, nil)
	els.Args = []*Node{ex}
	els.Rets = []Port{{ex, 0}}
	return Library{"cond": cond, "body": body, "then": then, "else": els}
}

func TestWhileIfAndCalls(t *testing.T) {
	lib := loopLibrary()
	g := &Graph{Name: "top"}
	x := node(g, "x", OpPlaceholder, 1, nil)
	n := node(g, "n", OpPlaceholder, 1, nil)
	zero := konst(g, "zero", tensor.Scalar(int32(0)))
	w := node(g, "w", "While", 3, kernels.Attrs{"cond": kernels.FuncRef{Name: "cond"}, "body": kernels.FuncRef{Name: "body"}},
		Port{zero, 0}, Port{x, 0}, Port{n, 0})
	pred := node(g, "pred", "Greater", 1, kernels.Attrs{"T": tensor.Int32}, Port{n, 0}, Port{zero, 0})
	iff := node(g, "if", "If", 1, kernels.Attrs{"then_branch": kernels.FuncRef{Name: "then"}, "else_branch": kernels.FuncRef{Name: "else"}},
		Port{pred, 0}, Port{w, 1})
	call := node(g, "call", "PartitionedCall", 1, kernels.Attrs{"f": kernels.FuncRef{Name: "then"}}, Port{iff, 0})
	s := NewSession(lib, kernels.Lookup)
	p, err := s.Compile("top", g, []Port{{x, 0}, {n, 0}}, []Port{{iff, 0}, {call, 0}, {w, 0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int32
		want float32
	}{{3, -8}, {0, 1}, {5, -32}} {
		out, err := p.Run(context.Background(), []*tensor.Tensor{tensor.Scalar(float32(1)), tensor.Scalar(c.n)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].F32()[0]; got != c.want {
			t.Errorf("n=%d: if(while) = %v, want %v", c.n, got, c.want)
		}
		if got := out[1].F32()[0]; got != -c.want {
			t.Errorf("n=%d: call = %v, want %v", c.n, got, -c.want)
		}
		if got := out[2].I32()[0]; got != c.n {
			t.Errorf("n=%d: loop counter = %v", c.n, got)
		}
	}
	// Inlined and folded, the plan gives the same answers.
	ig, ports, err := Inline(g, lib, []Port{{x, 0}, {n, 0}, {iff, 0}, {call, 0}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := s.Compile("inlined", ig, ports[:2], ports[2:], nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ip.Run(context.Background(), []*tensor.Tensor{tensor.Scalar(float32(1)), tensor.Scalar(int32(3))})
	if err != nil || out[1].F32()[0] != 8 {
		t.Fatalf("inlined: %v %v", out, err)
	}
	if ip.Ops()["PartitionedCall"] != 0 {
		t.Errorf("inlined plan still calls: %v", ip.Ops())
	}
	// Concurrent runs share the plan safely.
	var wg sync.WaitGroup
	for k := 0; k < 8; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				n := int32((k + r) % 6)
				out, err := p.Run(context.Background(), []*tensor.Tensor{tensor.Scalar(float32(1)), tensor.Scalar(n)})
				want := float32(int32(1) << n)
				if n > 0 {
					want = -want
				}
				if err != nil || out[0].F32()[0] != want {
					t.Errorf("concurrent n=%d: %v %v", n, out, err)
					return
				}
			}
		}(k)
	}
	wg.Wait()
}

func TestCompileErrors(t *testing.T) {
	g := &Graph{}
	x := node(g, "x", OpPlaceholder, 1, nil)
	a := node(g, "a", "NoSuchOp", 1, nil, Port{x, 0})
	b := node(g, "b", "AlsoMissing", 1, nil, Port{a, 0})
	c := node(g, "c", "NoSuchOp", 1, nil, Port{b, 0})
	s := NewSession(nil, kernels.Lookup)
	_, err := s.Compile("g", g, []Port{{x, 0}}, []Port{{c, 0}}, nil)
	var me *MissingOpsError
	if !errors.As(err, &me) || len(me.Ops()) != 2 || len(me.Uses["NoSuchOp"]) != 2 || !strings.Contains(err.Error(), "AlsoMissing") {
		t.Fatalf("want one error listing both missing ops and their uses, got %v", err)
	}
	// A cycle.
	g2 := &Graph{}
	p := node(g2, "p", "Identity", 1, nil)
	q := node(g2, "q", "Identity", 1, nil, Port{p, 0})
	p.Inputs = []Port{{q, 0}}
	if _, err := s.Compile("g2", g2, nil, []Port{{q, 0}}, nil); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	// An unfed placeholder fails at run time with TF's message.
	g3 := &Graph{}
	ph := node(g3, "ph", OpPlaceholder, 1, nil)
	id := node(g3, "id", "Identity", 1, nil, Port{ph, 0})
	p3, err := s.Compile("g3", g3, nil, []Port{{id, 0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p3.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "must feed a value for placeholder") {
		t.Fatalf("unfed placeholder: %v", err)
	}
}

func TestRunHonoursContext(t *testing.T) {
	lib := loopLibrary()
	g := &Graph{}
	x := node(g, "x", OpPlaceholder, 1, nil)
	n := node(g, "n", OpPlaceholder, 1, nil)
	zero := konst(g, "zero", tensor.Scalar(int32(0)))
	w := node(g, "w", "While", 3, kernels.Attrs{"cond": kernels.FuncRef{Name: "cond"}, "body": kernels.FuncRef{Name: "body"}},
		Port{zero, 0}, Port{x, 0}, Port{n, 0})
	p, err := NewSession(lib, kernels.Lookup).Compile("g", g, []Port{{x, 0}, {n, 0}}, []Port{{w, 0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Run(ctx, []*tensor.Tensor{tensor.Scalar(float32(1)), tensor.Scalar(int32(1 << 30))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestInferShapes(t *testing.T) {
	g := &Graph{}
	x := node(g, "x", OpPlaceholder, 1, kernels.Attrs{"shape": tensor.Shape{-1, 4}})
	w := konst(g, "w", tensor.New(tensor.Float32, tensor.Shape{4, 3}))
	mm := node(g, "mm", "MatMul", 1, nil, Port{x, 0}, Port{w, 0})
	bias := konst(g, "b", tensor.New(tensor.Float32, tensor.Shape{3}))
	add := node(g, "add", "AddV2", 1, nil, Port{mm, 0}, Port{bias, 0})
	shp := konst(g, "shp", tensor.FromSlice(tensor.Shape{2}, []int32{-1, 1}))
	rs := node(g, "rs", "Reshape", 1, nil, Port{add, 0}, Port{shp, 0})
	bad := node(g, "bad", "Mul", 1, nil, Port{w, 0}, Port{konst(g, "v5", tensor.New(tensor.Float32, tensor.Shape{5})), 0})
	s := InferShapes(g, nil)
	for p, want := range map[Port]string{{mm, 0}: "[-1,3]", {add, 0}: "[-1,3]", {rs, 0}: "[-1,1]"} {
		if got := s[p].String(); got != want {
			t.Errorf("%s: %s, want %s", p.Node.Name, got, want)
		}
	}
	if s[Port{bad, 0}] != nil {
		t.Errorf("incompatible broadcast inferred %v", s[Port{bad, 0}])
	}
	// A known batch flows through.
	s = InferShapes(g, map[Port]tensor.Shape{{x, 0}: {8, 4}})
	if got := s[Port{rs, 0}].String(); got != "[24,1]" {
		t.Errorf("reshape with known size: %s", got)
	}
}
