package kernels

import (
	"math"
	"testing"
)

func TestSoftmax(t *testing.T) {
	s := mustRun(t, "Softmax", nil, f64(sh(2, 3), 1, 2, 3, 1000, 1000, 1000))[0]
	e := []float64{math.Exp(1), math.Exp(2), math.Exp(3)}
	z := e[0] + e[1] + e[2]
	wantClose(t, s, f64(sh(2, 3), e[0]/z, e[1]/z, e[2]/z, 1.0/3, 1.0/3, 1.0/3), 1e-12)
	ls := mustRun(t, "LogSoftmax", nil, f64(sh(3), 1, 2, 3))[0]
	wantClose(t, ls, f64(sh(3), 1-math.Log(z), 2-math.Log(z), 3-math.Log(z)), 1e-12)
}
