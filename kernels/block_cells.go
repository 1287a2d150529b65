package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// GRUBlockCell and LSTMBlockCell are TF1's fused one-step recurrent cells
// (tf.contrib.rnn.GRUBlockCell/GRUBlockCellV2, LSTMBlockCell), with the
// formulas of TensorFlow's gru_ops and lstm_ops kernels. Products are
// accumulated in float64.

type blockFloat interface{ ~float32 | ~float64 }

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// matrixDims checks that t is a matrix and returns its dimensions.
func matrixDims(op, name string, t *tensor.Tensor) (int, int, error) {
	if len(t.Shape) != 2 {
		return 0, 0, Errorf("%s: %s must be rank 2 but is rank %d", op, name, len(t.Shape))
	}
	return t.Shape[0], t.Shape[1], nil
}

// wantShape checks t's shape.
func wantShape(op, name string, t *tensor.Tensor, want tensor.Shape) error {
	if !t.Shape.Equal(want) {
		return Errorf("%s: %s has shape %v, want %v", op, name, t.Shape, want)
	}
	return nil
}

// sameDType checks every input has dtype dt, a float type.
func sameDType(op string, in []*tensor.Tensor) (tensor.DType, error) {
	dt := in[0].DType
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return 0, noKernel(op, dt)
	}
	for i, t := range in {
		if t.DType != dt {
			return 0, Errorf("%s: input %d is %v, input 0 is %v", op, i, t.DType, dt)
		}
	}
	return dt, nil
}

// gruBlockCell is GRUBlockCell: inputs x [batch, input], h_prev
// [batch, cell], w_ru [input+cell, 2*cell], w_c [input+cell, cell], b_ru
// [2*cell], b_c [cell]; outputs r, u, c, h, each [batch, cell]:
//
//	[r, u] = sigmoid([x, h_prev] · w_ru + b_ru)
//	c = tanh([x, h_prev ∘ r] · w_c + b_c)
//	h = u ∘ (h_prev − c) + c
func gruBlockCell(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "GRUBlockCell"
	if err := checkInputs(op, in, 6); err != nil {
		return nil, err
	}
	dt, err := sameDType(op, in)
	if err != nil {
		return nil, err
	}
	x, hPrev, wRU, wC, bRU, bC := in[0], in[1], in[2], in[3], in[4], in[5]
	batch, input, err := matrixDims(op, "x", x)
	if err != nil {
		return nil, err
	}
	hb, cell, err := matrixDims(op, "h_prev", hPrev)
	if err != nil {
		return nil, err
	}
	if hb != batch {
		return nil, Errorf("%s: h_prev.dims(0) != batch_size: %d vs. %d", op, hb, batch)
	}
	if err := wantShape(op, "w_ru", wRU, tensor.Shape{input + cell, 2 * cell}); err != nil {
		return nil, err
	}
	if err := wantShape(op, "w_c", wC, tensor.Shape{input + cell, cell}); err != nil {
		return nil, err
	}
	if err := wantShape(op, "b_ru", bRU, tensor.Shape{2 * cell}); err != nil {
		return nil, err
	}
	if err := wantShape(op, "b_c", bC, tensor.Shape{cell}); err != nil {
		return nil, err
	}
	shape := tensor.Shape{batch, cell}
	if err := checkSize(op, shape); err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, 4)
	for i := range out {
		out[i] = ctx.New(dt, shape)
	}
	switch dt {
	case tensor.Float32:
		gruBlockT(in, out, batch, input, cell, func(t *tensor.Tensor) []float32 { return t.F32() })
	default:
		gruBlockT(in, out, batch, input, cell, func(t *tensor.Tensor) []float64 { return t.F64() })
	}
	return out, nil
}

func gruBlockT[T blockFloat](in, out []*tensor.Tensor, batch, input, cell int, data func(*tensor.Tensor) []T) {
	x, hPrev, wRU, wC, bRU, bC := data(in[0]), data(in[1]), data(in[2]), data(in[3]), data(in[4]), data(in[5])
	r, u, c, h := data(out[0]), data(out[1]), data(out[2]), data(out[3])
	hr := make([]T, cell)
	for b := 0; b < batch; b++ {
		xb, hb := x[b*input:(b+1)*input], hPrev[b*cell:(b+1)*cell]
		rb, ub, cb, outH := r[b*cell:(b+1)*cell], u[b*cell:(b+1)*cell], c[b*cell:(b+1)*cell], h[b*cell:(b+1)*cell]
		for j := 0; j < 2*cell; j++ {
			acc := float64(bRU[j])
			for k, v := range xb {
				acc += float64(v) * float64(wRU[k*2*cell+j])
			}
			for k, v := range hb {
				acc += float64(v) * float64(wRU[(input+k)*2*cell+j])
			}
			if j < cell {
				rb[j] = T(sigmoid64(acc))
			} else {
				ub[j-cell] = T(sigmoid64(acc))
			}
		}
		for k := range hr {
			hr[k] = hb[k] * rb[k]
		}
		for j := 0; j < cell; j++ {
			acc := float64(bC[j])
			for k, v := range xb {
				acc += float64(v) * float64(wC[k*cell+j])
			}
			for k, v := range hr {
				acc += float64(v) * float64(wC[(input+k)*cell+j])
			}
			cb[j] = T(math.Tanh(acc))
		}
		for j := range outH {
			outH[j] = ub[j]*(hb[j]-cb[j]) + cb[j]
		}
	}
}

// lstmBlockCellBuilder is LSTMBlockCell: inputs x [batch, input], cs_prev
// and h_prev [batch, cell], w [input+cell, 4*cell], the peephole weights
// wci, wcf, wco [cell] and b [4*cell]; outputs i, cs, f, o, ci, co, h,
// each [batch, cell]. The gates are laid out i, ci, f, o:
//
//	[i, ci, f, o] = [x, h_prev] · w + b
//	i = sigmoid(i + cs_prev ∘ wci)            (peephole terms only with use_peephole)
//	f = sigmoid(f + forget_bias + cs_prev ∘ wcf)
//	ci = tanh(ci)
//	cs = clip(ci ∘ i + cs_prev ∘ f, cell_clip)   (no clip when cell_clip <= 0)
//	o = sigmoid(o + cs ∘ wco)
//	co = tanh(cs); h = co ∘ o
func lstmBlockCellBuilder(attrs Attrs, _ int) (Func, error) {
	const op = "LSTMBlockCell"
	o := lstmBlockOpts{
		forgetBias: float64(attrs.Float("forget_bias", 1)),
		cellClip:   float64(attrs.Float("cell_clip", 3)),
		peephole:   attrs.Bool("use_peephole", false),
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 8); err != nil {
			return nil, err
		}
		dt, err := sameDType(op, in)
		if err != nil {
			return nil, err
		}
		batch, input, err := matrixDims(op, "x", in[0])
		if err != nil {
			return nil, err
		}
		cb, cell, err := matrixDims(op, "cs_prev", in[1])
		if err != nil {
			return nil, err
		}
		if cb != batch {
			return nil, Errorf("%s: cs_prev.dims(0) != batch_size: %d vs. %d", op, cb, batch)
		}
		if err := wantShape(op, "h_prev", in[2], tensor.Shape{batch, cell}); err != nil {
			return nil, err
		}
		if err := wantShape(op, "w", in[3], tensor.Shape{input + cell, 4 * cell}); err != nil {
			return nil, err
		}
		for i, name := range []string{"wci", "wcf", "wco"} {
			if o.peephole || in[4+i].Len() > 0 {
				if err := wantShape(op, name, in[4+i], tensor.Shape{cell}); err != nil {
					return nil, err
				}
			}
		}
		if err := wantShape(op, "b", in[7], tensor.Shape{4 * cell}); err != nil {
			return nil, err
		}
		shape := tensor.Shape{batch, cell}
		if err := checkSize(op, shape); err != nil {
			return nil, err
		}
		out := make([]*tensor.Tensor, 7)
		for i := range out {
			out[i] = ctx.New(dt, shape)
		}
		switch dt {
		case tensor.Float32:
			lstmBlockT(o, in, out, batch, input, cell, func(t *tensor.Tensor) []float32 { return t.F32() })
		default:
			lstmBlockT(o, in, out, batch, input, cell, func(t *tensor.Tensor) []float64 { return t.F64() })
		}
		return out, nil
	}, nil
}

type lstmBlockOpts struct {
	forgetBias, cellClip float64
	peephole             bool
}

func lstmBlockT[T blockFloat](o lstmBlockOpts, in, out []*tensor.Tensor, batch, input, cell int, data func(*tensor.Tensor) []T) {
	x, csPrev, hPrev, w, wci, wcf, wco, bias := data(in[0]), data(in[1]), data(in[2]), data(in[3]), data(in[4]), data(in[5]), data(in[6]), data(in[7])
	iO, csO, fO, oO, ciO, coO, hO := data(out[0]), data(out[1]), data(out[2]), data(out[3]), data(out[4]), data(out[5]), data(out[6])
	gates := make([]float64, 4*cell)
	for b := 0; b < batch; b++ {
		xb, hb, cp := x[b*input:(b+1)*input], hPrev[b*cell:(b+1)*cell], csPrev[b*cell:(b+1)*cell]
		for j := range gates {
			acc := float64(bias[j])
			for k, v := range xb {
				acc += float64(v) * float64(w[k*4*cell+j])
			}
			for k, v := range hb {
				acc += float64(v) * float64(w[(input+k)*4*cell+j])
			}
			gates[j] = acc
		}
		for j := 0; j < cell; j++ {
			gi, gc, gf, go_ := gates[j], gates[cell+j], gates[2*cell+j]+o.forgetBias, gates[3*cell+j]
			if o.peephole {
				gi += float64(cp[j]) * float64(wci[j])
				gf += float64(cp[j]) * float64(wcf[j])
			}
			i := T(sigmoid64(gi))
			f := T(sigmoid64(gf))
			ci := T(math.Tanh(gc))
			cs := ci*i + cp[j]*f
			if o.cellClip > 0 {
				cs = T(math.Max(-o.cellClip, math.Min(o.cellClip, float64(cs))))
			}
			if o.peephole {
				go_ += float64(cs) * float64(wco[j])
			}
			og := T(sigmoid64(go_))
			co := T(math.Tanh(float64(cs)))
			k := b*cell + j
			iO[k], csO[k], fO[k], oO[k], ciO[k], coO[k], hO[k] = i, cs, f, og, ci, co, co*og
		}
	}
}
