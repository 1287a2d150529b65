package rnn

import (
	"errors"
	"fmt"
)

// GRUParams are a Keras GRU layer's weights and configuration. See the
// package doc for the layouts.
type GRUParams struct {
	Input, Units        int
	Kernel              []float32 // [Input, 3*Units], gates z, r, h
	RecurrentKernel     []float32 // [Units, 3*Units]
	Bias                []float32 // nil, [3*Units] (ResetAfter=false) or [2*3*Units] (ResetAfter=true)
	ResetAfter          bool
	Activation          Activation // Keras default Tanh
	RecurrentActivation Activation // Keras default Sigmoid (Keras 2.x before TF 2: HardSigmoid)
	GoBackwards         bool
	ZeroOutputForMask   bool
	// BF16 stores the kernels in bfloat16 and multiplies them with bf16
	// activations (package kernels/bf16): half the weight bytes, results
	// within bf16 rounding of the float32 layer's.
	BF16 bool
}

// GRU is a packed Keras GRU layer, safe for concurrent use.
type GRU struct {
	layer
	resetAfter bool
	rAll       weights   // reset_after: [U, 3U]
	rZR, rH    weights   // reset_after=False: [U, 2U] and [U, U]
	bh         []float32 // reset_after: recurrent bias of the h gate [U] (zeros if none)
}

// NewGRU checks and packs a GRU layer.
func NewGRU(p GRUParams) (*GRU, error) {
	I, U := p.Input, p.Units
	if I <= 0 || U <= 0 {
		return nil, fmt.Errorf("gru: input %d, units %d must be positive", I, U)
	}
	if err := checkWeights("gru kernel", p.Kernel, I, 3*U); err != nil {
		return nil, err
	}
	if err := checkWeights("gru recurrent kernel", p.RecurrentKernel, U, 3*U); err != nil {
		return nil, err
	}
	if !p.Activation.valid() || !p.RecurrentActivation.valid() {
		return nil, errors.New("gru: invalid activation")
	}
	g := &GRU{
		layer: layer{input: I, units: U, gates: 3 * U, act: p.Activation, recAct: p.RecurrentActivation,
			backwards: p.GoBackwards, zeroOutMask: p.ZeroOutputForMask},
		resetAfter: p.ResetAfter,
	}
	var err error
	if g.kernel, err = packWeights(p.BF16, I, 3*U, p.Kernel, 3*U); err != nil {
		return nil, fmt.Errorf("gru kernel: %w", err)
	}
	if p.ResetAfter {
		if g.rAll, err = packWeights(p.BF16, U, 3*U, p.RecurrentKernel, 3*U); err != nil {
			return nil, fmt.Errorf("gru recurrent kernel: %w", err)
		}
	} else {
		if g.rZR, err = packWeights(p.BF16, U, 2*U, p.RecurrentKernel, 3*U); err != nil {
			return nil, fmt.Errorf("gru recurrent kernel: %w", err)
		}
		if g.rH, err = packWeights(p.BF16, U, U, p.RecurrentKernel[2*U:], 3*U); err != nil {
			return nil, fmt.Errorf("gru recurrent kernel: %w", err)
		}
	}
	g.bh = make([]float32, U)
	switch {
	case p.Bias == nil:
		g.bx = make([]float32, 3*U)
	case !p.ResetAfter && len(p.Bias) == 3*U:
		g.bx = append([]float32(nil), p.Bias...)
	case p.ResetAfter && len(p.Bias) == 6*U:
		// z and r: both biases go into the input projection; h: the
		// recurrent bias stays inside r⊙(h·Rh + bh).
		g.bx = append([]float32(nil), p.Bias[:3*U]...)
		for j := 0; j < 2*U; j++ {
			g.bx[j] += p.Bias[3*U+j]
		}
		copy(g.bh, p.Bias[5*U:])
	default:
		want := 3 * U
		if p.ResetAfter {
			want = 6 * U
		}
		return nil, fmt.Errorf("gru bias has %d elements, want %d (reset_after=%v)", len(p.Bias), want, p.ResetAfter)
	}
	return g, nil
}

// Units returns the number of units U.
func (g *GRU) Units() int { return g.units }

// InputSize returns the input size I.
func (g *GRU) InputSize() int { return g.input }

// Forward runs the layer; see the package doc. ws must not be used by
// another goroutine during the call; nil means a fresh Workspace.
func (g *GRU) Forward(ws *Workspace, a *Args) error {
	if err := a.check(g.input, g.units, false); err != nil {
		return fmt.Errorf("gru: %w", err)
	}
	if ws == nil {
		ws = new(Workspace)
	}
	if err := g.forward(ws, a); err != nil {
		return fmt.Errorf("gru: %w", err)
	}
	return nil
}

func (g *GRU) forward(ws *Workspace, a *Args) error {
	v := ws.vec()
	B, T, U, G := a.Batch, a.Steps, g.units, g.gates
	if B == 0 {
		return nil
	}
	blk := g.blockSteps(B, T, ws.xwBudget)
	ws.xw = growF(ws.xw, blk*B*G)
	ws.hr = growF(ws.hr, B*G)
	ws.h = growF(ws.h, B*U)
	ws.tmp = growF(ws.tmp, B*U)
	if cap(ws.seen) < B {
		ws.seen = make([]bool, B)
	}
	ws.seen = ws.seen[:B]
	clear(ws.seen)
	h, hr, rh := ws.h, ws.hr, ws.tmp
	initState(h, a.H0)

	for s0 := 0; s0 < T; s0 += blk {
		n := min(blk, T-s0)
		lo, hi := g.timeRange(T, s0, n)
		if err := g.project(ws, a, ws.xw, lo, hi); err != nil {
			return err
		}
		for s := s0; s < s0+n; s++ {
			t := g.timeOf(T, s)
			xw := ws.xw[(t-lo)*B*G : (t-lo+1)*B*G]
			if g.resetAfter {
				if err := ws.mul(B, h, U, g.rAll, hr, G); err != nil {
					return err
				}
			} else {
				if err := ws.mul(B, h, U, g.rZR, hr, G); err != nil {
					return err
				}
			}
			for b := 0; b < B; b++ {
				if a.Mask != nil && !a.Mask[b*T+t] {
					continue
				}
				row := hr[b*G : (b+1)*G]
				x := xw[b*G : (b+1)*G]
				zr := row[:2*U]
				v.add3(zr, zr, x[:2*U], g.bx[:2*U])
				g.recAct.apply(v, zr, zr)
				if g.resetAfter {
					c := row[2*U:]
					v.gruCand(c, x[2*U:], g.bx[2*U:], zr[U:], c, g.bh)
				} else {
					v.mul(rh[b*U:(b+1)*U], zr[U:], h[b*U:(b+1)*U])
				}
			}
			if !g.resetAfter {
				if err := ws.mul(B, rh, U, g.rH, hr[2*U:], G); err != nil {
					return err
				}
			}
			for b := 0; b < B; b++ {
				hb := h[b*U : (b+1)*U]
				real := a.Mask == nil || a.Mask[b*T+t]
				if real {
					row := hr[b*G : (b+1)*G]
					c := row[2*U:]
					if !g.resetAfter {
						v.add3(c, c, xw[b*G+2*U:(b+1)*G], g.bx[2*U:])
					}
					g.act.apply(v, c, c)
					v.gruMix(hb, row[:U], c, hb)
					ws.seen[b] = true
				}
				g.emit(a, ws, s, b, real, hb)
			}
		}
	}
	if a.H != nil {
		copy(a.H, h)
	}
	return nil
}
