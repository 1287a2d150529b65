package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestRandom(t *testing.T) {
	attrs := Attrs{"dtype": tensor.Float32, "seed": int64(1), "seed2": int64(2)}
	a := mustRun(t, "RandomUniform", attrs, vec32(1000))[0]
	b := mustRun(t, "RandomUniform", attrs, vec32(1000))[0]
	wantTensor(t, a, b) // seeded: reproducible
	sum := 0.0
	for _, v := range a.F32() {
		if v < 0 || v >= 1 {
			t.Fatalf("uniform sample %v out of [0,1)", v)
		}
		sum += float64(v)
	}
	if sum < 400 || sum > 600 {
		t.Fatalf("uniform mean %v implausible", sum/1000)
	}
	tn := mustRun(t, "TruncatedNormal", attrs, vec32(1000))[0]
	for _, v := range tn.F32() {
		if v < -2 || v > 2 {
			t.Fatalf("truncated normal sample %v outside [-2, 2]", v)
		}
	}
	n := mustRun(t, "RandomStandardNormal", Attrs{"dtype": tensor.Float64}, vec32(2, 3))[0]
	if !n.Shape.Equal(sh(2, 3)) || n.DType != tensor.Float64 {
		t.Fatalf("normal %v", n)
	}
}
