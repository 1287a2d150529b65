package kernels

import (
	"testing"
)

func TestReverse(t *testing.T) {
	wantTensor(t, mustRun(t, "ReverseV2", nil, iota32(sh(2, 3)), vec32(-1))[0], f32(sh(2, 3), 2, 1, 0, 5, 4, 3))
	wantTensor(t, mustRun(t, "ReverseV2", nil, iota32(sh(2, 3)), vec32(0, 1))[0], f32(sh(2, 3), 5, 4, 3, 2, 1, 0))
}
