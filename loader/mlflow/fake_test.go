package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeRegistry is an in-process MLflow tracking server implementing the
// registry, runs/get, mlflow-artifacts and Databricks artifact endpoints
// with MLflow's JSON shapes. It checks the Authorization header.
type fakeRegistry struct {
	t    *testing.T
	srv  *httptest.Server
	sign *httptest.Server // the "cloud storage" behind signed URLs

	mu        sync.Mutex
	auth      string // required Authorization header value
	versions  map[string][]*fvVersion
	aliases   map[string]map[string]int64
	runs      map[string]string // run id -> artifact_uri
	artifacts map[string][]byte // mlflow-artifacts path -> content
	calls     map[string]int    // endpoint -> count
	badAuth   int               // requests with a wrong Authorization header
	signedBad int               // signed downloads without the required header or with a token
	// If set, downloads of this artifact path fail with HTTP 500.
	failPath string
}

type fvVersion struct {
	Version int64
	Stage   string
	Status  string
	Source  string
}

func newFakeRegistry(t *testing.T, auth string) *fakeRegistry {
	f := &fakeRegistry{
		t: t, auth: auth,
		versions:  map[string][]*fvVersion{},
		aliases:   map[string]map[string]int64{},
		runs:      map[string]string{},
		artifacts: map[string][]byte{},
		calls:     map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.sign = httptest.NewServer(http.HandlerFunc(f.serveSigned))
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.sign.Close)
	return f
}

func (f *fakeRegistry) addVersion(name string, v int64, stage, src string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[name] = append(f.versions[name], &fvVersion{Version: v, Stage: stage, Status: "READY", Source: src})
}

func (f *fakeRegistry) setStage(name string, v int64, stage string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, mv := range f.versions[name] {
		if mv.Version == v {
			mv.Stage = stage
		}
	}
}

func (f *fakeRegistry) setAlias(name, alias string, v int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.aliases[name] == nil {
		f.aliases[name] = map[string]int64{}
	}
	f.aliases[name][alias] = v
}

func (f *fakeRegistry) putArtifacts(prefix string, files map[string][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for rel, data := range files {
		f.artifacts[path.Join(prefix, rel)] = data
	}
}

func (f *fakeRegistry) count(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[endpoint]
}

func (f *fakeRegistry) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeRegistry) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func (f *fakeRegistry) mv(name string, v *fvVersion) map[string]any {
	return map[string]any{
		"name": name, "version": strconv.FormatInt(v.Version, 10), "current_stage": v.Stage,
		"status": v.Status, "source": v.Source, "run_id": "run1",
	}
}

func (f *fakeRegistry) find(name string, v int64) *fvVersion {
	for _, mv := range f.versions[name] {
		if mv.Version == v {
			return mv
		}
	}
	return nil
}

// params merges the query and a JSON body (MLflow accepts both).
func params(r *http.Request) map[string]any {
	out := map[string]any{}
	for k, v := range r.URL.Query() {
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = v
		}
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			maps.Copy(out, m)
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != f.auth {
		f.badAuth++
		f.fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", "bad credentials")
		return
	}
	const api, art = "/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/artifacts"
	p := params(r)
	switch {
	case strings.HasPrefix(r.URL.Path, art):
		f.calls["mlflow-artifacts"]++
		f.serveArtifacts(w, r, strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, art), "/"))
		return
	case !strings.HasPrefix(r.URL.Path, api):
		http.NotFound(w, r)
		return
	}
	endpoint := strings.TrimPrefix(r.URL.Path, api)
	f.calls[endpoint]++
	name := str(p["name"])
	switch endpoint {
	case "registered-models/get-latest-versions":
		list, ok := f.versions[name]
		if !ok {
			f.fail(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Registered Model with name=%s not found", name))
			return
		}
		var want []string
		switch s := p["stages"].(type) {
		case []any:
			for _, x := range s {
				want = append(want, str(x))
			}
		case string:
			want = []string{s}
		case []string:
			want = s
		}
		// MLflow: the latest version per stage (all stages if none given).
		latest := map[string]*fvVersion{}
		for _, mv := range list {
			stage := mv.Stage
			if len(want) > 0 && !slices.ContainsFunc(want, func(s string) bool { return strings.EqualFold(s, stage) }) {
				continue
			}
			if cur, ok := latest[stage]; !ok || mv.Version > cur.Version {
				latest[stage] = mv
			}
		}
		out := []map[string]any{}
		for _, mv := range latest {
			out = append(out, f.mv(name, mv))
		}
		f.json(w, map[string]any{"model_versions": out})
	case "model-versions/get", "model-versions/get-download-uri":
		v, _ := strconv.ParseInt(str(p["version"]), 10, 64)
		mv := f.find(name, v)
		if mv == nil {
			f.fail(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", name, str(p["version"])))
			return
		}
		if endpoint == "model-versions/get" {
			f.json(w, map[string]any{"model_version": f.mv(name, mv)})
		} else {
			f.json(w, map[string]any{"artifact_uri": mv.Source})
		}
	case "registered-models/alias":
		v, ok := f.aliases[name][str(p["alias"])]
		if !ok {
			f.fail(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Registered model alias %s not found.", str(p["alias"])))
			return
		}
		f.json(w, map[string]any{"model_version": f.mv(name, f.find(name, v))})
	case "runs/get":
		uri, ok := f.runs[str(p["run_id"])]
		if !ok {
			f.fail(w, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found")
			return
		}
		f.json(w, map[string]any{"run": map[string]any{"info": map[string]any{"artifact_uri": uri}}})
	case "model-versions/list-artifacts":
		// Databricks: paths relative to the version's artifact root.
		root := f.versionRoot(name, str(p["version"]))
		f.json(w, map[string]any{"files": f.listDir(root, str(p["path"]), true)})
	case "model-versions/get-signed-download-uri":
		root := f.versionRoot(name, str(p["version"]))
		key := path.Join(root, str(p["path"]))
		f.json(w, map[string]any{
			"signed_uri": f.sign.URL + "/blob/" + key + "?sig=xyz",
			"headers":    []map[string]string{{"name": "x-ms-blob-type", "value": "BlockBlob"}},
		})
	default:
		f.fail(w, 404, "ENDPOINT_NOT_FOUND", "no such endpoint "+endpoint)
	}
}

// versionRoot maps a Databricks model version to its artifact prefix: the
// source is stored as mlflow-artifacts:/<prefix>.
func (f *fakeRegistry) versionRoot(name, version string) string {
	v, _ := strconv.ParseInt(version, 10, 64)
	if mv := f.find(name, v); mv != nil {
		return strings.Trim(strings.TrimPrefix(mv.Source, "mlflow-artifacts:"), "/")
	}
	return "missing"
}

// listDir lists the artifacts directly under root/dir. With full, paths are
// dir-relative full paths (Databricks); else base names (mlflow-artifacts).
func (f *fakeRegistry) listDir(root, dir string, full bool) []map[string]any {
	prefix := path.Join(root, dir) + "/"
	seen := map[string]bool{}
	out := []map[string]any{}
	keys := slices.Sorted(maps.Keys(f.artifacts))
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := strings.TrimPrefix(k, prefix)
		first, _, isDir := strings.Cut(rest, "/")
		if seen[first] {
			continue
		}
		seen[first] = true
		p := first
		if full {
			p = path.Join(dir, first)
		}
		e := map[string]any{"path": p, "is_dir": isDir}
		if !isDir {
			// protobuf JSON writes int64 as a string
			e["file_size"] = strconv.Itoa(len(f.artifacts[k]))
		}
		out = append(out, e)
	}
	return out
}

func (f *fakeRegistry) serveArtifacts(w http.ResponseWriter, r *http.Request, p string) {
	if p == "" {
		f.json(w, map[string]any{"files": f.listDir("", r.URL.Query().Get("path"), false)})
		return
	}
	if p == f.failPath {
		f.fail(w, 500, "INTERNAL_ERROR", "disk on fire")
		return
	}
	data, ok := f.artifacts[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func (f *fakeRegistry) serveSigned(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("x-ms-blob-type") != "BlockBlob" || r.Header.Get("Authorization") != "" || r.URL.Query().Get("sig") != "xyz" {
		f.signedBad++
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	data, ok := f.artifacts[strings.TrimPrefix(r.URL.Path, "/blob/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

// savedModel returns fake SavedModel files (the loader is not involved:
// these tests only move bytes and find the directory).
func savedModel(tag string) map[string][]byte {
	big := bytes.Repeat([]byte(tag), 40000)
	return map[string][]byte{
		"saved_model.pb":                          []byte("graph of " + tag),
		"fingerprint.pb":                          []byte("fp " + tag),
		"variables/variables.index":               []byte("index " + tag),
		"variables/variables.data-00000-of-00001": big,
	}
}

func under(prefix string, files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range files {
		out[path.Join(prefix, k)] = v
	}
	return out
}

func merged(ms ...map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// Legacy, tf.Module and Keras MLmodel files as MLflow writes them.
const (
	mlmodelLegacy = `artifact_path: model
flavors:
  python_function:
    env: conda.yaml
    loader_module: mlflow.tensorflow
    python_version: 3.8.10
  tensorflow:
    meta_graph_tags:
    - serve
    saved_model_dir: tfmodel
    signature_def_key: predict
run_id: 0a1b2c
utc_time_created: '2021-05-01 10:00:00.000000'
`
	mlmodelTF2 = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.tensorflow
  tensorflow:
    code: null
    model_type: tf2-module
    saved_model_dir: tf2model
mlflow_version: 2.9.2
`
	mlmodelKeras = `artifact_path: model
flavors:
  python_function:
    data: data
    loader_module: mlflow.tensorflow
  tensorflow:
    code: null
    data: data
    keras_version: 2.13.1
    model_type: keras
    save_format: tf
mlflow_version: 2.9.2
`
	mlmodelKeras3 = `artifact_path: model
flavors:
  tensorflow:
    data: data
    keras_version: 3.3.3
    model_type: keras
    save_format: keras
`
	mlmodelKerasNoFormat = `flavors:
  tensorflow:
    data: data
    model_type: keras
`
	mlmodelSklearn = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.3.0
`
)
