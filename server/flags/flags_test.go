package flags

import (
	"slices"
	"testing"
)

func TestDefaults(t *testing.T) {
	o := Defaults()
	if o.RESTPort != 8501 || o.GRPCPort != 8500 || o.ModelName != "default" || o.RESTTimeoutMs != 30000 ||
		o.FileSystemPollWaitSeconds != 1 || o.ModelConfigFilePollWaitSeconds != 0 || o.MaxNumLoadRetries != 5 ||
		o.LoadRetryIntervalMicros != 60_000_000 || !o.EnableModelWarmup || !o.FlushFilesystemCaches ||
		!o.EnableProfiler || o.Engine != "default" || o.RESTMaxBodyBytes != 64<<20 {
		t.Fatalf("defaults: %+v", o)
	}
}

func TestForms(t *testing.T) {
	o, err := Parse([]string{
		"--model_name=half", "--model_base_path", "/models/half", // = and space forms
		"-rest_api_port=9000", "--rest_api_enable_cors_support", // single dash; bare bool
		"--enable_model_warmup=false", "--file_system_poll_wait_seconds", "0",
		"--saved_model_tags=serve,gpu", "--enable_batching", "--batching_parameters_file=/b.txt",
		"--tensorflow_intra_op_parallelism=4", "--per_process_gpu_memory_fraction=0.5",
		"--no_such_flag=1", "positional", "--engine", "gorgonia",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.ModelName != "half" || o.ModelBasePath != "/models/half" || o.RESTPort != 9000 || !o.RESTEnableCORS ||
		o.EnableModelWarmup || o.FileSystemPollWaitSeconds != 0 || o.SavedModelTags != "serve,gpu" ||
		!o.EnableBatching || o.BatchingParametersFile != "/b.txt" || o.TFIntraOpParallelism != 4 ||
		o.PerProcessGPUMemoryFraction != 0.5 || o.Engine != "gorgonia" {
		t.Fatalf("parsed %+v", o)
	}
	if !slices.Equal(o.Unknown, []string{"--no_such_flag=1", "positional"}) {
		t.Fatalf("unknown %v", o.Unknown)
	}
	want := []string{"tensorflow_intra_op_parallelism", "per_process_gpu_memory_fraction"}
	if got := o.NoEffect(); !slices.Equal(got, want) {
		t.Fatalf("NoEffect %v, want %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--rest_api_port=abc"},
		{"--rest_api_port"},
		{"--enable_batching=maybe"},
		{"--rest_api_timeout_in_ms", "1.5"},
	} {
		if _, err := Parse(args, nil); err == nil {
			t.Errorf("Parse(%q) succeeded", args)
		}
	}
}

// TestEveryTFServingFlag: every flag of tensorflow_model_server's main.cc
// parses.
func TestEveryTFServingFlag(t *testing.T) {
	tf := []string{"port", "grpc_socket_path", "rest_api_port", "rest_api_num_threads", "rest_api_timeout_in_ms",
		"rest_api_enable_cors_support", "enable_batching", "allow_version_labels_for_unavailable_models",
		"batching_parameters_file", "enable_per_model_batching_parameters", "model_config_file",
		"model_config_file_poll_wait_seconds", "model_name", "model_base_path", "num_load_threads",
		"num_unload_threads", "max_num_load_retries", "load_retry_interval_micros", "file_system_poll_wait_seconds",
		"flush_filesystem_caches", "tensorflow_session_parallelism", "tensorflow_session_config_file",
		"tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism", "use_alts_credentials",
		"ssl_config_file", "platform_config_file", "per_process_gpu_memory_fraction", "saved_model_tags",
		"grpc_channel_arguments", "grpc_max_threads", "enable_model_warmup", "num_request_iterations_for_warmup",
		"version", "monitoring_config_file", "remove_unused_fields_from_bundle_metagraph", "prefer_tflite_model",
		"num_tflite_pools", "num_tflite_interpreters_per_pool", "enable_signature_method_name_check",
		"xla_cpu_compilation_enabled", "xla_gpu_compilation_enabled", "enable_profiler",
		"thread_pool_factory_config_file", "mixed_precision", "skip_initialize_tpu",
		"enable_grpc_healthcheck_service", "enable_serialization_as_tensor_content"}
	var o Options
	fs := newFlagSet(&o, nil)
	for _, name := range tf {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("flag --%s missing", name)
			continue
		}
		if _, err := Parse([]string{"--" + name + "=" + f.DefValue}, nil); err != nil {
			t.Errorf("--%s=%s: %v", name, f.DefValue, err)
		}
	}
}
