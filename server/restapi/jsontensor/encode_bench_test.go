package jsontensor

import (
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// Encode benchmarks: [64,14,6] outputs (5,376 values) written in row
// format, as a model's answer to the GRU batch of BenchmarkWriteGRUBatch,
// but with values a model computes rather than the request's six-digit
// decimals: full-precision float32 (nearly all take the 9-digit path),
// float64 and int64.

func benchWrite(b *testing.B, t *tensor.Tensor) {
	out := map[string]*tensor.Tensor{"y": t}
	buf, err := AppendPredictResponse(nil, Row, out, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = AppendPredictResponse(buf[:0], Row, out, nil); err != nil {
			b.Fatal(err)
		}
	}
}

var encodeShape = tensor.Shape{64, 14, 6}

func BenchmarkWriteFloat32Full(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	v := make([]float32, encodeShape.NumElements())
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	benchWrite(b, tt(tensor.Float32, encodeShape, v))
}

func BenchmarkWriteFloat64(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	v := make([]float64, encodeShape.NumElements())
	for i := range v {
		v[i] = r.NormFloat64()
	}
	benchWrite(b, tt(tensor.Float64, encodeShape, v))
}

func BenchmarkWriteInt64(b *testing.B) {
	r := rand.New(rand.NewPCG(15, 16))
	v := make([]int64, encodeShape.NumElements())
	for i := range v {
		v[i] = r.Int64N(2_000_000) - 1_000_000
	}
	benchWrite(b, tt(tensor.Int64, encodeShape, v))
}
