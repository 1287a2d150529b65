package kernels

import (
	"testing"
)

func TestTile(t *testing.T) {
	wantTensor(t, mustRun(t, "Tile", nil, f32(sh(1, 2), 1, 2), vec32(2, 2))[0], f32(sh(2, 4), 1, 2, 1, 2, 1, 2, 1, 2))
}
