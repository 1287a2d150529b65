package kserve_test

import (
	"context"
	"encoding/binary"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/kserve"
)

func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := grpcstatus.FromError(err)
	if st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: %v %q, want %v containing %q", what, st.Code(), st.Message(), code, msg)
	}
}

func TestGRPCHealthAndMetadata(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	live, err := h.client.ServerLive(ctx, &kservepb.ServerLiveRequest{})
	if err != nil || !live.GetLive() {
		t.Errorf("ServerLive: %v %v", live, err)
	}
	ready, err := h.client.ServerReady(ctx, &kservepb.ServerReadyRequest{})
	if err != nil || !ready.GetReady() {
		t.Errorf("ServerReady: %v %v", ready, err)
	}
	sm, err := h.client.ServerMetadata(ctx, &kservepb.ServerMetadataRequest{})
	want := &kservepb.ServerMetadataResponse{Name: "tfserve", Version: "test-1", Extensions: []string{"binary_tensor_data"}}
	if err != nil || !proto.Equal(sm, want) {
		t.Errorf("ServerMetadata: %v %v", sm, err)
	}
	md, err := h.client.ModelMetadata(ctx, &kservepb.ModelMetadataRequest{Name: "m", Version: "2"})
	wantMD := &kservepb.ModelMetadataResponse{Name: "m", Versions: []string{"1", "2"}, Platform: "tensorflow_savedmodel",
		Inputs:  []*kservepb.ModelMetadataResponse_TensorMetadata{{Name: "x", Datatype: "FP32", Shape: []int64{-1, 1}}},
		Outputs: []*kservepb.ModelMetadataResponse_TensorMetadata{{Name: "y", Datatype: "FP32", Shape: []int64{-1, 1}}}}
	if err != nil || !proto.Equal(md, wantMD) {
		t.Errorf("ModelMetadata: %v %v", md, err)
	}
	_, err = h.client.ModelMetadata(ctx, &kservepb.ModelMetadataRequest{Name: "nope"})
	wantCode(t, "ModelMetadata(nope)", err, codes.NotFound, "Servable not found")
	for _, c := range []struct {
		name, version string
		ready         bool
	}{{"m", "", true}, {"m", "1", true}, {"m", "stable", true}, {"m", "5", false}, {"nope", "", false}} {
		r, err := h.client.ModelReady(ctx, &kservepb.ModelReadyRequest{Name: c.name, Version: c.version})
		if err != nil || r.GetReady() != c.ready {
			t.Errorf("ModelReady(%s, %q): %v %v, want %v", c.name, c.version, r, err, c.ready)
		}
	}
	_, err = h.client.ModelReady(ctx, &kservepb.ModelReadyRequest{Name: "m", Version: "canary"})
	wantCode(t, "ModelReady(canary)", err, codes.InvalidArgument, "canary")
	_, err = h.client.ModelReady(ctx, &kservepb.ModelReadyRequest{})
	wantCode(t, "ModelReady()", err, codes.InvalidArgument, "Missing model name")
}

func f32raw(v ...float32) []byte { return f32bytes(v...) }

func TestGRPCInfer(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	// Typed contents in, typed contents out.
	resp, err := h.client.ModelInfer(ctx, &kservepb.ModelInferRequest{ModelName: "m", ModelVersion: "1", Id: "g1",
		Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{3, 1},
			Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{1, 2, 5}}}}})
	want := &kservepb.ModelInferResponse{ModelName: "m", ModelVersion: "1", Id: "g1",
		Outputs: []*kservepb.ModelInferResponse_InferOutputTensor{{Name: "y", Datatype: "FP32", Shape: []int64{3, 1},
			Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{2.5, 3, 4.5}}}}}
	if err != nil || !proto.Equal(resp, want) {
		t.Errorf("typed: %v %v", resp, err)
	}
	// Raw in, raw out; the latest version.
	resp, err = h.client.ModelInfer(ctx, &kservepb.ModelInferRequest{ModelName: "m",
		Inputs:           []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 1}}},
		RawInputContents: [][]byte{f32raw(1, -1)}})
	want = &kservepb.ModelInferResponse{ModelName: "m", ModelVersion: "2",
		Outputs:           []*kservepb.ModelInferResponse_InferOutputTensor{{Name: "y", Datatype: "FP32", Shape: []int64{2, 1}}},
		RawOutputContents: [][]byte{f32raw(5, -1)}}
	if err != nil || !proto.Equal(resp, want) {
		t.Errorf("raw: %v %v", resp, err)
	}
	// Several types, a signature by parameter, outputs by name.
	sig := map[string]*kservepb.InferParameter{"signature_name": {ParameterChoice: &kservepb.InferParameter_StringParam{StringParam: "multi"}}}
	resp, err = h.client.ModelInfer(ctx, &kservepb.ModelInferRequest{ModelName: "m", ModelVersion: "stable", Parameters: sig,
		Inputs: []*kservepb.ModelInferRequest_InferInputTensor{
			{Name: "a", Datatype: "FP32", Shape: []int64{2}, Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{0.5, 1}}},
			{Name: "b", Datatype: "INT64", Shape: []int64{2}, Contents: &kservepb.InferTensorContents{Int64Contents: []int64{7, math.MinInt64 + 1}}},
			{Name: "s", Datatype: "BYTES", Shape: []int64{2}, Contents: &kservepb.InferTensorContents{BytesContents: [][]byte{{0xff, 0}, {}}}}},
		Outputs: []*kservepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "echo_bytes"}, {Name: "neg"}}})
	want = &kservepb.ModelInferResponse{ModelName: "m", ModelVersion: "1",
		Outputs: []*kservepb.ModelInferResponse_InferOutputTensor{
			{Name: "echo_bytes", Datatype: "BYTES", Shape: []int64{2}, Contents: &kservepb.InferTensorContents{BytesContents: [][]byte{{0xff, 0}, {}}}},
			{Name: "neg", Datatype: "INT64", Shape: []int64{2}, Contents: &kservepb.InferTensorContents{Int64Contents: []int64{-7, math.MaxInt64}}}}}
	if err != nil || !proto.Equal(resp, want) {
		t.Errorf("multi: %v %v", resp, err)
	}
	// Raw BYTES, raw out.
	var s []byte
	for _, e := range []string{"ab", ""} {
		s = binary.LittleEndian.AppendUint32(s, uint32(len(e)))
		s = append(s, e...)
	}
	resp, err = h.client.ModelInfer(ctx, &kservepb.ModelInferRequest{ModelName: "m", ModelVersion: "1", Parameters: sig,
		Inputs: []*kservepb.ModelInferRequest_InferInputTensor{
			{Name: "a", Datatype: "FP32", Shape: []int64{2}}, {Name: "b", Datatype: "INT64", Shape: []int64{2}},
			{Name: "s", Datatype: "BYTES", Shape: []int64{2}}},
		Outputs:          []*kservepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "echo_bytes"}, {Name: "sum"}},
		RawInputContents: [][]byte{f32raw(1, 2), i64bytes(3, 4), s}})
	if err != nil || len(resp.GetRawOutputContents()) != 2 || string(resp.GetRawOutputContents()[0]) != string(s) ||
		string(resp.GetRawOutputContents()[1]) != string(f32raw(4, 6)) || resp.GetOutputs()[0].GetContents() != nil {
		t.Errorf("raw multi: %v %v", resp, err)
	}
}

func TestGRPCInferErrors(t *testing.T) {
	h := newHarness(t, harnessOpts{kserve: func(o *kserve.Options) { o.Limits = limits.Request{MaxElements: 100} }})
	ctx := context.Background()
	x := func(dt string, shape []int64, c *kservepb.InferTensorContents) *kservepb.ModelInferRequest {
		return &kservepb.ModelInferRequest{ModelName: "m", ModelVersion: "1",
			Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: dt, Shape: shape, Contents: c}}}
	}
	fp := &kservepb.InferTensorContents{Fp32Contents: []float32{1}}
	rawReq := func(raw ...[]byte) *kservepb.ModelInferRequest {
		r := x("FP32", []int64{2, 1}, nil)
		r.RawInputContents = raw
		return r
	}
	for _, c := range []struct {
		name string
		req  *kservepb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"no model", &kservepb.ModelInferRequest{}, codes.InvalidArgument, "Missing model name"},
		{"unknown model", &kservepb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, "Servable not found"},
		{"datatype", x("FP64", []int64{1, 1}, fp), codes.InvalidArgument, "datatype FP64 does not match the model's FP32"},
		{"count", x("FP32", []int64{2, 1}, fp), codes.InvalidArgument, "shape [2,1] has 2 elements, but contents.fp32_contents holds 1"},
		{"wrong field", x("FP32", []int64{1, 1}, &kservepb.InferTensorContents{Fp64Contents: []float64{1}}), codes.InvalidArgument, "fp32_contents holds 0"},
		{"negative", x("FP32", []int64{-1, 1}, fp), codes.InvalidArgument, "negative dimension"},
		{"elements", x("FP32", []int64{101, 1}, fp), codes.InvalidArgument, "(--request_max_elements)"},
		{"overflow", x("FP32", []int64{1 << 32, 1 << 32}, fp), codes.InvalidArgument, "more elements than an int64"},
		{"rank", x("FP32", make([]int64, 300), fp), codes.InvalidArgument, "(--request_max_rank)"},
		{"raw count", rawReq(f32raw(1), f32raw(2)), codes.InvalidArgument, "raw_input_contents has 2 entries for 1 inputs"},
		{"raw size", rawReq(f32raw(1)), codes.InvalidArgument, "4 bytes of data, but shape [2,1] of FP32 needs 8"},
		{"raw and typed", func() *kservepb.ModelInferRequest {
			r := x("FP32", []int64{1, 1}, fp)
			r.RawInputContents = [][]byte{f32raw(1)}
			return r
		}(), codes.InvalidArgument, "contents must not be set"},
		{"unknown output", func() *kservepb.ModelInferRequest {
			r := x("FP32", []int64{1, 1}, fp)
			r.Outputs = []*kservepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "y"}, {Name: "y"}}
			return r
		}(), codes.InvalidArgument, "duplicate output tensor alias: y"},
	} {
		_, err := h.client.ModelInfer(ctx, c.req)
		wantCode(t, c.name, err, c.code, c.msg)
	}
}

// TestGRPCObserved checks that grpcapi's interceptor observes ModelInfer
// as a predict with its model and the version that served it.
func TestGRPCObserved(t *testing.T) {
	seen := make(chan grpcapi.RequestInfo, 4)
	h := newHarness(t, harnessOpts{grpc: func(o *grpcapi.Options) { o.Observe = func(ri grpcapi.RequestInfo) { seen <- ri } }})
	_, err := h.client.ModelInfer(context.Background(), &kservepb.ModelInferRequest{ModelName: "m", ModelVersion: "1",
		Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 1},
			Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ri := <-seen:
		if ri.API != "predict" || ri.Model != "m" || ri.Version != 1 || ri.Code != 0 || ri.RequestBytes == 0 || ri.ResponseBytes == 0 {
			t.Errorf("observed %+v", ri)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ModelInfer not observed")
	}
}

// TestPythonGRPCClient calls the service through Debian's python3-grpcio,
// with message classes compiled from proto/inference/grpc_predict_v2.proto
// by grpc_tools.protoc (a client that is not ours). Under CI=true a
// missing python3-grpcio or python3-grpc-tools fails the test.
func TestPythonGRPCClient(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc_tools, grpc").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true needs python3-grpc-tools and python3-grpcio: %v", err)
		}
		t.Skip("python3 grpc_tools not installed (apt-get install -y python3-grpc-tools python3-grpcio)")
	}
	h := newHarness(t, harnessOpts{})
	protoRoot, err := filepath.Abs("../../proto")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/python_client.py", protoRoot, t.TempDir(), h.gaddr, "m").CombinedOutput()
	t.Logf("python client:\n%s", out)
	if err != nil {
		t.Fatalf("python client: %v", err)
	}
	if !slices.Contains(strings.Split(strings.TrimSpace(string(out)), "\n"), "PYTHON KSERVE CLIENT OK") {
		t.Fatal("python client did not finish")
	}
}

// TestAdmissionShared checks that REST and gRPC infer take their turn from
// the limiter TF Serving's APIs use: with its one slot held, REST infer is
// 503 with Retry-After and ModelInfer RESOURCE_EXHAUSTED; metadata and
// health still answer; once the slot is free both run.
func TestAdmissionShared(t *testing.T) {
	lim := admission.New(admission.Options{Fixed: 1})
	h := newHarness(t, harnessOpts{kserve: func(o *kserve.Options) { o.Admission = lim },
		grpc: func(o *grpcapi.Options) { o.Admission = lim }})
	tk, err := lim.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}`)
	greq := &kservepb.ModelInferRequest{ModelName: "m", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1, 1}, Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{1}}}}}
	r := h.do(t, "POST", "/v2/models/m/infer", nil, body)
	if r.code != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), `"error":`) {
		t.Errorf("REST infer while full: %d %v %s", r.code, r.header, r.body)
	}
	_, err = h.client.ModelInfer(context.Background(), greq)
	wantCode(t, "ModelInfer while full", err, codes.ResourceExhausted, "")
	if r := h.do(t, "GET", "/v2/models/m", nil, nil); r.code != 200 {
		t.Errorf("metadata while full: %d", r.code)
	}
	if _, err := h.client.ModelMetadata(context.Background(), &kservepb.ModelMetadataRequest{Name: "m"}); err != nil {
		t.Errorf("ModelMetadata while full: %v", err)
	}
	tk.Release(false)
	if r := h.do(t, "POST", "/v2/models/m/infer", nil, body); r.code != 200 {
		t.Errorf("REST infer after release: %d %s", r.code, r.body)
	}
	if _, err := h.client.ModelInfer(context.Background(), greq); err != nil {
		t.Errorf("ModelInfer after release: %v", err)
	}
}

// TestPerClientLimit: a client over --admission_max_in_flight_per_client
// gets 429 with Retry-After on REST infer and RESOURCE_EXHAUSTED naming
// the flag on ModelInfer.
func TestPerClientLimit(t *testing.T) {
	lim := admission.New(admission.Options{Fixed: 4, MaxPerClient: 1})
	h := newHarness(t, harnessOpts{kserve: func(o *kserve.Options) { o.Admission = lim },
		grpc: func(o *grpcapi.Options) { o.Admission = lim }})
	tk, err := lim.AcquireFrom(context.Background(), netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}`)
	r := h.do(t, "POST", "/v2/models/m/infer", nil, body)
	if r.code != 429 || r.header.Get("Retry-After") != "1" || !strings.Contains(string(r.body), "--admission_max_in_flight_per_client=1") {
		t.Errorf("REST infer over the client's limit: %d %v %s", r.code, r.header, r.body)
	}
	greq := &kservepb.ModelInferRequest{ModelName: "m", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "FP32", Shape: []int64{1, 1}, Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{1}}}}}
	_, err = h.client.ModelInfer(context.Background(), greq)
	wantCode(t, "ModelInfer over the client's limit", err, codes.ResourceExhausted, "--admission_max_in_flight_per_client=1")
	tk.Release(false)
	if r := h.do(t, "POST", "/v2/models/m/infer", nil, body); r.code != 200 {
		t.Errorf("REST infer after release: %d %s", r.code, r.body)
	}
}
