package jsontensor

import (
	"runtime"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// allocated returns the bytes f allocates (TotalAlloc delta; the test must
// not run in parallel with others that allocate).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// parseBound is the documented bound on what parsing one body allocates:
// maxFactor bytes per input byte plus a constant.
const (
	maxFactor = 16
	parseSlop = 64 << 10
)

func sigOfType(dt tensor.DType) func(string) (*servable.Signature, error) {
	s := &servable.Signature{Inputs: map[string]servable.TensorInfo{"x": {DType: dt}}}
	return func(string) (*servable.Signature, error) { return s, nil }
}

func repeatJoin(elem string, n int) string {
	return strings.TrimSuffix(strings.Repeat(elem+",", n), ",")
}

// TestParseMemoryBound parses pathological bodies of about 1 MiB and checks
// the bytes allocated stay within maxFactor × the body. The factors are
// logged (go test -v -run TestParseMemoryBound) and listed in BENCHMARKS.md.
func TestParseMemoryBound(t *testing.T) {
	const n = 1 << 20
	deep := strings.Repeat("[", 299) + "0" + strings.Repeat("]", 299)
	cases := []struct {
		name, body string
		dt         tensor.DType
		classify   bool
	}{
		{"all [", strings.Repeat("[", n), tensor.Float32, false},
		{"[[[...]]] at depth 300, repeated", `{"instances": [` + repeatJoin(deep, n/len(deep)) + `]}`, tensor.Float32, false},
		{"[0,0,...] float32", `{"instances": [` + repeatJoin("0", n/2) + `]}`, tensor.Float32, false},
		{"[0,0,...] int64", `{"instances": [` + repeatJoin("0", n/2) + `]}`, tensor.Int64, false},
		{"[0,0,...] float64 columnar", `{"inputs": [` + repeatJoin("0", n/2) + `]}`, tensor.Float64, false},
		{"empty strings", `{"instances": [` + repeatJoin(`""`, n/3) + `]}`, tensor.String, false},
		{"one-byte strings", `{"instances": [` + repeatJoin(`"a"`, n/4) + `]}`, tensor.String, false},
		{"escaped strings", `{"instances": [` + repeatJoin(`"\n"`, n/5) + `]}`, tensor.String, false},
		{"long string", `{"instances": ["` + strings.Repeat("a", n) + `"]}`, tensor.String, false},
		{"b64 objects", `{"instances": [` + repeatJoin(`{"b64":"AA=="}`, n/15) + `]}`, tensor.String, false},
		{"many small objects", `{"instances": [` + repeatJoin(`{"x":0}`, n/8) + `]}`, tensor.Float32, false},
		{"empty arrays", `{"instances": [` + repeatJoin(`[]`, n/3) + `]}`, tensor.Float32, false},
		{"wide object", `{"nested": {` + repeatJoin(`"":0`, n/5) + `}, "instances": [1]}`, tensor.Float32, false},
		{"classify ints", `{"examples": [{"x": [` + repeatJoin("0", n/2) + `]}]}`, 0, true},
		{"classify many features", `{"examples": [{` + repeatJoin(`"a":0`, n/6) + `}]}`, 0, true},
		{"classify empty examples", `{"examples": [` + repeatJoin(`{}`, n/3) + `]}`, 0, true},
		{"classify b64", `{"examples": [{"x": [` + repeatJoin(`{"b64":"AA=="}`, n/15) + `]}]}`, 0, true},
	}
	for _, c := range cases {
		body := []byte(c.body)
		var err error
		got := allocated(func() {
			if c.classify {
				_, err = ParseClassifyRegressRequest(body)
			} else {
				_, err = ParsePredictRequest(body, sigOfType(c.dt))
			}
		})
		factor := float64(got) / float64(len(body))
		t.Logf("%-36s %8d bytes: %10d allocated, %5.2f per byte (err: %v)", c.name, len(body), got, factor, err)
		if got > maxFactor*uint64(len(body))+parseSlop {
			t.Errorf("%s: %d bytes allocated for %d bytes of body (%.1fx, want <= %dx)", c.name, got, len(body), factor, maxFactor)
		}
	}
}

func TestRankLimit(t *testing.T) {
	nest := func(rank int) string { return strings.Repeat("[", rank) + "1" + strings.Repeat("]", rank) }
	want := "tensor rank is 255, over the limit of 254 (--request_max_rank)"
	// Columnar: the tensor is the value itself.
	_, err := ParsePredictRequest([]byte(`{"inputs": `+nest(255)+`}`), oneFloat)
	if err == nil || err.Error() != want || status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("columnar rank 255: %v", err)
	}
	if _, err := ParsePredictRequest([]byte(`{"inputs": `+nest(254)+`}`), oneFloat); err != nil {
		t.Errorf("columnar rank 254: %v", err)
	}
	// Row: the batch dimension counts.
	_, err = ParsePredictRequest([]byte(`{"instances": [`+nest(254)+`]}`), oneFloat)
	if err == nil || !strings.Contains(err.Error(), "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: "+want) {
		t.Errorf("row rank 255: %v", err)
	}
	// A lower --request_max_rank.
	b := limits.NewBudget(limits.Request{MaxRank: 3})
	_, err = ParsePredictRequestLimited([]byte(`{"inputs": `+nest(4)+`}`), b, oneFloat)
	if err == nil || err.Error() != "tensor rank is 4, over the limit of 3 (--request_max_rank)" {
		t.Errorf("rank 4 of 3: %v", err)
	}
}

func TestElementAndByteBudget(t *testing.T) {
	body := []byte(`{"inputs": {"x": [[1, 2, 3], [4, 5, 6]]}}`)
	b := limits.NewBudget(limits.Request{MaxElements: 5})
	_, err := ParsePredictRequestLimited(body, b, oneFloat)
	if err == nil || err.Error() != "request input tensors' element count needs 6, over the limit of 5 (--request_max_elements)" {
		t.Errorf("elements: %v", err)
	}
	b = limits.NewBudget(limits.Request{MaxBytes: 23})
	_, err = ParsePredictRequestLimited(body, b, oneFloat)
	if err == nil || err.Error() != "request input tensors' decoded bytes needs 24, over the limit of 23 (--request_max_bytes)" {
		t.Errorf("bytes: %v", err)
	}
	if _, err := ParsePredictRequestLimited(body, limits.NewBudget(limits.Request{MaxElements: 6, MaxBytes: 24}), oneFloat); err != nil {
		t.Errorf("exactly at the limits: %v", err)
	}
	// Strings: 16 bytes per element plus the payload (b64: decoded bound).
	str := []byte(`{"instances": ["abcd", {"b64": "AAAA"}]}`)
	_, err = ParsePredictRequestLimited(str, limits.NewBudget(limits.Request{MaxBytes: 2*16 + 4 + 3 - 1}), sigOfType(tensor.String))
	if err == nil || !strings.Contains(err.Error(), "needs 39, over the limit of 38 (--request_max_bytes)") {
		t.Errorf("string bytes: %v", err)
	}
	if _, err := ParsePredictRequestLimited(str, limits.NewBudget(limits.Request{MaxBytes: 39}), sigOfType(tensor.String)); err != nil {
		t.Errorf("strings at the limit: %v", err)
	}
	// Type errors in the first element come before the budget, with TF
	// Serving's message.
	_, err = ParsePredictRequestLimited([]byte(`{"inputs": ["a", 1, 2]}`), limits.NewBudget(limits.Request{MaxElements: 1}), oneFloat)
	if err == nil || !strings.Contains(err.Error(), `JSON Value: "a" Type: String is not of expected type: float`) {
		t.Errorf("type check first: %v", err)
	}
}

func TestExamplesBudget(t *testing.T) {
	// A 1000-byte context repeated for 100 examples.
	ctx := `"c": "` + strings.Repeat("x", 1000) + `"`
	body := []byte(`{"context": {` + ctx + `}, "examples": [` + repeatJoin(`{}`, 100) + `]}`)
	req, err := ParseClassifyRegressRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	ctxLen := int64(len(req.Context))
	want := 100*(16+ctxLen) + 0 // the examples are empty
	b := limits.NewBudget(limits.Request{MaxBytes: want - 1})
	if _, err := req.InputStrings(b); err == nil || !strings.Contains(err.Error(), "(--request_max_bytes)") {
		t.Errorf("merged context over budget: %v", err)
	}
	strs, err := req.InputStrings(limits.NewBudget(limits.Request{MaxBytes: want}))
	if err != nil || len(strs) != 100 || int64(len(strs[99])) != ctxLen {
		t.Errorf("at the limit: %d strings, %v", len(strs), err)
	}
	// Parsing itself charges each serialized Example.
	_, err = ParseClassifyRegressRequestLimited(body, limits.NewBudget(limits.Request{MaxElements: 50}))
	if err == nil || !strings.Contains(err.Error(), "(--request_max_elements)") {
		t.Errorf("examples over the element budget: %v", err)
	}
}

// TestResponseLimit writes the response of the "indentation" attack: a rank
// 250 tensor whose every element is written on its own line after 1000
// bytes of indent.
func TestResponseLimit(t *testing.T) {
	shape := make(tensor.Shape, 250)
	for i := range shape {
		shape[i] = 1
	}
	shape[249] = 4096
	x := tensor.FromSlice(shape, make([]float32, 4096))
	const limit = 1 << 20
	out, err := AppendPredictResponseLimited([]byte("keep"), limit, Columnar, map[string]*tensor.Tensor{"x": x}, nil)
	want := "JSON response is larger than the limit of 1048576 bytes (--response_max_bytes)"
	if err == nil || err.Error() != want || status.CodeOf(err) != status.InvalidArgument {
		t.Fatalf("got %v, want %s", err, want)
	}
	if string(out) != "keep" {
		t.Errorf("dst changed on error: %.20q", out)
	}
	// Under a limit it fits, the output is complete: 250 nested lists.
	out, err = AppendPredictResponseLimited(nil, 0, Columnar, map[string]*tensor.Tensor{"x": x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(out), "["); got != 250 || len(out) < 4096*1000 {
		t.Errorf("%d lists, %d bytes", got, len(out))
	}
	// Row format (single-line lists, "0.0, " per element) and
	// classify/regress stop too.
	wide := tensor.FromSlice(tensor.Shape{1, limit / 5}, make([]float32, limit/5))
	if _, err := AppendPredictResponseLimited(nil, limit, Row, map[string]*tensor.Tensor{"x": wide}, nil); err == nil || err.Error() != want {
		t.Errorf("row: %v", err)
	}
	if _, err := AppendRegressResponse(nil, 100, make([]float32, 1000)); err == nil || !strings.Contains(err.Error(), "limit of 100 bytes") {
		t.Errorf("regress: %v", err)
	}
	cls := make([][]Class, 100)
	for i := range cls {
		cls[i] = []Class{{"a", 1}}
	}
	if _, err := AppendClassifyResponse(nil, 100, cls); err == nil || !strings.Contains(err.Error(), "limit of 100 bytes") {
		t.Errorf("classify: %v", err)
	}
}

// TestWriterDeepRank writes rank-254 tensors (the most a request can have)
// and checks the nesting against the shape: no recursion per dimension.
func TestWriterDeepRank(t *testing.T) {
	shape := make(tensor.Shape, limits.MaxRank)
	for i := range shape {
		shape[i] = 1
	}
	shape[0], shape[limits.MaxRank-1] = 2, 3
	x := tensor.FromSlice(shape, []int64{1, 2, 3, 4, 5, 6})
	out, err := AppendPredictResponse(nil, Row, map[string]*tensor.Tensor{"x": x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Round trip through the parser (which has no recursion either).
	sig := sigOfType(tensor.Int64)
	body := strings.Replace(string(out), "predictions", "instances", 1)
	req, err := ParsePredictRequest([]byte(body), sig)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Inputs["x"]; !got.Shape.Equal(shape) || !equalInt64(got.Data.([]int64), []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("round trip: shape %v data %v", got.Shape, got.Data)
	}
}

func equalInt64(a, b []int64) bool {
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

// TestCountNodesExact: the pre-pass sizes the node array exactly for valid
// documents without empty containers, so parsing never grows it.
func TestCountNodesExact(t *testing.T) {
	for _, s := range []string{
		`{"instances": [[[0.1, 0.2], [0.3, 0.4]]]}`, `[0,0,0]`, `{"a":1,"b":[2]}`, `{"a":"]\"[,:","b":{"c":true}}`,
		`{"x": [null, false, -1e5, "s\"", {"k": [1]}]}` + "\x00 trailing [[[",
	} {
		d, errc, _ := parseDocument([]byte(s), 300, false)
		if errc != errNone {
			t.Fatalf("%s: %v", s, parseErrText[errc])
		}
		if got := countNodes([]byte(s), 300); got != len(d.nodes) || cap(d.nodes) != len(d.nodes) {
			t.Errorf("%s: counted %d, parsed %d (cap %d)", s, got, len(d.nodes), cap(d.nodes))
		}
	}
}
