package flags

import (
	"slices"
	"strings"
)

// Environment variables of TF Serving's Docker image. Its entrypoint runs
//
//	tensorflow_model_server --port=8500 --rest_api_port=8501 \
//	  --model_name=${MODEL_NAME} --model_base_path=${MODEL_BASE_PATH}/${MODEL_NAME} "$@"
//
// with ENV MODEL_NAME=model and MODEL_BASE_PATH=/models. tfserve's image is
// FROM scratch and has no shell, so the binary applies them itself (ApplyEnv).
const (
	EnvModelName     = "MODEL_NAME"
	EnvModelBasePath = "MODEL_BASE_PATH"
)

// ApplyEnv fills --model_name and --model_base_path from TF Serving's image
// environment variables when the command line does not give them, so that
//
//	docker run -e MODEL_NAME=half_plus_two -v $PWD/models:/models tfserve
//
// serves /models/half_plus_two as model "half_plus_two", like TF Serving's
// image. getenv is os.Getenv in the binary. Rules:
//
//   - With --model_config_file on the command line nothing changes (TF
//     Serving ignores --model_name and --model_base_path then too).
//   - An empty or unset variable is ignored: outside the image (no ENV
//     lines) the flags keep their plain tensorflow_model_server defaults.
//   - MODEL_NAME sets the model name unless --model_name is given.
//   - MODEL_BASE_PATH sets the base path to MODEL_BASE_PATH/MODEL_NAME
//     (MODEL_NAME defaulting to "model", as in the image) unless
//     --model_base_path is given. As in TF's entrypoint, the appended name
//     is MODEL_NAME even when --model_name overrides the served name.
//
// It returns the names of the flags it set (for a log line).
func ApplyEnv(o *Options, getenv func(string) string) []string {
	if o == nil || getenv == nil || slices.Contains(o.Set, "model_config_file") {
		return nil
	}
	var applied []string
	envName := getenv(EnvModelName)
	if envName != "" && !slices.Contains(o.Set, "model_name") {
		o.ModelName = envName
		applied = append(applied, "model_name")
	}
	if base := getenv(EnvModelBasePath); base != "" && !slices.Contains(o.Set, "model_base_path") {
		if envName == "" {
			envName = "model"
		}
		o.ModelBasePath = strings.TrimSuffix(base, "/") + "/" + envName
		applied = append(applied, "model_base_path")
	}
	return applied
}
