package kernels

import (
	"sync"

	"github.com/tfserve/tfserve/kernels/bf16"
	"github.com/tfserve/tfserve/tensor"
)

// AttrBF16Weights is the MatMul attribute that holds its right operand, a
// constant, already packed in bfloat16 (a *bf16.Matrix). graph/fuse's
// BF16MatMuls sets it for models that opt in to bf16 weights; the kernel
// then multiplies by the packed matrix (activations rounded to bf16 too)
// instead of reading input 1, whose shape it still checks.
const AttrBF16Weights = "_bf16_weights"

// bf16MatMul is MatMul(a, b) with b's values taken from pb.
func bf16MatMul(pb *bf16.Matrix, tb bool) Func {
	pool := sync.Pool{New: func() any { return new(bf16.Workspace) }}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("MatMul", in, 2); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		if len(a.Shape) != 2 || len(b.Shape) != 2 {
			return nil, Errorf("In[0] and In[1] are not matrices: %v %v", a.Shape, b.Shape)
		}
		if a.DType != tensor.Float32 || b.DType != tensor.Float32 {
			return nil, noKernel("MatMul", a.DType)
		}
		m, k := a.Shape[0], a.Shape[1]
		k2, n := b.Shape[0], b.Shape[1]
		if tb {
			k2, n = n, k2
		}
		if k != k2 {
			return nil, Errorf("Matrix size-incompatible: In[0]: %v, In[1]: %v", a.Shape, b.Shape)
		}
		if k != pb.Rows() || n != pb.Cols() {
			return nil, Errorf("MatMul: In[1] %v is not the %d×%d matrix packed in bf16", b.Shape, pb.Rows(), pb.Cols())
		}
		out := ctx.New(tensor.Float32, tensor.Shape{m, n})
		ws := pool.Get().(*bf16.Workspace)
		err := ws.MatMul(m, a.F32(), k, pb, false, out.F32(), n)
		pool.Put(ws)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}
}
