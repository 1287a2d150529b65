package jsontensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// runSeps are the separators of TestFloatRun's runs: the two floatRun
// takes without a call, and the ones it leaves to the general path.
var runSeps = []string{",", ", ", " ,", ",\n", ",  ", "\t,\t"}

// TestFloatRun parses runs of random numbers with floatRun, as float32 and
// as float64, and compares every value with the DOM parser's GetDouble of
// the same text (converted to the element type), and the end and count
// with the run's.
func TestFloatRun(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for range 20000 {
		n := 1 + r.IntN(40)
		texts := make([]string, n)
		var sb strings.Builder
		for j := range texts {
			s := randNumber(r)
			if r.IntN(3) == 0 {
				s = "-" + s
			}
			if r.IntN(2) == 0 {
				// The bodies' shapes, %.4f and %.6f.
				s = fmt.Sprintf("%.*f", 4+2*r.IntN(2), (r.Float64()*2-1)*math.Pow(10, float64(r.IntN(4))))
			}
			texts[j] = s
			if j > 0 {
				sb.WriteString(runSeps[r.IntN(len(runSeps))])
			}
			sb.WriteString(s)
		}
		sb.WriteString(strings.Repeat("]", 1+r.IntN(20)))
		b := []byte(sb.String())
		// Every number must parse as the DOM parses it (randNumber gives
		// only valid numbers, some outside float32's range or rapidjson's).
		valid := true
		want := make([]float64, n)
		for j, s := range texts {
			v, e, ok := scanNumberSlow([]byte(s+"]"), 0)
			if !ok || e != len(s) {
				valid = false
				break
			}
			want[j] = v.double()
		}
		if !valid {
			continue
		}
		end := strings.IndexByte(sb.String(), ']')
		f32 := make([]float32, n+1)
		p, i, ok := floatRun(b, 0, f32, 1)
		if !ok || p != end || i != n+1 {
			t.Fatalf("%q: float32 run ok %v end %d i %d, want end %d i %d", b, ok, p, i, end, n+1)
		}
		f64 := make([]float64, n)
		p, i, ok = floatRun(b, 0, f64, 0)
		if !ok || p != end || i != n {
			t.Fatalf("%q: float64 run ok %v end %d i %d, want end %d i %d", b, ok, p, i, end, n)
		}
		for j := range n {
			if math.Float32bits(f32[j+1]) != math.Float32bits(float32(want[j])) ||
				math.Float64bits(f64[j]) != math.Float64bits(want[j]) {
				t.Fatalf("%q: number %d (%s): float32 %v float64 %v, DOM %v", b, j, texts[j], f32[j+1], f64[j], want[j])
			}
		}
		// Too short a destination fails.
		if _, _, ok := floatRun(b, 0, f32[:n], 1); ok {
			t.Fatalf("%q: run of %d numbers into %d elements", b, n, n-1)
		}
	}
}

// TestFloatRunBodies mutates one byte of float bodies in many ways: the
// fast decoder, where it accepts, gives the DOM decoder's tensors
// (checkFast).
func TestFloatRunBodies(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	// A few rows of the Spark body's shape, the GRU body, one row.
	var spark strings.Builder
	spark.WriteString(`{"instances":[`)
	for i := range 8 {
		if i > 0 {
			spark.WriteString(",")
		}
		spark.WriteString("[")
		for j := range 32 {
			if j > 0 {
				spark.WriteString(",")
			}
			fmt.Fprintf(&spark, "%.4f", r.Float64()*100-50)
		}
		spark.WriteString("]")
	}
	spark.WriteString("]}")
	for _, s := range []string{spark.String(), string(gruBody()), string(oneRowBody())} {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
			sig := sigInputs("x", dt)
			if !checkFast(t, []byte(s), sig, limits.Request{}) {
				t.Fatalf("fast decoder refused %q", s)
			}
			for range 300 {
				b := []byte(s)
				i := r.IntN(len(b))
				b[i] = "0123456789-.,] \neE+x["[r.IntN(21)]
				checkFast(t, b, sig, limits.Request{})
			}
		}
	}
}
