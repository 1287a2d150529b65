package jsontensor

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
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
		var (
			req *PredictRequest
			err error
		)
		got := allocated(func() {
			req, err = ParsePredictRequest(body, func(string) (*servable.Signature, error) { return sig, nil })
		})
		if bound := maxFactor*uint64(len(body)) + parseSlop; got > bound {
			t.Fatalf("parsing %d bytes allocated %d, over %d", len(body), got, bound)
		}
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
		var (
			req *ClassifyRegressRequest
			err error
		)
		got := allocated(func() { req, err = ParseClassifyRegressRequest(body) })
		if bound := maxFactor*uint64(len(body)) + parseSlop; got > bound {
			t.Fatalf("parsing %d bytes allocated %d, over %d", len(body), got, bound)
		}
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

// fuzzTensor builds a valid tensor from b: rank, dims (most of them 1, so
// the rank can be high), dtype and values cycling through b.
func fuzzTensor(b []byte) *tensor.Tensor {
	at := func(i int) byte {
		if len(b) == 0 {
			return 0
		}
		return b[i%len(b)]
	}
	rank := int(at(0)) % (limits.MaxRank + 1)
	shape := make(tensor.Shape, rank)
	n := 1
	for i := range shape {
		shape[i] = 1
		if i < 4 || i == rank-1 {
			shape[i] = int(at(i+1)) % 5
		}
		if i == rank-1 {
			shape[i] = int(at(i+1)) * 64
		}
		if n*shape[i] > 1<<15 {
			shape[i] = 1
		}
		n *= shape[i]
	}
	switch at(1) % 4 {
	case 0:
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(int8(at(i))) / 3
		}
		return tensor.FromSlice(shape, v)
	case 1:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(at(i)) << (at(i+1) % 56)
		}
		return tensor.FromSlice(shape, v)
	case 2:
		v := make([]string, n)
		for i := range v {
			v[i] = string(b[:int(at(i))%(len(b)+1)])
		}
		return tensor.FromSlice(shape, v)
	}
	v := make([]bool, n)
	for i := range v {
		v[i] = at(i)&1 == 1
	}
	return tensor.FromSlice(shape, v)
}

// FuzzWriteResponse writes fuzzed tensors (ranks up to 254) under a fuzzed
// --response_max_bytes: the output passes the limit by at most one event
// (an element or a closing bracket with its indent), the writer allocates
// within a constant factor of what it may write (the buffer doubles: at
// most about 4x, checked as 6x), and output past the limit
// is an error naming the flag.
func FuzzWriteResponse(f *testing.F) {
	f.Add([]byte{3, 2, 2, 2, 1}, uint32(100), false, "x")
	f.Add([]byte{250, 1, 1, 1, 1, 1, 64}, uint32(1<<16), false, "x_bytes")
	f.Add([]byte{254, 2, 0, 3, 9, 9}, uint32(1<<20), true, "y")
	f.Add([]byte("\x00\x1f\"\\abc"), uint32(50), true, "s_bytes")
	f.Fuzz(func(t *testing.T, b []byte, limit uint32, row bool, name string) {
		x := fuzzTensor(b)
		format := Columnar
		if row {
			format = Row
		}
		maxBytes := int64(limit % (1 << 22))
		var (
			out []byte
			err error
		)
		got := allocated(func() {
			out, err = AppendPredictResponseLimited(nil, maxBytes, format, map[string]*tensor.Tensor{name: x}, nil)
		})
		// One event: indent, a key or value (strings escape to 6 bytes per
		// byte, b64 objects add their own lines), separators.
		event := int64(8*len(x.Shape)+64+6*len(b)+len(name)) * 2
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("error %v with %d bytes of output", err, len(out))
			}
			if maxBytes > 0 && strings.Contains(err.Error(), "JSON response is larger") &&
				!strings.Contains(err.Error(), "(--response_max_bytes)") {
				t.Fatalf("error does not name the flag: %v", err)
			}
		} else if maxBytes > 0 && int64(len(out)) > maxBytes+event {
			t.Fatalf("%d bytes written under a limit of %d (event bound %d)", len(out), maxBytes, event)
		}
		if maxBytes > 0 {
			if bound := uint64(6*(maxBytes+event)) + 64<<10; got > bound {
				t.Fatalf("writing allocated %d bytes under a limit of %d (bound %d)", got, maxBytes, bound)
			}
		}
	})
}
