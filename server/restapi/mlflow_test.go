package restapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
)

// asDefault serves one of the fake model's signatures as serving_default.
type asDefault struct {
	*fakemodel.HalfPlusTwo
	from string
}

func (m asDefault) Signatures() map[string]*servable.Signature {
	s := *m.HalfPlusTwo.Signatures()[m.from]
	s.Name = servable.DefaultSignature
	return map[string]*servable.Signature{servable.DefaultSignature: &s}
}

func (m asDefault) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, out []string) (map[string]*tensor.Tensor, error) {
	if sig == servable.DefaultSignature {
		sig = m.from
	}
	return m.HalfPlusTwo.Run(ctx, sig, in, out)
}

// mlflowModels loads version folders written by writeModel: "A" is the
// fake half_plus_two, "SIG:A" serves the fake's signature SIG as
// serving_default, anything else fails to load.
type mlflowModels struct {
	mu   sync.Mutex
	made []*fakemodel.HalfPlusTwo
	// tweak adjusts each model before it is served.
	tweak func(*fakemodel.HalfPlusTwo)
}

func (l *mlflowModels) load(ctx context.Context, dir string) (servable.Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model"))
	if err != nil {
		return nil, err
	}
	sig, a, found := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !found {
		sig, a = "", sig
	}
	v, err := strconv.ParseFloat(a, 32)
	if err != nil {
		return nil, status.Errorf(status.InvalidArgument, "bad model file %s", filepath.Base(dir))
	}
	m := fakemodel.New()
	m.A = float32(v)
	l.mu.Lock()
	if l.tweak != nil {
		l.tweak(m)
	}
	l.made = append(l.made, m)
	l.mu.Unlock()
	if sig != "" {
		return asDefault{m, sig}, nil
	}
	return m, nil
}

// mlflowHarness serves name → model file (version 1 of each) over HTTP.
func mlflowHarness(t *testing.T, models map[string]string, mod func(*Options)) (*harness, *mlflowModels) {
	t.Helper()
	var mcs []*servingpb.ModelConfig
	for name, content := range models {
		base := t.TempDir()
		fakemodel.WriteVersion(t, base, 1, content)
		mcs = append(mcs, modelConfig(name, base, nil, false))
	}
	return mlflowHarnessConfig(t, configOf(mcs...), mod, nil)
}

func mlflowHarnessConfig(t *testing.T, cfg *servingpb.ModelServerConfig, mod func(*Options), tweak func(*fakemodel.HalfPlusTwo)) (*harness, *mlflowModels) {
	t.Helper()
	l := &mlflowModels{tweak: tweak}
	mgr, err := manager.New(manager.Options{
		Load:         l.load,
		OpenSource:   func(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil },
		PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = mgr.ReloadConfig(context.Background(), cfg)
	opts := Options{Models: mgr}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	h := &harness{t: t, mgr: mgr, srv: srv, url: "http://" + ln.Addr().String(),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true}}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = mgr.Close()
	})
	return h, l
}

// send posts or gets without the harness's Content-Type check.
func (h *harness) send(method, path, contentType string, body []byte, hdr map[string]string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{resp.StatusCode, string(b), resp.Header}
}

func (h *harness) invoke(contentType, body string) reply {
	h.t.Helper()
	return h.send("POST", "/invocations", contentType, []byte(body), nil)
}

func (h *harness) invokeJSON(body string) reply {
	h.t.Helper()
	return h.invoke("application/json", body)
}

// expectOK checks a 200 JSON answer byte for byte.
func expectOK(t *testing.T, what string, r reply, want string) {
	t.Helper()
	if r.code != 200 || r.body != want {
		t.Errorf("%s: %d %s\nwant 200 %s", what, r.code, r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
}

// expectMLflowError checks an answer in MLflow's error shape: the HTTP
// status, {"error_code": code, "message": msg} exactly (and no
// stack_trace).
func expectMLflowError(t *testing.T, what string, r reply, httpStatus int, code, msg string) {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Errorf("%s: %d %q is not JSON: %v", what, r.code, r.body, err)
		return
	}
	if r.code != httpStatus || e["error_code"] != code || e["message"] != msg || len(e) != 2 ||
		!strings.HasPrefix(r.body, `{"error_code": "`+code+`", "message": "`) {
		t.Errorf("%s: got %d %s\nwant %d %s %q", what, r.code, r.body, httpStatus, code, msg)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
}

const requiredFormat = "The input must be a JSON dictionary with exactly one of the input fields " +
	"{'dataframe_records', 'dataframe_split', 'instances', 'inputs'}"

const hpSchema = "Failed to predict data. \nError: Failed to enforce schema of data with schema " +
	"'['x': Tensor('float32', (-1, 1))]'. Error: "

const multiSchema = "Failed to predict data. \nError: Failed to enforce schema of data with schema " +
	"'['a': Tensor('float32', (-1,)), 'b': Tensor('int64', (-1,)), 's': Tensor('object', (-1,))]'. Error: "

// TestMLflowPayloadFormats: every payload format, against half_plus_two
// (x float[-1,1] → y float[-1,1]) and a three-input signature (a float[-1],
// b int64[-1], s string[-1] → sum = a+b, neg = -b, echo_bytes = s).
func TestMLflowPayloadFormats(t *testing.T) {
	h, _ := mlflowHarness(t, map[string]string{"hp": "0.5"}, nil)
	hm, _ := mlflowHarness(t, map[string]string{"multi": "multi:1"}, nil)
	const y = `{"predictions": {"y": [2.5, 3.0, 4.5]}}`
	for _, c := range []struct{ what, body, want string }{
		// Columns by name; a scalar column is [rows, 1] for x's (-1, 1);
		// the [3, 1] output is flattened (every row has one value).
		{"split", `{"dataframe_split": {"columns": ["x"], "data": [[1.0], [2], [5.0]]}}`, y},
		{"split with index", `{"dataframe_split": {"index": [7, 8, 9], "columns": ["x"], "data": [[1], [2], [5]]}}`, y},
		{"split, extra column ignored", `{"dataframe_split": {"columns": ["other", "x"], "data": [["a", 1], ["b", 2], ["c", 5]]}}`, y},
		{"split, list cells", `{"dataframe_split": {"columns": ["x"], "data": [[[1.0]], [[2.0]], [[5.0]]]}}`, y},
		{"split, numeric strings", `{"dataframe_split": {"columns": ["x"], "data": [["1"], [" 2.0 "], ["5e0"]]}}`, y},
		{"records", `{"dataframe_records": [{"x": 1}, {"x": 2.0}, {"x": 5}]}`, y},
		{"records, repeated key", `{"dataframe_records": [{"x": 9, "x": 1}, {"x": 2}, {"x": 5}]}`, y},
		{"instances of rows", `{"instances": [[1.0], [2.0], [5.0]]}`, y},
		{"instances of objects", `{"instances": [{"x": [1.0]}, {"x": [2.0]}, {"x": [5.0]}]}`, y},
		{"inputs object", `{"inputs": {"x": [[1.0], [2.0], [5.0]]}}`, y},
		{"inputs list", `{"inputs": [[1.0], [2.0], [5.0]], "params": {"ignored": 1}}`, y},
		{"inputs 1-D", `{"inputs": [1.0, 2.0, 5.0]}`, y},
		// One input, no column named after it: the whole frame is the
		// input (MLflow's unnamed tensor input).
		{"split, unnamed single column", `{"dataframe_split": {"data": [[1], [2], [5]]}}`, y},
		{"records, unnamed", `{"dataframe_records": [[1], [2], [5]]}`, y},
		{"split, scalar rows", `{"dataframe_split": {"columns": ["v"], "data": [1, 2, 5]}}`, y},
		{"null is NaN", `{"dataframe_split": {"columns": ["x"], "data": [[null], [Infinity], [-Infinity]]}}`,
			`{"predictions": {"y": [NaN, Infinity, -Infinity]}}`},
		{"python float repr", `{"inputs": {"x": [[0.1], [1e20], [-3e-7]]}}`,
			`{"predictions": {"y": [2.049999952316284, 5.000000100204387e+19, 1.9999998807907104]}}`},
	} {
		expectOK(t, c.what, h.invokeJSON(c.body), c.want)
	}
	expectOK(t, "empty instances", h.invokeJSON(`{"instances": []}`), `{"predictions": {"y": []}}`)

	const multi = `{"predictions": {"echo_bytes": ["aGk=\n", "", "w7/vv70=\n"], "neg": [-2, 3, 0], "sum": [3.5, -2.75, 1.0]}}`
	for _, c := range []struct{ what, body, want string }{
		{"split", `{"dataframe_split": {"columns": ["s", "b", "a", "z"], "data": [["hi", 2, 1.5, null], ["", -3, 0.25, 1], ["\u00ff\ufffd", 0, 1, 2]]}}`, multi},
		// Floats truncate toward zero into int64, as numpy's astype does;
		// bools are 0/1 and numeric strings parse.
		{"records, conversions", `{"dataframe_records": [{"a": 1.5, "b": 2.9, "s": "hi"}, {"a": "0.25", "b": "-3", "s": ""}, {"b": false, "a": true, "s": "\u00ff\ufffd"}]}`, multi},
		{"instances", `{"instances": [{"a": 1.5, "b": 2, "s": "hi"}, {"a": 0.25, "b": -3, "s": ""}, {"a": 1, "b": 0, "s": "\u00ff\ufffd"}]}`, multi},
		{"inputs", `{"inputs": {"a": [1.5, 0.25, 1], "b": [2, -3, 0], "s": ["hi", "", "\u00ff\ufffd"], "unused": {}}}`, multi},
	} {
		expectOK(t, "multi "+c.what, hm.invokeJSON(c.body), c.want)
	}
}

func TestMLflowCSV(t *testing.T) {
	h, _ := mlflowHarness(t, map[string]string{"hp": "0.5"}, nil)
	hm, _ := mlflowHarness(t, map[string]string{"multi": "multi:1"}, nil)
	const y = `{"predictions": {"y": [2.5, 3.0, 4.5]}}`
	for _, c := range []struct{ what, body, want string }{
		{"plain", "x\n1\n2\n5\n", y},
		{"CRLF, no final newline, blank lines", "\r\nx\r\n1\r\n\r\n2\r\n5", y},
		{"DataFrame.to_csv() with its index", ",x\n0,1.0\n1,2.0\n2,5.0\n", y},
		{"quoted", "\"x\"\n\"1\"\n\"2\"\n5\n", y},
		{"unnamed single column", "v\n1\n2\n5\n", y},
		{"BOM and NA", "\xEF\xBB\xBFx\nNaN\n\nNA\n", `{"predictions": {"y": [NaN, NaN]}}`},
		{"short row is NaN", "a,x\n1,2\n3\n", `{"predictions": {"y": [3.0, NaN]}}`},
	} {
		expectOK(t, c.what, h.invoke("text/csv", c.body), c.want)
	}
	expectOK(t, "charset", h.invoke("text/csv; charset=UTF-8", "x\n1\n2\n5\n"), y)
	// Strings keep their text (quotes, commas and newlines inside quotes).
	expectOK(t, "multi csv",
		hm.invoke("text/csv", "s,a,b,s\n\"a,\"\"b\"\"\nc\",1.5,2,dup\nplain,0.25,-3,dup\n"),
		`{"predictions": {"echo_bytes": ["YSwiYiIKYw==\n", "cGxhaW4=\n"], "neg": [-2, 3], "sum": [3.5, -2.75]}}`)

	const parse = "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted " +
		"Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '"
	for _, c := range []struct{ what, body, msg string }{
		{"empty", "", "No columns to parse from file"},
		{"blank", "\n\r\n", "No columns to parse from file"},
		{"open quote", "x\n\"1\n2\n", "Error tokenizing data. C error: EOF inside string starting at row 2"},
		{"too many fields", "x\n1\n2,3\n", "Error tokenizing data. C error: Expected 1 fields in line 3, saw 2"},
		{"not a number", "x\n1\nabc\n", "could not convert string to float: 'abc' in column 'x', row 1"},
	} {
		expectMLflowError(t, c.what, h.invoke("text/csv", c.body), 400, "BAD_REQUEST", parse+c.msg+"'")
	}
	expectMLflowError(t, "int NA", hm.invoke("text/csv", "a,b,s\n1,,x\n"), 400, "BAD_REQUEST",
		parse+"Integer column has NA values in column 'b', row 0'")
	expectMLflowError(t, "int text", hm.invoke("text/csv", "a,b,s\n1,1.5,x\n"), 400, "BAD_REQUEST",
		parse+"invalid literal for int() with base 10: '1.5' in column 'b', row 0'")
	expectMLflowError(t, "missing inputs", hm.invoke("text/csv", "a,c\n1,2\n"), 400, "INVALID_PARAMETER_VALUE",
		multiSchema+"Model is missing inputs ['b', 's']. Note that there were extra inputs: ['c']")
	expectMLflowError(t, "several columns for x", h.invoke("text/csv", "p,q\n1,2\n"), 400, "INVALID_PARAMETER_VALUE",
		hpSchema+"This model contains a model signature with an unnamed input. Since the input data is a pandas "+
			"DataFrame containing multiple columns, the input shape must be of the structure (-1, "+
			"number_of_dataframe_columns). Instead, the input DataFrame passed had 2 columns and an input shape of "+
			"(-1, 1) with all values within the DataFrame of scalar type. Please adjust the passed in DataFrame to "+
			"match the expected structure")
	expectMLflowError(t, "header only", h.invoke("text/csv", "x\n"), 400, "INVALID_PARAMETER_VALUE",
		hpSchema+"Input DataFrame is empty.")
}

func TestMLflowErrors(t *testing.T) {
	h, _ := mlflowHarness(t, map[string]string{"hp": "0.5"}, nil)
	hm, _ := mlflowHarness(t, map[string]string{"multi": "multi:1"}, nil)
	bad := func(msg string) string { return "Invalid input. " + msg }
	for _, c := range []struct {
		what, body string
		code       string
		msg        string
	}{
		{"not JSON", `{"instances": [1.0]`, "BAD_REQUEST", bad("Ensure that input is a valid JSON formatted string. " +
			"Error: 'JSON Parse error: Missing a comma or '}' after an object member. at offset: 19'")},
		{"trailing data", `{"instances": [1.0]} x`, "BAD_REQUEST", bad("Ensure that input is a valid JSON formatted string. " +
			"Error: 'JSON Parse error: The document root must not be followed by other values. at offset: 21'")},
		{"empty", ``, "BAD_REQUEST", bad("Ensure that input is a valid JSON formatted string. " +
			"Error: 'JSON Parse error: The document is empty. at offset: 0'")},
		{"list", `[1]`, "BAD_REQUEST", bad(requiredFormat + ". Received a list.")},
		{"number", `5`, "BAD_REQUEST", bad(requiredFormat + ". Received unexpected input type '<class 'int'>.")},
		{"string", `"x"`, "BAD_REQUEST", bad(requiredFormat + ". Received unexpected input type '<class 'str'>.")},
		{"no format", `{"data": [1]}`, "BAD_REQUEST", requiredFormat + ". Received dictionary with input fields: []. " + scoringProtocolChangeInfo},
		{"two formats", `{"inputs": [1], "params": {}, "instances": [1], "inputs": [2]}`, "BAD_REQUEST",
			requiredFormat + ". Received dictionary with input fields: ['inputs', 'instances']. " + scoringProtocolChangeInfo},
		{"split not object", `{"dataframe_split": [[1]]}`, "BAD_REQUEST", bad("Dataframe split format must be a dictionary. Got list.")},
		{"split string", `{"dataframe_split": "x"}`, "BAD_REQUEST", bad("Dataframe split format must be a dictionary. Got type <class 'str'>.")},
		{"split keys", `{"dataframe_split": {"columns": ["x"], "rows": []}}`, "BAD_REQUEST",
			bad("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {'columns', 'rows'}.'")},
		{"split no keys", `{"dataframe_split": {}}`, "BAD_REQUEST",
			bad("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got set().'")},
		{"split column count", `{"dataframe_split": {"columns": ["x", "y"], "data": [[1]]}}`, "BAD_REQUEST",
			bad("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '2 columns passed, passed data had 1 columns'")},
		{"split index", `{"dataframe_split": {"index": [1], "columns": ["x"], "data": [[1], [2]]}}`, "BAD_REQUEST",
			bad("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: 'Shape of passed values is (2, 1), indices imply (1, 1)'")},
		{"split data", `{"dataframe_split": {"data": 3}}`, "BAD_REQUEST",
			bad("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: 'DataFrame constructor not properly called!'")},
		{"records object", `{"dataframe_records": {"x": [1]}}`, "BAD_REQUEST", bad("Dataframe records format must be a list of records. Got dictionary.")},
		{"records number", `{"dataframe_records": 1.5}`, "BAD_REQUEST", bad("Dataframe records format must be a list of records. Got type <class 'float'>.")},
		{"records mixed", `{"dataframe_records": [{"x": 1}, 2]}`, "BAD_REQUEST",
			bad("Provided dataframe_records field is not a valid dataframe representation in 'records' format. Error: 'Mixing dicts with non-Series may lead to ambiguous ordering.'")},
		{"bad float", `{"dataframe_split": {"columns": ["x"], "data": [[1], ["abc"]]}}`, "BAD_REQUEST",
			bad(`Data is not compatible with model signature. Failed to convert column x to type 'float32'. Error: 'ValueError("could not convert string to float: 'abc'")'`)},
		{"bad float in inputs", `{"inputs": {"x": [["abc"]]}}`, "BAD_REQUEST", bad("could not convert string to float: 'abc'")},
		{"ragged inputs", `{"inputs": {"x": [[1], [2, 3]]}}`, "BAD_REQUEST",
			bad("setting an array element with a sequence. The requested array has an inhomogeneous shape (input 'x')")},
		{"empty frame", `{"dataframe_records": []}`, "INVALID_PARAMETER_VALUE", hpSchema + "Input DataFrame is empty."},
		{"object cells", `{"dataframe_split": {"columns": ["x"], "data": [[{"a": 1}]]}}`, "INVALID_PARAMETER_VALUE",
			hpSchema + "Because the model signature requires tensor spec input, the input pandas dataframe values should be " +
				"either scalar value, python list containing scalar values or numpy array containing scalar values, other types are not supported."},
		{"list cells of the wrong size", `{"dataframe_split": {"columns": ["x"], "data": [[[1, 2]]]}}`, "INVALID_PARAMETER_VALUE",
			hpSchema + "The value in the Input DataFrame column 'x' could not be converted to the expected shape of: '(-1, 1)'. " +
				"Ensure that each of the input list elements are of uniform length and that the data can be coerced to the tensor type 'float32'"},
		{"instances named wrong", `{"instances": [{"z": 1}]}`, "INVALID_PARAMETER_VALUE", hpSchema + "Model is missing inputs ['x']. Note that there were extra inputs: ['z']"},
	} {
		expectMLflowError(t, c.what, h.invokeJSON(c.body), 400, c.code, c.msg)
	}
	for _, c := range []struct {
		what, body string
		code       string
		msg        string
	}{
		{"missing", `{"dataframe_split": {"columns": ["a", 0], "data": [[1, 2]]}}`, "INVALID_PARAMETER_VALUE",
			multiSchema + "Model is missing inputs ['b', 's']. Note that there were extra inputs: [0]"},
		{"list for several inputs", `{"inputs": [1, 2]}`, "INVALID_PARAMETER_VALUE", multiSchema + "Model is missing inputs ['a', 'b', 's']."},
		{"lengths", `{"instances": [{"a": 1, "b": 2, "s": "x"}, {"a": 2, "s": "y"}]}`, "BAD_REQUEST",
			bad("The length of values for each input/column name are not the same")},
		{"int overflow", `{"inputs": {"a": [1], "b": [1e30], "s": ["x"]}}`, "BAD_REQUEST", bad("Python integer 1000000000000000019884624838656 out of bounds for int64")},
		{"int text", `{"dataframe_records": [{"a": 1, "b": "two", "s": "x"}]}`, "BAD_REQUEST",
			bad(`Data is not compatible with model signature. Failed to convert column b to type 'int64'. Error: 'ValueError("invalid literal for int() with base 10: 'two'")'`)},
		{"int null", `{"dataframe_records": [{"a": 1, "s": "x"}, {"a": 1, "b": 1, "s": "x"}]}`, "BAD_REQUEST",
			bad(`Data is not compatible with model signature. Failed to convert column b to type 'int64'. Error: 'ValueError('cannot convert float NaN to integer')'`)},
		{"number as string", `{"inputs": {"a": [1], "b": [1], "s": [5]}}`, "BAD_REQUEST", bad("expected str, got int")},
	} {
		expectMLflowError(t, "multi "+c.what, hm.invokeJSON(c.body), 400, c.code, c.msg)
	}

	// A model error: BAD_REQUEST with MLflow's fixed message and ours in
	// stack_trace.
	r := hm.invokeJSON(`{"inputs": {"a": [1, 2], "b": [1], "s": ["x"]}}`)
	var e map[string]string
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.code != 400 || e["error_code"] != "BAD_REQUEST" ||
		e["message"] != "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference." ||
		e["stack_trace"] != "INVALID_ARGUMENT: fakemodel: multi lengths 2 1" {
		t.Errorf("model error: %d %s", r.code, r.body)
	}

	// Content types: 415 text/plain as MLflow answers.
	for _, c := range []struct{ ct, msg string }{
		{"text/plain", "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got 'text/plain'."},
		{"", "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got ''."},
		{"application/json; charset=latin-1", "The scoring server only supports UTF-8"},
		{"application/json; format=pandas-split", "Unrecognized content type parameters: format. " + scoringProtocolChangeInfo},
	} {
		r := h.invoke(c.ct, `{"instances": [[1.0]]}`)
		if r.code != 415 || r.body != c.msg || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("Content-Type %q: %d %q (%s)", c.ct, r.code, r.body, r.header.Get("Content-Type"))
		}
	}
	expectOK(t, "charset utf-8", h.invoke("application/json; charset=utf-8", `{"instances": [[1.0]]}`), `{"predictions": {"y": [2.5]}}`)
	expectMLflowError(t, "not UTF-8", h.invokeJSON("{\"inputs\": [\"\xff\"]}"), 400, "BAD_REQUEST",
		"Invalid input. The request body is not valid UTF-8; the scoring server only supports UTF-8.")

	// Other methods.
	if r := h.send("GET", "/invocations", "", nil, nil); r.code != 405 || r.header.Get("Allow") != "POST" || r.body != "Method Not Allowed" {
		t.Errorf("GET /invocations: %d %v %q", r.code, r.header, r.body)
	}
	if r := h.send("POST", "/ping", "", nil, nil); r.code != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /ping: %d %v", r.code, r.header)
	}
	// Paths stay exact: anything else outside /v1/ is still a bare 404.
	for _, p := range []string{"/invocations/", "/Invocations", "/ping/x"} {
		if r := h.send("POST", p, "application/json", []byte(`{}`), nil); r.code != 404 || r.body != "" {
			t.Errorf("%s: %d %q", p, r.code, r.body)
		}
	}
}

func TestMLflowLimits(t *testing.T) {
	h, _ := mlflowHarness(t, map[string]string{"hp": "0.5"}, func(o *Options) {
		o.MaxBodyBytes = 1 << 20
		o.Limits.MaxElements = 10
		o.Limits.MaxJSONDepth = 5
		o.Limits.MaxResponseBytes = 80
	})
	// An oversized body: 413 before routing, as every REST request. The
	// server answers from the declared Content-Length and closes, so the
	// body is withheld: writing it would race the answer with a reset.
	big := `{"inputs": [` + strings.Repeat("1.0, ", 1<<18) + `1.0]}`
	if code, _, body := declaredOnly(t, h, "/invocations", len(big)); code != 413 || !strings.Contains(body, "--rest_api_max_body_bytes") {
		t.Errorf("big body: %d %s", code, body)
	}
	// ... and after gzip decompression.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(big))
	_ = zw.Close()
	r := h.send("POST", "/invocations", "application/json", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	expectMLflowError(t, "gzip bomb", r, 413, "RESOURCE_EXHAUSTED",
		"Uncompressed request body is larger than the limit of 1048576 bytes (--rest_api_max_body_bytes)")
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("x\n1\n"))
	_ = zw.Close()
	r = h.send("POST", "/invocations", "text/csv", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	expectOK(t, "gzip csv", r, `{"predictions": {"y": [2.5]}}`)

	rows := func(n int) string { return "x\n" + strings.Repeat("1\n", n) }
	expectOK(t, "10 cells", h.invoke("text/csv", rows(10)),
		`{"predictions": {"y": [2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]}}`)
	expectMLflowError(t, "CSV rows", h.invoke("text/csv", rows(11)), 400, "BAD_REQUEST",
		"Invalid input. The CSV input has 11 cells (11 rows of 1 columns), over the limit of 10 (--request_max_elements).")
	expectMLflowError(t, "CSV cells", h.invoke("text/csv", "x,a,b\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n"), 400, "BAD_REQUEST",
		"Invalid input. The CSV input has 12 cells (4 rows of 3 columns), over the limit of 10 (--request_max_elements).")
	wide := strings.Repeat("c,", mlflowMaxColumns) + "x\n"
	expectMLflowError(t, "CSV columns", h.invoke("text/csv", wide), 400, "BAD_REQUEST",
		"Invalid input. The CSV input has 16385 columns, over the limit of 16384 columns.")
	expectMLflowError(t, "split cells", h.invokeJSON(`{"dataframe_split": {"columns": ["x", "y"], "data": [[1,1],[1,1],[1,1],[1,1],[1,1],[1,1]]}}`),
		400, "BAD_REQUEST", "Invalid input. The dataframe_split input has 12 cells (6 rows of 2 columns), over the limit of 10 (--request_max_elements).")
	// Sparse records cannot make a large table: the cells of every
	// column are counted.
	var recs []string
	for i := range 4 {
		recs = append(recs, `{"c`+strconv.Itoa(i)+`": 1}`)
	}
	expectMLflowError(t, "records cells", h.invokeJSON(`{"dataframe_records": [`+strings.Join(recs, ", ")+`]}`),
		400, "BAD_REQUEST", "Invalid input. The dataframe_records input has 16 cells (4 rows of 4 columns), over the limit of 10 (--request_max_elements).")
	expectMLflowError(t, "tensor elements", h.invokeJSON(`{"inputs": {"x": [[1],[1],[1],[1],[1],[1],[1],[1],[1],[1],[1]]}}`),
		400, "BAD_REQUEST", "Invalid input. request input tensors' element count needs 11, over the limit of 10 (--request_max_elements)")
	expectMLflowError(t, "depth", h.invokeJSON(`{"inputs": {"x": [[[[[1]]]]]}}`), 400, "BAD_REQUEST",
		"Invalid input. Ensure that input is a valid JSON formatted string. Error: 'JSON Parse error: JSON nesting depth is 6, over the limit of 5 (--request_max_json_depth) at offset: 20'")
	expectMLflowError(t, "response", h.invokeJSON(`{"inputs": [0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1]}`), 400, "BAD_REQUEST",
		"JSON response is larger than the limit of 80 bytes (--response_max_bytes)")
}

// TestMLflowLimitsStrings: string payloads are charged to
// --request_max_bytes as they are converted.
func TestMLflowLimitsStrings(t *testing.T) {
	h, _ := mlflowHarness(t, map[string]string{"multi": "multi:1"}, func(o *Options) { o.Limits.MaxBytes = 100 })
	long := strings.Repeat("s", 80)
	expectMLflowError(t, "string bytes", h.invoke("text/csv", "a,b,s\n1,1,"+long+"\n"), 400, "BAD_REQUEST",
		"Invalid input. request input tensors' decoded bytes needs 108, over the limit of 100 (--request_max_bytes)")
}

func TestMLflowModelChoice(t *testing.T) {
	two := map[string]string{"hp": "0.5", "multi": "multi:1"}
	h, _ := mlflowHarness(t, two, nil)
	expectMLflowError(t, "several models", h.invokeJSON(`{"inputs": [[1.0]]}`), 400, "INVALID_PARAMETER_VALUE",
		`2 models are served ("hp", "multi"); name the one MLflow's /invocations, /ping and /health use with --mlflow_default_model=NAME.`)
	if r := h.send("GET", "/ping", "", nil, nil); r.code != 404 || r.body != "\n" {
		t.Errorf("ping with several models: %d %q", r.code, r.body)
	}

	h, _ = mlflowHarness(t, two, func(o *Options) { o.MLflow.DefaultModel = "hp" })
	expectOK(t, "default model", h.invokeJSON(`{"inputs": [[1.0]]}`), `{"predictions": {"y": [2.5]}}`)
	for _, p := range []string{"/ping", "/health"} {
		if r := h.send("GET", p, "", nil, nil); r.code != 200 || r.body != "\n" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q", p, r.code, r.body)
		}
	}
	if r := h.send("HEAD", "/ping", "", nil, nil); r.code != 200 {
		t.Errorf("HEAD /ping: %d", r.code)
	}

	h, _ = mlflowHarness(t, two, func(o *Options) { o.MLflow.DefaultModel = "nope" })
	expectMLflowError(t, "unknown default", h.invokeJSON(`{"inputs": [[1.0]]}`), 404, "RESOURCE_DOES_NOT_EXIST",
		`Model "nope" named by --mlflow_default_model is not served (served: "hp", "multi").`)
	if r := h.send("GET", "/health", "", nil, nil); r.code != 404 {
		t.Errorf("health with an unknown model: %d", r.code)
	}

	h, _ = mlflowHarness(t, map[string]string{}, nil)
	expectMLflowError(t, "no model", h.invokeJSON(`{"inputs": [[1.0]]}`), 404, "RESOURCE_DOES_NOT_EXIST",
		"No model is served. /invocations scores the one model served, or the one named by --mlflow_default_model=NAME.")

	// A model whose only version failed to load: not ready, and its
	// invocations get the manager's NotFound.
	h, _ = mlflowHarness(t, map[string]string{"broken": "garbage"}, nil)
	eventually(t, "broken END", func() bool { return strings.Contains(h.get("/v1/models/broken").body, `"END"`) })
	if r := h.send("GET", "/ping", "", nil, nil); r.code != 404 || r.body != "\n" {
		t.Errorf("ping on a failed model: %d %q", r.code, r.body)
	}
	expectMLflowError(t, "failed model", h.invokeJSON(`{"inputs": [[1.0]]}`), 404, "RESOURCE_DOES_NOT_EXIST",
		"Servable not found for request: Latest(broken)")

	// /version answers our version string.
	for _, c := range []struct{ set, want string }{{"", "dev"}, {"1.2.3", "1.2.3"}} {
		h, _ = mlflowHarness(t, map[string]string{"hp": "0.5"}, func(o *Options) { o.MLflow.Version = c.set })
		if r := h.send("GET", "/version", "", nil, nil); r.code != 200 || r.body != c.want || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("version %q: %d %q", c.set, r.code, r.body)
		}
	}
}

// TestMLflowAdmissionAndMetrics: /invocations goes through admission
// control and the worker pool like :predict, honours the client deadline
// with MLflow's timeout answer, and is observed as a Predict of its model.
func TestMLflowAdmissionAndMetrics(t *testing.T) {
	lim := admission.New(admission.Options{Fixed: 1, MaxQueue: 0})
	var mu sync.Mutex
	var seen []RequestInfo
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "sleep:0.5")
	h, models := mlflowHarnessConfig(t, configOf(modelConfig("s", base, nil, false)), func(o *Options) {
		o.Admission = lim
		o.MaxConcurrentRequests = 2
		o.Observe = func(ri RequestInfo) {
			mu.Lock()
			seen = append(seen, ri)
			mu.Unlock()
		}
	}, func(m *fakemodel.HalfPlusTwo) { m.Sleep = 200 * time.Millisecond })
	const body = `{"inputs": [4.0]}`
	expectOK(t, "sleep model", h.invokeJSON(body), `{"predictions": {"y": [4.0]}}`)
	if n := h.srv.pool.InUse(); n != 0 {
		t.Errorf("%d workers held after the request", n)
	}
	models.mu.Lock()
	m := models.made[0]
	models.mu.Unlock()
	if m.RunsWithSlot.Load() != 1 {
		t.Errorf("the run did not carry its worker slot")
	}

	// From here the model runs until its request's deadline passes: the
	// deadline below is long enough that a loaded machine still admits and
	// starts the request before it passes (30 ms was not), and no timer in
	// the model can end the run first. (Set before the limiter's Acquire,
	// which orders it before the next run.)
	hold := make(chan struct{})
	m.Hold = hold
	t.Cleanup(func() { close(hold) }) // before the harness's shutdown
	held, err := lim.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := h.invokeJSON(body)
	if r.code != 503 || r.header.Get("Retry-After") != "1" || !strings.HasPrefix(r.body, `{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "Server overloaded`) {
		t.Errorf("while full: %d %v %s", r.code, r.header, r.body)
	}
	held.Release(false)

	r = h.send("POST", "/invocations", "application/json", []byte(body), map[string]string{RequestTimeoutHeader: "1000"})
	if r.code != 504 || r.body != "Request processing time exceeded limit" {
		t.Errorf("deadline: %d %q", r.code, r.body)
	}
	expectMLflowError(t, "bad deadline header", h.send("POST", "/invocations", "application/json", []byte(body),
		map[string]string{RequestTimeoutHeader: "soon"}), 400, "BAD_REQUEST",
		"Invalid X-Request-Timeout-Ms header: want milliseconds from 0 to 86400000")

	mu.Lock()
	defer mu.Unlock()
	want := []status.Code{status.OK, status.ResourceExhausted, status.DeadlineExceeded, status.InvalidArgument}
	if len(seen) != len(want) {
		t.Fatalf("observed %+v", seen)
	}
	for i, ri := range seen {
		if ri.Model != "s" || ri.API != "predict" || ri.Code != want[i] {
			t.Errorf("observation %d: %+v; want model s, predict, %v", i, ri, want[i])
		}
	}
	if s := lim.Stats(); s.Admitted != 3 || s.NotAdmitted[admission.QueueFull] != 1 {
		t.Errorf("admission stats %+v", s)
	}
}

// declaredOnly sends a POST's headers declaring an n-byte JSON body and
// none of it, and returns the answer.
func declaredOnly(t *testing.T, h *harness, path string, n int) (int, http.Header, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, n)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("POST %s declaring %d bytes: %v", path, n, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
