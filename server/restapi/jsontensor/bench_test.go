package jsontensor

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

// gruBody is a row-format request for a [64,14,6] float input, like the
// christopher_stock GRU fixture's serving_default.
func gruBody() []byte {
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString(`{"instances": [`)
	for i := range 64 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("[")
		for j := range 14 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("[")
			for k := range 6 {
				if k > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%.6f", r.Float64()*2-1)
			}
			b.WriteString("]")
		}
		b.WriteString("]")
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func benchSig(name string) func(string) (*servable.Signature, error) {
	s := &servable.Signature{Inputs: map[string]servable.TensorInfo{name: {DType: tensor.Float32}}}
	return func(string) (*servable.Signature, error) { return s, nil }
}

func BenchmarkParseSmall(b *testing.B) {
	body := []byte(`{"instances": [1.0, 2.0, 5.0]}`)
	sig := benchSig("x")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParsePredictRequest(body, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseGRUBatch(b *testing.B) {
	body := gruBody()
	sig := benchSig("input_2")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParsePredictRequest(body, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteSmall(b *testing.B) {
	out := map[string]*tensor.Tensor{"y": tt(tensor.Float32, tensor.Shape{3, 1}, []float32{2.5, 3, 4.5})}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendPredictResponse(buf[:0], Row, out, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteGRUBatch(b *testing.B) {
	req, err := ParsePredictRequest(gruBody(), benchSig("x"))
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]*tensor.Tensor{"y": req.Inputs["x"]}
	buf := make([]byte, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = AppendPredictResponse(buf[:0], Row, out, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkPeerStdlibGRUBatch is the peer: encoding/json decoding the same
// body into interface{} values (no tensor built, no TF Serving rules).
func BenchmarkPeerStdlibGRUBatch(b *testing.B) {
	body := gruBody()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeerStrconvGRUBatch is the peer for writing: strconv's shortest
// float formatting of the same 5376 values, without any JSON structure.
func BenchmarkPeerStrconvGRUBatch(b *testing.B) {
	req, err := ParsePredictRequest(gruBody(), benchSig("x"))
	if err != nil {
		b.Fatal(err)
	}
	vals := req.Inputs["x"].F32()
	buf := make([]byte, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, v := range vals {
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
			buf = append(buf, ',')
		}
	}
}
