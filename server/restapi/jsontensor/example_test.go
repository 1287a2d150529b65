package jsontensor

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
)

func decodeExample(t *testing.T, b []byte) map[string]*tfpb.Feature {
	t.Helper()
	var ex tfpb.Example
	if err := proto.Unmarshal(b, &ex); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return ex.GetFeatures().GetFeature()
}

func TestClassifyRequest(t *testing.T) {
	body := `{
	  "signature_name": "classify_x",
	  "context": {"country": "FR", "w": 1.5, "shared": [1, 2]},
	  "examples": [
	    {"names": ["a", {"b64": "AP8="}], "n": [1, -2, true, false], "f": [0.5, 1e2, NaN], "shared": "override", "empty": []},
	    {}
	  ]
	}`
	req, err := ParseClassifyRegressRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.SignatureName != "classify_x" || len(req.Examples) != 2 {
		t.Fatalf("got %+v", req)
	}
	ctx := decodeExample(t, req.Context)
	if got := string(ctx["country"].GetBytesList().GetValue()[0]); got != "FR" {
		t.Errorf("context country %q", got)
	}
	if got := ctx["w"].GetFloatList().GetValue(); len(got) != 1 || got[0] != 1.5 {
		t.Errorf("context w %v", got)
	}
	f := decodeExample(t, req.Examples[0])
	if bl := f["names"].GetBytesList().GetValue(); len(bl) != 2 || string(bl[0]) != "a" || !bytes.Equal(bl[1], []byte{0, 0xff}) {
		t.Errorf("names %q", bl)
	}
	if il := f["n"].GetInt64List().GetValue(); len(il) != 4 || il[0] != 1 || il[1] != -2 || il[2] != 1 || il[3] != 0 {
		t.Errorf("n %v", il)
	}
	if fl := f["f"].GetFloatList().GetValue(); len(fl) != 3 || fl[0] != 0.5 || fl[1] != 100 || !math.IsNaN(float64(fl[2])) {
		t.Errorf("f %v", fl)
	}
	if e, ok := f["empty"]; !ok || e.GetKind() != nil {
		t.Errorf("empty feature %v %v", e, ok)
	}
	if len(req.Examples[1]) != 0 {
		t.Errorf("empty example serialized to %x", req.Examples[1])
	}
	// Context merging: the example's features override the context's.
	merged := req.SerializedInputs()
	m := decodeExample(t, merged[0])
	if string(m["shared"].GetBytesList().GetValue()[0]) != "override" || string(m["country"].GetBytesList().GetValue()[0]) != "FR" {
		t.Errorf("merged %v", m)
	}
	m1 := decodeExample(t, merged[1])
	if len(m1) != 3 {
		t.Errorf("merged empty example has %d features", len(m1))
	}

	noCtx, err := ParseClassifyRegressRequest([]byte(`{"examples": [{"x": 1}]}`))
	if err != nil || noCtx.Context != nil || noCtx.SignatureName != "serving_default" {
		t.Fatalf("%v %+v", err, noCtx)
	}
	if got := noCtx.SerializedInputs(); len(got) != 1 || !bytes.Equal(got[0], noCtx.Examples[0]) {
		t.Errorf("no-context inputs %x", got)
	}
}

func TestClassifyErrors(t *testing.T) {
	cases := []struct{ body, msg string }{
		{`{"signature_name": 1, "examples": []}`, "'signature_name' key must be a string"},
		{`{"examples": [1]}`, "Example must be JSON object but got JSON Number"},
		{`{"examples": {}}`, "JSON Value: {\n    \"examples\": {}\n} Expecting 'examples' value to be an list/array"},
		{`{"examples": []}`, "JSON Value: {\n    \"examples\": []\n} 'examples' value is an empty array"},
		{`{"foo": 1}`, "JSON Value: {\n    \"foo\": 1\n} When method is classify, key 'examples' is expected and was not found"},
		{`{"context": [], "examples": [{}]}`, "Example must be JSON object but got JSON Array"},
		{`{"examples": [{"names": [null]}]}`, "Feature: names has element with unexpected JSON type: Null"},
		{`{"examples": [{"names": ["a", 1]}]}`, "Unexpected element type in feature: names expecting type: bytes"},
		{`{"examples": [{"names": [1, 1.5]}]}`, "Unexpected element type in feature: names expecting type: int64"},
		{`{"examples": [{"names": [1.5, 1]}]}`, "Unexpected element type in feature: names expecting type: float"},
		{`{"examples": [{"names": {"a": 1}}]}`, "Feature: names has element with unexpected JSON type: Object"},
		{`{"examples": [{"names": [[1]]}]}`, "Feature: names has element with unexpected JSON type: Array"},
		{`{"examples": [{"names": 18446744073709551615}]}`, "Feature: names has uint64_t element. Only int64_t is supported."},
		{`{"examples": [{"names": {"b64": "a"}}]}`, "Unable to base64 decode"},
		{`{"examples": [`, "JSON Parse error: Invalid value. at offset: 14"},
		{`{"examples": [{}`, "JSON Parse error: Missing a comma or ']' after an array element. at offset: 16"},
	}
	for _, c := range cases {
		_, err := ParseClassifyRegressRequest([]byte(c.body))
		if err == nil || status.CodeOf(err) != status.InvalidArgument || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want %q", c.body, err, c.msg)
		}
	}
}
