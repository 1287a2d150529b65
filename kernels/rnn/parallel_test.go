package rnn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParts(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 9))
	g, err := NewGRU(GRUParams{Input: 128, Units: 256, Kernel: randF(r, 128*768, 0.1), RecurrentKernel: randF(r, 256*768, 0.1),
		Activation: Tanh, RecurrentActivation: Sigmoid})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLSTM(LSTMParams{Input: 16, Units: 32, Kernel: randF(r, 16*128, 0.1), RecurrentKernel: randF(r, 32*128, 0.1),
		Activation: Tanh, RecurrentActivation: Sigmoid})
	if err != nil {
		t.Fatal(err)
	}
	// GRU row: 2·50·768·384 = 29.5 MFLOP; LSTM row: 2·10·128·48 = 123 kFLOP.
	for _, c := range []struct {
		l                   Layer
		batch, steps, procs int
		want                int
	}{
		{g, 64, 50, 2, 2},
		{g, 64, 50, 1, 1},
		{g, 64, 50, 16, 16},
		{g, 3, 50, 16, 3},
		{g, 1, 50, 2, 1},
		{g, 0, 50, 2, 1},
		{l, 64, 10, 2, 1},   // 7.9 MFLOP in all: below one part's minimum
		{l, 256, 10, 2, 2},  // 31 MFLOP
		{l, 256, 10, 16, 3}, // 31 MFLOP / 8 MiB
	} {
		if got := Parts(c.l, c.batch, c.steps, c.procs); got != c.want {
			t.Errorf("Parts(%T, batch %d, steps %d, procs %d) = %d, want %d", c.l, c.batch, c.steps, c.procs, got, c.want)
		}
	}
}

// TestPoolForward: a call split across goroutines gives what the whole call
// gives on one, for GRU and LSTM, with masks and initial states, into even
// and uneven parts; bad calls fail whole, naming the layer.
func TestPoolForward(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const I, U, T, B = 24, 64, 30, 37 // 37.5 (GRU) and 50 (LSTM) MFLOP: 4 and 5 parts at most
	for _, lstm := range []bool{false, true} {
		gates := 3
		if lstm {
			gates = 4
		}
		cfg := refConfig{lstm: lstm, resetAfter: true, useBias: true, act: Tanh, recAct: Sigmoid}
		nb := gates * U
		if !lstm {
			nb *= 2
		}
		layer, err := build(cfg, I, U, randF(r, I*gates*U, 0.3), randF(r, U*gates*U, 0.3), randF(r, nb, 0.1))
		if err != nil {
			t.Fatal(err)
		}
		l := layer.(Layer)
		a := &Args{X: randF(r, B*T*I, 1), Batch: B, Steps: T, H0: randF(r, B*U, 0.5), Mask: make([]bool, B*T),
			ReturnSequences: true}
		for i := range a.Mask {
			a.Mask[i] = r.IntN(5) != 0
		}
		if lstm {
			a.C0 = randF(r, B*U, 0.5)
		}
		outs := func(a *Args) *Args {
			b := *a
			b.Out, b.H = make([]float32, B*T*U), make([]float32, B*U)
			if lstm {
				b.C = make([]float32, B*U)
			}
			return &b
		}
		whole := outs(a)
		if err := l.Forward(nil, whole); err != nil {
			t.Fatal(err)
		}
		var pool Pool
		for _, procs := range []int{2, 3, 64} {
			if Parts(l, B, T, procs) < 2 {
				t.Fatalf("lstm=%v procs %d: the call is not split", lstm, procs)
			}
			got := outs(a)
			if err := pool.Forward(l, got, procs); err != nil {
				t.Fatal(err)
			}
			for name, pair := range map[string][2][]float32{"out": {whole.Out, got.Out}, "h": {whole.H, got.H}, "c": {whole.C, got.C}} {
				for i := range pair[0] {
					if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-6+1e-5*math.Abs(float64(pair[0][i])) {
						t.Fatalf("lstm=%v procs %d: %s[%d] whole %v, split %v", lstm, procs, name, i, pair[0][i], pair[1][i])
					}
				}
			}
		}
		bad := outs(a)
		bad.X = bad.X[:len(bad.X)-1]
		err = pool.Forward(l, bad, 2)
		want := map[bool]string{false: "gru: ", true: "lstm: "}[lstm]
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("lstm=%v: short input: err %v, want one starting %q", lstm, err, want)
		}
	}
}
