package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The reference implementations below follow the Keras equations literally,
// in float64, one time step and one batch row at a time, with Keras's
// masking rules written out (previous output starts at zeros). They share no
// code with the fast path except Activation.scalar, which is itself checked
// against math in TestActivationScalar.

type refConfig struct {
	lstm              bool
	resetAfter        bool
	useBias           bool
	act, recAct       Activation
	backwards         bool
	zeroOutputForMask bool
	mask              bool
	h0                bool
	weightScale       float64 // 0 means 1
}

// refRun returns outputs for every processing step [B][T][U] and the final
// states.
func refRun(cfg refConfig, I, U, B, T int, kernel, rec, bias, x []float32, mask []bool,
	h0, c0 []float32) (seq [][][]float64, lastOut, hFinal, cFinal [][]float64) {
	nG := 3
	if cfg.lstm {
		nG = 4
	}
	G := nG * U
	dot := func(vecIn []float64, w []float32, cols, col int) float64 {
		var s float64
		for k, v := range vecIn {
			s += v * float64(w[k*cols+col])
		}
		return s
	}
	seq = make([][][]float64, B)
	lastOut = make([][]float64, B)
	hFinal = make([][]float64, B)
	cFinal = make([][]float64, B)
	for b := 0; b < B; b++ {
		h := make([]float64, U)
		c := make([]float64, U)
		if h0 != nil {
			for j := range h {
				h[j] = float64(h0[b*U+j])
			}
		}
		if c0 != nil {
			for j := range c {
				c[j] = float64(c0[b*U+j])
			}
		}
		prevOut := make([]float64, U)
		seq[b] = make([][]float64, T)
		for s := 0; s < T; s++ {
			t := s
			if cfg.backwards {
				t = T - 1 - s
			}
			xt := make([]float64, I)
			for i := range xt {
				xt[i] = float64(x[(b*T+t)*I+i])
			}
			newH := make([]float64, U)
			newC := make([]float64, U)
			if cfg.lstm {
				for j := 0; j < U; j++ {
					pre := make([]float64, 4)
					for q := 0; q < 4; q++ {
						col := q*U + j
						pre[q] = dot(xt, kernel, G, col) + dot(h, rec, G, col)
						if cfg.useBias {
							pre[q] += float64(bias[col])
						}
					}
					ig := cfg.recAct.scalar(pre[0])
					fg := cfg.recAct.scalar(pre[1])
					gg := cfg.act.scalar(pre[2])
					og := cfg.recAct.scalar(pre[3])
					newC[j] = fg*c[j] + ig*gg
					newH[j] = og * cfg.act.scalar(newC[j])
				}
			} else {
				z := make([]float64, U)
				r := make([]float64, U)
				for j := 0; j < U; j++ {
					xz, xr := dot(xt, kernel, G, j), dot(xt, kernel, G, U+j)
					hz, hrr := dot(h, rec, G, j), dot(h, rec, G, U+j)
					if cfg.useBias {
						xz += float64(bias[j])
						xr += float64(bias[U+j])
						if cfg.resetAfter {
							hz += float64(bias[3*U+j])
							hrr += float64(bias[4*U+j])
						}
					}
					z[j] = cfg.recAct.scalar(xz + hz)
					r[j] = cfg.recAct.scalar(xr + hrr)
				}
				rh := make([]float64, U)
				for j := range rh {
					rh[j] = r[j] * h[j]
				}
				for j := 0; j < U; j++ {
					xh := dot(xt, kernel, G, 2*U+j)
					if cfg.useBias {
						xh += float64(bias[2*U+j])
					}
					var hh float64
					if cfg.resetAfter {
						rec := dot(h, rec, G, 2*U+j)
						if cfg.useBias {
							rec += float64(bias[5*U+j])
						}
						hh = cfg.act.scalar(xh + r[j]*rec)
					} else {
						hh = cfg.act.scalar(xh + dot(rh, rec, G, 2*U+j))
					}
					newH[j] = z[j]*h[j] + (1-z[j])*hh
				}
			}
			out := newH
			if mask != nil && !mask[b*T+t] {
				// Masked: states carried, output = previous output or zeros.
				newH, newC = h, c
				if cfg.zeroOutputForMask {
					out = make([]float64, U)
				} else {
					out = prevOut
				}
			}
			h, c = newH, newC
			prevOut = append([]float64(nil), out...)
			seq[b][s] = prevOut
		}
		lastOut[b] = seq[b][T-1]
		hFinal[b] = h
		cFinal[b] = c
	}
	return
}

func randF(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

type layerUnderTest interface {
	Forward(ws *Workspace, a *Args) error
}

func build(cfg refConfig, I, U int, kernel, rec, bias []float32) (layerUnderTest, error) {
	if cfg.lstm {
		return NewLSTM(LSTMParams{Input: I, Units: U, Kernel: kernel, RecurrentKernel: rec, Bias: bias,
			Activation: cfg.act, RecurrentActivation: cfg.recAct, GoBackwards: cfg.backwards,
			ZeroOutputForMask: cfg.zeroOutputForMask})
	}
	return NewGRU(GRUParams{Input: I, Units: U, Kernel: kernel, RecurrentKernel: rec, Bias: bias,
		ResetAfter: cfg.resetAfter, Activation: cfg.act, RecurrentActivation: cfg.recAct,
		GoBackwards: cfg.backwards, ZeroOutputForMask: cfg.zeroOutputForMask})
}

func compare(t *testing.T, what string, got []float32, want [][]float64, tol float64) {
	t.Helper()
	i := 0
	for b, row := range want {
		for j, w := range row {
			if d := math.Abs(float64(got[i]) - w); !(d <= tol*(1+math.Abs(w))) {
				t.Fatalf("%s[%d][%d]: got %.9g want %.9g (|diff| %.3g > %.3g)", what, b, j, got[i], w, d, tol)
			}
			i++
		}
	}
}

// runCase checks one configuration on both implementations (asm and pure
// Go), with shared workspaces reused across calls.
func runCase(t *testing.T, cfg refConfig, I, U, B, T int, seed uint64, wss []*Workspace) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, uint64(I*131+U*17+B*7+T)))
	nG := 3
	if cfg.lstm {
		nG = 4
	}
	G := nG * U
	ws0 := cfg.weightScale
	if ws0 == 0 {
		ws0 = 1
	}
	kernel := randF(r, I*G, ws0/math.Sqrt(float64(I)))
	rec := randF(r, U*G, ws0/math.Sqrt(float64(U)))
	var bias []float32
	if cfg.useBias {
		n := G
		if !cfg.lstm && cfg.resetAfter {
			n = 2 * G
		}
		bias = randF(r, n, 0.5)
	}
	x := randF(r, B*T*I, 1)
	var mask []bool
	if cfg.mask {
		mask = make([]bool, B*T)
		for b := 0; b < B; b++ {
			switch b % 4 {
			case 0: // left padded
				pad := r.IntN(T + 1)
				for tt := pad; tt < T; tt++ {
					mask[b*T+tt] = true
				}
			case 1: // right padded
				n := r.IntN(T + 1)
				for tt := 0; tt < n; tt++ {
					mask[b*T+tt] = true
				}
			case 2: // random holes
				for tt := 0; tt < T; tt++ {
					mask[b*T+tt] = r.IntN(3) > 0
				}
			case 3: // fully masked
			}
		}
	}
	var h0, c0 []float32
	if cfg.h0 {
		h0 = randF(r, B*U, 0.5)
		if cfg.lstm {
			c0 = randF(r, B*U, 0.5)
		}
	}
	seq, last, hF, cF := refRun(cfg, I, U, B, T, kernel, rec, bias, x, mask, h0, c0)
	l, err := build(cfg, I, U, kernel, rec, bias)
	if err != nil {
		t.Fatal(err)
	}
	seqWant := make([][]float64, 0, B*T)
	for b := range seq {
		seqWant = append(seqWant, seq[b]...)
	}
	const tol = 1e-5
	for _, ws := range wss {
		for _, retSeq := range []bool{true, false} {
			a := &Args{X: x, Batch: B, Steps: T, Mask: mask, H0: h0, C0: c0, ReturnSequences: retSeq,
				H: make([]float32, B*U)}
			if retSeq {
				a.Out = make([]float32, B*T*U)
			} else {
				a.Out = make([]float32, B*U)
			}
			if cfg.lstm {
				a.C = make([]float32, B*U)
			}
			if err := l.Forward(ws, a); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("pure=%v retSeq=%v", ws.PureGo, retSeq)
			if retSeq {
				compare(t, name+" out", a.Out, seqWant, tol)
			} else {
				compare(t, name+" out", a.Out, last, tol)
			}
			compare(t, name+" h", a.H, hF, tol)
			if cfg.lstm {
				compare(t, name+" c", a.C, cF, tol)
			}
		}
	}
}

func TestAgainstReference(t *testing.T) {
	wss := []*Workspace{{}}
	if hasAsm {
		wss = append(wss, &Workspace{PureGo: true})
	}
	shapes := [][4]int{ // I, U, B, T
		{3, 5, 2, 4}, {8, 8, 1, 3}, {5, 16, 9, 7}, {1, 1, 1, 1}, {7, 13, 3, 1},
	}
	n := 0
	for _, lstm := range []bool{false, true} {
		for _, resetAfter := range []bool{false, true} {
			if lstm && resetAfter {
				continue
			}
			for _, useBias := range []bool{true, false} {
				for _, backwards := range []bool{false, true} {
					for _, mask := range []bool{false, true} {
						for _, h0 := range []bool{false, true} {
							for _, zo := range []bool{false, true} {
								if zo && !mask {
									continue
								}
								cfg := refConfig{lstm: lstm, resetAfter: resetAfter, useBias: useBias, act: Tanh,
									recAct: Sigmoid, backwards: backwards, mask: mask, h0: h0, zeroOutputForMask: zo}
								s := shapes[n%len(shapes)]
								n++
								name := fmt.Sprintf("lstm%v_ra%v_bias%v_back%v_mask%v_h0%v_zo%v_%v", lstm, resetAfter,
									useBias, backwards, mask, h0, zo, s)
								t.Run(name, func(t *testing.T) { runCase(t, cfg, s[0], s[1], s[2], s[3], uint64(n), wss) })
							}
						}
					}
				}
			}
		}
	}
}

func TestActivationsInLayers(t *testing.T) {
	wss := []*Workspace{{}}
	if hasAsm {
		wss = append(wss, &Workspace{PureGo: true})
	}
	for act := Activation(0); act < numActivations; act++ {
		for _, rec := range []Activation{Sigmoid, HardSigmoid, HardSigmoidV3, act} {
			if act == Exponential && rec == Exponential {
				continue // explodes
			}
			for _, lstm := range []bool{false, true} {
				// Small weights keep unbounded activations from blowing up.
				cfg := refConfig{lstm: lstm, resetAfter: true, useBias: true, act: act, recAct: rec, mask: true, h0: true,
					weightScale: 0.3}
				if act == Exponential {
					// exp(c) multiplies the float32 rounding error of c by |c|.
					cfg.weightScale = 0.1
				}
				t.Run(fmt.Sprintf("%v_%v_lstm%v", act, rec, lstm), func(t *testing.T) {
					runCase(t, cfg, 4, 11, 3, 3, uint64(act)*100+uint64(rec), wss)
				})
			}
		}
	}
}

// TestLargerShapes crosses the SGEMM blocking boundaries (k > 128, n > 24)
// and the input-projection block size (both projection orientations).
func TestLargerShapes(t *testing.T) {
	wss := []*Workspace{{}}
	for _, s := range [][4]int{{130, 40, 5, 6}, {16, 136, 40, 3}, {33, 24, 2, 30}} {
		for _, ra := range []bool{false, true} {
			cfg := refConfig{resetAfter: ra, useBias: true, act: Tanh, recAct: Sigmoid, mask: true, backwards: ra}
			t.Run(fmt.Sprintf("%v_ra%v", s, ra), func(t *testing.T) { runCase(t, cfg, s[0], s[1], s[2], s[3], 5, wss) })
		}
	}
}

func TestProjectionBlocking(t *testing.T) {
	// A small projection budget splits the steps into blocks, in both
	// projection orientations (block >= batch and block < batch).
	for _, budget := range []int{1, 3 * 5 * 4, 3 * 5 * 9 * 3} {
		g := &layer{gates: 3 * 5}
		bs := g.blockSteps(9, 10, budget)
		if bs >= 10 || bs < 1 {
			t.Fatalf("blockSteps(9, 10, %d) = %d, want a split", budget, bs)
		}
		for _, back := range []bool{false, true} {
			for _, lstm := range []bool{false, true} {
				cfg := refConfig{lstm: lstm, resetAfter: true, useBias: true, act: Tanh, recAct: Sigmoid, mask: true, backwards: back}
				runCase(t, cfg, 3, 5, 9, 10, 9, []*Workspace{{xwBudget: budget}})
			}
		}
	}
}

func TestActivationScalar(t *testing.T) {
	for _, x := range []float64{-3, -0.5, 0, 0.7, 2.5} {
		checks := map[Activation]float64{
			Linear: x, Tanh: math.Tanh(x), Sigmoid: 1 / (1 + math.Exp(-x)),
			HardSigmoid: math.Max(0, math.Min(1, 0.2*x+0.5)), HardSigmoidV3: math.Max(0, math.Min(1, x/6+0.5)),
			ReLU: math.Max(x, 0), Softsign: x / (1 + math.Abs(x)), Exponential: math.Exp(x),
			Softplus: math.Log(1 + math.Exp(x)), Swish: x / (1 + math.Exp(-x)),
		}
		for a, want := range checks {
			if got := a.scalar(x); math.Abs(got-want) > 1e-12 {
				t.Errorf("%v(%g) = %g, want %g", a, x, got, want)
			}
		}
	}
	if a, err := ParseActivation("hard_sigmoid", 2); err != nil || a != HardSigmoid {
		t.Errorf("hard_sigmoid keras 2 = %v, %v", a, err)
	}
	if a, err := ParseActivation("hard_sigmoid", 3); err != nil || a != HardSigmoidV3 {
		t.Errorf("hard_sigmoid keras 3 = %v, %v", a, err)
	}
	if _, err := ParseActivation("nope", 2); err == nil {
		t.Error("unknown activation accepted")
	}
}

func TestBadArgs(t *testing.T) {
	I, U := 3, 4
	g, err := NewGRU(GRUParams{Input: I, Units: U, Kernel: make([]float32, I*3*U),
		RecurrentKernel: make([]float32, U*3*U), Activation: Tanh, RecurrentActivation: Sigmoid})
	if err != nil {
		t.Fatal(err)
	}
	ok := func() *Args {
		return &Args{X: make([]float32, 2*5*I), Batch: 2, Steps: 5, Out: make([]float32, 2*U)}
	}
	if err := g.Forward(nil, ok()); err != nil {
		t.Fatalf("valid call: %v", err)
	}
	bad := map[string]func(a *Args){
		"short x":    func(a *Args) { a.X = a.X[1:] },
		"zero steps": func(a *Args) { a.Steps = 0 },
		"neg batch":  func(a *Args) { a.Batch = -1 },
		"mask":       func(a *Args) { a.Mask = make([]bool, 3) },
		"h0":         func(a *Args) { a.H0 = make([]float32, 1) },
		"out":        func(a *Args) { a.ReturnSequences = true },
		"final h":    func(a *Args) { a.H = make([]float32, 5) },
		"c for gru":  func(a *Args) { a.C = make([]float32, 2*U) },
		"huge steps": func(a *Args) { a.Steps = 1 << 62 },
	}
	for name, mut := range bad {
		a := ok()
		mut(a)
		if err := g.Forward(nil, a); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	badParams := []GRUParams{
		{Input: 0, Units: 4},
		{Input: I, Units: U, Kernel: make([]float32, 5), RecurrentKernel: make([]float32, U*3*U)},
		{Input: I, Units: U, Kernel: make([]float32, I*3*U), RecurrentKernel: make([]float32, U*3*U), Bias: make([]float32, 6*U)},
		{Input: I, Units: U, Kernel: make([]float32, I*3*U), RecurrentKernel: make([]float32, U*3*U), Bias: make([]float32, 3*U), ResetAfter: true},
		{Input: I, Units: U, Kernel: make([]float32, I*3*U), RecurrentKernel: make([]float32, U*3*U), Activation: 99},
	}
	for i, p := range badParams {
		if _, err := NewGRU(p); err == nil {
			t.Errorf("bad GRU params %d accepted", i)
		}
	}
	if _, err := NewLSTM(LSTMParams{Input: I, Units: U, Kernel: make([]float32, I*4*U),
		RecurrentKernel: make([]float32, U*4*U), Bias: make([]float32, 3)}); err == nil {
		t.Error("bad LSTM bias accepted")
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	I, U, B, T := 16, 32, 8, 10
	g, err := NewGRU(GRUParams{Input: I, Units: U, Kernel: randF(r, I*3*U, 0.2), RecurrentKernel: randF(r, U*3*U, 0.2),
		Bias: randF(r, 6*U, 0.1), ResetAfter: true, Activation: Tanh, RecurrentActivation: Sigmoid})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLSTM(LSTMParams{Input: I, Units: U, Kernel: randF(r, I*4*U, 0.2), RecurrentKernel: randF(r, U*4*U, 0.2),
		Bias: randF(r, 4*U, 0.1), Activation: Tanh, RecurrentActivation: Sigmoid})
	if err != nil {
		t.Fatal(err)
	}
	a := &Args{X: randF(r, B*T*I, 1), Batch: B, Steps: T, Mask: make([]bool, B*T), ReturnSequences: true,
		Out: make([]float32, B*T*U), H: make([]float32, B*U)}
	for i := range a.Mask {
		a.Mask[i] = i%5 != 0
	}
	var ws Workspace
	if err := g.Forward(&ws, a); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { _ = g.Forward(&ws, a) }); n != 0 {
		t.Errorf("GRU.Forward allocates %v times per call", n)
	}
	if err := l.Forward(&ws, a); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { _ = l.Forward(&ws, a) }); n != 0 {
		t.Errorf("LSTM.Forward allocates %v times per call", n)
	}
}

// TestRowsMatchWhole: running a call's rows in parts (as graph/fuse does on
// several cores) gives what the whole call gives, for GRU and LSTM, with
// masks, initial states, both output kinds and uneven parts. Not bit for
// bit: SGEMM rounds rows in blocks of four differently from lone rows.
func TestRowsMatchWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const I, U, B, T = 5, 24, 7, 6
	for _, cfg := range []refConfig{
		{resetAfter: true, useBias: true, act: Tanh, recAct: Sigmoid, mask: true, h0: true},
		{useBias: true, act: Tanh, recAct: HardSigmoid, backwards: true},
		{lstm: true, useBias: true, act: Tanh, recAct: Sigmoid, mask: true, h0: true},
	} {
		gates := 3
		if cfg.lstm {
			gates = 4
		}
		nb := gates * U
		if cfg.resetAfter {
			nb *= 2
		}
		layer, err := build(cfg, I, U, randF(r, I*gates*U, 0.4), randF(r, U*gates*U, 0.4), randF(r, nb, 0.1))
		if err != nil {
			t.Fatal(err)
		}
		for _, seqs := range []bool{true, false} {
			whole := &Args{X: randF(r, B*T*I, 1), Batch: B, Steps: T, ReturnSequences: seqs, H: make([]float32, B*U)}
			if cfg.h0 {
				whole.H0 = randF(r, B*U, 0.5)
			}
			if cfg.mask {
				whole.Mask = make([]bool, B*T)
				for i := range whole.Mask {
					whole.Mask[i] = r.IntN(4) != 0
				}
			}
			if cfg.lstm {
				whole.C = make([]float32, B*U)
				if cfg.h0 {
					whole.C0 = randF(r, B*U, 0.5)
				}
			}
			if seqs {
				whole.Out = make([]float32, B*T*U)
			} else {
				whole.Out = make([]float32, B*U)
			}
			if err := layer.Forward(new(Workspace), whole); err != nil {
				t.Fatal(err)
			}
			parts := *whole
			parts.Out, parts.H = make([]float32, len(whole.Out)), make([]float32, len(whole.H))
			if cfg.lstm {
				parts.C = make([]float32, len(whole.C))
			}
			for _, cut := range [][2]int{{0, 3}, {3, 4}, {4, 7}} {
				if err := layer.Forward(new(Workspace), parts.Rows(cut[0], cut[1], I, U)); err != nil {
					t.Fatal(err)
				}
			}
			for name, pair := range map[string][2][]float32{"out": {whole.Out, parts.Out}, "h": {whole.H, parts.H}, "c": {whole.C, parts.C}} {
				for i := range pair[0] {
					if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-6+1e-5*math.Abs(float64(pair[0][i])) {
						t.Fatalf("%+v seqs=%v: %s[%d] whole %v, in parts %v", cfg, seqs, name, i, pair[0][i], pair[1][i])
					}
				}
			}
		}
	}
}
