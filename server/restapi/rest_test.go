package restapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
)

// twoVersions serves model "m" with versions 1 (y = x + 2) and 2
// (y = 0.5x + 2), policy all, labels stable=1 canary=2.
func twoVersions(t *testing.T, mod func(*Options), tweak func(*fakemodel.HalfPlusTwo)) *harness {
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "1")
	fakemodel.WriteVersion(t, base, 2, "0.5")
	return newHarness(t, configOf(modelConfig("m", base, map[string]int64{"stable": 1, "canary": 2}, true)), mod, tweak)
}

func floats(t *testing.T, body, key string) []float64 {
	t.Helper()
	var m map[string][]float64
	decode(t, body, &m)
	v, ok := m[key]
	if !ok {
		t.Fatalf("no %q in %s", key, body)
	}
	return v
}

func TestRouting(t *testing.T) {
	h := twoVersions(t, nil, nil)
	ok := []struct {
		path string
		want float64 // y for x = 4
	}{
		{"/v1/models/m:predict", 4},                 // latest = 2: 0.5*4+2
		{"/V1/MODELS/m:predict", 4},                 // case-insensitive
		{"/v1/Models/m/Versions/1:predict", 6},      // version 1: 4+2
		{"/v1/models/m/versions/0001:predict", 6},   // digits parse as int64
		{"/v1/models/m/labels/stable:predict", 6},   // label -> 1
		{"/v1/models/m/LABELS/canary:predict", 4},   // label -> 2
		{"/v1/models/%6d:predict", 4},               // URL-decoded name
		{"/v1/models/m/labels/st%61ble:predict", 6}, // URL-decoded label
		{"/v1/models/m/versions/2:predict", 4},
	}
	for _, c := range ok {
		r := h.post(c.path, `{"instances": [[4.0]]}`)
		if r.code != 200 {
			t.Errorf("%s: %d %s", c.path, r.code, r.body)
			continue
		}
		var got map[string][][]float64
		decode(t, r.body, &got)
		if got["predictions"][0][0] != c.want {
			t.Errorf("%s: %s, want %v", c.path, r.body, c.want)
		}
	}
	bad := []struct {
		method, path string
		code         int
		msg          string
	}{
		{"POST", "/v1/models/m:Predict", 400, "Malformed request: POST /v1/models/m:Predict"},
		{"POST", "/v1/models/m", 400, "Malformed request: POST /v1/models/m"},
		{"POST", "/v1/models/m:explain", 400, "Malformed request: POST /v1/models/m:explain"},
		{"POST", "/v1/models/m:predict?x=1", 400, "Malformed request: POST /v1/models/m:predict?x=1"},
		{"POST", "/v1/models/m/versions/x:predict", 400, "Malformed request: POST /v1/models/m/versions/x:predict"},
		{"POST", "/v1/models/m/versions/1/labels/a:predict", 400, "Malformed request"},
		{"POST", "/v1/models//versions/1:predict", 400, "Malformed request"},
		{"PUT", "/v1/models/m:predict", 400, "Malformed request: PUT /v1/models/m:predict"},
		{"DELETE", "/v1/models/m", 400, "Malformed request: DELETE /v1/models/m"},
		{"GET", "/v1/models/m:predict", 400, "Malformed request: GET /v1/models/m:predict"},
		{"GET", "/v1/models/m/versions/1/other", 400, "Malformed request: GET /v1/models/m/versions/1/other"},
		{"GET", "/v1/", 400, "Malformed request: GET /v1/"},
		// GET /v1/models alone lists the models (our extension, models_test.go).
		{"GET", "/v1/models/versions/3", 400, "Missing model name in request."},
		{"GET", "/v1/models/labels/x/metadata", 400, "Missing model name in request."},
		{"POST", "/v1/models/nope:predict", 404, "Servable not found for request: Latest(nope)"},
		{"POST", "/v1/models/m/versions/7:predict", 404, "Servable not found for request: Specific(m, 7)"},
		{"POST", "/v1/models/m/labels/nope:predict", 400, "Unrecognized servable version label: nope"},
		{"GET", "/v1/models/nope", 404, "Could not find any versions of model nope"},
		{"GET", "/v1/models/m/versions/9", 404, "Could not find version 9 of model m"},
		{"GET", "/v1/models/m/versions/9/metadata", 404, "Servable not found for request: Specific(m, 9)"},
		{"GET", "/v1/models/m/labels/nope/metadata", 400, "Unrecognized servable version label: nope"},
		{"POST", "/v1/models/m:classify", 400, "When method is classify, key 'examples' is expected and was not found"},
	}
	for _, c := range bad {
		var body []byte
		if c.method == "POST" {
			body = []byte(`{"instances": [[1.0]]}`)
		}
		r := h.do(c.method, c.path, body, nil)
		h.expectError(r, c.code, c.msg)
	}
	// A version that overflows int64: 400 with an empty body.
	for _, p := range []string{"/v1/models/m/versions/99999999999999999999:predict", "/v1/models/m/versions/99999999999999999999"} {
		method := "POST"
		if !strings.HasSuffix(p, ":predict") {
			method = "GET"
		}
		r := h.do(method, p, []byte(`{"instances":[1]}`), nil)
		if r.code != 400 || r.body != "" {
			t.Errorf("%s %s: %d %q, want 400 and an empty body", method, p, r.code, r.body)
		}
	}
	// Outside /v1/: a bare 404.
	for _, p := range []string{"/", "/v2/models/m", "/v1", "/models/m:predict", "/metrics"} {
		r := h.get(p)
		if r.code != 404 || r.body != "" {
			t.Errorf("GET %s: %d %q, want a bare 404", p, r.code, r.body)
		}
	}
}

func TestPredict(t *testing.T) {
	h := twoVersions(t, nil, nil)
	// Row format, the half_plus_two golden cases (y = 0.5x + 2).
	r := h.post("/v1/models/m:predict", `{"instances": [1.0, 2.0, 5.0]}`)
	if got := floats(t, r.body, "predictions"); !reflect.DeepEqual(got, []float64{2.5, 3, 4.5}) {
		t.Errorf("row: %s", r.body)
	}
	// Integers are accepted for floats.
	r = h.post("/v1/models/m:predict", `{"signature_name": "serving_default", "instances": [[10]]}`)
	if !strings.Contains(r.body, "7.0") || r.code != 200 {
		t.Errorf("int input: %d %s", r.code, r.body)
	}
	// Columnar format answers with "outputs".
	r = h.post("/v1/models/m:predict", `{"inputs": {"x": [[1.0], [2.0]]}}`)
	var col map[string][][]float64
	decode(t, r.body, &col)
	if !reflect.DeepEqual(col["outputs"], [][]float64{{2.5}, {3}}) {
		t.Errorf("columnar: %s", r.body)
	}
	r = h.post("/v1/models/m:predict", `{"inputs": [[4.0], [8.0]]}`)
	decode(t, r.body, &col)
	if !reflect.DeepEqual(col["outputs"], [][]float64{{4}, {6}}) {
		t.Errorf("columnar bare value: %s", r.body)
	}
	// NaN and infinities, in and out, as bare tokens.
	r = h.post("/v1/models/m:predict", `{"instances": [NaN, Infinity, -Infinity, 1e3]}`)
	if r.code != 200 || !strings.Contains(r.body, "NaN") || !strings.Contains(r.body, "-Infinity") || !strings.Contains(r.body, "502.0") {
		t.Errorf("non-finite: %d %s", r.code, r.body)
	}
	// Several outputs, row format: one object per row; _bytes as b64.
	r = h.post("/v1/models/m:predict", `{"signature_name": "multi", "instances": [
		{"a": 1.5, "b": 2, "s": "x"}, {"a": -1, "b": 40, "s": {"b64": "aGVsbG8="}}]}`)
	var rows struct {
		Predictions []struct {
			Sum  float64           `json:"sum"`
			Neg  int64             `json:"neg"`
			Echo map[string]string `json:"echo_bytes"`
		} `json:"predictions"`
	}
	decode(t, r.body, &rows)
	if r.code != 200 || len(rows.Predictions) != 2 || rows.Predictions[0].Sum != 3.5 || rows.Predictions[1].Neg != -40 ||
		rows.Predictions[0].Echo["b64"] != "eA==" || rows.Predictions[1].Echo["b64"] != "aGVsbG8=" {
		t.Errorf("multi row: %d %s", r.code, r.body)
	}
	// Several outputs, columnar: one object keyed by output.
	r = h.post("/v1/models/m:predict", `{"signature_name": "multi", "inputs": {"a": [1, 2], "b": [3, 4], "s": ["p", "q"], "extra": 1}}`)
	var cols struct {
		Outputs struct {
			Sum []float64 `json:"sum"`
			Neg []int64   `json:"neg"`
		} `json:"outputs"`
	}
	decode(t, r.body, &cols)
	if r.code != 200 || !reflect.DeepEqual(cols.Outputs.Sum, []float64{4, 6}) || !reflect.DeepEqual(cols.Outputs.Neg, []int64{-3, -4}) {
		t.Errorf("multi columnar: %d %s", r.code, r.body)
	}

	bad := []struct {
		body string
		code int
		msg  string
	}{
		{`{"instances": [1.0,`, 400, "JSON Parse error"},
		{``, 400, "JSON Parse error: The document is empty"},
		{`[1, 2]`, 400, "Is not object"},
		{`{"signature_name": "nope", "instances": [1]}`, 400, `Serving signature name: "nope" not found in signature def`},
		{`{"signature_name": 100, "instances": [1]}`, 400, "'signature_name' key must be a string value."},
		{`{"instances": ["a"]}`, 400, "not of expected type: float"},
		{`{"instances": [[1], [1, 2]]}`, 400, "Expecting tensor size: 1 but got: 2"},
		{`{"inputs": {"x": [[1], [2, 3]]}}`, 400, "Encountered list at unexpected size: 2 at level: 1 expected size: 1"},
		{`{"foo": 1}`, 400, "Missing 'inputs' or 'instances' key"},
		{`{"signature_name": "multi", "inputs": {"a": [1], "s": ["x"]}}`, 400, "Missing named input: b"},
		{`{"signature_name": "multi", "instances": [{"a": 1, "b": 2}]}`, 400, "keys must be equal to: a,b,s"},
		{`{"signature_name": "multi", "inputs": {"a": [1], "b": [2], "s": [{"b64": "%%%"}]}}`, 400, "base64"},
		{`{"signature_name": "scalar", "instances": [1, 2]}`, 400, "Tensor name: y has no shape information"},
		// The panic value stays in the log (see TestPanicRecovered).
		{`{"signature_name": "panic", "instances": [1]}`, 500, "Internal error (id "},
	}
	for _, c := range bad {
		r := h.post("/v1/models/m:predict", c.body)
		h.expectError(r, c.code, c.msg)
	}
	// The server is still up after the panic.
	r = h.post("/v1/models/m:predict", `{"instances": [2.0]}`)
	if got := floats(t, r.body, "predictions"); !reflect.DeepEqual(got, []float64{3}) {
		t.Errorf("after panic: %s", r.body)
	}
	// A rank-0 output is fine in columnar format.
	r = h.post("/v1/models/m:predict", `{"signature_name": "scalar", "inputs": [1, 2, 3.5]}`)
	var sc map[string]float64
	decode(t, r.body, &sc)
	if r.code != 200 || sc["outputs"] != 6.5 {
		t.Errorf("scalar columnar: %d %s", r.code, r.body)
	}
}

func TestMethodNameCheck(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.EnableSignatureMethodNameCheck = true }, nil)
	r := h.post("/v1/models/m:regress", `{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]}`)
	h.expectError(r, 400, "Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/classify")
	r = h.post("/v1/models/m:classify", `{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}`)
	h.expectError(r, 400, "Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/regress")
	// Predict accepts classify/regress signatures but not others.
	r = h.post("/v1/models/m:predict", `{"signature_name": "regress_x2_to_y3", "instances": [[1.0]]}`)
	if r.code != 200 {
		t.Errorf("predict on a regress signature: %d %s", r.code, r.body)
	}
}

func TestClassifyRegress(t *testing.T) {
	h := twoVersions(t, nil, nil)
	// classify_x_to_y has only scores: labels are empty.
	r := h.post("/v1/models/m:classify", `{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}, {"x": 2.0}]}`)
	var cls struct {
		Results [][][]any `json:"results"`
	}
	decode(t, r.body, &cls)
	if r.code != 200 || len(cls.Results) != 2 || cls.Results[0][0][0] != "" || cls.Results[0][0][1] != 2.5 || cls.Results[1][0][1] != 3.0 {
		t.Errorf("classify scores only: %d %s", r.code, r.body)
	}
	// classes + scores: y = 0.5x+2, s = y/10 -> [["lo", 1-s], ["hi", s]].
	r = h.post("/v1/models/m:classify", `{"signature_name": "classify_classes", "examples": [{"x": 1.0}]}`)
	decode(t, r.body, &cls)
	if r.code != 200 || len(cls.Results) != 1 || cls.Results[0][0][0] != "lo" || cls.Results[0][1][0] != "hi" ||
		math.Abs(cls.Results[0][0][1].(float64)-0.75) > 1e-6 || math.Abs(cls.Results[0][1][1].(float64)-0.25) > 1e-6 {
		t.Errorf("classify classes: %d %s", r.code, r.body)
	}
	// Regress; context features merge under each example's.
	r = h.post("/v1/models/m:regress", `{"signature_name": "regress_x_to_y", "context": {"x": 5.0}, "examples": [{}, {"x": 1.0}]}`)
	if got := floats(t, r.body, "results"); r.code != 200 || !reflect.DeepEqual(got, []float64{4.5, 2.5}) {
		t.Errorf("regress: %d %s", r.code, r.body)
	}
	r = h.post("/v1/models/m/versions/1:regress", `{"signature_name": "regress_x_to_y2", "examples": [{"x": 1.0}]}`)
	if got := floats(t, r.body, "results"); r.code != 200 || !reflect.DeepEqual(got, []float64{4}) {
		t.Errorf("regress v1 y2 = x + 3: %d %s", r.code, r.body)
	}
	bad := []struct {
		path, body string
		code       int
		msg        string
	}{
		{":regress", `{"signature_name": "nope", "examples": [{"x": 1.0}]}`, 400, "No signature was found with the name: nope"},
		{":regress", `{"signature_name": "classify_classes", "examples": [{"x": 1.0}]}`, 400, "Expected one output Tensor."},
		{":regress", `{"signature_name": "multi", "examples": [{"x": 1.0}]}`, 400, "Expected one input Tensor."},
		{":classify", `{"signature_name": "multi", "examples": [{"x": 1.0}]}`, 400, "Expected one input Tensor."},
		{":classify", `{"signature_name": "serving_default", "examples": [{"x": 1.0}]}`, 400, "No classification inputs found in SignatureDef: inputs {\n  key: \"x\""},
		{":regress", `{"signature_name": "serving_default", "examples": [{"x": 1.0}]}`, 400, "No regression inputs found in SignatureDef"},
		{":regress", `{"signature_name": "regress_x_to_y", "examples": [{"x": "a"}]}`, 400, "feature x has 0 floats"},
		{":regress", `{"signature_name": "regress_x_to_y", "examples": [{"x": [1.0, "a"]}]}`, 400, "Unexpected element type in feature: x"},
		{":regress", `{"signature_name": "regress_x_to_y", "examples": 3}`, 400, ""},
		{":classify", `{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}], `, 400, "JSON Parse error"},
		{"/versions/5:classify", `{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]}`, 404, "Servable not found for request: Specific(m, 5)"},
	}
	for _, c := range bad {
		path := "/v1/models/m" + c.path
		r := h.post(path, c.body)
		h.expectError(r, c.code, c.msg)
	}
}

func TestStatusAndMetadata(t *testing.T) {
	h := twoVersions(t, nil, nil)
	want := map[string]any{"model_version_status": []any{
		map[string]any{"version": "2", "state": "AVAILABLE", "status": map[string]any{"error_code": "OK", "error_message": ""}},
		map[string]any{"version": "1", "state": "AVAILABLE", "status": map[string]any{"error_code": "OK", "error_message": ""}},
	}}
	for _, p := range []string{"/v1/models/m", "/v1/models/m/labels/stable", "/v1/models/m/labels/anything", "/v1/models/m/METADATA"} {
		r := h.get(p)
		var got map[string]any
		decode(t, r.body, &got)
		if r.code != 200 || !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s: %d %s", p, r.code, r.body)
		}
	}
	r := h.get("/v1/models/m/versions/1")
	var one map[string][]map[string]any
	decode(t, r.body, &one)
	if r.code != 200 || len(one["model_version_status"]) != 1 || one["model_version_status"][0]["version"] != "1" {
		t.Errorf("status of version 1: %s", r.body)
	}
	// Metadata: model_spec plus the signature map; label and version forms.
	for p, v := range map[string]string{"/v1/models/m/metadata": "2", "/v1/models/m/labels/stable/metadata": "1", "/v1/models/m/versions/1/metadata": "1"} {
		r := h.get(p)
		var md struct {
			ModelSpec map[string]string `json:"model_spec"`
			Metadata  struct {
				SignatureDef struct {
					SignatureDef map[string]any `json:"signature_def"`
				} `json:"signature_def"`
			} `json:"metadata"`
		}
		decode(t, r.body, &md)
		if r.code != 200 || md.ModelSpec["version"] != v || md.ModelSpec["name"] != "m" || len(md.Metadata.SignatureDef.SignatureDef) == 0 {
			t.Errorf("GET %s: %d %s", p, r.code, r.body)
		}
	}
}

// TestMetadataMatchesTFServing compares our metadata JSON with TF Serving's
// own expected response for half_plus_two (model "default", version 123),
// signature by signature.
func TestMetadataMatchesTFServing(t *testing.T) {
	path := fixtures.Path(t, "tfserving/servables/tensorflow/testdata/half_plus_two_model_metadata.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 123, "0.5")
	h := newHarness(t, configOf(modelConfig("default", base, nil, false)), nil, nil)
	r := h.get("/v1/models/default/metadata")
	var got map[string]any
	decode(t, r.body, &got)
	if !reflect.DeepEqual(got["model_spec"], want["model_spec"]) {
		t.Errorf("model_spec: got %v want %v", got["model_spec"], want["model_spec"])
	}
	sigs := func(m map[string]any) map[string]any {
		return m["metadata"].(map[string]any)["signature_def"].(map[string]any)["signature_def"].(map[string]any)
	}
	gs, ws := sigs(got), sigs(want)
	for name, w := range ws {
		if !reflect.DeepEqual(gs[name], w) {
			gj, _ := json.MarshalIndent(gs[name], "", " ")
			wj, _ := json.MarshalIndent(w, "", " ")
			t.Errorf("signature %s:\ngot  %s\nwant %s", name, gj, wj)
		}
	}
	// The init op is printed as in the TF2 fixture.
	path2 := fixtures.Path(t, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_tf2_2_versions_metadata.json")
	raw2, _ := os.ReadFile(path2)
	var want2 map[string]any
	if err := json.Unmarshal(raw2, &want2); err != nil {
		t.Fatal(err)
	}
	if w, g := sigs(want2)["__saved_model_init_op"], gs["__saved_model_init_op"]; !reflect.DeepEqual(w, g) {
		t.Errorf("__saved_model_init_op: got %v want %v", g, w)
	}
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

func TestGzipAndBodyLimit(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.MaxBodyBytes = 4096 }, nil)
	r := h.do("POST", "/v1/models/m:predict", gzipped(t, `{"instances": [1.0, 2.0]}`), map[string]string{"Content-Encoding": "gzip"})
	if got := floats(t, r.body, "predictions"); r.code != 200 || !reflect.DeepEqual(got, []float64{2.5, 3}) {
		t.Errorf("gzip: %d %s", r.code, r.body)
	}
	r = h.do("POST", "/v1/models/m:predict", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"})
	h.expectError(r, 400, "Failed to uncompress the gzipped body")
	// Over the limit, plain.
	big := `{"instances": [` + strings.Repeat("1.0, ", 1000) + `1.0]}`
	r = h.post("/v1/models/m:predict", big)
	h.expectError(r, 413, "larger than the limit of 4096 bytes")
	// Over the limit once decompressed (a small gzip of a big body).
	r = h.do("POST", "/v1/models/m:predict", gzipped(t, big), map[string]string{"Content-Encoding": "gzip"})
	h.expectError(r, 413, "Uncompressed request body is larger than the limit of 4096 bytes")
	// Under the limit still works afterwards.
	r = h.post("/v1/models/m:predict", `{"instances": [0.0]}`)
	if r.code != 200 {
		t.Errorf("after 413: %d %s", r.code, r.body)
	}
}

// TestTimeout: a run that outlives --rest_api_timeout_in_ms is answered 504
// when the timeout passes. The sleeping run ends only when the test ends
// (not on a timer that a loaded machine could let fire first), and the
// timeout is long enough that a slow machine still answers the fast
// request within it.
func TestTimeout(t *testing.T) {
	hold := make(chan struct{})
	h := twoVersions(t, func(o *Options) { o.Timeout = time.Second }, func(m *fakemodel.HalfPlusTwo) {
		m.Hold = hold
		m.IgnoreCtx = true // keeps running past the deadline: the server must stop waiting
	})
	t.Cleanup(func() { close(hold) }) // before the harness's shutdown
	r := h.post("/v1/models/m:predict", `{"signature_name": "sleep", "instances": [1.0]}`)
	h.expectError(r, 504, "Deadline Exceeded")
	// Fast signatures are unaffected.
	r = h.post("/v1/models/m:predict", `{"instances": [1.0]}`)
	if r.code != 200 {
		t.Errorf("fast request: %d %s", r.code, r.body)
	}
}

func TestCORS(t *testing.T) {
	h := twoVersions(t, nil, nil)
	r := h.post("/v1/models/m:predict", `{"instances": [1.0]}`)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without --rest_api_enable_cors_support")
	}
	h2 := twoVersions(t, func(o *Options) { o.EnableCORS = true }, nil)
	for _, r := range []reply{h2.post("/v1/models/m:predict", `{"instances": [1.0]}`), h2.get("/v1/models/nope")} {
		if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Methods") != "POST, GET" ||
			r.header.Get("Access-Control-Allow-Headers") != "Content-Type" {
			t.Errorf("CORS headers missing: %v", r.header)
		}
	}
	r = h2.do("OPTIONS", "/v1/models/m:predict", nil, map[string]string{"Origin": "https://app.example"})
	if r.code != 200 || r.body != "" || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %q %v", r.code, r.body, r.header)
	}
	r = h2.do("OPTIONS", "/v1/models/m:predict", nil, nil)
	if r.code != 400 {
		t.Errorf("preflight without Origin: %d", r.code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "1")
	h := newHarness(t, configOf(modelConfig("m", base, nil, false)), nil, nil)
	if r := h.get("/healthz"); r.code != 200 {
		t.Errorf("healthz: %d", r.code)
	}
	if r := h.get("/readyz"); r.code != 200 {
		t.Errorf("readyz: %d %s", r.code, r.body)
	}
	missing := filepath.Join(base, "missing")
	h2 := newHarness(t, configOf(modelConfig("m", base, nil, false), modelConfig("broken", missing, nil, false)), nil, nil)
	r := h2.get("/readyz")
	var body struct {
		NotAvailable []string `json:"models_not_available"`
	}
	decode(t, r.body, &body)
	if r.code != 503 || !reflect.DeepEqual(body.NotAvailable, []string{"broken"}) {
		t.Errorf("readyz with a broken model: %d %s", r.code, r.body)
	}
	if r := h2.get("/healthz"); r.code != 200 {
		t.Errorf("healthz with a broken model: %d", r.code)
	}
	// The healthy model is unaffected by the broken one.
	if r := h2.post("/v1/models/m:predict", `{"instances": [1.0]}`); r.code != 200 {
		t.Errorf("healthy model: %d %s", r.code, r.body)
	}
	// Once the broken model's directory appears, it loads and readyz turns 200.
	fakemodel.WriteVersion(t, base, 2, "1") // new version for m too
	if err := os.MkdirAll(missing, 0o755); err != nil {
		t.Fatal(err)
	}
	fakemodel.WriteVersion(t, missing, 5, "2")
	eventually(t, "readyz 200", func() bool { return h2.get("/readyz").code == 200 })
}

// TestSwapsUnderHTTPLoad swaps versions 20 times while clients send
// predicts over HTTP: no request may fail.
func TestSwapsUnderHTTPLoad(t *testing.T) {
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "1")
	h := newHarness(t, configOf(modelConfig("m", base, nil, false)), nil, nil)
	var (
		stop     atomic.Bool
		ok, fail atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			for !stop.Load() {
				r := h.post("/v1/models/m:predict", `{"instances": [2.0]}`)
				var p map[string][]float64
				if r.code != 200 || json.Unmarshal([]byte(r.body), &p) != nil || len(p["predictions"]) != 1 {
					fail.Add(1)
					firstErr.CompareAndSwap(nil, r.body)
					continue
				}
				// y = A*2 + 2 with A the version number.
				if y := p["predictions"][0]; y < 4 || y > 2*21+2 || math.Mod(y, 2) != 0 {
					fail.Add(1)
					firstErr.CompareAndSwap(nil, r.body)
					continue
				}
				ok.Add(1)
			}
		})
	}
	latest := func() string {
		r := h.get("/v1/models/m/metadata")
		var md struct {
			ModelSpec map[string]string `json:"model_spec"`
		}
		_ = json.Unmarshal([]byte(r.body), &md)
		return md.ModelSpec["version"]
	}
	for v := int64(2); v <= 21; v++ {
		fakemodel.WriteVersion(t, base, v, itoa(v))
		eventually(t, "swap", func() bool { return latest() == itoa(v) })
		os.RemoveAll(filepath.Join(base, itoa(v-1)))
	}
	stop.Store(true)
	wg.Wait()
	if fail.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d failed of %d; first failure: %v", fail.Load(), fail.Load()+ok.Load(), firstErr.Load())
	}
	t.Logf("%d predicts over HTTP during 20 swaps", ok.Load())
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestFailedVersionInStatus: a version that fails to load is END with its
// error in the status JSON while the previous version keeps serving.
func TestFailedVersionInStatus(t *testing.T) {
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "1")
	h := newHarness(t, configOf(modelConfig("m", base, nil, false)), nil, nil)
	fakemodel.WriteVersion(t, base, 2, "not-a-number")
	var st struct {
		MVS []struct {
			Version string `json:"version"`
			State   string `json:"state"`
			Status  struct {
				Code string `json:"error_code"`
				Msg  string `json:"error_message"`
			} `json:"status"`
		} `json:"model_version_status"`
	}
	eventually(t, "v2 END", func() bool {
		decode(t, h.get("/v1/models/m").body, &st)
		return len(st.MVS) == 2 && st.MVS[0].State == "END"
	})
	if st.MVS[0].Version != "2" || st.MVS[0].Status.Code != "UNKNOWN" || !strings.Contains(st.MVS[0].Status.Msg, "bad model file") ||
		st.MVS[1].Version != "1" || st.MVS[1].State != "AVAILABLE" || st.MVS[1].Status.Code != "OK" {
		t.Fatalf("status %+v", st)
	}
	r := h.post("/v1/models/m:predict", `{"instances": [1.0]}`)
	if got := floats(t, r.body, "predictions"); !reflect.DeepEqual(got, []float64{3}) {
		t.Fatalf("v1 not serving: %s", r.body)
	}
}

// TestRunsCarryWorkerSlot: predict, classify and regress run their model
// with the request's --rest_api_num_threads worker in the context, held,
// so that a batching queue can give it back while it waits.
func TestRunsCarryWorkerSlot(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.MaxConcurrentRequests = 3 }, nil)
	for _, c := range []struct{ path, body string }{
		{"/v1/models/m/versions/2:predict", `{"instances": [1.0]}`},
		{"/v1/models/m/versions/2:classify", `{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]}`},
		{"/v1/models/m/versions/2:regress", `{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}`},
	} {
		if r := h.post(c.path, c.body); r.code != 200 {
			t.Fatalf("%s: %d %s", c.path, r.code, r.body)
		}
	}
	var runs, withSlot int64
	for _, m := range h.fakes.Made() {
		runs += m.Runs.Load()
		withSlot += m.RunsWithSlot.Load()
	}
	if runs != 3 || withSlot != 3 {
		t.Errorf("%d runs, %d with a held worker slot; want 3 and 3", runs, withSlot)
	}
	if n := h.srv.pool.InUse(); n != 0 {
		t.Errorf("%d workers still held after the requests", n)
	}
}
