package kernels

import (
	"testing"
)

func TestPad(t *testing.T) {
	pads := i32(sh(2, 2), 1, 0, 0, 2)
	wantTensor(t, mustRun(t, "Pad", nil, f32(sh(1, 2), 1, 2), pads)[0], f32(sh(2, 4), 0, 0, 0, 0, 1, 2, 0, 0))
	wantTensor(t, mustRun(t, "PadV2", nil, f32(sh(1, 2), 1, 2), pads, f32(sh(), 7))[0], f32(sh(2, 4), 7, 7, 7, 7, 1, 2, 7, 7))
	mp := i32(sh(1, 2), 2, 2)
	wantTensor(t, mustRun(t, "MirrorPad", Attrs{"mode": "REFLECT"}, f32(sh(3), 1, 2, 3), mp)[0], f32(sh(7), 3, 2, 1, 2, 3, 2, 1))
	wantTensor(t, mustRun(t, "MirrorPad", Attrs{"mode": "SYMMETRIC"}, f32(sh(3), 1, 2, 3), mp)[0], f32(sh(7), 2, 1, 1, 2, 3, 3, 2))
	mustFail(t, "MirrorPad", Attrs{"mode": "REFLECT"}, "paddings must be less than", f32(sh(2), 1, 2), mp)
}
