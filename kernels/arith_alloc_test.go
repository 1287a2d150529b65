package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// binaryShape must agree with BroadcastShape on every pair, including
// unknown (-1) and zero dims and incompatible shapes.
func TestBinaryShapeMatchesBroadcast(t *testing.T) {
	shapes := []tensor.Shape{{}, {1}, {3}, {0}, {-1}, {1, 3}, {2, 1}, {2, 3}, {4, 2, 3}, {4, 1, 1}, {1, 1, 1, 1, 1}, {5, 4, 2, 3}, {2, -1}}
	for _, a := range shapes {
		for _, b := range shapes {
			want, werr := BroadcastShape(a, b)
			got, gerr := binaryShape(a, b)
			if (werr == nil) != (gerr == nil) || (werr == nil && !got.Equal(want)) {
				t.Errorf("binaryShape(%v, %v) = %v, %v; BroadcastShape: %v, %v", a, b, got, gerr, want, werr)
			}
		}
	}
}

// A binary op's output has a shape of its own (not its input's), and a
// small float32 op allocates only the output block and its data.
func TestBinaryArithOutput(t *testing.T) {
	f, err := binaryArith("Mul")(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	a := tensor.FromSlice(tensor.Shape{3}, []float32{1, 2, 5})
	b := tensor.Scalar(float32(0.5))
	out, err := f(&Context{}, []*tensor.Tensor{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !out[0].Shape.Equal(tensor.Shape{3}) {
		t.Fatalf("got %v", out)
	}
	if got := out[0].F32(); got[0] != 0.5 || got[1] != 1 || got[2] != 2.5 {
		t.Fatalf("Mul = %v, want [0.5 1 2.5]", got)
	}
	out[0].Shape[0] = 7
	if a.Shape[0] != 3 {
		t.Fatal("the output's shape aliases the input's")
	}
	ctx := &Context{}
	in := []*tensor.Tensor{a, b}
	n := testing.AllocsPerRun(100, func() {
		if _, err := f(ctx, in); err != nil {
			t.Fatal(err)
		}
	})
	// The tensor with its shape and result slice, the data, and the
	// data's slice header in the tensor's Data interface.
	if n > 3 {
		t.Fatalf("Mul of [3] by a scalar: %v allocations, want at most 3", n)
	}
	// Through a charging allocator (RunCharged) the output is the
	// allocator's.
	var charged int
	cctx := &Context{Alloc: func(dt tensor.DType, s tensor.Shape) *tensor.Tensor { charged++; return tensor.New(dt, s) }}
	if out, err := f(cctx, in); err != nil || charged != 1 || out[0].F32()[2] != 2.5 {
		t.Fatalf("charged run: %v, %v, %d allocations charged", out, err, charged)
	}
}

// tensor.New copies the shape for every rank (the small-shape block and
// the general case).
func TestNewCopiesShape(t *testing.T) {
	for _, s := range []tensor.Shape{nil, {}, {2}, {1, 2, 3, 4}, {1, 2, 1, 2, 1}} {
		x := tensor.New(tensor.Float32, s)
		if x.Shape == nil || !x.Shape.Equal(s) || x.Len() != max(s.NumElements(), 0) {
			t.Fatalf("New(%v): shape %v, %d elements", s, x.Shape, x.Len())
		}
		if len(s) > 0 {
			x.Shape[0] = 9
			if s[0] == 9 {
				t.Fatalf("New(%v) shares its shape", s)
			}
		}
	}
}
