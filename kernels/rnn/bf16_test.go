package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/kernels/bf16"
)

// refBF16 runs a GRU or LSTM in float64 with every matrix product taken
// over bf16-rounded operands, as BF16 layers compute them: kernel and
// recurrent kernel rounded once, x, h (and r⊙h for a reset_after=False
// GRU) rounded before each product. It returns the output of every step
// [B][T][U].
func refBF16(cfg refConfig, I, U, B, T int, kernel, rec, bias, x, h0 []float32) [][][]float64 {
	nG := 3
	if cfg.lstm {
		nG = 4
	}
	G := nG * U
	rd := func(v float64) float64 { return float64(bf16.Round(float32(v))) }
	// mat returns in·W[:, lo:lo+n] for W with G columns, operands rounded.
	mat := func(in []float64, w []float32, lo, n int) []float64 {
		out := make([]float64, n)
		for k, v := range in {
			v = rd(v)
			for j := range out {
				out[j] += v * float64(bf16.Round(w[k*G+lo+j]))
			}
		}
		return out
	}
	b := func(i int) float64 {
		if bias == nil {
			return 0
		}
		return float64(bias[i])
	}
	seq := make([][][]float64, B)
	for bb := 0; bb < B; bb++ {
		h, c := make([]float64, U), make([]float64, U)
		for j := range h {
			if h0 != nil {
				h[j] = float64(h0[bb*U+j])
			}
		}
		for s := 0; s < T; s++ {
			t := s
			if cfg.backwards {
				t = T - 1 - s
			}
			xt := make([]float64, I)
			for i := range xt {
				xt[i] = float64(x[(bb*T+t)*I+i])
			}
			xw := mat(xt, kernel, 0, G)
			nh := make([]float64, U)
			if cfg.lstm {
				hw := mat(h, rec, 0, G)
				for j := 0; j < U; j++ {
					pre := func(q int) float64 { return xw[q*U+j] + hw[q*U+j] + b(q*U+j) }
					ig, fg := cfg.recAct.scalar(pre(0)), cfg.recAct.scalar(pre(1))
					gg, og := cfg.act.scalar(pre(2)), cfg.recAct.scalar(pre(3))
					c[j] = fg*c[j] + ig*gg
					nh[j] = og * cfg.act.scalar(c[j])
				}
			} else {
				var hw []float64
				if cfg.resetAfter {
					hw = mat(h, rec, 0, G)
				} else {
					hw = mat(h, rec, 0, 2*U)
				}
				z, r := make([]float64, U), make([]float64, U)
				for j := 0; j < U; j++ {
					zb, rb := b(j), b(U+j)
					if cfg.resetAfter && bias != nil {
						zb += b(3*U + j)
						rb += b(4*U + j)
					}
					z[j] = cfg.recAct.scalar(xw[j] + hw[j] + zb)
					r[j] = cfg.recAct.scalar(xw[U+j] + hw[U+j] + rb)
				}
				var rh []float64
				if !cfg.resetAfter {
					rhIn := make([]float64, U)
					for j := range rhIn {
						rhIn[j] = r[j] * h[j]
					}
					rh = mat(rhIn, rec, 2*U, U)
				}
				for j := 0; j < U; j++ {
					var cand float64
					if cfg.resetAfter {
						rb := 0.0
						if bias != nil {
							rb = b(5*U + j)
						}
						cand = cfg.act.scalar(xw[2*U+j] + b(2*U+j) + r[j]*(hw[2*U+j]+rb))
					} else {
						cand = cfg.act.scalar(xw[2*U+j] + b(2*U+j) + rh[j])
					}
					nh[j] = z[j]*h[j] + (1-z[j])*cand
				}
			}
			h = nh
			seq[bb] = append(seq[bb], append([]float64(nil), h...))
		}
	}
	return seq
}

type bf16Case struct {
	cfg        refConfig
	I, U, B, T int
}

func bf16Cases() []bf16Case {
	return []bf16Case{
		{refConfig{resetAfter: true, useBias: true, act: Tanh, recAct: Sigmoid, h0: true}, 7, 33, 3, 9},
		{refConfig{useBias: true, act: Tanh, recAct: HardSigmoid, backwards: true}, 16, 20, 5, 6},
		{refConfig{resetAfter: true, act: Tanh, recAct: Sigmoid}, 1, 1, 1, 4},
		{refConfig{lstm: true, useBias: true, act: Tanh, recAct: Sigmoid, h0: true}, 9, 24, 6, 7},
		{refConfig{lstm: true, act: Tanh, recAct: Sigmoid, backwards: true}, 64, 128, 1, 5},
		{refConfig{resetAfter: true, useBias: true, act: Tanh, recAct: Sigmoid}, 64, 128, 2, 5},
	}
}

// build makes the case's layer in float32 and in bf16, and its inputs.
func (c bf16Case) build(t *testing.T, seed uint64) (f32, half Layer, kernel, rec, bias, x, h0 []float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	nG := 3
	if c.cfg.lstm {
		nG = 4
	}
	G := nG * c.U
	kernel = randF(r, c.I*G, 1/math.Sqrt(float64(c.I)))
	rec = randF(r, c.U*G, 1/math.Sqrt(float64(c.U)))
	if c.cfg.useBias {
		n := G
		if !c.cfg.lstm && c.cfg.resetAfter {
			n = 2 * G
		}
		bias = randF(r, n, 0.5)
	}
	x = randF(r, c.B*c.T*c.I, 1)
	if c.cfg.h0 {
		h0 = randF(r, c.B*c.U, 0.5)
	}
	mk := func(half bool) Layer {
		var l Layer
		var err error
		if c.cfg.lstm {
			l, err = NewLSTM(LSTMParams{Input: c.I, Units: c.U, Kernel: kernel, RecurrentKernel: rec, Bias: bias,
				Activation: c.cfg.act, RecurrentActivation: c.cfg.recAct, GoBackwards: c.cfg.backwards, BF16: half})
		} else {
			l, err = NewGRU(GRUParams{Input: c.I, Units: c.U, Kernel: kernel, RecurrentKernel: rec, Bias: bias,
				ResetAfter: c.cfg.resetAfter, Activation: c.cfg.act, RecurrentActivation: c.cfg.recAct,
				GoBackwards: c.cfg.backwards, BF16: half})
		}
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	return mk(false), mk(true), kernel, rec, bias, x, h0
}

func (c bf16Case) run(t *testing.T, l Layer, ws *Workspace, x, h0 []float32) []float32 {
	t.Helper()
	a := &Args{X: x, Batch: c.B, Steps: c.T, H0: h0, ReturnSequences: true, Out: make([]float32, c.B*c.T*c.U)}
	if err := l.Forward(ws, a); err != nil {
		t.Fatal(err)
	}
	return a.Out
}

// TestBF16AgainstReference: BF16 layers (assembly and portable kernels)
// compute the float64 reference with bf16-rounded product operands to
// float32 accuracy, and stay within bf16 accuracy of the float32 layer.
// A rounding boundary crossed differently by float32 and float64 moves one
// operand by a bf16 ulp, which bounds the first tolerance.
func TestBF16AgainstReference(t *testing.T) {
	wss := []*Workspace{{PureGo: true}}
	if bf16.Accelerated() {
		wss = append(wss, &Workspace{})
	}
	for i, c := range bf16Cases() {
		t.Run(fmt.Sprintf("lstm%v_ra%v_back%v_I%d_U%d_B%d_T%d", c.cfg.lstm, c.cfg.resetAfter, c.cfg.backwards, c.I, c.U, c.B, c.T), func(t *testing.T) {
			f32, half, kernel, rec, bias, x, h0 := c.build(t, uint64(i))
			want := refBF16(c.cfg, c.I, c.U, c.B, c.T, kernel, rec, bias, x, h0)
			exact := c.run(t, f32, new(Workspace), x, h0)
			var maxRef, maxF32 float64
			for _, ws := range wss {
				got := c.run(t, half, ws, x, h0)
				n := 0
				for b := range want {
					for s := range want[b] {
						for _, w := range want[b][s] {
							maxRef = max(maxRef, math.Abs(float64(got[n])-w))
							maxF32 = max(maxF32, math.Abs(float64(got[n]-exact[n])))
							n++
						}
					}
				}
			}
			t.Logf("max |bf16 - reference| %.3g, max |bf16 - float32| %.3g", maxRef, maxF32)
			if maxRef > 2e-4 {
				t.Errorf("bf16 layer is %.3g from the bf16 reference (> 2e-4)", maxRef)
			}
			if maxF32 > 0.05 {
				t.Errorf("bf16 layer is %.3g from the float32 layer (> 0.05)", maxF32)
			}
			if maxF32 == 0 {
				t.Error("bf16 layer gave the float32 layer's bits: the option did nothing")
			}
		})
	}
}

// TestBF16RowsBitIdentical: bf16 rows are computed independently of their
// neighbours (no blocking across rows changes a sum), so a call split into
// parts gives the whole call's bits.
func TestBF16RowsBitIdentical(t *testing.T) {
	c := bf16Case{refConfig{resetAfter: true, useBias: true, act: Tanh, recAct: Sigmoid, h0: true}, 5, 24, 7, 6}
	_, half, _, _, _, x, h0 := c.build(t, 11)
	whole := c.run(t, half, new(Workspace), x, h0)
	a := &Args{X: x, Batch: c.B, Steps: c.T, H0: h0, ReturnSequences: true, Out: make([]float32, len(whole))}
	for _, cut := range [][2]int{{0, 1}, {1, 5}, {5, 7}} {
		if err := half.Forward(new(Workspace), a.Rows(cut[0], cut[1], c.I, c.U)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range whole {
		if math.Float32bits(whole[i]) != math.Float32bits(a.Out[i]) {
			t.Fatalf("out[%d]: whole %v, in parts %v", i, whole[i], a.Out[i])
		}
	}
}

// TestBF16SteadyStateAllocs: like the float32 layers, a warmed-up BF16
// layer allocates nothing per call.
func TestBF16SteadyStateAllocs(t *testing.T) {
	c := bf16Cases()[0]
	_, half, _, _, _, x, h0 := c.build(t, 1)
	ws := new(Workspace)
	a := &Args{X: x, Batch: c.B, Steps: c.T, H0: h0, ReturnSequences: true, Out: make([]float32, c.B*c.T*c.U)}
	if n := testing.AllocsPerRun(5, func() {
		if err := half.Forward(ws, a); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
