package kernels

import (
	"testing"
)

func TestBiasAdd(t *testing.T) {
	x := iota32(sh(2, 3))
	wantTensor(t, mustRun(t, "BiasAdd", nil, x, f32(sh(3), 10, 20, 30))[0], f32(sh(2, 3), 10, 21, 32, 13, 24, 35))
	y := iota32(sh(1, 2, 2))
	wantTensor(t, mustRun(t, "BiasAdd", Attrs{"data_format": "NCHW"}, y, f32(sh(2), 10, 20))[0], f32(sh(1, 2, 2), 10, 11, 22, 23))
	mustFail(t, "BiasAdd", nil, "Must provide as many biases", x, f32(sh(2), 1, 2))
}
