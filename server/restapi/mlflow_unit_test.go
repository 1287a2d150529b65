package restapi

import (
	"math"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// Expected strings below are what CPython 3 prints (repr, json.dumps,
// base64.encodebytes).

func TestPyAppendFloat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0.1, "0.1"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {9999999999999998.0, "9999999999999998.0"},
		{1e-5, "1e-05"}, {0.0001, "0.0001"}, {123.456, "123.456"}, {-2.5e-300, "-2.5e-300"}, {5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {100, "100.0"}, {0.5, "0.5"},
		{float64(float32(0.1)), "0.10000000149011612"}, {1234567890123456.7, "1234567890123456.8"},
		{math.Copysign(0, -1), "-0.0"}, {0, "0.0"}, {1e22, "1e+22"}, {12345678.9e-12, "1.23456789e-05"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	} {
		if got := string(pyAppendFloat(nil, c.v)); got != c.want {
			t.Errorf("%v: %s, want %s", c.v, got, c.want)
		}
	}
}

func TestPyStrings(t *testing.T) {
	if got, want := string(pyAppendString(nil, "a\"\\\n\x01\x7f \u00e9 \U0001F600 <>\t\b\f\r")),
		`"a\"\\\n\u0001\u007f \u00e9 \ud83d\ude00 <>\t\b\f\r"`; got != want {
		t.Errorf("string: %s\nwant %s", got, want)
	}
	if got := string(pyAppendString(nil, "\xff")); got != `"\ufffd"` {
		t.Errorf("invalid UTF-8: %s", got)
	}
	b := make([]byte, 100)
	for i := range b {
		b[i] = byte(i)
	}
	want := `"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\nOTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==\n"`
	if got := string(pyAppendBytes(nil, string(b))); got != want {
		t.Errorf("bytes: %s\nwant %s", got, want)
	}
	if got := string(pyAppendBytes(nil, "")); got != `""` {
		t.Errorf("empty bytes: %s", got)
	}
	for in, want := range map[string]string{"it's": `"it's"`, `a'b"c`: `'a\'b"c'`, "x\n\t\x01": `'x\n\t\x01'`} {
		if got := pyRepr(in); got != want {
			t.Errorf("repr %q: %s, want %s", in, got, want)
		}
	}
	if got := pySetRepr(nil); got != "set()" {
		t.Errorf("empty set: %s", got)
	}
	if got := pyShape([]int64{-1}); got != "(-1,)" {
		t.Errorf("shape: %s", got)
	}
}

func TestMLflowPredictionsShapes(t *testing.T) {
	out := map[string]*tensor.Tensor{
		"col":    tensor.FromSlice(tensor.Shape{3, 1}, []float32{1, 2, 3}),
		"mat":    tensor.FromSlice(tensor.Shape{2, 2}, []int64{1, 2, 3, 4}),
		"cube":   tensor.FromSlice(tensor.Shape{2, 1, 2}, []int32{1, 2, 3, 4}), // every row has one element: raveled
		"empty":  tensor.FromSlice(tensor.Shape{2, 0}, []float64{}),
		"scalar": tensor.Scalar(true),
		"half":   {DType: tensor.Half, Shape: tensor.Shape{3}, Data: []uint16{0x3c00, 0xc000, 0x0001}},
		"bf16":   {DType: tensor.BFloat16, Shape: tensor.Shape{1}, Data: []uint16{0x3fc0}},
		"str":    tensor.FromSlice(tensor.Shape{1}, []string{"hi"}),
		"u64":    tensor.FromSlice(tensor.Shape{1}, []uint64{math.MaxUint64}),
	}
	aliases := []string{"bf16", "col", "cube", "empty", "half", "mat", "scalar", "str", "u64"}
	got, err := mlflowPredictions(nil, 0, aliases, out)
	want := `{"predictions": {"bf16": [1.5], "col": [1.0, 2.0, 3.0], "cube": [1, 2, 3, 4], "empty": [[], []], ` +
		`"half": [1.0, -2.0, 5.960464477539063e-08], "mat": [[1, 2], [3, 4]], "scalar": true, "str": ["aGk=\n"], ` +
		`"u64": [18446744073709551615]}}`
	if err != nil || string(got) != want {
		t.Errorf("%s %v\nwant %s", got, err, want)
	}
	if _, err := mlflowPredictions(nil, 10, aliases, out); err == nil || !strings.Contains(err.Error(), "--response_max_bytes") {
		t.Errorf("limit: %v", err)
	}
	c := map[string]*tensor.Tensor{"c": {DType: tensor.Complex64, Shape: tensor.Shape{1}, Data: []complex64{1}}}
	if _, err := mlflowPredictions(nil, 0, []string{"c"}, c); err == nil {
		t.Error("complex output written")
	}
}

// fuzzSigs are the signatures hostile payloads are parsed against.
var fuzzSigs = []*servable.Signature{
	{Name: "serving_default", Inputs: map[string]servable.TensorInfo{
		"x": {DType: tensor.Float32, Dims: []servable.Dim{{Size: -1}, {Size: 1}}}}},
	{Name: "serving_default", Inputs: map[string]servable.TensorInfo{
		"a": {DType: tensor.Float64, UnknownRank: true},
		"b": {DType: tensor.Int8, Dims: []servable.Dim{{Size: -1}, {Size: 2}, {Size: 2}}},
		"s": {DType: tensor.String, Dims: []servable.Dim{{Size: -1}}},
		"t": {DType: tensor.Bool, Dims: []servable.Dim{{Size: -1}, {Size: -1}}},
		"u": {DType: tensor.Uint64, Dims: []servable.Dim{{Size: -1}}},
	}},
	{Name: "serving_default", Inputs: map[string]servable.TensorInfo{
		"h": {DType: tensor.Half, Dims: []servable.Dim{{Size: -1}}}}},
}

var mlflowSeeds = []string{
	`{"dataframe_split": {"columns": ["x"], "data": [[1.0], [2]]}}`,
	`{"dataframe_split": {"columns": ["a", "b", "s", "t", "u"], "data": [[1, [[1,2],[3,4]], "s", true, 18446744073709551615]]}}`,
	`{"dataframe_records": [{"a": 1, "b": [1,2,3,4], "s": "x", "t": 0}, {"z": null}]}`,
	`{"dataframe_records": [[1, 2], [3, 4]]}`,
	`{"instances": [{"a": [1], "b": [[[1,2],[3,4]]], "s": "x", "t": [true], "u": 1}]}`,
	`{"inputs": {"a": [[[]]], "b": [], "s": [], "t": [[]], "u": []}}`,
	`{"inputs": [[[[1]]], [[2]]]}`, `{"instances": [1, {"x": 1}]}`, `{"dataframe_split": {"data": [[1], [2, 3]], "index": 5}}`,
	`{"dataframe_split": {"columns": [[1]], "data": []}}`, `[]`, `nul`, `{"inputs": {"h": [1]}}`,
}

// FuzzMLflowJSON: hostile JSON payloads get an answer, never a panic, and
// never tensors past the budget.
func FuzzMLflowJSON(f *testing.F) {
	for _, s := range mlflowSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sig := range fuzzSigs {
			budget := limits.NewBudget(limits.Request{MaxElements: 1000, MaxBytes: 1 << 16, MaxJSONDepth: 20})
			ins, merr := jsonInputs([]byte(body), sig, budget)
			checkBuilt(t, ins, merr)
		}
	})
}

var csvSeeds = []string{
	"x\n1\n2\n", ",x\r\n0,1\r\n", "a,b,s,t,u\n1,2,x,true,3\n", "\"a\"\"\",b\n\"1\n2\"x,3\n", "a,a,a\n1\n", "\"x\n1", "h\n1\n",
}

// FuzzMLflowCSV: hostile CSV likewise.
func FuzzMLflowCSV(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sig := range fuzzSigs {
			budget := limits.NewBudget(limits.Request{MaxElements: 1000, MaxBytes: 1 << 16})
			ins, merr := csvInputs([]byte(body), sig, budget)
			checkBuilt(t, ins, merr)
		}
	})
}

func checkBuilt(t *testing.T, ins map[string]*tensor.Tensor, merr *mlflowErr) {
	t.Helper()
	if merr != nil {
		if merr.code == "" || merr.msg == "" || merr.httpStatus() != 400 {
			t.Fatalf("error %+v", merr)
		}
		return
	}
	n := 0
	for a, ts := range ins {
		if err := ts.Validate(); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		n += ts.Len()
	}
	if n > 1000 {
		t.Fatalf("%d elements past the budget", n)
	}
}

func TestMLflowFuzzSeeds(t *testing.T) {
	for _, s := range mlflowSeeds {
		for _, sig := range fuzzSigs {
			ins, merr := jsonInputs([]byte(s), sig, limits.NewBudget(limits.Request{}))
			checkBuilt(t, ins, merr)
		}
	}
	// A sample of what they give.
	ins, merr := jsonInputs([]byte(mlflowSeeds[1]), fuzzSigs[1], limits.NewBudget(limits.Request{}))
	if merr != nil || ins["b"].Shape.String() != tensor.Shape([]int{1, 2, 2}).String() || ins["u"].Data.([]uint64)[0] != math.MaxUint64 ||
		ins["a"].Shape.String() != tensor.Shape([]int{1}).String() {
		t.Errorf("%v %v", ins, merr)
	}
	// A list column reshapes to the input's fixed inner sizes.
	ins, merr = jsonInputs([]byte(mlflowSeeds[2]), fuzzSigs[1], limits.NewBudget(limits.Request{}))
	if merr == nil {
		t.Errorf("missing cells of an int8 list column: %v", ins)
	}
	ins, merr = jsonInputs([]byte(`{"dataframe_records": [{"a": 1, "b": [1,2,3,4], "s": "x", "t": 0, "u": 2}]}`), fuzzSigs[1],
		limits.NewBudget(limits.Request{}))
	if merr != nil || ins["b"].Shape.String() != tensor.Shape([]int{1, 2, 2}).String() || ins["t"].Shape.String() != tensor.Shape([]int{1, 1}).String() {
		t.Errorf("reshape: %v %v", ins, merr)
	}
	for _, s := range csvSeeds {
		for _, sig := range fuzzSigs {
			ins, merr := csvInputs([]byte(s), sig, limits.NewBudget(limits.Request{}))
			checkBuilt(t, ins, merr)
		}
	}
}
