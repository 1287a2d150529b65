package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Frozen says how to serve a version directory that holds a frozen
	// GraphDef instead of a SavedModel (see FrozenMetaGraph).
	Frozen *FrozenGraphOptions `json:"frozen,omitempty"`
	// Precision of the weights of fused GRU/LSTM layers and of Dense
	// layers (MatMul by a constant): "fp32" (the default: exact float32)
	// or "bf16" (bfloat16 weights and activations in the products, float32
	// sums; AVX-512 BF16 where the CPU has it, else portable Go computing
	// the same; see package kernels/bf16).
	Precision string `json:"precision"`
}

// Precisions ModelOptions.Precision and Options.Precision accept.
const (
	PrecisionFP32 = "fp32"
	PrecisionBF16 = "bf16"
)

// checkPrecision accepts "", "fp32" and "bf16".
func checkPrecision(p string) error {
	switch p {
	case "", PrecisionFP32, PrecisionBF16:
		return nil
	}
	return fmt.Errorf("precision %q: want %s or %s", p, PrecisionFP32, PrecisionBF16)
}

// halfPrecision reports whether a load uses bf16 weights: Options.Precision
// when set, else the model's tfserve.json.
func halfPrecision(opts Options, mo *ModelOptions) bool {
	if opts.Precision != "" {
		return opts.Precision == PrecisionBF16
	}
	return mo != nil && mo.Precision == PrecisionBF16
}

// maxModelOptionsBytes bounds assets.extra/tfserve.json: a few options, so
// anything larger is not one.
const maxModelOptionsBytes = 64 << 10

// ReadModelOptions reads dir/assets.extra/tfserve.json; nil if absent. The
// loader reads it once per load and the loaded Model carries it
// (Model.ModelOptions).
func ReadModelOptions(dir string) (*ModelOptions, error) {
	p := filepath.Join(dir, ModelOptionsFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxModelOptionsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(data) > maxModelOptionsBytes {
		return nil, fmt.Errorf("read %s: larger than %d bytes", p, maxModelOptionsBytes)
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
	if err := checkPrecision(mo.Precision); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if mo.ANN.LeavesToSearch < 0 {
		return nil, fmt.Errorf("read %s: ann.leaves_to_search must be >= 0", p)
	}
	return mo, nil
}
