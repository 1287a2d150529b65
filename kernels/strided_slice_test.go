package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// The reference below re-derives StridedSlice from its documented meaning:
// the spec is read as a Python index tuple (x[b0:e0:s0, ..., tf.newaxis, 3])
// and applied with Python/numpy slicing rules, one axis at a time.

type pyIndex struct {
	kind         int // 0 slice, 1 integer, 2 newaxis, 3 ellipsis
	start, stop  int64
	hasStart     bool
	hasStop      bool
	step         int64
	integerIndex int64
}

func specToPython(begin, end, strides []int64, m sliceMasks) []pyIndex {
	var idx []pyIndex
	for i := range strides {
		bit := int64(1) << i
		switch {
		case m.ellipsis&bit != 0:
			idx = append(idx, pyIndex{kind: 3})
		case m.newAxis&bit != 0:
			idx = append(idx, pyIndex{kind: 2})
		case m.shrink&bit != 0:
			idx = append(idx, pyIndex{kind: 1, integerIndex: begin[i], step: strides[i]})
		default:
			idx = append(idx, pyIndex{kind: 0, start: begin[i], stop: end[i], step: strides[i],
				hasStart: m.begin&bit == 0, hasStop: m.end&bit == 0})
		}
	}
	return idx
}

// pySliceIndices is Python's slice.indices(n).
func pySliceIndices(p pyIndex, n int64) (start, stop, step int64) {
	step = p.step
	if step > 0 {
		start, stop = 0, n
		if p.hasStart {
			start = p.start
			if start < 0 {
				start += n
			}
			start = min(max(start, 0), n)
		}
		if p.hasStop {
			stop = p.stop
			if stop < 0 {
				stop += n
			}
			stop = min(max(stop, 0), n)
		}
		return
	}
	start, stop = n-1, -1
	if p.hasStart {
		start = p.start
		if start < 0 {
			start += n
		}
		start = min(max(start, -1), n-1)
	}
	if p.hasStop {
		stop = p.stop
		if stop < 0 {
			stop += n
		}
		stop = min(max(stop, -1), n-1)
	}
	return
}

// refStridedSlice returns the result of x[idx] (or ok=false where Python /
// TF raise an error).
func refStridedSlice(x *tensor.Tensor, idx []pyIndex) (tensor.Shape, []float32, bool) {
	// Expand the ellipsis (implicit at the end when absent).
	real := 0
	hasEllipsis := false
	for _, p := range idx {
		switch p.kind {
		case 0, 1:
			real++
		case 3:
			hasEllipsis = true
		}
	}
	if !hasEllipsis {
		idx = append(idx, pyIndex{kind: 3})
	}
	rank := len(x.Shape)
	if real > rank {
		return nil, nil, false
	}
	var full []pyIndex
	for _, p := range idx {
		if p.kind == 3 {
			for k := 0; k < rank-real; k++ {
				full = append(full, pyIndex{kind: 0, step: 1})
			}
			continue
		}
		full = append(full, p)
	}
	// Per input axis, the list of selected positions; track output dims.
	type axisSel struct {
		pos  []int
		keep bool
	}
	var sels []axisSel
	var outShape tensor.Shape
	dim := 0
	for _, p := range full {
		switch p.kind {
		case 2:
			outShape = append(outShape, 1)
		case 1:
			n := int64(x.Shape[dim])
			i := p.integerIndex
			if i < 0 {
				i += n
			}
			if i < 0 || i >= n || p.step <= 0 {
				return nil, nil, false
			}
			sels = append(sels, axisSel{pos: []int{int(i)}})
			dim++
		case 0:
			if p.step == 0 {
				return nil, nil, false
			}
			start, stop, step := pySliceIndices(p, int64(x.Shape[dim]))
			var pos []int
			for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
				pos = append(pos, int(i))
			}
			sels = append(sels, axisSel{pos: pos, keep: true})
			outShape = append(outShape, len(pos))
			dim++
		}
	}
	// Enumerate the cartesian product of selections in order.
	var vals []float32
	src := x.F32()
	var walk func(d int, idx []int)
	walk = func(d int, idx []int) {
		if d == len(sels) {
			vals = append(vals, src[ravel(idx, x.Shape)])
			return
		}
		for _, p := range sels[d].pos {
			walk(d+1, append(idx, p))
		}
	}
	walk(0, nil)
	if outShape == nil {
		outShape = tensor.Shape{}
	}
	return outShape, vals, true
}

func runStridedSlice(t testing.TB, x *tensor.Tensor, b, e, s []int64, m sliceMasks) ([]*tensor.Tensor, error) {
	attrs := Attrs{"begin_mask": m.begin, "end_mask": m.end, "ellipsis_mask": m.ellipsis,
		"new_axis_mask": m.newAxis, "shrink_axis_mask": m.shrink}
	return runOp(t, "StridedSlice", attrs, x, i64(sh(len(b)), b...), i64(sh(len(e)), e...), i64(sh(len(s)), s...))
}

func TestStridedSliceKnownCases(t *testing.T) {
	x := iota32(sh(3, 4))
	cases := []struct {
		b, e, s []int64
		m       sliceMasks
		shape   tensor.Shape
		want    []float32
	}{
		// x[1] -> row 1
		{[]int64{1}, []int64{2}, []int64{1}, sliceMasks{shrink: 1}, sh(4), []float32{4, 5, 6, 7}},
		// x[-1] -> last row
		{[]int64{-1}, []int64{0}, []int64{1}, sliceMasks{shrink: 1}, sh(4), []float32{8, 9, 10, 11}},
		// x[:, ::-2]
		{[]int64{0, 0}, []int64{0, 0}, []int64{1, -2}, sliceMasks{begin: 3, end: 3}, sh(3, 2), []float32{3, 1, 7, 5, 11, 9}},
		// x[..., 1]
		{[]int64{0, 1}, []int64{0, 2}, []int64{1, 1}, sliceMasks{ellipsis: 1, shrink: 2}, sh(3), []float32{1, 5, 9}},
		// x[tf.newaxis, 1:, -1]
		{[]int64{0, 1, -1}, []int64{0, 0, 0}, []int64{1, 1, 1}, sliceMasks{newAxis: 1, end: 2, shrink: 4}, sh(1, 2), []float32{7, 11}},
		// x[5:10] -> empty
		{[]int64{5}, []int64{10}, []int64{1}, sliceMasks{}, sh(0, 4), nil},
		// x[::-1, 1:3]
		{[]int64{0, 1}, []int64{0, 3}, []int64{-1, 1}, sliceMasks{begin: 1, end: 1}, sh(3, 2), []float32{9, 10, 5, 6, 1, 2}},
	}
	for i, c := range cases {
		out, err := runStridedSlice(t, x, c.b, c.e, c.s, c.m)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if c.want == nil {
			c.want = []float32{}
		}
		wantTensor(t, out[0], f32(c.shape, c.want...))
	}
	_, err := runStridedSlice(t, x, []int64{3}, []int64{4}, []int64{1}, sliceMasks{shrink: 1})
	if err == nil || err.Error() != "slice index 3 of dimension 0 out of bounds." {
		t.Fatalf("want out-of-bounds error, got %v", err)
	}
	if _, err := runStridedSlice(t, x, []int64{0}, []int64{1}, []int64{0}, sliceMasks{}); err == nil {
		t.Fatal("zero stride must fail")
	}
	if _, err := runStridedSlice(t, x, []int64{0, 0}, []int64{1, 1}, []int64{1, 1}, sliceMasks{ellipsis: 3}); err == nil {
		t.Fatal("two ellipses must fail")
	}
}

func randSpec(r *rand.Rand, rank int) (b, e, s []int64, m sliceMasks) {
	n := r.IntN(rank + 3)
	b, e, s = make([]int64, n), make([]int64, n), make([]int64, n)
	for i := 0; i < n; i++ {
		b[i] = int64(r.IntN(11) - 5)
		e[i] = int64(r.IntN(11) - 5)
		s[i] = int64(r.IntN(7) - 3)
		if r.IntN(4) > 0 && s[i] == 0 {
			s[i] = 1
		}
	}
	bits := func(p int) int64 {
		var v int64
		for i := 0; i < n; i++ {
			if r.IntN(p) == 0 {
				v |= 1 << i
			}
		}
		return v
	}
	m = sliceMasks{begin: bits(3), end: bits(3), newAxis: bits(6), shrink: bits(4)}
	if n > 0 && r.IntN(3) == 0 {
		m.ellipsis = 1 << r.IntN(n)
	}
	return
}

func TestStridedSliceAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	checked := 0
	for iter := 0; iter < 20000; iter++ {
		rank := r.IntN(4)
		x := iota32(randShape(r, rank, 4))
		b, e, s, m := randSpec(r, rank)
		wantShape, want, ok := refStridedSlice(x, specToPython(b, e, s, m))
		out, err := runStridedSlice(t, x, b, e, s, m)
		desc := fmt.Sprintf("x%v b=%v e=%v s=%v masks=%+v", x.Shape, b, e, s, m)
		if !ok {
			if err == nil {
				t.Fatalf("%s: reference rejects, kernel gave %v", desc, out[0].Shape)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		if want == nil {
			want = []float32{}
		}
		if !out[0].Shape.Equal(wantShape) {
			t.Fatalf("%s: shape %v, want %v", desc, out[0].Shape, wantShape)
		}
		got := out[0].F32()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: got %v, want %v", desc, got, want)
			}
		}
		checked++
	}
	if checked < 5000 {
		t.Fatalf("only %d valid random specs checked", checked)
	}
}

func TestStridedSliceGrad(t *testing.T) {
	// Gradient of x[::2, 1] for x of shape [3, 2]: dy lands on rows 0 and 2, column 1.
	attrs := Attrs{"shrink_axis_mask": int64(2), "begin_mask": int64(1), "end_mask": int64(1)}
	out := mustRun(t, "StridedSliceGrad", attrs, vec32(3, 2), vec32(0, 1), vec32(0, 2), vec32(2, 1), f32(sh(2), 5, 6))[0]
	wantTensor(t, out, f32(sh(3, 2), 0, 5, 0, 0, 0, 6))
}

func FuzzStridedSlice(f *testing.F) {
	f.Add(uint64(1), uint8(2), []byte{1, 2, 3, 4, 5, 6})
	f.Add(uint64(99), uint8(3), []byte{255, 0, 7, 128, 3, 3, 3, 3, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, seed uint64, rank uint8, spec []byte) {
		r := rand.New(rand.NewPCG(seed, uint64(len(spec))))
		x := iota32(randShape(r, int(rank%5), 4))
		n := len(spec) / 3
		if n > 40 {
			n = 40
		}
		b, e, s := make([]int64, n), make([]int64, n), make([]int64, n)
		for i := 0; i < n; i++ {
			b[i] = int64(int8(spec[3*i]))
			e[i] = int64(int8(spec[3*i+1]))
			s[i] = int64(int8(spec[3*i+2]))
		}
		m := sliceMasks{begin: int64(r.Uint32()), end: int64(r.Uint32()), ellipsis: int64(r.Uint32() >> r.IntN(33)),
			newAxis: int64(r.Uint32() >> r.IntN(33)), shrink: int64(r.Uint32() >> r.IntN(33))}
		out, err := runStridedSlice(t, x, b, e, s, m)
		if err != nil {
			return
		}
		if n < 32 && m.ellipsis&(m.ellipsis-1) == 0 {
			wantShape, want, ok := refStridedSlice(x, specToPython(b, e, s, m))
			if ok && (!out[0].Shape.Equal(wantShape) || len(want) != out[0].Len()) {
				t.Fatalf("shape %v, reference %v", out[0].Shape, wantShape)
			}
		}
	})
}
