package kserve_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/server/kserve"
	"github.com/tfserve/tfserve/server/restapi"
)

func TestRESTHealthAndServerMetadata(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, p := range []string{"/v2/health/live", "/v2/health/ready"} {
		if r := h.do(t, "GET", p, nil, nil); r.code != 200 || len(r.body) != 0 {
			t.Errorf("GET %s: %d %q, want 200 and no body", p, r.code, r.body)
		}
		if r := h.do(t, "POST", p, nil, nil); r.code != 405 || string(r.body) != `{"error":"Method Not Allowed"}` {
			t.Errorf("POST %s: %d %s", p, r.code, r.body)
		}
	}
	r := h.do(t, "GET", "/v2", nil, nil)
	want := `{"name":"tfserve","version":"test-1","extensions":["binary_tensor_data"]}`
	if r.code != 200 || string(r.body) != want || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /v2: %d %s %q, want %s", r.code, r.body, r.header.Get("Content-Type"), want)
	}
	for _, p := range []string{"/v2/", "/v2/health", "/v2/models", "/v2/models/m/stats", "/v2/models/m/versions/1/x", "/v2/repository/index"} {
		if r := h.do(t, "GET", p, nil, nil); r.code != 404 || string(r.body) != `{"error":"Not Found"}` {
			t.Errorf("GET %s: %d %s, want 404", p, r.code, r.body)
		}
	}
	// TF Serving's API is untouched.
	if r := h.do(t, "POST", "/v1/models/m/versions/1:predict", nil, []byte(`{"instances": [1.0]}`)); r.code != 200 ||
		!strings.Contains(string(r.body), "2.5") {
		t.Errorf("v1 predict: %d %s", r.code, r.body)
	}
}

func TestRESTModelMetadataAndReady(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	want := `{"name":"m","versions":["1","2"],"platform":"tensorflow_savedmodel",` +
		`"inputs":[{"name":"x","datatype":"FP32","shape":[-1,1]}],"outputs":[{"name":"y","datatype":"FP32","shape":[-1,1]}]}`
	for _, p := range []string{"/v2/models/m", "/v2/models/m/versions/1", "/v2/models/m/versions/stable"} {
		r := h.do(t, "GET", p, nil, nil)
		if r.code != 200 || string(r.body) != want {
			t.Errorf("GET %s: %d %s\nwant %s", p, r.code, r.body, want)
		}
	}
	for p, code := range map[string]int{
		"/v2/models/nope": 404, "/v2/models/m/versions/7": 404, "/v2/models/m/versions/canary": 400,
		"/v2/models/m/versions/99999999999999999999": 400,
	} {
		r := h.do(t, "GET", p, nil, nil)
		var e struct{ Error string }
		if r.code != code || json.Unmarshal(r.body, &e) != nil || e.Error == "" {
			t.Errorf("GET %s: %d %s, want %d and an error", p, r.code, r.body, code)
		}
	}
	for p, code := range map[string]int{
		"/v2/models/m/ready": 200, "/v2/models/m/versions/2/ready": 200, "/v2/models/m/versions/stable/ready": 200,
		"/v2/models/m/versions/3/ready": 400, "/v2/models/nope/ready": 400, "/v2/models/m/versions/canary/ready": 400,
	} {
		if r := h.do(t, "GET", p, nil, nil); r.code != code {
			t.Errorf("GET %s: %d %s, want %d", p, r.code, r.body, code)
		}
	}
	if r := h.do(t, "POST", "/v2/models/m", nil, nil); r.code != 405 {
		t.Errorf("POST metadata: %d", r.code)
	}
	if r := h.do(t, "GET", "/v2/models/m/infer", nil, nil); r.code != 405 {
		t.Errorf("GET infer: %d", r.code)
	}
}

func TestRESTInferJSON(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cases := []struct{ path, body, want string }{
		{"/v2/models/m/versions/1/infer",
			`{"id":"42","inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","data":[1,2,5]}]}`,
			`{"id":"42","model_name":"m","model_version":"1","outputs":[{"name":"y","datatype":"FP32","shape":[3,1],"data":[2.5,3.0,4.5]}]}`},
		// Nested data, latest version (2: y = 3x + 2), no id.
		{"/v2/models/m/infer",
			`{"inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","data":[[1],[2],[5.5]]}]}`,
			`{"model_name":"m","model_version":"2","outputs":[{"name":"y","datatype":"FP32","shape":[3,1],"data":[5.0,8.0,18.5]}]}`},
		// A label; outputs requested by name; unknown parameters ignored.
		{"/v2/models/m/versions/stable/infer",
			`{"parameters":{"priority":1},"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[-4]}],"outputs":[{"name":"y"}]}`,
			`{"model_name":"m","model_version":"1","outputs":[{"name":"y","datatype":"FP32","shape":[1,1],"data":[0.0]}]}`},
		// Another signature (our extension): FP32, INT64 and BYTES, a subset of outputs in the order asked.
		{"/v2/models/m/versions/1/infer",
			`{"parameters":{"signature_name":"multi"},"inputs":[` +
				`{"name":"a","shape":[2],"datatype":"FP32","data":[1.5,2]},` +
				`{"name":"s","shape":[2],"datatype":"BYTES","data":["hi","\u00e9\"\n"]},` +
				`{"name":"b","shape":[2],"datatype":"INT64","data":[3,-9007199254740993]}],` +
				`"outputs":[{"name":"neg"},{"name":"echo_bytes"},{"name":"sum"}]}`,
			`{"model_name":"m","model_version":"1","outputs":[` +
				`{"name":"neg","datatype":"INT64","shape":[2],"data":[-3,9007199254740993]},` +
				`{"name":"echo_bytes","datatype":"BYTES","shape":[2],"data":["hi","é\"\n"]},` +
				`{"name":"sum","datatype":"FP32","shape":[2],"data":[4.5,-9.00719925e+15]}]}`},
	}
	for _, c := range cases {
		r := h.do(t, "POST", c.path, map[string]string{"Content-Type": "application/json"}, []byte(c.body))
		if r.code != 200 || string(r.body) != c.want || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s %s:\n got %d %s\nwant %s", c.path, c.body, r.code, r.body, c.want)
		}
	}
	// gzip request bodies.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(cases[0].body))
	zw.Close()
	r := h.do(t, "POST", cases[0].path, map[string]string{"Content-Encoding": "gzip"}, zb.Bytes())
	if r.code != 200 || string(r.body) != cases[0].want {
		t.Errorf("gzip: %d %s", r.code, r.body)
	}
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func i64bytes(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func bytesElems(v ...string) []byte {
	var b []byte
	for _, s := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// binaryBody is a JSON header followed by binary data.
func binaryBody(header string, data ...[]byte) (map[string]string, []byte) {
	body := []byte(header)
	for _, d := range data {
		body = append(body, d...)
	}
	return map[string]string{kserve.HeaderContentLength: strconv.Itoa(len(header)),
		"Content-Type": "application/octet-stream"}, body
}

// splitBinary splits a response at Inference-Header-Content-Length.
func splitBinary(t *testing.T, r reply) (string, []byte) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get(kserve.HeaderContentLength))
	if err != nil || n > len(r.body) {
		t.Fatalf("response %d %q: bad %s %q", r.code, r.body, kserve.HeaderContentLength, r.header.Get(kserve.HeaderContentLength))
	}
	if r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("binary response Content-Type %q", r.header.Get("Content-Type"))
	}
	return string(r.body[:n]), r.body[n:]
}

func TestRESTInferBinary(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// Binary in, binary out (binary_data_output).
	hdr, body := binaryBody(`{"id":"b1","parameters":{"binary_data_output":true},`+
		`"inputs":[{"name":"x","shape":[3,1],"datatype":"FP32","parameters":{"binary_data_size":12}}]}`,
		f32bytes(1, 2, 5))
	r := h.do(t, "POST", "/v2/models/m/versions/1/infer", hdr, body)
	js, bin := splitBinary(t, r)
	wantJS := `{"id":"b1","model_name":"m","model_version":"1","outputs":[{"name":"y","datatype":"FP32","shape":[3,1],"parameters":{"binary_data_size":12}}]}`
	if r.code != 200 || js != wantJS || !bytes.Equal(bin, f32bytes(2.5, 3, 4.5)) {
		t.Errorf("binary in and out:\n got %d %s %v\nwant %s %v", r.code, js, bin, wantJS, f32bytes(2.5, 3, 4.5))
	}

	// Binary in, JSON out: no Inference-Header-Content-Length in the answer.
	hdr, body = binaryBody(`{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}`,
		f32bytes(0, 1))
	r = h.do(t, "POST", "/v2/models/m/versions/2/infer", hdr, body)
	want := `{"model_name":"m","model_version":"2","outputs":[{"name":"y","datatype":"FP32","shape":[2,1],"data":[2.0,5.0]}]}`
	if r.code != 200 || string(r.body) != want || r.header.Get(kserve.HeaderContentLength) != "" {
		t.Errorf("binary in, JSON out: %d %s %v", r.code, r.body, r.header)
	}

	// Mixed: JSON and binary inputs, per-output binary_data overriding
	// binary_data_output, BYTES in the binary layout both ways.
	hdr, body = binaryBody(`{"parameters":{"signature_name":"multi","binary_data_output":true},"inputs":[`+
		`{"name":"a","shape":[3],"datatype":"FP32","data":[0.25,1,2]},`+
		`{"name":"b","shape":[3],"datatype":"INT64","parameters":{"binary_data_size":24}},`+
		`{"name":"s","shape":[3],"datatype":"BYTES","parameters":{"binary_data_size":23}}],`+
		`"outputs":[{"name":"sum","parameters":{"binary_data":false}},{"name":"echo_bytes"},{"name":"neg"}]}`,
		i64bytes(1, -2, 1<<40), bytesElems("", "\xff\x00bin", "abcdef"))
	r = h.do(t, "POST", "/v2/models/m/versions/1/infer", hdr, body)
	js, bin = splitBinary(t, r)
	wantJS = `{"model_name":"m","model_version":"1","outputs":[` +
		`{"name":"sum","datatype":"FP32","shape":[3],"data":[1.25,-1.0,1.09951163e+12]},` +
		`{"name":"echo_bytes","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":23}},` +
		`{"name":"neg","datatype":"INT64","shape":[3],"parameters":{"binary_data_size":24}}]}`
	wantBin := append(bytesElems("", "\xff\x00bin", "abcdef"), i64bytes(-1, 2, -(1<<40))...)
	if r.code != 200 || js != wantJS || !bytes.Equal(bin, wantBin) {
		t.Errorf("mixed:\n got %d %s %q\nwant %s %q", r.code, js, bin, wantJS, wantBin)
	}

	// Bytes that are not UTF-8 cannot go out as JSON.
	hdr, body = binaryBody(`{"parameters":{"signature_name":"multi"},"inputs":[`+
		`{"name":"a","shape":[1],"datatype":"FP32","data":[0]},{"name":"b","shape":[1],"datatype":"INT64","data":[0]},`+
		`{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}}],"outputs":[{"name":"echo_bytes"}]}`,
		bytesElems("\xff"))
	r = h.do(t, "POST", "/v2/models/m/versions/1/infer", hdr, body)
	if r.code != 400 || !strings.Contains(string(r.body), `not valid UTF-8`) {
		t.Errorf("non-UTF-8 BYTES as JSON: %d %s", r.code, r.body)
	}
}

func TestRESTErrors(t *testing.T) {
	h := newHarness(t, harnessOpts{restBody: 4096, kserve: func(o *kserve.Options) {
		o.Limits = limits.Request{MaxElements: 100, MaxJSONDepth: 8, MaxResponseBytes: 300}
	}})
	x := func(shape, dt, data string) string {
		return `{"inputs":[{"name":"x","shape":` + shape + `,"datatype":"` + dt + `","data":` + data + `}]}`
	}
	bin := func(size string) string {
		return `{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":` + size + `}}]}`
	}
	type tc struct {
		name, path string
		hdr        map[string]string
		body       string
		code       int
		msg        string
	}
	cases := []tc{
		{"datatype", "", nil, x("[1,1]", "FP64", "[1]"), 400, "input 'x': datatype FP64 does not match the model's FP32"},
		{"bad datatype", "", nil, x("[1,1]", "FLOAT", "[1]"), 400, "invalid datatype 'FLOAT'"},
		{"count", "", nil, x("[2,1]", "FP32", "[1,2,3]"), 400, "input 'x': shape [2,1] has 2 elements, but 'data' holds 3"},
		{"string element", "", nil, x("[2,1]", "FP32", `[1,"2"]`), 400, "element 1 of 'data' (a string) is not a valid FP32 value"},
		{"object in data", "", nil, x("[1,1]", "FP32", `[{"a":1}]`), 400, "'data' holds an object"},
		{"data not array", "", nil, x("[1,1]", "FP32", `1`), 400, "'data' must be an array"},
		{"negative dim", "", nil, x("[-1,1]", "FP32", `[1]`), 400, "Unable to parse 'shape'"},
		{"elements over limit", "", nil, x("[101,1]", "FP32", `[1]`), 400, "over the limit of 100 (--request_max_elements)"},
		{"overflowing shape", "", nil, x("[4294967296,4294967296]", "FP32", `[1]`), 400, "more elements than an int64"},
		{"depth", "", nil, x("[1,1]", "FP32", `[[[[[[[[[1]]]]]]]]]`), 400, "(--request_max_json_depth)"},
		{"unknown input", "", nil, `{"inputs":[{"name":"z","shape":[1],"datatype":"FP32","data":[1]}]}`, 400, "unexpected inference input 'z' for model 'm'"},
		{"no inputs", "", nil, `{"inputs":[]}`, 400, "input size does not match signature"},
		{"twice", "", nil, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]},{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}`, 400, "more than once"},
		{"unknown output", "", nil, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"q"}]}`, 400, "output tensor alias not found in signature: q"},
		{"classification", "", nil, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"y","parameters":{"classification":2}}]}`, 501, "classification"},
		{"data and binary", "", nil, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1],"parameters":{"binary_data_size":4}}]}`, 400, "only one of 'data' and 'binary_data_size'"},
		{"neither", "", nil, `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32"}]}`, 400, "set one of 'data' and 'binary_data_size'"},
		{"not an object", "", nil, `[1]`, 400, "must be a JSON object"},
		{"malformed JSON", "", nil, `{"inputs":`, 400, "JSON Parse error"},
		{"id type", "", nil, `{"id":3,"inputs":[]}`, 400, "Unable to parse 'id'"},
		{"unknown model", "/v2/models/nope/infer", nil, x("[1,1]", "FP32", "[1]"), 404, "Servable not found"},
		{"unknown version", "/v2/models/m/versions/9/infer", nil, x("[1,1]", "FP32", "[1]"), 404, "Servable not found"},
		{"fp16 JSON", "", nil, `{"parameters":{"signature_name":"h"},"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1]}]}`, 400, "Serving signature key \"h\" not found"},
		{"response too large", "", nil, x("[100]", "FP32", "["+strings.Repeat("1.0000001,", 99)+"1.0000001]"), 400, "(--response_max_bytes)"},
		{"timeout header", "", map[string]string{restapi.RequestTimeoutHeader: "soon"}, x("[1,1]", "FP32", "[1]"), 400, "Invalid X-Request-Timeout-Ms"},
		{"encoding", "", map[string]string{"Content-Encoding": "br"}, x("[1,1]", "FP32", "[1]"), 400, "Unsupported Content-Encoding"},
		{"body too large", "", nil, x("[1,1]", "FP32", "["+strings.Repeat(" ", 5000)+"1]"), 413, "(--rest_api_max_body_bytes)"},
	}
	// The binary data extension.
	for _, c := range []struct {
		name, hlen, header string
		data               []byte
		msg                string
	}{
		{"short binary", "", bin("8"), f32bytes(1), "unexpected size for input 'x', expecting 8 bytes of binary data but 4 remain"},
		{"size vs shape", "", bin("4"), f32bytes(1), "input 'x': 4 bytes of data, but shape [2,1] of FP32 needs 8"},
		{"extra binary", "", bin("8"), f32bytes(1, 2, 3), "unexpected additional input data for model 'm': 4 bytes after the last binary input"},
		{"no header length", "-", bin("8"), f32bytes(1, 2), "JSON Parse error"},
		{"header length past body", "1000", bin("8"), f32bytes(1, 2), "is larger than the body"},
		{"header length not a number", "12a", bin("8"), f32bytes(1, 2), "Unable to parse Inference-Header-Content-Length"},
		{"negative header length", "-3", bin("8"), f32bytes(1, 2), "Unable to parse Inference-Header-Content-Length"},
		{"zero header length", "0", bin("8"), f32bytes(1, 2), "no JSON header"},
		{"size not an integer", "", bin("8.5"), f32bytes(1, 2), "Unable to parse 'binary_data_size'"},
		{"huge size", "", bin("18446744073709551615"), f32bytes(1, 2), "unexpected size for input 'x'"},
	} {
		hdr, body := binaryBody(c.header, c.data)
		switch c.hlen {
		case "-":
			delete(hdr, kserve.HeaderContentLength)
		case "":
		default:
			hdr[kserve.HeaderContentLength] = c.hlen
		}
		cases = append(cases, tc{c.name, "", hdr, string(body), 400, c.msg})
	}
	// BYTES elements in the binary layout.
	multi := func(size int) string {
		return `{"parameters":{"signature_name":"multi"},"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[0,0]},` +
			`{"name":"b","shape":[2],"datatype":"INT64","data":[0,0]},` +
			`{"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":` + strconv.Itoa(size) + `}}]}`
	}
	for _, c := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"bytes length past data", append(bytesElems("ab"), 0xff, 0xff, 0xff, 0x7f), "BYTES element 1 declares 2147483647 bytes, but only 0 remain"},
		{"bytes too few", bytesElems("ab"), "BYTES element 1 of 2 has no 4-byte length"},
		{"bytes trailing", append(bytesElems("a", "b"), 'c'), "1 bytes follow its 2 BYTES elements"},
	} {
		hdr, body := binaryBody(multi(len(c.data)), c.data)
		cases = append(cases, tc{c.name, "/v2/models/m/versions/1/infer", hdr, string(body), 400, c.msg})
	}
	for _, c := range cases {
		path := c.path
		if path == "" {
			path = "/v2/models/m/versions/1/infer"
		}
		r := h.do(t, "POST", path, c.hdr, []byte(c.body))
		var e struct{ Error string }
		if err := json.Unmarshal(r.body, &e); err != nil || r.code != c.code || !strings.Contains(e.Error, c.msg) {
			t.Errorf("%s: %d %s\nwant %d and an error containing %q", c.name, r.code, r.body, c.code, c.msg)
		}
	}
}

// TestRESTObserved checks that infer is observed as a Predict of the model
// with the version that served it (metrics and the access log hang off
// Observe), and metadata as metadata.
func TestRESTObserved(t *testing.T) {
	var mu sync.Mutex
	var seen []restapi.RequestInfo
	h := newHarness(t, harnessOpts{kserve: func(o *kserve.Options) {
		o.Observe = func(ri restapi.RequestInfo) {
			mu.Lock()
			seen = append(seen, ri)
			mu.Unlock()
		}
	}})
	h.do(t, "POST", "/v2/models/m/infer", nil, []byte(`{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}`))
	h.do(t, "POST", "/v2/models/m/versions/1/infer", nil, []byte(`{"inputs":[]}`))
	h.do(t, "GET", "/v2/models/m/versions/1", nil, nil)
	h.do(t, "GET", "/v2/health/ready", nil, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("observed %d requests, want 3: %+v", len(seen), seen)
	}
	type key struct {
		api           string
		version       int64
		code, httpSts int
	}
	got := []key{}
	for _, ri := range seen {
		if ri.Model != "m" || ri.RequestBytes < 0 || ri.Client == nil {
			t.Errorf("observed %+v", ri)
		}
		got = append(got, key{ri.API, ri.Version, int(ri.Code), ri.HTTPStatus})
	}
	want := []key{{"predict", 2, 0, 200}, {"predict", 1, 3, 400}, {"metadata", 1, 0, 200}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("observed %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestRESTManyOutputs: a request naming an output a hundred thousand times
// is refused at once (the duplicate check sees at most one more name than
// the signature has).
func TestRESTManyOutputs(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	body := `{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}],"outputs":[` +
		strings.Repeat(`{"name":"y"},`, 100000) + `{"name":"y"}]}`
	r := h.do(t, "POST", "/v2/models/m/versions/1/infer", nil, []byte(body))
	if r.code != 400 || !strings.Contains(string(r.body), "duplicate output tensor alias: y") {
		t.Errorf("%d %s", r.code, r.body)
	}
}
