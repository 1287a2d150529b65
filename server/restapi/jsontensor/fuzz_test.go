package jsontensor

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

// addRefSeeds adds the parser inputs of testdata/ref/cases.in as seeds.
func addRefSeeds(f *testing.F, add func(b []byte)) {
	data, err := os.ReadFile("testdata/ref/cases.in")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if arg, ok := strings.CutPrefix(l, "P "); ok {
			if b, err := base64.StdEncoding.DecodeString(arg); err == nil {
				add(b)
			}
		}
	}
}

var fuzzSigs = []*servable.Signature{
	{Inputs: map[string]servable.TensorInfo{"x": {DType: tensor.Float32}}},
	{Inputs: map[string]servable.TensorInfo{"x": {DType: tensor.String}}},
	{Inputs: map[string]servable.TensorInfo{"a": {DType: tensor.Int32}, "b": {DType: tensor.String}, "c": {DType: tensor.Float64}}},
	{Inputs: map[string]servable.TensorInfo{"x": {DType: tensor.Int64}, "y": {DType: tensor.Bool}}},
	{Inputs: map[string]servable.TensorInfo{"x": {DType: tensor.Uint8}}},
	{Inputs: map[string]servable.TensorInfo{"x": {DType: tensor.Half}}},
}

func FuzzParsePredictRequest(f *testing.F) {
	for _, s := range []string{
		`{"instances": [1.0, 2.0, 5.0]}`,
		`{"instances": [[1,2],[3,4]]}`,
		`{"inputs": {"a": [1], "b": {"b64": "aGk="}, "c": [[1e300]]}}`,
		`{"instances": [{"a": 1, "b": "x", "c": NaN}, {"a": 2, "b": "y", "c": -Infinity}]}`,
		`{"signature_name": "s", "inputs": [[[]]]}`,
		`{"instances": [{"x": [1], "y": [true]}]}`,
	} {
		for k := range fuzzSigs {
			f.Add(byte(k), []byte(s))
		}
	}
	addRefSeeds(f, func(b []byte) { f.Add(byte(0), b) })
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		sig := fuzzSigs[int(which)%len(fuzzSigs)]
		req, err := ParsePredictRequest(body, func(string) (*servable.Signature, error) { return sig, nil })
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for name, tn := range req.Inputs {
			if _, ok := sig.Inputs[name]; !ok {
				t.Fatalf("unexpected input %q", name)
			}
			if err := tn.Validate(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		// Writing the tensors back must not panic either.
		if _, err := AppendPredictResponse(nil, req.Format, req.Inputs, nil); err != nil && len(req.Inputs) > 0 && req.Format == Columnar {
			if tn := req.Inputs["x"]; tn == nil || tn.DType != tensor.Half {
				t.Fatalf("columnar response failed: %v", err)
			}
		}
	})
}

func FuzzParseClassifyRequest(f *testing.F) {
	for _, s := range []string{
		`{"examples": [{"a": 1, "b": [1.5, 2], "c": ["x", {"b64": "aGk="}]}]}`,
		`{"context": {"k": [true, false]}, "examples": [{}, {"k": 1}]}`,
		`{"signature_name": "regress", "examples": [{"x": [NaN, Infinity]}]}`,
		`{"examples": [{"x": 18446744073709551615}]}`,
	} {
		f.Add([]byte(s))
	}
	addRefSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseClassifyRegressRequest(body)
		if err != nil {
			return
		}
		if len(req.Examples) == 0 {
			t.Fatal("success without examples")
		}
		for _, e := range req.SerializedInputs() {
			var ex tfpb.Example
			if err := proto.Unmarshal(e, &ex); err != nil {
				t.Fatalf("example does not parse: %v", err)
			}
		}
	})
}
