package kernels

import (
	"math"
	"testing"
)

func TestCompareAndLogic(t *testing.T) {
	a := f32(sh(2, 2), 1, 2, 3, 4)
	b := f32(sh(2), 2, 2)
	cases := map[string][]bool{
		"Less":         {true, false, false, false},
		"LessEqual":    {true, true, false, false},
		"Greater":      {false, false, true, true},
		"GreaterEqual": {false, true, true, true},
		"Equal":        {false, true, false, false},
		"NotEqual":     {true, false, true, true},
	}
	for op, want := range cases {
		got := mustRun(t, op, nil, a, b)[0]
		wantTensor(t, got, bools(sh(2, 2), want...))
	}
	got := mustRun(t, "Equal", nil, strs(sh(3), "a", "b", "c"), strs(sh(), "b"))[0]
	wantTensor(t, got, bools(sh(3), false, true, false))
	got = mustRun(t, "Equal", Attrs{"incompatible_shape_error": false}, iota32(sh(3)), iota32(sh(2)))[0]
	wantTensor(t, got, bools(sh(), false))
	mustFail(t, "Less", nil, "No OpKernel", strs(sh(1), "a"), strs(sh(1), "b"))
	got = mustRun(t, "LogicalAnd", nil, bools(sh(2, 2), true, true, false, true), bools(sh(2), true, false))[0]
	wantTensor(t, got, bools(sh(2, 2), true, false, false, false))
	got = mustRun(t, "LogicalOr", nil, bools(sh(2), false, false), bools(sh(), true))[0]
	wantTensor(t, got, bools(sh(2), true, true))
	got = mustRun(t, "LogicalNot", nil, bools(sh(2), false, true))[0]
	wantTensor(t, got, bools(sh(2), true, false))
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	x := f32(sh(3), 1, inf, nan)
	wantTensor(t, mustRun(t, "IsNan", nil, x)[0], bools(sh(3), false, false, true))
	wantTensor(t, mustRun(t, "IsInf", nil, x)[0], bools(sh(3), false, true, false))
	wantTensor(t, mustRun(t, "IsFinite", nil, x)[0], bools(sh(3), true, false, false))
}
