package kernels

import (
	"testing"
)

func TestRange(t *testing.T) {
	wantTensor(t, mustRun(t, "Range", nil, sc32(3), sc32(10), sc32(3))[0], vec32(3, 6, 9))
	wantTensor(t, mustRun(t, "Range", nil, sc32(5), sc32(1), sc32(-2))[0], vec32(5, 3))
	wantClose(t, mustRun(t, "Range", nil, f32(sh(), 0), f32(sh(), 1), f32(sh(), 0.25))[0], f32(sh(4), 0, 0.25, 0.5, 0.75), 1e-7)
	mustFail(t, "Range", nil, "Requires start <= limit when delta > 0", sc32(5), sc32(1), sc32(1))
}
