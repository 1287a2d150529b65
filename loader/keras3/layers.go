package keras3

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/tensor"
)

// layerFunc translates one call of a layer: key is its group in the
// weights file ("layers/gru_1"), prefix names its nodes.
type layerFunc func(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error)

// layerFuncs lists the supported layer classes; any other class fails
// the load naming it.
func layerFuncs() map[string]layerFunc {
	identity := func(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
		return in[:1], nil
	}
	m := map[string]layerFunc{
		"Dense":      dense,
		"Activation": activationLayer,
		"GRU": func(tr *translator, p, k string, c json.RawMessage, in []kt) ([]kt, error) {
			return tr.rnn(p, k, c, in, false, nil)
		},
		"LSTM": func(tr *translator, p, k string, c json.RawMessage, in []kt) ([]kt, error) {
			return tr.rnn(p, k, c, in, true, nil)
		},
		"Bidirectional":      bidirectional,
		"Embedding":          embedding,
		"Masking":            masking,
		"Flatten":            flatten,
		"Reshape":            reshapeLayer,
		"Concatenate":        concatenate,
		"Add":                merge("AddV2"),
		"Subtract":           merge("Sub"),
		"Multiply":           merge("Mul"),
		"Maximum":            merge("Maximum"),
		"Minimum":            merge("Minimum"),
		"Average":            average,
		"LayerNormalization": layerNorm,
		"BatchNormalization": batchNorm,
	}
	// Identity at inference.
	for _, c := range []string{"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
		"GaussianDropout", "AlphaDropout", "ActivityRegularization"} {
		m[c] = identity
	}
	return m
}

// How a layer class treats a Keras mask on its inputs (Keras 3's
// supports_masking and compute_mask):
//
//   - maskPass: the layer ignores the mask and passes it on unchanged
//     (Layer.compute_mask's default for layers that support masking).
//   - maskOwn: the layer's function reads its inputs' masks and sets its
//     outputs' (RNNs, Bidirectional, Masking, Embedding).
//   - maskDrop: the layer does not support masking; Keras 3 computes it
//     without the mask and drops the mask (with a warning), and so do we.
//
// Any other class refuses a masked input, naming the layer: its Keras
// result would depend on the mask in a way the translator does not
// reproduce (the merge layers' mask handling differs between Keras 3
// releases).
const (
	maskRefuse = iota
	maskPass
	maskOwn
	maskDrop
)

func maskPolicy(class string) int {
	switch class {
	case "GRU", "LSTM", "Bidirectional", "Masking", "Embedding":
		return maskOwn
	case "Dense", "Activation", "LayerNormalization", "BatchNormalization", "Dropout", "SpatialDropout1D",
		"SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization":
		return maskPass
	case "Flatten", "Reshape":
		return maskDrop
	}
	return maskRefuse
}

// layer translates one call of l on in.
func (tr *translator) layer(l *layerConfig, prefix, key string, in []kt) ([]kt, error) {
	if isModel(l.ClassName) {
		return tr.nested(l, prefix, key, in)
	}
	f, ok := layerFuncs()[l.ClassName]
	if !ok {
		return nil, fmt.Errorf("layer %s: class %s is not supported by tfserve's Keras 3 loader", prefix, l.ClassName)
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("layer %s (%s) has no input", prefix, l.ClassName)
	}
	policy := maskPolicy(l.ClassName)
	var mask string
	for _, t := range in {
		if t.mask == "" {
			continue
		}
		if policy == maskRefuse {
			return nil, fmt.Errorf("layer %s (%s) receives a masked input (from Masking or Embedding(mask_zero=True)); masks are not supported by this layer class in tfserve's Keras 3 loader", prefix, l.ClassName)
		}
		mask = t.mask
	}
	outs, err := f(tr, prefix, key, l.Config, in)
	if err != nil {
		return nil, fmt.Errorf("layer %s (%s): %w", prefix, l.ClassName, err)
	}
	switch policy {
	case maskPass:
		for i := range outs {
			outs[i].mask = mask
		}
	case maskDrop:
		for i := range outs {
			outs[i].mask = ""
		}
	}
	return outs, nil
}

// weight reads a float32 variable and checks its shape.
func (tr *translator) weight(path string, want ...int) (*tensor.Tensor, error) {
	t, err := tr.w.Tensor(path)
	if err != nil {
		return nil, err
	}
	if t.DType != tensor.Float32 {
		return nil, fmt.Errorf("weight %s is %v, want float32", path, t.DType)
	}
	if want != nil && !t.Shape.Equal(tensor.Shape(want)) {
		return nil, fmt.Errorf("weight %s has shape %v, want %v", path, t.Shape, tensor.Shape(want))
	}
	return t, nil
}

func one(t kt) []kt { return []kt{t} }

func f32Attr() map[string]any { return map[string]any{"T": tensor.Float32} }

func dense(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	var c struct {
		Units      int    `json:"units"`
		Activation string `json:"activation"`
		UseBias    *bool  `json:"use_bias"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	x := in[0]
	if x.rank() < 2 {
		return nil, fmt.Errorf("input of rank %d", x.rank())
	}
	feat := x.shape[x.rank()-1]
	if feat < 0 || c.Units <= 0 {
		return nil, fmt.Errorf("needs a known input width and units > 0 (got %d, %d)", feat, c.Units)
	}
	k, err := tr.weight(key+"/vars/0", feat, c.Units)
	if err != nil {
		return nil, err
	}
	flat := x
	if x.rank() > 2 {
		flat = kt{name: tr.op(prefix, "Reshape", []string{x.name, tr.constant(prefix, tensor.FromSlice(tensor.Shape{2}, []int32{-1, int32(feat)}))},
			map[string]any{"T": tensor.Float32, "Tshape": tensor.Int32}), shape: tensor.Shape{-1, feat}}
	}
	y := tr.op(prefix, "MatMul", []string{flat.name, tr.constant(prefix, k)}, map[string]any{"T": tensor.Float32, "transpose_a": false, "transpose_b": false})
	if c.UseBias == nil || *c.UseBias {
		b, err := tr.weight(key+"/vars/1", c.Units)
		if err != nil {
			return nil, err
		}
		y = tr.op(prefix, "BiasAdd", []string{y, tr.constant(prefix, b)}, f32Attr())
	}
	out := append(x.shape[:x.rank()-1:x.rank()-1], c.Units)
	if x.rank() > 2 {
		y = tr.reshapeLike(prefix, y, x, c.Units)
	}
	y, err = tr.activation(prefix, c.Activation, y)
	if err != nil {
		return nil, err
	}
	return one(kt{name: y, shape: out}), nil
}

// reshapeLike reshapes a [rows, last] result back to x's leading
// dimensions followed by last, computing them from x at run time.
func (tr *translator) reshapeLike(prefix, y string, x kt, last int) string {
	lead := tr.dimsOf(prefix, x, -1, false)
	full := tr.op(prefix, "ConcatV2", []string{lead, tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{int32(last)})),
		tr.constant(prefix, tensor.Scalar(int32(0)))}, map[string]any{"T": tensor.Int32, "N": 2, "Tidx": tensor.Int32})
	return tr.op(prefix, "Reshape", []string{y, full}, map[string]any{"T": tensor.Float32, "Tshape": tensor.Int32})
}

func activationLayer(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	var c struct {
		Activation string `json:"activation"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	y, err := tr.activation(prefix, c.Activation, in[0].name)
	if err != nil {
		return nil, err
	}
	return one(kt{name: y, shape: in[0].shape}), nil
}

// activation applies a Keras 3 activation by name.
func (tr *translator) activation(prefix, name, x string) (string, error) {
	unary := func(op string) string { return tr.op(prefix, op, []string{x}, f32Attr()) }
	scalar := func(v float32) string { return tr.constant(prefix, tensor.Scalar(v)) }
	switch name {
	case "", "linear":
		return x, nil
	case "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "relu6", "exponential", "log_softmax":
		op := map[string]string{"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "elu": "Elu", "selu": "Selu",
			"softplus": "Softplus", "softsign": "Softsign", "relu6": "Relu6", "exponential": "Exp", "log_softmax": "LogSoftmax"}[name]
		return unary(op), nil
	case "swish", "silu":
		return tr.op(prefix, "Mul", []string{x, unary("Sigmoid")}, f32Attr()), nil
	case "leaky_relu":
		// Keras 3's default negative slope.
		return tr.op(prefix, "LeakyRelu", []string{x}, map[string]any{"T": tensor.Float32, "alpha": float32(0.2)}), nil
	case "hard_sigmoid":
		// Keras 3: relu6(x + 3) / 6.
		r := tr.op(prefix, "Relu6", []string{tr.op(prefix, "AddV2", []string{x, scalar(3)}, f32Attr())}, f32Attr())
		return tr.op(prefix, "Mul", []string{r, scalar(1.0 / 6)}, f32Attr()), nil
	case "gelu":
		// Keras 3's default (approximate=False): x/2 (1 + erf(x/√2)).
		e := tr.op(prefix, "Erf", []string{tr.op(prefix, "Mul", []string{x, scalar(float32(1 / math.Sqrt2))}, f32Attr())}, f32Attr())
		h := tr.op(prefix, "AddV2", []string{e, scalar(1)}, f32Attr())
		return tr.op(prefix, "Mul", []string{tr.op(prefix, "Mul", []string{x, scalar(0.5)}, f32Attr()), h}, f32Attr()), nil
	case "mish":
		return tr.op(prefix, "Mul", []string{x, tr.op(prefix, "Tanh", []string{unary("Softplus")}, f32Attr())}, f32Attr()), nil
	}
	return "", fmt.Errorf("activation %q is not supported", name)
}

// rnn translates GRU and LSTM layers onto the fused kernels. A mask on
// the input becomes the fused op's mask input (Keras's masked steps keep
// the state and repeat the previous output, or output zeros with
// zero_output_for_mask, which forceZero overrides when not nil: Bidirectional
// sets it to return_sequences); the output sequence keeps the mask.
func (tr *translator) rnn(prefix, key string, cfg json.RawMessage, in []kt, lstm bool, forceZero *bool) ([]kt, error) {
	var c struct {
		ZeroOutputForMask   bool   `json:"zero_output_for_mask"`
		Units               int    `json:"units"`
		Activation          string `json:"activation"`
		RecurrentActivation string `json:"recurrent_activation"`
		UseBias             *bool  `json:"use_bias"`
		ResetAfter          *bool  `json:"reset_after"`
		ReturnSequences     bool   `json:"return_sequences"`
		ReturnState         bool   `json:"return_state"`
		GoBackwards         bool   `json:"go_backwards"`
		Stateful            bool   `json:"stateful"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	if c.Stateful {
		return nil, fmt.Errorf("stateful recurrent layers are not supported")
	}
	x := in[0]
	if x.rank() != 3 || x.shape[2] < 0 || c.Units <= 0 {
		return nil, fmt.Errorf("needs a [batch, steps, features] input with known features and units > 0 (got %v, %d)", x.shape, c.Units)
	}
	if c.Activation == "" {
		c.Activation = "tanh"
	}
	if c.RecurrentActivation == "" {
		c.RecurrentActivation = "sigmoid"
	}
	feat, u := x.shape[2], c.Units
	gates := 3
	if lstm {
		gates = 4
	}
	k, err := tr.weight(key+"/cell/vars/0", feat, gates*u)
	if err != nil {
		return nil, err
	}
	r, err := tr.weight(key+"/cell/vars/1", u, gates*u)
	if err != nil {
		return nil, err
	}
	biasShape := tensor.Shape{gates * u}
	if !lstm && (c.ResetAfter == nil || *c.ResetAfter) {
		biasShape = tensor.Shape{2, gates * u}
	}
	var b *tensor.Tensor
	if c.UseBias == nil || *c.UseBias {
		if b, err = tr.weight(key+"/cell/vars/2", biasShape...); err != nil {
			return nil, err
		}
	} else {
		b = tensor.New(tensor.Float32, biasShape)
	}
	zeros := tr.zeroState(prefix, x, u)
	op := fuse.OpGRU
	inputs := []string{x.name, zeros}
	if lstm {
		op = fuse.OpLSTM
		inputs = append(inputs, zeros)
	}
	inputs = append(inputs, tr.constant(prefix, k), tr.constant(prefix, r), tr.constant(prefix, b))
	attrs := map[string]any{
		"go_backwards": c.GoBackwards, "time_major": false, "return_all": c.ReturnSequences,
		"activation": c.Activation, "recurrent_activation": c.RecurrentActivation, "keras_major": 3,
	}
	if x.mask != "" {
		inputs = append(inputs, x.mask)
		zero := c.ZeroOutputForMask
		if forceZero != nil {
			zero = *forceZero
		}
		attrs["zero_output_for_mask"] = zero
	}
	node := tr.b.Op(tr.uniq(prefix, op), op, inputs, attrs)
	out := kt{name: node + ":0", shape: tensor.Shape{x.shape[0], u}}
	if c.ReturnSequences {
		out = kt{name: node + ":1", shape: tensor.Shape{x.shape[0], x.shape[1], u}, mask: x.mask}
	}
	outs := []kt{out}
	if c.ReturnState {
		outs = append(outs, kt{name: node + ":2", shape: tensor.Shape{x.shape[0], u}})
		if lstm {
			outs = append(outs, kt{name: node + ":3", shape: tensor.Shape{x.shape[0], u}})
		}
	}
	return outs, nil
}

// dimsOf is x's run-time dimensions [0, end) (end < 0 counts from the
// last); scalar takes the one dimension of [0, 1) as a scalar.
func (tr *translator) dimsOf(prefix string, x kt, end int32, scalar bool) string {
	shape := tr.op(prefix, "Shape", []string{x.name}, map[string]any{"T": x.dtype(), "out_type": tensor.Int32})
	shrink := 0
	if scalar {
		shrink = 1
	}
	return tr.op(prefix, "StridedSlice", []string{shape,
		tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{0})),
		tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{end})),
		tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{1}))},
		map[string]any{"T": tensor.Int32, "Index": tensor.Int32, "begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": shrink})
}

// zeroState is a [batch, units] zero tensor for x's batch.
func (tr *translator) zeroState(prefix string, x kt, units int) string {
	batch := tr.dimsOf(prefix, x, 1, true)
	dims := tr.op(prefix, "Pack", []string{batch, tr.constant(prefix, tensor.Scalar(int32(units)))}, map[string]any{"T": tensor.Int32, "N": 2, "axis": 0})
	return tr.op(prefix, "Fill", []string{dims, tr.constant(prefix, tensor.Scalar(float32(0)))}, map[string]any{"T": tensor.Float32, "index_type": tensor.Int32})
}

func bidirectional(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	var c struct {
		Layer         layerConfig  `json:"layer"`
		BackwardLayer *layerConfig `json:"backward_layer"`
		MergeMode     *string      `json:"merge_mode"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	lstm := c.Layer.ClassName == "LSTM"
	if !lstm && c.Layer.ClassName != "GRU" {
		return nil, fmt.Errorf("wrapped layer %s is not supported (GRU and LSTM are)", c.Layer.ClassName)
	}
	back := c.Layer
	if c.BackwardLayer != nil {
		back = *c.BackwardLayer
	} else {
		// Keras builds the backward layer from the forward config, going
		// the other way.
		var m map[string]any
		if err := json.Unmarshal(c.Layer.Config, &m); err != nil {
			return nil, err
		}
		gb, _ := m["go_backwards"].(bool)
		m["go_backwards"] = !gb
		raw, _ := json.Marshal(m)
		back.Config = raw
	}
	// Keras's Bidirectional forces zero_output_for_mask to return_sequences
	// on both halves.
	var rs struct {
		ReturnSequences bool `json:"return_sequences"`
	}
	if err := json.Unmarshal(c.Layer.Config, &rs); err != nil {
		return nil, err
	}
	fw, err := tr.rnn(prefix+"/forward", key+"/forward_layer", c.Layer.Config, in, lstm, &rs.ReturnSequences)
	if err != nil {
		return nil, err
	}
	bw, err := tr.rnn(prefix+"/backward", key+"/backward_layer", back.Config, in, lstm, &rs.ReturnSequences)
	if err != nil {
		return nil, err
	}
	if len(fw) != len(bw) {
		return nil, fmt.Errorf("forward and backward layers return %d and %d tensors", len(fw), len(bw))
	}
	// With return_state, Keras appends the forward then the backward
	// states to the merged output.
	states := append(append([]kt(nil), fw[1:]...), bw[1:]...)
	f, b := fw[0], bw[0]
	if f.rank() == 3 && b.rank() != 3 || f.rank() == 3 && f.shape[1] != b.shape[1] {
		return nil, fmt.Errorf("forward and backward layers return different shapes (%v, %v)", f.shape, b.shape)
	}
	if f.rank() == 3 {
		// The backward sequence comes out in its own (reversed) order.
		b.name = tr.op(prefix, "ReverseV2", []string{b.name, tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{1}))},
			map[string]any{"T": tensor.Float32, "Tidx": tensor.Int32})
	}
	mode := "concat"
	if c.MergeMode != nil {
		mode = *c.MergeMode
	} else if cfg != nil && string(cfg) != "" {
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(cfg, &raw)
		if v, ok := raw["merge_mode"]; ok && string(v) == "null" {
			mode = ""
		}
	}
	// The output sequence keeps the input's mask (f.mask), as do both
	// halves without a merge.
	var outs []kt
	switch mode {
	case "concat":
		shape := f.shape.Clone()
		shape[len(shape)-1] = f.shape[len(shape)-1] + b.shape[len(shape)-1]
		outs = one(kt{name: tr.concat(prefix, []kt{f, b}, f.rank()-1), shape: shape, mask: f.mask})
	case "sum":
		outs = one(kt{name: tr.op(prefix, "AddV2", []string{f.name, b.name}, f32Attr()), shape: f.shape, mask: f.mask})
	case "mul":
		outs = one(kt{name: tr.op(prefix, "Mul", []string{f.name, b.name}, f32Attr()), shape: f.shape, mask: f.mask})
	case "ave":
		s := tr.op(prefix, "AddV2", []string{f.name, b.name}, f32Attr())
		outs = one(kt{name: tr.op(prefix, "Mul", []string{s, tr.constant(prefix, tensor.Scalar(float32(0.5)))}, f32Attr()), shape: f.shape, mask: f.mask})
	case "":
		b.mask = f.mask
		outs = []kt{f, b}
	default:
		return nil, fmt.Errorf("merge_mode %q is not supported", mode)
	}
	return append(outs, states...), nil
}

func (tr *translator) concat(prefix string, in []kt, axis int) string {
	names := make([]string, 0, len(in)+1)
	for _, t := range in {
		names = append(names, t.name)
	}
	names = append(names, tr.constant(prefix, tensor.Scalar(int32(axis))))
	return tr.op(prefix, "ConcatV2", names, map[string]any{"T": tensor.Float32, "N": len(in), "Tidx": tensor.Int32})
}

func embedding(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	var c struct {
		InputDim  int  `json:"input_dim"`
		OutputDim int  `json:"output_dim"`
		MaskZero  bool `json:"mask_zero"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	e, err := tr.weight(key+"/vars/0", c.InputDim, c.OutputDim)
	if err != nil {
		return nil, err
	}
	ids := in[0]
	idx := ids.name
	if ids.dtype() != tensor.Int32 {
		idx = tr.op(prefix, "Cast", []string{ids.name}, map[string]any{"SrcT": ids.dtype(), "DstT": tensor.Int32})
	}
	y := tr.op(prefix, "GatherV2", []string{tr.constant(prefix, e), idx, tr.constant(prefix, tensor.Scalar(int32(0)))},
		map[string]any{"Tparams": tensor.Float32, "Tindices": tensor.Int32, "Taxis": tensor.Int32, "batch_dims": 0})
	out := kt{name: y, shape: append(ids.shape.Clone(), c.OutputDim)}
	if c.MaskZero {
		// Keras: mask = ids != 0, whatever mask the ids carried.
		zero, err := tr.scalarOf(prefix, ids.dtype(), 0)
		if err != nil {
			return nil, err
		}
		out.mask = tr.op(prefix, "NotEqual", []string{ids.name, zero}, map[string]any{"T": ids.dtype(), "incompatible_shape_error": true})
	}
	return one(out), nil
}

// scalarOf is a constant scalar v of dtype dt.
func (tr *translator) scalarOf(prefix string, dt tensor.DType, v float64) (string, error) {
	switch dt {
	case tensor.Float32:
		return tr.constant(prefix, tensor.Scalar(float32(v))), nil
	case tensor.Int32:
		return tr.constant(prefix, tensor.Scalar(int32(v))), nil
	case tensor.Int64:
		return tr.constant(prefix, tensor.Scalar(int64(v))), nil
	}
	return "", fmt.Errorf("dtype %v", dt)
}

// masking is Keras's Masking layer: a step whose features all equal
// mask_value is masked (mask = any(x != mask_value, axis=-1)) and its
// features are zeroed.
func masking(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	var c struct {
		MaskValue *float64 `json:"mask_value"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	v := 0.0
	if c.MaskValue != nil {
		v = *c.MaskValue
	}
	x := in[0]
	if x.rank() < 2 {
		return nil, fmt.Errorf("input of rank %d (want at least [batch, features])", x.rank())
	}
	mv, err := tr.scalarOf(prefix, x.dtype(), v)
	if err != nil {
		return nil, err
	}
	ne := tr.op(prefix, "NotEqual", []string{x.name, mv}, map[string]any{"T": x.dtype(), "incompatible_shape_error": true})
	last := tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{-1}))
	keep := tr.op(prefix, "Any", []string{ne, last}, map[string]any{"Tidx": tensor.Int32, "keep_dims": true})
	mask := tr.op(prefix, "Any", []string{ne, last}, map[string]any{"Tidx": tensor.Int32, "keep_dims": false})
	y := tr.op(prefix, "Mul", []string{x.name, tr.op(prefix, "Cast", []string{keep}, map[string]any{"SrcT": tensor.Bool, "DstT": x.dtype()})},
		map[string]any{"T": x.dtype()})
	return one(kt{name: y, shape: x.shape, dt: x.dt, mask: mask}), nil
}

func flatten(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	x := in[0]
	n := 1
	for _, d := range x.shape[1:] {
		if d < 0 {
			return nil, fmt.Errorf("input %v has an unknown non-batch dimension", x.shape)
		}
		n *= d
	}
	return one(tr.reshapeTo(prefix, x, tensor.Shape{n})), nil
}

func (tr *translator) reshapeTo(prefix string, x kt, rest tensor.Shape) kt {
	dims := []int32{-1}
	for _, d := range rest {
		dims = append(dims, int32(d))
	}
	y := tr.op(prefix, "Reshape", []string{x.name, tr.constant(prefix, tensor.FromSlice(tensor.Shape{len(dims)}, dims))},
		map[string]any{"T": x.dtype(), "Tshape": tensor.Int32})
	return kt{name: y, shape: append(tensor.Shape{x.shape[0]}, rest...), dt: x.dt}
}

func reshapeLayer(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	var c struct {
		TargetShape []int `json:"target_shape"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	for _, d := range c.TargetShape {
		if d < 0 {
			return nil, fmt.Errorf("target_shape %v with an inferred dimension is not supported", c.TargetShape)
		}
	}
	return one(tr.reshapeTo(prefix, in[0], tensor.Shape(c.TargetShape))), nil
}

// axisOf resolves a Keras axis (negative from the end) for rank.
func axisOf(axis, rank int) (int, error) {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return axis, nil
}

func concatenate(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	c := struct {
		Axis int `json:"axis"`
	}{Axis: -1}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	axis, err := axisOf(c.Axis, in[0].rank())
	if err != nil {
		return nil, err
	}
	shape := in[0].shape.Clone()
	for _, t := range in[1:] {
		if t.rank() != len(shape) {
			return nil, fmt.Errorf("inputs of ranks %d and %d", len(shape), t.rank())
		}
		if shape[axis] >= 0 && t.shape[axis] >= 0 {
			shape[axis] += t.shape[axis]
		} else {
			shape[axis] = -1
		}
	}
	return one(kt{name: tr.concat(prefix, in, axis), shape: shape}), nil
}

// merge chains a binary op over the inputs (shapes as the first's).
func merge(op string) layerFunc {
	return func(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
		if len(in) < 2 {
			return nil, fmt.Errorf("needs at least two inputs, got %d", len(in))
		}
		if op == "Sub" && len(in) != 2 {
			return nil, fmt.Errorf("Subtract takes exactly two inputs, got %d", len(in))
		}
		y := in[0].name
		for _, t := range in[1:] {
			y = tr.op(prefix, op, []string{y, t.name}, f32Attr())
		}
		return one(kt{name: y, shape: in[0].shape}), nil
	}
}

func average(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	sum, err := merge("AddV2")(tr, prefix, key, cfg, in)
	if err != nil {
		return nil, err
	}
	y := tr.op(prefix, "Mul", []string{sum[0].name, tr.constant(prefix, tensor.Scalar(float32(1)/float32(len(in))))}, f32Attr())
	return one(kt{name: y, shape: in[0].shape}), nil
}

// lastAxis reads a normalization layer's axis, which must be the last.
func lastAxis(raw json.RawMessage, rank int) error {
	if len(raw) == 0 {
		return nil
	}
	var axes []int
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		axes = []int{one}
	} else if err := json.Unmarshal(raw, &axes); err != nil {
		return fmt.Errorf("axis %s: %w", raw, err)
	}
	if len(axes) != 1 {
		return fmt.Errorf("axis %v: only the last axis is supported", axes)
	}
	if a, err := axisOf(axes[0], rank); err != nil || a != rank-1 {
		return fmt.Errorf("axis %v: only the last axis is supported", axes)
	}
	return nil
}

func layerNorm(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	c := struct {
		Axis       json.RawMessage `json:"axis"`
		Epsilon    float64         `json:"epsilon"`
		Center     *bool           `json:"center"`
		Scale      *bool           `json:"scale"`
		RMSScaling bool            `json:"rms_scaling"`
	}{Epsilon: 1e-3}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	x := in[0]
	if err := lastAxis(c.Axis, x.rank()); err != nil {
		return nil, err
	}
	if c.RMSScaling {
		return nil, fmt.Errorf("rms_scaling is not supported")
	}
	width := x.shape[x.rank()-1]
	if width < 0 {
		return nil, fmt.Errorf("unknown width")
	}
	axis := tr.constant(prefix, tensor.FromSlice(tensor.Shape{1}, []int32{int32(x.rank() - 1)}))
	meanAttrs := map[string]any{"T": tensor.Float32, "Tidx": tensor.Int32, "keep_dims": true}
	mean := tr.op(prefix, "Mean", []string{x.name, axis}, meanAttrs)
	variance := tr.op(prefix, "Mean", []string{tr.op(prefix, "SquaredDifference", []string{x.name, mean}, f32Attr()), axis}, meanAttrs)
	inv := tr.op(prefix, "Rsqrt", []string{tr.op(prefix, "AddV2", []string{variance, tr.constant(prefix, tensor.Scalar(float32(c.Epsilon)))}, f32Attr())}, f32Attr())
	y := tr.op(prefix, "Mul", []string{tr.op(prefix, "Sub", []string{x.name, mean}, f32Attr()), inv}, f32Attr())
	v := 0
	if c.Scale == nil || *c.Scale {
		g, err := tr.weight(fmt.Sprintf("%s/vars/%d", key, v), width)
		if err != nil {
			return nil, err
		}
		v++
		y = tr.op(prefix, "Mul", []string{y, tr.constant(prefix, g)}, f32Attr())
	}
	if c.Center == nil || *c.Center {
		b, err := tr.weight(fmt.Sprintf("%s/vars/%d", key, v), width)
		if err != nil {
			return nil, err
		}
		y = tr.op(prefix, "AddV2", []string{y, tr.constant(prefix, b)}, f32Attr())
	}
	return one(kt{name: y, shape: x.shape}), nil
}

// batchNorm folds inference-mode batch normalization into y = x*scale +
// offset, scale = gamma/sqrt(moving_variance+eps), offset = beta -
// moving_mean*scale.
func batchNorm(tr *translator, prefix, key string, cfg json.RawMessage, in []kt) ([]kt, error) {
	c := struct {
		Axis    json.RawMessage `json:"axis"`
		Epsilon float64         `json:"epsilon"`
		Center  *bool           `json:"center"`
		Scale   *bool           `json:"scale"`
	}{Epsilon: 1e-3}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	x := in[0]
	if err := lastAxis(c.Axis, x.rank()); err != nil {
		return nil, err
	}
	width := x.shape[x.rank()-1]
	if width < 0 {
		return nil, fmt.Errorf("unknown width")
	}
	v := 0
	next := func() ([]float32, error) {
		t, err := tr.weight(fmt.Sprintf("%s/vars/%d", key, v), width)
		v++
		if err != nil {
			return nil, err
		}
		return t.F32(), nil
	}
	// Weights are read (and their shapes checked against width) before
	// anything of width is allocated: width comes from the config.
	var gamma, beta []float32
	var err error
	if c.Scale == nil || *c.Scale {
		if gamma, err = next(); err != nil {
			return nil, err
		}
	}
	if c.Center == nil || *c.Center {
		if beta, err = next(); err != nil {
			return nil, err
		}
	}
	mm, err := next()
	if err != nil {
		return nil, err
	}
	mv, err := next()
	if err != nil {
		return nil, err
	}
	if gamma == nil {
		gamma = make([]float32, width)
		for i := range gamma {
			gamma[i] = 1
		}
	}
	if beta == nil {
		beta = make([]float32, width)
	}
	scale, offset := make([]float32, width), make([]float32, width)
	for i := range scale {
		scale[i] = gamma[i] / float32(math.Sqrt(float64(mv[i])+c.Epsilon))
		offset[i] = beta[i] - mm[i]*scale[i]
	}
	y := tr.op(prefix, "Mul", []string{x.name, tr.constant(prefix, tensor.FromSlice(tensor.Shape{width}, scale))}, f32Attr())
	y = tr.op(prefix, "AddV2", []string{y, tr.constant(prefix, tensor.FromSlice(tensor.Shape{width}, offset))}, f32Attr())
	return one(kt{name: y, shape: x.shape}), nil
}
