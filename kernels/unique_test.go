package kernels

import (
	"testing"
)

func TestUnique(t *testing.T) {
	out := mustRun(t, "Unique", nil, vec32(4, 1, 4, 2, 1))
	wantTensor(t, out[0], vec32(4, 1, 2))
	wantTensor(t, out[1], vec32(0, 1, 0, 2, 1))
}
