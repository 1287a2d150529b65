package rnn

import (
	"github.com/tfserve/tfserve/kernels/bf16"
	"github.com/tfserve/tfserve/kernels/gemm"
)

// weights is a packed weight matrix in the layer's precision: float32 for
// the packed SGEMM (the default), or bf16 (GRUParams.BF16,
// LSTMParams.BF16), multiplied by package bf16's kernels, which round the
// activations to bf16 too.
type weights struct {
	f32  *gemm.PackedB
	bf16 *bf16.Matrix
}

// packWeights packs the k×n matrix w (leading dimension ldw) in bf16 when
// half is set, else in float32.
func packWeights(half bool, k, n int, w []float32, ldw int) (weights, error) {
	if half {
		m, err := bf16.Pack(false, k, n, w, ldw)
		return weights{bf16: m}, err
	}
	p, err := gemm.PackB(false, k, n, w, ldw)
	return weights{f32: p}, err
}

// mul sets c = a·w for m rows: a is m×k with leading dimension lda, c is
// m×n with leading dimension ldc.
func (ws *Workspace) mul(m int, a []float32, lda int, w weights, c []float32, ldc int) error {
	if w.bf16 != nil {
		ws.half.PureGo = ws.PureGo
		return ws.half.MatMul(m, a, lda, w.bf16, false, c, ldc)
	}
	return ws.gemm.SgemmPacked(false, m, 1, a, lda, w.f32, 0, c, ldc)
}
