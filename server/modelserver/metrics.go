package modelserver

import (
	"context"
	"log/slog"
	"path"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/metrics"
	"github.com/tfserve/tfserve/server/restapi"
	"github.com/tfserve/tfserve/server/warmup"
)

// observability wires --monitoring_config_file (Prometheus metrics on the
// REST port) and --enable_model_warmup / --num_request_iterations_for_warmup
// into the load path and the API servers.
type observability struct {
	metrics *metrics.Metrics // nil: monitoring off
	path    string           // metrics path on the REST port
	warmup  bool
	iters   int
	limits  limits.Request // warmup records decode within the request budget
	runtime string         // runtime_latency's runtime label
	log     *slog.Logger
	// models tells configured model names from others (set once the
	// manager exists, before any request is served).
	models interface{ Configured(string) bool }

	// Names of the models whose versions were fetched, by version
	// directory, for runtime_latency's model_name (the load function sees
	// only the directory).
	mu      sync.Mutex
	dirBase map[string]string // version dir -> base path
	names   map[string]string // base path -> model name (initial config)
}

func newObservability(o flags.Options, cfg *servingpb.ModelServerConfig, log *slog.Logger) (*observability, error) {
	obs := &observability{
		warmup:  o.EnableModelWarmup,
		iters:   o.NumRequestIterationsForWarmup,
		limits:  o.RequestLimits(),
		runtime: "tfserve",
		log:     log,
		dirBase: map[string]string{},
		names:   map[string]string{},
	}
	if o.Engine != "" && o.Engine != "default" {
		obs.runtime = o.Engine
	}
	for _, mc := range cfg.GetModelConfigList().GetConfig() {
		obs.names[mc.GetBasePath()] = mc.GetName()
	}
	if o.MonitoringConfigFile == "" {
		return obs, nil
	}
	mcfg, err := metrics.ReadConfigFile(o.MonitoringConfigFile)
	if err != nil {
		return nil, err
	}
	p, on, err := metrics.PrometheusPath(mcfg)
	if err != nil {
		return nil, err
	}
	if on {
		obs.metrics, obs.path = metrics.New(metrics.Options{KnownModel: obs.configured}), p
		log.Info("Exporting Prometheus metrics on the REST port", "path", p)
	}
	return obs, nil
}

// configured reports whether the current config names model.
func (obs *observability) configured(model string) bool {
	return obs.models != nil && obs.models.Configured(model)
}

// wrapLoad adds, from the inside out: load timing (load_latency,
// load_attempt_count), runtime_latency on the loaded model, and the warmup
// replay (whose failure fails the load).
func (obs *observability) wrapLoad(load manager.LoadFunc) manager.LoadFunc {
	if obs.metrics != nil {
		timed := obs.metrics.WrapLoad(load)
		load = func(ctx context.Context, dir string) (servable.Model, error) {
			sm, err := timed(ctx, dir)
			if err != nil {
				return nil, err
			}
			return obs.metrics.InstrumentModel(sm, obs.modelName(dir), obs.runtime), nil
		}
	}
	if !obs.warmup {
		return load
	}
	wo := warmup.Options{Iterations: obs.iters, Logger: obs.log, Limits: obs.limits}
	if obs.metrics != nil {
		wo.Observe = func(dir string, r warmup.Result, err error) {
			obs.metrics.ObserveWarmup(dir, r.Records, r.Elapsed, err)
		}
	}
	return warmup.WrapLoad(load, wo)
}

// wrapOpenSource remembers which base path each fetched version directory
// came from.
func (obs *observability) wrapOpenSource(open manager.OpenSourceFunc) manager.OpenSourceFunc {
	if obs.metrics == nil {
		return open
	}
	return func(ctx context.Context, basePath string) (manager.Source, error) {
		src, err := open(ctx, basePath)
		if err != nil {
			return nil, err
		}
		return &namedSource{Source: src, obs: obs, base: basePath}, nil
	}
}

type namedSource struct {
	manager.Source
	obs  *observability
	base string
}

func (s *namedSource) Fetch(ctx context.Context, version int64) (string, error) {
	dir, err := s.Source.Fetch(ctx, version)
	if err == nil {
		s.obs.mu.Lock()
		s.obs.dirBase[dir] = s.base
		s.obs.mu.Unlock()
	}
	return dir, err
}

// modelName is the configured name of the model whose version dir is being
// loaded; for models added later by a polled config file it falls back to
// the base path's last element (TF Serving's /models/<name> layout).
func (obs *observability) modelName(dir string) string {
	obs.mu.Lock()
	base, ok := obs.dirBase[dir]
	name := obs.names[base]
	obs.mu.Unlock()
	if !ok {
		base = path.Dir(strings.TrimRight(dir, "/"))
	}
	if name == "" {
		name = path.Base(strings.TrimRight(base, "/"))
	}
	return name
}

// tfAPI maps the API servers' API names to TF Serving's API label values;
// "" for APIs that are not recorded (status, metadata, reload).
func tfAPI(api string) string {
	switch api {
	case "predict":
		return "Predict"
	case "classify":
		return "Classify"
	case "regress":
		return "Regress"
	case "multi_inference":
		return "MultiInference"
	}
	return ""
}

// restOptions adds the metrics handler and request observer to REST.
func (obs *observability) restOptions(ro restapi.Options) restapi.Options {
	if obs.metrics == nil {
		return ro
	}
	if ro.Handlers == nil {
		ro.Handlers = map[string]fasthttp.RequestHandler{}
	}
	ro.Handlers[obs.path] = obs.metrics.Handler()
	prev := ro.Observe
	ro.Observe = func(ri restapi.RequestInfo) {
		if api := tfAPI(ri.API); api != "" {
			obs.metrics.ObserveRequest(ri.Model, api, metrics.EntrypointREST, ri.Code, ri.Elapsed)
		}
		if prev != nil {
			prev(ri)
		}
	}
	return ro
}

// grpcOptions adds the request observer to gRPC.
func (obs *observability) grpcOptions(gro grpcapi.Options) grpcapi.Options {
	if obs.metrics == nil {
		return gro
	}
	prev := gro.Observe
	gro.Observe = func(ri grpcapi.RequestInfo) {
		if api := tfAPI(ri.API); api != "" {
			obs.metrics.ObserveRequest(ri.Model, api, metrics.EntrypointGRPC, ri.Code, ri.Elapsed)
		}
		if prev != nil {
			prev(ri)
		}
	}
	return gro
}
