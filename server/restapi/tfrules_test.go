package restapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/tensor"
)

// rawRequest sends target byte for byte (no client escaping) and returns
// the response (a "Connection: close" it carried is in the header).
func rawRequest(t *testing.T, h *harness, method, target, body string) (int, http.Header, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", method, target, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Close {
		// net/http takes it out of the header.
		resp.Header.Set("Connection", "close")
	}
	return resp.StatusCode, resp.Header, string(b)
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil {
		t.Fatalf("body %q is not {\"error\": ...}: %v", body, err)
	}
	return *e.Error
}

// TestQueryAndEncodedPaths: TF Serving routes on net_http's uri_path(),
// which is the undecoded path plus "?query" and "#fragment"
// (util/net_http/server/internal/evhttp_request.cc ParsedEvRequest::decode
// and EvHTTPRequest::uri_path), matched in full by the patterns of
// model_servers/http_rest_api_util.cc ParseModelInfo. So a query string is
// not ignored: after ":predict" or "/metadata" it makes the request
// malformed, and after a model name it is part of the name ([^/:]+). A "?"
// with an empty query is kept (evhttp_uri_parse gives an empty, non-null
// query). Only the name and label are percent-decoded (DecodeArg,
// curl_easy_unescape); a %3A is no route separator.
func TestQueryAndEncodedPaths(t *testing.T) {
	h := twoVersions(t, nil, nil)
	body := `{"instances": [[4.0]]}`
	cases := []struct {
		method, target string
		code           int
		msg            string // the error; "" for a 200 prediction of 4
	}{
		{"POST", "/v1/models/m:predict?foo=bar", 400, "Malformed request: POST /v1/models/m:predict?foo=bar"},
		{"POST", "/v1/models/m:predict?", 400, "Malformed request: POST /v1/models/m:predict?"},
		{"POST", "/v1/models/m:predict#frag", 400, "Malformed request: POST /v1/models/m:predict#frag"},
		{"POST", "/v1/models/m/versions/2:predict?x=1", 400, "Malformed request: POST /v1/models/m/versions/2:predict?x=1"},
		{"GET", "/v1/models/m/metadata?foo=bar", 400, "Malformed request: GET /v1/models/m/metadata?foo=bar"},
		{"GET", "/v1/models/m/versions/2?x", 400, "Malformed request: GET /v1/models/m/versions/2?x"},
		{"GET", "/v1/models/m?foo=bar", 404, "Could not find any versions of model m?foo=bar"},
		{"GET", "/v1/models/m?", 404, "Could not find any versions of model m?"},
		{"POST", "/v1/models/%6D:predict", 200, ""},
		{"POST", "/v1/models/m%3Apredict", 400, "Malformed request: POST /v1/models/m%3Apredict"},
		{"GET", "/v1/models/m%2Fx", 404, "Could not find any versions of model m/x"},
		{"GET", "/v1/models/m%3F/metadata", 404, "Servable not found for request: Latest(m?)"},
	}
	for _, c := range cases {
		b := ""
		if c.method == "POST" {
			b = body
		}
		code, hdr, got := rawRequest(t, h, c.method, c.target, b)
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.target, ct)
		}
		if code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.target, code, got, c.code)
			continue
		}
		if c.msg == "" {
			var p map[string][][]float64
			decode(t, got, &p)
			if len(p["predictions"]) != 1 || p["predictions"][0][0] != 4 {
				t.Errorf("%s %s: %s", c.method, c.target, got)
			}
			continue
		}
		if e := errorOf(t, got); e != c.msg {
			t.Errorf("%s %s: error %q, want %q", c.method, c.target, e, c.msg)
		}
	}
}

// TestNonConformingURI: net_http's ParsedEvRequest::decode parses every
// request target with libevent's strict evhttp_uri_parse (flags 0) before
// any dispatcher sees it; a target it refuses (end_of_path: a character
// outside unreserved / sub-delims / ":@/" and, after the "?", "?"; or a %
// not followed by two hex digits) is answered with
// evhttp_send_error(req, HTTP_BADREQUEST, nullptr): libevent's HTML page,
// Content-Type text/html, Connection: close.
func TestNonConformingURI(t *testing.T) {
	h := twoVersions(t, nil, nil)
	for _, target := range []string{
		"/v1/models/m%zz:predict", "/v1/models/m%4:predict", "/v1/models/m|x:predict", "/v1/models/m:predict?q={}",
		"/v1/models/\xc3\xa9:predict", "/v1/models/m:predict#a#b", "/v1/models/m\"", "/healthz?x=<y>", "/nope^",
	} {
		code, hdr, body := rawRequest(t, h, "POST", target, `{"instances": [[4.0]]}`)
		if code != 400 || body != badRequestPage || hdr.Get("Content-Type") != "text/html" || hdr.Get("Connection") != "close" {
			t.Errorf("%q: %d %v %q, want libevent's 400 page", target, code, hdr, body)
		}
	}
	// Everything RFC 3986 allows still routes (here all of it is the
	// model name).
	code, _, body := rawRequest(t, h, "GET", "/v1/models/m-._~!$&'()*+,;=@x?a=b?c#d?e", "")
	if code != 404 || errorOf(t, body) != "Could not find any versions of model m-._~!$&'()*+,;=@x?a=b?c#d?e" {
		t.Errorf("RFC 3986 characters: %d %s", code, body)
	}
}

// noShapeSigs adds a signature stored as saved_model_half_plus_three
// stores serving_default: TensorInfos without a tensor_shape.
func noShapeSigs(m *fakemodel.HalfPlusTwo) {
	vec := []servable.Dim{{Size: -1}}
	m.Extra = map[string]*servable.Signature{
		"noshape": {Name: "noshape", MethodName: servable.MethodPredict,
			Inputs: map[string]servable.TensorInfo{"x": {Name: "x:0", DType: tensor.Float32, UnknownRank: true, NoShape: true}},
			Outputs: map[string]servable.TensorInfo{
				"y":       {Name: "y:0", DType: tensor.Float32, UnknownRank: true, NoShape: true},
				"unknown": {Name: "u:0", DType: tensor.Float32, UnknownRank: true}}},
		"odd_method": {Name: "odd_method", MethodName: "tensorflow/serving/other",
			Inputs:  map[string]servable.TensorInfo{"x": {Name: "x:0", DType: tensor.Float32, Dims: vec}},
			Outputs: map[string]servable.TensorInfo{"y": {Name: "y:0", DType: tensor.Float32, Dims: vec}}},
	}
}

// TestMetadataWithoutShape: GET .../metadata prints each TensorInfo as
// stored (http_rest_api_handler.cc ProcessModelMetadataRequest prints the
// SignatureDefMap that get_model_metadata_impl.cc copied, with
// always_print_fields_with_no_presence, which does not print an absent
// message field): no "tensor_shape" where none was stored, while an
// unknown rank prints "unknown_rank": true.
func TestMetadataWithoutShape(t *testing.T) {
	h := twoVersions(t, nil, noShapeSigs)
	r := h.get("/v1/models/m/metadata")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var md struct {
		Metadata struct {
			SignatureDef struct {
				SignatureDef map[string]struct {
					Inputs, Outputs map[string]map[string]any
				} `json:"signature_def"`
			} `json:"signature_def"`
		} `json:"metadata"`
	}
	decode(t, r.body, &md)
	sig := md.Metadata.SignatureDef.SignatureDef["noshape"]
	want := map[string]any{"dtype": "DT_FLOAT", "name": "x:0"}
	if !reflect.DeepEqual(sig.Inputs["x"], want) {
		t.Errorf("input without a shape: %v, want %v", sig.Inputs["x"], want)
	}
	want = map[string]any{"dtype": "DT_FLOAT", "name": "y:0"}
	if !reflect.DeepEqual(sig.Outputs["y"], want) {
		t.Errorf("output without a shape: %v, want %v", sig.Outputs["y"], want)
	}
	want = map[string]any{"dtype": "DT_FLOAT", "name": "u:0", "tensor_shape": map[string]any{"dim": []any{}, "unknown_rank": true}}
	if !reflect.DeepEqual(sig.Outputs["unknown"], want) {
		t.Errorf("unknown rank: %v, want %v", sig.Outputs["unknown"], want)
	}
}

// TestPredictMethodNameCheck: REST Predict runs the same RunPredict checks
// as gRPC (servable.PredictSignature; predict_util.cc VerifySignature),
// INTERNAL, so HTTP 500 with the same text.
func TestPredictMethodNameCheck(t *testing.T) {
	body := `{"signature_name": "odd_method", "instances": [[1.0]]}`
	h := twoVersions(t, nil, noShapeSigs)
	r := h.post("/v1/models/m:predict", body)
	h.expectError(r, 500, `fakemodel: signature "odd_method" cannot run`)
	hc := twoVersions(t, func(o *Options) { o.EnableSignatureMethodNameCheck = true }, noShapeSigs)
	r = hc.post("/v1/models/m:predict", body)
	if r.code != 500 || errorOf(t, r.body) != "Expected prediction signature method_name to be one of "+
		"{tensorflow/serving/predict, tensorflow/serving/classify, tensorflow/serving/regress}. Was: tensorflow/serving/other" {
		t.Errorf("%d %s", r.code, r.body)
	}
}
