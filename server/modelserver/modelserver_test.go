package modelserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
)

func TestValidate(t *testing.T) {
	base := flags.Defaults()
	base.ModelBasePath = "/m"
	cases := []struct {
		mod  func(*flags.Options)
		want string
	}{
		{func(o *flags.Options) { o.GRPCPort = 70000 }, "--port=70000 is not a port"},
		{func(o *flags.Options) { o.GRPCChannelArguments = "novalue" }, "is not key=value"},
		{func(o *flags.Options) { o.ModelBasePath = "" }, "Both server_options.model_base_path and server_options.model_config_file are empty!"},
		{func(o *flags.Options) { o.BatchingParametersFile = "/b" }, "batching_parameters_file is set without setting server_options.enable_batching"},
		{func(o *flags.Options) {
			o.TFIntraOpParallelism, o.TFInterOpParallelism, o.TFSessionParallelism = 1, 1, 1
		}, "You cannot configure all."},
		{func(o *flags.Options) { o.Engine = "tpu" }, "want default or gorgonia"},
	}
	for _, c := range cases {
		o := base
		c.mod(&o)
		if err := Validate(o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate: %v, want %q", err, c.want)
		}
	}
	if err := Validate(base); err != nil {
		t.Fatal(err)
	}
	o := base
	o.SavedModelTags = "serve,gpu"
	o.TFSessionParallelism = 3
	o.ModelMaxNodes, o.ModelMaxConstBytes, o.ModelMaxFoldBytes = 7, 8, 9
	lo := loadOptions(o)
	if strings.Join(lo.Tags, "|") != "serve|gpu" || lo.IntraOpParallelism != 3 || lo.InterOpParallelism != 3 {
		t.Fatalf("loadOptions %+v", lo)
	}
	if lo.Limits.MaxNodes != 7 || lo.Limits.MaxConstBytes != 8 || lo.Limits.MaxFoldBytes != 9 {
		t.Fatalf("loadOptions limits %+v", lo.Limits)
	}
	o.ModelBasePath = "rel/dir"
	cfg, err := InitialConfig(o)
	if err != nil || !filepath.IsAbs(cfg.GetModelConfigList().GetConfig()[0].GetBasePath()) {
		t.Fatalf("relative base path: %v %v", cfg, err)
	}
}

// TestRunAndGracefulShutdown starts the server from flags, sends a slow
// request, cancels the context (SIGTERM) while it runs, and checks that the
// request still succeeds and Run returns cleanly.
func TestRunAndGracefulShutdown(t *testing.T) {
	dir := versionDir(t)
	opts, err := flags.Parse([]string{"--model_name=half", "--model_base_path=" + dir, "--rest_api_timeout_in_ms=10000",
		"--file_system_poll_wait_seconds=0", "--enable_model_warmup=false", "--port=0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fm := fakemodel.New()
	hold := make(chan struct{}) // the slow request runs until the shutdown has begun
	endRun := sync.OnceFunc(func() { close(hold) })
	defer endRun()
	fm.Hold = hold
	deps := fakeDeps()
	deps.Load = func(_ context.Context, d string, lo LoadOptions) (servable.Model, error) {
		if d != filepath.Join(dir, "3") || lo.Engine != "default" {
			t.Errorf("load %s %+v", d, lo)
		}
		return fm, nil
	}
	deps.RESTListener = listen(t)
	r := startRun(t, opts, deps)
	url := r.restURL()
	resp, err := http.Get(url + "/v1/models/half")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"version": "3"`) {
		t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
	type result struct {
		code int
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Post(url+"/v1/models/half:predict", "application/json",
			strings.NewReader(`{"signature_name": "sleep", "instances": [4.0]}`))
		if err != nil {
			slow <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- result{code: resp.StatusCode, body: string(b)}
	}()
	eventually(t, "the slow request to reach the model", func() bool { return fm.Started.Load() == 1 })
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.stop()
	}()
	// The shutdown has begun once new connections are refused; the slow
	// request is still in the model then.
	eventually(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", r.rest.String(), time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return true
	})
	endRun()
	<-stopped
	if res := <-slow; res.err != nil || res.code != 200 || !strings.Contains(res.body, "4.0") {
		t.Fatalf("in-flight request during shutdown: %+v", res)
	}
	if fm.CloseCalled.Load() != 1 {
		t.Fatalf("model closed %d times", fm.CloseCalled.Load())
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}

// eventually polls cond until it holds, failing the test after 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30 s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "models.config")
	os.WriteFile(cfgPath, []byte(`model_config_list { config { name: "a" base_path: "relative" model_platform: "tensorflow" } }`), 0o644)
	opts, _ := flags.Parse([]string{"--model_config_file=" + cfgPath, "--rest_api_port=0", "--port=0"}, nil)
	err := Run(context.Background(), opts, fakeDeps())
	if err == nil || !strings.Contains(err.Error(), "Expected model a to have an absolute path or URI") {
		t.Fatalf("Run: %v", err)
	}
}
