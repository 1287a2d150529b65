package fuse

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/kernels/rnn"
	"github.com/tfserve/tfserve/tensor"
)

// Registry returns base extended with the fused-op kernels.
func Registry(base graph.Registry) graph.Registry { return RegistryWith(base, Options{}) }

// RegistryWith is Registry with the fused kernels built as opts says.
func RegistryWith(base graph.Registry, opts Options) graph.Registry {
	return func(op string) (kernels.Builder, bool) {
		switch op {
		case OpGRU:
			return buildRNN(false, opts.BF16), true
		case OpLSTM:
			return buildRNN(true, opts.BF16), true
		}
		return base(op)
	}
}

// layerKey identifies the weight tensors a packed layer was built from.
// Variables keep returning the same tensor until they are assigned, so the
// packed layer is reused across requests.
type layerKey struct{ k, r, b *float32 }

type packed struct {
	key  layerKey
	gru  *rnn.GRU
	lstm *rnn.LSTM
}

type rnnOpts struct {
	lstm        bool
	backwards   bool
	timeMajor   bool
	returnAll   bool
	masked      bool // a last input holds a [batch, steps] bool mask
	zeroOutMask bool // Keras zero_output_for_mask
	act, recAct rnn.Activation
	half        bool // bf16 weights (Options.BF16)
}

func buildRNN(lstm, half bool) kernels.Builder {
	return func(attrs kernels.Attrs, numInputs int) (kernels.Func, error) {
		o := rnnOpts{lstm: lstm, half: half, backwards: attrs.Bool("go_backwards", false), timeMajor: attrs.Bool("time_major", false), returnAll: attrs.Bool("return_all", true)}
		var err error
		// keras_major picks the Keras generation's activation formulas
		// (hard_sigmoid differs); TF-exported layers are Keras 2's.
		major := int(attrs.Int("keras_major", 2))
		if o.act, err = rnn.ParseActivation(attrs.String("activation", "tanh"), major); err != nil {
			return nil, err
		}
		if o.recAct, err = rnn.ParseActivation(attrs.String("recurrent_activation", "sigmoid"), major); err != nil {
			return nil, err
		}
		want := 5
		if lstm {
			want = 6
		}
		// An optional last input is a Keras mask (translators emit it for
		// masked layers; Library never does).
		if numInputs != want && numInputs != want+1 {
			return nil, fmt.Errorf("fused RNN takes %d inputs (%d with a mask), got %d", want, want+1, numInputs)
		}
		o.masked = numInputs == want+1
		o.zeroOutMask = attrs.Bool("zero_output_for_mask", false)
		var cache atomic.Pointer[packed]
		pool := new(rnn.Pool)
		return func(ctx *kernels.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			return runRNN(ctx, o, &cache, pool, in)
		}, nil
	}
}

func f32(t *tensor.Tensor, name string) ([]float32, error) {
	d := t.F32()
	if d == nil && t.DType != tensor.Float32 {
		return nil, kernels.Errorf("fused RNN: %s must be float32, got %v", name, t.DType)
	}
	return d, nil
}

func first(s []float32) *float32 {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

func runRNN(ctx *kernels.Context, o rnnOpts, cache *atomic.Pointer[packed], pool *rnn.Pool, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	x := in[0]
	if len(x.Shape) != 3 {
		return nil, kernels.Errorf("fused RNN: inputs must be rank 3, got %v", x.Shape)
	}
	xs, err := f32(x, "inputs")
	if err != nil {
		return nil, err
	}
	batch, steps, input := x.Shape[0], x.Shape[1], x.Shape[2]
	if o.timeMajor {
		batch, steps = steps, batch
		xs = swap01(xs, steps, batch, input)
	}
	wi := 2 // index of the kernel input
	if o.lstm {
		wi = 3
	}
	k, err := f32(in[wi], "kernel")
	if err != nil {
		return nil, err
	}
	r, err := f32(in[wi+1], "recurrent_kernel")
	if err != nil {
		return nil, err
	}
	b, err := f32(in[wi+2], "bias")
	if err != nil {
		return nil, err
	}
	if len(in[wi+1].Shape) != 2 {
		return nil, kernels.Errorf("fused RNN: recurrent_kernel must be rank 2, got %v", in[wi+1].Shape)
	}
	units := in[wi+1].Shape[0]
	if ks := in[wi].Shape; len(ks) != 2 || ks[0] != input {
		return nil, kernels.Errorf("Matrix size-incompatible: the inputs have %d features per time step, the recurrent layer's kernel expects %v (kernel shape %v)", input, firstDim(ks), ks)
	}
	key := layerKey{first(k), first(r), first(b)}
	p := cache.Load()
	if p == nil || p.key != key {
		p = &packed{key: key}
		if o.lstm {
			p.lstm, err = rnn.NewLSTM(rnn.LSTMParams{Input: input, Units: units, Kernel: k, RecurrentKernel: r, Bias: b,
				Activation: o.act, RecurrentActivation: o.recAct, GoBackwards: o.backwards, ZeroOutputForMask: o.zeroOutMask, BF16: o.half})
		} else {
			p.gru, err = rnn.NewGRU(rnn.GRUParams{Input: input, Units: units, Kernel: k, RecurrentKernel: r, Bias: b, ResetAfter: len(b) == 6*units,
				Activation: o.act, RecurrentActivation: o.recAct, GoBackwards: o.backwards, ZeroOutputForMask: o.zeroOutMask, BF16: o.half})
		}
		if err != nil {
			return nil, kernels.Errorf("fused RNN: %v", err)
		}
		cache.Store(p)
	}
	h0, err := f32(in[1], "init_h")
	if err != nil {
		return nil, err
	}
	if len(h0) != batch*units {
		return nil, kernels.Errorf("fused RNN: initial state has %d values, want %d", len(h0), batch*units)
	}
	seq := ctx.New(tensor.Float32, tensor.Shape{batch, steps, units})
	hOut := ctx.New(tensor.Float32, tensor.Shape{batch, units})
	a := &rnn.Args{X: xs, Batch: batch, Steps: steps, H0: h0, ReturnSequences: true, Out: seq.F32(), H: hOut.F32()}
	if o.masked {
		if a.Mask, err = maskOf(in[len(in)-1], x.Shape, o.timeMajor); err != nil {
			return nil, err
		}
	}
	var cOut *tensor.Tensor
	if o.lstm {
		c0, err := f32(in[2], "init_c")
		if err != nil {
			return nil, err
		}
		if len(c0) != batch*units {
			return nil, kernels.Errorf("fused LSTM: initial cell state has %d values, want %d", len(c0), batch*units)
		}
		cOut = ctx.New(tensor.Float32, tensor.Shape{batch, units})
		a.C0, a.C = c0, cOut.F32()
	}
	if err := forwardRows(p, pool, a); err != nil {
		return nil, kernels.Errorf("fused RNN: %v", err)
	}
	sd := seq.F32()
	last := ctx.New(tensor.Float32, tensor.Shape{batch, units})
	ld := last.F32()
	for i := 0; i < batch; i++ {
		copy(ld[i*units:(i+1)*units], sd[(i*steps+steps-1)*units:(i*steps+steps)*units])
	}
	outSeq := seq
	if !o.returnAll {
		outSeq = last.Reshaped(tensor.Shape{batch, 1, units})
	}
	if o.timeMajor {
		ts := outSeq.Shape[1]
		outSeq = tensor.FromSlice(tensor.Shape{ts, batch, units}, swap01(outSeq.F32(), batch, ts, units))
	}
	if o.lstm {
		return []*tensor.Tensor{last, outSeq, hOut, cOut}, nil
	}
	return []*tensor.Tensor{last, outSeq, hOut}, nil
}

// forwardRows runs the layer over a's batch rows through rnn.Pool.Forward:
// a call of many rows (a request's, or a server-side batch) is split into
// parts that run on up to GOMAXPROCS cores, as TensorFlow's intra-op
// threads do; the result is the same up to float rounding.
func forwardRows(p *packed, pool *rnn.Pool, a *rnn.Args) error {
	var l rnn.Layer = p.gru
	if p.lstm != nil {
		l = p.lstm
	}
	return pool.Forward(l, a, runtime.GOMAXPROCS(0))
}

// maskOf reads a fused RNN's mask input: bool, shaped as x's first two
// dimensions; returned batch-major.
func maskOf(m *tensor.Tensor, xs tensor.Shape, timeMajor bool) ([]bool, error) {
	if m.DType != tensor.Bool || len(m.Shape) != 2 || m.Shape[0] != xs[0] || m.Shape[1] != xs[1] {
		return nil, kernels.Errorf("fused RNN: mask must be bool %v, got %v %v", xs[:2], m.DType, m.Shape)
	}
	d := m.Bools()
	if !timeMajor {
		return d, nil
	}
	out := make([]bool, len(d))
	for t := 0; t < xs[0]; t++ {
		for b := 0; b < xs[1]; b++ {
			out[b*xs[0]+t] = d[t*xs[1]+b]
		}
	}
	return out, nil
}

// swap01 transposes a [a, b, c] array to [b, a, c].
func swap01(x []float32, a, b, c int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(out[(j*a+i)*c:(j*a+i+1)*c], x[(i*b+j)*c:(i*b+j+1)*c])
		}
	}
	return out
}

func firstDim(s tensor.Shape) any {
	if len(s) == 0 {
		return "?"
	}
	return s[0]
}
