package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/tensor"
)

// gru lowers the fused Keras GRU (graph/fuse's _FusedGRU: inputs x, init_h,
// kernel, recurrent_kernel, bias; outputs last, sequence, state) to the GRU
// equations unrolled over time with gorgonia ops:
//
//	z = σ(x·Kz + bz + h·Rz + rbz)      r = σ(x·Kr + br + h·Rr + rbr)
//	ĥ = tanh(x·Kh + bh + r ⊙ (h·Rh + rbh))   (reset_after; else (r⊙h)·Rh + bh)
//	h' = z⊙h + (1−z)⊙ĥ
//
// The weights must be request-independent; they are split per gate at
// lowering time so no gorgonia slice of a weight is needed.
func (lw *lowerer) gru(n *graph.Node, in []*value) ([]*value, error) {
	if len(in) == 6 {
		return nil, lw.unsupported(n, "a Keras mask input (Masking or Embedding mask_zero) is not lowered")
	}
	if len(in) != 5 {
		return nil, fmt.Errorf("takes 5 inputs, got %d", len(in))
	}
	if n.Attrs.String("activation", "tanh") != "tanh" || n.Attrs.String("recurrent_activation", "sigmoid") != "sigmoid" {
		return nil, lw.unsupported(n, "activations other than tanh/sigmoid")
	}
	for i, name := range []string{"kernel", "recurrent_kernel", "bias"} {
		if in[2+i].c == nil || in[2+i].c.DType != tensor.Float32 {
			return nil, lw.unsupported(n, "%s must be a float32 constant", name)
		}
	}
	k, r, b := in[2].c, in[3].c, in[4].c
	if len(k.Shape) != 2 || len(r.Shape) != 2 || r.Shape[1] != 3*r.Shape[0] || k.Shape[1] != r.Shape[1] {
		return nil, fmt.Errorf("GRU weights %v, %v", k.Shape, r.Shape)
	}
	units, inDim := r.Shape[0], k.Shape[0]
	resetAfter := b.Len() == 6*units
	if !resetAfter && b.Len() != 3*units {
		return nil, fmt.Errorf("GRU bias has %d values for %d units", b.Len(), units)
	}
	x := in[0]
	xs := lw.shapeOf(x)
	if len(xs) != 3 || xs[2] != inDim {
		return nil, fmt.Errorf("GRU input %v for kernel %v", xs, k.Shape)
	}
	timeMajor := n.Attrs.Bool("time_major", false)
	backwards := n.Attrs.Bool("go_backwards", false)
	returnAll := n.Attrs.Bool("return_all", true)
	batch, steps := xs[0], xs[1]
	if timeMajor {
		batch, steps = steps, batch
	}
	kd, rd, bd := k.F32(), r.F32(), b.F32()
	gate := func(w []float32, rows, g int) *value { // columns g*units:(g+1)*units
		out := make([]float32, rows*units)
		for i := 0; i < rows; i++ {
			copy(out[i*units:(i+1)*units], w[i*3*units+g*units:i*3*units+(g+1)*units])
		}
		return &value{c: tensor.FromSlice(tensor.Shape{rows, units}, out)}
	}
	bias := func(off, g int) *value {
		return &value{c: tensor.FromSlice(tensor.Shape{units}, append([]float32(nil), bd[off+g*units:off+(g+1)*units]...))}
	}
	// Input projections for all steps at once: [batch*steps, units] per gate.
	var flat *value
	var err error
	if timeMajor {
		xn, err := lw.node(x)
		if err != nil {
			return nil, err
		}
		t, err := G.Transpose(xn, 1, 0, 2)
		if err != nil {
			return nil, err
		}
		x = dyn(t, tensor.Float32)
	}
	if flat, err = lw.reshapeV(x, tensor.Shape{batch * steps, inDim}); err != nil {
		return nil, err
	}
	var xp [3]*value
	for g := 0; g < 3; g++ {
		p, err := lw.matmul(flat, gate(kd, inDim, g), false, false)
		if err != nil {
			return nil, err
		}
		if p, err = lw.binary(binAdd, p, bias(0, g)); err != nil {
			return nil, err
		}
		if xp[g], err = lw.reshapeV(p, tensor.Shape{batch, steps, units}); err != nil {
			return nil, err
		}
	}
	var rk [3]*value
	var rb [3]*value
	for g := 0; g < 3; g++ {
		rk[g] = gate(rd, units, g)
		if resetAfter {
			rb[g] = bias(3*units, g)
		}
	}
	h := in[1]
	if hs := lw.shapeOf(h); !hs.Equal(tensor.Shape{batch, units}) {
		return nil, fmt.Errorf("GRU initial state %v, want [%d %d]", hs, batch, units)
	}
	one := &value{c: tensor.FromSlice(tensor.Shape{}, []float32{1})}
	outs := make([]*value, 0, steps)
	for i := 0; i < steps; i++ {
		t := i
		if backwards {
			t = steps - 1 - i
		}
		var xt [3]*value
		for g := 0; g < 3; g++ {
			s, err := lw.sliceV(xp[g], 1, t, t+1)
			if err != nil {
				return nil, err
			}
			if xt[g], err = lw.reshapeV(s, tensor.Shape{batch, units}); err != nil {
				return nil, err
			}
		}
		pre := func(g int) (*value, error) { // h·R_g (+ recurrent bias)
			p, err := lw.matmul(h, rk[g], false, false)
			if err != nil {
				return nil, err
			}
			if rb[g] != nil {
				return lw.binary(binAdd, p, rb[g])
			}
			return p, nil
		}
		act := func(v *value, f func(*G.Node) (*G.Node, error)) (*value, error) {
			r, err := f(v.n)
			if err != nil {
				return nil, err
			}
			return &value{n: r, dt: tensor.Float32, shape: v.shape}, nil
		}
		hz, err := pre(0)
		if err != nil {
			return nil, err
		}
		hr, err := pre(1)
		if err != nil {
			return nil, err
		}
		zs, err := lw.binary(binAdd, xt[0], hz)
		if err != nil {
			return nil, err
		}
		z, err := act(zs, G.Sigmoid)
		if err != nil {
			return nil, err
		}
		rs, err := lw.binary(binAdd, xt[1], hr)
		if err != nil {
			return nil, err
		}
		rg, err := act(rs, G.Sigmoid)
		if err != nil {
			return nil, err
		}
		var hhIn *value
		if resetAfter {
			hh, err := pre(2)
			if err != nil {
				return nil, err
			}
			if hh, err = lw.binary(binMul, rg, hh); err != nil {
				return nil, err
			}
			if hhIn, err = lw.binary(binAdd, xt[2], hh); err != nil {
				return nil, err
			}
		} else {
			rh, err := lw.binary(binMul, rg, h)
			if err != nil {
				return nil, err
			}
			p, err := lw.matmul(rh, rk[2], false, false)
			if err != nil {
				return nil, err
			}
			if hhIn, err = lw.binary(binAdd, xt[2], p); err != nil {
				return nil, err
			}
		}
		cand, err := act(hhIn, G.Tanh)
		if err != nil {
			return nil, err
		}
		zh, err := lw.binary(binMul, z, h)
		if err != nil {
			return nil, err
		}
		omz, err := lw.binary(binSub, one, z)
		if err != nil {
			return nil, err
		}
		zc, err := lw.binary(binMul, omz, cand)
		if err != nil {
			return nil, err
		}
		if h, err = lw.binary(binAdd, zh, zc); err != nil {
			return nil, err
		}
		outs = append(outs, h)
	}
	var seq *value
	if returnAll {
		parts := make([]*value, len(outs))
		for i, o := range outs {
			if parts[i], err = lw.reshapeV(o, tensor.Shape{batch, 1, units}); err != nil {
				return nil, err
			}
		}
		if seq, err = lw.concat(parts, 1); err != nil {
			return nil, err
		}
	} else if seq, err = lw.reshapeV(h, tensor.Shape{batch, 1, units}); err != nil {
		return nil, err
	}
	if timeMajor {
		sn, err := G.Transpose(seq.n, 1, 0, 2)
		if err != nil {
			return nil, err
		}
		seq = dyn(sn, tensor.Float32)
	}
	return []*value{h, seq, h}, nil
}
