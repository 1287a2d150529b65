package kernels

import (
	"testing"
)

func TestCumsumCumprod(t *testing.T) {
	c := i32(sh(2, 3), 1, 2, 3, 4, 5, 6)
	wantTensor(t, mustRun(t, "Cumsum", nil, c, sc32(1))[0], i32(sh(2, 3), 1, 3, 6, 4, 9, 15))
	wantTensor(t, mustRun(t, "Cumsum", Attrs{"exclusive": true}, c, sc32(1))[0], i32(sh(2, 3), 0, 1, 3, 0, 4, 9))
	wantTensor(t, mustRun(t, "Cumsum", Attrs{"reverse": true}, c, sc32(0))[0], i32(sh(2, 3), 5, 7, 9, 4, 5, 6))
	wantTensor(t, mustRun(t, "Cumsum", Attrs{"reverse": true, "exclusive": true}, c, sc32(-1))[0], i32(sh(2, 3), 5, 3, 0, 11, 6, 0))
	wantTensor(t, mustRun(t, "Cumprod", nil, c, sc32(1))[0], i32(sh(2, 3), 1, 2, 6, 4, 20, 120))
}
