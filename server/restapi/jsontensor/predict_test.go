package jsontensor

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

func sigOf(inputs map[string]tensor.DType) func(string) (*servable.Signature, error) {
	s := &servable.Signature{Name: servable.DefaultSignature, Inputs: map[string]servable.TensorInfo{}}
	for n, dt := range inputs {
		s.Inputs[n] = servable.TensorInfo{DType: dt}
	}
	return func(name string) (*servable.Signature, error) {
		if name != servable.DefaultSignature && name != "other" {
			return nil, ErrSignatureNotFound(name)
		}
		return s, nil
	}
}

var oneFloat = sigOf(map[string]tensor.DType{"x": tensor.Float32})

func TestPredictErrors(t *testing.T) {
	i32 := sigOf(map[string]tensor.DType{"x": tensor.Int32})
	two := sigOf(map[string]tensor.DType{"a": tensor.Int32, "b": tensor.String})
	str := sigOf(map[string]tensor.DType{"x": tensor.String})
	cases := []struct {
		name string
		sig  func(string) (*servable.Signature, error)
		body string
		code status.Code
		msg  string // the whole message, or a substring when sub is set
		sub  bool
	}{
		{"empty", oneFloat, ``, status.InvalidArgument, "JSON Parse error: The document is empty", false},
		{"blank", oneFloat, "  \n", status.InvalidArgument, "JSON Parse error: The document is empty. at offset: 3", false},
		{"unclosed", oneFloat, `{"instances": [1,2`, status.InvalidArgument, "JSON Parse error: Missing a comma or ']' after an array element. at offset: 18", false},
		{"trailing comma", oneFloat, `{"instances": [1],}`, status.InvalidArgument, "JSON Parse error: Missing a name for object member. at offset: 18", false},
		{"bad fraction", oneFloat, `{"instances": [1.]}`, status.InvalidArgument, "JSON Parse error: Miss fraction part in number. at offset: 17", false},
		{"Nan typo", oneFloat, `{"instances": [Nan]}`, status.InvalidArgument, "JSON Parse error: Invalid value. at offset: 17", false},
		{"too big", oneFloat, `{"instances": [1e400]}`, status.InvalidArgument, "JSON Parse error: Number too big to be stored in double. at offset: 15", false},
		{"not object", oneFloat, `[1, 2]`, status.InvalidArgument, "JSON Value: [1, 2] Is not object", false},
		{"not object nan", oneFloat, `[1, 2.5, NaN]`, status.InvalidArgument, "JSON Value: [1, 2.5,  Is not object", false},
		{"scalar doc", oneFloat, `"x"`, status.InvalidArgument, `JSON Value: "x" Is not object`, false},
		{"signature not string", oneFloat, `{"signature_name": 5, "instances": [[1,2],[3,4]]}`, status.InvalidArgument,
			"JSON Value: {\n    \"signature_name\": 5,\n    \"instances\": [[1, 2], [3, 4]]\n} not formatted correctly. 'signature_name' key must be a string value.", false},
		{"unknown signature", oneFloat, `{"signature_name": "nope", "instances": [1]}`, status.InvalidArgument,
			`Serving signature name: "nope" not found in signature def`, false},
		{"both keys", oneFloat, `{"instances": [1], "inputs": [1]}`, status.InvalidArgument,
			"JSON Value: {\n    \"instances\": [1],\n    \"inputs\": [1]\n} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ", false},
		{"instances not list", oneFloat, `{"instances": 5}`, status.InvalidArgument, "JSON Value: {\n    \"instances\": 5\n} Expecting 'instances' to be an list/array", false},
		{"instances empty", oneFloat, `{"instances": []}`, status.InvalidArgument, "JSON Value: {\n    \"instances\": []\n} No values in 'instances' array", false},
		{"no key", oneFloat, `{"foo": 1}`, status.InvalidArgument, "Missing 'inputs' or 'instances' key", false},
		{"ragged size", i32, `{"instances": [[1,2],[3,4],[5,6,7]]}`, status.InvalidArgument,
			"Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3", false},
		{"ragged shape", i32, `{"instances": [[1,2],[3,4],[[5,6]]]}`, status.InvalidArgument,
			"Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]", false},
		{"scalar then list", i32, `{"instances": [1, [1]]}`, status.InvalidArgument, "Expecting shape [] but got: [1]", true},
		{"ragged inside", i32, `{"instances": [[[1,2],[3]]]}`, status.InvalidArgument,
			"Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: Encountered list at unexpected size: 1 at level: 1 expected size: 2", false},
		{"leaf too high", i32, `{"inputs": [[1,2],3]}`, status.InvalidArgument,
			"JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2", false},
		{"list too deep", i32, `{"inputs": [1,[2]]}`, status.InvalidArgument, "Encountered list at unexpected level: 1 expected < 1", false},
		{"string for int", i32, `{"instances": [[1,2],["a","b"]]}`, status.InvalidArgument,
			"Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"a\" Type: String is not of expected type: int32", false},
		{"float for int", i32, `{"inputs": [1.5]}`, status.InvalidArgument, "JSON Value: 1.5 Type: Number is not of expected type: int32", false},
		{"int32 overflow", i32, `{"inputs": [2147483648]}`, status.InvalidArgument, "JSON Value: 2147483648 Type: Number is not of expected type: int32", false},
		{"bool for float", oneFloat, `{"inputs": [true]}`, status.InvalidArgument, "JSON Value: true Type: True is not of expected type: float", false},
		{"null for float", oneFloat, `{"inputs": null}`, status.InvalidArgument, "JSON Value: null Type: Null is not of expected type: float", false},
		{"b64 for float", oneFloat, `{"inputs": {"b64": "aGk="}}`, status.InvalidArgument,
			"JSON Value: {\n    \"b64\": \"aGk=\"\n} Type: Object is not of expected type: float", false},
		{"bad base64", str, `{"inputs": {"b64": "!!"}}`, status.InvalidArgument, "Unable to base64 decode", false},
		{"b64 extra key", str, `{"inputs": [{"b64": "aA==", "x": 1}]}`, status.InvalidArgument,
			"JSON Value: {\n    \"b64\": \"aA==\",\n    \"x\": 1\n} not formatted correctly for base64 data", false},
		{"multi plain list", two, `{"instances": [1, 2]}`, status.InvalidArgument,
			"instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map", false},
		{"object then list", two, `{"instances": [{"a": 1, "b": "x"}, [1, 20, 30]]}`, status.InvalidArgument, "Expecting object but got list at item 1 of input list", false},
		{"list then object", str, `{"instances": [["baz"], {"x": ["bat"]}]}`, status.InvalidArgument, "Expecting value/list but got object at item 1 of input list", false},
		{"extra instance key", two, `{"instances": [{"a": 1, "b": "x", "z": 1}]}`, status.InvalidArgument,
			"Failed to process element: 0 key: z of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: z", false},
		{"missing instance key", two, `{"instances": [{"a": 1}]}`, status.InvalidArgument,
			"Failed to process element: 0 of 'instances' list. JSON object: {\n    \"a\": 1\n} keys must be equal to: a,b", false},
		{"duplicate instance key", two, `{"instances": [{"a": 1, "a": 2, "b": "x"}]}`, status.InvalidArgument, "Duplicate key: a", true},
		{"multi plain inputs", two, `{"inputs": [1]}`, status.InvalidArgument,
			"inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map", false},
		{"missing named input", two, `{"inputs": {"a": [1]}}`, status.InvalidArgument, "Missing named input: b in 'inputs' object.", false},
		{"half columnar", sigOf(map[string]tensor.DType{"x": tensor.Half}), `{"inputs": [1.0]}`, status.Unimplemented,
			"Conversion of JSON Value: 1.0 to type: half", false},
		{"bfloat16 row", sigOf(map[string]tensor.DType{"x": tensor.BFloat16}), `{"instances": [1]}`, status.InvalidArgument,
			"Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: Conversion of JSON Value: 1 to type: bfloat16", false},
		{"uint64 beyond range", sigOf(map[string]tensor.DType{"x": tensor.Uint64}), `{"inputs": 18446744073709551616}`, status.InvalidArgument,
			// rapidjson's Grisu2 digits (checked against rapidjson in ref_test.go),
			// not the shortest form 18446744073709552000.0.
			"JSON Value: 18446744073709553000.0 Type: Number is not of expected type: uint64", false},
		{"negative uint32", sigOf(map[string]tensor.DType{"x": tensor.Uint32}), `{"inputs": -1}`, status.InvalidArgument,
			"JSON Value: -1 Type: Number is not of expected type: uint32", false},
		{"int64 from double", sigOf(map[string]tensor.DType{"x": tensor.Int64}), `{"inputs": 1e3}`, status.InvalidArgument,
			"JSON Value: 1000.0 Type: Number is not of expected type: int64", false},
		{"string for bool", sigOf(map[string]tensor.DType{"x": tensor.Bool}), `{"inputs": ["true"]}`, status.InvalidArgument,
			`JSON Value: "true" Type: String is not of expected type: bool`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePredictRequest([]byte(c.body), c.sig)
			if err == nil {
				t.Fatalf("no error")
			}
			if status.CodeOf(err) != c.code {
				t.Errorf("code %v, want %v (%q)", status.CodeOf(err), c.code, err.Error())
			}
			if c.sub && !strings.Contains(err.Error(), c.msg) || !c.sub && err.Error() != c.msg {
				t.Errorf("message\n got %q\nwant %q", err.Error(), c.msg)
			}
		})
	}
}

func TestPredictNoInputsSignature(t *testing.T) {
	empty := func(string) (*servable.Signature, error) { return &servable.Signature{}, nil }
	_, err := ParsePredictRequest([]byte(`{"instances": [1]}`), empty)
	if err == nil || err.Error() != "Failed to get input map for signature: DEFAULT" {
		t.Errorf("got %v", err)
	}
	_, err = ParsePredictRequest([]byte(`{"signature_name": "s", "instances": [1]}`), empty)
	if err == nil || err.Error() != "Failed to get input map for signature: s" {
		t.Errorf("got %v", err)
	}
	boom := errors.New("boom")
	_, err = ParsePredictRequest([]byte(`{"instances": [1]}`), func(string) (*servable.Signature, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("sigs error not passed through: %v", err)
	}
}

func TestPredictDeepNesting(t *testing.T) {
	// TF Serving's DeeplyNestedWellFormed / DeeplyNestedMalformed tests pass
	// once the depth limit allows them: the parser has no recursion.
	deep := strings.Repeat("[", 500000) + strings.Repeat("]", 500000)
	unlimited := limits.Request{MaxJSONDepth: 1 << 20}
	req, err := ParsePredictRequestLimited([]byte(`{"instances":[1], "nested":`+deep+`}`), limits.NewBudget(unlimited), oneFloat)
	if err != nil || req.Inputs["x"].Len() != 1 {
		t.Fatalf("well-formed deep nesting: %v", err)
	}
	_, err = ParsePredictRequestLimited([]byte(`{"signature_name":`+deep+`}`), limits.NewBudget(unlimited), oneFloat)
	if err == nil || !strings.Contains(err.Error(), "key must be a string value") || len(err.Error()) > 400 {
		t.Fatalf("malformed deep nesting: %v", err)
	}
	// Under the default limit (300) both fail where the 301st level opens:
	// offset 27 + 299 in the first body.
	_, err = ParsePredictRequest([]byte(`{"instances":[1], "nested":`+deep+`}`), oneFloat)
	want := "JSON Parse error: JSON nesting depth is 301, over the limit of 300 (--request_max_json_depth) at offset: 326"
	if err == nil || err.Error() != want || status.CodeOf(err) != status.InvalidArgument {
		t.Fatalf("default depth limit: got %v, want %s", err, want)
	}
}

func tt(dt tensor.DType, shape tensor.Shape, data any) *tensor.Tensor {
	return &tensor.Tensor{DType: dt, Shape: shape, Data: data}
}

func TestPredictParse(t *testing.T) {
	mixed := sigOf(map[string]tensor.DType{"i": tensor.Int32, "s": tensor.String, "f": tensor.Float32, "d": tensor.Float64})
	cases := []struct {
		name   string
		sig    func(string) (*servable.Signature, error)
		body   string
		format Format
		signam string
		want   map[string]*tensor.Tensor
	}{
		{"row ints", sigOf(map[string]tensor.DType{"x": tensor.Int32}), `{"instances": [[1,2],[3,4],[5,6]]}`, Row, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Int32, tensor.Shape{3, 2}, []int32{1, 2, 3, 4, 5, 6})}},
		{"row floats mixed ints", oneFloat, `{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}`, Row, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Float32, tensor.Shape{7}, []float32{1, 2, 3, 4, 5.003, 0.007, 0})}},
		{"row objects single input", oneFloat, `{"signature_name": "other", "instances": [{"x": [1]}, {"x": [2]}]}`, Row, "other",
			map[string]*tensor.Tensor{"x": tt(tensor.Float32, tensor.Shape{2, 1}, []float32{1, 2})}},
		{"empty signature name", oneFloat, `{"signature_name": "", "inputs": 1}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Float32, tensor.Shape{}, []float32{1})}},
		{"row b64", sigOf(map[string]tensor.DType{"x": tensor.String}), `{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}`, Row, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.String, tensor.Shape{2}, []string{"hello", "world"})}},
		{"row multi", mixed, `{"instances": [{"i": [[1,2],[3,4]], "s": ["foo", "bar"], "f": 1.5, "d": [[1.0]]},
			{"i": [[5,6],[7,8]], "s": ["baz", {"b64": "AP8="}], "f": 2, "d": [[-1]]}]}`, Row, "serving_default",
			map[string]*tensor.Tensor{
				"i": tt(tensor.Int32, tensor.Shape{2, 2, 2}, []int32{1, 2, 3, 4, 5, 6, 7, 8}),
				"s": tt(tensor.String, tensor.Shape{2, 2}, []string{"foo", "bar", "baz", "\x00\xff"}),
				"f": tt(tensor.Float32, tensor.Shape{2}, []float32{1.5, 2}),
				"d": tt(tensor.Float64, tensor.Shape{2, 1, 1}, []float64{1, -1}),
			}},
		{"columnar multi extra keys ignored", mixed, `{"inputs": {"i": [1,2,3], "s": "x", "f": [[1],[2]], "d": [], "junk": {"a": 1}}}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{
				"i": tt(tensor.Int32, tensor.Shape{3}, []int32{1, 2, 3}),
				"s": tt(tensor.String, tensor.Shape{}, []string{"x"}),
				"f": tt(tensor.Float32, tensor.Shape{2, 1}, []float32{1, 2}),
				"d": tt(tensor.Float64, tensor.Shape{0}, []float64{}),
			}},
		{"columnar b64 scalar", sigOf(map[string]tensor.DType{"x": tensor.String}), `{"inputs": {"b64": " aG k= "}}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.String, tensor.Shape{}, []string{"hi"})}},
		{"empty inner lists", sigOf(map[string]tensor.DType{"x": tensor.Int64}), `{"instances": [[], []]}`, Row, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Int64, tensor.Shape{2, 0}, []int64{})}},
		{"first key wins, trailing text ignored", oneFloat, `{"inputs": [1], "inputs": "ignored"} trailing {`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Float32, tensor.Shape{1}, []float32{1})}},
		{"bom", oneFloat, "\xef\xbb\xbf{\"inputs\": 2}", Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Float32, tensor.Shape{}, []float32{2})}},
		{"int ranges", sigOf(map[string]tensor.DType{"x": tensor.Int64}), `{"inputs": [-9223372036854775808, 9223372036854775807, -0]}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Int64, tensor.Shape{3}, []int64{math.MinInt64, math.MaxInt64, 0})}},
		{"narrow ints wrap as TF's cast", sigOf(map[string]tensor.DType{"x": tensor.Uint8}), `{"inputs": [255, 256, 300, -1]}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Uint8, tensor.Shape{4}, []uint8{255, 0, 44, 255})}},
		{"int8", sigOf(map[string]tensor.DType{"x": tensor.Int8}), `{"inputs": [-128, 127, 128]}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Int8, tensor.Shape{3}, []int8{-128, 127, -128})}},
		{"uint32 uint64", sigOf(map[string]tensor.DType{"x": tensor.Uint64}), `{"inputs": [18446744073709551615, 0]}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Uint64, tensor.Shape{2}, []uint64{math.MaxUint64, 0})}},
		{"bools", sigOf(map[string]tensor.DType{"x": tensor.Bool}), `{"instances": [[true, false]]}`, Row, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Bool, tensor.Shape{1, 2}, []bool{true, false})}},
		{"unicode escapes", sigOf(map[string]tensor.DType{"x": tensor.String}), "{\"inputs\": [\"\\u00e9\\ud83d\\ude00\\udc00\\n\\/\", \"raw\xff\"]}", Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.String, tensor.Shape{2}, []string{"é😀\xed\xb0\x80\n/", "raw\xff"})}},
		{"half empty tensor is fine", sigOf(map[string]tensor.DType{"x": tensor.Half}), `{"inputs": []}`, Columnar, "serving_default",
			map[string]*tensor.Tensor{"x": tt(tensor.Half, tensor.Shape{0}, []uint16{})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := ParsePredictRequest([]byte(c.body), c.sig)
			if err != nil {
				t.Fatal(err)
			}
			if req.Format != c.format || req.SignatureName != c.signam {
				t.Errorf("format %v signature %q", req.Format, req.SignatureName)
			}
			if !reflect.DeepEqual(req.Inputs, c.want) {
				for n, w := range c.want {
					t.Errorf("%s: got %v %#v want %v %#v", n, req.Inputs[n], dataOf(req.Inputs[n]), w, w.Data)
				}
			}
			for n, tn := range req.Inputs {
				if err := tn.Validate(); err != nil {
					t.Errorf("%s: %v", n, err)
				}
			}
		})
	}
}

func dataOf(t *tensor.Tensor) any {
	if t == nil {
		return nil
	}
	return t.Data
}

func TestPredictNumberEdgeCases(t *testing.T) {
	req, err := ParsePredictRequest([]byte(`{"inputs": [1e300, -1e300, 1e-300, -1e-300, NaN, Infinity, -Infinity, Inf, -Inf, 16777217]}`), oneFloat)
	if err != nil {
		t.Fatal(err)
	}
	got := req.Inputs["x"].F32()
	inf := float32(math.Inf(1))
	want := []float32{inf, -inf, 0, float32(math.Copysign(0, -1)), 0 /*NaN*/, inf, -inf, inf, -inf, 16777216}
	for i := range want {
		if i == 4 {
			if !math.IsNaN(float64(got[i])) {
				t.Errorf("[%d] = %v, want NaN", i, got[i])
			}
			continue
		}
		if got[i] != want[i] || math.Signbit(float64(got[i])) != math.Signbit(float64(want[i])) {
			t.Errorf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	req, err = ParsePredictRequest([]byte(`{"inputs": [0.1, 1.7976931348623157e308, 4.9e-324, 123456789012345678901234567890]}`), sigOf(map[string]tensor.DType{"x": tensor.Float64}))
	if err != nil {
		t.Fatal(err)
	}
	d := req.Inputs["x"].F64()
	if d[0] != 0.1 || d[1] != math.MaxFloat64 || d[2] != 5e-324 || math.Abs(d[3]-1.2345678901234568e29)/1e29 > 1e-15 {
		t.Errorf("doubles %v", d)
	}
}
