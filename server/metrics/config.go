package metrics

import (
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/tfserve/tfserve/proto/servingpb"
)

// DefaultPath is TF Serving's PrometheusExporter::kPrometheusPath.
const DefaultPath = "/monitoring/prometheus/metrics"

// ParseConfig parses a text MonitoringConfig, e.g.
//
//	prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }
func ParseConfig(text []byte) (*servingpb.MonitoringConfig, error) {
	cfg := &servingpb.MonitoringConfig{}
	if err := prototext.Unmarshal(text, cfg); err != nil {
		return nil, fmt.Errorf("parse MonitoringConfig: %w", err)
	}
	return cfg, nil
}

// ReadConfigFile reads --monitoring_config_file.
func ReadConfigFile(path string) (*servingpb.MonitoringConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --monitoring_config_file: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("--monitoring_config_file %s: %w", path, err)
	}
	return cfg, nil
}

// PrometheusPath returns the path to serve metrics on and whether
// Prometheus export is enabled. An empty path means DefaultPath; a path
// must start with '/' and must not be under /v1/ (the REST API's).
func PrometheusPath(cfg *servingpb.MonitoringConfig) (string, bool, error) {
	pc := cfg.GetPrometheusConfig()
	if !pc.GetEnable() {
		return "", false, nil
	}
	p := pc.GetPath()
	if p == "" {
		p = DefaultPath
	}
	if !strings.HasPrefix(p, "/") {
		return "", false, fmt.Errorf("prometheus_config.path %q must start with /", p)
	}
	if low := strings.ToLower(p); strings.HasPrefix(low, "/v1/") || low == "/v1" {
		return "", false, fmt.Errorf("prometheus_config.path %q collides with the REST API's /v1/", p)
	}
	return p, true, nil
}
