package keras3

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

type fuzzWeights struct{}

// Tensor answers every path with a small tensor: the translator must
// refuse shapes that do not fit, never panic.
func (fuzzWeights) Tensor(string) (*tensor.Tensor, error) {
	return tensor.New(tensor.Float32, tensor.Shape{2, 3}), nil
}

// FuzzTranslate feeds arbitrary config.json bytes to the translator.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"InputLayer","config":{"name":"in","batch_shape":[null,2]}},{"class_name":"Dense","config":{"name":"d","units":3}}]}}`,
		`{"class_name":"Functional","config":{"layers":[{"class_name":"InputLayer","name":"a","config":{"name":"a","batch_shape":[null,2]},"inbound_nodes":[]},{"class_name":"Add","name":"s","config":{},"inbound_nodes":[{"args":[[{"class_name":"__keras_tensor__","config":{"keras_history":["a",0,0]}},{"class_name":"__keras_tensor__","config":{"keras_history":["a",0,0]}}]]}]}],"input_layers":[["a",0,0]],"output_layers":[["s",0,0]]}}`,
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"InputLayer","config":{"name":"in","batch_shape":[null,4,2]}},{"class_name":"GRU","config":{"name":"g","units":1,"return_sequences":true}}]}}`,
		`{"class_name":"Sequential","config":{"layers":[{"class_name":"InputLayer","config":{"name":"in","batch_shape":[null,4]}},{"class_name":"Embedding","config":{"name":"e","input_dim":2,"output_dim":3,"mask_zero":true}},{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Masking","config":{"name":"m"}},{"class_name":"Bidirectional","config":{"name":"b","layer":{"class_name":"GRU","config":{"name":"g","units":1,"return_sequences":true}}}}]}}]}}`,
		`{}`, `[`, `{"class_name":"Sequential","config":{"layers":[{"class_name":"InputLayer","config":{"name":"in","batch_shape":[null,-5]}}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, cfg []byte) {
		mg, err := Translate(cfg, fuzzWeights{})
		if err == nil && mg.SignatureDef["serving_default"] == nil {
			t.Fatal("translated without a serving_default signature")
		}
	})
}

// FuzzArchive reads arbitrary bytes as a .keras zip within small limits.
func FuzzArchive(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"config.json", "metadata.json", "model.weights.h5"} {
		w, _ := zw.Create(name)
		w.Write([]byte(`{"keras_version":"3.6.0"}`))
	}
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	lim := Limits{MaxConfigBytes: 1 << 10, MaxWeightsBytes: 1 << 12}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := readArchive(bytes.NewReader(data), int64(len(data)), lim)
		if err != nil {
			return
		}
		if int64(len(a.config)) > lim.MaxConfigBytes || int64(len(a.weights)) > lim.MaxWeightsBytes {
			t.Fatalf("read %d/%d bytes past the limits", len(a.config), len(a.weights))
		}
	})
}
