package modelserver

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/server/flags"
)

// TestMLflowWiring: --mlflow_default_model and Deps.Version reach the REST
// server, and GET /v1/models lists the manager's models.
func TestMLflowWiring(t *testing.T) {
	a, b := versionDir(t), versionDir(t)
	cfg := filepath.Join(t.TempDir(), "models.config")
	body := "model_config_list {\n config { name: \"a\" base_path: \"" + a + "\" model_platform: \"tensorflow\" }\n" +
		" config { name: \"b\" base_path: \"" + b + "\" model_platform: \"tensorflow\" }\n}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := flags.Parse([]string{"--model_config_file=" + cfg, "--file_system_poll_wait_seconds=0",
		"--enable_model_warmup=false", "--port=0", "--mlflow_default_model=b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := fakeDeps()
	deps.RESTListener = listen(t)
	deps.Version = "9.9.9"
	r := startRun(t, opts, deps)
	call := func(method, path, ct, body string) (int, string) {
		req, _ := http.NewRequest(method, r.restURL()+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if code, out := call("POST", "/invocations", "application/json", `{"dataframe_split": {"columns": ["x"], "data": [[4.0]]}}`); code != 200 ||
		out != `{"predictions": {"y": [4.0]}}` {
		t.Errorf("invocations: %d %s", code, out)
	}
	if code, out := call("GET", "/version", "", ""); code != 200 || out != "9.9.9" {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out := call("GET", "/ping", "", ""); code != 200 || out != "\n" {
		t.Errorf("ping: %d %q", code, out)
	}
	if code, out := call("GET", "/v1/models", "", ""); code != 200 || !strings.Contains(out, `"name": "a"`) ||
		!strings.Contains(out, `"name": "b"`) || strings.Index(out, `"name": "a"`) > strings.Index(out, `"name": "b"`) {
		t.Errorf("models: %d %s", code, out)
	}
}
