package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestTransposeAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 200; iter++ {
		rank := r.IntN(5)
		s := randShape(r, rank, 4)
		x := iota32(s)
		perm := r.Perm(rank)
		p32 := make([]int32, rank)
		os := make(tensor.Shape, rank)
		for i, p := range perm {
			p32[i] = int32(p)
			os[i] = s[p]
		}
		want := make([]float32, x.Len())
		for i := range want {
			oi := unravel(i, os)
			ii := make([]int, rank)
			for k, p := range perm {
				ii[p] = oi[k]
			}
			want[i] = x.F32()[ravel(ii, s)]
		}
		got := mustRun(t, "Transpose", nil, x, i32(sh(rank), p32...))[0]
		wantTensor(t, got, f32(os, want...))
	}
	mustFail(t, "Transpose", nil, "is duplicated", iota32(sh(2, 2)), vec32(0, 0))
	mustFail(t, "Transpose", nil, "expects a vector of size 2", iota32(sh(2, 2)), vec32(0))
	got := mustRun(t, "Transpose", nil, strs(sh(2, 2), "a", "b", "c", "d"), vec32(1, 0))[0]
	wantTensor(t, got, strs(sh(2, 2), "a", "c", "b", "d"))
}

func TestShapeOps(t *testing.T) {
	x := iota32(sh(2, 3))
	wantTensor(t, mustRun(t, "Shape", nil, x)[0], vec32(2, 3))
	wantTensor(t, mustRun(t, "Shape", Attrs{"out_type": tensor.Int64}, x)[0], i64(sh(2), 2, 3))
	wantTensor(t, mustRun(t, "Size", nil, x)[0], sc32(6))
	wantTensor(t, mustRun(t, "Rank", nil, x)[0], sc32(2))
	n := mustRun(t, "ShapeN", nil, x, iota32(sh(4)))
	wantTensor(t, n[1], vec32(4))
	wantTensor(t, mustRun(t, "Reshape", nil, x, vec32(3, -1))[0], iota32(sh(3, 2)))
	wantTensor(t, mustRun(t, "Reshape", nil, x, vec32(-1))[0], iota32(sh(6)))
	wantTensor(t, mustRun(t, "Reshape", nil, iota32(sh(1)), i32(sh(0)))[0], iota32(sh()))
	mustFail(t, "Reshape", nil, "Input to reshape is a tensor with 6 values, but the requested shape has 4", x, vec32(2, 2))
	mustFail(t, "Reshape", nil, "Only one input size may be -1", x, vec32(-1, -1))
	mustFail(t, "Reshape", nil, "requires a multiple of 4", x, vec32(-1, 4))
	wantTensor(t, mustRun(t, "ExpandDims", nil, x, sc32(-1))[0], iota32(sh(2, 3, 1)))
	wantTensor(t, mustRun(t, "ExpandDims", nil, x, sc32(0))[0], iota32(sh(1, 2, 3)))
	mustFail(t, "ExpandDims", nil, "Tried to expand dim index 4", x, sc32(4))
	y := iota32(sh(1, 2, 1, 3))
	wantTensor(t, mustRun(t, "Squeeze", nil, y)[0], iota32(sh(2, 3)))
	wantTensor(t, mustRun(t, "Squeeze", Attrs{"squeeze_dims": []int64{-2}}, y)[0], iota32(sh(1, 2, 3)))
	mustFail(t, "Squeeze", Attrs{"squeeze_dims": []int64{1}}, "Can not squeeze dim[1], expected a dimension of 1, got 2", y)
	wantTensor(t, mustRun(t, "BroadcastArgs", nil, vec32(2, 1), vec32(3))[0], vec32(2, 3))
	wantTensor(t, mustRun(t, "BroadcastTo", nil, f32(sh(2, 1), 1, 2), vec32(2, 3))[0], f32(sh(2, 3), 1, 1, 1, 2, 2, 2))
	mustFail(t, "BroadcastTo", nil, "Unable to broadcast", iota32(sh(3)), vec32(2))
	mustFail(t, "EnsureShape", Attrs{"shape": sh(2, 4)}, "is not compatible", x)
	wantTensor(t, mustRun(t, "EnsureShape", Attrs{"shape": sh(-1, 3)}, x)[0], x)
}

func TestConcatPackSplit(t *testing.T) {
	a, b := iota32(sh(2, 2)), f32(sh(2, 1), 9, 8)
	wantTensor(t, mustRun(t, "ConcatV2", nil, a, b, sc32(-1))[0], f32(sh(2, 3), 0, 1, 9, 2, 3, 8))
	wantTensor(t, mustRun(t, "Concat", nil, sc32(0), a, a)[0], f32(sh(4, 2), 0, 1, 2, 3, 0, 1, 2, 3))
	mustFail(t, "ConcatV2", nil, "Dimension 1 in both shapes must be equal", a, b, sc32(0))
	offs := mustRun(t, "ConcatOffset", nil, sc32(1), vec32(2, 2), vec32(2, 1), vec32(2, 5))
	wantTensor(t, offs[0], vec32(0, 0))
	wantTensor(t, offs[1], vec32(0, 2))
	wantTensor(t, offs[2], vec32(0, 3))
	p := mustRun(t, "Pack", Attrs{"axis": int64(1)}, f32(sh(2), 1, 2), f32(sh(2), 3, 4))[0]
	wantTensor(t, p, f32(sh(2, 2), 1, 3, 2, 4))
	u := mustRun(t, "Unpack", Attrs{"num": int64(3), "axis": int64(-1)}, iota32(sh(2, 3)))
	wantTensor(t, u[2], f32(sh(2), 2, 5))
	s := mustRun(t, "Split", Attrs{"num_split": int64(2)}, sc32(1), iota32(sh(2, 4)))
	wantTensor(t, s[1], f32(sh(2, 2), 2, 3, 6, 7))
	mustFail(t, "Split", Attrs{"num_split": int64(3)}, "evenly divide", sc32(1), iota32(sh(2, 4)))
	sv := mustRun(t, "SplitV", Attrs{"num_split": int64(3)}, iota32(sh(6)), vec32(1, -1, 2), sc32(0))
	wantTensor(t, sv[0], f32(sh(1), 0))
	wantTensor(t, sv[1], f32(sh(3), 1, 2, 3))
	wantTensor(t, sv[2], f32(sh(2), 4, 5))
}

func TestSliceTilePadReverse(t *testing.T) {
	x := iota32(sh(3, 4))
	wantTensor(t, mustRun(t, "Slice", nil, x, vec32(1, 1), vec32(-1, 2))[0], f32(sh(2, 2), 5, 6, 9, 10))
	mustFail(t, "Slice", nil, "Expected begin[1]", x, vec32(0, 3), vec32(1, 2))
	wantTensor(t, mustRun(t, "Tile", nil, f32(sh(1, 2), 1, 2), vec32(2, 2))[0], f32(sh(2, 4), 1, 2, 1, 2, 1, 2, 1, 2))
	pads := i32(sh(2, 2), 1, 0, 0, 2)
	wantTensor(t, mustRun(t, "Pad", nil, f32(sh(1, 2), 1, 2), pads)[0], f32(sh(2, 4), 0, 0, 0, 0, 1, 2, 0, 0))
	wantTensor(t, mustRun(t, "PadV2", nil, f32(sh(1, 2), 1, 2), pads, f32(sh(), 7))[0], f32(sh(2, 4), 7, 7, 7, 7, 1, 2, 7, 7))
	mp := i32(sh(1, 2), 2, 2)
	wantTensor(t, mustRun(t, "MirrorPad", Attrs{"mode": "REFLECT"}, f32(sh(3), 1, 2, 3), mp)[0], f32(sh(7), 3, 2, 1, 2, 3, 2, 1))
	wantTensor(t, mustRun(t, "MirrorPad", Attrs{"mode": "SYMMETRIC"}, f32(sh(3), 1, 2, 3), mp)[0], f32(sh(7), 2, 1, 1, 2, 3, 3, 2))
	mustFail(t, "MirrorPad", Attrs{"mode": "REFLECT"}, "paddings must be less than", f32(sh(2), 1, 2), mp)
	wantTensor(t, mustRun(t, "ReverseV2", nil, iota32(sh(2, 3)), vec32(-1))[0], f32(sh(2, 3), 2, 1, 0, 5, 4, 3))
	wantTensor(t, mustRun(t, "ReverseV2", nil, iota32(sh(2, 3)), vec32(0, 1))[0], f32(sh(2, 3), 5, 4, 3, 2, 1, 0))
}

func TestFillRangeOneHot(t *testing.T) {
	wantTensor(t, mustRun(t, "Fill", nil, vec32(2, 2), i64(sh(), 5))[0], i64(sh(2, 2), 5, 5, 5, 5))
	wantTensor(t, mustRun(t, "ZerosLike", nil, iota32(sh(2)))[0], f32(sh(2), 0, 0))
	wantTensor(t, mustRun(t, "OnesLike", nil, i32(sh(2), 4, 5))[0], i32(sh(2), 1, 1))
	wantTensor(t, mustRun(t, "Range", nil, sc32(3), sc32(10), sc32(3))[0], vec32(3, 6, 9))
	wantTensor(t, mustRun(t, "Range", nil, sc32(5), sc32(1), sc32(-2))[0], vec32(5, 3))
	wantClose(t, mustRun(t, "Range", nil, f32(sh(), 0), f32(sh(), 1), f32(sh(), 0.25))[0], f32(sh(4), 0, 0.25, 0.5, 0.75), 1e-7)
	mustFail(t, "Range", nil, "Requires start <= limit when delta > 0", sc32(5), sc32(1), sc32(1))
	oh := mustRun(t, "OneHot", nil, vec32(0, 2, -1), sc32(3), f32(sh(), 1), f32(sh(), 0))[0]
	wantTensor(t, oh, f32(sh(3, 3), 1, 0, 0, 0, 0, 1, 0, 0, 0))
	oh = mustRun(t, "OneHot", Attrs{"axis": int64(0)}, vec32(0, 2), sc32(3), i32(sh(), 5), i32(sh(), -1))[0]
	wantTensor(t, oh, i32(sh(3, 2), 5, -1, -1, -1, -1, 5))
	e := mustRun(t, "Empty", Attrs{"dtype": tensor.Int64}, vec32(2, 0))[0]
	wantTensor(t, e, i64(sh(2, 0)))
}

// refGather is GatherV2 computed from its definition, element by element.
func refGather(p *tensor.Tensor, idx []int64, is tensor.Shape, axis, bd int) (tensor.Shape, []float32) {
	os := tensor.Shape{}
	os = append(os, p.Shape[:axis]...)
	os = append(os, is[bd:]...)
	os = append(os, p.Shape[axis+1:]...)
	out := make([]float32, os.NumElements())
	for i := range out {
		o := unravel(i, os)
		// o = [batch..., outer(axis-bd)..., idx(ir-bd)..., inner...]
		batch := o[:bd]
		outer := o[bd:axis]
		iRest := o[axis : axis+len(is)-bd]
		inner := o[axis+len(is)-bd:]
		iIdx := append(append([]int{}, batch...), iRest...)
		v := idx[ravel(iIdx, is)]
		pIdx := append(append(append(append([]int{}, batch...), outer...), int(v)), inner...)
		out[i] = p.F32()[ravel(pIdx, p.Shape)]
	}
	return os, out
}

func TestGatherV2BatchDims(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 300; iter++ {
		pr := 1 + r.IntN(4)
		ps := randShape(r, pr, 3)
		bd := r.IntN(pr)
		axis := bd + r.IntN(pr-bd)
		ir := bd + r.IntN(3)
		is := make(tensor.Shape, ir)
		copy(is, ps[:bd])
		for i := bd; i < ir; i++ {
			is[i] = 1 + r.IntN(3)
		}
		idx := make([]int64, is.NumElements())
		for i := range idx {
			idx[i] = int64(r.IntN(ps[axis]))
		}
		p := iota32(ps)
		wantShape, want := refGather(p, idx, is, axis, bd)
		axisArg := int64(axis)
		if r.IntN(2) == 0 {
			axisArg -= int64(pr)
		}
		got := mustRun(t, "GatherV2", Attrs{"batch_dims": int64(bd)}, p, i64(is, idx...), i64(sh(), axisArg))[0]
		wantTensor(t, got, f32(wantShape, want...))
	}
	mustFail(t, "GatherV2", nil, "indices[1] = 3 is not in [0, 3)", iota32(sh(3)), vec32(0, 3), sc32(0))
	wantTensor(t, mustRun(t, "Gather", nil, iota32(sh(3, 2)), vec32(2, 0))[0], f32(sh(2, 2), 4, 5, 0, 1))
	got := mustRun(t, "GatherNd", nil, iota32(sh(2, 3)), i32(sh(2, 2), 1, 2, 0, 1))[0]
	wantTensor(t, got, f32(sh(2), 5, 1))
	got = mustRun(t, "GatherNd", nil, iota32(sh(2, 3)), i32(sh(1, 1), 1))[0]
	wantTensor(t, got, f32(sh(1, 3), 3, 4, 5))
	mustFail(t, "GatherNd", nil, "does not index into param shape", iota32(sh(2, 3)), i32(sh(1, 2), 2, 0))
}

func TestTopKTies(t *testing.T) {
	x := f32(sh(2, 5), 1, 3, 3, 2, 3, 5, 5, 5, 5, 5)
	for _, k := range []int32{0, 1, 3, 5} {
		out := mustRun(t, "TopKV2", nil, x, sc32(k))
		// Reference: stable selection of max repeatedly.
		var wantV []float32
		var wantI []int32
		for row := 0; row < 2; row++ {
			used := make([]bool, 5)
			for j := 0; j < int(k); j++ {
				best := -1
				for c := 0; c < 5; c++ {
					if !used[c] && (best < 0 || x.F32()[row*5+c] > x.F32()[row*5+best]) {
						best = c
					}
				}
				used[best] = true
				wantV = append(wantV, x.F32()[row*5+best])
				wantI = append(wantI, int32(best))
			}
		}
		if wantV == nil {
			wantV, wantI = []float32{}, []int32{}
		}
		wantTensor(t, out[0], f32(sh(2, int(k)), wantV...))
		wantTensor(t, out[1], i32(sh(2, int(k)), wantI...))
	}
	// Large input exercises the sort path and the insertion path alike.
	r := rand.New(rand.NewPCG(1, 1))
	big := make([]int32, 1000)
	for i := range big {
		big[i] = int32(r.IntN(20))
	}
	for _, k := range []int32{10, 900} {
		out := mustRun(t, "TopKV2", nil, i32(sh(1000), big...), sc32(k))
		vals, idx := out[0].I32(), out[1].I32()
		for j := 1; j < int(k); j++ {
			if vals[j] > vals[j-1] || (vals[j] == vals[j-1] && idx[j] < idx[j-1]) {
				t.Fatalf("k=%d: order broken at %d: (%d,%d) after (%d,%d)", k, j, vals[j], idx[j], vals[j-1], idx[j-1])
			}
			if big[idx[j]] != vals[j] {
				t.Fatalf("value/index mismatch")
			}
		}
	}
	mustFail(t, "TopKV2", nil, "input must have at least k columns", x, sc32(6))
}

func TestUniqueWhere(t *testing.T) {
	out := mustRun(t, "Unique", nil, vec32(4, 1, 4, 2, 1))
	wantTensor(t, out[0], vec32(4, 1, 2))
	wantTensor(t, out[1], vec32(0, 1, 0, 2, 1))
	w := mustRun(t, "Where", nil, bools(sh(2, 2), true, false, false, true))[0]
	wantTensor(t, w, i64(sh(2, 2), 0, 0, 1, 1))
	w = mustRun(t, "Where", nil, f32(sh(3), 0, 2, 0))[0]
	wantTensor(t, w, i64(sh(1, 1), 1))
}

func TestInvertPermutationIdentityConst(t *testing.T) {
	wantTensor(t, mustRun(t, "InvertPermutation", nil, vec32(2, 0, 1))[0], vec32(1, 2, 0))
	mustFail(t, "InvertPermutation", nil, "duplicated", vec32(0, 0))
	c := mustRun(t, "Const", Attrs{"value": vec32(1, 2), "dtype": tensor.Int32})[0]
	wantTensor(t, c, vec32(1, 2))
	if _, err := runOp(t, "Const", Attrs{"value": vec32(1), "dtype": tensor.Float32}); err == nil {
		t.Fatal("Const dtype mismatch must fail")
	}
	out := mustRun(t, "IdentityN", nil, vec32(1), strs(sh(), "a"))
	if len(out) != 2 || out[1].Strings()[0] != "a" {
		t.Fatal("IdentityN")
	}
}

func TestBadDataIsAnError(t *testing.T) {
	bad := &tensor.Tensor{DType: tensor.Float32, Shape: sh(3), Data: []float32{1}}
	mustFail(t, "AddV2", nil, "holds 1 elements", bad, bad)
	wrong := &tensor.Tensor{DType: tensor.Int32, Shape: sh(1), Data: []float32{1}}
	mustFail(t, "Neg", nil, "holds []float32", wrong)
}

// TestNoPanicsOnOddInputs feeds every kernel a handful of awkward inputs.
// Errors are fine; panics (reported as internal errors) are not.
func TestNoPanicsOnOddInputs(t *testing.T) {
	inputs := []*tensor.Tensor{
		f32(sh()), iota32(sh(0)), iota32(sh(2, 0, 3)), vec32(), sc32(-1), sc32(1 << 30), i64(sh(2), -5, 7),
		strs(sh(2), "", "x"), bools(sh(1), true), iota32(sh(1, 2, 2, 1)), f64(sh(2, 2), 1, 2, 3, 4),
		{DType: tensor.Variant, Shape: sh(), Data: []any{nil}}, {DType: tensor.Resource, Shape: sh(), Data: []any{"x"}},
	}
	inputs[0] = f32(sh(), 3)
	attrSets := []Attrs{nil, {"T": tensor.Float32, "DstT": tensor.Int32, "dtype": tensor.Float32, "num_split": int64(2),
		"axis": int64(-1), "N": int64(2), "num": int64(2), "element_dtype": tensor.Float32, "key_dtype": tensor.String,
		"value_dtype": tensor.Int64, "padding": "SAME", "strides": []int64{1, 1, 1, 1}, "ksize": []int64{1, 2, 2, 1},
		"mode": "REFLECT", "equation": "ij,jk->ik", "value": vec32(1), "shape": sh(1)}}
	r := rand.New(rand.NewPCG(11, 12))
	for _, op := range Supported() {
		if op == "ReadFile" || op == "InitializeTableFromTextFileV2" {
			continue // touch the file system
		}
		for _, attrs := range attrSets {
			for iter := 0; iter < 40; iter++ {
				n := r.IntN(5)
				in := make([]*tensor.Tensor, n)
				for i := range in {
					in[i] = inputs[r.IntN(len(inputs))]
				}
				b, _ := Lookup(op)
				f, err := b(attrs, n)
				if err != nil {
					if containsInternal(err) {
						t.Fatalf("%s build: %v", op, err)
					}
					continue
				}
				if _, err := f(&Context{}, in); err != nil && containsInternal(err) {
					t.Fatalf("%s%v: %v", op, in, err)
				}
			}
		}
	}
}

func containsInternal(err error) bool {
	return err != nil && len(err.Error()) > 0 && (contains(err.Error(), "internal error"))
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
