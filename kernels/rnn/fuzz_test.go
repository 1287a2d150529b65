package rnn

import (
	"math/rand/v2"
	"testing"
)

// FuzzForward feeds arbitrary call shapes and slice lengths to GRU and LSTM
// layers. Forward must never panic; when it accepts the call, the outputs
// must match the float64 reference.
func FuzzForward(f *testing.F) {
	f.Add(uint8(2), uint8(3), int8(0), int8(0), int8(0), int8(0), int8(0), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(1), int8(0), int8(-1), int8(0), int8(0), int8(0), uint8(0xff), uint64(2))
	f.Add(uint8(0), uint8(4), int8(0), int8(0), int8(0), int8(0), int8(0), uint8(7), uint64(3))
	f.Add(uint8(3), uint8(0), int8(1), int8(0), int8(0), int8(0), int8(0), uint8(0x3c), uint64(4))
	f.Fuzz(func(t *testing.T, batch, steps uint8, dX, dMask, dH0, dOut, dH int8, flags uint8, seed uint64) {
		const I, U = 3, 5
		B, T := int(batch%6), int(steps%7)
		cfg := refConfig{lstm: flags&1 != 0, resetAfter: flags&2 != 0, useBias: flags&4 != 0, act: Tanh,
			recAct: Sigmoid, backwards: flags&8 != 0, mask: flags&16 != 0, h0: flags&32 != 0,
			zeroOutputForMask: flags&64 != 0}
		retSeq := flags&128 != 0
		r := rand.New(rand.NewPCG(seed, 2))
		G := 3 * U
		if cfg.lstm {
			G = 4 * U
		}
		kernel, rec := randF(r, I*G, 0.5), randF(r, U*G, 0.4)
		var bias []float32
		if cfg.useBias {
			n := G
			if !cfg.lstm && cfg.resetAfter {
				n = 2 * G
			}
			bias = randF(r, n, 0.3)
		}
		l, err := build(cfg, I, U, kernel, rec, bias)
		if err != nil {
			t.Fatal(err)
		}
		n := func(want int, d int8) int { return max(want+int(d)%3, 0) }
		a := &Args{X: randF(r, n(B*T*I, dX), 1), Batch: B, Steps: T, ReturnSequences: retSeq}
		if cfg.mask {
			a.Mask = make([]bool, n(B*T, dMask))
			for i := range a.Mask {
				a.Mask[i] = r.IntN(3) > 0
			}
		}
		if cfg.h0 {
			a.H0 = randF(r, n(B*U, dH0), 0.5)
			if cfg.lstm {
				a.C0 = randF(r, B*U, 0.5)
			}
		}
		outLen := B * U
		if retSeq {
			outLen *= T
		}
		a.Out = make([]float32, n(outLen, dOut))
		a.H = make([]float32, n(B*U, dH))
		if err := l.Forward(&Workspace{PureGo: seed&1 == 0}, a); err != nil {
			return
		}
		seq, last, hF, _ := refRun(cfg, I, U, B, T, kernel, rec, bias, a.X, a.Mask, a.H0, a.C0)
		if retSeq {
			var flat [][]float64
			for b := range seq {
				flat = append(flat, seq[b]...)
			}
			compare(t, "out", a.Out, flat, 1e-5)
		} else {
			compare(t, "out", a.Out, last, 1e-5)
		}
		compare(t, "h", a.H, hF, 1e-5)
	})
}
