package keras3_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/loader/keras3"
	"github.com/tfserve/tfserve/tensor"
)

// denseRef is x·k + b (then relu if asked) for n rows, in float64.
func denseRef(x []float64, k, b *tensor.Tensor, n int, relu bool) []float64 {
	y := matmul(x, k, n)
	m := k.Shape[1]
	for i := range y {
		y[i] += float64(b.F32()[i%m])
		if relu {
			y[i] = math.Max(0, y[i])
		}
	}
	return y
}

// nestedSequential is a Sequential model used as a layer, as Keras 3
// writes it inside a Functional model's layers (inbound_nodes set) or a
// Sequential's (from nil).
func nestedSequential(name string, from []string, layers ...map[string]any) map[string]any {
	l := fnLayer("Sequential", name, map[string]any{"layers": layers, "trainable": true}, from)
	l["module"] = "keras"
	if from == nil {
		delete(l, "inbound_nodes")
		delete(l, "name")
	}
	return l
}

// TestNestedSequentialInFunctional: a Functional model calls a nested
// Sequential (InputLayer, Dense relu, Dense) twice, on two inputs, with
// shared weights under layers/sequential/layers/...; its outputs are added
// and go through the outer Dense.
func TestNestedSequentialInFunctional(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	w := mapWeights{
		"layers/sequential/layers/dense/vars/0": rnd(r, 3, 4), "layers/sequential/layers/dense/vars/1": rnd(r, 4),
		"layers/sequential/layers/dense_1/vars/0": rnd(r, 4, 2), "layers/sequential/layers/dense_1/vars/1": rnd(r, 2),
		"layers/dense/vars/0": rnd(r, 2, 1), "layers/dense/vars/1": rnd(r, 1),
	}
	inner := nestedSequential("tower", []string{"a"},
		layer("InputLayer", map[string]any{"name": "tower_in", "batch_shape": []any{nil, 3}}),
		layer("Dense", map[string]any{"name": "h", "units": 4, "activation": "relu"}),
		layer("Dense", map[string]any{"name": "o", "units": 2}))
	// The second call of the tower, on input b.
	inner["inbound_nodes"] = append(inner["inbound_nodes"].([]any), fnLayer("X", "x", map[string]any{}, []string{"b"})["inbound_nodes"].([]any)[0])
	sum := fnLayer("Add", "sum", map[string]any{}, nil)
	sum["inbound_nodes"] = []any{map[string]any{"args": []any{[]any{
		map[string]any{"class_name": "__keras_tensor__", "config": map[string]any{"keras_history": []any{"tower", 0, 0}}},
		map[string]any{"class_name": "__keras_tensor__", "config": map[string]any{"keras_history": []any{"tower", 1, 0}}},
	}}}}
	cfg := functionalOf([]any{
		fnLayer("InputLayer", "a", map[string]any{"batch_shape": []any{nil, 3}}, nil),
		fnLayer("InputLayer", "b", map[string]any{"batch_shape": []any{nil, 3}}, nil),
		inner, sum,
		fnLayer("Dense", "score", map[string]any{"units": 1}, []string{"sum"}),
	}, []string{"a", "b"}, [][3]any{{"score", 0, 0}})
	a, b := rnd(r, 2, 3), rnd(r, 2, 3)
	tower := func(x *tensor.Tensor) []float64 {
		h := denseRef(f64(x), w["layers/sequential/layers/dense/vars/0"], w["layers/sequential/layers/dense/vars/1"], 2, true)
		return denseRef(h, w["layers/sequential/layers/dense_1/vars/0"], w["layers/sequential/layers/dense_1/vars/1"], 2, false)
	}
	ta, tb := tower(a), tower(b)
	for i := range ta {
		ta[i] += tb[i]
	}
	want := denseRef(ta, w["layers/dense/vars/0"], w["layers/dense/vars/1"], 2, false)
	for _, m := range load(t, cfg, w) {
		near(t, "score", run(t, m, map[string]*tensor.Tensor{"a": a, "b": b}), want, 1e-5)
	}
}

// TestNestedFunctionalInSequential: a Sequential model holding a Dense, a
// Functional model (its own InputLayer, a nested Sequential two levels
// down, a Dense) and a Dense: weights at layers/functional/layers/... and
// layers/functional/layers/sequential/layers/...; the outer Dense layers
// are dense and dense_1 of the outer container.
func TestNestedFunctionalInSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	w := mapWeights{
		"layers/dense/vars/0": rnd(r, 3, 4), "layers/dense/vars/1": rnd(r, 4),
		"layers/functional/layers/sequential/layers/dense/vars/0": rnd(r, 4, 5), "layers/functional/layers/sequential/layers/dense/vars/1": rnd(r, 5),
		"layers/functional/layers/dense/vars/0": rnd(r, 5, 3), "layers/functional/layers/dense/vars/1": rnd(r, 3),
		"layers/dense_1/vars/0": rnd(r, 3, 2), "layers/dense_1/vars/1": rnd(r, 2),
	}
	innerFn := fnLayer("Functional", "block", functionalConfig([]any{
		fnLayer("InputLayer", "block_in", map[string]any{"batch_shape": []any{nil, 4}}, nil),
		nestedSequential("deep", []string{"block_in"}, layer("Dense", map[string]any{"name": "d5", "units": 5, "activation": "relu"})),
		fnLayer("Dense", "d3", map[string]any{"units": 3, "activation": "relu"}, []string{"deep"}),
	}, []string{"block_in"}, [][3]any{{"d3", 0, 0}}), nil)
	delete(innerFn, "inbound_nodes")
	delete(innerFn, "name")
	cfg := sequential(inputLayer(nil, 3),
		layer("Dense", map[string]any{"name": "first", "units": 4, "activation": "relu"}),
		innerFn,
		layer("Dense", map[string]any{"name": "last", "units": 2}))
	x := rnd(r, 3, 3)
	h := denseRef(f64(x), w["layers/dense/vars/0"], w["layers/dense/vars/1"], 3, true)
	h = denseRef(h, w["layers/functional/layers/sequential/layers/dense/vars/0"], w["layers/functional/layers/sequential/layers/dense/vars/1"], 3, true)
	h = denseRef(h, w["layers/functional/layers/dense/vars/0"], w["layers/functional/layers/dense/vars/1"], 3, true)
	want := denseRef(h, w["layers/dense_1/vars/0"], w["layers/dense_1/vars/1"], 3, false)
	for _, m := range load(t, cfg, w) {
		near(t, "y", run(t, m, map[string]*tensor.Tensor{"input_layer": x}), want, 1e-5)
	}
}

// TestNestedMask: Embedding(mask_zero) in the outer model, a GRU inside a
// nested Sequential: the mask crosses into the nested model.
func TestNestedMask(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	const steps, emb, u = 4, 2, 3
	w := mapWeights{"layers/embedding/vars/0": rnd(r, 5, emb)}
	c := gruWeights(r, w, "layers/sequential/layers/gru/cell/vars/", emb, u)
	cfg := sequential(inputLayer(nil, steps),
		layer("Embedding", map[string]any{"name": "e", "input_dim": 5, "output_dim": emb, "mask_zero": true}),
		nestedSequential("rnn", nil, layer("GRU", map[string]any{"name": "g", "units": u})))
	ids := []float32{1, 4, 0, 0, 0, 2, 3, 0}
	x := make([]float64, 0, len(ids)*emb)
	mask := make([]bool, len(ids))
	for i, id := range ids {
		x = append(x, f64(w["layers/embedding/vars/0"])[int(id)*emb:int(id)*emb+emb]...)
		mask[i] = id != 0
	}
	_, want, _ := refRNN(x, mask, 2, steps, emb, u, c, false, false)
	near(t, "last", runAll(t, loadOne(t, cfg, w), map[string]*tensor.Tensor{"input_layer": tensor.FromSlice(tensor.Shape{2, steps}, ids)})["output_0"].F32(), want, 1e-5)
}

// TestNestingLimits: models nested past the limit, a nested model with an
// unsupported layer, and a nested Functional called on the wrong number of
// tensors fail naming what is wrong.
func TestNestingLimits(t *testing.T) {
	deep := layer("Dense", map[string]any{"name": "d", "units": 2})
	for i := 0; i < 20; i++ {
		deep = nestedSequential("s", nil, deep)
	}
	cases := []struct {
		cfg  []byte
		want string
	}{
		{sequential(inputLayer(nil, 2), deep), "nested more than 16 deep"},
		{sequential(inputLayer(nil, 2), nestedSequential("s", nil, layer("Conv1D", map[string]any{"name": "c"}))), "layer s/c: class Conv1D is not supported"},
		{sequential(inputLayer(nil, 2), func() map[string]any {
			l := fnLayer("Functional", "two", functionalConfig([]any{
				fnLayer("InputLayer", "p", map[string]any{"batch_shape": []any{nil, 2}}, nil),
				fnLayer("InputLayer", "q", map[string]any{"batch_shape": []any{nil, 2}}, nil),
				fnLayer("Add", "s", map[string]any{}, []string{"p", "q"}),
			}, []string{"p", "q"}, [][3]any{{"s", 0, 0}}), nil)
			delete(l, "inbound_nodes")
			return l
		}()), "functional model with 2 inputs called on 1 tensors"},
	}
	for _, c := range cases {
		_, err := keras3.Translate(c.cfg, mapWeights{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}
