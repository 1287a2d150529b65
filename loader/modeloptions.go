package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ModelOptionsFile is where a model version may carry tfserve-specific
// serving options. TF Serving's model config has no field for them, and
// assets.extra/ is TF Serving's place for serving-side files (warmup
// requests), so the options travel with the model version.
const ModelOptionsFile = "assets.extra/tfserve.json"

// ModelOptions is the content of assets.extra/tfserve.json, e.g.
//
//	{"ann": {"exhaustive": false, "leaves_to_search": 20}}
type ModelOptions struct {
	// Engine picks the execution engine for this model ("default" or
	// "gorgonia"), overriding --engine.
	Engine string `json:"engine"`
	ANN    struct {
		// Exhaustive makes ScaNN ops search every datapoint exactly.
		Exhaustive bool `json:"exhaustive"`
		// LeavesToSearch overrides ScaNN's leaves per query.
		LeavesToSearch int `json:"leaves_to_search"`
		// BruteForceToANN switches TFRS BruteForce TopK(MatMul) retrieval
		// to the quantized index (see package annrewrite).
		BruteForceToANN bool `json:"bruteforce_to_ann"`
	} `json:"ann"`
}

// ReadModelOptions reads dir/assets.extra/tfserve.json; nil if absent.
func ReadModelOptions(dir string) (*ModelOptions, error) {
	p := filepath.Join(dir, ModelOptionsFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	mo := &ModelOptions{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(mo); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	switch mo.Engine {
	case "", "default", "gorgonia":
	default:
		return nil, fmt.Errorf("read %s: engine %q: want default or gorgonia", p, mo.Engine)
	}
	if mo.ANN.LeavesToSearch < 0 {
		return nil, fmt.Errorf("read %s: ann.leaves_to_search must be >= 0", p)
	}
	return mo, nil
}
