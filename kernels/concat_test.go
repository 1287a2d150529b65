package kernels

import (
	"testing"
)

func TestConcatPack(t *testing.T) {
	a, b := iota32(sh(2, 2)), f32(sh(2, 1), 9, 8)
	wantTensor(t, mustRun(t, "ConcatV2", nil, a, b, sc32(-1))[0], f32(sh(2, 3), 0, 1, 9, 2, 3, 8))
	wantTensor(t, mustRun(t, "Concat", nil, sc32(0), a, a)[0], f32(sh(4, 2), 0, 1, 2, 3, 0, 1, 2, 3))
	mustFail(t, "ConcatV2", nil, "Dimension 1 in both shapes must be equal", a, b, sc32(0))
	offs := mustRun(t, "ConcatOffset", nil, sc32(1), vec32(2, 2), vec32(2, 1), vec32(2, 5))
	wantTensor(t, offs[0], vec32(0, 0))
	wantTensor(t, offs[1], vec32(0, 2))
	wantTensor(t, offs[2], vec32(0, 3))
	p := mustRun(t, "Pack", Attrs{"axis": int64(1)}, f32(sh(2), 1, 2), f32(sh(2), 3, 4))[0]
	wantTensor(t, p, f32(sh(2, 2), 1, 3, 2, 4))
}
