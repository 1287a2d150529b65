package manager

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/status"
)

// A server whose every model was unloaded (by a reload naming none) is not
// ready, although a config has been applied.
func TestReadyFalseWhenNothingConfigured(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	m := newTestManager(t, &registry{}, nil)
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	if ready, nr := m.Ready(); !ready {
		t.Fatalf("one model AVAILABLE: ready=false notReady=%v", nr)
	}
	if !m.Configured("m") || m.Configured("other") {
		t.Fatalf("Configured(m)=%v Configured(other)=%v", m.Configured("m"), m.Configured("other"))
	}
	empty := &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{}}}
	if err := m.ReloadConfig(context.Background(), empty); err != nil {
		t.Fatal(err)
	}
	if ready, nr := m.Ready(); ready || len(nr) != 0 {
		t.Fatalf("no model configured: ready=%v notReady=%v", ready, nr)
	}
	if m.Configured("m") {
		t.Fatal("removed model still configured")
	}
}

func TestBasePathPolicy(t *testing.T) {
	p, err := NewBasePathPolicy([]string{"/models/", " s3://Bucket/prefix/ ", "models:/", "https://host/", ""})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"/models/m":                          true,
		"/models":                            true,
		"file:///models/m":                   true,
		"file://localhost/models/m":          true,
		"/models/../etc":                     false,
		"/models/m/../../etc":                false,
		"file:///models/%2e%2e/etc":          false,
		"/models2/m":                         false,
		"file://evil/models/m":               false,
		"s3://bucket/prefix/m":               true,
		"S3://BUCKET/prefix/m":               true,
		"s3://bucket/prefix/../other":        false,
		"s3://bucket/prefix/%2e%2e/other":    false,
		"s3://bucket/prefixed":               false,
		"s3://other/prefix/m":                false,
		"gs://bucket/prefix/m":               false,
		"models:/reco/Production":            true,
		"https://host/m.tar.gz?sig=x":        true,
		"https://user:pw@host/m.tar.gz":      true,
		"https://host.evil.example/m.tar.gz": false,
		"https://host:8443/m.tar.gz":         false,
		"http://host/m.tar.gz":               false,
		"relative/path":                      false,
	}
	for in, want := range cases {
		if got := p.Allows(in); got != want {
			t.Errorf("Allows(%q) = %v, want %v", in, got, want)
		}
	}
	var none *BasePathPolicy
	if !none.Allows("http://anything/x") {
		t.Error("a nil policy refused a base path")
	}
	if p, err := NewBasePathPolicy([]string{" ", ""}); p != nil || err != nil {
		t.Errorf("blank prefixes: %v, %v; want nil policy", p, err)
	}
	if _, err := NewBasePathPolicy([]string{"models/"}); err == nil || !strings.Contains(err.Error(), "--allowed_model_base_paths") {
		t.Errorf("relative prefix accepted: %v", err)
	}
}

// A config naming a base path outside --allowed_model_base_paths is refused
// whole, with the path redacted, and nothing of it is opened.
func TestReloadRefusesDisallowedBasePath(t *testing.T) {
	allowed := t.TempDir()
	writeVersion(t, allowed, "1", "ok 1")
	opened := 0
	m := newTestManager(t, &registry{}, func(o *Options) {
		o.AllowedBasePaths = []string{filepath.Dir(allowed)}
		open := o.OpenSource
		o.OpenSource = func(ctx context.Context, p string) (Source, error) {
			opened++
			return open(ctx, p)
		}
	})
	err := m.ReloadConfig(context.Background(), listCfg(modelCfg("ok", allowed),
		modelCfg("evil", "https://user:hunter2@evil.example/m.tar.gz?sig=s3cr3t")))
	if status.CodeOf(err) != status.PermissionDenied || !strings.Contains(err.Error(), "model evil") ||
		!strings.Contains(err.Error(), "--allowed_model_base_paths") {
		t.Fatalf("disallowed base path: %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error leaks a secret: %v", err)
	}
	if opened != 0 || len(m.Models()) != 0 {
		t.Fatalf("refused config was applied: %d opens, models %v", opened, m.Models())
	}
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("ok", allowed))); err != nil {
		t.Fatal(err)
	}
	if latestVersion(m, "ok") != 1 {
		t.Fatal("allowed model not served")
	}
}
