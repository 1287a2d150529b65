// Package rnn holds tfserve's fused recurrent-layer kernels: a whole Keras
// GRU or LSTM layer run over a batch of sequences in one call, in float32,
// with Keras semantics.
//
// # Layers
//
// NewGRU and NewLSTM take the layer's weights in Keras layout (row-major):
//
//	GRU:  kernel [I, 3U], recurrent_kernel [U, 3U], gate blocks z, r, h
//	      bias nil (use_bias=False), [3U] (reset_after=False) or
//	      [2, 3U] (reset_after=True: row 0 input bias, row 1 recurrent bias)
//	LSTM: kernel [I, 4U], recurrent_kernel [U, 4U], gate blocks i, f, c, o
//	      bias nil or [4U]
//
// with I the input size and U the number of units. The constructors check
// the shapes, copy and pack the weights (the caller's slices are not kept)
// and fold the biases; the returned layer is read-only and may be used by
// many goroutines at once.
//
// The equations are those of tf_keras (GRUCell, LSTMCell, implementation 2,
// the CPU "standard_gru"/"standard_lstm" paths) and Keras 3:
//
//	GRU, reset_after=False: z = ra(x·Kz + bz + h·Rz); r = ra(x·Kr + br + h·Rr)
//	                        ĥ = a(x·Kh + bh + (r⊙h)·Rh)
//	GRU, reset_after=True:  z = ra(x·Kz + bz⁽ⁱ⁾ + h·Rz + bz⁽ʳ⁾); r likewise
//	                        ĥ = a(x·Kh + bh⁽ⁱ⁾ + r⊙(h·Rh + bh⁽ʳ⁾))
//	                        h' = z⊙h + (1−z)⊙ĥ
//	LSTM: i = ra(·), f = ra(·), g = a(·), o = ra(·) of x·K + h·R + b
//	      c' = f⊙c + i⊙g; h' = o⊙a(c')
//
// where a is Activation and ra RecurrentActivation.
//
// # Calls
//
// Forward runs the layer over Args.X, a [Batch, Steps, Input] row-major
// array (Keras "batch major"; time_major is the caller's business). The
// options follow keras.layers.RNN:
//
//   - GoBackwards (a layer parameter) processes time steps from last to
//     first. As in Keras, the returned sequence is then in processing order,
//     i.e. reversed; the mask is indexed in input order.
//   - Mask ([Batch, Steps], true = real step) skips steps: a masked step
//     leaves the state (h, and c for LSTM) unchanged, and its output is the
//     output of the last unmasked step of that row — zeros if there was none
//     yet, even with a non-zero initial state (Keras starts the "previous
//     output" at zeros) — or zeros always if ZeroOutputForMask is set
//     (Keras sets that for Bidirectional layers that return sequences).
//   - H0 (and C0 for LSTM) give the initial state, zeros if nil.
//   - ReturnSequences selects Out's shape: [Batch, Steps, Units] with every
//     step's output, or [Batch, Units] with the last step's output.
//   - H (and C) receive the final state (Keras return_state): with a mask
//     this is the state after the last unmasked step, which can differ from
//     the last output (a row that is masked at every step outputs zeros but
//     keeps H0).
//
// Any of Out, H, C may be nil when not wanted. Slices must have exactly the
// documented lengths; Forward checks every length and returns an error
// instead of panicking.
//
// # Implementation
//
// The input projection x·K is computed for a block of time
// steps at once (one packed SGEMM per batch row over the block's steps, or
// one per step over the batch when the batch is larger; a block holds at
// most 4 MiB of projections), then each step does one
// SGEMM of the state against the pre-packed recurrent kernel (two for a
// reset_after=False GRU) and a fused, vectorised element-wise gate update
// that also adds the biases.
// All scratch memory lives in a Workspace; once it has grown to the largest
// shapes seen, Forward allocates nothing. On amd64 with AVX2 and FMA the
// SGEMM micro-kernels and the element-wise loops are assembly; sigmoid and
// tanh use Cephes-style float32 exp/tanh approximations, within 1.1e-7
// relative error of math.Exp/math.Tanh on the tested inputs (the portable
// Go code computes the same formulas). Workspace.PureGo or the purego build
// tag selects the portable Go code.
//
// # Several cores
//
// Batch rows are independent, so Pool.Forward cuts a call of many rows into
// parts of consecutive rows (Args.Rows), one per core that the caller
// allows and each of at least MinPartFlops, and runs them on separate
// goroutines with workspaces of the pool; graph/fuse runs every fused call
// through it with GOMAXPROCS cores. Each part streams the whole recurrent
// kernel at every step from its own core's caches, and nothing is shared
// between parts but the read-only weights and the caller's disjoint output
// rows, so there is one goroutine handoff per call and none per step.
package rnn

import (
	"errors"
	"fmt"

	"github.com/tfserve/tfserve/kernels/bf16"
	"github.com/tfserve/tfserve/kernels/gemm"
)

// xwBudget bounds the input-projection block, in floats (4 MiB).
const xwBudget = 1 << 20

// Workspace holds the scratch memory of Forward calls. The zero value is
// ready to use. It is not safe for concurrent use: give each goroutine its
// own (or keep them in a sync.Pool).
type Workspace struct {
	// PureGo forces the portable Go SGEMM and element-wise loops.
	PureGo bool

	gemm gemm.Workspace
	half bf16.Workspace // bf16 layers' activations
	xw   []float32      // input projection of a block of steps: [steps][batch][gates]
	hr   []float32      // per-step recurrent product [batch][gates]
	h, c []float32      // state [batch][units]
	tmp  []float32      // [batch][units]
	seen []bool         // per row: an unmasked step has been processed

	xwBudget int // test hook: input-projection block budget in floats (0: default)
}

func (ws *Workspace) vec() vec {
	ws.gemm.PureGo = ws.PureGo
	return vec{asm: hasAsm && !ws.PureGo}
}

func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Args describe one Forward call. See the package doc for the semantics.
type Args struct {
	X     []float32 // [Batch, Steps, Input]
	Batch int
	Steps int
	Mask  []bool    // nil, or [Batch, Steps]; false marks a padded step
	H0    []float32 // nil (zeros) or [Batch, Units]
	C0    []float32 // LSTM only: nil (zeros) or [Batch, Units]

	ReturnSequences bool
	Out             []float32 // nil, or [Batch, Steps, Units] if ReturnSequences, else [Batch, Units]
	H               []float32 // nil, or [Batch, Units]: final h
	C               []float32 // LSTM only: nil, or [Batch, Units]: final c
}

// check validates a call for a layer with the given sizes.
func (a *Args) check(input, units int, lstm bool) error {
	if a.Batch < 0 || a.Steps < 1 {
		return fmt.Errorf("batch %d, steps %d: need batch >= 0 and steps >= 1", a.Batch, a.Steps)
	}
	bt, ok := mulOK(a.Batch, a.Steps)
	if !ok {
		return errors.New("batch*steps overflows")
	}
	bti, ok := mulOK(bt, input)
	if !ok {
		return errors.New("input size overflows")
	}
	if len(a.X) != bti {
		return fmt.Errorf("x has %d elements, want batch*steps*input = %d*%d*%d", len(a.X), a.Batch, a.Steps, input)
	}
	if a.Mask != nil && len(a.Mask) != bt {
		return fmt.Errorf("mask has %d elements, want batch*steps = %d", len(a.Mask), bt)
	}
	bu, ok := mulOK(a.Batch, units)
	if !ok {
		return errors.New("batch*units overflows")
	}
	if a.H0 != nil && len(a.H0) != bu {
		return fmt.Errorf("initial h has %d elements, want batch*units = %d", len(a.H0), bu)
	}
	if a.H != nil && len(a.H) != bu {
		return fmt.Errorf("final h has %d elements, want batch*units = %d", len(a.H), bu)
	}
	if lstm {
		if a.C0 != nil && len(a.C0) != bu {
			return fmt.Errorf("initial c has %d elements, want batch*units = %d", len(a.C0), bu)
		}
		if a.C != nil && len(a.C) != bu {
			return fmt.Errorf("final c has %d elements, want batch*units = %d", len(a.C), bu)
		}
	} else if a.C0 != nil || a.C != nil {
		return errors.New("C0/C are LSTM-only")
	}
	if a.Out != nil {
		want := bu
		if a.ReturnSequences {
			if want, ok = mulOK(bu, a.Steps); !ok {
				return errors.New("output size overflows")
			}
		}
		if len(a.Out) != want {
			return fmt.Errorf("out has %d elements, want %d (return_sequences=%v)", len(a.Out), want, a.ReturnSequences)
		}
	}
	return nil
}

func mulOK(a, b int) (int, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a == 0 || b == 0 {
		return 0, true
	}
	const limit = 1 << 40
	if a > limit/b {
		return 0, false
	}
	return a * b, true
}

// layer holds what GRU and LSTM share: sizes, options and packed weights.
type layer struct {
	input, units, gates int // gates = 3U (GRU) or 4U (LSTM)
	act, recAct         Activation
	backwards           bool
	zeroOutMask         bool
	kernel              weights   // [I, gates]
	bx                  []float32 // [gates] bias added to x·K (zeros if none)
}

func checkWeights(name string, w []float32, rows, cols int) error {
	if rows <= 0 || cols <= 0 {
		return fmt.Errorf("%s: bad shape [%d, %d]", name, rows, cols)
	}
	if n, ok := mulOK(rows, cols); !ok || len(w) != n {
		return fmt.Errorf("%s has %d elements, want [%d, %d]", name, len(w), rows, cols)
	}
	return nil
}

// timeRange returns the input time indices [lo, hi) covered by processing
// steps s0 .. s0+n-1.
func (l *layer) timeRange(steps, s0, n int) (lo, hi int) {
	if l.backwards {
		return steps - s0 - n, steps - s0
	}
	return s0, s0 + n
}

// timeOf maps a processing step to an input time index.
func (l *layer) timeOf(steps, s int) int {
	if l.backwards {
		return steps - 1 - s
	}
	return s
}

// blockSteps is the number of time steps whose input projection is computed
// at once.
func (l *layer) blockSteps(batch, steps, budget int) int {
	if budget <= 0 {
		budget = xwBudget
	}
	per := max(batch*l.gates, 1)
	return min(steps, max(1, budget/per))
}

// project computes xw[t-lo][b][:] = x[b][t]·K for t in [lo, hi); the bias
// is added later, in the element-wise gate update.
func (l *layer) project(ws *Workspace, a *Args, xw []float32, lo, hi int) error {
	B, T, I, G := a.Batch, a.Steps, l.input, l.gates
	n := hi - lo
	if n >= B {
		// One GEMM per batch row over n consecutive steps.
		for b := 0; b < B; b++ {
			if err := ws.mul(n, a.X[(b*T+lo)*I:], I, l.kernel, xw[b*G:], B*G); err != nil {
				return err
			}
		}
		return nil
	}
	// One GEMM per step over the batch (rows strided by T*I).
	for t := lo; t < hi; t++ {
		if err := ws.mul(B, a.X[t*I:], T*I, l.kernel, xw[(t-lo)*B*G:], G); err != nil {
			return err
		}
	}
	return nil
}

// initState fills dst ([B*U]) from src, or zeros if src is nil.
func initState(dst, src []float32) {
	if src == nil {
		clear(dst)
		return
	}
	copy(dst, src)
}

// emit writes the outputs of processing step s for row b: h if the step was
// real, otherwise the Keras masked output.
func (l *layer) emit(a *Args, ws *Workspace, s, b int, real bool, h []float32) {
	if a.Out == nil || (!a.ReturnSequences && s != a.Steps-1) {
		return
	}
	U := l.units
	var dst []float32
	if a.ReturnSequences {
		dst = a.Out[(b*a.Steps+s)*U : (b*a.Steps+s+1)*U]
	} else {
		dst = a.Out[b*U : (b+1)*U]
	}
	switch {
	case real:
		copy(dst, h)
	case l.zeroOutMask || !ws.seen[b]:
		clear(dst)
	default:
		copy(dst, h) // h is the state of the last real step
	}
}

// Accelerated reports whether the assembly element-wise loops run on this
// machine (amd64 with AVX2 and FMA, without the purego build tag).
func Accelerated() bool { return hasAsm }

// Rows returns the call restricted to batch rows [lo, hi): rows are
// independent, so running the parts (on separate workspaces, in parallel)
// computes what the whole call computes, up to float rounding (SGEMM rounds
// rows in blocks of four differently from lone rows). input and units are
// the layer's sizes; a must have passed the layer's checks.
func (a *Args) Rows(lo, hi, input, units int) *Args {
	rows := func(s []float32, per int) []float32 {
		if s == nil {
			return nil
		}
		return s[lo*per : hi*per]
	}
	b := &Args{
		X:               rows(a.X, a.Steps*input),
		Batch:           hi - lo,
		Steps:           a.Steps,
		H0:              rows(a.H0, units),
		C0:              rows(a.C0, units),
		ReturnSequences: a.ReturnSequences,
		H:               rows(a.H, units),
		C:               rows(a.C, units),
	}
	if a.Mask != nil {
		b.Mask = a.Mask[lo*a.Steps : hi*a.Steps]
	}
	if a.ReturnSequences {
		b.Out = rows(a.Out, a.Steps*units)
	} else {
		b.Out = rows(a.Out, units)
	}
	return b
}

// Validate checks a call for a layer with the given sizes, as Forward does.
func (a *Args) Validate(input, units int, lstm bool) error { return a.check(input, units, lstm) }
