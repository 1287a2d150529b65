package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestArgMaxArgMin(t *testing.T) {
	x := f32(sh(2, 3), 1, 5, 5, 7, 0, 7)
	wantTensor(t, mustRun(t, "ArgMax", nil, x, sc32(1))[0], i64(sh(2), 1, 0))
	wantTensor(t, mustRun(t, "ArgMin", Attrs{"output_type": tensor.Int32}, x, sc32(-1))[0], i32(sh(2), 0, 1))
	wantTensor(t, mustRun(t, "ArgMax", nil, x, sc32(0))[0], i64(sh(3), 1, 0, 1))
	mustFail(t, "ArgMax", nil, "Expected dimension in the range", x, sc32(2))
}
