package kernels

import (
	"testing"
)

func TestAssertCheckNumerics(t *testing.T) {
	if out := mustRun(t, "Assert", nil, bools(sh(), true), strs(sh(), "msg")); len(out) != 0 {
		t.Fatal("Assert has no outputs")
	}
	mustFail(t, "Assert", nil, "assertion failed: [x must be positive] [-1 2 3...]", bools(sh(), false), strs(sh(), "x must be positive"), i32(sh(4), -1, 2, 3, 4))
	mustFail(t, "CheckNumerics", Attrs{"message": "logits"}, "logits : Tensor had NaN values", f32(sh(2), 1, float32(nan())))
	wantTensor(t, mustRun(t, "CheckNumerics", nil, f32(sh(1), 1))[0], f32(sh(1), 1))
}

func nan() float64 { var z float64; return z / z }
