package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

// runOp builds op through Lookup and runs it. Internal errors (recovered
// panics) fail the test.
func runOp(t testing.TB, op string, attrs Attrs, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	t.Helper()
	b, ok := Lookup(op)
	if !ok {
		t.Fatalf("no kernel for %s", op)
	}
	f, err := b(attrs, len(in))
	if err != nil {
		if strings.Contains(err.Error(), "internal error") {
			t.Fatalf("%s build panicked: %v", op, err)
		}
		return nil, err
	}
	out, err := f(&Context{}, in)
	if err != nil && strings.Contains(err.Error(), "internal error") {
		t.Fatalf("%s panicked: %v", op, err)
	}
	if err == nil {
		for i, o := range out {
			if o == nil {
				continue
			}
			if cerr := checkData(op, []*tensor.Tensor{o}); cerr != nil {
				t.Fatalf("%s output %d malformed: %v", op, i, cerr)
			}
		}
	}
	return out, err
}

// mustRun runs op and fails on error.
func mustRun(t testing.TB, op string, attrs Attrs, in ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	out, err := runOp(t, op, attrs, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// mustFail runs op and expects an error containing want.
func mustFail(t testing.TB, op string, attrs Attrs, want string, in ...*tensor.Tensor) {
	t.Helper()
	_, err := runOp(t, op, attrs, in...)
	if err == nil {
		t.Fatalf("%s: expected error containing %q, got none", op, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q does not contain %q", op, err, want)
	}
}

func sh(d ...int) tensor.Shape { return append(tensor.Shape{}, d...) }

func f32(s tensor.Shape, v ...float32) *tensor.Tensor { return tensor.FromSlice(s, v) }
func f64(s tensor.Shape, v ...float64) *tensor.Tensor { return tensor.FromSlice(s, v) }
func i32(s tensor.Shape, v ...int32) *tensor.Tensor   { return tensor.FromSlice(s, v) }
func i64(s tensor.Shape, v ...int64) *tensor.Tensor   { return tensor.FromSlice(s, v) }
func strs(s tensor.Shape, v ...string) *tensor.Tensor { return tensor.FromSlice(s, v) }
func bools(s tensor.Shape, v ...bool) *tensor.Tensor  { return tensor.FromSlice(s, v) }
func sc32(v int32) *tensor.Tensor                     { return tensor.Scalar(v) }
func vec32(v ...int32) *tensor.Tensor                 { return i32(sh(len(v)), v...) }

// iota32 returns a float32 tensor 0, 1, 2, ... of shape s.
func iota32(s tensor.Shape) *tensor.Tensor {
	v := make([]float32, s.NumElements())
	for i := range v {
		v[i] = float32(i)
	}
	return f32(s, v...)
}

// randF32 returns a random float32 tensor with values in [-2, 2).
func randF32(r *rand.Rand, s tensor.Shape) *tensor.Tensor {
	v := make([]float32, s.NumElements())
	for i := range v {
		v[i] = float32(r.Float64()*4 - 2)
	}
	return f32(s, v...)
}

// wantTensor compares dtype, shape and exact data.
func wantTensor(t testing.TB, got, want *tensor.Tensor) {
	t.Helper()
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got.Len() == 0 && want.Len() == 0 {
		return
	}
	if !reflect.DeepEqual(got.Data, want.Data) {
		t.Fatalf("got data %v, want %v", got.Data, want.Data)
	}
}

// wantClose compares float tensors within a relative/absolute tolerance.
func wantClose(t testing.TB, got, want *tensor.Tensor, tol float64) {
	t.Helper()
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
		t.Fatalf("got %v, want %v", got, want)
	}
	g, w := asF64(got), asF64(want)
	for i := range g {
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
			continue
		}
		if math.IsInf(w[i], 0) && g[i] == w[i] {
			continue
		}
		if math.Abs(g[i]-w[i]) > tol*(1+math.Abs(w[i])) {
			t.Fatalf("element %d: got %v, want %v (all got %v)", i, g[i], w[i], g)
		}
	}
}

func asF64(t *tensor.Tensor) []float64 {
	out := make([]float64, t.Len())
	for i := range out {
		switch v := elemAt(t.Data, i).(type) {
		case float32:
			out[i] = float64(v)
		case float64:
			out[i] = v
		case int32:
			out[i] = float64(v)
		case int64:
			out[i] = float64(v)
		case uint8:
			out[i] = float64(v)
		case int8:
			out[i] = float64(v)
		case int16:
			out[i] = float64(v)
		case uint16:
			out[i] = float64(v)
		case uint32:
			out[i] = float64(v)
		case uint64:
			out[i] = float64(v)
		case bool:
			if v {
				out[i] = 1
			}
		default:
			panic(fmt.Sprintf("asF64: %T", v))
		}
	}
	return out
}

func toF32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

// unravel returns the multi-index of flat index i in shape s.
func unravel(i int, s tensor.Shape) []int {
	idx := make([]int, len(s))
	for k := len(s) - 1; k >= 0; k-- {
		if s[k] > 0 {
			idx[k] = i % s[k]
			i /= s[k]
		}
	}
	return idx
}

// ravel returns the flat index of a multi-index in shape s.
func ravel(idx []int, s tensor.Shape) int {
	f := 0
	for k := range s {
		f = f*s[k] + idx[k]
	}
	return f
}

// randShape returns a random shape of rank r with dims in [1, maxDim].
func randShape(r *rand.Rand, rank, maxDim int) tensor.Shape {
	s := make(tensor.Shape, rank)
	for i := range s {
		s[i] = 1 + r.IntN(maxDim)
	}
	return s
}
