// Package fakemodel provides servable.Model implementations for the server's
// tests: a half_plus_two look-alike (y = 0.5x + 2 with TF Serving's
// half_plus_two signatures, including classify/regress over serialized
// tf.Example) and hooks to make a model sleep, panic or count its calls.
package fakemodel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/workers"
	"github.com/tfserve/tfserve/tensor"
)

// HalfPlusTwo is y = A*x + B (0.5 and 2 by default) with the signatures of TF
// Serving's saved_model_half_plus_two_cpu, plus test-only signatures:
//
//	serving_default     x float[-1,1] -> y float[-1,1]                (predict)
//	classify_x_to_y     inputs string (tf.Example, x) -> scores [-1,1] (classify)
//	regress_x_to_y      inputs string (tf.Example, x) -> outputs       (regress)
//	regress_x_to_y2     inputs string -> outputs (y2 = A*x + 3)        (regress)
//	regress_x2_to_y3    inputs x2 float[-1,1] -> outputs               (regress; not tf.Example)
//	classify_classes    inputs string -> classes string[-1,2], scores float[-1,2]: labels "lo","hi", scores 1-s, s with s = y/10
//	multi               a float[-1], b int64[-1], s string[-1] -> sum float[-1] (a+b), echo_bytes string[-1] (s), neg int64[-1] (-b)
//	sleep               x float[-1] -> y float[-1]; sleeps Sleep first
//	panic               x float[-1] -> y; panics
//	scalar              x float[-1] -> y float[] (sum of x; rank 0 output)
type HalfPlusTwo struct {
	A, B float32
	// Sleep is how long the "sleep" signature (and every signature when
	// SleepAll) waits before answering; it honours ctx unless IgnoreCtx.
	Sleep     time.Duration
	SleepAll  bool
	IgnoreCtx bool
	// Hold, when set, replaces Sleep: the sleeping signatures wait until
	// it is closed (or, unless IgnoreCtx, until ctx ends), so that a test
	// decides when a run ends instead of racing a timer.
	Hold chan struct{}

	Runs atomic.Int64 // completed Run calls
	// Started counts Run calls begun on an open model, so that a test can
	// wait for a request to reach the model instead of sleeping.
	Started atomic.Int64
	// RunsWithSlot counts Run calls whose context carried a held worker
	// slot (package workers).
	RunsWithSlot atomic.Int64
	RunsAfter    atomic.Int64 // Run calls that started after Close
	Closed       atomic.Bool
	// Extra signatures join the built-in ones (set before the first
	// Signatures call); Run cannot run them (INTERNAL).
	Extra       map[string]*servable.Signature
	CloseCalled atomic.Int64
	mu          sync.Mutex
	sigs        map[string]*servable.Signature
}

// New returns y = 0.5x + 2.
func New() *HalfPlusTwo { return &HalfPlusTwo{A: 0.5, B: 2} }

func info(name string, dt tensor.DType, dims ...int64) servable.TensorInfo {
	ti := servable.TensorInfo{Name: name, DType: dt}
	if dims == nil {
		ti.UnknownRank = true
		return ti
	}
	for _, d := range dims {
		ti.Dims = append(ti.Dims, servable.Dim{Size: d})
	}
	return ti
}

// Signatures implements servable.Model.
func (m *HalfPlusTwo) Signatures() map[string]*servable.Signature {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sigs != nil {
		return m.sigs
	}
	ex := map[string]servable.TensorInfo{"inputs": info("tf_example:0", tensor.String)}
	m.sigs = map[string]*servable.Signature{
		"serving_default": {Name: "serving_default", MethodName: servable.MethodPredict,
			Inputs:  map[string]servable.TensorInfo{"x": info("x:0", tensor.Float32, -1, 1)},
			Outputs: map[string]servable.TensorInfo{"y": info("y:0", tensor.Float32, -1, 1)}},
		"classify_x_to_y": {Name: "classify_x_to_y", MethodName: servable.MethodClassify, Inputs: ex,
			Outputs: map[string]servable.TensorInfo{"scores": info("y:0", tensor.Float32, -1, 1)}},
		"regress_x_to_y": {Name: "regress_x_to_y", MethodName: servable.MethodRegress, Inputs: ex,
			Outputs: map[string]servable.TensorInfo{"outputs": info("y:0", tensor.Float32, -1, 1)}},
		"regress_x_to_y2": {Name: "regress_x_to_y2", MethodName: servable.MethodRegress, Inputs: ex,
			Outputs: map[string]servable.TensorInfo{"outputs": info("y2:0", tensor.Float32, -1, 1)}},
		"regress_x2_to_y3": {Name: "regress_x2_to_y3", MethodName: servable.MethodRegress,
			Inputs:  map[string]servable.TensorInfo{"inputs": info("x2:0", tensor.Float32, -1, 1)},
			Outputs: map[string]servable.TensorInfo{"outputs": info("y3:0", tensor.Float32, -1, 1)}},
		"classify_classes": {Name: "classify_classes", MethodName: servable.MethodClassify, Inputs: ex,
			Outputs: map[string]servable.TensorInfo{
				"classes": info("classes:0", tensor.String, -1, 2),
				"scores":  info("scores:0", tensor.Float32, -1, 2)}},
		"multi": {Name: "multi", MethodName: servable.MethodPredict,
			Inputs: map[string]servable.TensorInfo{
				"a": info("a:0", tensor.Float32, -1), "b": info("b:0", tensor.Int64, -1), "s": info("s:0", tensor.String, -1)},
			Outputs: map[string]servable.TensorInfo{
				"sum": info("sum:0", tensor.Float32, -1), "echo_bytes": info("echo:0", tensor.String, -1),
				"neg": info("neg:0", tensor.Int64, -1)}},
		"sleep": {Name: "sleep", MethodName: servable.MethodPredict,
			Inputs:  map[string]servable.TensorInfo{"x": info("x:0", tensor.Float32, -1)},
			Outputs: map[string]servable.TensorInfo{"y": info("y:0", tensor.Float32, -1)}},
		"panic": {Name: "panic", MethodName: servable.MethodPredict,
			Inputs:  map[string]servable.TensorInfo{"x": info("x:0", tensor.Float32, -1)},
			Outputs: map[string]servable.TensorInfo{"y": info("y:0", tensor.Float32, -1)}},
		"scalar": {Name: "scalar", MethodName: servable.MethodPredict,
			Inputs:  map[string]servable.TensorInfo{"x": info("x:0", tensor.Float32, -1)},
			Outputs: map[string]servable.TensorInfo{"y": info("y:0", tensor.Float32)}},
		"__saved_model_init_op": {Name: "__saved_model_init_op",
			Outputs: map[string]servable.TensorInfo{"__saved_model_init_op": {Name: "NoOp", DType: tensor.Invalid, UnknownRank: true}}},
	}
	m.sigs["scalar"].Outputs["y"] = servable.TensorInfo{Name: "y:0", DType: tensor.Float32, Dims: []servable.Dim{}}
	for k, sig := range m.Extra {
		m.sigs[k] = sig
	}
	return m.sigs
}

func (m *HalfPlusTwo) wait(ctx context.Context) error {
	if m.Hold != nil {
		if m.IgnoreCtx {
			<-m.Hold
			return nil
		}
		select {
		case <-m.Hold:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if m.IgnoreCtx {
		time.Sleep(m.Sleep)
		return nil
	}
	t := time.NewTimer(m.Sleep)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run implements servable.Model.
func (m *HalfPlusTwo) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	if m.Closed.Load() {
		m.RunsAfter.Add(1)
		return nil, errors.New("fakemodel: Run after Close")
	}
	m.Started.Add(1)
	defer m.Runs.Add(1)
	if workers.FromContext(ctx).Held() {
		m.RunsWithSlot.Add(1)
	}
	if sig == "sleep" || m.SleepAll {
		if err := m.wait(ctx); err != nil {
			return nil, err
		}
	}
	s, ok := m.Signatures()[sig]
	if !ok {
		return nil, status.Errorf(status.InvalidArgument, "fakemodel: no signature %q", sig)
	}
	for k := range s.Inputs {
		if in[k] == nil {
			return nil, status.Errorf(status.InvalidArgument, "fakemodel: missing input %q", k)
		}
	}
	affine := func(x []float32, b float32) []float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = m.A*v + b
		}
		return y
	}
	switch sig {
	case "panic":
		panic("fakemodel: deliberate panic")
	case "serving_default", "regress_x2_to_y3", "sleep":
		key := "x"
		if sig == "regress_x2_to_y3" {
			key = "inputs"
		}
		x := in[key]
		if x.DType != tensor.Float32 {
			return nil, status.Errorf(status.InvalidArgument, "fakemodel: %s is %v", key, x.DType)
		}
		b := m.B
		if sig == "regress_x2_to_y3" {
			b = 3
		}
		out := &tensor.Tensor{DType: tensor.Float32, Shape: x.Shape.Clone(), Data: affine(x.F32(), b)}
		name := "y"
		if sig == "regress_x2_to_y3" {
			name = "outputs"
		}
		return map[string]*tensor.Tensor{name: out}, nil
	case "scalar":
		var s float32
		for _, v := range in["x"].F32() {
			s += v
		}
		return map[string]*tensor.Tensor{"y": tensor.Scalar(s)}, nil
	case "classify_x_to_y", "regress_x_to_y", "regress_x_to_y2", "classify_classes":
		xs, err := examplesX(in["inputs"])
		if err != nil {
			return nil, err
		}
		b := m.B
		if sig == "regress_x_to_y2" {
			b = 3
		}
		y := affine(xs, b)
		n := len(xs)
		switch sig {
		case "classify_x_to_y":
			return map[string]*tensor.Tensor{"scores": tensor.FromSlice(tensor.Shape{n, 1}, y)}, nil
		case "classify_classes":
			classes := make([]string, 0, 2*n)
			scores := make([]float32, 0, 2*n)
			for _, v := range y {
				s := v / 10
				classes = append(classes, "lo", "hi")
				scores = append(scores, 1-s, s)
			}
			return map[string]*tensor.Tensor{
				"classes": tensor.FromSlice(tensor.Shape{n, 2}, classes),
				"scores":  tensor.FromSlice(tensor.Shape{n, 2}, scores)}, nil
		}
		return map[string]*tensor.Tensor{"outputs": tensor.FromSlice(tensor.Shape{n, 1}, y)}, nil
	case "multi":
		a, b, s := in["a"], in["b"], in["s"]
		if a.DType != tensor.Float32 || b.DType != tensor.Int64 || s.DType != tensor.String {
			return nil, status.Errorf(status.InvalidArgument, "fakemodel: multi dtypes %v %v %v", a.DType, b.DType, s.DType)
		}
		if a.Len() != b.Len() {
			return nil, status.Errorf(status.InvalidArgument, "fakemodel: multi lengths %d %d", a.Len(), b.Len())
		}
		sum := make([]float32, a.Len())
		neg := make([]int64, b.Len())
		for i := range sum {
			sum[i] = a.F32()[i] + float32(b.I64()[i])
			neg[i] = -b.I64()[i]
		}
		all := map[string]*tensor.Tensor{
			"sum":        tensor.FromSlice(a.Shape, sum),
			"neg":        tensor.FromSlice(b.Shape, neg),
			"echo_bytes": tensor.FromSlice(s.Shape, append([]string(nil), s.Strings()...)),
		}
		if len(outputs) == 0 {
			return all, nil
		}
		out := map[string]*tensor.Tensor{}
		for _, o := range outputs {
			if all[o] == nil {
				return nil, status.Errorf(status.InvalidArgument, "fakemodel: no output %q", o)
			}
			out[o] = all[o]
		}
		return out, nil
	}
	return nil, status.Errorf(status.Internal, "fakemodel: signature %q cannot run", sig)
}

// examplesX decodes feature "x" (one float) from each serialized tf.Example.
func examplesX(t *tensor.Tensor) ([]float32, error) {
	if t == nil || t.DType != tensor.String {
		return nil, status.New(status.InvalidArgument, "fakemodel: inputs must be DT_STRING")
	}
	var xs []float32
	for i, s := range t.Strings() {
		var ex tfpb.Example
		if err := proto.Unmarshal([]byte(s), &ex); err != nil {
			return nil, status.Errorf(status.InvalidArgument, "fakemodel: example %d: %v", i, err)
		}
		f := ex.GetFeatures().GetFeature()["x"].GetFloatList().GetValue()
		if len(f) != 1 {
			return nil, status.Errorf(status.InvalidArgument, "fakemodel: example %d: feature x has %d floats", i, len(f))
		}
		xs = append(xs, f[0])
	}
	return xs, nil
}

// Close implements servable.Model.
func (m *HalfPlusTwo) Close() error {
	m.CloseCalled.Add(1)
	m.Closed.Store(true)
	return nil
}

// String describes the model.
func (m *HalfPlusTwo) String() string { return fmt.Sprintf("y=%gx+%g", m.A, m.B) }
