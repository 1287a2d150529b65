package jsontensor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// Bodies of bench/jsontensor (also written to files for its rapidjson peer
// by TestWriteBenchBodies).

// sparkBody is a Spark-style micro-batch of about 1 MB: 4,096 rows of 32
// features, row format, compact as Spark's and pandas' JSON writers print
// it.
func sparkBody() []byte {
	r := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	b.WriteString(`{"instances":[`)
	for i := range 4096 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("[")
		for j := range 32 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%.4f", r.Float64()*100-50)
		}
		b.WriteString("]")
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// oneRowBody is a one-row request of 13 features, the shape of a web
// client's single prediction.
func oneRowBody() []byte {
	return []byte(`{"signature_name": "serving_default", "instances": [[0.2451, -1.3, 17.25, 0.0031, 4.5, -0.75, 120.0, 3.25, 0.5, -2.125, 9.875, 0.0625, 1.0]]}`)
}

// stringsBody is a string-heavy request: 256 sentences of about 100 bytes.
func stringsBody() []byte {
	r := rand.New(rand.NewPCG(7, 8))
	words := strings.Fields("the quick brown fox jumps over a lazy dog while serving models answer requests with tensors of floats and strings")
	var b strings.Builder
	b.WriteString(`{"instances": [`)
	for i := range 256 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"`)
		for j := range 16 {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		b.WriteString(`"`)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

var benchBodies = []struct {
	name string
	body func() []byte
	dt   tensor.DType
}{
	{"gru", gruBody, tensor.Float32},
	{"spark", sparkBody, tensor.Float32},
	{"onerow", oneRowBody, tensor.Float32},
	{"strings", stringsBody, tensor.String},
}

// TestWriteBenchBodies writes the benchmark bodies to
// $JSONTENSOR_BENCH_BODIES (bench/jsontensor/run.sh sets it), one file per
// body; it does nothing otherwise.
func TestWriteBenchBodies(t *testing.T) {
	dir := os.Getenv("JSONTENSOR_BENCH_BODIES")
	if dir == "" {
		t.Skip("JSONTENSOR_BENCH_BODIES not set")
	}
	for _, bb := range benchBodies {
		if err := os.WriteFile(filepath.Join(dir, bb.name+".json"), bb.body(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bb := range benchBodies {
		body := bb.body()
		s := &servable.Signature{Inputs: map[string]servable.TensorInfo{"x": {DType: bb.dt}}}
		sig := func(string) (*servable.Signature, error) { return s, nil }
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParsePredictRequest(body, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bb.name+"/dom", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := parsePredictDOM(body, limits.NewBudget(limits.Request{}), sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
