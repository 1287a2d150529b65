package rnn

import (
	"errors"
	"fmt"
)

// LSTMParams are a Keras LSTM layer's weights and configuration. See the
// package doc for the layouts. unit_forget_bias only matters at
// initialisation and is already part of Bias.
type LSTMParams struct {
	Input, Units        int
	Kernel              []float32  // [Input, 4*Units], gates i, f, c, o
	RecurrentKernel     []float32  // [Units, 4*Units]
	Bias                []float32  // nil or [4*Units]
	Activation          Activation // Keras default Tanh
	RecurrentActivation Activation // Keras default Sigmoid
	GoBackwards         bool
	ZeroOutputForMask   bool
	// BF16 stores the kernels in bfloat16 (see GRUParams.BF16).
	BF16 bool
}

// LSTM is a packed Keras LSTM layer, safe for concurrent use.
type LSTM struct {
	layer
	r weights // [U, 4U]
}

// NewLSTM checks and packs an LSTM layer.
func NewLSTM(p LSTMParams) (*LSTM, error) {
	I, U := p.Input, p.Units
	if I <= 0 || U <= 0 {
		return nil, fmt.Errorf("lstm: input %d, units %d must be positive", I, U)
	}
	if err := checkWeights("lstm kernel", p.Kernel, I, 4*U); err != nil {
		return nil, err
	}
	if err := checkWeights("lstm recurrent kernel", p.RecurrentKernel, U, 4*U); err != nil {
		return nil, err
	}
	if p.Bias != nil && len(p.Bias) != 4*U {
		return nil, fmt.Errorf("lstm bias has %d elements, want %d", len(p.Bias), 4*U)
	}
	if !p.Activation.valid() || !p.RecurrentActivation.valid() {
		return nil, errors.New("lstm: invalid activation")
	}
	l := &LSTM{layer: layer{input: I, units: U, gates: 4 * U, act: p.Activation, recAct: p.RecurrentActivation,
		backwards: p.GoBackwards, zeroOutMask: p.ZeroOutputForMask}}
	var err error
	if l.kernel, err = packWeights(p.BF16, I, 4*U, p.Kernel, 4*U); err != nil {
		return nil, fmt.Errorf("lstm kernel: %w", err)
	}
	if l.r, err = packWeights(p.BF16, U, 4*U, p.RecurrentKernel, 4*U); err != nil {
		return nil, fmt.Errorf("lstm recurrent kernel: %w", err)
	}
	l.bx = make([]float32, 4*U)
	copy(l.bx, p.Bias)
	return l, nil
}

// Units returns the number of units U.
func (l *LSTM) Units() int { return l.units }

// InputSize returns the input size I.
func (l *LSTM) InputSize() int { return l.input }

// Forward runs the layer; see the package doc. ws must not be used by
// another goroutine during the call; nil means a fresh Workspace.
func (l *LSTM) Forward(ws *Workspace, a *Args) error {
	if err := a.check(l.input, l.units, true); err != nil {
		return fmt.Errorf("lstm: %w", err)
	}
	if ws == nil {
		ws = new(Workspace)
	}
	if err := l.forward(ws, a); err != nil {
		return fmt.Errorf("lstm: %w", err)
	}
	return nil
}

func (l *LSTM) forward(ws *Workspace, a *Args) error {
	v := ws.vec()
	B, T, U, G := a.Batch, a.Steps, l.units, l.gates
	if B == 0 {
		return nil
	}
	blk := l.blockSteps(B, T, ws.xwBudget)
	ws.xw = growF(ws.xw, blk*B*G)
	ws.hr = growF(ws.hr, B*G)
	ws.h = growF(ws.h, B*U)
	ws.c = growF(ws.c, B*U)
	ws.tmp = growF(ws.tmp, B*U)
	if cap(ws.seen) < B {
		ws.seen = make([]bool, B)
	}
	ws.seen = ws.seen[:B]
	clear(ws.seen)
	h, c, hr := ws.h, ws.c, ws.hr
	// Keras's default activations have a one-pass gate update.
	fused := l.act == Tanh && l.recAct == Sigmoid
	initState(h, a.H0)
	initState(c, a.C0)

	for s0 := 0; s0 < T; s0 += blk {
		n := min(blk, T-s0)
		lo, hi := l.timeRange(T, s0, n)
		if err := l.project(ws, a, ws.xw, lo, hi); err != nil {
			return err
		}
		for s := s0; s < s0+n; s++ {
			t := l.timeOf(T, s)
			xw := ws.xw[(t-lo)*B*G : (t-lo+1)*B*G]
			if err := ws.mul(B, h, U, l.r, hr, G); err != nil {
				return err
			}
			for b := 0; b < B; b++ {
				hb := h[b*U : (b+1)*U]
				real := a.Mask == nil || a.Mask[b*T+t]
				if real && fused {
					v.lstmStep(hb, c[b*U:(b+1)*U], hr[b*G:(b+1)*G], xw[b*G:(b+1)*G], l.bx)
					ws.seen[b] = true
				} else if real {
					row := hr[b*G : (b+1)*G]
					v.add3(row, row, xw[b*G:(b+1)*G], l.bx)
					l.recAct.apply(v, row[:2*U], row[:2*U]) // i, f
					l.act.apply(v, row[2*U:3*U], row[2*U:3*U])
					l.recAct.apply(v, row[3*U:], row[3*U:]) // o
					cb := c[b*U : (b+1)*U]
					v.lstmCell(cb, cb, row[:U], row[U:2*U], row[2*U:3*U])
					tb := ws.tmp[b*U : (b+1)*U]
					l.act.apply(v, tb, cb)
					v.mul(hb, row[3*U:], tb)
					ws.seen[b] = true
				}
				l.emit(a, ws, s, b, real, hb)
			}
		}
	}
	if a.H != nil {
		copy(a.H, h)
	}
	if a.C != nil {
		copy(a.C, c)
	}
	return nil
}
