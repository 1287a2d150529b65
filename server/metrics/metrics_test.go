package metrics

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/tensor"
)

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"/tensorflow/serving/request_count":            ":tensorflow:serving:request_count",
		"/tensorflow/cc/saved_model/load_latency":      ":tensorflow:cc:saved_model:load_latency",
		"/tensorflow/serving/batching-session/queuing": ":tensorflow:serving:batching:session:queuing",
		"9lives": "_9lives",
	} {
		if got := PrometheusName(in); got != want {
			t.Errorf("PrometheusName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"model_name": "model_name", "API": "API", "a-b.c": "a_b_c", "1x": "_1x"} {
		if got := LabelName(in); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuckets(t *testing.T) {
	b := LatencyBuckets()
	if len(b) != 33 {
		t.Fatalf("%d buckets", len(b))
	}
	for i, v := range b {
		want := 10 * math.Pow(1.8, float64(i))
		if math.Abs(v-want) > 1e-9*want {
			t.Fatalf("bucket %d = %v, want %v", i, v, want)
		}
	}
}

// parse reads the exposition with Prometheus' own text parser.
func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, text)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func find(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		ok := len(got) == len(want)
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return m
		}
	}
	t.Fatalf("%s has no series %v", name, want)
	return nil
}

func TestWriteText(t *testing.T) {
	m := New(Options{})
	m.ObserveRequest("half", "Predict", EntrypointREST, status.OK, 15*time.Microsecond)
	m.ObserveRequest("half", "Predict", EntrypointREST, status.OK, 100*time.Microsecond)
	m.ObserveRequest("half", "Predict", EntrypointREST, status.InvalidArgument, time.Millisecond)
	m.ObserveRequest("", "Predict", EntrypointREST, status.NotFound, time.Millisecond) // no model: ignored
	m.ObserveLoad("/m/1", 2*time.Millisecond, nil)
	m.ObserveLoad("/m/2", time.Millisecond, errors.New("bad"))
	m.ObserveWarmup("/m/1", 3, 50*time.Microsecond, nil)
	var buf bytes.Buffer
	if err := m.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if strings.Contains(text, "# HELP") {
		t.Fatalf("HELP lines in\n%s", text)
	}
	for _, want := range []string{
		"# TYPE :tensorflow:serving:request_count counter\n",
		"# TYPE :tensorflow:serving:request_latency histogram\n",
		"# TYPE :tensorflow:cc:saved_model:load_attempt_count counter\n",
		"# TYPE :tensorflow:serving:model_warmup_latency histogram\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	fams := parse(t, text)
	if got := find(t, fams, ":tensorflow:serving:request_count", map[string]string{"model_name": "half", "status": "OK"}).GetCounter().GetValue(); got != 2 {
		t.Errorf("OK count %v", got)
	}
	if got := find(t, fams, ":tensorflow:serving:request_count", map[string]string{"model_name": "half", "status": "INVALID_ARGUMENT"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("error count %v", got)
	}
	if n := len(fams[":tensorflow:serving:request_count"].GetMetric()); n != 2 {
		t.Errorf("%d request_count series", n)
	}
	h := find(t, fams, ":tensorflow:serving:request_latency", map[string]string{"model_name": "half", "API": "Predict", "entrypoint": "REST"}).GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 115 {
		t.Errorf("latency count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	// 15 µs is above the first bound (10) and below the second (18);
	// 100 µs is below 104.976 (10*1.8^4) and above 58.32.
	var cum []uint64
	for i, b := range h.GetBucket() {
		if want := 10 * math.Pow(1.8, float64(i)); i < 33 && math.Abs(b.GetUpperBound()-want) > 1e-9*want {
			t.Errorf("bucket %d bound %v", i, b.GetUpperBound())
		}
		cum = append(cum, b.GetCumulativeCount())
	}
	// The parser reports the +Inf bucket too: 33 bounds + 1.
	if len(cum) != 34 || cum[0] != 0 || cum[1] != 1 || cum[3] != 1 || cum[4] != 2 || cum[33] != 2 {
		t.Errorf("cumulative buckets %v", cum)
	}
	// client_golang sorts label names (TF Serving keeps declaration order;
	// Prometheus does not care).
	if !strings.Contains(text, `:tensorflow:serving:request_latency_bucket{API="Predict",entrypoint="REST",model_name="half",le="+Inf"} 2`) {
		t.Errorf("no +Inf bucket line in\n%s", text)
	}
	if got := find(t, fams, ":tensorflow:cc:saved_model:load_attempt_count", map[string]string{"model_path": "/m/2", "status": "fail"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("fail count %v", got)
	}
	if got := find(t, fams, ":tensorflow:cc:saved_model:load_latency", map[string]string{"model_path": "/m/1"}).GetCounter().GetValue(); got != 2000 {
		t.Errorf("load latency %v", got)
	}
	if fams[":tensorflow:cc:saved_model:load_latency"] != nil && len(fams[":tensorflow:cc:saved_model:load_latency"].GetMetric()) != 1 {
		t.Error("failed load recorded in load_latency")
	}
	if got := find(t, fams, ":tensorflow:serving:model_warmup_records_read", map[string]string{"model_path": "/m/1"}).GetCounter().GetValue(); got != 3 {
		t.Errorf("warmup records %v", got)
	}
	find(t, fams, ":tensorflow:serving:model_warmup_latency", map[string]string{"model_path": "/m/1", "status": "OK"})
}

func TestWrapLoadAndInstrument(t *testing.T) {
	m := New(Options{})
	fm := fakemodel.New()
	load := m.WrapLoad(func(_ context.Context, dir string) (servable.Model, error) {
		if dir == "/bad" {
			return nil, errors.New("nope")
		}
		return fm, nil
	})
	if _, err := load(context.Background(), "/bad"); err == nil {
		t.Fatal("bad load succeeded")
	}
	sm, err := load(context.Background(), "/good")
	if err != nil {
		t.Fatal(err)
	}
	im := m.InstrumentModel(sm, "half", "tfserve")
	x := tensor.FromSlice(tensor.Shape{1, 1}, []float32{2})
	for range 3 {
		out, err := im.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": x}, nil)
		if err != nil || out["y"].F32()[0] != 3 {
			t.Fatalf("run: %v %v", out, err)
		}
	}
	if _, err := im.Run(context.Background(), "no_such", nil, nil); err == nil {
		t.Fatal("bad signature ran")
	}
	var buf bytes.Buffer
	m.WriteText(&buf)
	fams := parse(t, buf.String())
	h := find(t, fams, ":tensorflow:serving:runtime_latency", map[string]string{"model_name": "half", "API": "Predict", "runtime": "tfserve"}).GetHistogram()
	if h.GetSampleCount() != 3 {
		t.Errorf("runtime count %d, want 3 (failed runs are not recorded)", h.GetSampleCount())
	}
	find(t, fams, ":tensorflow:cc:saved_model:load_attempt_count", map[string]string{"model_path": "/good", "status": "success"})
	find(t, fams, ":tensorflow:cc:saved_model:load_attempt_count", map[string]string{"model_path": "/bad", "status": "fail"})
	if im.Signatures()["serving_default"] == nil {
		t.Error("instrumented model lost its signatures")
	}
	var nilM *Metrics
	nilM.ObserveRequest("a", "Predict", EntrypointGRPC, status.OK, 1) // must not panic
}

func TestConfig(t *testing.T) {
	cases := []struct {
		text, path string
		on         bool
		err        string
	}{
		{`prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }`, DefaultPath, true, ""},
		{`prometheus_config { enable: true }`, DefaultPath, true, ""},
		{`prometheus_config: { enable: true, path: "/metrics" }`, "/metrics", true, ""},
		{`prometheus_config { enable: false path: "/x" }`, "", false, ""},
		{``, "", false, ""},
		{`prometheus_config { enable: true path: "metrics" }`, "", false, "must start with /"},
		{`prometheus_config { enable: true path: "/v1/models" }`, "", false, "collides"},
		{`prometheus_config { enable: yes }`, "", false, "parse MonitoringConfig"},
	}
	for _, c := range cases {
		cfg, err := ParseConfig([]byte(c.text))
		var (
			p  string
			on bool
		)
		if err == nil {
			p, on, err = PrometheusPath(cfg)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.text, err, c.err)
			}
			continue
		}
		if err != nil || p != c.path || on != c.on {
			t.Errorf("%q: %q %v %v, want %q %v", c.text, p, on, err, c.path, c.on)
		}
	}
}
