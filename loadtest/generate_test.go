package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
)

func halfPlusTwoMetadata(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, "tfserving/servables/tensorflow/testdata/half_plus_two_model_metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMetadataFixture(t *testing.T) {
	md, err := ParseMetadata(halfPlusTwoMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	if md.Model != "default" || md.Version != "123" {
		t.Errorf("model spec = %q %q, want default 123", md.Model, md.Version)
	}
	want := []string{"classify_x_to_y", "regress_x2_to_y3", "regress_x_to_y", "regress_x_to_y2", "serving_default"}
	if got := md.SignatureNames(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("signatures = %v, want %v", got, want)
	}
	x := md.Signatures["serving_default"].Inputs["x"]
	if x.Name != "x:0" || x.DType.String() != "DT_FLOAT" || fmt.Sprint(x.Dims) != "[-1 1]" || x.UnknownRank {
		t.Errorf("serving_default x = %+v", x)
	}
	if md.Signatures["serving_default"].MethodName != "tensorflow/serving/predict" {
		t.Errorf("method = %q", md.Signatures["serving_default"].MethodName)
	}
	ex := md.Signatures["classify_x_to_y"].Inputs["inputs"]
	if !ex.UnknownRank || ex.DType.String() != "DT_STRING" {
		t.Errorf("classify input = %+v", ex)
	}
}

// leafCheck validates one decoded JSON leaf.
type leafCheck func(v any) error

func floatLeaf(v any) error {
	n, ok := v.(json.Number)
	if !ok {
		return fmt.Errorf("%v (%T) is not a number", v, v)
	}
	f, err := n.Float64()
	if err != nil || f < -1 || f > 1 {
		return fmt.Errorf("float %v out of [-1,1]", n)
	}
	return nil
}

func intLeaf(hi int64) leafCheck {
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%v (%T) is not a number", v, v)
		}
		if strings.ContainsAny(n.String(), ".eE") {
			return fmt.Errorf("%v is not an integer literal", n)
		}
		i, err := n.Int64()
		if err != nil || i < 0 || i >= hi {
			return fmt.Errorf("int %v out of [0,%d)", n, hi)
		}
		return nil
	}
}

func boolLeaf(v any) error {
	if _, ok := v.(bool); !ok {
		return fmt.Errorf("%v (%T) is not a bool", v, v)
	}
	return nil
}

func stringLeaf(n int) leafCheck {
	return func(v any) error {
		s, ok := v.(string)
		if !ok || len(s) != n {
			return fmt.Errorf("%v (%T) is not a string of length %d", v, v, n)
		}
		return nil
	}
}

// checkNested checks that v is a nested list of the given shape whose
// leaves pass leaf.
func checkNested(v any, shape []int, leaf leafCheck) error {
	if len(shape) == 0 {
		return leaf(v)
	}
	l, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%T is not a list (want %d elements)", v, shape[0])
	}
	if len(l) != shape[0] {
		return fmt.Errorf("list of %d, want %d", len(l), shape[0])
	}
	for _, e := range l {
		if err := checkNested(e, shape[1:], leaf); err != nil {
			return err
		}
	}
	return nil
}

func decodeBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func TestGenerateHalfPlusTwo(t *testing.T) {
	md, err := ParseMetadata(halfPlusTwoMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := GenerateBodies(md, GenOptions{Batch: 3}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 4 {
		t.Fatalf("%d bodies", len(bodies))
	}
	for _, b := range bodies {
		m := decodeBody(t, b)
		if len(m) != 1 {
			t.Errorf("body has keys %v, want only instances", m)
		}
		if err := checkNested(m["instances"], []int{3, 1}, floatLeaf); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	// Columnar: {"inputs": {"x": [[f],[f],[f]]}}.
	bodies, err = GenerateBodies(md, GenOptions{Batch: 3, Columnar: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeBody(t, bodies[0])
	in, ok := m["inputs"].(map[string]any)
	if !ok || len(in) != 1 {
		t.Fatalf("columnar body %s", bodies[0])
	}
	if err := checkNested(in["x"], []int{3, 1}, floatLeaf); err != nil {
		t.Error(err)
	}
	// A regress signature with unknown rank string input: a vector of
	// batch strings, and the signature name in the body.
	bodies, err = GenerateBodies(md, GenOptions{Signature: "regress_x_to_y", Batch: 2, StringLen: 5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m = decodeBody(t, bodies[0])
	if m["signature_name"] != "regress_x_to_y" {
		t.Errorf("signature_name = %v", m["signature_name"])
	}
	if err := checkNested(m["instances"], []int{2}, stringLeaf(5)); err != nil {
		t.Error(err)
	}
}

// multiMetadata is a synthetic metadata response with one input per dtype
// family and various -1 dimensions.
const multiMetadata = `{
 "model_spec": {"name": "multi", "signature_name": "", "version": "7"},
 "metadata": {"signature_def": {"signature_def": {
  "serving_default": {
   "inputs": {
    "dense": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "-1", "name": ""}, {"size": "4", "name": ""}], "unknown_rank": false}, "name": "dense:0"},
    "ids": {"dtype": "DT_INT64", "tensor_shape": {"dim": [{"size": "-1"}, {"size": "-1"}], "unknown_rank": false}, "name": "ids:0"},
    "small": {"dtype": "DT_INT8", "tensor_shape": {"dim": [{"size": "-1"}], "unknown_rank": false}, "name": "small:0"},
    "flag": {"dtype": "DT_BOOL", "tensor_shape": {"dim": [{"size": -1}, {"size": 2}, {"size": "-1"}], "unknown_rank": false}, "name": "flag:0"},
    "word": {"dtype": "DT_STRING", "tensor_shape": {"dim": [{"size": "-1"}], "unknown_rank": false}, "name": "word:0"},
    "wide": {"dtype": 2, "tensor_shape": {"dim": [{"size": "-1"}, {"size": "3"}], "unknown_rank": false}, "name": "wide:0"}
   },
   "outputs": {"y": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "-1"}], "unknown_rank": false}, "name": "y:0"}},
   "method_name": "tensorflow/serving/predict"
  },
  "scalar_in": {
   "inputs": {"s": {"dtype": "DT_INT32", "tensor_shape": {"dim": [], "unknown_rank": false}, "name": "s:0"}},
   "outputs": {},
   "method_name": "tensorflow/serving/predict"
  },
  "fixed_rows": {
   "inputs": {
    "a": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "2"}, {"size": "3"}], "unknown_rank": false}, "name": "a:0"},
    "b": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "-1"}], "unknown_rank": false}, "name": "b:0"}
   },
   "outputs": {},
   "method_name": "tensorflow/serving/predict"
  },
  "complex_in": {
   "inputs": {"c": {"dtype": "DT_COMPLEX64", "tensor_shape": {"dim": [{"size": "-1"}], "unknown_rank": false}, "name": "c:0"}},
   "outputs": {},
   "method_name": "tensorflow/serving/predict"
  },
  "huge": {
   "inputs": {"h": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "100000"}, {"size": "100000"}], "unknown_rank": false}, "name": "h:0"}},
   "outputs": {},
   "method_name": "tensorflow/serving/predict"
  }
 }}}
}`

func TestGenerateDTypesAndShapes(t *testing.T) {
	md, err := ParseMetadata([]byte(multiMetadata))
	if err != nil {
		t.Fatal(err)
	}
	const batch, dimDefault, intMax, strLen = 3, 5, 1000, 6
	// Per-input checks, full shapes (batch first), from the rules: a leading
	// -1 is the batch, other -1s are dimDefault; int8 is capped at 127.
	want := map[string]struct {
		shape []int
		leaf  leafCheck
	}{
		"dense": {[]int{batch, 4}, floatLeaf},
		"ids":   {[]int{batch, dimDefault}, intLeaf(intMax)},
		"small": {[]int{batch}, intLeaf(128)},
		"flag":  {[]int{batch, 2, dimDefault}, boolLeaf},
		"word":  {[]int{batch}, stringLeaf(strLen)},
		"wide":  {[]int{batch, 3}, floatLeaf},
	}
	opt := GenOptions{Batch: batch, DimDefault: dimDefault, IntMax: intMax, StringLen: strLen, Seed: 3}
	bodies, err := GenerateBodies(md, opt, 8)
	if err != nil {
		t.Fatal(err)
	}
	sawInt8Above100 := false
	for _, b := range bodies {
		m := decodeBody(t, b)
		rows, ok := m["instances"].([]any)
		if !ok || len(rows) != batch {
			t.Fatalf("instances: %s", b)
		}
		for _, row := range rows {
			obj, ok := row.(map[string]any)
			if !ok || len(obj) != len(want) {
				t.Fatalf("row %v is not an object with %d inputs", row, len(want))
			}
			for k, w := range want {
				if err := checkNested(obj[k], w.shape[1:], w.leaf); err != nil {
					t.Errorf("input %s: %v", k, err)
				}
			}
			if n, _ := obj["small"].(json.Number).Int64(); n > 100 {
				sawInt8Above100 = true
			}
		}
	}
	if !sawInt8Above100 {
		t.Error("int8 values never exceeded 100 in 24 draws from [0,128): range looks wrong")
	}
	opt.Columnar = true
	bodies, err = GenerateBodies(md, opt, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		m := decodeBody(t, b)
		in, ok := m["inputs"].(map[string]any)
		if !ok || len(in) != len(want) {
			t.Fatalf("columnar: %s", b)
		}
		for k, w := range want {
			if err := checkNested(in[k], w.shape, w.leaf); err != nil {
				t.Errorf("columnar input %s: %v", k, err)
			}
		}
	}
	// Columnar carries scalars; fixed leading dims keep their size.
	bodies, err = GenerateBodies(md, GenOptions{Signature: "scalar_in", Columnar: true, IntMax: 10}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeBody(t, bodies[0])
	if m["signature_name"] != "scalar_in" {
		t.Errorf("signature_name = %v", m["signature_name"])
	}
	if err := checkNested(m["inputs"].(map[string]any)["s"], nil, intLeaf(10)); err != nil {
		t.Error(err)
	}
	bodies, err = GenerateBodies(md, GenOptions{Signature: "fixed_rows", Columnar: true, Batch: 9}, 1)
	if err != nil {
		t.Fatal(err)
	}
	in := decodeBody(t, bodies[0])["inputs"].(map[string]any)
	if err := checkNested(in["a"], []int{2, 3}, floatLeaf); err != nil {
		t.Error(err)
	}
	if err := checkNested(in["b"], []int{9}, floatLeaf); err != nil {
		t.Error(err)
	}
}

func TestGenerateErrors(t *testing.T) {
	md, err := ParseMetadata([]byte(multiMetadata))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opt  GenOptions
		want string
	}{
		{"unknown signature", GenOptions{Signature: "nope"}, "no signature"},
		{"scalar in rows", GenOptions{Signature: "scalar_in"}, "scalar"},
		{"row count mismatch", GenOptions{Signature: "fixed_rows", Batch: 5}, "rows"},
		{"complex", GenOptions{Signature: "complex_in"}, "DT_COMPLEX64"},
		{"huge", GenOptions{Signature: "huge", Columnar: true}, "exceeds"},
		{"negative batch", GenOptions{Batch: -1}, "negative"},
	}
	for _, c := range cases {
		_, err := GenerateBodies(md, c.opt, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	// Fixed rows that agree with each other work in row format.
	if _, err := GenerateBodies(md, GenOptions{Signature: "fixed_rows", Batch: 2}, 1); err != nil {
		t.Errorf("fixed rows with matching batch: %v", err)
	}
}

func TestGenerateSeed(t *testing.T) {
	md, err := ParseMetadata([]byte(multiMetadata))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := GenerateBodies(md, GenOptions{Seed: 1}, 3)
	b, _ := GenerateBodies(md, GenOptions{Seed: 1}, 3)
	c, _ := GenerateBodies(md, GenOptions{Seed: 2}, 3)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("same seed, body %d differs", i)
		}
		if bytes.Equal(a[i], c[i]) {
			t.Errorf("different seeds, body %d equal", i)
		}
	}
	if bytes.Equal(a[0], a[1]) {
		t.Error("bodies within one call are equal")
	}
}

func TestParseMetadataErrors(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{}`, `{"metadata": {}}`,
		`{"metadata": {"signature_def": {"signature_def": {"s": {"inputs": {"x": {"dtype": "DT_NOPE"}}}}}}}`,
		`{"metadata": {"signature_def": {"signature_def": {"s": {"inputs": {"x": {"tensor_shape": {"dim": [{"size": "x"}]}}}}}}}}`,
	} {
		if _, err := ParseMetadata([]byte(in)); err == nil {
			t.Errorf("ParseMetadata(%q) succeeded", in)
		}
	}
}

func TestMetadataURL(t *testing.T) {
	cases := map[string]string{
		"http://127.0.0.1:8501/v1/models/half_plus_two:predict":          "http://127.0.0.1:8501/v1/models/half_plus_two/metadata",
		"http://h:8501/v1/models/m/versions/3:predict":                   "http://h:8501/v1/models/m/versions/3/metadata",
		"https://h/v1/models/m/labels/stable:classify?x=1":               "https://h/v1/models/m/labels/stable/metadata",
		"http://h:8501/prefix/v1/models/with%3Acolon/versions/1:regress": "http://h:8501/prefix/v1/models/with:colon/versions/1/metadata",
	}
	for in, want := range cases {
		got, err := MetadataURL(in)
		if err != nil || got != want {
			t.Errorf("MetadataURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://h/predict", "http://h/v1/models/m", "::"} {
		if got, err := MetadataURL(bad); err == nil {
			t.Errorf("MetadataURL(%q) = %q, want error", bad, got)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(multiMetadata))
	if b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "tfserving", "servables", "tensorflow", "testdata", "half_plus_two_model_metadata.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"metadata":{"signature_def":{"signature_def":{"serving_default":{"inputs":{"x":{"dtype":1,"tensor_shape":{"dim":[{"size":"-1"},{"size":"-1"}]}}}}}}}}`))
	f.Add([]byte(`{"metadata":{"signature_def":{"signature_def":{"serving_default":{"inputs":{"x":{"dtype":"DT_STRING","tensor_shape":{"unknown_rank":true}}}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseMetadata(data)
		if err != nil {
			return
		}
		for _, name := range md.SignatureNames() {
			for _, columnar := range []bool{false, true} {
				opt := GenOptions{Signature: name, Batch: 2, DimDefault: 2, Columnar: columnar}.withDefaults()
				plan, err := planInputs(md, opt)
				if err != nil {
					continue
				}
				elems := 0
				for _, in := range plan {
					n := 1
					for _, d := range in.shape {
						n *= d
					}
					elems += n
				}
				if elems > 1<<12 {
					continue // valid but slow to generate; sizes are bounded by planInputs
				}
				bodies, err := GenerateBodies(md, opt, 2)
				if err != nil {
					t.Fatalf("plan succeeded but generation failed: %v", err)
				}
				for _, b := range bodies {
					if !json.Valid(b) {
						t.Fatalf("generated invalid JSON: %s", b)
					}
				}
			}
		}
	})
}
