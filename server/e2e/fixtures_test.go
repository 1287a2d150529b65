package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader/mlflow"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/loadfunc"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/modelserver"
)

// served is one model of the test server's config.
type served struct {
	name, base string
	golden     *golden.File
	policy     string // model_version_policy body, e.g. "all {}"
}

// basePath returns a TF Serving base path for a fixture: the fixture itself
// when it holds numeric version directories, else a temp dir whose version
// 1 links to it.
func basePath(t *testing.T, dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "saved_model.pb")); err != nil {
		return dir
	}
	base := t.TempDir()
	if err := os.Symlink(dir, filepath.Join(base, "1")); err != nil {
		t.Fatal(err)
	}
	return base
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// startServer serves the given models with the real loader on loopback and
// returns the base URL once every model has been tried.
func startServer(t *testing.T, models []served, extraFlags ...string) string {
	t.Helper()
	return startServerWith(t, models, loadfunc.Options{}, extraFlags...)
}

// startServerWith is startServer with loader options (fusion, engines).
func startServerWith(t *testing.T, models []served, lopts loadfunc.Options, extraFlags ...string) string {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("model_config_list {\n")
	for _, m := range models {
		policy := ""
		if m.policy != "" {
			policy = " model_version_policy { " + m.policy + " }"
		}
		fmt.Fprintf(&cfg, "  config { name: %q base_path: %q model_platform: \"tensorflow\"%s }\n", m.name, m.base, policy)
	}
	cfg.WriteString("}\n")
	cfgPath := filepath.Join(t.TempDir(), "models.config")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--model_config_file=" + cfgPath, "--file_system_poll_wait_seconds=0", "--port=0", "--max_num_load_retries=0"}, extraFlags...)
	opts, err := flags.Parse(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lopts.Logger = log
	loads, err := loadfunc.New(opts, lopts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- modelserver.Run(ctx, opts, modelserver.Deps{
			Load: loads.Load,
			OpenSource: func(ctx context.Context, p string) (manager.Source, error) {
				return source.Open(ctx, p, mlflow.WithRegistry(source.Options{Logger: log}, mlflow.ConfigFromEnv(os.Getenv)))
			},
			RESTListener: ln,
			Logger:       log,
			Ready:        func(a net.Addr, _ *manager.Manager) { ready <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		loads.Close()
	})
	select {
	case a := <-ready:
		url := "http://" + a.String()
		waitLoaded(t, url, models)
		return url
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("server did not start")
	}
	return ""
}

// waitLoaded waits until every model reports a final state.
func waitLoaded(t *testing.T, url string, models []served) {
	deadline := time.Now().Add(2 * time.Minute)
	for _, m := range models {
		for {
			code, body := get(t, url+"/v1/models/"+m.name)
			if code == 200 && (strings.Contains(body, `"AVAILABLE"`) || strings.Contains(body, `"END"`)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("model %s did not finish loading: %d %s", m.name, code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url, body string) (int, []byte) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", url, ct)
	}
	return resp.StatusCode, b
}

// TestServesEveryGoldenFixture serves every fixture that has a golden.json
// (plus the malformed and unsupported ones, which must fail alone) from one
// server and checks each golden case through REST.
func TestServesEveryGoldenFixture(t *testing.T) {
	fx := fixtures.Dir(t)
	var models []served
	for _, p := range golden.Files(t, fx) {
		g, err := golden.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(fx, filepath.Dir(p))
		models = append(models, served{name: nonName.ReplaceAllString(rel, "_"), base: basePath(t, filepath.Dir(p)), golden: g})
	}
	bad := map[string]string{
		"bad_node_attr":       filepath.Join(fx, "tensorflow/testdata/fuzz_generated/bad_node_attr"),
		"negative_shape":      filepath.Join(fx, "tensorflow/testdata/fuzz_generated/negative_shape"),
		"session_bundle":      filepath.Join(fx, "tfserving/session_bundle/testdata/half_plus_two"),
		"tf_text":             filepath.Join(fx, "tfserving/servables/tensorflow/testdata/tf_text_regression_2020-07"),
		"const_with_no_value": filepath.Join(fx, "tensorflow/testdata/fuzz_generated/const_with_no_value"),
	}
	names := make([]string, 0, len(bad))
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		models = append(models, served{name: n, base: basePath(t, bad[n])})
	}
	url := startServer(t, models)

	for _, m := range models {
		m := m
		t.Run(m.name, func(t *testing.T) {
			code, status := get(t, url+"/v1/models/"+m.name)
			if m.golden == nil {
				if code != 200 || !strings.Contains(status, `"END"`) || strings.Contains(status, `"error_code": "OK"`) {
					t.Errorf("malformed model: want a failed version in status, got %d %s", code, status)
				}
				code, body := post(t, url+"/v1/models/"+m.name+":predict", `{"instances": [1.0]}`)
				if code != 404 {
					t.Errorf("predict on a failed model: %d %s", code, body)
				}
				return
			}
			if !strings.Contains(status, `"AVAILABLE"`) {
				t.Fatalf("not available: %s", status)
			}
			for i, c := range m.golden.Cases {
				code, body := post(t, url+"/v1/models/"+m.name+":predict", string(c.Request))
				if code != 200 {
					t.Errorf("case %d (%s): HTTP %d %s", i, c.Desc, code, body)
					continue
				}
				if err := c.Check(body); err != nil {
					t.Errorf("case %d (%s): %v", i, c.Desc, err)
				}
			}
		})
	}
	// sembago_retrieval has no serving signature: it loads, and predict
	// gets TF Serving's 400.
	t.Run("sembago_retrieval", func(t *testing.T) {
		u := startServer(t, []served{{name: "sembago_retrieval", base: filepath.Join(fx, "tfrs/sembago_retrieval")}})
		code, body := post(t, u+"/v1/models/sembago_retrieval:predict", `{"instances": ["a"]}`)
		if code != 400 || !bytes.Contains(body, []byte(`Serving signature name: \"serving_default\" not found in signature def`)) {
			t.Errorf("predict: %d %s", code, body)
		}
	})
	// The server is still healthy after the failures.
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

// normalize decodes JSON for comparison with key order ignored.
func normalize(t *testing.T, b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	return v
}

// TestMetadataMatchesTFServing compares GET .../metadata of real models
// with TF Serving's own expected responses stored beside the fixtures.
func TestMetadataMatchesTFServing(t *testing.T) {
	fx := fixtures.Dir(t)
	td := filepath.Join(fx, "tfserving/servables/tensorflow/testdata")
	url := startServer(t, []served{
		{name: "default", base: filepath.Join(td, "saved_model_half_plus_two_cpu")},
		{name: "saved_model_half_plus_two_2_versions", base: filepath.Join(td, "saved_model_half_plus_two_2_versions"), policy: "all {}"},
	}, "--model_config_file_poll_wait_seconds=0")
	cases := []struct{ path, want string }{
		{"/v1/models/default/metadata", "half_plus_two_model_metadata.json"},
		{"/v1/models/saved_model_half_plus_two_2_versions/versions/123/metadata", "saved_model_half_plus_two_2_versions_metadata.json"},
	}
	for _, c := range cases {
		code, body := get(t, url+c.path)
		if code != 200 {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
		want, err := os.ReadFile(filepath.Join(td, c.want))
		if err != nil {
			t.Fatal(err)
		}
		if g, w := normalize(t, []byte(body)), normalize(t, want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs from %s:\n got %s\nwant %s", c.path, c.want, body, want)
		}
	}
}

// TestClassifyRegressOnRealModel runs the classify and regress signatures
// of TF Serving's half_plus_two through REST.
func TestClassifyRegressOnRealModel(t *testing.T) {
	fx := fixtures.Dir(t)
	url := startServer(t, []served{{name: "hp2", base: filepath.Join(fx, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu")}})
	code, body := post(t, url+"/v1/models/hp2:regress", `{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": -2.0}]}`)
	var reg struct{ Results []float64 }
	if err := json.Unmarshal(body, &reg); code != 200 || err != nil || !reflect.DeepEqual(reg.Results, []float64{2.5, 1}) {
		t.Errorf("regress: %d %s", code, body)
	}
	code, body = post(t, url+"/v1/models/hp2:regress", `{"signature_name": "regress_x_to_y2", "examples": [{"x": 4.0}]}`)
	if err := json.Unmarshal(body, &reg); code != 200 || err != nil || !reflect.DeepEqual(reg.Results, []float64{5}) {
		t.Errorf("regress y2: %d %s", code, body)
	}
	code, body = post(t, url+"/v1/models/hp2:classify", `{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}`)
	if code != 200 || !bytes.Contains(body, []byte("3.0")) || !bytes.Contains(body, []byte(`"results"`)) {
		t.Errorf("classify: %d %s", code, body)
	}
	// A predict signature cannot be used for regress.
	code, body = post(t, url+"/v1/models/hp2:regress", `{"examples": [{"x": 1.0}]}`)
	if code != 400 {
		t.Errorf("regress on serving_default: %d %s", code, body)
	}
}
