package kernels

import (
	"testing"
)

func TestClipByValue(t *testing.T) {
	got := mustRun(t, "ClipByValue", nil, f32(sh(4), -3, 0, 2, 9), f32(sh(), -1), f32(sh(), 5))[0]
	wantTensor(t, got, f32(sh(4), -1, 0, 2, 5))
	mustFail(t, "ClipByValue", nil, "must be either scalars", f32(sh(4), 1, 2, 3, 4), f32(sh(2), 0, 0), f32(sh(), 1))
}
