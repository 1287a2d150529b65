package kserve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/kserve"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi"
)

// fixtureServer serves real SavedModels (name -> base path under the
// fixtures) with the real loader over TF Serving's REST API with /v2 and
// gRPC with the KServe service.
func fixtureServer(t *testing.T, models map[string]string) (restBase string, client kservepb.GRPCInferenceServiceClient) {
	t.Helper()
	fx := fixtures.Dir(t)
	mgr, err := manager.New(manager.Options{
		Load: func(ctx context.Context, d string) (servable.Model, error) {
			return loader.Load(ctx, d, loader.Options{})
		},
		OpenSource: func(ctx context.Context, p string) (manager.Source, error) {
			return source.Open(ctx, p, source.Options{})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	var mcs []*servingpb.ModelConfig
	for name, dir := range models {
		mcs = append(mcs, &servingpb.ModelConfig{Name: name, BasePath: filepath.Join(fx, dir), ModelPlatform: "tensorflow"})
	}
	if err := mgr.ReloadConfig(context.Background(), &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}); err != nil {
		t.Fatal(err)
	}
	ks, err := kserve.New(kserve.Options{Models: mgr})
	if err != nil {
		t.Fatal(err)
	}
	base, _, client := serveBoth(t, ks, restapi.Options{Models: mgr, V2: ks.HandleHTTP}, grpcapi.Options{Models: mgr})
	return base, client
}

// flatten returns a nested JSON array's numbers in row-major order and its
// shape.
func flatten(t *testing.T, v any) ([]float32, []int64) {
	t.Helper()
	var shape []int64
	for cur := v; ; {
		a, ok := cur.([]any)
		if !ok {
			break
		}
		shape = append(shape, int64(len(a)))
		if len(a) == 0 {
			break
		}
		cur = a[0]
	}
	var out []float32
	var walk func(any)
	walk = func(x any) { // test data only: its depth is the fixture's rank
		if a, ok := x.([]any); ok {
			for _, e := range a {
				walk(e)
			}
			return
		}
		out = append(out, float32(x.(float64)))
	}
	walk(v)
	return out, shape
}

func post(t *testing.T, url string, hdr map[string]string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.Bytes()
}

// TestFixtureGRUAllForms runs the christopher_stock Keras GRU's golden
// cases through TF Serving's :predict (checked against the golden values)
// and through KServe v2's four forms: REST JSON, REST binary, gRPC typed
// and gRPC raw contents. Every form must give :predict's floats exactly.
func TestFixtureGRUAllForms(t *testing.T) {
	base, gc := fixtureServer(t, map[string]string{
		"gru": "keras/gru/christopher_stock",
		"hp2": "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu"})
	gf, err := golden.Read(filepath.Join(fixtures.Dir(t), "keras/gru/christopher_stock/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	for ci, c := range gf.Cases {
		code, _, v1 := post(t, base+"/v1/models/gru:predict", nil, c.Request)
		if code != 200 {
			t.Fatalf("case %d: :predict %d %s", ci, code, v1)
		}
		if err := c.Check(v1); err != nil {
			t.Fatalf("case %d: :predict vs golden: %v", ci, err)
		}
		// Row ("instances" -> "predictions") or columnar ("inputs" ->
		// "outputs") format; one input and one output either way.
		var pr struct{ Predictions, Outputs any }
		var rq struct{ Instances, Inputs any }
		json.Unmarshal(v1, &pr)
		json.Unmarshal(c.Request, &rq)
		if pr.Predictions == nil {
			pr.Predictions, rq.Instances = pr.Outputs, rq.Inputs
			if m, ok := rq.Inputs.(map[string]any); ok {
				rq.Instances = m["input_2"]
			}
		}
		want, wantShape := flatten(t, pr.Predictions)
		in, inShape := flatten(t, rq.Instances)

		check := func(form string, got []float32, shape []int64) {
			t.Helper()
			if len(got) != len(want) || !equalInts(shape, wantShape) {
				t.Errorf("case %d %s: %v shape %v, want %v shape %v", ci, form, got, shape, want, wantShape)
				return
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("case %d %s: %v, want :predict's %v", ci, form, got, want)
					return
				}
			}
		}
		// REST JSON.
		js, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "input_2", "shape": inShape, "datatype": "FP32", "data": in}}})
		code, _, b := post(t, base+"/v2/models/gru/infer", nil, js)
		var resp struct {
			Outputs []struct {
				Name, Datatype string
				Shape          []int64
				Data           []float32
			}
		}
		if code != 200 || json.Unmarshal(b, &resp) != nil || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "dense_3" {
			t.Fatalf("case %d REST JSON: %d %s", ci, code, b)
		}
		check("REST JSON", resp.Outputs[0].Data, resp.Outputs[0].Shape)
		// REST binary both ways.
		hdr := `{"inputs":[{"name":"input_2","shape":` + ints(inShape) + `,"datatype":"FP32","parameters":{"binary_data_size":` +
			strconv.Itoa(4*len(in)) + `}}],"outputs":[{"name":"dense_3","parameters":{"binary_data":true}}]}`
		code, h, b := post(t, base+"/v2/models/gru/infer", map[string]string{kserve.HeaderContentLength: strconv.Itoa(len(hdr))},
			append([]byte(hdr), f32bytes(in...)...))
		n, _ := strconv.Atoi(h.Get(kserve.HeaderContentLength))
		if code != 200 || n <= 0 || n > len(b) || json.Unmarshal(b[:n], &resp) != nil {
			t.Fatalf("case %d REST binary: %d %q", ci, code, b)
		}
		check("REST binary", fromF32(b[n:]), resp.Outputs[0].Shape)
		// gRPC typed and raw.
		for _, raw := range []bool{false, true} {
			req := &kservepb.ModelInferRequest{ModelName: "gru", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{
				{Name: "input_2", Datatype: "FP32", Shape: inShape}}}
			if raw {
				req.RawInputContents = [][]byte{f32bytes(in...)}
			} else {
				req.Inputs[0].Contents = &kservepb.InferTensorContents{Fp32Contents: in}
			}
			gr, err := gc.ModelInfer(context.Background(), req)
			if err != nil {
				t.Fatalf("case %d gRPC raw=%v: %v", ci, raw, err)
			}
			got := gr.GetOutputs()[0].GetContents().GetFp32Contents()
			if raw {
				got = fromF32(gr.GetRawOutputContents()[0])
			}
			check("gRPC raw="+strconv.FormatBool(raw), got, gr.GetOutputs()[0].GetShape())
		}
	}

	// half_plus_two: metadata as KServe clients read it, and its version.
	md, err := gc.ModelMetadata(context.Background(), &kservepb.ModelMetadataRequest{Name: "hp2"})
	if err != nil || md.GetVersions()[0] != "123" || md.GetInputs()[0].GetName() != "x" || md.GetInputs()[0].GetDatatype() != "FP32" ||
		!equalInts(md.GetInputs()[0].GetShape(), []int64{-1, 1}) || md.GetOutputs()[0].GetName() != "y" {
		t.Errorf("hp2 metadata: %v %v", md, err)
	}
	code, _, b := post(t, base+"/v2/models/hp2/versions/123/infer", nil,
		[]byte(`{"inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","data":[1,2,5]}]}`))
	if want := `{"model_name":"hp2","model_version":"123","outputs":[{"name":"y","datatype":"FP32","shape":[3,1],"data":[2.5,3.0,4.5]}]}`; code != 200 || string(b) != want {
		t.Errorf("hp2 infer: %d %s, want %s", code, b, want)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ints(s []int64) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func fromF32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}
