package kernels

import (
	"testing"
)

func TestWhere(t *testing.T) {
	w := mustRun(t, "Where", nil, bools(sh(2, 2), true, false, false, true))[0]
	wantTensor(t, w, i64(sh(2, 2), 0, 0, 1, 1))
	w = mustRun(t, "Where", nil, f32(sh(3), 0, 2, 0))[0]
	wantTensor(t, w, i64(sh(1, 1), 1))
}
