package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestFill(t *testing.T) {
	wantTensor(t, mustRun(t, "Fill", nil, vec32(2, 2), i64(sh(), 5))[0], i64(sh(2, 2), 5, 5, 5, 5))
	wantTensor(t, mustRun(t, "ZerosLike", nil, iota32(sh(2)))[0], f32(sh(2), 0, 0))
	wantTensor(t, mustRun(t, "OnesLike", nil, i32(sh(2), 4, 5))[0], i32(sh(2), 1, 1))
	e := mustRun(t, "Empty", Attrs{"dtype": tensor.Int64}, vec32(2, 0))[0]
	wantTensor(t, e, i64(sh(2, 0)))
}
