// Package modelserver wires tfserve's model manager, gRPC and REST servers from
// parsed tensorflow_model_server flags, the way TF Serving's
// model_servers/server.cc BuildAndStart does, and runs them until the context
// ends, then shuts down gracefully: stop accepting, drain the requests in
// flight, unload the models.
package modelserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/kserve"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi"
)

// LoadOptions are the flag values a model loader needs.
type LoadOptions struct {
	// Tags from --saved_model_tags (nil: the loader's default, "serve").
	Tags []string
	// Engine from --engine ("default" or "gorgonia").
	Engine string
	// IntraOpParallelism and InterOpParallelism from the
	// --tensorflow_*_parallelism flags (0: automatic).
	IntraOpParallelism int64
	InterOpParallelism int64
	// Limits from the --model_max_* flags bound what one model file may
	// make a load build.
	Limits limits.Load
}

// Deps are the pieces cmd/tfserve provides.
type Deps struct {
	// Load loads one SavedModel version directory. Required.
	Load func(ctx context.Context, dir string, opts LoadOptions) (servable.Model, error)
	// OpenSource opens a model base path or URI. Required.
	OpenSource manager.OpenSourceFunc
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// RESTListener, when set, replaces listening on --rest_api_port (tests).
	RESTListener net.Listener
	// GRPCListener, when set, replaces listening on --port (tests).
	GRPCListener net.Listener
	// ShutdownTimeout bounds the wait for in-flight requests (default 30 s).
	ShutdownTimeout time.Duration
	// Ready, when set, is called once the REST server is listening and the
	// initial config has been applied, with the REST address (nil when REST
	// is off) and the manager.
	Ready func(restAddr net.Addr, m *manager.Manager)
	// Version is tfserve's version string, which MLflow's GET /version
	// answers ("dev" when empty).
	Version string
}

// Validate checks flag combinations the way BuildAndStart does.
func Validate(o flags.Options) error {
	if o.GRPCPort < 0 || o.GRPCPort > 65535 {
		return fmt.Errorf("--port=%d is not a port", o.GRPCPort)
	}
	if o.GRPCMaxThreads < 0 {
		return fmt.Errorf("--grpc_max_threads=%d must not be negative", o.GRPCMaxThreads)
	}
	if _, err := grpcapi.ParseChannelArguments(o.GRPCChannelArguments); err != nil {
		return err
	}
	if o.ModelBasePath == "" && o.ModelConfigFile == "" {
		return errors.New("Both server_options.model_base_path and server_options.model_config_file are empty!")
	}
	if !o.EnableBatching && o.BatchingParametersFile != "" {
		return errors.New("server_options.batching_parameters_file is set without setting server_options.enable_batching to true.")
	}
	if o.TFIntraOpParallelism > 0 && o.TFInterOpParallelism > 0 && o.TFSessionParallelism > 0 {
		return errors.New("Either configure server_options.tensorflow_session_parallelism or " +
			"(server_options.tensorflow_intra_op_parallelism, server_options.tensorflow_inter_op_parallelism) " +
			"separately. You cannot configure all.")
	}
	switch o.Engine {
	case "default", "gorgonia":
	default:
		return fmt.Errorf("--engine=%q: want default or gorgonia", o.Engine)
	}
	if o.RESTPort < 0 || o.RESTPort > 65535 {
		return fmt.Errorf("--rest_api_port=%d is not a port", o.RESTPort)
	}
	return nil
}

// loadOptions derives the loader options from the flags.
func loadOptions(o flags.Options) LoadOptions {
	lo := LoadOptions{Engine: o.Engine, IntraOpParallelism: o.TFIntraOpParallelism, InterOpParallelism: o.TFInterOpParallelism,
		Limits: o.LoadLimits()}
	if o.TFIntraOpParallelism == 0 && o.TFInterOpParallelism == 0 && o.TFSessionParallelism > 0 {
		lo.IntraOpParallelism, lo.InterOpParallelism = o.TFSessionParallelism, o.TFSessionParallelism
	}
	if o.SavedModelTags != "" {
		for _, t := range splitComma(o.SavedModelTags) {
			lo.Tags = append(lo.Tags, t)
		}
	}
	return lo
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// InitialConfig is the config the flags describe: --model_config_file, or
// one model from --model_name and --model_base_path (a relative base path is
// made absolute, which TF Serving would reject).
func InitialConfig(o flags.Options) (*servingpb.ModelServerConfig, error) {
	if o.ModelConfigFile != "" {
		return manager.ReadConfigFile(o.ModelConfigFile)
	}
	base := o.ModelBasePath
	if !isURI(base) && !filepath.IsAbs(base) {
		abs, err := filepath.Abs(base)
		if err != nil {
			return nil, fmt.Errorf("--model_base_path: %w", err)
		}
		base = abs
	}
	return manager.SingleModelConfig(o.ModelName, base), nil
}

func isURI(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == ':' {
			return i > 1
		}
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'))) {
			return false
		}
	}
	return false
}

// Run serves until ctx ends, then shuts down gracefully. It returns an error
// for bad flags or configs, or when the REST port cannot be opened; models
// that fail to load are logged (and reported by status and /readyz) without
// stopping the server.
func Run(ctx context.Context, o flags.Options, deps Deps) error {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	log = redact.Logger(log) // no credential reaches a log line
	if deps.Load == nil || deps.OpenSource == nil {
		return errors.New("modelserver: Deps.Load and Deps.OpenSource are required")
	}
	if err := Validate(o); err != nil {
		return err
	}
	for _, name := range o.NoEffect() {
		log.Warn("flag accepted for compatibility with tensorflow_model_server but has no effect in tfserve", "flag", "--"+name)
	}
	for _, a := range o.Unknown {
		log.Warn("unknown argument", "arg", a)
	}
	cfg, err := InitialConfig(o)
	if err != nil {
		return err
	}
	grpcTLS, restTLS, err := loadTLS(o)
	if err != nil {
		return err
	}
	lo := loadOptions(o)
	obs, err := newObservability(o, cfg, log)
	if err != nil {
		return err
	}
	lg, err := newLogging(o, lo, obs, log)
	if err != nil {
		return err
	}
	defer lg.close()
	mgr, err := manager.New(manager.Options{
		Load: obs.wrapLoad(func(ctx context.Context, dir string) (servable.Model, error) {
			return deps.Load(ctx, dir, lo)
		}),
		OpenSource:                             obs.wrapOpenSource(deps.OpenSource),
		PollInterval:                           time.Duration(o.FileSystemPollWaitSeconds) * time.Second,
		MaxLoadRetries:                         max(o.MaxNumLoadRetries, 0),
		LoadRetryInterval:                      time.Duration(max(o.LoadRetryIntervalMicros, 0)) * time.Microsecond,
		AllowVersionLabelsForUnavailableModels: o.AllowVersionLabelsUnavailable,
		AllowedBasePaths:                       splitComma(o.AllowedModelBasePaths),
		Logger:                                 log,
		PrepareConfig:                          lg.req.Prepare,
	})
	if err != nil {
		return err
	}
	defer mgr.Close()
	obs.models = mgr // metrics label only configured model names
	lim := newAdmission(o, obs)

	var (
		rest    *restapi.Server
		ln      = deps.RESTListener
		served  = make(chan error, 1)
		restOff = ln == nil && o.RESTPort == 0
	)
	models := readiness(mgr, lim, o.ReadyzMaxShedRatio)
	ro := obs.restOptions(lg.restOptions(restapi.Options{
		Models:                         models,
		Admission:                      lim,
		Timeout:                        time.Duration(max(o.RESTTimeoutMs, 0)) * time.Millisecond,
		EnableCORS:                     o.RESTEnableCORS,
		MaxBodyBytes:                   o.RESTMaxBodyBytes,
		MaxConcurrentRequests:          o.RESTNumThreads,
		EnableSignatureMethodNameCheck: o.EnableSignatureMethodNameCheck,
		Logger:                         log,
		Limits:                         o.RequestLimits(),
		ReadTimeout:                    time.Duration(max(o.RESTReadTimeoutMs, 0)) * time.Millisecond,
		WriteTimeout:                   time.Duration(max(o.RESTWriteTimeoutMs, 0)) * time.Millisecond,
		IdleTimeout:                    time.Duration(max(o.RESTIdleTimeoutMs, 0)) * time.Millisecond,
		MaxConnections:                 o.RESTMaxConnections,
		MaxHeaderBytes:                 o.RESTMaxHeaderBytes,
		MLflow:                         restapi.MLflowOptions{DefaultModel: o.MLflowDefaultModel, Version: deps.Version},
		Lister:                         mgr,
	}))
	// KServe v2 (the Open Inference Protocol) on both ports.
	ks, err := newKServe(o, deps.Version, models, lim, &ro, log)
	if err != nil {
		return err
	}
	if !restOff {
		rest, err = restapi.New(ro)
		if err != nil {
			return err
		}
		if ln == nil {
			if ln, err = net.Listen("tcp", ":"+strconv.Itoa(o.RESTPort)); err != nil {
				return fmt.Errorf("REST API: %w", err)
			}
		}
		if restTLS != nil {
			ln = tls.NewListener(ln, restTLS)
		}
		// Serve while the models load: status, /healthz and /readyz answer
		// at once (TF Serving only opens its ports after the first load).
		go func() { served <- rest.Serve(ln) }()
		log.Info("Exporting HTTP/REST API", "address", ln.Addr().String())
	}

	grpcSrv, grpcServed, err := startGRPC(o, deps, mgr, obs, lg, grpcTLS, lim, ks, log)
	if err != nil {
		stopREST(rest, log, deps.ShutdownTimeout)
		return err
	}

	if err := mgr.ReloadConfig(ctx, cfg); err != nil {
		if !manager.ConfigApplied(err) {
			stopGRPC(grpcSrv, deps.ShutdownTimeout)
			stopREST(rest, log, deps.ShutdownTimeout)
			return fmt.Errorf("model config: %w", err)
		}
		// One bad model does not stop the others (TF Serving would exit).
		log.Error("serving without some models", "error", err)
	}
	if o.ModelConfigFile != "" && o.ModelConfigFilePollWaitSeconds > 0 {
		go mgr.PollConfigFile(ctx, o.ModelConfigFile, time.Duration(o.ModelConfigFilePollWaitSeconds)*time.Second)
	}
	if deps.Ready != nil {
		var addr net.Addr
		if ln != nil {
			addr = ln.Addr()
		}
		deps.Ready(addr, mgr)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down: draining in-flight requests")
	case err := <-served:
		if err != nil {
			stopGRPC(grpcSrv, deps.ShutdownTimeout)
			return fmt.Errorf("REST API: %w", err)
		}
	case err := <-grpcServed:
		if err != nil {
			stopREST(rest, log, deps.ShutdownTimeout)
			stopGRPC(grpcSrv, deps.ShutdownTimeout)
			return fmt.Errorf("gRPC API: %w", err)
		}
	}
	stopGRPC(grpcSrv, deps.ShutdownTimeout)
	stopREST(rest, log, deps.ShutdownTimeout)
	// The requests have drained: write out their request and access logs.
	lg.close()
	if err := mgr.Close(); err != nil {
		return err
	}
	log.Info("shut down")
	return nil
}

func stopREST(rest *restapi.Server, log *slog.Logger, timeout time.Duration) {
	if rest == nil {
		return
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := rest.Shutdown(sctx); err != nil {
		log.Warn("REST shutdown", "error", err)
	}
}

// startGRPC serves TF Serving's gRPC API on --port (unless 0, or
// Deps.GRPCListener) and on --grpc_socket_path. It returns a nil server
// when gRPC is off. The channel reports the first Serve error.
func startGRPC(o flags.Options, deps Deps, mgr *manager.Manager, obs *observability, lg *logging, tlsCfg *tls.Config, lim *admission.Limiter,
	ks *kserve.Server, log *slog.Logger) (*grpcapi.Server, <-chan error, error) {
	served := make(chan error, 2)
	var lns []net.Listener
	if deps.GRPCListener != nil {
		lns = append(lns, deps.GRPCListener)
	} else if o.GRPCPort != 0 {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(o.GRPCPort))
		if err != nil {
			return nil, served, fmt.Errorf("gRPC API on --port=%d: %w", o.GRPCPort, err)
		}
		lns = append(lns, ln)
	}
	if o.GRPCSocketPath != "" {
		// A socket left by an earlier run would make Listen fail.
		if st, err := os.Lstat(o.GRPCSocketPath); err == nil && st.Mode()&os.ModeSocket != 0 {
			os.Remove(o.GRPCSocketPath)
		}
		ln, err := net.Listen("unix", o.GRPCSocketPath)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, served, fmt.Errorf("gRPC API on --grpc_socket_path=%s: %w", o.GRPCSocketPath, err)
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, served, nil
	}
	args, err := grpcapi.ParseChannelArguments(o.GRPCChannelArguments)
	if err != nil {
		return nil, served, err
	}
	srv, err := grpcapi.New(obs.grpcOptions(lg.grpcOptions(grpcapi.Options{
		Models:                         reloadPolicy(mgr, o.GRPCAllowReloadConfig),
		EnableSignatureMethodNameCheck: o.EnableSignatureMethodNameCheck,
		TensorContent:                  o.EnableSerializationAsTensorContent,
		EnableHealthService:            o.EnableGRPCHealthcheckService,
		ChannelArguments:               args,
		MaxConcurrentRequests:          o.GRPCMaxThreads,
		Admission:                      lim,
		Logger:                         log,
		Limits:                         o.RequestLimits(),
		TLS:                            tlsCfg,
	})))
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return nil, served, err
	}
	ks.Register(srv.GRPCServer()) // inference.GRPCInferenceService beside TF Serving's services
	for _, ln := range lns {
		go func() { served <- srv.Serve(ln) }()
		log.Info("Running gRPC ModelServer", "address", ln.Addr().String())
	}
	return srv, served, nil
}

func stopGRPC(srv *grpcapi.Server, timeout time.Duration) {
	if srv == nil {
		return
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	srv.Shutdown(sctx)
}
