package keras3

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tfserve/tfserve/loader/modelwriter"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

// Weights gives the variables of model.weights.h5 by path
// ("layers/gru/cell/vars/0").
type Weights interface {
	// Tensor returns the dataset at path as a float32 tensor.
	Tensor(path string) (*tensor.Tensor, error)
}

// kt is a Keras tensor during translation: a graph tensor name ("node:0")
// and its static shape (-1 for unknown sizes); all are float32 unless dt
// says otherwise. mask names the Keras mask attached to it, a bool tensor
// of the shape's leading dimensions (all but the last), or is empty.
type kt struct {
	name  string
	shape tensor.Shape
	dt    tensor.DType
	mask  string
}

func (t kt) rank() int { return len(t.shape) }

// translator builds the graph of one model.
type translator struct {
	b       *modelwriter.Builder
	w       Weights
	counter int
	inputs  map[string]kt // input layer name → placeholder
	depth   int           // models being translated (1: the top level)
	layers  int           // layers seen, nested models' included
}

// scope is where a model's layers go: the top level, or a nested model
// called on bind, its weights under weights ("layers/sequential/") and its
// nodes under nodes.
type scope struct {
	bind    []kt
	weights string
	nodes   string
}

// maxNesting bounds how deep models may be nested in one another.
const maxNesting = 16

// Translate turns a Keras 3 config.json and its weights into a MetaGraph
// with a serving_default signature, as Keras 3's model.export() names it:
// inputs after the model's input layers, outputs output_0, output_1, ...
func Translate(config []byte, w Weights) (*tfpb.MetaGraphDef, error) {
	mc, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	tr := &translator{b: modelwriter.New(), w: w}
	var ins map[string]kt
	var inOrder []string
	var outs []kt
	top := scope{weights: "layers/"}
	tr.depth = 1
	if err := tr.count(len(mc.Config.Layers)); err != nil {
		return nil, err
	}
	switch mc.ClassName {
	case "Sequential":
		ins, inOrder, outs, err = tr.sequential(mc, top)
	case "Functional", "Model":
		ins, inOrder, outs, err = tr.functional(mc, top)
	default:
		return nil, fmt.Errorf("model class %q is not supported (Sequential and Functional are)", mc.ClassName)
	}
	if err != nil {
		return nil, err
	}
	inputs := map[string]modelwriter.TensorSpec{}
	for _, name := range inOrder {
		t := ins[name]
		inputs[name] = modelwriter.TensorSpec{Name: t.name, DType: t.dtype(), Shape: t.shape}
	}
	outputs := map[string]modelwriter.TensorSpec{}
	for i, t := range outs {
		// An identity per output gives each a stable node of its own.
		name := tr.b.Op(fmt.Sprintf("output_%d", i), "Identity", []string{t.name}, map[string]any{"T": t.dtype()})
		outputs[fmt.Sprintf("output_%d", i)] = modelwriter.TensorSpec{Name: name + ":0", DType: t.dtype(), Shape: t.shape}
	}
	tr.b.Signature("serving_default", "tensorflow/serving/predict", inputs, outputs)
	return tr.b.MetaGraph()
}

func (t kt) dtype() tensor.DType {
	if t.dt == tensor.Invalid {
		return tensor.Float32
	}
	return t.dt
}

// count charges n more layers against maxConfigLayers.
func (tr *translator) count(n int) error {
	tr.layers += n
	if tr.layers > maxConfigLayers {
		return fmt.Errorf("config.json: more than %d layers, nested models' included", maxConfigLayers)
	}
	return nil
}

// isModel says whether a layer class is a model used as a layer.
func isModel(class string) bool {
	return class == "Sequential" || class == "Functional" || class == "Model"
}

// nested translates a Sequential or Functional model used as a layer (one
// call of it on in). Keras 3 keeps its config in the layer's config and
// its weights under the layer's group ("layers/sequential/layers/dense").
func (tr *translator) nested(l *layerConfig, prefix, key string, in []kt) ([]kt, error) {
	if tr.depth >= maxNesting {
		return nil, fmt.Errorf("layer %s (%s): models nested more than %d deep", prefix, l.ClassName, maxNesting)
	}
	mc := &modelConfig{ClassName: l.ClassName}
	if err := json.Unmarshal(l.Config, &mc.Config); err != nil {
		return nil, fmt.Errorf("layer %s (%s): %w", prefix, l.ClassName, err)
	}
	if err := tr.count(len(mc.Config.Layers)); err != nil {
		return nil, err
	}
	tr.depth++
	defer func() { tr.depth-- }()
	sc := scope{bind: in, weights: key + "/layers/", nodes: prefix + "/"}
	var outs []kt
	var err error
	if l.ClassName == "Sequential" {
		_, _, outs, err = tr.sequential(mc, sc)
	} else {
		_, _, outs, err = tr.functional(mc, sc)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", prefix, err)
	}
	return outs, nil
}

func (tr *translator) sequential(mc *modelConfig, sc scope) (map[string]kt, []string, []kt, error) {
	layers := mc.Config.Layers
	keys := weightKeys(layers)
	var cur kt
	var inName string
	if sc.bind != nil {
		// A nested Sequential runs on its caller's tensor; its InputLayer,
		// if any, only restates the shape.
		if len(sc.bind) != 1 {
			return nil, nil, nil, fmt.Errorf("sequential model called on %d tensors", len(sc.bind))
		}
		cur, inName = sc.bind[0], "(caller)"
	}
	for i := range layers {
		l := &layers[i]
		name, err := l.layerName()
		if err != nil {
			return nil, nil, nil, err
		}
		if l.ClassName == "InputLayer" {
			if inName != "" {
				continue
			}
			if cur, err = tr.input(name, l.Config); err != nil {
				return nil, nil, nil, err
			}
			inName = name
			continue
		}
		if inName == "" {
			// No InputLayer: the first layer's config carries the shape.
			if cur, err = tr.input("input_layer", l.Config); err != nil {
				return nil, nil, nil, fmt.Errorf("sequential model without an input shape: %w", err)
			}
			inName = "input_layer"
		}
		outs, err := tr.layer(l, sc.nodes+name, sc.weights+keys[i], []kt{cur})
		if err != nil {
			return nil, nil, nil, err
		}
		if len(outs) != 1 {
			return nil, nil, nil, fmt.Errorf("layer %s (%s): %d outputs inside a Sequential model", name, l.ClassName, len(outs))
		}
		cur = outs[0]
	}
	if inName == "" {
		return nil, nil, nil, fmt.Errorf("sequential model without layers")
	}
	if sc.bind != nil {
		return nil, nil, []kt{cur}, nil
	}
	return map[string]kt{inName: tr.placeholderOf(inName)}, []string{inName}, []kt{cur}, nil
}

// placeholderOf returns the input tensor recorded for an input layer.
func (tr *translator) placeholderOf(name string) kt { return tr.inputs[name] }

func (tr *translator) functional(mc *modelConfig, sc scope) (map[string]kt, []string, []kt, error) {
	layers := mc.Config.Layers
	keys := weightKeys(layers)
	made := map[ref]kt{}
	ins := map[string]kt{}
	inRefs, err := refList(mc.Config.InputLayers)
	if err != nil {
		return nil, nil, nil, err
	}
	outRefs, err := refList(mc.Config.OutputLayer)
	if err != nil {
		return nil, nil, nil, err
	}
	bound := map[string]kt{}
	if sc.bind != nil {
		// A nested Functional model's input layers take its caller's
		// tensors, in input_layers order.
		if len(sc.bind) != len(inRefs) {
			return nil, nil, nil, fmt.Errorf("functional model with %d inputs called on %d tensors", len(inRefs), len(sc.bind))
		}
		for j, r := range inRefs {
			bound[r.layer] = sc.bind[j]
		}
	}
	for i := range layers {
		l := &layers[i]
		name, err := l.layerName()
		if err != nil {
			return nil, nil, nil, err
		}
		if l.ClassName == "InputLayer" {
			var t kt
			if sc.bind != nil {
				var ok bool
				if t, ok = bound[name]; !ok {
					return nil, nil, nil, fmt.Errorf("input layer %s is not among the model's input_layers", name)
				}
			} else if t, err = tr.input(name, l.Config); err != nil {
				return nil, nil, nil, err
			}
			ins[name] = t
			made[ref{name, 0, 0}] = t
			continue
		}
		for call, nd := range l.InboundNodes {
			refs, err := callArgs(nd)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("layer %s: %w", name, err)
			}
			args := make([]kt, len(refs))
			for j, r := range refs {
				t, ok := made[r]
				if !ok {
					return nil, nil, nil, fmt.Errorf("layer %s: input %s[%d][%d] is not computed before it", name, r.layer, r.node, r.index)
				}
				args[j] = t
			}
			outs, err := tr.layer(l, fmt.Sprintf("%s%s_%d", sc.nodes, name, call), sc.weights+keys[i], args)
			if err != nil {
				return nil, nil, nil, err
			}
			for j, o := range outs {
				made[ref{name, call, j}] = o
			}
		}
	}
	var order []string
	for _, r := range inRefs {
		if _, ok := ins[r.layer]; !ok {
			return nil, nil, nil, fmt.Errorf("input layer %s is not an InputLayer", r.layer)
		}
		order = append(order, r.layer)
	}
	var outs []kt
	for _, r := range outRefs {
		t, ok := made[r]
		if !ok {
			return nil, nil, nil, fmt.Errorf("output %s[%d][%d] is not computed", r.layer, r.node, r.index)
		}
		outs = append(outs, t)
	}
	return ins, order, outs, nil
}

// input adds the placeholder of an input layer.
func (tr *translator) input(name string, raw json.RawMessage) (kt, error) {
	var c struct {
		BatchShape      []*int64 `json:"batch_shape"`
		BatchInputShape []*int64 `json:"batch_input_shape"`
		DType           any      `json:"dtype"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return kt{}, fmt.Errorf("input layer %s: %w", name, err)
	}
	dims := c.BatchShape
	if dims == nil {
		dims = c.BatchInputShape
	}
	if dims == nil {
		return kt{}, fmt.Errorf("input layer %s has no batch_shape", name)
	}
	shape := make(tensor.Shape, len(dims))
	for i, d := range dims {
		shape[i] = -1
		if d != nil {
			if *d < 0 || *d > 1<<31 {
				return kt{}, fmt.Errorf("input layer %s: dimension %d", name, *d)
			}
			shape[i] = int(*d)
		}
	}
	dt, err := dtypeOf(c.DType)
	if err != nil {
		return kt{}, fmt.Errorf("input layer %s: %w", name, err)
	}
	p := tr.b.Placeholder(name, dt, shape)
	t := kt{name: p + ":0", shape: shape, dt: dt}
	if tr.inputs == nil {
		tr.inputs = map[string]kt{}
	}
	tr.inputs[name] = t
	return t, nil
}

// dtypeOf reads a Keras dtype: a name or a DTypePolicy object.
func dtypeOf(v any) (tensor.DType, error) {
	name := "float32"
	switch x := v.(type) {
	case nil:
	case string:
		name = x
	case map[string]any:
		if c, ok := x["config"].(map[string]any); ok {
			if n, ok := c["name"].(string); ok {
				name = n
			}
		}
	}
	switch name {
	case "float32":
		return tensor.Float32, nil
	case "int32":
		return tensor.Int32, nil
	case "int64":
		return tensor.Int64, nil
	}
	return tensor.Invalid, fmt.Errorf("dtype %s is not supported (float32, int32 and int64 inputs are)", name)
}

// uniq returns a node name of its own under prefix.
func (tr *translator) uniq(prefix, op string) string {
	tr.counter++
	return fmt.Sprintf("%s/%s_%d", strings.ReplaceAll(prefix, ":", "_"), op, tr.counter)
}

// op adds a node and returns its first output as a tensor name.
func (tr *translator) op(prefix, op string, inputs []string, attrs map[string]any) string {
	return tr.b.Op(tr.uniq(prefix, op), op, inputs, attrs) + ":0"
}

// constant adds a constant tensor and returns its name.
func (tr *translator) constant(prefix string, t *tensor.Tensor) string {
	return tr.b.Const(tr.uniq(prefix, "Const"), t) + ":0"
}
