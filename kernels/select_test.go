package kernels

import (
	"testing"
)

func TestSelect(t *testing.T) {
	c := bools(sh(2), true, false)
	a := f32(sh(2, 2), 1, 2, 3, 4)
	b := f32(sh(2, 2), 5, 6, 7, 8)
	wantTensor(t, mustRun(t, "Select", nil, c, a, b)[0], f32(sh(2, 2), 1, 2, 7, 8))
	wantTensor(t, mustRun(t, "Select", nil, bools(sh(2, 2), true, false, false, true), a, b)[0], f32(sh(2, 2), 1, 6, 7, 4))
	wantTensor(t, mustRun(t, "Select", nil, bools(sh(), false), a, b)[0], b)
	mustFail(t, "Select", nil, "must have the same size", bools(sh(3), true, true, true), a, b)
	// SelectV2 broadcasts all three.
	got := mustRun(t, "SelectV2", nil, bools(sh(2), true, false), f32(sh(2, 1), 1, 2), f32(sh(), 0))[0]
	wantTensor(t, got, f32(sh(2, 2), 1, 0, 2, 0))
}
