package keras3_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/keras3"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

// mapWeights is a weights file in memory.
type mapWeights map[string]*tensor.Tensor

func (w mapWeights) Tensor(p string) (*tensor.Tensor, error) {
	t, ok := w[p]
	if !ok {
		return nil, fmt.Errorf("no dataset %s", p)
	}
	return t, nil
}

// rnd returns a random float32 tensor of shape.
func rnd(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, tensor.Shape(shape))
	for i := range t.F32() {
		t.F32()[i] = float32(r.Float64()*2 - 1)
	}
	return t
}

func layer(class string, cfg map[string]any) map[string]any {
	return map[string]any{"module": "keras.layers", "class_name": class, "config": cfg}
}

func sequential(layers ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"class_name": "Sequential", "config": map[string]any{"name": "seq", "layers": layers}})
	return b
}

func inputLayer(shape ...any) map[string]any {
	return layer("InputLayer", map[string]any{"name": "input_layer", "batch_shape": shape, "dtype": "float32"})
}

// load translates and compiles a model, with the gorgonia engine too.
func load(t *testing.T, cfg []byte, w mapWeights) []servable.Model {
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
	gm, err := gorgonia.New(m, gorgonia.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return []servable.Model{m, gm}
}

func run(t *testing.T, m servable.Model, in map[string]*tensor.Tensor) []float32 {
	t.Helper()
	out, err := m.Run(context.Background(), "serving_default", in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out["output_0"].F32()
}

func near(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// matmul is [n,k]×[k,m] in float64.
func matmul(a []float64, w *tensor.Tensor, n int) []float64 {
	k, m := w.Shape[0], w.Shape[1]
	out := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				s += a[i*k+l] * float64(w.F32()[l*m+j])
			}
			out[i*m+j] = s
		}
	}
	return out
}

func f64(t *tensor.Tensor) []float64 {
	out := make([]float64, t.Len())
	for i, v := range t.F32() {
		out[i] = float64(v)
	}
	return out
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestDenseStack: Dense(5, relu) → Dropout → Dense(2, linear) on rows.
func TestDenseStack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := mapWeights{"layers/dense/vars/0": rnd(r, 4, 5), "layers/dense/vars/1": rnd(r, 5),
		"layers/dense_1/vars/0": rnd(r, 5, 2), "layers/dense_1/vars/1": rnd(r, 2)}
	cfg := sequential(inputLayer(nil, 4),
		layer("Dense", map[string]any{"name": "hidden", "units": 5, "activation": "relu", "use_bias": true}),
		layer("Dropout", map[string]any{"name": "drop", "rate": 0.5}),
		layer("Dense", map[string]any{"name": "out", "units": 2, "activation": "linear", "use_bias": true}))
	x := rnd(r, 3, 4)
	h := matmul(f64(x), w["layers/dense/vars/0"], 3)
	for i := range h {
		h[i] = math.Max(0, h[i]+float64(w["layers/dense/vars/1"].F32()[i%5]))
	}
	want := matmul(h, w["layers/dense_1/vars/0"], 3)
	for i := range want {
		want[i] += float64(w["layers/dense_1/vars/1"].F32()[i%2])
	}
	for _, m := range load(t, cfg, w) {
		near(t, "y", run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-5)
	}
}

// refGRU is Keras's GRU in float64 (gate blocks z, r, h): with
// reset_after the reset gate scales the recurrent projection (bias
// [2, 3U]: input and recurrent rows), without it the state before the
// recurrent matmul (bias [3U]).
func refGRU(x []float64, batch, steps, feat, units int, k, rk, b *tensor.Tensor, resetAfter, seq bool) []float64 {
	bias := func(row, j int) float64 {
		switch {
		case resetAfter:
			return float64(b.F32()[row*3*units+j])
		case row == 0:
			return float64(b.F32()[j])
		}
		return 0
	}
	col := func(v []float64, w *tensor.Tensor, j int) float64 {
		s := 0.0
		for l := range v {
			s += v[l] * float64(w.F32()[l*3*units+j])
		}
		return s
	}
	var out []float64
	for n := 0; n < batch; n++ {
		h := make([]float64, units)
		for s := 0; s < steps; s++ {
			xs := x[(n*steps+s)*feat : (n*steps+s+1)*feat]
			z, r := make([]float64, units), make([]float64, units)
			for j := 0; j < units; j++ {
				z[j] = sigmoid(col(xs, k, j) + bias(0, j) + col(h, rk, j) + bias(1, j))
				r[j] = sigmoid(col(xs, k, units+j) + bias(0, units+j) + col(h, rk, units+j) + bias(1, units+j))
			}
			rh := make([]float64, units)
			for l := range rh {
				rh[l] = r[l] * h[l]
			}
			nh := make([]float64, units)
			for j := 0; j < units; j++ {
				var rec float64
				if resetAfter {
					rec = r[j] * (col(h, rk, 2*units+j) + bias(1, 2*units+j))
				} else {
					rec = col(rh, rk, 2*units+j)
				}
				hh := math.Tanh(col(xs, k, 2*units+j) + bias(0, 2*units+j) + rec)
				nh[j] = z[j]*h[j] + (1-z[j])*hh
			}
			h = nh
			if seq {
				out = append(out, h...)
			}
		}
		if !seq {
			out = append(out, h...)
		}
	}
	return out
}

// TestGRU checks GRU layers (reset_after both ways, return_sequences into
// a second GRU) against a float64 re-implementation, on both engines.
func TestGRU(t *testing.T) {
	for _, resetAfter := range []bool{true, false} {
		t.Run(fmt.Sprintf("reset_after=%v", resetAfter), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			bshape := []int{2, 9}
			if !resetAfter {
				bshape = []int{9}
			}
			w := mapWeights{"layers/gru/cell/vars/0": rnd(r, 2, 9), "layers/gru/cell/vars/1": rnd(r, 3, 9), "layers/gru/cell/vars/2": rnd(r, bshape...)}
			cfg := sequential(inputLayer(nil, 4, 2),
				layer("GRU", map[string]any{"name": "g", "units": 3, "activation": "tanh", "recurrent_activation": "sigmoid",
					"use_bias": true, "reset_after": resetAfter, "return_sequences": true}))
			x := rnd(r, 2, 4, 2)
			want := refGRU(f64(x), 2, 4, 2, 3, w["layers/gru/cell/vars/0"], w["layers/gru/cell/vars/1"], w["layers/gru/cell/vars/2"], resetAfter, true)
			for _, m := range load(t, cfg, w) {
				near(t, "sequence", run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-5)
			}
		})
	}
}

// TestFunctional: two inputs, Concatenate, Dense(softmax) and an Add of
// the two inputs' projections, as Keras 3 writes a Functional config.
func TestFunctional(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tensorRef := func(layer string) map[string]any {
		return map[string]any{"class_name": "__keras_tensor__", "config": map[string]any{"shape": []any{nil, 3}, "dtype": "float32", "keras_history": []any{layer, 0, 0}}}
	}
	call := func(args ...any) []any { return []any{map[string]any{"args": args, "kwargs": map[string]any{}}} }
	fl := func(class, name string, cfg map[string]any, inbound []any) map[string]any {
		cfg["name"] = name
		return map[string]any{"module": "keras.layers", "class_name": class, "name": name, "config": cfg, "inbound_nodes": inbound}
	}
	cfg, _ := json.Marshal(map[string]any{"class_name": "Functional", "config": map[string]any{
		"name": "two_tower",
		"layers": []any{
			fl("InputLayer", "user", map[string]any{"batch_shape": []any{nil, 3}, "dtype": "float32"}, []any{}),
			fl("InputLayer", "item", map[string]any{"batch_shape": []any{nil, 3}, "dtype": "float32"}, []any{}),
			fl("Concatenate", "cat", map[string]any{"axis": -1}, call([]any{tensorRef("user"), tensorRef("item")})),
			fl("Add", "sum", map[string]any{}, call([]any{tensorRef("user"), tensorRef("item")})),
			fl("Dense", "score", map[string]any{"units": 2, "activation": "softmax"}, call(tensorRef("cat"))),
			fl("Concatenate", "both", map[string]any{"axis": 1}, call([]any{tensorRef("score"), tensorRef("sum")})),
		},
		"input_layers":  []any{[]any{"user", 0, 0}, []any{"item", 0, 0}},
		"output_layers": []any{[]any{"both", 0, 0}},
	}})
	w := mapWeights{"layers/dense/vars/0": rnd(r, 6, 2), "layers/dense/vars/1": rnd(r, 2)}
	u, it := rnd(r, 2, 3), rnd(r, 2, 3)
	var want []float64
	for n := 0; n < 2; n++ {
		cat := append(f64(u)[n*3:n*3+3:n*3+3], f64(it)[n*3:n*3+3]...)
		logits := matmul(cat, w["layers/dense/vars/0"], 1)
		e0 := math.Exp(logits[0] + float64(w["layers/dense/vars/1"].F32()[0]))
		e1 := math.Exp(logits[1] + float64(w["layers/dense/vars/1"].F32()[1]))
		want = append(want, e0/(e0+e1), e1/(e0+e1))
		for j := 0; j < 3; j++ {
			want = append(want, float64(u.F32()[n*3+j])+float64(it.F32()[n*3+j]))
		}
	}
	for _, m := range load(t, cfg, w) {
		sig := m.Signatures()["serving_default"]
		if sig.Inputs["user"].DType != tensor.Float32 || sig.Inputs["item"].DType != tensor.Float32 || sig.Outputs["output_0"].DType != tensor.Float32 {
			t.Fatalf("signature %+v", sig)
		}
		near(t, "y", run(t, m, map[string]*tensor.Tensor{"user": u, "item": it}), want, 1e-5)
	}
}

// TestNormalization: LayerNormalization then BatchNormalization (both on
// the last axis) against their inference formulas.
func TestNormalization(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	mv := rnd(r, 4)
	for i := range mv.F32() {
		mv.F32()[i] = mv.F32()[i]*mv.F32()[i] + 0.5
	}
	w := mapWeights{"layers/layer_normalization/vars/0": rnd(r, 4), "layers/layer_normalization/vars/1": rnd(r, 4),
		"layers/batch_normalization/vars/0": rnd(r, 4), "layers/batch_normalization/vars/1": rnd(r, 4),
		"layers/batch_normalization/vars/2": rnd(r, 4), "layers/batch_normalization/vars/3": mv}
	cfg := sequential(inputLayer(nil, 4),
		layer("LayerNormalization", map[string]any{"name": "ln", "axis": []int{-1}, "epsilon": 0.001}),
		layer("BatchNormalization", map[string]any{"name": "bn", "axis": -1, "epsilon": 0.001}))
	x := rnd(r, 3, 4)
	var want []float64
	g, b := f64(w["layers/layer_normalization/vars/0"]), f64(w["layers/layer_normalization/vars/1"])
	bg, bb, bm, bv := f64(w["layers/batch_normalization/vars/0"]), f64(w["layers/batch_normalization/vars/1"]), f64(w["layers/batch_normalization/vars/2"]), f64(mv)
	for n := 0; n < 3; n++ {
		row := f64(x)[n*4 : n*4+4]
		mean, v := 0.0, 0.0
		for _, e := range row {
			mean += e / 4
		}
		for _, e := range row {
			v += (e - mean) * (e - mean) / 4
		}
		for j, e := range row {
			ln := (e-mean)/math.Sqrt(v+0.001)*g[j] + b[j]
			want = append(want, (ln-bm[j])/math.Sqrt(bv[j]+0.001)*bg[j]+bb[j])
		}
	}
	for _, m := range load(t, cfg, w) {
		near(t, "y", run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-4)
	}
}

// Unsupported layers and missing weights fail with messages that
// name them.
func TestRefusals(t *testing.T) {
	cases := []struct {
		cfg  []byte
		w    mapWeights
		want string
	}{
		{sequential(inputLayer(nil, 4), layer("Conv1D", map[string]any{"name": "conv"})), nil, "class Conv1D is not supported"},
		{sequential(inputLayer(nil, 3, 2), layer("Masking", map[string]any{"name": "m"}), layer("SimpleRNN", map[string]any{"name": "s"})), nil, "class SimpleRNN is not supported"},
		{sequential(inputLayer(nil, 4), layer("Dense", map[string]any{"name": "d", "units": 2})), mapWeights{}, "no dataset layers/dense/vars/0"},
		{sequential(inputLayer(nil, 4), layer("Dense", map[string]any{"name": "d", "units": 2, "activation": "crelu"})),
			mapWeights{"layers/dense/vars/0": tensor.New(tensor.Float32, tensor.Shape{4, 2}), "layers/dense/vars/1": tensor.New(tensor.Float32, tensor.Shape{2})}, `activation "crelu" is not supported`},
		{sequential(inputLayer(nil, 4), layer("Dense", map[string]any{"name": "d", "units": 2})),
			mapWeights{"layers/dense/vars/0": tensor.New(tensor.Float32, tensor.Shape{3, 2})}, "has shape [3,2], want [4,2]"},
		{[]byte(`{"class_name": "Sequential", "config": {"layers": [`), nil, "config.json"},
		{[]byte(`{"class_name": "Graph", "config": {}}`), nil, `model class "Graph" is not supported`},
	}
	for _, c := range cases {
		_, err := keras3.Translate(c.cfg, c.w)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestBidirectional: a Bidirectional GRU (concat) over sequences; the
// backward half runs over the reversed steps and is flipped back.
func TestBidirectional(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	w := mapWeights{}
	for _, half := range []string{"forward_layer", "backward_layer"} {
		p := "layers/bidirectional/" + half + "/cell/vars/"
		w[p+"0"], w[p+"1"], w[p+"2"] = rnd(r, 2, 6), rnd(r, 2, 6), rnd(r, 2, 6)
	}
	gru := func(back bool) map[string]any {
		return map[string]any{"class_name": "GRU", "config": map[string]any{"name": "g", "units": 2, "return_sequences": true, "go_backwards": back, "reset_after": true}}
	}
	cfg := sequential(inputLayer(nil, 3, 2),
		layer("Bidirectional", map[string]any{"name": "bi", "layer": gru(false), "backward_layer": gru(true), "merge_mode": "concat"}))
	x := rnd(r, 1, 3, 2)
	fw := refGRU(f64(x), 1, 3, 2, 2, w["layers/bidirectional/forward_layer/cell/vars/0"], w["layers/bidirectional/forward_layer/cell/vars/1"], w["layers/bidirectional/forward_layer/cell/vars/2"], true, true)
	xs := f64(x)
	rev := append(append(append([]float64{}, xs[4:6]...), xs[2:4]...), xs[0:2]...)
	bw := refGRU(rev, 1, 3, 2, 2, w["layers/bidirectional/backward_layer/cell/vars/0"], w["layers/bidirectional/backward_layer/cell/vars/1"], w["layers/bidirectional/backward_layer/cell/vars/2"], true, true)
	var want []float64
	for s := 0; s < 3; s++ {
		want = append(want, fw[s*2:s*2+2]...)
		want = append(want, bw[(2-s)*2:(2-s)*2+2]...)
	}
	for _, m := range load(t, cfg, w) {
		near(t, "y", run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-5)
	}
}

// TestEmbeddingFlatten: float ids → Embedding → Flatten.
func TestEmbeddingFlatten(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	e := rnd(r, 5, 2)
	cfg := sequential(inputLayer(nil, 3),
		layer("Embedding", map[string]any{"name": "emb", "input_dim": 5, "output_dim": 2}),
		layer("Flatten", map[string]any{"name": "flat"}))
	ids := tensor.FromSlice(tensor.Shape{2, 3}, []float32{0, 4, 2, 3, 3, 1})
	var want []float64
	for _, id := range ids.F32() {
		want = append(want, float64(e.F32()[int(id)*2]), float64(e.F32()[int(id)*2+1]))
	}
	mg, err := keras3.Translate(cfg, mapWeights{"layers/embedding/vars/0": e})
	if err != nil {
		t.Fatal(err)
	}
	m, err := loader.LoadMetaGraph(context.Background(), t.TempDir(), mg, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	near(t, "y", run(t, m, map[string]*tensor.Tensor{"input_layer": ids}), want, 0)
}

// refLSTM is Keras's LSTM in float64 (gate blocks i, f, c, o), last state.
func refLSTM(x []float64, batch, steps, feat, units int, k, rk, b *tensor.Tensor) []float64 {
	col := func(v []float64, w *tensor.Tensor, j int) float64 {
		s := 0.0
		for l := range v {
			s += v[l] * float64(w.F32()[l*4*units+j])
		}
		return s
	}
	var out []float64
	for n := 0; n < batch; n++ {
		h, c := make([]float64, units), make([]float64, units)
		for s := 0; s < steps; s++ {
			xs := x[(n*steps+s)*feat : (n*steps+s+1)*feat]
			g := func(block, j int) float64 {
				return col(xs, k, block*units+j) + col(h, rk, block*units+j) + float64(b.F32()[block*units+j])
			}
			nh, nc := make([]float64, units), make([]float64, units)
			for j := 0; j < units; j++ {
				i, f, cc, o := sigmoid(g(0, j)), sigmoid(g(1, j)), math.Tanh(g(2, j)), sigmoid(g(3, j))
				nc[j] = f*c[j] + i*cc
				nh[j] = o * math.Tanh(nc[j])
			}
			h, c = nh, nc
		}
		out = append(out, h...)
	}
	return out
}

// TestLSTM: an LSTM layer's last output against the float64 formulas.
func TestLSTM(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	w := mapWeights{"layers/lstm/cell/vars/0": rnd(r, 2, 12), "layers/lstm/cell/vars/1": rnd(r, 3, 12), "layers/lstm/cell/vars/2": rnd(r, 12)}
	cfg := sequential(inputLayer(nil, 5, 2), layer("LSTM", map[string]any{"name": "l", "units": 3, "use_bias": true}))
	x := rnd(r, 2, 5, 2)
	want := refLSTM(f64(x), 2, 5, 2, 3, w["layers/lstm/cell/vars/0"], w["layers/lstm/cell/vars/1"], w["layers/lstm/cell/vars/2"])
	mg, err := keras3.Translate(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loader.LoadMetaGraph(context.Background(), t.TempDir(), mg, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	near(t, "h", run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-5)
}

// TestDenseActivations: every Keras 3 activation the translator knows,
// against its float64 formula (Keras 3's definitions: leaky_relu's slope
// 0.2, hard_sigmoid relu6(x+3)/6, exact gelu).
func TestDenseActivations(t *testing.T) {
	softplus := func(x float64) float64 { return math.Log1p(math.Exp(x)) }
	unit := map[string]func(float64) float64{
		"linear": func(x float64) float64 { return x }, "relu": func(x float64) float64 { return math.Max(0, x) },
		"sigmoid": sigmoid, "tanh": math.Tanh, "softplus": softplus,
		"softsign":    func(x float64) float64 { return x / (1 + math.Abs(x)) },
		"relu6":       func(x float64) float64 { return math.Min(6, math.Max(0, x)) },
		"exponential": math.Exp,
		"elu": func(x float64) float64 {
			if x > 0 {
				return x
			}
			return math.Expm1(x)
		},
		"selu": func(x float64) float64 {
			const a, s = 1.6732632423543772, 1.0507009873554805
			if x > 0 {
				return s * x
			}
			return s * a * math.Expm1(x)
		},
		"swish": func(x float64) float64 { return x * sigmoid(x) },
		"silu":  func(x float64) float64 { return x * sigmoid(x) },
		"leaky_relu": func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 0.2 * x
		},
		"hard_sigmoid": func(x float64) float64 { return math.Min(6, math.Max(0, x+3)) / 6 },
		"gelu":         func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
		"mish":         func(x float64) float64 { return x * math.Tanh(softplus(x)) },
	}
	r := rand.New(rand.NewPCG(15, 16))
	k, b := rnd(r, 3, 4), rnd(r, 4)
	x := rnd(r, 2, 3)
	for i := range x.F32() {
		x.F32()[i] *= 3 // reach the bends of relu6, hard_sigmoid
	}
	z := matmul(f64(x), k, 2)
	for i := range z {
		z[i] += float64(b.F32()[i%4])
	}
	names := append([]string{"softmax", "log_softmax"}, slices.Sorted(maps.Keys(unit))...)
	for _, act := range names {
		cfg := sequential(inputLayer(nil, 3), layer("Dense", map[string]any{"name": "d", "units": 4, "activation": act}))
		mg, err := keras3.Translate(cfg, mapWeights{"layers/dense/vars/0": k, "layers/dense/vars/1": b})
		if err != nil {
			t.Fatalf("%s: %v", act, err)
		}
		m, err := loader.LoadMetaGraph(context.Background(), t.TempDir(), mg, loader.Options{})
		if err != nil {
			t.Fatalf("%s: %v", act, err)
		}
		want := make([]float64, len(z))
		for row := 0; row < 2; row++ {
			zs := z[row*4 : row*4+4]
			sum := 0.0
			for _, v := range zs {
				sum += math.Exp(v)
			}
			for j, v := range zs {
				switch act {
				case "softmax":
					want[row*4+j] = math.Exp(v) / sum
				case "log_softmax":
					want[row*4+j] = v - math.Log(sum)
				default:
					want[row*4+j] = unit[act](v)
				}
			}
		}
		near(t, act, run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-5)
		m.Close()
	}
}

// TestMergesReshapeActivation: each merge layer on two inputs, and
// Reshape → Activation → Flatten, as Functional and Sequential models.
func TestMergesReshapeActivation(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	a, b := rnd(r, 2, 6), rnd(r, 2, 6)
	ref := func(l string) map[string]any {
		return map[string]any{"class_name": "__keras_tensor__", "config": map[string]any{"keras_history": []any{l, 0, 0}}}
	}
	for class, f := range map[string]func(x, y float64) float64{
		"Add": func(x, y float64) float64 { return x + y }, "Subtract": func(x, y float64) float64 { return x - y },
		"Multiply": func(x, y float64) float64 { return x * y }, "Average": func(x, y float64) float64 { return (x + y) / 2 },
		"Maximum": math.Max, "Minimum": math.Min,
	} {
		cfg, _ := json.Marshal(map[string]any{"class_name": "Functional", "config": map[string]any{
			"layers": []any{
				map[string]any{"class_name": "InputLayer", "name": "a", "config": map[string]any{"name": "a", "batch_shape": []any{nil, 6}}, "inbound_nodes": []any{}},
				map[string]any{"class_name": "InputLayer", "name": "b", "config": map[string]any{"name": "b", "batch_shape": []any{nil, 6}}, "inbound_nodes": []any{}},
				map[string]any{"class_name": class, "name": "m", "config": map[string]any{"name": "m"},
					"inbound_nodes": []any{map[string]any{"args": []any{[]any{ref("a"), ref("b")}}}}},
			},
			"input_layers": []any{[]any{"a", 0, 0}, []any{"b", 0, 0}}, "output_layers": []any{[]any{"m", 0, 0}},
		}})
		want := make([]float64, 12)
		for i := range want {
			want[i] = f(float64(a.F32()[i]), float64(b.F32()[i]))
		}
		for _, m := range load(t, cfg, mapWeights{}) {
			near(t, class, run(t, m, map[string]*tensor.Tensor{"a": a, "b": b}), want, 1e-6)
		}
	}
	cfg := sequential(inputLayer(nil, 6),
		layer("Reshape", map[string]any{"name": "r", "target_shape": []int{2, 3}}),
		layer("Activation", map[string]any{"name": "act", "activation": "tanh"}),
		layer("Flatten", map[string]any{"name": "f"}))
	want := make([]float64, 12)
	for i := range want {
		want[i] = math.Tanh(float64(a.F32()[i]))
	}
	for _, m := range load(t, cfg, mapWeights{}) {
		near(t, "reshape", run(t, m, map[string]*tensor.Tensor{"input_layer": a}), want, 1e-6)
	}
}
