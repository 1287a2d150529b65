package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// BroadcastShape returns the NumPy-style broadcast of two shapes
// (tensor.Broadcast), or TF's "Incompatible shapes" error.
func BroadcastShape(a, b tensor.Shape) (tensor.Shape, error) {
	out, ok := tensor.Broadcast(a, b)
	if !ok {
		return nil, Errorf("Incompatible shapes: %v vs. %v", a, b)
	}
	return out, nil
}

// broadcastStrides returns, for an input of shape s broadcast to out, the
// stride of each output dim in the input (0 where broadcast).
func broadcastStrides(s, out tensor.Shape) []int {
	st := make([]int, len(out))
	in := stridesOf(s)
	off := len(out) - len(s)
	for i := range out {
		j := i - off
		if j >= 0 && s[j] != 1 {
			st[i] = in[j]
		}
	}
	return st
}

// binKernel is a binary op over rows: vv combines two equal-length vectors,
// sv a scalar with a vector, vs a vector with a scalar.
type binKernel[T, U any] struct {
	vv func(o []U, a, b []T)
	sv func(o []U, a T, b []T)
	vs func(o []U, a []T, b T)
}

// elemKernel builds a binKernel from a per-element function.
func elemKernel[T, U any](f func(a, b T) U) binKernel[T, U] {
	return binKernel[T, U]{
		vv: func(o []U, a, b []T) {
			b = b[:len(a)]
			o = o[:len(a)]
			for i := range a {
				o[i] = f(a[i], b[i])
			}
		},
		sv: func(o []U, a T, b []T) {
			o = o[:len(b)]
			for i := range b {
				o[i] = f(a, b[i])
			}
		},
		vs: func(o []U, a []T, b T) {
			o = o[:len(a)]
			for i := range a {
				o[i] = f(a[i], b)
			}
		},
	}
}

// binaryBroadcast computes o = k(a, b) with numpy broadcasting. as, bs and
// os are the shapes; os must be BroadcastShape(as, bs).
func binaryBroadcast[T, U any](o []U, a []T, as tensor.Shape, b []T, bs tensor.Shape, os tensor.Shape, k binKernel[T, U]) {
	n := len(o)
	if n == 0 {
		return
	}
	switch {
	case len(a) == n && len(b) == n:
		k.vv(o, a, b)
		return
	case len(a) == 1 && len(b) == n:
		k.sv(o, a[0], b)
		return
	case len(b) == 1 && len(a) == n:
		k.vs(o, a, b[0])
		return
	case len(a) == 1 && len(b) == 1:
		k.vv(o, a, b)
		return
	}
	// General case: drop size-1 output dims, then merge neighbours that
	// broadcast the same way.
	sa := broadcastStrides(as, os)
	sb := broadcastStrides(bs, os)
	var dims, ta, tb []int
	for i, d := range os {
		if d == 1 {
			continue
		}
		if m := len(dims) - 1; m >= 0 && (ta[m] == 0) == (sa[i] == 0) && (tb[m] == 0) == (sb[i] == 0) {
			// Merge dim i into the previous one: strides of the merged dim are
			// those of dim i.
			dims[m] *= d
			ta[m], tb[m] = sa[i], sb[i]
			continue
		}
		dims = append(dims, d)
		ta = append(ta, sa[i])
		tb = append(tb, sb[i])
	}
	r := len(dims)
	inner := dims[r-1]
	ia, ib := ta[r-1], tb[r-1]
	idx := make([]int, r-1)
	offA, offB := 0, 0
	for off := 0; off < n; off += inner {
		row := o[off : off+inner]
		switch {
		case ia != 0 && ib != 0:
			k.vv(row, a[offA:offA+inner], b[offB:offB+inner])
		case ia == 0:
			k.sv(row, a[offA], b[offB:offB+inner])
		default:
			k.vs(row, a[offA:offA+inner], b[offB])
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			offA += ta[d]
			offB += tb[d]
			if idx[d] < dims[d] {
				break
			}
			offA -= ta[d] * dims[d]
			offB -= tb[d] * dims[d]
			idx[d] = 0
		}
	}
}

// broadcastTo returns the view offsets that broadcast shape s to out.
func broadcastOffs(s, out tensor.Shape) [][]int {
	st := broadcastStrides(s, out)
	offs := make([][]int, len(out))
	for i, d := range out {
		offs[i] = axisOffs(0, 1, d, st[i])
	}
	return offs
}

// broadcastView materializes t broadcast to shape os (t itself when equal).
func broadcastView(ctx *Context, t *tensor.Tensor, os tensor.Shape) *tensor.Tensor {
	if t.Shape.Equal(os) {
		return t
	}
	return gatherView(ctx, t, os, 0, broadcastOffs(t.Shape, os))
}
