package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// The references below follow the op documentation gate by gate, with the
// weight matrix cut into one block per gate, in float64.

func randVals(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Float64()*2 - 1
	}
	return v
}

// affine returns in · w[:, col0:col0+n] + b[col0:col0+n] for one row in.
func affine(in []float64, w []float64, cols, col0, n int, b []float64) []float64 {
	out := make([]float64, n)
	for j := range out {
		s := b[col0+j]
		for k, v := range in {
			s += v * w[k*cols+col0+j]
		}
		out[j] = s
	}
	return out
}

func sig(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func TestGRUBlockCell(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const batch, input, cell = 3, 4, 5
	x, h := randVals(r, batch*input), randVals(r, batch*cell)
	wru, wc := randVals(r, (input+cell)*2*cell), randVals(r, (input+cell)*cell)
	bru, bc := randVals(r, 2*cell), randVals(r, cell)
	var wantR, wantU, wantC, wantH []float64
	for b := 0; b < batch; b++ {
		xh := append(append([]float64(nil), x[b*input:(b+1)*input]...), h[b*cell:(b+1)*cell]...)
		rg := affine(xh, wru, 2*cell, 0, cell, bru)
		ug := affine(xh, wru, 2*cell, cell, cell, bru)
		xhr := append([]float64(nil), x[b*input:(b+1)*input]...)
		for j := range rg {
			rg[j], ug[j] = sig(rg[j]), sig(ug[j])
			xhr = append(xhr, h[b*cell+j]*rg[j])
		}
		cg := affine(xhr, wc, cell, 0, cell, bc)
		for j := range cg {
			cg[j] = math.Tanh(cg[j])
			wantH = append(wantH, (1-ug[j])*cg[j]+ug[j]*h[b*cell+j])
		}
		wantR, wantU, wantC = append(wantR, rg...), append(wantU, ug...), append(wantC, cg...)
	}
	out := mustRun(t, "GRUBlockCell", nil, f64(sh(batch, input), x...), f64(sh(batch, cell), h...),
		f64(sh(input+cell, 2*cell), wru...), f64(sh(input+cell, cell), wc...), f64(sh(2*cell), bru...), f64(sh(cell), bc...))
	for i, want := range [][]float64{wantR, wantU, wantC, wantH} {
		wantClose(t, out[i], f64(sh(batch, cell), want...), 1e-12)
	}
	// float32, as TF runs it.
	f := func(v []float64) []float32 {
		o := make([]float32, len(v))
		for i, x := range v {
			o[i] = float32(x)
		}
		return o
	}
	out32 := mustRun(t, "GRUBlockCell", nil, f32(sh(batch, input), f(x)...), f32(sh(batch, cell), f(h)...),
		f32(sh(input+cell, 2*cell), f(wru)...), f32(sh(input+cell, cell), f(wc)...), f32(sh(2*cell), f(bru)...), f32(sh(cell), f(bc)...))
	wantClose(t, out32[3], f32(sh(batch, cell), f(wantH)...), 1e-5)

	mustFail(t, "GRUBlockCell", nil, "w_ru", f64(sh(batch, input), x...), f64(sh(batch, cell), h...),
		f64(sh(input+cell, cell), wc...), f64(sh(input+cell, cell), wc...), f64(sh(2*cell), bru...), f64(sh(cell), bc...))
	mustFail(t, "GRUBlockCell", nil, "batch_size", f64(sh(batch, input), x...), f64(sh(1, cell), h[:cell]...),
		f64(sh(input+cell, 2*cell), wru...), f64(sh(input+cell, cell), wc...), f64(sh(2*cell), bru...), f64(sh(cell), bc...))
	mustFail(t, "GRUBlockCell", nil, "input 1", f64(sh(batch, input), x...), f32(sh(batch, cell), f(h)...),
		f64(sh(input+cell, 2*cell), wru...), f64(sh(input+cell, cell), wc...), f64(sh(2*cell), bru...), f64(sh(cell), bc...))
}

func TestLSTMBlockCell(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const batch, input, cell = 2, 3, 4
	x, cs, h := randVals(r, batch*input), randVals(r, batch*cell), randVals(r, batch*cell)
	for i := range cs {
		cs[i] *= 4 // so that the clip bites
	}
	w, b := randVals(r, (input+cell)*4*cell), randVals(r, 4*cell)
	wci, wcf, wco := randVals(r, cell), randVals(r, cell), randVals(r, cell)
	for _, c := range []struct {
		forget, clip float64
		peep         bool
	}{{1, 3, false}, {0.5, 0, true}, {1, 0.2, true}} {
		var want [7][]float64 // i, cs, f, o, ci, co, h
		for bi := 0; bi < batch; bi++ {
			xh := append(append([]float64(nil), x[bi*input:(bi+1)*input]...), h[bi*cell:(bi+1)*cell]...)
			ig := affine(xh, w, 4*cell, 0, cell, b)
			cg := affine(xh, w, 4*cell, cell, cell, b)
			fg := affine(xh, w, 4*cell, 2*cell, cell, b)
			og := affine(xh, w, 4*cell, 3*cell, cell, b)
			for j := 0; j < cell; j++ {
				cp := cs[bi*cell+j]
				pi, pf, po := 0.0, 0.0, 0.0
				if c.peep {
					pi, pf, po = wci[j], wcf[j], wco[j]
				}
				i := sig(ig[j] + cp*pi)
				f := sig(fg[j] + c.forget + cp*pf)
				ci := math.Tanh(cg[j])
				s := ci*i + cp*f
				if c.clip > 0 {
					s = math.Max(-c.clip, math.Min(c.clip, s))
				}
				o := sig(og[j] + s*po)
				co := math.Tanh(s)
				for k, v := range []float64{i, s, f, o, ci, co, co * o} {
					want[k] = append(want[k], v)
				}
			}
		}
		attrs := Attrs{"forget_bias": float32(c.forget), "cell_clip": float32(c.clip), "use_peephole": c.peep}
		out := mustRun(t, "LSTMBlockCell", attrs, f64(sh(batch, input), x...), f64(sh(batch, cell), cs...), f64(sh(batch, cell), h...),
			f64(sh(input+cell, 4*cell), w...), f64(sh(cell), wci...), f64(sh(cell), wcf...), f64(sh(cell), wco...), f64(sh(4*cell), b...))
		for k := range want {
			// forget_bias and cell_clip are float32 attributes.
			wantClose(t, out[k], f64(sh(batch, cell), want[k]...), 1e-7)
		}
	}
	mustFail(t, "LSTMBlockCell", nil, "w has shape", f64(sh(batch, input), x...), f64(sh(batch, cell), cs...), f64(sh(batch, cell), h...),
		f64(sh(input+cell, cell), w[:(input+cell)*cell]...), f64(sh(cell), wci...), f64(sh(cell), wcf...), f64(sh(cell), wco...), f64(sh(4*cell), b...))
	mustFail(t, "LSTMBlockCell", nil, "No OpKernel", tensor.FromSlice(sh(1, 1), []int32{1}), tensor.FromSlice(sh(1, 1), []int32{1}),
		tensor.FromSlice(sh(1, 1), []int32{1}), tensor.FromSlice(sh(2, 4), make([]int32, 8)), tensor.FromSlice(sh(1), []int32{1}),
		tensor.FromSlice(sh(1), []int32{1}), tensor.FromSlice(sh(1), []int32{1}), tensor.FromSlice(sh(4), make([]int32, 4)))
}
