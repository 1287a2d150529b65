package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// mover moves elements of one Go slice type without knowing it. Data-movement
// kernels (transpose, slice, concat, gather, pad, tile, ...) are written once
// against it and work for every dtype, including strings, resources and
// variants.
//
// Offsets lists describe a strided view: the element at multi-index
// (i0, i1, ..., ik) of the view lives at base + offs[0][i0] + ... + offs[k][ik].
type mover interface {
	// gather fills dst (contiguous, row-major over the view) from the view of src.
	gather(dst, src any, base int, offs [][]int)
	// scatter writes contiguous src into the view of dst.
	scatter(dst, src any, base int, offs [][]int)
	// copyRun copies n elements src[si:] to dst[di:].
	copyRun(dst any, di int, src any, si, n int)
	// fill sets dst[lo:hi] to src[si].
	fill(dst any, lo, hi int, src any, si int)
}

type moverT[T any] struct{}

func (moverT[T]) gather(dst, src any, base int, offs [][]int) {
	gatherT(dst.([]T), src.([]T), base, offs)
}

func (moverT[T]) scatter(dst, src any, base int, offs [][]int) {
	scatterT(dst.([]T), src.([]T), base, offs)
}

func (moverT[T]) copyRun(dst any, di int, src any, si, n int) {
	copy(dst.([]T)[di:di+n], src.([]T)[si:si+n])
}

func (moverT[T]) fill(dst any, lo, hi int, src any, si int) {
	d := dst.([]T)[lo:hi]
	v := src.([]T)[si]
	for i := range d {
		d[i] = v
	}
}

// moverOf returns the mover for a tensor's Data slice type.
func moverOf(data any) mover {
	switch data.(type) {
	case []float32:
		return moverT[float32]{}
	case []float64:
		return moverT[float64]{}
	case []int32:
		return moverT[int32]{}
	case []int64:
		return moverT[int64]{}
	case []uint8:
		return moverT[uint8]{}
	case []int8:
		return moverT[int8]{}
	case []int16:
		return moverT[int16]{}
	case []uint16:
		return moverT[uint16]{}
	case []uint32:
		return moverT[uint32]{}
	case []uint64:
		return moverT[uint64]{}
	case []bool:
		return moverT[bool]{}
	case []string:
		return moverT[string]{}
	case []complex64:
		return moverT[complex64]{}
	case []complex128:
		return moverT[complex128]{}
	case []any:
		return moverT[any]{}
	}
	return nil
}

// runOf reports whether an offsets list is a contiguous run (step 1).
func runOf(o []int) bool {
	for j := 1; j < len(o); j++ {
		if o[j] != o[j-1]+1 {
			return false
		}
	}
	return true
}

func viewSize(offs [][]int) int {
	n := 1
	for _, o := range offs {
		n *= len(o)
	}
	return n
}

func gatherT[T any](dst, src []T, base int, offs [][]int) {
	r := len(offs)
	if r == 0 {
		if len(dst) > 0 {
			dst[0] = src[base]
		}
		return
	}
	total := viewSize(offs)
	if total == 0 {
		return
	}
	last := offs[r-1]
	n := len(last)
	contig := runOf(last)
	idx := make([]int, r-1)
	for o := 0; o < total; o += n {
		off := base
		for k, i := range idx {
			off += offs[k][i]
		}
		if contig {
			s := off + last[0]
			copy(dst[o:o+n], src[s:s+n])
		} else {
			d := dst[o : o+n]
			for j, l := range last {
				d[j] = src[off+l]
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			if idx[k] < len(offs[k]) {
				break
			}
			idx[k] = 0
		}
	}
}

func scatterT[T any](dst, src []T, base int, offs [][]int) {
	r := len(offs)
	if r == 0 {
		if len(src) > 0 {
			dst[base] = src[0]
		}
		return
	}
	total := viewSize(offs)
	if total == 0 {
		return
	}
	last := offs[r-1]
	n := len(last)
	contig := runOf(last)
	idx := make([]int, r-1)
	for o := 0; o < total; o += n {
		off := base
		for k, i := range idx {
			off += offs[k][i]
		}
		if contig {
			s := off + last[0]
			copy(dst[s:s+n], src[o:o+n])
		} else {
			s := src[o : o+n]
			for j, l := range last {
				dst[off+l] = s[j]
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			if idx[k] < len(offs[k]) {
				break
			}
			idx[k] = 0
		}
	}
}

// axisOffs returns n offsets start*stride, (start+step)*stride, ...
func axisOffs(start, step, n, stride int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = (start + i*step) * stride
	}
	return o
}

// fullOffs returns the offsets of a whole row-major tensor of shape s.
func fullOffs(s tensor.Shape) [][]int {
	st := stridesOf(s)
	offs := make([][]int, len(s))
	for i, d := range s {
		offs[i] = axisOffs(0, 1, d, st[i])
	}
	return offs
}

// collapseOffs merges trailing dims that form one contiguous run, which makes
// gather/scatter copy whole rows.
func collapseOffs(offs [][]int) [][]int {
	for len(offs) >= 2 {
		a, b := offs[len(offs)-2], offs[len(offs)-1]
		if len(b) == 0 || len(a) == 0 || !runOf(b) || !runOf(a) {
			break
		}
		if len(a) > 1 && a[1]-a[0] != len(b) {
			break
		}
		m := make([]int, len(a)*len(b))
		for i := range m {
			m[i] = a[0] + b[0] + i
		}
		offs = append(offs[:len(offs)-2:len(offs)-2], m)
	}
	return offs
}

// gatherView allocates a tensor of shape out and fills it from src's view.
func gatherView(ctx *Context, src *tensor.Tensor, out tensor.Shape, base int, offs [][]int) *tensor.Tensor {
	t := ctx.New(src.DType, out)
	if out.NumElements() == 0 {
		return t
	}
	moverOf(src.Data).gather(t.Data, src.Data, base, collapseOffs(offs))
	return t
}
