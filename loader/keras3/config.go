package keras3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// modelConfig is config.json: the model's class and its layers.
type modelConfig struct {
	ClassName string `json:"class_name"`
	Config    struct {
		Name        string        `json:"name"`
		Layers      []layerConfig `json:"layers"`
		InputLayers any           `json:"input_layers"`
		OutputLayer any           `json:"output_layers"`
	} `json:"config"`
}

// layerConfig is one entry of a model's layers.
type layerConfig struct {
	ClassName    string          `json:"class_name"`
	Name         string          `json:"name"` // Functional only; Sequential keeps it in Config
	Config       json.RawMessage `json:"config"`
	InboundNodes []inboundNode   `json:"inbound_nodes"`
}

// inboundNode is one call of a layer in a Functional model: its positional
// arguments, where each Keras tensor names the layer (and call and output)
// it comes from, possibly inside a list.
type inboundNode struct {
	Args []json.RawMessage `json:"args"`
}

// kerasTensorRef is a "__keras_tensor__" argument.
type kerasTensorRef struct {
	ClassName string `json:"class_name"`
	Config    struct {
		KerasHistory []json.RawMessage `json:"keras_history"`
	} `json:"config"`
}

// ref names one output of one call of a layer.
type ref struct {
	layer       string
	node, index int
}

// maxConfigLayers bounds the layers a config may declare.
const maxConfigLayers = 10000

func parseConfig(data []byte) (*modelConfig, error) {
	var mc modelConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&mc); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if len(mc.Config.Layers) > maxConfigLayers {
		return nil, fmt.Errorf("config.json: %d layers (limit %d)", len(mc.Config.Layers), maxConfigLayers)
	}
	return &mc, nil
}

// layerName is a layer's name, wherever its config keeps it.
func (l *layerConfig) layerName() (string, error) {
	if l.Name != "" {
		return l.Name, nil
	}
	var c struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(l.Config, &c); err != nil || c.Name == "" {
		return "", fmt.Errorf("layer of class %s has no name", l.ClassName)
	}
	return c.Name, nil
}

// parseRef reads a keras_history triple or an input/output layer triple
// ["name", node, index].
func parseRef(parts []json.RawMessage) (ref, error) {
	if len(parts) != 3 {
		return ref{}, fmt.Errorf("tensor reference has %d parts, want 3", len(parts))
	}
	var r ref
	if err := json.Unmarshal(parts[0], &r.layer); err != nil {
		return ref{}, fmt.Errorf("tensor reference: %w", err)
	}
	if err := json.Unmarshal(parts[1], &r.node); err != nil {
		return ref{}, fmt.Errorf("tensor reference: %w", err)
	}
	if err := json.Unmarshal(parts[2], &r.index); err != nil {
		return ref{}, fmt.Errorf("tensor reference: %w", err)
	}
	return r, nil
}

// refList reads input_layers / output_layers: one triple or a list of them.
func refList(v any) ([]ref, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var one []json.RawMessage
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("input/output layers: %w", err)
	}
	if len(one) == 3 && len(bytes.TrimSpace(one[0])) > 0 && one[0][0] == '"' {
		r, err := parseRef(one)
		if err != nil {
			return nil, err
		}
		return []ref{r}, nil
	}
	out := make([]ref, 0, len(one))
	for _, item := range one {
		var parts []json.RawMessage
		if err := json.Unmarshal(item, &parts); err != nil {
			return nil, fmt.Errorf("input/output layers: %w", err)
		}
		r, err := parseRef(parts)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// callArgs reads the Keras tensors one call of a layer takes: its first
// positional argument, a tensor or a list of tensors.
func callArgs(n inboundNode) ([]ref, error) {
	if len(n.Args) == 0 {
		return nil, fmt.Errorf("layer call without arguments")
	}
	first := bytes.TrimSpace(n.Args[0])
	var items []json.RawMessage
	if len(first) > 0 && first[0] == '[' {
		if err := json.Unmarshal(first, &items); err != nil {
			return nil, err
		}
	} else {
		items = []json.RawMessage{first}
	}
	out := make([]ref, 0, len(items))
	for _, it := range items {
		var kt kerasTensorRef
		if err := json.Unmarshal(it, &kt); err != nil {
			return nil, err
		}
		if kt.ClassName != "__keras_tensor__" {
			return nil, fmt.Errorf("layer call argument of class %q (only Keras tensors are supported)", kt.ClassName)
		}
		r, err := parseRef(kt.Config.KerasHistory)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

var (
	snake1 = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	snake2 = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

// snakeCase is Keras's name for a class in the weights file ("GRU" → "gru",
// "LayerNormalization" → "layer_normalization").
func snakeCase(class string) string {
	s := snake1.ReplaceAllString(class, "${1}_${2}")
	return strings.ToLower(snake2.ReplaceAllString(s, "${1}_${2}"))
}

// weightKeys assigns each layer its group in model.weights.h5: the snake
// case of its class, numbered per class in the order of the layers
// ("gru", "gru_1", "dense", ...), as Keras 3's saving does.
func weightKeys(layers []layerConfig) []string {
	seen := map[string]int{}
	keys := make([]string, len(layers))
	for i, l := range layers {
		base := snakeCase(l.ClassName)
		n := seen[base]
		seen[base] = n + 1
		keys[i] = base
		if n > 0 {
			keys[i] = fmt.Sprintf("%s_%d", base, n)
		}
	}
	return keys
}
