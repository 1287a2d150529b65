package modelserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// TestKServeSharesMetrics runs the server from flags with a monitoring
// config and checks that KServe v2 infer over REST is counted as a
// Predict of the model (request_count, request_latency with entrypoint
// REST, runtime_latency), beside TF Serving's :predict.
func TestKServeSharesMetrics(t *testing.T) {
	mon := filepath.Join(t.TempDir(), "monitoring.config")
	if err := os.WriteFile(mon, []byte(`prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := startServer(t, []string{"--monitoring_config_file=" + mon})
	for _, v := range []string{"", "/versions/3"} {
		code, body, _ := httpDo(t, "POST", s.url+"/v2/models/half"+v+"/infer",
			`{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}`)
		if want := `{"model_name":"half","model_version":"3","outputs":[{"name":"y","datatype":"FP32","shape":[1,1],"data":[2.5]}]}`; code != 200 || body != want {
			t.Fatalf("v2 infer: %d %s", code, body)
		}
	}
	if code, _, _ := httpDo(t, "POST", s.url+"/v2/models/half/infer",
		`{"inputs":[{"name":"x","shape":[1,1],"datatype":"INT32","data":[1]}]}`); code != 400 {
		t.Fatalf("bad v2 infer: %d", code)
	}
	if code, _, _ := httpDo(t, "POST", s.url+"/v1/models/half:predict", `{"instances": [[1.0]]}`); code != 200 {
		t.Fatalf("predict: %d", code)
	}
	if code, _, _ := httpDo(t, "GET", s.url+"/v2/health/ready", ""); code != 200 {
		t.Fatalf("v2 ready: %d", code)
	}
	_, text, _ := httpDo(t, "GET", s.url+"/monitoring/prometheus/metrics", "")
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	rc := ":tensorflow:serving:request_count"
	if v := series(t, fams, rc, map[string]string{"model_name": "half", "status": "OK"}).GetCounter().GetValue(); v != 3 {
		t.Errorf("OK requests %v, want 3 (2 v2 infers, 1 predict)", v)
	}
	if v := series(t, fams, rc, map[string]string{"model_name": "half", "status": "INVALID_ARGUMENT"}).GetCounter().GetValue(); v != 1 {
		t.Errorf("INVALID_ARGUMENT requests %v, want 1", v)
	}
	rl := ":tensorflow:serving:request_latency"
	if c := series(t, fams, rl, map[string]string{"model_name": "half", "API": "Predict", "entrypoint": "REST"}).GetHistogram().GetSampleCount(); c != 3 {
		t.Errorf("Predict latency count %d, want 3", c)
	}
	rt := ":tensorflow:serving:runtime_latency"
	if c := series(t, fams, rt, map[string]string{"model_name": "half", "API": "Predict", "runtime": "tfserve"}).GetHistogram().GetSampleCount(); c != 3 {
		t.Errorf("runtime Predict count %d, want 3", c)
	}
}
