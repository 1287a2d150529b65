package kserve_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/kserve"
)

// fuzzLimits keep each fuzzed request cheap.
var fuzzLimits = limits.Request{MaxElements: 1 << 12, MaxBytes: 1 << 16, MaxJSONDepth: 32, MaxResponseBytes: 1 << 16}

// FuzzRESTInfer posts arbitrary bodies and Inference-Header-Content-Length
// values to infer (model m, both signatures reachable through
// signature_name): the handler must answer, with a JSON error or a
// well-formed (JSON or binary) response, and never panic.
func FuzzRESTInfer(f *testing.F) {
	h := newHarness(f, harnessOpts{restBody: 1 << 16, kserve: func(o *kserve.Options) { o.Limits = fuzzLimits }})
	for _, s := range []struct{ header, bin string }{
		{`{"inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","data":[1,2,5]}]}`, ""},
		{`{"id":"1","parameters":{"binary_data_output":true},"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`, "\x00\x00\x80\x3f\x00\x00\x00\x40"},
		{`{"parameters":{"signature_name":"multi"},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":"INT64","data":[2]},{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}],"outputs":[{"name":"echo_bytes","parameters":{"binary_data":true}}]}`, "\x02\x00\x00\x00hi"},
		{`{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[[[[1]]]]}]}`, ""},
	} {
		hlen := -1
		if s.bin != "" {
			hlen = len(s.header)
		}
		f.Add([]byte(s.header+s.bin), hlen)
	}
	f.Fuzz(func(t *testing.T, body []byte, hlen int) {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v2/models/m/versions/1/infer")
		ctx.Request.SetBody(body)
		if hlen >= 0 {
			ctx.Request.Header.Set(kserve.HeaderContentLength, strconv.Itoa(hlen))
		}
		h.ks.HandleHTTP(ctx)
		code := ctx.Response.StatusCode()
		out := ctx.Response.Body()
		switch string(ctx.Response.Header.ContentType()) {
		case "application/json":
			if !json.Valid(out) {
				t.Fatalf("%d: invalid JSON %q", code, out)
			}
			if code != 200 {
				var e struct{ Error string }
				if json.Unmarshal(out, &e) != nil || e.Error == "" {
					t.Fatalf("%d: error body %q", code, out)
				}
			}
		case "application/octet-stream":
			n, err := strconv.Atoi(string(ctx.Response.Header.Peek(kserve.HeaderContentLength)))
			if code != 200 || err != nil || n > len(out) || !json.Valid(out[:n]) {
				t.Fatalf("%d: binary response %q with header length %v", code, out, err)
			}
		default:
			t.Fatalf("%d: Content-Type %q", code, ctx.Response.Header.ContentType())
		}
		if code == 500 {
			t.Fatalf("internal error: %s", out)
		}
	})
}

// FuzzGRPCInfer calls ModelInfer with arbitrary (decoded) requests; it must
// answer or fail with a status error that is not INTERNAL or UNKNOWN, and
// never panic.
func FuzzGRPCInfer(f *testing.F) {
	h := newHarness(f, harnessOpts{kserve: func(o *kserve.Options) { o.Limits = fuzzLimits }})
	for _, r := range []*kservepb.ModelInferRequest{
		{ModelName: "m", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 1},
			Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{1, 2}}}}},
		{ModelName: "m", ModelVersion: "1", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 1}}},
			RawInputContents: [][]byte{{0, 0, 0x80, 0x3f}}},
		{ModelName: "m", Parameters: map[string]*kservepb.InferParameter{"signature_name": {ParameterChoice: &kservepb.InferParameter_StringParam{StringParam: "multi"}}},
			Inputs:           []*kservepb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1}}, {Name: "b", Datatype: "INT64", Shape: []int64{1}}, {Name: "s", Datatype: "BYTES", Shape: []int64{1}}},
			RawInputContents: [][]byte{{0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 'z'}}},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req kservepb.ModelInferRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		_, err := h.ks.ModelInfer(context.Background(), &req)
		if err == nil {
			return
		}
		// grpcapi turns our status errors into gRPC statuses of the same code.
		if c := status.CodeOf(err); c == status.Internal || c == status.Unknown {
			t.Fatalf("ModelInfer: %v", err)
		}
	})
}
