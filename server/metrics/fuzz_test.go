package metrics

import (
	"strings"
	"testing"
)

// FuzzConfig: ParseConfig and PrometheusPath never panic, and an accepted
// path is absolute and outside /v1/.
func FuzzConfig(f *testing.F) {
	f.Add(`prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }`)
	f.Add(`prometheus_config { enable: true }`)
	f.Add(`prometheus_config: < enable: true path: "/v1/x" >`)
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := ParseConfig([]byte(text))
		if err != nil {
			return
		}
		p, on, err := PrometheusPath(cfg)
		if err != nil || !on {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(strings.ToLower(p), "/v1/") {
			t.Fatalf("accepted path %q", p)
		}
	})
}
