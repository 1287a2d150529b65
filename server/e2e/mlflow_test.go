package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
)

// TestMLflowInvocationsOnRealModel scores TF Serving's half_plus_two
// through MLflow's scoring protocol on the real server wiring: flags,
// manager, loader, kernels and REST.
func TestMLflowInvocationsOnRealModel(t *testing.T) {
	fx := fixtures.Dir(t)
	url := startServer(t, []served{{name: "hp", base: filepath.Join(fx, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu")}})
	invoke := func(contentType, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(url+"/invocations", contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const want = `{"predictions": {"y": [2.5, 3.0, 4.5]}}`
	for _, c := range []struct{ ct, body string }{
		{"application/json", `{"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0], [5.0]]}}`},
		{"application/json", `{"dataframe_records": [{"x": 1}, {"x": 2}, {"x": 5}]}`},
		{"application/json", `{"instances": [[1.0], [2.0], [5.0]]}`},
		{"application/json; charset=utf-8", `{"inputs": {"x": [[1.0], [2.0], [5.0]]}}`},
		{"text/csv", ",x\n0,1.0\n1,2.0\n2,5.0\n"},
	} {
		if code, body := invoke(c.ct, c.body); code != 200 || body != want {
			t.Errorf("%s %s: %d %s", c.ct, c.body, code, body)
		}
	}
	// Errors in MLflow's shape: a value the signature's dtype cannot hold.
	code, body := invoke("application/json", `{"dataframe_split": {"columns": ["x"], "data": [["abc"]]}}`)
	var e map[string]string
	if err := json.Unmarshal([]byte(body), &e); err != nil || code != 400 || e["error_code"] != "BAD_REQUEST" ||
		e["message"] != `Invalid input. Data is not compatible with model signature. Failed to convert column x to type 'float32'. `+
			`Error: 'ValueError("could not convert string to float: 'abc'")'` {
		t.Errorf("bad value: %d %s", code, body)
	}
	if code, body := get(t, url+"/ping"); code != 200 || body != "\n" {
		t.Errorf("ping: %d %q", code, body)
	}
	if code, body := get(t, url+"/version"); code != 200 || body != "dev" {
		t.Errorf("version: %d %q", code, body)
	}
	if code, body := get(t, url+"/v1/models"); code != 200 || !strings.Contains(body, `"name": "hp"`) || !strings.Contains(body, `"AVAILABLE"`) {
		t.Errorf("models: %d %s", code, body)
	}
}
