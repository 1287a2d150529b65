package grpcapi

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

func spec(name string) *servingpb.ModelSpec { return &servingpb.ModelSpec{Name: name} }

func specV(name string, v int64) *servingpb.ModelSpec {
	return &servingpb.ModelSpec{Name: name, VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(v)}}
}

func specL(name, label string) *servingpb.ModelSpec {
	return &servingpb.ModelSpec{Name: name, VersionChoice: &servingpb.ModelSpec_VersionLabel{VersionLabel: label}}
}

func withSig(ms *servingpb.ModelSpec, sig string) *servingpb.ModelSpec {
	ms.SignatureName = sig
	return ms
}

func shapeProto(dims ...int64) *tfpb.TensorShapeProto {
	p := &tfpb.TensorShapeProto{}
	for _, d := range dims {
		p.Dim = append(p.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
	}
	return p
}

func floatsProto(vals []float32, dims ...int64) *tfpb.TensorProto {
	return &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(dims...), FloatVal: vals}
}

func decodeOut(t *testing.T, p *tfpb.TensorProto) *tensor.Tensor {
	t.Helper()
	if p == nil {
		t.Fatal("missing output")
	}
	out, err := tensorproto.Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPredictVersionsAndForms checks the y = A x + 2 arithmetic of each
// version, label and TensorProto form, and the response's model_spec.
func TestPredictVersionsAndForms(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, nil)
	xs := []float32{1, -2.5, 7}
	content, err := tensorproto.Encode(tensor.FromSlice(tensor.Shape{3, 1}, xs))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		ms      *servingpb.ModelSpec
		in      *tfpb.TensorProto
		a       float32
		version int64
		x       []float32 // the values the server should see
	}{
		{"latest float_val", spec("m"), floatsProto(xs, 3, 1), 3, 2, xs},
		{"version 1 tensor_content", specV("m", 1), content, 0.5, 1, xs},
		{"label stable", specL("m", "stable"), floatsProto(xs, 3, 1), 0.5, 1, xs},
		{"scalar broadcast", withSig(spec("m"), "serving_default"), floatsProto([]float32{4}, 3, 1), 3, 2, []float32{4, 4, 4}},
		{"padding with last value", spec("m"), floatsProto([]float32{1, 5}, 3, 1), 3, 2, []float32{1, 5, 5}},
		{"empty means zeros", spec("m"), floatsProto(nil, 2, 1), 3, 2, []float32{0, 0}},
	}
	for _, c := range cases {
		resp, err := h.pred.Predict(context.Background(), &servingpb.PredictRequest{
			ModelSpec: c.ms, Inputs: map[string]*tfpb.TensorProto{"x": c.in}})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		y := decodeOut(t, resp.Outputs["y"])
		if !slices.Equal(y.Shape, tensor.Shape{len(c.x), 1}) {
			t.Errorf("%s: shape %v", c.name, y.Shape)
		}
		for i, x := range c.x {
			if want := c.a*x + 2; y.F32()[i] != want {
				t.Errorf("%s: y[%d] = %v, want %v", c.name, i, y.F32()[i], want)
			}
		}
		if len(resp.Outputs["y"].FloatVal) != len(c.x) {
			t.Errorf("%s: outputs should use float_val (AsProtoField), got %v", c.name, resp.Outputs["y"])
		}
		ms := resp.GetModelSpec()
		if ms.GetName() != "m" || ms.GetVersion().GetValue() != c.version || ms.GetSignatureName() != "serving_default" {
			t.Errorf("%s: model_spec %v", c.name, ms)
		}
	}
}

// TestPredictTypesAndFilter runs the "multi" signature (sum = a+b, neg = -b,
// echo_bytes = s) with three dtypes in three TensorProto forms.
func TestPredictTypesAndFilter(t *testing.T) {
	h, _, _ := fakeHarness(t, func(o *Options) { o.TensorContent = true }, nil)
	a := []float32{1.5, -3, 1e6}
	aProto, _ := tensorproto.Encode(tensor.FromSlice(tensor.Shape{3}, a))
	inputs := map[string]*tfpb.TensorProto{
		"a": aProto,
		"b": {Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeProto(3), Int64Val: []int64{-7}},
		"s": {Dtype: tfpb.DataType_DT_STRING, TensorShape: shapeProto(3), StringVal: [][]byte{[]byte("x"), {0, 0xff}, []byte("")}},
	}
	resp, err := h.pred.Predict(context.Background(), &servingpb.PredictRequest{
		ModelSpec: withSig(spec("m"), "multi"), Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 3 {
		t.Fatalf("outputs %v", slices.Sorted(mapsKeys(resp.Outputs)))
	}
	if len(resp.Outputs["sum"].TensorContent) != 12 {
		t.Errorf("--enable_serialization_as_tensor_content: sum should use tensor_content: %v", resp.Outputs["sum"])
	}
	sum := decodeOut(t, resp.Outputs["sum"]).F32()
	neg := decodeOut(t, resp.Outputs["neg"]).I64()
	echo := decodeOut(t, resp.Outputs["echo_bytes"]).Strings()
	for i := range a {
		if sum[i] != a[i]+float32(-7) || neg[i] != 7 {
			t.Errorf("row %d: sum %v neg %v", i, sum[i], neg[i])
		}
		if echo[i] != string(inputs["s"].StringVal[i]) {
			t.Errorf("row %d: echo %q", i, echo[i])
		}
	}
	resp, err = h.pred.Predict(context.Background(), &servingpb.PredictRequest{
		ModelSpec: withSig(spec("m"), "multi"), Inputs: inputs, OutputFilter: []string{"neg"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 1 || resp.Outputs["neg"] == nil {
		t.Errorf("output_filter [neg]: got %v", slices.Sorted(mapsKeys(resp.Outputs)))
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestPredictErrors is the error table: TF Serving's codes and messages.
func TestPredictErrors(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, func(m *fakemodel.HalfPlusTwo) { m.Sleep = 10 * time.Second })
	x := map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}
	cases := []struct {
		name string
		req  *servingpb.PredictRequest
		code codes.Code
		msg  string
	}{
		{"no model spec", &servingpb.PredictRequest{Inputs: x}, codes.InvalidArgument, "Missing ModelSpec"},
		{"unknown model", &servingpb.PredictRequest{ModelSpec: spec("nope"), Inputs: x}, codes.NotFound,
			"Servable not found for request: Latest(nope)"},
		{"unknown version", &servingpb.PredictRequest{ModelSpec: specV("m", 7), Inputs: x}, codes.NotFound,
			"Servable not found for request: Specific(m, 7)"},
		{"unknown label", &servingpb.PredictRequest{ModelSpec: specL("m", "canary"), Inputs: x}, codes.InvalidArgument,
			"Unrecognized servable version label: canary"},
		{"unknown signature", &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), "nope"), Inputs: x},
			codes.FailedPrecondition, `Serving signature key "nope" not found.`},
		{"bad dtype", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
			"x": {Dtype: tfpb.DataType_DT_DOUBLE, TensorShape: shapeProto(1, 1), DoubleVal: []float64{1}}}},
			codes.InvalidArgument, "Expects arg[0] to be float but double is provided"},
		{"bad tensor_content length", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
			"x": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(2, 1), TensorContent: []byte{0, 0, 128, 63}}}},
			codes.InvalidArgument, "tensor parsing error: x"},
		{"more values than the shape", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
			"x": floatsProto([]float32{1, 2, 3}, 2, 1)}}, codes.InvalidArgument, "tensor parsing error: x"},
		{"negative dim", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
			"x": floatsProto([]float32{1}, -1, 1)}}, codes.InvalidArgument, "tensor parsing error: x"},
		{"wrong alias", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
			"z": floatsProto([]float32{1}, 1, 1)}}, codes.InvalidArgument,
			"Signature input alias: x(feed name: x:0) not found in request and no default value provided. Inputs expected to be in the request {z}, or default input alias set: "},
		{"no inputs", &servingpb.PredictRequest{ModelSpec: spec("m")}, codes.InvalidArgument,
			"input size does not match signature: 0!=1 len({}) != len({x}). Sent extra: {}. Missing but required: {x}."},
		{"unknown output filter", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: x, OutputFilter: []string{"q"}},
			codes.InvalidArgument, "output tensor alias not found in signature: q Outputs expected to be in the set {y}."},
		{"duplicate output filter", &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: x, OutputFilter: []string{"y", "y"}},
			codes.InvalidArgument, "duplicate output tensor alias: y"},
		{"panicking model", &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), "panic"), Inputs: map[string]*tfpb.TensorProto{
			"x": floatsProto([]float32{1}, 1)}}, codes.Internal, "Internal error (id "},
	}
	for _, c := range cases {
		_, err := h.pred.Predict(context.Background(), c.req)
		wantCode(t, c.name, err, c.code, c.msg)
		if strings.Contains(grpcstatus.Convert(err).Message(), "deliberate") {
			t.Errorf("%s: the panic value reached the client: %v", c.name, err)
		}
	}
	// A client deadline ends a slow run with DEADLINE_EXCEEDED.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), "sleep"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1)}})
	wantCode(t, "deadline", err, codes.DeadlineExceeded, "")
}

// TestPredictBudget: the attacks of issue 11 are refused before anything
// sized by the request is allocated, naming the limit and its flag; inputs
// within the budget still decode as TensorFlow does (one value fills the
// shape).
func TestPredictBudget(t *testing.T) {
	h, _, _ := fakeHarness(t, func(o *Options) { o.Limits = limits.Request{MaxElements: 1 << 20, MaxBytes: 8 << 20} }, nil)
	// The reported 42-byte request: one value, a shape of 2^31 elements.
	huge := &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
		"x": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(1<<31, 1), FloatVal: []float32{1}}}}
	b, err := proto.Marshal(huge)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 42 {
		t.Errorf("the attack request is %d bytes, want at most 42", len(b))
	}
	_, err = h.pred.Predict(context.Background(), huge)
	wantCode(t, "2^31 elements from one value", err, codes.InvalidArgument,
		"input x: request input tensors' element count needs 2147483648, over the limit of 1048576 (--request_max_elements)")
	// Under the element limit but over the bytes: 2^20 float64... the
	// signature wants float, so use a float vector and a tighter budget.
	hb, _, _ := fakeHarness(t, func(o *Options) { o.Limits = limits.Request{MaxBytes: 1 << 20} }, nil)
	_, err = hb.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
		"x": floatsProto([]float32{1}, 1<<18+1, 1)}})
	wantCode(t, "4 MiB + 4 bytes of floats", err, codes.InvalidArgument,
		"needs 1048580, over the limit of 1048576 (--request_max_bytes)")
	// Exactly at the budget: decodes, padded as TensorFlow pads (the latest
	// version is y = 3x + 2).
	resp, err := hb.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
		"x": floatsProto([]float32{4, 2}, 1<<18, 1)}})
	if err != nil {
		t.Fatalf("request at the budget: %v", err)
	}
	if y := decodeOut(t, resp.Outputs["y"]).F32(); len(y) != 1<<18 || y[0] != 3*4+2 || y[1] != 3*2+2 || y[len(y)-1] != 3*2+2 {
		t.Errorf("padded input: %d outputs, first %v", len(y), y[:2])
	}
	// Rank over --request_max_rank.
	hr, _, _ := fakeHarness(t, func(o *Options) { o.Limits = limits.Request{MaxRank: 3} }, nil)
	_, err = hr.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{
		"x": floatsProto([]float32{1}, 1, 1, 1, 1)}})
	wantCode(t, "rank 4", err, codes.InvalidArgument, "input x: tensor rank is 4, over the limit of 3 (--request_max_rank)")
}

// TestDtypeCheckedBeforeDecode: with any dtype, a huge declared shape is
// refused for its dtype before it is decoded, at the default budget,
// allocating next to nothing.
func TestDtypeCheckedBeforeDecode(t *testing.T) {
	sig := fakemodel.New().Signatures()["serving_default"]
	for _, dt := range []tfpb.DataType{tfpb.DataType_DT_DOUBLE, tfpb.DataType_DT_STRING, tfpb.DataType_DT_INT8, tfpb.DataType_DT_BOOL, tfpb.DataType_DT_COMPLEX128} {
		in := map[string]*tfpb.TensorProto{"x": {Dtype: dt, TensorShape: shapeProto(1<<20, 1<<10)}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := decodeInputs(sig, in, limits.NewBudget(limits.Request{}))
		runtime.ReadMemStats(&after)
		want := "Expects arg[0] to be float but " + tensor.DType(dt).Name() + " is provided"
		if st := grpcstatus.Convert(toGRPC(err)); st.Code() != codes.InvalidArgument || st.Message() != want {
			t.Errorf("%v: %v, want %q", dt, err, want)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 16<<10 {
			t.Errorf("%v: refusing the dtype of 2^30 elements allocated %d bytes", dt, d)
		}
	}
	// A dtype TensorFlow cannot parse stays a parsing error.
	_, err := decodeInputs(sig, map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_RESOURCE}}, limits.NewBudget(limits.Request{}))
	wantCode(t, "DT_RESOURCE", toGRPC(err), codes.InvalidArgument, "tensor parsing error: x")
	// The default budget refuses the 42-byte request, allocating little.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = decodeInputs(sig, map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1<<31, 1)}, limits.NewBudget(limits.Request{}))
	runtime.ReadMemStats(&after)
	wantCode(t, "default budget", toGRPC(err), codes.InvalidArgument, "(--request_max_elements)")
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Errorf("refusing 2^31 elements allocated %d bytes", d)
	}
}

// TestResponseBudget: a response over --response_max_bytes is refused with
// RESOURCE_EXHAUSTED before it is encoded, for Predict and Classify.
func TestResponseBudget(t *testing.T) {
	h, _, _ := fakeHarness(t, func(o *Options) { o.Limits = limits.Request{MaxResponseBytes: 4096} }, nil)
	ok := &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1000, 1)}}
	resp, err := h.pred.Predict(context.Background(), ok)
	if err != nil {
		t.Fatalf("4000-byte response: %v", err)
	}
	// The outputs' part of the response is what the limit measures.
	if n := proto.Size(&servingpb.PredictResponse{Outputs: resp.Outputs}); n > 4096 || n < 4000 {
		t.Errorf("outputs take %d bytes", n)
	}
	_, err = h.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1100, 1)}})
	wantCode(t, "4400-byte response", err, codes.ResourceExhausted, "over the limit of 4096 (--response_max_bytes)")
	xs := make([]float32, 600)
	_, err = h.pred.Classify(context.Background(), &servingpb.ClassificationRequest{ModelSpec: withSig(spec("m"), "classify_x_to_y"), Input: exampleList(xs...)})
	wantCode(t, "classify of 600 examples", err, codes.ResourceExhausted, "(--response_max_bytes)")
	if _, err := h.pred.Classify(context.Background(), &servingpb.ClassificationRequest{ModelSpec: withSig(spec("m"), "classify_x_to_y"), Input: exampleList(xs[:100]...)}); err != nil {
		t.Errorf("classify of 100 examples: %v", err)
	}
}

// contextAttack is an ExampleListWithContext of n empty examples and a
// context of about ctxBytes.
func contextAttack(n, ctxBytes int) *servingpb.Input {
	ctx := &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
		"pad": {Kind: &tfpb.Feature_BytesList{BytesList: &tfpb.BytesList{Value: [][]byte{make([]byte, ctxBytes)}}}}}}}
	ex := make([]*tfpb.Example, n)
	for i := range ex {
		ex[i] = &tfpb.Example{}
	}
	return &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
		Examples: ex, Context: ctx}}}
}

// TestExampleContextBudget: the reported 1 MiB context × 300 examples is
// refused (300 MiB merged, over the default 256 MiB) naming
// --request_max_bytes, before anything is merged; under a budget it fits,
// merging allocates about the merged size, not more.
func TestExampleContextBudget(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, nil)
	in := contextAttack(300, 1<<20)
	if n := proto.Size(in); n > 1<<20+1024 {
		t.Fatalf("attack input is %d bytes", n)
	}
	_, err := h.pred.Regress(context.Background(), &servingpb.RegressionRequest{ModelSpec: withSig(spec("m"), "regress_x_to_y"), Input: in})
	wantCode(t, "regress: 1 MiB context x 300", err, codes.InvalidArgument, "(--request_max_bytes)")
	_, err = h.pred.Classify(context.Background(), &servingpb.ClassificationRequest{ModelSpec: withSig(spec("m"), "classify_x_to_y"), Input: in})
	wantCode(t, "classify: 1 MiB context x 300", err, codes.InvalidArgument, "(--request_max_bytes)")
	_, err = h.pred.MultiInference(context.Background(), &servingpb.MultiInferenceRequest{Input: in, Tasks: []*servingpb.InferenceTask{
		{ModelSpec: withSig(spec("m"), "regress_x_to_y"), MethodName: servable.MethodRegress}}})
	wantCode(t, "multi_inference: 1 MiB context x 300", err, codes.InvalidArgument, "(--request_max_bytes)")

	// Refused before merging: the charge comes first.
	s := &Server{}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = s.serializedExamples(in)
	runtime.ReadMemStats(&after)
	// 300 × (context + a 16-byte string header); the examples are empty.
	need := 300 * (proto.Size(in.GetExampleListWithContext().GetContext()) + 16)
	wantCode(t, "serialize", toGRPC(err), codes.InvalidArgument, fmt.Sprintf(
		"request input tensors' decoded bytes needs %d, over the limit of 268435456 (--request_max_bytes)", need))
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing the merge allocated %d bytes", d)
	}
	// Within budget (64 KiB × 300 = 19 MiB): allocation is the merged size
	// plus the context once, within 25%.
	small := contextAttack(300, 64<<10)
	runtime.ReadMemStats(&before)
	out, err := s.serializedExamples(small)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	merged := 0
	for _, e := range out {
		merged += len(e)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > uint64(merged)*5/4+1<<20 {
		t.Errorf("merging %d bytes allocated %d", merged, d)
	}
}

func example(x float32) *tfpb.Example {
	return &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
		"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{x}}}}}}}
}

func exampleList(xs ...float32) *servingpb.Input {
	var ex []*tfpb.Example
	for _, x := range xs {
		ex = append(ex, example(x))
	}
	return &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: ex}}}
}

func TestClassifyRegress(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, nil)
	ctx := context.Background()
	xs := []float32{1, 2, -4}
	// classify_classes: labels lo, hi with scores 1-s, s where s = y/10.
	cr, err := h.pred.Classify(ctx, &servingpb.ClassificationRequest{
		ModelSpec: withSig(specV("m", 1), "classify_classes"), Input: exampleList(xs...)})
	if err != nil {
		t.Fatal(err)
	}
	if got := cr.GetResult().GetClassifications(); len(got) != len(xs) {
		t.Fatalf("%d classifications", len(got))
	}
	for i, x := range xs {
		s := (0.5*x + 2) / 10
		cl := cr.Result.Classifications[i].Classes
		if len(cl) != 2 || cl[0].Label != "lo" || cl[1].Label != "hi" ||
			math.Abs(float64(cl[0].Score-(1-s))) > 1e-6 || math.Abs(float64(cl[1].Score-s)) > 1e-6 {
			t.Errorf("example %d: %v", i, cl)
		}
	}
	if ms := cr.GetModelSpec(); ms.GetVersion().GetValue() != 1 || ms.GetSignatureName() != "classify_classes" {
		t.Errorf("classify model_spec %v", ms)
	}
	rr, err := h.pred.Regress(ctx, &servingpb.RegressionRequest{
		ModelSpec: withSig(spec("m"), "regress_x_to_y"), Input: exampleList(xs...)})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		if got := rr.GetResult().GetRegressions()[i].GetValue(); got != 3*x+2 {
			t.Errorf("regress %d: %v, want %v", i, got, 3*x+2)
		}
	}
	// A context is merged into every example; an example's own feature wins.
	withCtx := &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
		Context: example(4), Examples: []*tfpb.Example{{}, example(1)}}}}
	rr, err = h.pred.Regress(ctx, &servingpb.RegressionRequest{ModelSpec: withSig(spec("m"), "regress_x_to_y"), Input: withCtx})
	if err != nil {
		t.Fatal(err)
	}
	if got := rr.GetResult().GetRegressions(); len(got) != 2 || got[0].Value != 3*4+2 || got[1].Value != 3*1+2 {
		t.Errorf("with context: %v", got)
	}

	_, err = h.pred.Regress(ctx, &servingpb.RegressionRequest{ModelSpec: withSig(spec("m"), "regress_x_to_y"), Input: &servingpb.Input{}})
	wantCode(t, "empty input", err, codes.InvalidArgument, "Input is empty.")
	_, err = h.pred.Classify(ctx, &servingpb.ClassificationRequest{ModelSpec: withSig(spec("m"), "nope"), Input: exampleList(1)})
	wantCode(t, "classify unknown signature", err, codes.InvalidArgument, "No signature was found with the name: nope")
	_, err = h.pred.Regress(ctx, &servingpb.RegressionRequest{ModelSpec: withSig(spec("m"), "classify_classes"), Input: exampleList(1)})
	wantCode(t, "regress on a two-output signature", err, codes.InvalidArgument, "Expected one output Tensor.")
	_, err = h.pred.Classify(ctx, &servingpb.ClassificationRequest{ModelSpec: withSig(spec("zz"), "classify_classes"), Input: exampleList(1)})
	wantCode(t, "classify unknown model", err, codes.NotFound, "Latest(zz)")

	hc, _, _ := fakeHarness(t, func(o *Options) { o.EnableSignatureMethodNameCheck = true }, nil)
	_, err = hc.pred.Regress(ctx, &servingpb.RegressionRequest{ModelSpec: withSig(spec("m"), "classify_x_to_y"), Input: exampleList(1)})
	wantCode(t, "method name check", err, codes.InvalidArgument,
		"Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/classify")
}

func TestMultiInference(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, nil)
	ctx := context.Background()
	task := func(model, sig, method string) *servingpb.InferenceTask {
		return &servingpb.InferenceTask{ModelSpec: withSig(spec(model), sig), MethodName: method}
	}
	xs := []float32{2, 5}
	resp, err := h.pred.MultiInference(ctx, &servingpb.MultiInferenceRequest{
		Tasks: []*servingpb.InferenceTask{task("m", "classify_x_to_y", servable.MethodClassify),
			task("m", "regress_x_to_y2", servable.MethodRegress)},
		Input: exampleList(xs...)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 2 {
		t.Fatalf("%d results", len(resp.Results))
	}
	cls := resp.Results[0].GetClassificationResult().GetClassifications()
	reg := resp.Results[1].GetRegressionResult().GetRegressions()
	if len(cls) != 2 || len(reg) != 2 {
		t.Fatalf("results %v", resp)
	}
	for i, x := range xs {
		if got := cls[i].Classes[0].Score; got != 3*x+2 {
			t.Errorf("classify %d: %v", i, got)
		}
		if got := reg[i].Value; got != 3*x+3 {
			t.Errorf("regress %d: %v, want %v", i, got, 3*x+3)
		}
	}
	if resp.Results[1].GetModelSpec().GetSignatureName() != "regress_x_to_y2" || resp.Results[1].GetModelSpec().GetVersion().GetValue() != 2 {
		t.Errorf("result model_spec %v", resp.Results[1].GetModelSpec())
	}
	errs := []struct {
		name  string
		tasks []*servingpb.InferenceTask
		code  codes.Code
		msg   string
	}{
		{"no tasks", nil, codes.InvalidArgument, "Expected at least one task"},
		{"two models", []*servingpb.InferenceTask{task("m", "classify_x_to_y", servable.MethodClassify),
			task("n", "regress_x_to_y", servable.MethodRegress)}, codes.InvalidArgument, "must access the same model name"},
		{"duplicate signature", []*servingpb.InferenceTask{task("m", "regress_x_to_y", servable.MethodRegress),
			task("m", "regress_x_to_y", servable.MethodRegress)}, codes.InvalidArgument, "Duplicate evaluation of signature: regress_x_to_y"},
		{"predict method", []*servingpb.InferenceTask{task("m", "serving_default", servable.MethodPredict)},
			codes.Unimplemented, "Unsupported signature method_name: tensorflow/serving/predict"},
		{"different inputs", []*servingpb.InferenceTask{task("m", "regress_x_to_y", servable.MethodRegress),
			task("m", "regress_x2_to_y3", servable.MethodRegress)}, codes.InvalidArgument, "Input tensor must be the same for all Signatures."},
		{"unknown signature", []*servingpb.InferenceTask{task("m", "nope", servable.MethodRegress)},
			codes.InvalidArgument, "Requested signature not found in model graph: nope"},
	}
	for _, c := range errs {
		_, err := h.pred.MultiInference(ctx, &servingpb.MultiInferenceRequest{Tasks: c.tasks, Input: exampleList(1)})
		wantCode(t, c.name, err, c.code, c.msg)
	}
}

func TestMetadataAndStatus(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, nil)
	ctx := context.Background()
	resp, err := h.pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{ModelSpec: spec("m"), MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Fatal(err)
	}
	if ms := resp.GetModelSpec(); ms.GetName() != "m" || ms.GetVersion().GetValue() != 2 || ms.GetSignatureName() != "" {
		t.Errorf("metadata model_spec %v", ms)
	}
	var m servingpb.SignatureDefMap
	if err := resp.GetMetadata()["signature_def"].UnmarshalTo(&m); err != nil {
		t.Fatal(err)
	}
	want := fakemodel.New().Signatures()
	if len(m.SignatureDef) != len(want) {
		t.Errorf("%d signatures, want %d", len(m.SignatureDef), len(want))
	}
	for name, sig := range want {
		got := m.SignatureDef[name]
		if got == nil || got.MethodName != sig.MethodName || len(got.Inputs) != len(sig.Inputs) || len(got.Outputs) != len(sig.Outputs) {
			t.Errorf("signature %s: %v", name, got)
			continue
		}
		for alias, ti := range sig.Inputs {
			g := got.Inputs[alias]
			if g.GetName() != ti.Name || tensor.DType(g.GetDtype()) != ti.DType || g.GetTensorShape().GetUnknownRank() != ti.UnknownRank ||
				len(g.GetTensorShape().GetDim()) != len(ti.Dims) {
				t.Errorf("signature %s input %s: %v, want %+v", name, alias, g, ti)
			}
			for i, d := range ti.Dims {
				if g.GetTensorShape().GetDim()[i].GetSize() != d.Size {
					t.Errorf("signature %s input %s dim %d: %v", name, alias, i, g.GetTensorShape().GetDim()[i])
				}
			}
		}
	}
	_, err = h.pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{ModelSpec: spec("m")})
	wantCode(t, "no metadata field", err, codes.InvalidArgument, "GetModelMetadataRequest must specify at least one metadata_field")
	_, err = h.pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{ModelSpec: spec("m"), MetadataField: []string{"graph"}})
	wantCode(t, "unsupported field", err, codes.InvalidArgument, "Metadata field graph is not supported")
	_, err = h.pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{MetadataField: []string{"signature_def"}})
	wantCode(t, "metadata without spec", err, codes.InvalidArgument, "Missing ModelSpec")
	_, err = h.pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{ModelSpec: specV("m", 5), MetadataField: []string{"signature_def"}})
	wantCode(t, "metadata unknown version", err, codes.NotFound, "Specific(m, 5)")

	st, err := h.ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: spec("m")})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, v := range st.ModelVersionStatus {
		got = append(got, v.Version)
		if v.State != servingpb.ModelVersionStatus_AVAILABLE || v.Status.GetErrorCode() != tfpb.Code_OK || v.Status.GetErrorMessage() != "" {
			t.Errorf("version %d: %v", v.Version, v)
		}
	}
	if !slices.Equal(got, []int64{2, 1}) {
		t.Errorf("status versions %v, want [2 1]", got)
	}
	st, err = h.ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: specV("m", 1)})
	if err != nil || len(st.ModelVersionStatus) != 1 || st.ModelVersionStatus[0].Version != 1 {
		t.Errorf("status of version 1: %v %v", st, err)
	}
	_, err = h.ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: specV("m", 9)})
	wantCode(t, "status unknown version", err, codes.NotFound, "Could not find version 9 of model m")
	_, err = h.ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: spec("zz")})
	wantCode(t, "status unknown model", err, codes.NotFound, "Could not find any versions of model zz")
	_, err = h.ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{})
	wantCode(t, "status without spec", err, codes.InvalidArgument, "Missing ModelSpec")
}

// TestReloadConfigUnderLoad adds and removes model "n" while clients keep
// predicting on "m": no request on "m" may fail.
func TestReloadConfigUnderLoad(t *testing.T) {
	h, _, baseM := fakeHarness(t, nil, nil)
	ctx := context.Background()
	baseN := t.TempDir()
	fakemodel.WriteVersion(t, baseN, 1, "10")
	mcM := modelCfg("m", baseM)
	mcM.ModelVersionPolicy = allVersions()
	mcM.VersionLabels = map[string]int64{"stable": 1}

	var (
		stop          atomic.Bool
		wg            sync.WaitGroup
		okCalls, fail atomic.Int64
		failMsg       atomic.Value
	)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := h.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec("m"),
					Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{2}, 1, 1)}})
				if err != nil || resp.Outputs["y"].GetFloatVal()[0] != 8 {
					fail.Add(1)
					failMsg.Store(err)
					continue
				}
				okCalls.Add(1)
			}
		}()
	}
	predictN := func() error {
		_, err := h.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec("n"),
			Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}})
		return err
	}
	for round := 0; round < 3; round++ {
		if _, err := h.ms.HandleReloadConfigRequest(ctx, &servingpb.ReloadConfigRequest{Config: listCfg(mcM, modelCfg("n", baseN))}); err != nil {
			t.Fatalf("add n: %v", err)
		}
		if err := predictN(); err != nil {
			t.Errorf("round %d: n after adding: %v", round, err)
		}
		resp, err := h.ms.HandleReloadConfigRequest(ctx, &servingpb.ReloadConfigRequest{Config: listCfg(mcM)})
		if err != nil {
			t.Fatalf("remove n: %v", err)
		}
		if resp.GetStatus().GetErrorCode() != tfpb.Code_OK {
			t.Errorf("reload status %v", resp.GetStatus())
		}
		wantCode(t, "n after removing", predictN(), codes.NotFound, "Latest(n)")
	}
	stop.Store(true)
	wg.Wait()
	if fail.Load() != 0 {
		t.Errorf("%d of %d requests on m failed during reloads; last: %v", fail.Load(), fail.Load()+okCalls.Load(), failMsg.Load())
	}
	if okCalls.Load() == 0 {
		t.Error("no request on m completed")
	}
	_, err := h.ms.HandleReloadConfigRequest(ctx, &servingpb.ReloadConfigRequest{})
	wantCode(t, "reload without model_config_list", err, codes.InvalidArgument, "Only ModelConfigList is currently supported")
	bad := modelCfg("m", baseM)
	bad.VersionLabels = map[string]int64{"x": 99}
	_, err = h.ms.HandleReloadConfigRequest(ctx, &servingpb.ReloadConfigRequest{Config: listCfg(bad)})
	if err == nil {
		t.Error("a label on a missing version was accepted")
	}
	if _, err := h.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: specL("m", "stable"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{2}, 1, 1)}}); err != nil {
		t.Errorf("the old config should keep serving after a rejected reload: %v", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	h, _, _ := fakeHarness(t, func(o *Options) { o.EnableHealthService = true }, nil)
	ctx := context.Background()
	hc := healthpb.NewHealthClient(h.conn)
	for _, svc := range []string{"", PredictionServiceName, ModelServiceName} {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", svc, r, err)
		}
	}
	stream, err := reflectpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	for _, want := range []string{PredictionServiceName, ModelServiceName, "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	// The descriptors come back too (what grpcurl needs).
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: PredictionServiceName}}); err != nil {
		t.Fatal(err)
	}
	if r, err = stream.Recv(); err != nil || len(r.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("file for %s: %v %v", PredictionServiceName, r, err)
	}

	h2, _, _ := fakeHarness(t, nil, nil)
	_, err = healthpb.NewHealthClient(h2.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	wantCode(t, "health off", err, codes.Unimplemented, "")
}

func TestMessageSizeLimits(t *testing.T) {
	ctx := context.Background()
	big := make([]float32, 3<<20) // 12 MiB: over grpc-go's 4 MiB default
	for i := range big {
		big[i] = float32(i % 1000)
	}
	req := &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), "sleep"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto(big, int64(len(big)))}}
	h, _, _ := fakeHarness(t, nil, nil)
	resp, err := h.pred.Predict(ctx, req)
	if err != nil {
		t.Fatalf("12 MiB request under the INT32_MAX default: %v", err)
	}
	y := decodeOut(t, resp.Outputs["y"]).F32()
	if len(y) != len(big) || y[999] != 3*999+2 {
		t.Errorf("big response: %d values", len(y))
	}
	args, err := ParseChannelArguments("grpc.max_receive_message_length=4096")
	if err != nil {
		t.Fatal(err)
	}
	hs, _, _ := fakeHarness(t, func(o *Options) { o.ChannelArguments = args }, nil)
	_, err = hs.pred.Predict(ctx, req)
	wantCode(t, "request over grpc.max_receive_message_length", err, codes.ResourceExhausted, "")
	if _, err := hs.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec("m"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}}); err != nil {
		t.Errorf("small request: %v", err)
	}
}

func TestMaxConcurrentRequests(t *testing.T) {
	h, _, _ := fakeHarness(t, func(o *Options) { o.MaxConcurrentRequests = 1 },
		func(m *fakemodel.HalfPlusTwo) { m.Sleep = time.Minute })
	slow, cancelSlow := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.pred.Predict(slow, &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), "sleep"),
			Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1)}})
		done <- err
	}()
	for h.srv.pool.InUse() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec("m"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}})
	wantCode(t, "queued behind --grpc_max_threads=1", err, codes.DeadlineExceeded, "")
	cancelSlow()
	wantCode(t, "cancelled slow call", <-done, codes.Canceled, "")
	if _, err := h.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}}); err != nil {
		t.Errorf("after the slot freed: %v", err)
	}
}

func TestParseChannelArguments(t *testing.T) {
	got, err := ParseChannelArguments(" grpc.max_receive_message_length=10 ,, grpc.primary_user_agent=a=b,grpc.keepalive_time_ms=5")
	if err != nil {
		t.Fatal(err)
	}
	want := []ChannelArgument{{"grpc.max_receive_message_length", "10"}, {"grpc.primary_user_agent", "a=b"}, {"grpc.keepalive_time_ms", "5"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	cs, ignored, err := applyChannelArguments(got, limits.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.maxRecv != 10 || cs.maxSend != math.MaxInt32 || cs.ka.Time != 5*time.Millisecond || !slices.Equal(ignored, []string{"grpc.primary_user_agent"}) {
		t.Errorf("settings %+v ignored %v", cs, ignored)
	}
	for _, bad := range []string{"novalue", "=3"} {
		if _, err := ParseChannelArguments(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := New(Options{Models: nopModels{}, ChannelArguments: []ChannelArgument{{"grpc.max_send_message_length", "big"}}}); err == nil {
		t.Error("a non-integer message size was accepted")
	}
	if cs, _, _ := applyChannelArguments([]ChannelArgument{{"grpc.max_send_message_length", "-1"}}, limits.Request{}); cs.maxSend != math.MaxInt32 {
		t.Errorf("-1 should mean unlimited, got %d", cs.maxSend)
	}
}

// TestTransportDefaults: without channel arguments the server bounds
// streams per connection, metadata, pings and idle connections; each
// argument overrides only its own setting.
func TestTransportDefaults(t *testing.T) {
	cs, _, err := applyChannelArguments(nil, limits.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.maxStreams != 1024 || cs.maxHeaderList != 64<<10 || cs.kep.MinTime != 10*time.Second || cs.kep.PermitWithoutStream ||
		cs.ka.MaxConnectionIdle != 15*time.Minute || cs.ka.Time != 2*time.Hour || cs.ka.Timeout != 20*time.Second {
		t.Errorf("defaults %+v", cs)
	}
	// 10 bytes per element at most, plus the byte budget, plus 1 MiB.
	if want := 10*(64<<20) + 256<<20 + 1<<20; cs.maxRecv != want || cs.maxSend != math.MaxInt32 {
		t.Errorf("receive %d, want %d; send %d", cs.maxRecv, want, cs.maxSend)
	}
	if n := DefaultMaxReceiveBytes(limits.Request{MaxElements: 1 << 40}); n != math.MaxInt32 {
		t.Errorf("a budget past INT32_MAX receives %d", n)
	}
	args, _ := ParseChannelArguments("grpc.keepalive_time_ms=5000,grpc.max_concurrent_streams=0,grpc.keepalive_permit_without_calls=1")
	cs, _, _ = applyChannelArguments(args, limits.Request{})
	if cs.ka.Time != 5*time.Second || cs.ka.MaxConnectionIdle != 15*time.Minute || cs.maxStreams != math.MaxUint32 ||
		!cs.kep.PermitWithoutStream || cs.kep.MinTime != 10*time.Second {
		t.Errorf("overridden %+v", cs)
	}
	// The derived receive limit is in force: a message over it is refused
	// by the transport, one under it is served.
	h, _, _ := fakeHarness(t, func(o *Options) { o.Limits = limits.Request{MaxElements: 1000, MaxBytes: 4000} }, nil)
	_, err = h.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto(make([]float32, 300_000), 300_000, 1)}})
	wantCode(t, "1.2 MB message, 1.06 MB receive limit", err, codes.ResourceExhausted, "")
	if _, err := h.pred.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec("m"),
		Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}}); err != nil {
		t.Errorf("small request: %v", err)
	}
}

// TestStreamPanic: a panic in a streaming handler is INTERNAL with an id,
// without the panic's value.
func TestStreamPanic(t *testing.T) {
	s, err := New(Options{Models: nopModels{}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.interceptStream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/x/Y"}, func(any, grpc.ServerStream) error {
		panic("secret state")
	})
	st := grpcstatus.Convert(err)
	if st.Code() != codes.Internal || !strings.HasPrefix(st.Message(), "Internal error (id ") || strings.Contains(st.Message(), "secret") {
		t.Errorf("stream panic: %v", err)
	}
}

// nopModels satisfies Models for option tests.
type nopModels struct{ Models }

// TestStatusCodesMatchGRPC pins the assumption toGRPC relies on: our
// status codes, tensorflow.error.Code and gRPC's codes share numbers.
func TestStatusCodesMatchGRPC(t *testing.T) {
	pairs := []struct {
		ours status.Code
		grpc codes.Code
	}{
		{status.OK, codes.OK}, {status.Cancelled, codes.Canceled}, {status.Unknown, codes.Unknown},
		{status.InvalidArgument, codes.InvalidArgument}, {status.DeadlineExceeded, codes.DeadlineExceeded},
		{status.NotFound, codes.NotFound}, {status.AlreadyExists, codes.AlreadyExists},
		{status.PermissionDenied, codes.PermissionDenied}, {status.ResourceExhausted, codes.ResourceExhausted},
		{status.FailedPrecondition, codes.FailedPrecondition}, {status.Aborted, codes.Aborted},
		{status.OutOfRange, codes.OutOfRange}, {status.Unimplemented, codes.Unimplemented},
		{status.Internal, codes.Internal}, {status.Unavailable, codes.Unavailable},
		{status.DataLoss, codes.DataLoss}, {status.Unauthenticated, codes.Unauthenticated},
	}
	for _, p := range pairs {
		if codes.Code(p.ours) != p.grpc || tfpb.Code(p.ours).String() != p.ours.String() {
			t.Errorf("%v (%d) vs gRPC %v (%d) vs tensorflow.error.%v", p.ours, int(p.ours), p.grpc, int(p.grpc), tfpb.Code(p.ours))
		}
		err := toGRPC(status.New(p.ours, "msg"))
		if p.ours != status.OK && (grpcstatus.Code(err) != p.grpc || grpcstatus.Convert(err).Message() != "msg") {
			t.Errorf("toGRPC(%v) = %v", p.ours, err)
		}
	}
}

// fuzzBudget is the request budget FuzzPredictRequest decodes under:
// small, so that each input runs fast, and the allocation bound below is
// stated in its terms.
var fuzzBudget = limits.Request{MaxElements: 1 << 18, MaxBytes: 1 << 20}

// FuzzPredictRequest feeds arbitrary bytes as a PredictRequest's inputs
// through the decoding and validation path: no panic, every error is
// INVALID_ARGUMENT, every decoded tensor has the signature's dtype, and the
// bytes allocated stay within a constant factor of the request's size plus
// the budget (a short proto may declare a large shape, which TensorFlow pads,
// but never past the budget).
func FuzzPredictRequest(f *testing.F) {
	sigs := fakemodel.New().Signatures()
	seed := func(m map[string]*tfpb.TensorProto, sig string) {
		b, _ := proto.Marshal(&servingpb.PredictRequest{ModelSpec: withSig(spec("m"), sig), Inputs: m})
		f.Add(b)
	}
	seed(map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1, 2}, 2, 1)}, "serving_default")
	seed(map[string]*tfpb.TensorProto{"a": floatsProto([]float32{1}, 3), "b": {Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeProto(3), Int64Val: []int64{1, 2, 3}},
		"s": {Dtype: tfpb.DataType_DT_STRING, TensorShape: shapeProto(1), StringVal: [][]byte{[]byte("q")}}}, "multi")
	seed(map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_HALF, TensorShape: shapeProto(1 << 20), HalfVal: []int32{1}}}, "serving_default")
	seed(map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(2, 1), TensorContent: make([]byte, 8)}}, "serving_default")
	seed(map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1<<31)}, "serving_default")
	seed(map[string]*tfpb.TensorProto{"a": floatsProto([]float32{1}, 3), "b": {Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeProto(3), Int64Val: []int64{1}},
		"s": {Dtype: tfpb.DataType_DT_STRING, TensorShape: shapeProto(1 << 16), StringVal: [][]byte{make([]byte, 64)}}}, "multi")
	f.Add(protowire.AppendTag(nil, 2, protowire.BytesType))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req servingpb.PredictRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		sig := sigs[signatureName(req.GetModelSpec())]
		if sig == nil {
			sig = sigs["multi"]
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		in, err := decodeInputs(sig, req.GetInputs(), limits.NewBudget(fuzzBudget))
		runtime.ReadMemStats(&after)
		if bound := 16*uint64(len(b)) + 2*uint64(fuzzBudget.MaxBytes) + 256<<10; after.TotalAlloc-before.TotalAlloc > bound {
			t.Fatalf("decoding a %d-byte request allocated %d bytes, over %d", len(b), after.TotalAlloc-before.TotalAlloc, bound)
		}
		if err != nil {
			if c := toGRPC(err); grpcstatus.Code(c) != codes.InvalidArgument {
				t.Fatalf("code %v: %v", grpcstatus.Code(c), err)
			}
			return
		}
		for alias, tt := range in {
			if tt.DType != sig.Inputs[alias].DType {
				t.Fatalf("%s: dtype %v passed the check", alias, tt.DType)
			}
			if err := tt.Validate(); err != nil {
				t.Fatalf("%s: decoded tensor invalid: %v", alias, err)
			}
		}
		_ = sig.CheckOutputFilter(req.GetOutputFilter())
	})
}

// FuzzParseChannelArguments: no panic; accepted input round-trips.
func FuzzParseChannelArguments(f *testing.F) {
	for _, s := range []string{"", "grpc.max_receive_message_length=10", "a=1,b=2", "x", "a=b=c,,", "grpc.keepalive_time_ms=-5", "grpc.max_send_message_length=99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := ParseChannelArguments(s)
		if err != nil {
			return
		}
		var parts []string
		for _, a := range args {
			if a.Key == "" || strings.Contains(a.Key, ",") || strings.Contains(a.Value, ",") {
				t.Fatalf("bad argument %+v from %q", a, s)
			}
			parts = append(parts, a.Key+"="+a.Value)
		}
		again, err := ParseChannelArguments(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, args) {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
		_, _, _ = applyChannelArguments(args, limits.Request{})
	})
}

func TestSignatureDefRoundTrip(t *testing.T) {
	for name, sig := range fakemodel.New().Signatures() {
		back := ServableSignature(name, SignatureDef(sig))
		if !reflect.DeepEqual(back, sig) {
			t.Errorf("%s: %+v, want %+v", name, back, sig)
		}
	}
}
