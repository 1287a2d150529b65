package modelserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tfserve/tfserve/internal/syncbuf"
	"github.com/tfserve/tfserve/loader/mlflow"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
)

// TestNoSecretReachesAnyOutput plants credentials in every kind of base path
// (http and https with user:pass and signed queries, s3 with a presigned-like
// query, gs, models:/ with MLflow and Databricks tokens in the environment, a
// local path with a query-like suffix) and in a loader error, all pointing at
// loopback servers that refuse, fail or echo the token. It then drives load
// failures, REST and gRPC status, a gRPC reload, /readyz, requests to unknown
// models and the metrics page, and greps all of it, logs included, for each
// secret.
func TestNoSecretReachesAnyOutput(t *testing.T) {
	secrets := []string{"pwHTTP1", "sigHTTP2", "amzHTTP3", "pwTLS4", "tokTLS5", "credS36", "sigS37",
		"awsSecret8", "sigGS9", "mlflowTok10", "dbxTok11", "fileTok12", "loadPw13", "loadSig14",
		"reloadPw16", "reloadSig17"}
	t.Setenv("MLFLOW_TRACKING_TOKEN", "mlflowTok10")
	t.Setenv("DATABRICKS_TOKEN", "dbxTok11")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIATESTONLY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "awsSecret8")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	// One loopback server for everything: it 404s object-store and archive
	// requests and answers MLflow with a 401 that echoes the token it got.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error_code":"UNAUTHENTICATED","message":"bad credentials '%s'"}`, r.Header.Get("Authorization"))
			return
		}
		http.Error(w, "no such object "+r.URL.String(), http.StatusNotFound)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	t.Setenv("MLFLOW_TRACKING_URI", srv.URL)

	good := t.TempDir()
	os.MkdirAll(filepath.Join(good, "1"), 0o755)
	leaky := t.TempDir()
	os.MkdirAll(filepath.Join(leaky, "1"), 0o755)
	bases := map[string]string{
		"http":  "http://user:pwHTTP1@" + host + "/m.tar.gz?sig=sigHTTP2&X-Amz-Signature=amzHTTP3",
		"https": "https://user:pwTLS4@" + host + "/m.tar.gz?token=tokTLS5",
		"s3":    "s3://bucket/models/m?X-Amz-Credential=credS36&X-Amz-Signature=sigS37",
		"gs":    "gs://bucket/models/m?sig=sigGS9",
		"mlf":   "models:/reco/Production",
		"file":  filepath.Join(t.TempDir(), "m?token=fileTok12"),
		"leaky": leaky,
		"good":  good,
	}
	var cfg strings.Builder
	cfg.WriteString("model_config_list {\n")
	for name, base := range bases {
		fmt.Fprintf(&cfg, "  config { name: %q base_path: %q model_platform: \"tensorflow\" }\n", name, base)
	}
	cfg.WriteString("}\n")
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "models.config")
	monFile := filepath.Join(dir, "monitoring.config")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o644)
	os.WriteFile(monFile, []byte(`prometheus_config { enable: true }`), 0o644)

	opts, err := flags.Parse([]string{"--model_config_file=" + cfgFile, "--monitoring_config_file=" + monFile,
		"--file_system_poll_wait_seconds=0", "--max_num_load_retries=0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	srcOpts := mlflow.WithRegistry(source.Options{CacheDir: t.TempDir(), Logger: newTextLogger(&logs)},
		mlflow.ConfigFromEnv(os.Getenv))
	gln := listen(t)
	r := startRun(t, opts, Deps{
		Load: func(_ context.Context, d string, _ LoadOptions) (servable.Model, error) {
			if strings.HasPrefix(d, leaky) {
				return nil, errors.New(`fetch weights: Get "https://u:loadPw13@h/w?sig=loadSig14": token ` +
					os.Getenv("DATABRICKS_TOKEN") + " rejected")
			}
			return fakemodel.New(), nil
		},
		OpenSource: func(ctx context.Context, p string) (manager.Source, error) {
			return source.Open(ctx, p, srcOpts)
		},
		Logger:          newTextLogger(&logs),
		RESTListener:    listen(t),
		GRPCListener:    gln,
		ShutdownTimeout: 5 * time.Second,
	})
	rest := r.restURL()

	var out strings.Builder // every byte a client could see
	get := func(method, path, body string) {
		req, _ := http.NewRequest(method, rest+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&out, "%s -> %d %v %s\n", method, resp.StatusCode, resp.Header, b)
	}
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ms := servingpb.NewModelServiceClient(conn)
	for name := range bases {
		get("GET", "/v1/models/"+name, "")
		get("POST", "/v1/models/"+name+":predict", `{"instances": [1.0]}`)
		resp, err := ms.GetModelStatus(context.Background(), &servingpb.GetModelStatusRequest{
			ModelSpec: &servingpb.ModelSpec{Name: name}})
		fmt.Fprintf(&out, "grpc status %s: %v %v\n", name, resp, err)
	}
	// A client's own request (a model name holding a query) is echoed to
	// that client as TF Serving does (and logged at debug level, escaped as
	// it came), but never made a metric label.
	get("POST", "/v1/models/x%3Fsig%3DreqSig15:predict", `{"instances": [1.0]}`)
	beforeOwn := out.Len()
	get("GET", "/readyz", "")
	// A reload naming a new secret-bearing path (it fails) and keeping the rest.
	reload := &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: []*servingpb.ModelConfig{
			{Name: "good", BasePath: good, ModelPlatform: "tensorflow"},
			{Name: "reloaded", BasePath: "https://u:reloadPw16@" + host + "/r.tar.gz?sig=reloadSig17", ModelPlatform: "tensorflow"},
			{Name: "relative", BasePath: "rel?sig=reloadSig17", ModelPlatform: "tensorflow"},
		}}}}
	_, err = ms.HandleReloadConfigRequest(context.Background(), &servingpb.ReloadConfigRequest{Config: reload})
	fmt.Fprintf(&out, "grpc reload (relative): %v\n", err)
	reload.GetModelConfigList().Config = reload.GetModelConfigList().Config[:2]
	_, err = ms.HandleReloadConfigRequest(context.Background(), &servingpb.ReloadConfigRequest{Config: reload})
	fmt.Fprintf(&out, "grpc reload: %v\n", err)
	if err == nil || !strings.Contains(err.Error(), "reloaded") {
		t.Errorf("reload of an unreachable archive: %v", err)
	}
	get("GET", "/v1/models/reloaded", "")
	get("GET", "/monitoring/prometheus/metrics", "")
	r.stop()

	if strings.Contains(out.String()[beforeOwn:], "reqSig15") {
		t.Error("a requested model name reached the metrics page")
	}
	all := out.String() + logs.String()
	if os.Getenv("TFSERVE_SHOW_SECRETS_TEST") != "" {
		t.Log(all)
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			i := strings.Index(all, s)
			t.Errorf("secret %q leaked: ...%s...", s, all[max(0, i-200):min(len(all), i+50)])
		}
	}
	// The test exercised what it claims: each source failed and said so.
	for _, name := range []string{"http", "https", "s3", "gs", "mlf", "file", "leaky"} {
		if !strings.Contains(logs.String(), "model="+name) {
			t.Errorf("no log line for model %s", name)
		}
	}
	if !strings.Contains(all, `"state": "END"`) || !strings.Contains(all, "REDACTED") {
		t.Errorf("the leaky load's END status or any redaction is missing:\n%s", all)
	}
	if !strings.Contains(all, `model_name="_other"`) {
		t.Errorf("unknown model not counted under _other")
	}
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
