package kernels

import (
	"testing"
)

func TestOneHot(t *testing.T) {
	oh := mustRun(t, "OneHot", nil, vec32(0, 2, -1), sc32(3), f32(sh(), 1), f32(sh(), 0))[0]
	wantTensor(t, oh, f32(sh(3, 3), 1, 0, 0, 0, 0, 1, 0, 0, 0))
	oh = mustRun(t, "OneHot", Attrs{"axis": int64(0)}, vec32(0, 2), sc32(3), i32(sh(), 5), i32(sh(), -1))[0]
	wantTensor(t, oh, i32(sh(3, 2), 5, -1, -1, -1, -1, 5))
}
