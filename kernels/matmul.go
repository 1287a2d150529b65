package kernels

import (
	"sync"

	"github.com/tfserve/tfserve/kernels/bf16"
	"github.com/tfserve/tfserve/kernels/gemm"
	"github.com/tfserve/tfserve/tensor"
)

// matmulGeneric computes c = op(a)·op(b) (c is overwritten). a is m×k (or
// k×m when ta), b is k×n (or n×k when tb).
func matmulGeneric[T number](c, a, b []T, m, n, k int, ta, tb bool) {
	for i := range c[:m*n] {
		c[i] = 0
	}
	if tb {
		// Dot products over contiguous rows of a (when !ta) and b.
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s T
				br := b[j*k : j*k+k]
				if !ta {
					ar := a[i*k : i*k+k]
					for p, v := range ar {
						s += v * br[p]
					}
				} else {
					for p, v := range br {
						s += a[p*m+i] * v
					}
				}
				c[i*n+j] = s
			}
		}
		return
	}
	for i := 0; i < m; i++ {
		cr := c[i*n : i*n+n]
		for p := 0; p < k; p++ {
			var av T
			if ta {
				av = a[p*m+i]
			} else {
				av = a[i*k+p]
			}
			br := b[p*n : p*n+n]
			for j, v := range br {
				cr[j] += av * v
			}
		}
	}
}

// matMuler multiplies matrices of one dtype; float32 goes through the
// packed SGEMM with a pool of workspaces owned by the node.
type matMuler struct {
	pool sync.Pool
}

func newMatMuler() *matMuler {
	return &matMuler{pool: sync.Pool{New: func() any { return new(gemm.Workspace) }}}
}

// mul computes c = op(a)·op(b) for one matrix of each (slices of a batch).
func (mm *matMuler) mul(c, a, b any, m, n, k int, ta, tb bool) error {
	switch cd := c.(type) {
	case []float32:
		lda, ldb := k, n
		if ta {
			lda = m
		}
		if tb {
			ldb = k
		}
		ws := mm.pool.Get().(*gemm.Workspace)
		err := ws.Sgemm(ta, tb, m, n, k, 1, a.([]float32), lda, b.([]float32), ldb, 0, cd, n)
		mm.pool.Put(ws)
		return err
	case []float64:
		matmulGeneric(cd, a.([]float64), b.([]float64), m, n, k, ta, tb)
	case []int32:
		matmulGeneric(cd, a.([]int32), b.([]int32), m, n, k, ta, tb)
	case []int64:
		matmulGeneric(cd, a.([]int64), b.([]int64), m, n, k, ta, tb)
	case []int8:
		matmulGeneric(cd, a.([]int8), b.([]int8), m, n, k, ta, tb)
	case []int16:
		matmulGeneric(cd, a.([]int16), b.([]int16), m, n, k, ta, tb)
	case []uint8:
		matmulGeneric(cd, a.([]uint8), b.([]uint8), m, n, k, ta, tb)
	case []uint16:
		matmulGeneric(cd, a.([]uint16), b.([]uint16), m, n, k, ta, tb)
	case []uint32:
		matmulGeneric(cd, a.([]uint32), b.([]uint32), m, n, k, ta, tb)
	case []uint64:
		matmulGeneric(cd, a.([]uint64), b.([]uint64), m, n, k, ta, tb)
	default:
		return Errorf("MatMul: unsupported type %T", c)
	}
	return nil
}

func subslice(data any, lo, hi int) any {
	switch d := data.(type) {
	case []float32:
		return d[lo:hi]
	case []float64:
		return d[lo:hi]
	case []int32:
		return d[lo:hi]
	case []int64:
		return d[lo:hi]
	case []int8:
		return d[lo:hi]
	case []int16:
		return d[lo:hi]
	case []uint8:
		return d[lo:hi]
	case []uint16:
		return d[lo:hi]
	case []uint32:
		return d[lo:hi]
	case []uint64:
		return d[lo:hi]
	}
	return nil
}

func matMulBuilder(attrs Attrs, _ int) (Func, error) {
	ta, tb := attrs.Bool("transpose_a", false), attrs.Bool("transpose_b", false)
	if pb, ok := attrs[AttrBF16Weights].(*bf16.Matrix); ok {
		if ta {
			return nil, buildErr("MatMul", "bf16 weights need transpose_a=false")
		}
		return bf16MatMul(pb, tb), nil
	}
	mm := newMatMuler()
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("MatMul", in, 2); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		if len(a.Shape) != 2 || len(b.Shape) != 2 {
			return nil, Errorf("In[0] and In[1] are not matrices: %v %v", a.Shape, b.Shape)
		}
		if a.DType != b.DType || !a.DType.Numeric() {
			return nil, noKernel("MatMul", a.DType)
		}
		m, k := a.Shape[0], a.Shape[1]
		if ta {
			m, k = k, m
		}
		k2, n := b.Shape[0], b.Shape[1]
		if tb {
			k2, n = n, k2
		}
		if k != k2 {
			return nil, Errorf("Matrix size-incompatible: In[0]: %v, In[1]: %v", a.Shape, b.Shape)
		}
		out := ctx.New(a.DType, tensor.Shape{m, n})
		if err := mm.mul(out.Data, a.Data, b.Data, m, n, k, ta, tb); err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// batchMatMul multiplies a [..., m, k] by b [..., k, n] (adj flags
// transpose the last two dims), broadcasting batch dims when bcast.
func batchMatMul(ctx *Context, mm *matMuler, a, b *tensor.Tensor, adjX, adjY, bcast bool) (*tensor.Tensor, error) {
	ra, rb := len(a.Shape), len(b.Shape)
	if ra < 2 || rb < 2 {
		return nil, Errorf("In[0] and In[1] ndims must be >= 2: %d and %d", ra, rb)
	}
	if a.DType != b.DType || !a.DType.Numeric() {
		return nil, noKernel("BatchMatMul", a.DType)
	}
	m, k := a.Shape[ra-2], a.Shape[ra-1]
	if adjX {
		m, k = k, m
	}
	k2, n := b.Shape[rb-2], b.Shape[rb-1]
	if adjY {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, Errorf("Matrix size-incompatible: In[0]: %v, In[1]: %v", a.Shape, b.Shape)
	}
	ba, bb := a.Shape[:ra-2], b.Shape[:rb-2]
	var batch tensor.Shape
	if bcast {
		var err error
		if batch, err = BroadcastShape(ba, bb); err != nil {
			return nil, Errorf("In[0] and In[1] must have compatible batch dimensions: %v vs. %v", a.Shape, b.Shape)
		}
	} else {
		if !ba.Equal(bb) {
			return nil, Errorf("In[0] and In[1] must have compatible batch dimensions: %v vs. %v", a.Shape, b.Shape)
		}
		batch = ba.Clone()
	}
	os := append(batch.Clone(), m, n)
	out := ctx.New(a.DType, os)
	nb := batch.NumElements()
	// Batch offsets of a and b (in matrices) for each output batch index.
	offA := broadcastIndex(ba, batch)
	offB := broadcastIndex(bb, batch)
	sa, sb, sc := m*k, k*n, m*n
	for i := 0; i < nb; i++ {
		ia, ib := offA[i], offB[i]
		err := mm.mul(subslice(out.Data, i*sc, (i+1)*sc),
			subslice(a.Data, ia*sa, (ia+1)*sa), subslice(b.Data, ib*sb, (ib+1)*sb), m, n, k, adjX, adjY)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// broadcastIndex maps each flat index of shape out to the flat index of s
// broadcast to it.
func broadcastIndex(s, out tensor.Shape) []int {
	n := out.NumElements()
	idx := make([]int, n)
	if len(s) == 0 || s.NumElements() == 1 {
		return idx
	}
	offs := broadcastOffs(s, out)
	src := make([]int, s.NumElements())
	for i := range src {
		src[i] = i
	}
	gatherT(idx, src, 0, offs)
	return idx
}

func batchMatMulBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		adjX, adjY := attrs.Bool("adj_x", false), attrs.Bool("adj_y", false)
		bcast := op != "BatchMatMul"
		if op == "BatchMatMulV3" {
			ta, tb := attrs.Type("Ta", tensor.Invalid), attrs.Type("Tb", tensor.Invalid)
			to := attrs.Type("Tout", tensor.Invalid)
			if ta != tb || (to != tensor.Invalid && to != ta) {
				return nil, buildErr(op, "mixed types Ta=%v Tb=%v Tout=%v are not supported", ta, tb, to)
			}
		}
		mm := newMatMuler()
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 2); err != nil {
				return nil, err
			}
			out, err := batchMatMul(ctx, mm, in[0], in[1], adjX, adjY, bcast)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
