package manager

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/servable/status"
)

// PlatformTensorFlow is the only model_platform tfserve serves.
const PlatformTensorFlow = "tensorflow"

// ParseConfig parses a text-format ModelServerConfig, the format of
// --model_config_file.
func ParseConfig(text []byte) (*servingpb.ModelServerConfig, error) {
	cfg := &servingpb.ModelServerConfig{}
	if err := prototext.Unmarshal(text, cfg); err != nil {
		return nil, fmt.Errorf("parse ModelServerConfig: %w", err)
	}
	return cfg, nil
}

// ReadConfigFile reads and parses a text-format ModelServerConfig file.
func ReadConfigFile(path string) (*servingpb.ModelServerConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model config: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// SingleModelConfig is the config TF Serving builds from --model_name and
// --model_base_path: one TensorFlow model with the default (latest) policy.
func SingleModelConfig(name, basePath string) *servingpb.ModelServerConfig {
	return &servingpb.ModelServerConfig{
		Config: &servingpb.ModelServerConfig_ModelConfigList{
			ModelConfigList: &servingpb.ModelConfigList{
				Config: []*servingpb.ModelConfig{{
					Name:          name,
					BasePath:      basePath,
					ModelPlatform: PlatformTensorFlow,
				}},
			},
		},
	}
}

// platformOf returns a model's platform the way ServerCore's GetPlatform
// does, including the deprecated model_type field.
func platformOf(mc *servingpb.ModelConfig) (string, error) {
	//nolint:staticcheck // model_type is deprecated but still accepted, as in TF Serving.
	if mt := mc.GetModelType(); mt != servingpb.ModelType_MODEL_TYPE_UNSPECIFIED {
		if mc.GetModelPlatform() != "" {
			return "", status.New(status.InvalidArgument,
				"Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform.")
		}
		if mt == servingpb.ModelType_TENSORFLOW {
			return PlatformTensorFlow, nil
		}
		return "", status.New(status.InvalidArgument,
			fmt.Sprintf("ModelServerConfig::model_type choice %d not supported.", int32(mt)))
	}
	if mc.GetModelPlatform() == "" {
		return "", status.New(status.InvalidArgument,
			"Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform.")
	}
	return mc.GetModelPlatform(), nil
}

// isRelativePath reports whether a base path is a plain relative path (not a
// URI and not absolute), which TF Serving rejects.
func isRelativePath(p string) bool {
	if p == "" {
		return true
	}
	if i := strings.Index(p, ":"); i > 0 {
		// scheme:... (s3://, gs://, models:/, file://) is a URI.
		scheme := p[:i]
		ok := true
		for j := 0; j < len(scheme); j++ {
			c := scheme[j]
			if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'))) {
				ok = false
				break
			}
		}
		if ok {
			return false
		}
	}
	return !filepath.IsAbs(p)
}

// validateConfig checks a model_config_list the way ServerCore::ReloadConfig
// does: unique names, absolute base paths or URIs, a supported platform that
// does not change for a model already configured.
func validateConfig(list *servingpb.ModelConfigList, old map[string]*servingpb.ModelConfig) error {
	seen := make(map[string]bool, len(list.GetConfig()))
	for _, mc := range list.GetConfig() {
		if seen[mc.GetName()] {
			return status.New(status.InvalidArgument,
				"Illegal to list model "+mc.GetName()+" multiple times in config list")
		}
		seen[mc.GetName()] = true
	}
	for _, mc := range list.GetConfig() {
		if isRelativePath(mc.GetBasePath()) {
			return status.New(status.InvalidArgument, "Expected model "+mc.GetName()+
				" to have an absolute path or URI; got base_path()="+redact.String(mc.GetBasePath()))
		}
	}
	for _, mc := range list.GetConfig() {
		platform, err := platformOf(mc)
		if err != nil {
			return err
		}
		if platform != PlatformTensorFlow {
			return status.New(status.InvalidArgument,
				"Model "+mc.GetName()+" requests unsupported platform "+platform)
		}
		if prev, ok := old[mc.GetName()]; ok {
			prevPlatform, err := platformOf(prev)
			if err == nil && prevPlatform != platform {
				return status.New(status.InvalidArgument, "Illegal to change a model's platform. For model "+
					mc.GetName()+" platform was "+prevPlatform+" and new platform requested is "+platform)
			}
		}
	}
	return nil
}
