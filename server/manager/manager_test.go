package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/internal/syncbuf"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/tensor"
)

func openDir(_ context.Context, p string) (Source, error) { return sourcetest.Dir(p), nil }

// registry records every model the test loader created, by directory.
type registry struct {
	mu     sync.Mutex
	models map[string][]*fakemodel.HalfPlusTwo
	loads  atomic.Int64
}

// load reads <dir>/model: "ok A" (y = A x + 2), "fail MSG", "panic", or
// "slow MS A".
func (r *registry) load(_ context.Context, dir string) (servable.Model, error) {
	r.loads.Add(1)
	b, err := os.ReadFile(filepath.Join(dir, "model"))
	if err != nil {
		return nil, status.New(status.NotFound, "no model file in "+dir)
	}
	f := strings.Fields(string(b))
	m := fakemodel.New()
	switch f[0] {
	case "fail":
		return nil, status.New(status.DataLoss, strings.Join(f[1:], " "))
	case "panic":
		panic("loader exploded")
	case "slow":
		ms, _ := strconv.Atoi(f[1])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		f = f[1:]
	}
	if len(f) > 1 {
		a, _ := strconv.ParseFloat(f[1], 32)
		m.A = float32(a)
	}
	r.mu.Lock()
	if r.models == nil {
		r.models = map[string][]*fakemodel.HalfPlusTwo{}
	}
	r.models[dir] = append(r.models[dir], m)
	r.mu.Unlock()
	return m, nil
}

// loaded returns the models loaded from dir so far.
func (r *registry) loaded(dir string) []*fakemodel.HalfPlusTwo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*fakemodel.HalfPlusTwo(nil), r.models[dir]...)
}

func (r *registry) all() []*fakemodel.HalfPlusTwo {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*fakemodel.HalfPlusTwo
	for _, ms := range r.models {
		out = append(out, ms...)
	}
	return out
}

func writeVersion(t *testing.T, base string, dirName, content string) {
	t.Helper()
	tmp := filepath.Join(base, ".tmp-"+dirName)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "model"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(base, dirName)); err != nil {
		t.Fatal(err)
	}
}

func newTestManager(t *testing.T, r *registry, mod func(*Options)) *Manager {
	t.Helper()
	opts := Options{Load: r.load, OpenSource: openDir, PollInterval: 5 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func modelCfg(name, base string) *servingpb.ModelConfig {
	return &servingpb.ModelConfig{Name: name, BasePath: base, ModelPlatform: "tensorflow"}
}

func listCfg(mcs ...*servingpb.ModelConfig) *servingpb.ModelServerConfig {
	return &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func latestVersion(m *Manager, name string) int64 {
	h, err := m.Get(Spec{Name: name})
	if err != nil {
		return -1
	}
	defer h.Release()
	return h.Version()
}

func statusOf(t *testing.T, m *Manager, name string) map[int64]VersionStatus {
	t.Helper()
	sts, err := m.ModelStatus(Spec{Name: name})
	if err != nil {
		return nil
	}
	out := map[int64]VersionStatus{}
	for _, s := range sts {
		out[s.Version] = s
	}
	return out
}

func predict(t *testing.T, h Handle, x float32) float32 {
	t.Helper()
	out, err := h.Run(context.Background(), "serving_default",
		map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1, 1}, []float32{x})}, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out["y"].F32()[0]
}

func TestVersionsAppearAndDisappear(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "00000001", "ok 1")
	r := &registry{}
	m := newTestManager(t, r, nil)
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	if v := latestVersion(m, "m"); v != 1 {
		t.Fatalf("latest = %d, want 1 (00000001 parses as 1)", v)
	}
	h, _ := m.Get(Spec{Name: "m"})
	if y := predict(t, h, 4); y != 1*4+2 {
		t.Fatalf("y = %v, want 6", y)
	}
	h.Release()

	writeVersion(t, base, "2", "ok 3")
	eventually(t, "version 2 serving", func() bool { return latestVersion(m, "m") == 2 })
	eventually(t, "version 1 END", func() bool {
		st := statusOf(t, m, "m")
		return st[1].State == StateEnd && st[2].State == StateAvailable
	})
	st := statusOf(t, m, "m")
	if st[1].Code != status.OK || st[1].Message != "" {
		t.Fatalf("unloaded version should be END/OK, got %+v", st[1])
	}
	h, _ = m.Get(Spec{Name: "m"})
	if y := predict(t, h, 4); y != 3*4+2 {
		t.Fatalf("y = %v from v2, want 14", y)
	}
	h.Release()
	// Version 1 was closed once, after its references were released.
	eventually(t, "v1 closed", func() bool {
		ms := r.loaded(filepath.Join(base, "00000001"))
		return len(ms) == 1 && ms[0].CloseCalled.Load() == 1
	})
	// Specific lookups.
	if _, err := m.Get(Spec{Name: "m", Version: 1, HasVersion: true}); err == nil ||
		err.Error() != "Servable not found for request: Specific(m, 1)" || status.CodeOf(err) != status.NotFound {
		t.Fatalf("Specific(m,1): %v", err)
	}

	// Deleting every version directory unloads everything (no aspired
	// versions: TF Serving unloads all).
	if err := os.RemoveAll(filepath.Join(base, "2")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(base, "00000001"))
	eventually(t, "all unloaded", func() bool { return latestVersion(m, "m") == -1 })
	_, err := m.Get(Spec{Name: "m"})
	if err == nil || err.Error() != "Servable not found for request: Latest(m)" || status.CodeOf(err) != status.NotFound {
		t.Fatalf("Latest(m) after removal: %v", err)
	}
}

func TestFailedLoadKeepsServingVersion(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	r := &registry{}
	m := newTestManager(t, r, nil)
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	writeVersion(t, base, "2", "fail checkpoint is corrupt")
	eventually(t, "v2 failed", func() bool { return statusOf(t, m, "m")[2].State == StateEnd })
	st := statusOf(t, m, "m")
	if st[2].Code != status.DataLoss || st[2].Message != "checkpoint is corrupt" {
		t.Fatalf("failed version status = %+v", st[2])
	}
	if st[1].State != StateAvailable {
		t.Fatalf("v1 must stay AVAILABLE, got %+v", st[1])
	}
	loads := r.loads.Load()
	time.Sleep(30 * time.Millisecond) // several polls: the failed version is not retried
	if got := r.loads.Load(); got != loads {
		t.Fatalf("failed version reloaded %d times", got-loads)
	}
	if v := latestVersion(m, "m"); v != 1 {
		t.Fatalf("latest = %d, want 1", v)
	}
	// A panicking loader is a failed load too, and the server keeps going.
	writeVersion(t, base, "3", "panic")
	eventually(t, "v3 failed", func() bool { return statusOf(t, m, "m")[3].State == StateEnd })
	if st := statusOf(t, m, "m")[3]; st.Code != status.Internal || !strings.HasPrefix(st.Message, "Internal error (id ") {
		t.Fatalf("panicking load status = %+v", st)
	}
	// A good version 4 replaces 1.
	writeVersion(t, base, "4", "ok 2")
	eventually(t, "v4 serving", func() bool { return latestVersion(m, "m") == 4 })
	eventually(t, "v1 END", func() bool { return statusOf(t, m, "m")[1].State == StateEnd })
	// Status lists all versions, highest first.
	sts, _ := m.ModelStatus(Spec{Name: "m"})
	var order []int64
	for _, s := range sts {
		order = append(order, s.Version)
	}
	if !slices.Equal(order, []int64{4, 3, 2, 1}) {
		t.Fatalf("status order %v", order)
	}
}

func TestRetries(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "fail nope")
	r := &registry{}
	m := newTestManager(t, r, func(o *Options) { o.MaxLoadRetries = 2; o.LoadRetryInterval = time.Millisecond })
	err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base)))
	if err == nil || !strings.Contains(err.Error(), "1 model(s) did not become available") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("ReloadConfig error = %v", err)
	}
	if got := r.loads.Load(); got != 3 {
		t.Fatalf("loads = %d, want 1 + 2 retries", got)
	}
}

func TestPolicies(t *testing.T) {
	base := t.TempDir()
	for _, v := range []string{"1", "2", "3", "4"} {
		writeVersion(t, base, v, "ok "+v)
	}
	writeVersion(t, base, "notaversion", "ok 9")
	cases := []struct {
		name   string
		policy *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy
		want   []int64
	}{
		{"default", nil, []int64{4}},
		{"latest2", &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest_{
				Latest: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest{NumVersions: 2}}}, []int64{4, 3}},
		{"latest9", &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest_{
				Latest: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest{NumVersions: 9}}}, []int64{4, 3, 2, 1}},
		{"all", &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_{
				All: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All{}}}, []int64{4, 3, 2, 1}},
		{"specific", &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Specific_{
				Specific: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Specific{Versions: []int64{1, 3, 7}}}}, []int64{3, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestManager(t, &registry{}, nil)
			mc := modelCfg("m", base)
			mc.ModelVersionPolicy = c.policy
			if err := m.ReloadConfig(context.Background(), listCfg(mc)); err != nil {
				t.Fatal(err)
			}
			eventually(t, "policy applied", func() bool {
				var avail []int64
				sts, _ := m.ModelStatus(Spec{Name: "m"})
				for _, s := range sts {
					if s.State == StateAvailable {
						avail = append(avail, s.Version)
					}
				}
				return slices.Equal(avail, c.want)
			})
			for _, v := range c.want {
				h, err := m.Get(Spec{Name: "m", Version: v, HasVersion: true})
				if err != nil {
					t.Fatalf("Get v%d: %v", v, err)
				}
				if y := predict(t, h, 1); y != float32(v)+2 {
					t.Fatalf("v%d: y = %v", v, y)
				}
				h.Release()
			}
			if latestVersion(m, "m") != c.want[0] {
				t.Fatalf("latest != %d", c.want[0])
			}
		})
	}
}

func TestSelectVersions(t *testing.T) {
	latest := func(n uint32) *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy {
		return &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest_{
				Latest: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest{NumVersions: n}}}
	}
	if got := selectVersions(latest(0), []int64{5, 1, 3}); !slices.Equal(got, []int64{5}) {
		t.Errorf("latest{0} = %v (TF: at least 1)", got)
	}
	if got := selectVersions(latest(2), nil); len(got) != 0 {
		t.Errorf("latest{2} of nothing = %v", got)
	}
	if got := selectVersions(latest(2), []int64{5, 1, 3, 3}); !slices.Equal(got, []int64{3, 5}) {
		t.Errorf("latest{2} = %v", got)
	}
}

func TestLabels(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	writeVersion(t, base, "2", "ok 2")
	all := &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
		PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_{
			All: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All{}}}
	withLabels := func(labels map[string]int64) *servingpb.ModelServerConfig {
		mc := modelCfg("m", base)
		mc.ModelVersionPolicy = all
		mc.VersionLabels = labels
		return listCfg(mc)
	}
	m := newTestManager(t, &registry{}, nil)
	// First config: labels are checked after the initial load.
	if err := m.ReloadConfig(context.Background(), withLabels(map[string]int64{"stable": 1, "canary": 2})); err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]int64{"stable": 1, "canary": 2} {
		h, err := m.Get(Spec{Name: "m", Label: label, HasLabel: true})
		if err != nil {
			t.Fatalf("label %s: %v", label, err)
		}
		if h.Version() != want {
			t.Fatalf("label %s -> %d, want %d", label, h.Version(), want)
		}
		h.Release()
	}
	_, err := m.Get(Spec{Name: "m", Label: "nope", HasLabel: true})
	if err == nil || err.Error() != "Unrecognized servable version label: nope" || status.CodeOf(err) != status.InvalidArgument {
		t.Fatalf("unknown label: %v", err)
	}
	_, err = m.Get(Spec{Name: "other", Label: "stable", HasLabel: true})
	if err == nil || err.Error() != "Unrecognized servable version label: stable" {
		t.Fatalf("label of unknown model: %v", err)
	}
	_, err = m.Get(Spec{Name: "m", Label: "stable", HasLabel: true, Version: 1, HasVersion: true})
	if err == nil || err.Error() != "Both model version (1) and model version label (stable) cannot be supplied." {
		t.Fatalf("both: %v", err)
	}
	// A label status request lists all versions.
	sts, err := m.ModelStatus(Spec{Name: "m", Label: "stable", HasLabel: true})
	if err != nil || len(sts) != 2 {
		t.Fatalf("label status: %v %v", sts, err)
	}

	// Pointing a label at a version that is not loaded is rejected and
	// changes nothing.
	err = m.ReloadConfig(context.Background(), withLabels(map[string]int64{"stable": 1, "canary": 3}))
	want := "Request to assign label to version 3 of model m, which is not currently available for inference"
	if err == nil || err.Error() != want || status.CodeOf(err) != status.FailedPrecondition {
		t.Fatalf("label to unavailable version: %v", err)
	}
	if h, err := m.Get(Spec{Name: "m", Label: "canary", HasLabel: true}); err != nil || h.Version() != 2 {
		t.Fatalf("canary changed after a rejected reload: %v", err)
	} else {
		h.Release()
	}
	// Moving a label between available versions works.
	if err := m.ReloadConfig(context.Background(), withLabels(map[string]int64{"stable": 2})); err != nil {
		t.Fatal(err)
	}
	if h, err := m.Get(Spec{Name: "m", Label: "stable", HasLabel: true}); err != nil || h.Version() != 2 {
		t.Fatalf("stable not moved: %v", err)
	} else {
		h.Release()
	}
	if _, err := m.Get(Spec{Name: "m", Label: "canary", HasLabel: true}); err == nil {
		t.Fatalf("canary should be gone")
	}
}

func TestLabelsForUnavailableModels(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	m := newTestManager(t, &registry{}, func(o *Options) { o.AllowVersionLabelsForUnavailableModels = true })
	mk := func(labels map[string]int64) *servingpb.ModelServerConfig {
		mc := modelCfg("m", base)
		mc.VersionLabels = labels
		return listCfg(mc)
	}
	if err := m.ReloadConfig(context.Background(), mk(map[string]int64{"stable": 1})); err != nil {
		t.Fatal(err)
	}
	// A new label may point at a version that is not loaded yet.
	if err := m.ReloadConfig(context.Background(), mk(map[string]int64{"stable": 1, "next": 2})); err != nil {
		t.Fatalf("new label to unavailable version: %v", err)
	}
	_, err := m.Get(Spec{Name: "m", Label: "next", HasLabel: true})
	if err == nil || err.Error() != "Servable not found for request: Specific(m, 2)" {
		t.Fatalf("label to unloaded version: %v", err)
	}
	// Moving an existing label to an unavailable version is still rejected.
	err = m.ReloadConfig(context.Background(), mk(map[string]int64{"stable": 5, "next": 2}))
	if err == nil || !strings.Contains(err.Error(), "Request to assign label to version 5 of model m") {
		t.Fatalf("moving label to unavailable version: %v", err)
	}
}

func TestReloadConfigAddsAndRemovesModels(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeVersion(t, a, "1", "ok 1")
	writeVersion(t, b, "7", "ok 7")
	r := &registry{}
	m := newTestManager(t, r, nil)
	if ready, _ := m.Ready(); ready {
		t.Fatal("ready before any config")
	}
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("a", a))); err != nil {
		t.Fatal(err)
	}
	if ready, nr := m.Ready(); !ready {
		t.Fatalf("not ready: %v", nr)
	}
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("b", b))); err != nil {
		t.Fatal(err)
	}
	if latestVersion(m, "b") != 7 {
		t.Fatal("b not loaded by reload")
	}
	eventually(t, "a unloaded", func() bool { return latestVersion(m, "a") == -1 })
	eventually(t, "a END", func() bool { return statusOf(t, m, "a")[1].State == StateEnd })
	if got := m.Models(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("models %v", got)
	}
	// Re-adding a loads it again.
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("a", a), modelCfg("b", b))); err != nil {
		t.Fatal(err)
	}
	if latestVersion(m, "a") != 1 {
		t.Fatal("a not reloaded")
	}

	// Invalid configs are rejected whole.
	bad := []struct {
		cfg  *servingpb.ModelServerConfig
		want string
	}{
		{listCfg(modelCfg("a", a), modelCfg("a", b)), "Illegal to list model a multiple times in config list"},
		{listCfg(modelCfg("c", "relative/path")), "Expected model c to have an absolute path or URI; got base_path()=relative/path"},
		{listCfg(&servingpb.ModelConfig{Name: "d", BasePath: a}), "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform."},
		{listCfg(&servingpb.ModelConfig{Name: "a", BasePath: a, ModelPlatform: "pytorch"}), "Model a requests unsupported platform pytorch"},
	}
	for _, c := range bad {
		err := m.ReloadConfig(context.Background(), c.cfg)
		if err == nil || err.Error() != c.want || status.CodeOf(err) != status.InvalidArgument {
			t.Errorf("config %v: error %v, want %q", c.cfg, err, c.want)
		}
	}
	if got := m.Models(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("models after rejected configs %v", got)
	}
	// An empty config changes nothing.
	if err := m.ReloadConfig(context.Background(), &servingpb.ModelServerConfig{}); err != nil {
		t.Fatal(err)
	}
	// A model with a missing base path does not disturb the others and is
	// reported.
	err := m.ReloadConfig(context.Background(), listCfg(modelCfg("a", a), modelCfg("b", b), modelCfg("gone", filepath.Join(a, "missing"))))
	if err == nil || !strings.Contains(err.Error(), "{name: gone due to error: Could not find base path") {
		t.Fatalf("missing base path: %v", err)
	}
	if ready, nr := m.Ready(); ready || !slices.Equal(nr, []string{"gone"}) {
		t.Fatalf("ready=%v notReady=%v", ready, nr)
	}
	if latestVersion(m, "a") != 1 || latestVersion(m, "b") != 7 {
		t.Fatal("other models disturbed")
	}
	if _, err := m.ModelStatus(Spec{Name: "gone"}); err == nil || err.Error() != "Could not find any versions of model gone" {
		t.Fatalf("status of model without versions: %v", err)
	}
	if _, err := m.ModelStatus(Spec{Name: "a", Version: 9, HasVersion: true}); err == nil || err.Error() != "Could not find version 9 of model a" {
		t.Fatalf("status of missing version: %v", err)
	}
}

func TestConfigFilePolling(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeVersion(t, a, "1", "ok 1")
	writeVersion(t, b, "2", "ok 2")
	cfgPath := filepath.Join(t.TempDir(), "models.config")
	write := func(text string) {
		if err := os.WriteFile(cfgPath+".tmp", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(cfgPath+".tmp", cfgPath); err != nil {
			t.Fatal(err)
		}
	}
	write(`model_config_list { config { name: "a" base_path: "` + a + `" model_platform: "tensorflow" } }`)
	m := newTestManager(t, &registry{}, nil)
	cfg, err := ReadConfigFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ReloadConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.PollConfigFile(ctx, cfgPath, 5*time.Millisecond)
	write(`model_config_list { config { name: "b" base_path: "` + b + `" model_platform: "tensorflow" } }`)
	eventually(t, "b loaded from polled config", func() bool { return latestVersion(m, "b") == 2 })
	eventually(t, "a unloaded", func() bool { return latestVersion(m, "a") == -1 })
	// A broken file keeps the current config.
	write(`model_config_list { config { name: `)
	time.Sleep(30 * time.Millisecond)
	if latestVersion(m, "b") != 2 {
		t.Fatal("broken config file disturbed serving")
	}
}

func TestGoodModelConfigFixture(t *testing.T) {
	p := fixtures.Path(t, "tfserving/servables/tensorflow/testdata/good_model_config.txt")
	cfg, err := ReadConfigFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mc := range cfg.GetModelConfigList().GetConfig() {
		names = append(names, mc.GetName()+"@"+mc.GetModelPlatform()+"@"+mc.GetBasePath())
	}
	want := []string{"half_plus_two@tensorflow@${TEST_HALF_PLUS_TWO_DIR}", "half_plus_three@tensorflow@${TEST_HALF_PLUS_THREE_DIR}"}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v", names)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []string{
		`model_config_list { config { name: "a" base_path: "/x" model_version_policy { latest { num_versions: -1 } } } }`,
		`model_config_list { config { nmae: "a" } }`,
		`model_config_list {`,
	}
	for _, c := range cases {
		if _, err := ParseConfig([]byte(c)); err == nil {
			t.Errorf("ParseConfig(%q) succeeded", c)
		}
	}
	cfg, err := ParseConfig([]byte(`model_config_list {
  config {
    name: "m" base_path: "/models/m" model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 versions: 3 } }
    version_labels { key: "stable" value: 1 }
    version_labels { key: "canary" value: 3 }
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	mc := cfg.GetModelConfigList().GetConfig()[0]
	if !slices.Equal(mc.GetModelVersionPolicy().GetSpecific().GetVersions(), []int64{1, 3}) ||
		mc.GetVersionLabels()["canary"] != 3 || mc.GetVersionLabels()["stable"] != 1 {
		t.Fatalf("parsed %v", mc)
	}
}

// TestSwapsUnderLoad swaps versions 25 times while clients keep predicting:
// no request may fail and no model may be run after it was closed.
func TestSwapsUnderLoad(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	r := &registry{}
	m := newTestManager(t, r, func(o *Options) { o.PollInterval = time.Millisecond })
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	var (
		stop     atomic.Bool
		ok, fail atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				h, err := m.Get(Spec{Name: "m"})
				if err != nil {
					fail.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				out, err := h.Run(context.Background(), "serving_default",
					map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1, 1}, []float32{2})}, nil)
				v := h.Version()
				h.Release()
				if err != nil || out["y"].F32()[0] != float32(v)*2+2 {
					fail.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint("run: ", err))
					continue
				}
				ok.Add(1)
			}
		})
	}
	for v := 2; v <= 26; v++ {
		writeVersion(t, base, strconv.Itoa(v), "ok "+strconv.Itoa(v))
		eventually(t, "version "+strconv.Itoa(v), func() bool { return latestVersion(m, "m") == int64(v) })
		os.RemoveAll(filepath.Join(base, strconv.Itoa(v-1)))
	}
	stop.Store(true)
	wg.Wait()
	if fail.Load() != 0 {
		t.Fatalf("%d failed requests (of %d); first: %v", fail.Load(), ok.Load()+fail.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Fatal("no requests ran")
	}
	eventually(t, "old versions closed", func() bool {
		closed := 0
		for _, md := range r.all() {
			closed += int(md.CloseCalled.Load())
		}
		return closed == 25
	})
	for _, md := range r.all() {
		if md.RunsAfter.Load() != 0 || md.CloseCalled.Load() > 1 {
			t.Fatalf("model run after close (%d) or closed twice (%d)", md.RunsAfter.Load(), md.CloseCalled.Load())
		}
	}
	t.Logf("%d requests during 25 swaps", ok.Load())
}

func TestRunPanicAndDeadline(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	r := &registry{}
	var logs syncbuf.Buffer
	m := newTestManager(t, r, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	h, err := m.Get(Spec{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	x := map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1}, []float32{1})}
	_, err = h.Run(context.Background(), "panic", x, nil)
	// The client sees an id, never the panic; the log has the panic under
	// that id.
	id, found := strings.CutPrefix(err.Error(), "Internal error (id ")
	if status.CodeOf(err) != status.Internal || !found || strings.Contains(err.Error(), "deliberate panic") {
		t.Fatalf("panic: %v", err)
	}
	if id = strings.TrimSuffix(id, ")"); !strings.Contains(logs.String(), "id="+id) ||
		!strings.Contains(logs.String(), "deliberate panic") {
		t.Fatalf("log lacks the panic under id %s: %s", id, logs.String())
	}
	// Still works afterwards.
	if y := predict(t, h, 2); y != 4 {
		t.Fatalf("after panic y = %v", y)
	}
	fm := r.all()[0]
	fm.Sleep = time.Hour
	fm.IgnoreCtx = false
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = h.Run(ctx, "sleep", x, nil)
	if status.CodeOf(err) != status.DeadlineExceeded {
		t.Fatalf("deadline: %v", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err = h.Run(cctx, "serving_default", x, nil); status.CodeOf(err) != status.Cancelled {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestUnloadWaitsForInFlight checks that a version is closed only after a
// request that outlived its deadline has returned. The run ends when the
// test lets it (not on a timer), and its deadline is long enough that a
// loaded machine still starts it before the deadline passes (5 ms was not).
func TestUnloadWaitsForInFlight(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	r := &registry{}
	m := newTestManager(t, r, nil)
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	fm := r.all()[0]
	hold := make(chan struct{})
	endRun := sync.OnceFunc(func() { close(hold) })
	defer endRun() // before the manager's Close
	fm.Hold = hold
	fm.IgnoreCtx = true // keeps computing past the deadline
	h, _ := m.Get(Spec{Name: "m"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := h.Run(ctx, "sleep", map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1}, []float32{1})}, nil)
	if status.CodeOf(err) != status.DeadlineExceeded {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
	if n := fm.Started.Load(); n != 1 {
		t.Fatalf("%d runs started; want the one that outlived its deadline", n)
	}
	h.Release()
	writeVersion(t, base, "2", "ok 2")
	eventually(t, "v2 serving", func() bool { return latestVersion(m, "m") == 2 })
	time.Sleep(20 * time.Millisecond) // a few polls: v1 must not be closed under its run
	if st := statusOf(t, m, "m")[1]; st.State == StateEnd || fm.CloseCalled.Load() != 0 {
		t.Fatalf("v1 closed (state %v, Close called %d times) while its run was in flight", st.State, fm.CloseCalled.Load())
	}
	endRun()
	eventually(t, "v1 END", func() bool { return statusOf(t, m, "m")[1].State == StateEnd })
	if fm.Runs.Load() != 1 || fm.RunsAfter.Load() != 0 || fm.CloseCalled.Load() != 1 {
		t.Fatalf("v1 after its run finished: runs=%d after=%d closed=%d; want 1, 0, 1",
			fm.Runs.Load(), fm.RunsAfter.Load(), fm.CloseCalled.Load())
	}
}

func TestCloseUnloadsEverything(t *testing.T) {
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 1")
	r := &registry{}
	m := newTestManager(t, r, nil)
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if r.all()[0].CloseCalled.Load() != 1 {
		t.Fatal("model not closed")
	}
	if _, err := m.Get(Spec{Name: "m"}); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	if err := m.ReloadConfig(context.Background(), listCfg(modelCfg("m", base))); err == nil {
		t.Fatal("ReloadConfig after Close succeeded")
	}
	if !errors.Is(m.ctx.Err(), context.Canceled) {
		t.Fatal("manager context not cancelled")
	}
}
