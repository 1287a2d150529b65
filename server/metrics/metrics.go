package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// Entrypoint label values of request_latency.
const (
	EntrypointREST = "REST"
	EntrypointGRPC = "GRPC"
)

// TF's monitoring names of the metrics recorded here.
const (
	RequestCount        = "/tensorflow/serving/request_count"
	RequestLatency      = "/tensorflow/serving/request_latency"
	RuntimeLatency      = "/tensorflow/serving/runtime_latency"
	LoadAttemptCount    = "/tensorflow/cc/saved_model/load_attempt_count"
	LoadLatency         = "/tensorflow/cc/saved_model/load_latency"
	WarmupLatency       = "/tensorflow/serving/model_warmup_latency"
	WarmupRecordsRead   = "/tensorflow/serving/model_warmup_records_read"
	latencyBucketScale  = 10
	latencyBucketGrowth = 1.8
	latencyBucketCount  = 33
)

// LatencyBuckets are the upper bounds of TF Serving's latency histograms in
// microseconds: Buckets::Exponential(10, 1.8, 33) (10, 18, 32.4, ...; the
// +Inf bucket is implicit).
func LatencyBuckets() []float64 {
	return prometheus.ExponentialBuckets(latencyBucketScale, latencyBucketGrowth, latencyBucketCount)
}

// PrometheusName is TF Serving's GetPrometheusMetricName: every character
// outside [A-Za-z0-9_] becomes ':', and a leading digit gets a '_' prefix.
func PrometheusName(tfName string) string {
	b := []byte(tfName)
	for i, c := range b {
		if !isAlnum(c) && c != '_' {
			b[i] = ':'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// LabelName is TF Serving's SanatizeLabelName: every character outside
// [a-zA-Z0-9] becomes '_', and a leading digit gets a '_' prefix.
func LabelName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func labels(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = LabelName(n)
	}
	return out
}

// OtherModel is the model_name label of requests for a model that is not
// configured: one series for every unknown name, so that clients cannot
// grow the metrics page by naming models that do not exist.
const OtherModel = "_other"

// Options configure New.
type Options struct {
	// KnownModel reports whether a model name is configured; requests for
	// other names are recorded under OtherModel. Nil: every name is its
	// own label (only for tests and trusted callers).
	KnownModel func(name string) bool
}

// Metrics holds the server's metrics. The zero value is not usable; call
// New. All methods are safe for concurrent use; a nil *Metrics records
// nothing.
type Metrics struct {
	reg            *prometheus.Registry
	requestCount   *prometheus.CounterVec
	requestLatency *prometheus.HistogramVec
	runtimeLatency *prometheus.HistogramVec
	loadAttempts   *prometheus.CounterVec
	loadLatency    *prometheus.CounterVec
	warmupLatency  *prometheus.HistogramVec
	warmupRecords  *prometheus.CounterVec
	bufs           sync.Pool
	known          func(string) bool
}

// New returns Metrics registered in a fresh registry.
func New(opts Options) *Metrics {
	buckets := LatencyBuckets()
	counter := func(name, help string, l ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: PrometheusName(name), Help: help}, labels(l...))
	}
	histogram := func(name, help string, l ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: PrometheusName(name), Help: help, Buckets: buckets}, labels(l...))
	}
	m := &Metrics{
		known:        opts.KnownModel,
		reg:          prometheus.NewRegistry(),
		requestCount: counter(RequestCount, "The total number of requests.", "model_name", "status"),
		requestLatency: histogram(RequestLatency,
			"Distribution of wall time (in microseconds) for Tensorflow Serving request.", "model_name", "API", "entrypoint"),
		runtimeLatency: histogram(RuntimeLatency,
			"Distribution of wall time (in microseconds) for Tensorflow runtime.", "model_name", "API", "runtime"),
		loadAttempts: counter(LoadAttemptCount, "The number of times a SavedModel was successfully loaded.", "model_path", "status"),
		loadLatency:  counter(LoadLatency, "Latency in microseconds for SavedModels that were successfully loaded.", "model_path"),
		warmupLatency: histogram(WarmupLatency,
			"Distribution of wall time (in microseconds) for warming up the model.", "model_path", "status"),
		warmupRecords: counter(WarmupRecordsRead, "The number of warmup records read.", "model_path"),
	}
	m.reg.MustRegister(m.requestCount, m.requestLatency, m.runtimeLatency, m.loadAttempts, m.loadLatency,
		m.warmupLatency, m.warmupRecords)
	return m
}

// Registry is the registry the metrics live in, for registering more
// collectors that WriteText then exports too.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func micros(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond)
}

// ObserveRequest records one finished inference request: request_count
// always, request_latency when it succeeded (as TF Serving does). api is
// TF's API label ("Predict", "Classify", "Regress", "MultiInference",
// "GetModelMetadata"), entrypoint EntrypointREST or EntrypointGRPC. Requests
// without a model name are not recorded; those for a model that is not
// configured count under OtherModel.
func (m *Metrics) ObserveRequest(model, api, entrypoint string, code status.Code, elapsed time.Duration) {
	if m == nil || model == "" {
		return
	}
	if m.known != nil && !m.known(model) {
		model = OtherModel
	}
	m.requestCount.WithLabelValues(model, code.String()).Inc()
	if code == status.OK {
		m.requestLatency.WithLabelValues(model, api, entrypoint).Observe(micros(elapsed))
	}
}

// ObserveRuntime records one model run in runtime_latency.
func (m *Metrics) ObserveRuntime(model, api, runtime string, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.runtimeLatency.WithLabelValues(model, api, runtime).Observe(micros(elapsed))
}

// ObserveLoad records one load attempt of a version directory
// (load_attempt_count; load_latency when it succeeded).
func (m *Metrics) ObserveLoad(modelPath string, elapsed time.Duration, err error) {
	if m == nil {
		return
	}
	modelPath = redact.String(modelPath)
	if err != nil {
		m.loadAttempts.WithLabelValues(modelPath, "fail").Inc()
		return
	}
	m.loadAttempts.WithLabelValues(modelPath, "success").Inc()
	m.loadLatency.WithLabelValues(modelPath).Add(micros(elapsed))
}

// ObserveWarmup records one warmup replay: model_warmup_latency with the
// status code name ("OK", "DATA_LOSS", ...; TF Serving puts the whole status
// message there) and the records replayed in model_warmup_records_read.
func (m *Metrics) ObserveWarmup(modelPath string, records int, elapsed time.Duration, err error) {
	if m == nil {
		return
	}
	modelPath = redact.String(modelPath)
	m.warmupLatency.WithLabelValues(modelPath, status.CodeOf(err).String()).Observe(micros(elapsed))
	if records > 0 {
		m.warmupRecords.WithLabelValues(modelPath).Add(float64(records))
	}
}

// LoadFunc loads one SavedModel version directory (manager.LoadFunc).
type LoadFunc = func(ctx context.Context, dir string) (servable.Model, error)

// WrapLoad times every call of load with ObserveLoad.
func (m *Metrics) WrapLoad(load LoadFunc) LoadFunc {
	return func(ctx context.Context, dir string) (servable.Model, error) {
		start := time.Now()
		sm, err := load(ctx, dir)
		if err == nil && sm == nil {
			err = errors.New("no model")
		}
		m.ObserveLoad(dir, time.Since(start), err)
		return sm, err
	}
}

// APIOfMethod is the API label for a signature's method_name: "Classify",
// "Regress", else "Predict".
func APIOfMethod(method string) string {
	switch method {
	case servable.MethodClassify:
		return "Classify"
	case servable.MethodRegress:
		return "Regress"
	}
	return "Predict"
}

// InstrumentModel returns sm with every Run recorded in runtime_latency
// under model name, the API of the signature's method name, and runtime.
func (m *Metrics) InstrumentModel(sm servable.Model, name, runtime string) servable.Model {
	if m == nil {
		return sm
	}
	return &instrumented{Model: sm, m: m, name: name, runtime: runtime}
}

type instrumented struct {
	servable.Model
	m             *Metrics
	name, runtime string
}

// Cooperative forwards the wrapped model's servable.Cooperative answer.
func (i *instrumented) Cooperative() bool {
	c, ok := i.Model.(servable.Cooperative)
	return ok && c.Cooperative()
}

func (i *instrumented) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, out []string) (map[string]*tensor.Tensor, error) {
	start := time.Now()
	res, err := i.Model.Run(ctx, sig, in, out)
	if err == nil {
		method := ""
		if s := i.Model.Signatures()[sig]; s != nil {
			method = s.MethodName
		}
		i.m.ObserveRuntime(i.name, APIOfMethod(method), i.runtime, time.Since(start))
	}
	return res, err
}

// WriteText writes the metrics in Prometheus text format, TF Serving style:
// "# TYPE" lines, no "# HELP".
func (m *Metrics) WriteText(w io.Writer) error {
	fams, err := m.reg.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	for _, f := range fams {
		f.Help = nil
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// ContentType is the Content-Type of the metrics page (TF Serving's).
const ContentType = "text/plain"

// Handler serves WriteText (any method; TF Serving answers GET).
func (m *Metrics) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		bp, _ := m.bufs.Get().(*bytes.Buffer)
		if bp == nil {
			bp = new(bytes.Buffer)
		}
		bp.Reset()
		defer m.bufs.Put(bp)
		if err := m.WriteText(bp); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
			return
		}
		ctx.Response.Header.SetContentType(ContentType)
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBody(bp.Bytes())
	}
}
