package fuse

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tfserve/tfserve/kernels/rnn"
)

// TestForwardRowsSplitsAcrossCores: with several cores, a call of many rows
// runs in parts and gives what one part gives, up to float rounding.
func TestForwardRowsSplitsAcrossCores(t *testing.T) {
	const input, units, steps, batch = 16, 64, 20, 64
	r := rand.New(rand.NewPCG(3, 3))
	rnd := func(n int, scale float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64() * scale)
		}
		return s
	}
	g, err := rnn.NewGRU(rnn.GRUParams{Input: input, Units: units, Kernel: rnd(input*3*units, 0.3),
		RecurrentKernel: rnd(units*3*units, 0.3), Bias: rnd(6*units, 0.1), ResetAfter: true,
		Activation: rnn.Tanh, RecurrentActivation: rnn.Sigmoid})
	if err != nil {
		t.Fatal(err)
	}
	p := &packed{gru: g}
	pool := new(rnn.Pool)
	x, h0 := rnd(batch*steps*input, 1), rnd(batch*units, 0.5)
	run := func(procs int) *rnn.Args {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		a := &rnn.Args{X: x, Batch: batch, Steps: steps, H0: h0, ReturnSequences: true,
			Out: make([]float32, batch*steps*units), H: make([]float32, batch*units)}
		if err := forwardRows(p, pool, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	one, four := run(1), run(4)
	for i := range one.Out {
		if d := math.Abs(float64(one.Out[i] - four.Out[i])); d > 1e-6+1e-5*math.Abs(float64(one.Out[i])) {
			t.Fatalf("out[%d]: 1 core %v, 4 cores %v", i, one.Out[i], four.Out[i])
		}
	}
	for i := range one.H {
		if math.Abs(float64(one.H[i]-four.H[i])) > 1e-5 {
			t.Fatalf("h[%d]: 1 core %v, 4 cores %v", i, one.H[i], four.H[i])
		}
	}
	// A bad call fails as a whole rather than being sliced.
	bad := &rnn.Args{X: x[:len(x)-1], Batch: batch, Steps: steps, ReturnSequences: true,
		Out: make([]float32, batch*steps*units)}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	if err := forwardRows(p, pool, bad); err == nil {
		t.Error("short input accepted")
	}
}
