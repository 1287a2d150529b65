package keras3_test

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/keras3"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

// cellFunc is one step of a recurrent cell in float64: the new state (h,
// and c for an LSTM; c is nil for a GRU), whose h is also the output.
type cellFunc func(x, h, c []float64) (nh, nc []float64)

// gruCell is Keras's GRUCell (reset_after=True, bias [2, 3U]) in float64.
func gruCell(k, rk, b *tensor.Tensor, units int) cellFunc {
	col := func(v []float64, w *tensor.Tensor, j int) float64 {
		s := 0.0
		for l := range v {
			s += v[l] * float64(w.F32()[l*3*units+j])
		}
		return s
	}
	bias := func(row, j int) float64 { return float64(b.F32()[row*3*units+j]) }
	return func(x, h, _ []float64) ([]float64, []float64) {
		nh := make([]float64, units)
		for j := 0; j < units; j++ {
			z := sigmoid(col(x, k, j) + bias(0, j) + col(h, rk, j) + bias(1, j))
			r := sigmoid(col(x, k, units+j) + bias(0, units+j) + col(h, rk, units+j) + bias(1, units+j))
			hh := math.Tanh(col(x, k, 2*units+j) + bias(0, 2*units+j) + r*(col(h, rk, 2*units+j)+bias(1, 2*units+j)))
			nh[j] = z*h[j] + (1-z)*hh
		}
		return nh, nil
	}
}

// lstmCell is Keras's LSTMCell (gate blocks i, f, c, o) in float64.
func lstmCell(k, rk, b *tensor.Tensor, units int) cellFunc {
	col := func(v []float64, w *tensor.Tensor, j int) float64 {
		s := 0.0
		for l := range v {
			s += v[l] * float64(w.F32()[l*4*units+j])
		}
		return s
	}
	return func(x, h, c []float64) ([]float64, []float64) {
		nh, nc := make([]float64, units), make([]float64, units)
		for j := 0; j < units; j++ {
			g := func(block int) float64 {
				return col(x, k, block*units+j) + col(h, rk, block*units+j) + float64(b.F32()[block*units+j])
			}
			i, f, cc, o := sigmoid(g(0)), sigmoid(g(1)), math.Tanh(g(2)), sigmoid(g(3))
			nc[j] = f*c[j] + i*cc
			nh[j] = o * math.Tanh(nc[j])
		}
		return nh, nc
	}
}

// refRNN is keras.src.backend.tensorflow.rnn's while-loop path with a mask,
// in float64: steps run in processing order (reversed by goBackwards, the
// mask with them); a masked step keeps the state and outputs the previous
// output (zeros before any) or zeros with zeroOut; the sequence is in
// processing order and the last output is its last entry. It returns, per
// row, the sequence [steps*units], the last output and the final h.
func refRNN(x []float64, mask []bool, batch, steps, feat, units int, cell cellFunc, goBackwards, zeroOut bool) (seq, last, state []float64) {
	seq, last, state, _ = refRNNC(x, mask, batch, steps, feat, units, cell, goBackwards, zeroOut)
	return seq, last, state
}

// refRNNC is refRNN that also returns the final LSTM cell state c.
func refRNNC(x []float64, mask []bool, batch, steps, feat, units int, cell cellFunc, goBackwards, zeroOut bool) (seq, last, state, cstate []float64) {
	for n := 0; n < batch; n++ {
		h, c := make([]float64, units), make([]float64, units)
		prev := make([]float64, units)
		for i := 0; i < steps; i++ {
			t := i
			if goBackwards {
				t = steps - 1 - i
			}
			nh, nc := cell(x[(n*steps+t)*feat:(n*steps+t+1)*feat], h, c)
			out := nh
			if !mask[n*steps+t] {
				out = prev
				if zeroOut {
					out = make([]float64, units)
				}
			} else {
				h = nh
				if nc != nil {
					c = nc
				}
			}
			seq = append(seq, out...)
			prev = out
		}
		last = append(last, prev...)
		state = append(state, h...)
		cstate = append(cstate, c...)
	}
	return seq, last, state, cstate
}

// loadOne translates and compiles a model on the default engine.
func loadOne(t *testing.T, cfg []byte, w mapWeights) servable.Model {
	t.Helper()
	mg, err := keras3.Translate(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loader.LoadMetaGraph(context.Background(), t.TempDir(), mg, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func runAll(t *testing.T, m servable.Model, in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	out, err := m.Run(context.Background(), "serving_default", in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gruWeights adds a reset_after GRU's weights under p (".../cell/vars/").
func gruWeights(r *rand.Rand, w mapWeights, p string, feat, units int) cellFunc {
	w[p+"0"], w[p+"1"], w[p+"2"] = rnd(r, feat, 3*units), rnd(r, units, 3*units), rnd(r, 2, 3*units)
	return gruCell(w[p+"0"], w[p+"1"], w[p+"2"], units)
}

// TestEmbeddingMaskZeroGRU: Embedding(mask_zero=True) → GRU(return_sequences)
// → GRU, on rows padded at the end, at the start, in the middle and
// entirely: the first GRU's masked steps repeat the previous output (zeros
// before the first real step), its output sequence keeps the mask for the
// second GRU, whose last output is that of its last real step.
func TestEmbeddingMaskZeroGRU(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const steps, emb, u1, u2 = 5, 3, 4, 2
	w := mapWeights{"layers/embedding/vars/0": rnd(r, 7, emb)}
	c1 := gruWeights(r, w, "layers/gru/cell/vars/", emb, u1)
	c2 := gruWeights(r, w, "layers/gru_1/cell/vars/", u1, u2)
	cfg := sequential(layer("InputLayer", map[string]any{"name": "ids", "batch_shape": []any{nil, steps}, "dtype": "int32"}),
		layer("Embedding", map[string]any{"name": "e", "input_dim": 7, "output_dim": emb, "mask_zero": true}),
		layer("GRU", map[string]any{"name": "g1", "units": u1, "return_sequences": true}),
		layer("GRU", map[string]any{"name": "g2", "units": u2}))
	ids := []int32{3, 1, 6, 0, 0, 0, 0, 2, 5, 4, 2, 0, 3, 0, 1, 0, 0, 0, 0, 0}
	batch := len(ids) / steps
	x := make([]float64, 0, len(ids)*emb)
	mask := make([]bool, len(ids))
	for i, id := range ids {
		x = append(x, f64(w["layers/embedding/vars/0"])[int(id)*emb:int(id)*emb+emb]...)
		mask[i] = id != 0
	}
	seq1, _, _ := refRNN(x, mask, batch, steps, emb, u1, c1, false, false)
	_, want, _ := refRNN(seq1, mask, batch, steps, u1, u2, c2, false, false)
	m := loadOne(t, cfg, w)
	got := runAll(t, m, map[string]*tensor.Tensor{"ids": tensor.FromSlice(tensor.Shape{batch, steps}, ids)})["output_0"]
	near(t, "last", got.F32(), want, 1e-5)
	// The all-padded row outputs zeros; the unmasked model would not.
	for _, v := range got.F32()[3*u2:] {
		if v != 0 {
			t.Fatalf("all-padded row: output %v, want zeros", got.F32()[3*u2:])
		}
	}
}

// TestMaskingLSTMBackwards: Masking → Dense on steps (mask passes) → LSTM
// going backwards with return_sequences and return_state: the sequence is
// in processing order, the state is that after the last real step.
func TestMaskingLSTMBackwards(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	const batch, steps, feat, d, u = 3, 4, 2, 3, 2
	w := mapWeights{"layers/dense/vars/0": rnd(r, feat, d), "layers/dense/vars/1": rnd(r, d),
		"layers/lstm/cell/vars/0": rnd(r, d, 4*u), "layers/lstm/cell/vars/1": rnd(r, u, 4*u), "layers/lstm/cell/vars/2": rnd(r, 4*u)}
	xin := rnd(r, batch, steps, feat)
	// Masked steps: every feature equals mask_value (-1); a step with one
	// feature equal to it stays.
	pads := [][2]int{{0, 3}, {1, 0}, {1, 2}, {2, 1}}
	for _, p := range pads {
		for f := 0; f < feat; f++ {
			xin.F32()[(p[0]*steps+p[1])*feat+f] = -1
		}
	}
	xin.F32()[(2*steps+3)*feat] = -1
	mask := make([]bool, batch*steps)
	for i := range mask {
		mask[i] = true
	}
	for _, p := range pads {
		mask[p[0]*steps+p[1]] = false
	}
	// Masking zeroes the masked steps; Dense runs on every step.
	xs := f64(xin)
	for i, ok := range mask {
		if !ok {
			clear(xs[i*feat : (i+1)*feat])
		}
	}
	dense := matmul(xs, w["layers/dense/vars/0"], batch*steps)
	for i := range dense {
		dense[i] += float64(w["layers/dense/vars/1"].F32()[i%d])
	}
	cell := lstmCell(w["layers/lstm/cell/vars/0"], w["layers/lstm/cell/vars/1"], w["layers/lstm/cell/vars/2"], u)
	wantSeq, _, wantH := refRNN(dense, mask, batch, steps, d, u, cell, true, false)
	cfg := sequential(inputLayer(nil, steps, feat),
		layer("Masking", map[string]any{"name": "m", "mask_value": -1.0}),
		layer("Dense", map[string]any{"name": "d", "units": d}),
		layer("LSTM", map[string]any{"name": "l", "units": u, "return_sequences": true, "go_backwards": true}))
	m := loadOne(t, cfg, w)
	near(t, "sequence", runAll(t, m, map[string]*tensor.Tensor{"input_layer": xin})["output_0"].F32(), wantSeq, 1e-5)

	// return_state in a Functional model: outputs [sequence, h, c].
	fcfg := functionalOf([]any{
		fnLayer("InputLayer", "x", map[string]any{"batch_shape": []any{nil, steps, feat}}, nil),
		fnLayer("Masking", "m", map[string]any{"mask_value": -1.0}, []string{"x"}),
		fnLayer("Dense", "d", map[string]any{"units": d}, []string{"m"}),
		fnLayer("LSTM", "l", map[string]any{"units": u, "return_sequences": true, "return_state": true, "go_backwards": true}, []string{"d"}),
	}, []string{"x"}, [][3]any{{"l", 0, 0}, {"l", 0, 1}})
	out := runAll(t, loadOne(t, fcfg, w), map[string]*tensor.Tensor{"x": xin})
	near(t, "sequence", out["output_0"].F32(), wantSeq, 1e-5)
	near(t, "h", out["output_1"].F32(), wantH, 1e-5)
}

// TestMaskedBidirectional: Bidirectional GRU on a masked sequence. Keras
// forces zero_output_for_mask = return_sequences on both halves: with
// sequences the masked steps output zeros (the backward half's flipped
// back); without, each half's last output is its carried output.
func TestMaskedBidirectional(t *testing.T) {
	const batch, steps, feat, u = 2, 4, 2, 3
	for _, seqs := range []bool{true, false} {
		r := rand.New(rand.NewPCG(25, 26))
		w := mapWeights{}
		fw := gruWeights(r, w, "layers/bidirectional/forward_layer/cell/vars/", feat, u)
		bw := gruWeights(r, w, "layers/bidirectional/backward_layer/cell/vars/", feat, u)
		xin := rnd(r, batch, steps, feat)
		mask := []bool{true, true, false, false, false, true, false, true}
		for i, ok := range mask {
			if !ok {
				clear(xin.F32()[i*feat : (i+1)*feat])
			}
		}
		gru := map[string]any{"class_name": "GRU", "config": map[string]any{"name": "g", "units": u, "return_sequences": seqs}}
		cfg := sequential(inputLayer(nil, steps, feat),
			layer("Masking", map[string]any{"name": "m"}),
			layer("Bidirectional", map[string]any{"name": "bi", "layer": gru, "merge_mode": "concat"}))
		xs := f64(xin)
		fSeq, fLast, _ := refRNN(xs, mask, batch, steps, feat, u, fw, false, seqs)
		bSeq, bLast, _ := refRNN(xs, mask, batch, steps, feat, u, bw, true, seqs)
		var want []float64
		if seqs {
			for n := 0; n < batch; n++ {
				for s := 0; s < steps; s++ {
					want = append(want, fSeq[(n*steps+s)*u:(n*steps+s+1)*u]...)
					want = append(want, bSeq[(n*steps+steps-1-s)*u:(n*steps+steps-s)*u]...)
				}
			}
		} else {
			for n := 0; n < batch; n++ {
				want = append(want, fLast[n*u:(n+1)*u]...)
				want = append(want, bLast[n*u:(n+1)*u]...)
			}
		}
		near(t, "bidirectional", runAll(t, loadOne(t, cfg, w), map[string]*tensor.Tensor{"input_layer": xin})["output_0"].F32(), want, 1e-5)
	}
}

// TestZeroOutputForMask: a GRU with zero_output_for_mask=True in its config
// outputs zeros at masked steps.
func TestZeroOutputForMask(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	const batch, steps, feat, u = 2, 3, 2, 2
	w := mapWeights{}
	c := gruWeights(r, w, "layers/gru/cell/vars/", feat, u)
	xin := rnd(r, batch, steps, feat)
	mask := []bool{true, false, true, false, true, true}
	for i, ok := range mask {
		if !ok {
			clear(xin.F32()[i*feat : (i+1)*feat])
		}
	}
	cfg := sequential(inputLayer(nil, steps, feat), layer("Masking", map[string]any{"name": "m", "mask_value": 0.0}),
		layer("GRU", map[string]any{"name": "g", "units": u, "return_sequences": true, "zero_output_for_mask": true}))
	want, _, _ := refRNN(f64(xin), mask, batch, steps, feat, u, c, false, true)
	got := runAll(t, loadOne(t, cfg, w), map[string]*tensor.Tensor{"input_layer": xin})["output_0"].F32()
	near(t, "sequence", got, want, 1e-5)
	if got[1*u] != 0 || got[1*u+1] != 0 {
		t.Fatalf("masked step output %v, want zeros", got[u:2*u])
	}
}

// TestMaskRefusalsAndDrops: a mask reaching a merge layer fails the load
// naming the layer; Flatten drops it as Keras 3 does (it does not support
// masking), computing as without a mask.
func TestMaskRefusalsAndDrops(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, class := range []string{"Add", "Concatenate", "Multiply"} {
		cfg := functionalOf([]any{
			fnLayer("InputLayer", "x", map[string]any{"batch_shape": []any{nil, 3, 2}}, nil),
			fnLayer("Masking", "m", map[string]any{}, []string{"x"}),
			fnLayer(class, "merge", map[string]any{}, []string{"m", "x"}),
		}, []string{"x"}, [][3]any{{"merge", 0, 0}})
		_, err := keras3.Translate(cfg, mapWeights{})
		if err == nil || !strings.Contains(err.Error(), "merge_0 ("+class+") receives a masked input") {
			t.Errorf("%s: err = %v", class, err)
		}
	}
	e := rnd(r, 4, 2)
	cfg := sequential(inputLayer(nil, 3),
		layer("Embedding", map[string]any{"name": "emb", "input_dim": 4, "output_dim": 2, "mask_zero": true}),
		layer("Flatten", map[string]any{"name": "flat"}))
	ids := tensor.FromSlice(tensor.Shape{1, 3}, []float32{0, 3, 1})
	want := append(append(f64(e)[0:2:2], f64(e)[6:8]...), f64(e)[2:4]...)
	near(t, "flatten", runAll(t, loadOne(t, cfg, mapWeights{"layers/embedding/vars/0": e}), map[string]*tensor.Tensor{"input_layer": ids})["output_0"].F32(), want, 0)
}

// fnLayer is one layer of a Functional config called once on the outputs
// of the named layers (one tensor, or a list of them).
func fnLayer(class, name string, cfg map[string]any, from []string) map[string]any {
	cfg["name"] = name
	var args []any
	ref := func(l string) map[string]any {
		return map[string]any{"class_name": "__keras_tensor__", "config": map[string]any{"keras_history": []any{l, 0, 0}}}
	}
	switch len(from) {
	case 0:
	case 1:
		args = []any{ref(from[0])}
	default:
		var list []any
		for _, f := range from {
			list = append(list, ref(f))
		}
		args = []any{list}
	}
	var inbound []any
	if from != nil {
		inbound = []any{map[string]any{"args": args, "kwargs": map[string]any{}}}
	}
	return map[string]any{"module": "keras.layers", "class_name": class, "name": name, "config": cfg, "inbound_nodes": inbound}
}

// functionalConfig is a Functional model's config object.
func functionalConfig(layers []any, ins []string, outs [][3]any) map[string]any {
	var il []any
	for _, n := range ins {
		il = append(il, []any{n, 0, 0})
	}
	var ol []any
	for _, o := range outs {
		ol = append(ol, []any{o[0], o[1], o[2]})
	}
	return map[string]any{"name": "functional", "layers": layers, "input_layers": il, "output_layers": ol}
}

func functionalOf(layers []any, ins []string, outs [][3]any) []byte {
	return mustJSON(map[string]any{"class_name": "Functional", "config": functionalConfig(layers, ins, outs)})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestMaskedGorgonia: the gorgonia engine does not lower masks, and never
// ignores one: a Masking model is refused when the engine is built (its Any
// op), and so is an Embedding(mask_zero) → GRU model, naming the fused
// op's mask input.
func TestMaskedGorgonia(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	w := mapWeights{}
	gruWeights(r, w, "layers/gru/cell/vars/", 2, 2)
	cfg := sequential(inputLayer(nil, 3, 2), layer("Masking", map[string]any{"name": "m"}), layer("GRU", map[string]any{"name": "g", "units": 2}))
	mg, err := keras3.Translate(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loader.LoadMetaGraph(context.Background(), t.TempDir(), mg, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := gorgonia.New(m, gorgonia.Options{}); err == nil || !strings.Contains(err.Error(), "cannot be expressed") {
		t.Fatalf("gorgonia.New: %v, want a refusal naming the op", err)
	}
	w["layers/embedding/vars/0"] = rnd(r, 5, 2)
	cfg = sequential(inputLayer(nil, 3), layer("Embedding", map[string]any{"name": "e", "input_dim": 5, "output_dim": 2, "mask_zero": true}),
		layer("GRU", map[string]any{"name": "g", "units": 2}))
	if mg, err = keras3.Translate(cfg, w); err != nil {
		t.Fatal(err)
	}
	em, err := loader.LoadMetaGraph(context.Background(), t.TempDir(), mg, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if _, err := gorgonia.New(em, gorgonia.Options{}); err == nil || !strings.Contains(err.Error(), "_FusedGRU") ||
		!strings.Contains(err.Error(), "mask") {
		t.Fatalf("gorgonia.New on a masked GRU: %v, want a refusal at load naming the fused op and its mask", err)
	}
}

// TestBidirectionalReturnState: Bidirectional(LSTM(return_state=True))
// with merge_mode sum on a masked input returns [merged, forward h,
// forward c, backward h, backward c]; the states are those after each
// half's last real step.
func TestBidirectionalReturnState(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	const batch, steps, feat, u = 2, 3, 2, 2
	w := mapWeights{}
	var cells [2]cellFunc
	for i, half := range []string{"forward_layer", "backward_layer"} {
		p := "layers/bidirectional/" + half + "/cell/vars/"
		w[p+"0"], w[p+"1"], w[p+"2"] = rnd(r, feat, 4*u), rnd(r, u, 4*u), rnd(r, 4*u)
		cells[i] = lstmCell(w[p+"0"], w[p+"1"], w[p+"2"], u)
	}
	xin := rnd(r, batch, steps, feat)
	mask := []bool{true, true, false, false, true, true}
	for i, ok := range mask {
		if !ok {
			clear(xin.F32()[i*feat : (i+1)*feat])
		}
	}
	lstm := map[string]any{"class_name": "LSTM", "config": map[string]any{"name": "l", "units": u, "return_state": true}}
	cfg := functionalOf([]any{
		fnLayer("InputLayer", "x", map[string]any{"batch_shape": []any{nil, steps, feat}}, nil),
		fnLayer("Masking", "m", map[string]any{}, []string{"x"}),
		fnLayer("Bidirectional", "bi", map[string]any{"layer": lstm, "merge_mode": "sum"}, []string{"m"}),
	}, []string{"x"}, [][3]any{{"bi", 0, 0}, {"bi", 0, 1}, {"bi", 0, 2}, {"bi", 0, 3}, {"bi", 0, 4}})
	xs := f64(xin)
	_, fLast, fH, fC := refRNNC(xs, mask, batch, steps, feat, u, cells[0], false, false)
	_, bLast, bH, bC := refRNNC(xs, mask, batch, steps, feat, u, cells[1], true, false)
	sum := make([]float64, len(fLast))
	for i := range sum {
		sum[i] = fLast[i] + bLast[i]
	}
	out := runAll(t, loadOne(t, cfg, w), map[string]*tensor.Tensor{"x": xin})
	near(t, "merged", out["output_0"].F32(), sum, 1e-5)
	near(t, "forward h", out["output_1"].F32(), fH, 1e-5)
	near(t, "forward c", out["output_2"].F32(), fC, 1e-5)
	near(t, "backward h", out["output_3"].F32(), bH, 1e-5)
	near(t, "backward c", out["output_4"].F32(), bC, 1e-5)
	if len(out) != 5 {
		t.Fatalf("%d outputs, want merged and four states", len(out))
	}
}
