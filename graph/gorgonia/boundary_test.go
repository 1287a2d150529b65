package gorgonia_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/modelwriter"
	"github.com/tfserve/tfserve/tensor"
)

// lowered writes b to a SavedModel and wraps it in the gorgonia engine.
func lowered(t *testing.T, b *modelwriter.Builder) *gorgonia.Model {
	t.Helper()
	dir := t.TempDir()
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gm, err := gorgonia.New(m, gorgonia.Options{})
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { gm.Close() })
	return gm
}

func spec(name string, dt tensor.DType, shape tensor.Shape) modelwriter.TensorSpec {
	return modelwriter.TensorSpec{Name: name + ":0", DType: dt, Shape: shape}
}

// Integers live in the ExprGraph as float32 values: a cast of request
// integers (a kernel node) answers exactly up to 2^24 and refuses larger
// values with a message, never a rounded id.
func TestKernelNodeIntegerRange(t *testing.T) {
	b := modelwriter.New()
	x := b.Placeholder("ids", tensor.Int64, tensor.Shape{-1})
	y := b.Op("narrow", "Cast", []string{x}, map[string]any{"SrcT": tensor.Int64, "DstT": tensor.Int32})
	b.Signature("serving_default", "tensorflow/serving/predict",
		map[string]modelwriter.TensorSpec{"ids": spec(x, tensor.Int64, tensor.Shape{-1})},
		map[string]modelwriter.TensorSpec{"y": spec(y, tensor.Int32, tensor.Shape{-1})})
	gm := lowered(t, b)
	ctx := context.Background()
	in := tensor.FromSlice(tensor.Shape{3}, []int64{0, -7, 1 << 24})
	out, err := gm.Run(ctx, "", map[string]*tensor.Tensor{"ids": in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["y"].I32(); !slices.Equal(got, []int32{0, -7, 1 << 24}) {
		t.Errorf("y = %v, want [0 -7 16777216]", got)
	}
	in = tensor.FromSlice(tensor.Shape{3}, []int64{0, -7, 1<<24 + 1})
	_, err = gm.Run(ctx, "", map[string]*tensor.Tensor{"ids": in}, nil)
	if err == nil || !strings.Contains(err.Error(), "integer 16777217 is beyond what the gorgonia engine holds exactly") {
		t.Errorf("2^24+1: err = %v", err)
	}
}

// A string input and what depends on it alone run before the graph (the
// host stage); the numbers they produce enter the graph, which does the
// arithmetic: y = 2 * len(s) + 1.
func TestHostStage(t *testing.T) {
	b := modelwriter.New()
	s := b.Placeholder("s", tensor.String, tensor.Shape{-1})
	n := b.Op("len", "StringLength", []string{s}, map[string]any{"unit": "BYTE"})
	f := b.Op("as_float", "Cast", []string{n}, map[string]any{"SrcT": tensor.Int32, "DstT": tensor.Float32})
	two := b.Const("two", tensor.Scalar(float32(2)))
	one := b.Const("one", tensor.Scalar(float32(1)))
	m := b.Op("twice", "Mul", []string{f, two}, map[string]any{"T": tensor.Float32})
	y := b.Op("plus_one", "AddV2", []string{m, one}, map[string]any{"T": tensor.Float32})
	b.Signature("serving_default", "tensorflow/serving/predict",
		map[string]modelwriter.TensorSpec{"s": spec(s, tensor.String, tensor.Shape{-1})},
		map[string]modelwriter.TensorSpec{"y": spec(y, tensor.Float32, tensor.Shape{-1}), "n": spec(n, tensor.Int32, tensor.Shape{-1})})
	gm := lowered(t, b)
	for _, words := range [][]string{{"", "ab", "hello"}, {"same shape", "other", "x"}, {"four", "rows", "of", "text"}} {
		in := tensor.FromSlice(tensor.Shape{len(words)}, words)
		out, err := gm.Run(context.Background(), "", map[string]*tensor.Tensor{"s": in}, nil)
		if err != nil {
			t.Fatalf("%q: %v", words, err)
		}
		wantY := make([]float32, len(words))
		wantN := make([]int32, len(words))
		for i, w := range words {
			wantN[i] = int32(len(w))
			wantY[i] = 2*float32(len(w)) + 1
		}
		if got := out["y"].F32(); !slices.Equal(got, wantY) {
			t.Errorf("%q: y = %v, want %v", words, got, wantY)
		}
		if got := out["n"].I32(); !slices.Equal(got, wantN) {
			t.Errorf("%q: n = %v, want %v (a host value fetched directly)", words, got, wantN)
		}
	}
}
