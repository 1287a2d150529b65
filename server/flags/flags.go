// Package flags parses tensorflow_model_server's command line for tfserve.
//
// Every flag of TF Serving's model_servers/main.cc is accepted, in TF's
// --flag=value form and in --flag value form (booleans as --flag,
// --flag=true or --flag=false; a single leading dash works too), so launch
// scripts written for TF Serving run unchanged. Flags tfserve does not act on
// are listed by NoEffect so the caller can say so once each. Like TF
// Serving, an unknown argument is reported and otherwise ignored.
package flags

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tfserve/tfserve/servable/limits"
)

// Options holds every flag. Field comments give the flag name; defaults are
// TF Serving's (server.h Options) except where noted.
type Options struct {
	GRPCPort                           int    // --port (8500; 0 turns gRPC off)
	GRPCSocketPath                     string // --grpc_socket_path
	RESTPort                           int    // --rest_api_port (default 8501 as TF Serving's Docker image; TF binary: 0)
	RESTNumThreads                     int    // --rest_api_num_threads (0: 4 × CPUs)
	RESTTimeoutMs                      int64  // --rest_api_timeout_in_ms (30000)
	RESTEnableCORS                     bool   // --rest_api_enable_cors_support
	EnableBatching                     bool   // --enable_batching
	AllowVersionLabelsUnavailable      bool   // --allow_version_labels_for_unavailable_models
	BatchingParametersFile             string // --batching_parameters_file
	EnablePerModelBatchingParams       bool   // --enable_per_model_batching_parameters
	ModelConfigFile                    string // --model_config_file
	ModelConfigFilePollWaitSeconds     int64  // --model_config_file_poll_wait_seconds (0: read once)
	ModelName                          string // --model_name ("default")
	ModelBasePath                      string // --model_base_path
	NumLoadThreads                     int    // --num_load_threads
	NumUnloadThreads                   int    // --num_unload_threads
	MaxNumLoadRetries                  int    // --max_num_load_retries (5)
	LoadRetryIntervalMicros            int64  // --load_retry_interval_micros (60 s)
	FileSystemPollWaitSeconds          int64  // --file_system_poll_wait_seconds (1; 0: once)
	FlushFilesystemCaches              bool   // --flush_filesystem_caches (true)
	TFSessionParallelism               int64  // --tensorflow_session_parallelism
	TFSessionConfigFile                string // --tensorflow_session_config_file
	TFIntraOpParallelism               int64  // --tensorflow_intra_op_parallelism
	TFInterOpParallelism               int64  // --tensorflow_inter_op_parallelism
	UseALTSCredentials                 bool   // --use_alts_credentials
	SSLConfigFile                      string // --ssl_config_file
	PlatformConfigFile                 string // --platform_config_file
	PerProcessGPUMemoryFraction        float64
	SavedModelTags                     string // --saved_model_tags ("" means "serve")
	GRPCChannelArguments               string // --grpc_channel_arguments
	GRPCMaxThreads                     int    // --grpc_max_threads
	EnableModelWarmup                  bool   // --enable_model_warmup (true)
	NumRequestIterationsForWarmup      int    // --num_request_iterations_for_warmup
	Version                            bool   // --version
	MonitoringConfigFile               string // --monitoring_config_file
	RemoveUnusedFieldsFromMetaGraph    bool   // --remove_unused_fields_from_bundle_metagraph (true)
	PreferTFLiteModel                  bool   // --prefer_tflite_model
	NumTFLitePools                     int    // --num_tflite_pools
	NumTFLiteInterpretersPerPool       int    // --num_tflite_interpreters_per_pool
	EnableSignatureMethodNameCheck     bool   // --enable_signature_method_name_check
	XLACPUCompilationEnabled           bool   // --xla_cpu_compilation_enabled
	XLAGPUCompilationEnabled           bool   // --xla_gpu_compilation_enabled
	EnableProfiler                     bool   // --enable_profiler (true)
	ThreadPoolFactoryConfigFile        string // --thread_pool_factory_config_file
	MixedPrecision                     string // --mixed_precision
	SkipInitializeTPU                  bool   // --skip_initialize_tpu
	EnableGRPCHealthcheckService       bool   // --enable_grpc_healthcheck_service
	EnableSerializationAsTensorContent bool   // --enable_serialization_as_tensor_content

	// tfserve's own flags.

	Engine           string // --engine: "default" (our kernels) or "gorgonia"
	RESTMaxBodyBytes int    // --rest_api_max_body_bytes (64 MiB)

	// Request budgets, one set for REST and gRPC (servable/limits).
	RequestMaxRank      int   // --request_max_rank (254, TF's limit)
	RequestMaxJSONDepth int   // --request_max_json_depth (300)
	RequestMaxElements  int64 // --request_max_elements (64 Mi)
	RequestMaxBytes     int64 // --request_max_bytes (256 MiB)
	ResponseMaxBytes    int64 // --response_max_bytes (256 MiB)

	// Model-load budgets (servable/limits).
	ModelMaxNodes      int   // --model_max_nodes (1 Mi, after inlining)
	ModelMaxConstBytes int64 // --model_max_const_bytes (4 GiB)
	ModelMaxFoldBytes  int64 // --model_max_fold_bytes (10 MiB, Grappler's)

	// REST connections.
	RESTReadTimeoutMs  int64  // --rest_api_read_timeout_ms (60 s: headers and body)
	RESTWriteTimeoutMs int64  // --rest_api_write_timeout_ms (60 s)
	RESTIdleTimeoutMs  int64  // --rest_api_idle_timeout_ms (120 s, keep-alive)
	RESTMaxConnections int    // --rest_api_max_connections (10000)
	RESTMaxHeaderBytes int    // --rest_api_max_header_bytes (16 KiB)
	RESTSSLConfigFile  string // --rest_api_ssl_config_file (TF's SSLConfig text, for REST)

	// Control plane.
	GRPCAllowReloadConfig bool   // --grpc_allow_reload_config (true, as TF Serving)
	AllowedModelBasePaths string // --allowed_model_base_paths (comma-separated prefixes; "" allows all)

	// Admission control in front of model execution (server/admission).
	EnableAdmissionControl       bool    // --enable_admission_control (true)
	AdmissionMaxInFlight         int     // --admission_max_in_flight (0: adaptive)
	AdmissionMinInFlight         int     // --admission_min_in_flight (0: CPUs, at least 2)
	AdmissionMaxQueue            int     // --admission_max_queue (128)
	AdmissionQueueTargetMicros   int64   // --admission_queue_target_micros (5000)
	AdmissionQueueIntervalMicros int64   // --admission_queue_interval_micros (100000)
	AdmissionShedConnections     bool    // --admission_shed_connections (false)
	AdmissionDispatch            bool    // --admission_dispatch (false)
	AdmissionMaxPerClient        int     // --admission_max_in_flight_per_client (0: off)
	ReadyzMaxShedRatio           float64 // --readyz_max_shed_ratio (0: off)

	AccessLog string // --access_log: PATH or "stderr", one JSON line per request ("": off)

	MLflowDefaultModel string // --mlflow_default_model: the model MLflow's /invocations, /ping and /health use

	// Set lists the flags given on the command line, in order.
	Set []string
	// Unknown lists arguments that are not flags of tfserve (reported,
	// otherwise ignored, as TF Serving does).
	Unknown []string
}

// isImplemented reports whether tfserve acts on a flag. Every other flag is
// accepted and has no effect (see NoEffect).
func isImplemented(name string) bool {
	switch name {
	case "port", "rest_api_port", "rest_api_num_threads", "rest_api_timeout_in_ms",
		"rest_api_enable_cors_support", "allow_version_labels_for_unavailable_models",
		"model_config_file", "model_config_file_poll_wait_seconds", "model_name", "model_base_path",
		"max_num_load_retries", "load_retry_interval_micros", "file_system_poll_wait_seconds",
		"saved_model_tags", "version", "enable_signature_method_name_check",
		"enable_batching", "batching_parameters_file", "enable_per_model_batching_parameters",
		"engine", "rest_api_max_body_bytes", "grpc_socket_path", "grpc_channel_arguments", "grpc_max_threads",
		"enable_grpc_healthcheck_service", "enable_serialization_as_tensor_content",
		"enable_model_warmup", "num_request_iterations_for_warmup", "monitoring_config_file",
		"ssl_config_file",
		"request_max_rank", "request_max_json_depth", "request_max_elements", "request_max_bytes", "response_max_bytes",
		"model_max_nodes", "model_max_const_bytes", "model_max_fold_bytes",
		"rest_api_read_timeout_ms", "rest_api_write_timeout_ms", "rest_api_idle_timeout_ms",
		"rest_api_max_connections", "rest_api_max_header_bytes", "rest_api_ssl_config_file",
		"grpc_allow_reload_config", "allowed_model_base_paths",
		"enable_admission_control", "admission_max_in_flight", "admission_min_in_flight", "admission_max_queue",
		"admission_queue_target_micros", "admission_queue_interval_micros", "admission_shed_connections", "admission_dispatch", "admission_max_in_flight_per_client",
		"readyz_max_shed_ratio",
		"access_log", "mlflow_default_model":
		return true
	}
	return false
}

// Defaults returns the options with every default applied.
func Defaults() Options {
	o, _ := Parse(nil, io.Discard)
	return o
}

func newFlagSet(o *Options, usage io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tfserve", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.IntVar(&o.GRPCPort, "port", 8500, "TCP port for the gRPC API; 0 turns gRPC off")
	fs.StringVar(&o.GRPCSocketPath, "grpc_socket_path", "", "also serve the gRPC API on this UNIX socket")
	fs.IntVar(&o.RESTPort, "rest_api_port", 8501, "port for the HTTP/REST API; 0 disables it")
	fs.IntVar(&o.RESTNumThreads, "rest_api_num_threads", 0, "REST requests processed at once (0: 4 x CPUs)")
	fs.Int64Var(&o.RESTTimeoutMs, "rest_api_timeout_in_ms", 30000, "timeout of a REST model run, in ms")
	fs.BoolVar(&o.RESTEnableCORS, "rest_api_enable_cors_support", false, "add CORS headers to REST responses")
	fs.BoolVar(&o.EnableBatching, "enable_batching", false, "enable batching")
	fs.BoolVar(&o.AllowVersionLabelsUnavailable, "allow_version_labels_for_unavailable_models", false,
		"allow new version labels to point at versions that are not loaded yet")
	fs.StringVar(&o.BatchingParametersFile, "batching_parameters_file", "", "text BatchingParameters file")
	fs.BoolVar(&o.EnablePerModelBatchingParams, "enable_per_model_batching_parameters", false, "read batching_params.pbtxt from each SavedModel")
	fs.StringVar(&o.ModelConfigFile, "model_config_file", "", "text ModelServerConfig file (overrides --model_name and --model_base_path)")
	fs.Int64Var(&o.ModelConfigFilePollWaitSeconds, "model_config_file_poll_wait_seconds", 0, "seconds between reloads of --model_config_file; 0: read once")
	fs.StringVar(&o.ModelName, "model_name", "default", "name of the model (without --model_config_file)")
	fs.StringVar(&o.ModelBasePath, "model_base_path", "", "base path of the model's numbered version directories (without --model_config_file)")
	fs.IntVar(&o.NumLoadThreads, "num_load_threads", 0, "load threads (no effect: each model loads on its own goroutine)")
	fs.IntVar(&o.NumUnloadThreads, "num_unload_threads", 0, "unload threads (no effect)")
	fs.IntVar(&o.MaxNumLoadRetries, "max_num_load_retries", 5, "load retries after a failed load")
	fs.Int64Var(&o.LoadRetryIntervalMicros, "load_retry_interval_micros", 60_000_000, "microseconds between load retries")
	fs.Int64Var(&o.FileSystemPollWaitSeconds, "file_system_poll_wait_seconds", 1, "seconds between polls for new versions; 0: once")
	fs.BoolVar(&o.FlushFilesystemCaches, "flush_filesystem_caches", true, "flush filesystem caches after loads (no effect)")
	fs.Int64Var(&o.TFSessionParallelism, "tensorflow_session_parallelism", 0, "threads per model run (0: auto)")
	fs.StringVar(&o.TFSessionConfigFile, "tensorflow_session_config_file", "", "text ConfigProto file (no effect)")
	fs.Int64Var(&o.TFIntraOpParallelism, "tensorflow_intra_op_parallelism", 0, "threads within one op (0: auto)")
	fs.Int64Var(&o.TFInterOpParallelism, "tensorflow_inter_op_parallelism", 0, "ops run at once (0: auto)")
	fs.BoolVar(&o.UseALTSCredentials, "use_alts_credentials", false, "Google ALTS credentials (no effect)")
	fs.StringVar(&o.SSLConfigFile, "ssl_config_file", "", "text SSLConfig file (server_key, server_cert: PEM text; client_verify: require client certs signed by custom_ca): TLS on every gRPC listener")
	fs.StringVar(&o.PlatformConfigFile, "platform_config_file", "", "text PlatformConfigMap file (no effect)")
	fs.Float64Var(&o.PerProcessGPUMemoryFraction, "per_process_gpu_memory_fraction", 0, "GPU memory fraction (no effect)")
	fs.StringVar(&o.SavedModelTags, "saved_model_tags", "", "comma-separated MetaGraph tags to load (default serve)")
	fs.StringVar(&o.GRPCChannelArguments, "grpc_channel_arguments", "",
		"gRPC server arguments key=value,... (grpc.max_receive_message_length, grpc.max_send_message_length, grpc.max_concurrent_streams, grpc.keepalive_time_ms, ...); "+
			"defaults: 1024 streams per connection, 64 KiB metadata, client pings at most every 10s and only during RPCs, idle connections closed after 15m, "+
			"receive limit 10 B x --request_max_elements + --request_max_bytes + 1 MiB (at most INT32_MAX)")
	fs.IntVar(&o.GRPCMaxThreads, "grpc_max_threads", 0, "gRPC requests processed at once; others wait (0: no limit)")
	fs.BoolVar(&o.EnableModelWarmup, "enable_model_warmup", true, "replay assets.extra/tf_serving_warmup_requests at load")
	fs.IntVar(&o.NumRequestIterationsForWarmup, "num_request_iterations_for_warmup", 0, "times each warmup record is replayed (0: once)")
	fs.BoolVar(&o.Version, "version", false, "print the version and exit")
	fs.StringVar(&o.MonitoringConfigFile, "monitoring_config_file", "", "text MonitoringConfig file: prometheus_config { enable: true path: \"/monitoring/prometheus/metrics\" } serves metrics on the REST port")
	fs.BoolVar(&o.RemoveUnusedFieldsFromMetaGraph, "remove_unused_fields_from_bundle_metagraph", true, "(no effect)")
	fs.BoolVar(&o.PreferTFLiteModel, "prefer_tflite_model", false, "(no effect)")
	fs.IntVar(&o.NumTFLitePools, "num_tflite_pools", 0, "(no effect)")
	fs.IntVar(&o.NumTFLiteInterpretersPerPool, "num_tflite_interpreters_per_pool", 1, "(no effect)")
	fs.BoolVar(&o.EnableSignatureMethodNameCheck, "enable_signature_method_name_check", false,
		"require predict/classify/regress signature method names to match the API")
	fs.BoolVar(&o.XLACPUCompilationEnabled, "xla_cpu_compilation_enabled", false, "(no effect)")
	fs.BoolVar(&o.XLAGPUCompilationEnabled, "xla_gpu_compilation_enabled", false, "(no effect)")
	fs.BoolVar(&o.EnableProfiler, "enable_profiler", true, "(no effect)")
	fs.StringVar(&o.ThreadPoolFactoryConfigFile, "thread_pool_factory_config_file", "", "(no effect)")
	fs.StringVar(&o.MixedPrecision, "mixed_precision", "", "(no effect)")
	fs.BoolVar(&o.SkipInitializeTPU, "skip_initialize_tpu", false, "(no effect)")
	fs.BoolVar(&o.EnableGRPCHealthcheckService, "enable_grpc_healthcheck_service", false, "serve grpc.health.v1.Health on the gRPC port")
	fs.BoolVar(&o.EnableSerializationAsTensorContent, "enable_serialization_as_tensor_content", false,
		"gRPC Predict outputs use tensor_content instead of the typed repeated fields")
	fs.StringVar(&o.Engine, "engine", "default", "execution engine: default or gorgonia")
	fs.IntVar(&o.RESTMaxBodyBytes, "rest_api_max_body_bytes", 64<<20, "largest REST request body, also after gzip decompression (413 above)")
	fs.IntVar(&o.RequestMaxRank, "request_max_rank", limits.MaxRank, "largest rank of a request tensor (at most 254, TensorFlow's limit)")
	fs.IntVar(&o.RequestMaxJSONDepth, "request_max_json_depth", limits.DefaultMaxJSONDepth, "deepest nesting of a REST JSON body")
	fs.Int64Var(&o.RequestMaxElements, "request_max_elements", limits.DefaultMaxElements, "most elements in one request's input tensors together")
	fs.Int64Var(&o.RequestMaxBytes, "request_max_bytes", limits.DefaultMaxBytes, "most decoded bytes in one request's input tensors together")
	fs.Int64Var(&o.ResponseMaxBytes, "response_max_bytes", limits.DefaultMaxResponseBytes, "largest encoded REST or gRPC response")
	fs.IntVar(&o.ModelMaxNodes, "model_max_nodes", limits.DefaultMaxNodes, "most graph nodes of a model after functions are inlined")
	fs.Int64Var(&o.ModelMaxConstBytes, "model_max_const_bytes", limits.DefaultMaxConstBytes, "most bytes of a model's constants once decoded")
	fs.Int64Var(&o.ModelMaxFoldBytes, "model_max_fold_bytes", limits.DefaultMaxFoldBytes, "largest tensor constant folding may make at load")
	fs.Int64Var(&o.RESTReadTimeoutMs, "rest_api_read_timeout_ms", 60_000, "time to read a REST request's headers and body, in ms")
	fs.Int64Var(&o.RESTWriteTimeoutMs, "rest_api_write_timeout_ms", 60_000, "time to write a REST response, in ms")
	fs.Int64Var(&o.RESTIdleTimeoutMs, "rest_api_idle_timeout_ms", 120_000, "time an idle keep-alive REST connection stays open, in ms")
	fs.IntVar(&o.RESTMaxConnections, "rest_api_max_connections", 10_000, "most open REST connections; more are refused")
	fs.IntVar(&o.RESTMaxHeaderBytes, "rest_api_max_header_bytes", 16<<10, "largest REST request header block")
	fs.StringVar(&o.RESTSSLConfigFile, "rest_api_ssl_config_file", "", "text SSLConfig file: HTTPS (and client certificates) on the REST port")
	fs.BoolVar(&o.GRPCAllowReloadConfig, "grpc_allow_reload_config", true, "accept ModelService.HandleReloadConfigRequest over gRPC")
	fs.StringVar(&o.AllowedModelBasePaths, "allowed_model_base_paths", "", "comma-separated base-path prefixes (e.g. /models/,s3://bucket/) that models may load from; empty allows any")
	fs.BoolVar(&o.EnableAdmissionControl, "enable_admission_control", true,
		"admit predict/classify/regress only while the server keeps up; refuse the rest at once (REST 503 + Retry-After, gRPC RESOURCE_EXHAUSTED)")
	fs.IntVar(&o.AdmissionMaxInFlight, "admission_max_in_flight", 0, "model requests run at once; 0 adapts it to measured latency (Gradient2)")
	fs.IntVar(&o.AdmissionMinInFlight, "admission_min_in_flight", 0, "floor of the adaptive limit (0: number of CPUs, at least 2; raise it to the batch size with --enable_batching)")
	fs.IntVar(&o.AdmissionMaxQueue, "admission_max_queue", 128, "model requests that may wait for admission; 0: none wait")
	fs.Int64Var(&o.AdmissionQueueTargetMicros, "admission_queue_target_micros", 5000,
		"CoDel target: once the wait queue stood above it for an interval, requests waiting 2 x target are refused and the newest served first")
	fs.Int64Var(&o.AdmissionQueueIntervalMicros, "admission_queue_interval_micros", 100_000, "CoDel interval: the longest any request waits for admission")
	fs.BoolVar(&o.AdmissionShedConnections, "admission_shed_connections", false,
		"while the Go scheduler's latency stays over the queue target, serve only the REST connections already served (a budget adapted to the latency) and answer others 503 with Connection: close")
	fs.BoolVar(&o.AdmissionDispatch, "admission_dispatch", false,
		"while the Go scheduler's latency stays over the queue target, park every model request and admit the newest first, refusing those that waited the queue interval")
	fs.IntVar(&o.AdmissionMaxPerClient, "admission_max_in_flight_per_client", 0,
		"model requests one client address may have running or waiting; more are refused at once (REST 429 + Retry-After, gRPC RESOURCE_EXHAUSTED); 0: no limit")
	fs.Float64Var(&o.ReadyzMaxShedRatio, "readyz_max_shed_ratio", 0,
		"/readyz answers 503 while more than this fraction of model requests were refused in the last 1-2 s (0: never)")
	fs.StringVar(&o.AccessLog, "access_log", "",
		"write one JSON line per REST and gRPC request (time, model, version, API, status, latency, bytes, client) to this file, or to stderr with --access_log=stderr")
	fs.StringVar(&o.MLflowDefaultModel, "mlflow_default_model", "",
		"model that MLflow's scoring protocol on the REST port (/invocations, /ping, /health) uses; needed when several models are served")
	return fs
}

// Parse parses args (without the program name). Errors are bad values of
// known flags; unknown arguments are collected in Options.Unknown. usage
// receives the flag list on error (nil: discarded).
func Parse(args []string, usage io.Writer) (Options, error) {
	if usage == nil {
		usage = io.Discard
	}
	var o Options
	fs := newFlagSet(&o, usage)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' || a == "--" {
			o.Unknown = append(o.Unknown, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		value, hasValue := "", false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value, hasValue = name[:eq], name[eq+1:], true
		}
		f := fs.Lookup(name)
		if f == nil || name == "" {
			o.Unknown = append(o.Unknown, a)
			continue
		}
		if !hasValue {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				value = "true"
			} else {
				if i+1 >= len(args) {
					fs.Usage()
					return o, fmt.Errorf("flag --%s needs a value", name)
				}
				i++
				value = args[i]
			}
		}
		if err := fs.Set(name, value); err != nil {
			fs.Usage()
			return o, fmt.Errorf("invalid value %q for flag --%s: %w", value, name, errors.Unwrap(err))
		}
		if !slices.Contains(o.Set, name) {
			o.Set = append(o.Set, name)
		}
	}
	return o, nil
}

// NoEffect returns the flags given on the command line that tfserve accepts
// but does not act on (yet), in command-line order.
func (o Options) NoEffect() []string {
	var out []string
	for _, n := range o.Set {
		if !isImplemented(n) {
			out = append(out, n)
		}
	}
	return out
}

// Usage writes the flag list to w.
func Usage(w io.Writer) {
	var o Options
	fs := newFlagSet(&o, w)
	fmt.Fprintln(w, "usage: tfserve [flags]   (tensorflow_model_server flags)")
	fs.PrintDefaults()
}

// RequestLimits returns the request budgets the flags set.
func (o Options) RequestLimits() limits.Request {
	return limits.Request{
		MaxRank: o.RequestMaxRank, MaxJSONDepth: o.RequestMaxJSONDepth, MaxElements: o.RequestMaxElements,
		MaxBytes: o.RequestMaxBytes, MaxResponseBytes: o.ResponseMaxBytes,
	}.WithDefaults()
}

// LoadLimits returns the model-load budgets the flags set.
func (o Options) LoadLimits() limits.Load {
	return limits.Load{MaxNodes: o.ModelMaxNodes, MaxConstBytes: o.ModelMaxConstBytes, MaxFoldBytes: o.ModelMaxFoldBytes}.WithDefaults()
}
