package modelserver

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/warmup"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

func warmupPredict(t *testing.T, sig string, x float32) warmup.Log {
	t.Helper()
	p, err := tensorproto.Encode(tensor.FromSlice(tensor.Shape{1, 1}, []float32{x}))
	if err != nil {
		t.Fatal(err)
	}
	return warmup.Log{Predict: &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "half", SignatureName: sig},
		Inputs:    map[string]*tfpb.TensorProto{"x": p},
	}}
}

type served struct {
	url   string
	fm    *fakemodel.HalfPlusTwo
	loads int
}

// startServer runs the server from flags over a version directory 3 holding
// the given warmup records; each load returns a fresh fake half_plus_two.
func startServer(t *testing.T, extra []string, logs ...warmup.Log) (*served, string) {
	t.Helper()
	base := versionDir(t)
	vdir := filepath.Join(base, "3")
	if len(logs) > 0 {
		if err := warmup.WriteFile(vdir, logs...); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"--model_name=half", "--model_base_path=" + base, "--port=0",
		"--file_system_poll_wait_seconds=0", "--max_num_load_retries=0"}, extra...)
	opts, err := flags.Parse(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &served{}
	deps := fakeDeps()
	deps.Load = func(context.Context, string, LoadOptions) (servable.Model, error) {
		s.loads++
		s.fm = fakemodel.New()
		return s.fm, nil
	}
	deps.RESTListener = listen(t)
	deps.ShutdownTimeout = 5 * time.Second
	s.url = startRun(t, opts, deps).restURL()
	return s, vdir
}

func httpDo(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := len(got) == len(want)
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return m
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return nil
}

// TestMetricsAndWarmup serves a model with a warmup file and a monitoring
// config, sends good and bad requests over REST, and reads the Prometheus
// page with Prometheus' own parser.
func TestMetricsAndWarmup(t *testing.T) {
	mon := filepath.Join(t.TempDir(), "monitoring.config")
	os.WriteFile(mon, []byte(`prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }`), 0o644)
	s, vdir := startServer(t, []string{"--monitoring_config_file=" + mon, "--num_request_iterations_for_warmup=2"},
		warmupPredict(t, "", 1), warmupPredict(t, "", 2))
	// Warmup: 2 records x 2 iterations ran before the version was served.
	if got := s.fm.Runs.Load(); got != 4 {
		t.Fatalf("%d warmup runs, want 4", got)
	}
	for range 2 {
		if code, body, _ := httpDo(t, "POST", s.url+"/v1/models/half:predict", `{"instances": [[1.0]]}`); code != 200 || !strings.Contains(body, "2.5") {
			t.Fatalf("predict: %d %s", code, body)
		}
	}
	if code, body, _ := httpDo(t, "POST", s.url+"/v1/models/half:classify",
		`{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}`); code != 200 {
		t.Fatalf("classify: %d %s", code, body)
	}
	if code, _, _ := httpDo(t, "POST", s.url+"/v1/models/half:predict", `{"instances": [[1.0]], "signature_name": "nope"}`); code != 400 {
		t.Fatalf("bad predict: %d", code)
	}
	if code, _, _ := httpDo(t, "POST", s.url+"/v1/models/half:predict", `{"instances": `); code != 400 {
		t.Fatalf("malformed predict: %d", code)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body, _ := httpDo(t, "GET", s.url+p, ""); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}

	code, text, hdr := httpDo(t, "GET", s.url+"/monitoring/prometheus/metrics", "")
	if code != 200 || hdr.Get("Content-Type") != "text/plain" {
		t.Fatalf("metrics: %d %q", code, hdr.Get("Content-Type"))
	}
	if strings.Contains(text, "# HELP") || !strings.Contains(text, "# TYPE :tensorflow:serving:request_count counter") {
		t.Fatalf("exposition:\n%s", text)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	rc := ":tensorflow:serving:request_count"
	if v := series(t, fams, rc, map[string]string{"model_name": "half", "status": "OK"}).GetCounter().GetValue(); v != 3 {
		t.Errorf("OK requests %v, want 3", v)
	}
	if v := series(t, fams, rc, map[string]string{"model_name": "half", "status": "INVALID_ARGUMENT"}).GetCounter().GetValue(); v != 2 {
		t.Errorf("INVALID_ARGUMENT requests %v, want 2\n%s", v, text)
	}
	rl := ":tensorflow:serving:request_latency"
	h := series(t, fams, rl, map[string]string{"model_name": "half", "API": "Predict", "entrypoint": "REST"}).GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() <= 0 || len(h.GetBucket()) != 34 ||
		h.GetBucket()[33].GetCumulativeCount() != 2 {
		t.Errorf("predict latency: %v", h)
	}
	if c := series(t, fams, rl, map[string]string{"model_name": "half", "API": "Classify", "entrypoint": "REST"}).GetHistogram().GetSampleCount(); c != 1 {
		t.Errorf("classify latency count %d", c)
	}
	if !strings.Contains(text, ":tensorflow:serving:request_latency_sum{") || !strings.Contains(text, ":tensorflow:serving:request_latency_count{") {
		t.Error("no _sum/_count lines")
	}
	// Runtime: 4 warmup runs + 2 predicts on serving_default, 1 classify.
	rt := ":tensorflow:serving:runtime_latency"
	if c := series(t, fams, rt, map[string]string{"model_name": "half", "API": "Predict", "runtime": "tfserve"}).GetHistogram().GetSampleCount(); c != 6 {
		t.Errorf("runtime Predict count %d, want 6", c)
	}
	if c := series(t, fams, rt, map[string]string{"model_name": "half", "API": "Classify", "runtime": "tfserve"}).GetHistogram().GetSampleCount(); c != 1 {
		t.Errorf("runtime Classify count %d, want 1", c)
	}
	if v := series(t, fams, ":tensorflow:cc:saved_model:load_attempt_count", map[string]string{"model_path": vdir, "status": "success"}).GetCounter().GetValue(); v != 1 {
		t.Errorf("load attempts %v", v)
	}
	series(t, fams, ":tensorflow:cc:saved_model:load_latency", map[string]string{"model_path": vdir})
	if v := series(t, fams, ":tensorflow:serving:model_warmup_records_read", map[string]string{"model_path": vdir}).GetCounter().GetValue(); v != 2 {
		t.Errorf("warmup records %v, want 2", v)
	}
	if c := series(t, fams, ":tensorflow:serving:model_warmup_latency", map[string]string{"model_path": vdir, "status": "OK"}).GetHistogram().GetSampleCount(); c != 1 {
		t.Errorf("warmup latency count %d", c)
	}
}

// TestWarmupFailureKeepsVersionUnavailable: a warmup request for a missing
// signature fails the load; status reports it and /readyz is 503.
func TestWarmupFailureKeepsVersionUnavailable(t *testing.T) {
	s, _ := startServer(t, nil, warmupPredict(t, "", 1), warmupPredict(t, "missing_sig", 1))
	if !s.fm.Closed.Load() {
		t.Fatal("model not closed after failed warmup")
	}
	code, body, _ := httpDo(t, "GET", s.url+"/v1/models/half", "")
	if code != 200 || !strings.Contains(body, `"state": "END"`) || !strings.Contains(body, "missing_sig") {
		t.Fatalf("status: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, "GET", s.url+"/readyz", ""); code != 503 {
		t.Fatalf("readyz: %d %s", code, body)
	}
	// No monitoring config: the metrics path is not served.
	if code, _, _ := httpDo(t, "GET", s.url+"/monitoring/prometheus/metrics", ""); code != 404 {
		t.Fatalf("metrics without config: %d", code)
	}
}

// TestWarmupDisabled: --enable_model_warmup=false loads without replaying.
func TestWarmupDisabled(t *testing.T) {
	s, _ := startServer(t, []string{"--enable_model_warmup=false"}, warmupPredict(t, "missing_sig", 1))
	if code, body, _ := httpDo(t, "GET", s.url+"/readyz", ""); code != 200 || s.fm.Runs.Load() != 0 {
		t.Fatalf("readyz: %d %s, runs %d", code, body, s.fm.Runs.Load())
	}
}

func TestBadMonitoringConfig(t *testing.T) {
	mon := filepath.Join(t.TempDir(), "monitoring.config")
	os.WriteFile(mon, []byte(`prometheus_config { enable: true path: "/v1/metrics" }`), 0o644)
	opts, _ := flags.Parse([]string{"--model_name=m", "--model_base_path=/m", "--port=0", "--monitoring_config_file=" + mon}, nil)
	err := Run(context.Background(), opts, fakeDeps())
	if err == nil || !strings.Contains(err.Error(), "collides") {
		t.Fatalf("Run: %v", err)
	}
}
