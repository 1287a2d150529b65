package kernels

import (
	"testing"
)

func TestSplitUnpack(t *testing.T) {
	u := mustRun(t, "Unpack", Attrs{"num": int64(3), "axis": int64(-1)}, iota32(sh(2, 3)))
	wantTensor(t, u[2], f32(sh(2), 2, 5))
	s := mustRun(t, "Split", Attrs{"num_split": int64(2)}, sc32(1), iota32(sh(2, 4)))
	wantTensor(t, s[1], f32(sh(2, 2), 2, 3, 6, 7))
	mustFail(t, "Split", Attrs{"num_split": int64(3)}, "evenly divide", sc32(1), iota32(sh(2, 4)))
	sv := mustRun(t, "SplitV", Attrs{"num_split": int64(3)}, iota32(sh(6)), vec32(1, -1, 2), sc32(0))
	wantTensor(t, sv[0], f32(sh(1), 0))
	wantTensor(t, sv[1], f32(sh(3), 1, 2, 3))
	wantTensor(t, sv[2], f32(sh(2), 4, 5))
}
