package kernels

import (
	"testing"
)

func TestSlice(t *testing.T) {
	x := iota32(sh(3, 4))
	wantTensor(t, mustRun(t, "Slice", nil, x, vec32(1, 1), vec32(-1, 2))[0], f32(sh(2, 2), 5, 6, 9, 10))
	mustFail(t, "Slice", nil, "Expected begin[1]", x, vec32(0, 3), vec32(1, 2))
}
