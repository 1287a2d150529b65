package mlflow

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/s3fake"
	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/internal/syncbuf"
	"github.com/tfserve/tfserve/loader/source"
)

const testToken = "dapi-T0ken-Never-Log-5a4b3c"

func testOptions(t *testing.T, logs *syncbuf.Buffer) source.Options {
	return source.Options{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(logs, nil))}
}

func versionsOf(t *testing.T, s source.Source) []int64 {
	t.Helper()
	v, err := s.Versions(context.Background())
	if err != nil {
		t.Fatalf("%s Versions: %v", s, err)
	}
	return v
}

func wantVersions(t *testing.T, s source.Source, want ...int64) {
	t.Helper()
	got := versionsOf(t, s)
	if len(got) != len(want) {
		t.Fatalf("%s Versions = %v, want %v", s, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s Versions = %v, want %v", s, got, want)
		}
	}
}

// TestStageTransitionS3: a stage URI follows transitions; artifacts in S3.
func TestStageTransitionS3(t *testing.T) {
	s3 := s3fake.Start(t, "127.0.0.1", "aws-secret-value")
	reg := newFakeRegistry(t, "Bearer "+testToken)
	v1 := merged(map[string][]byte{"MLmodel": []byte(mlmodelLegacy), "conda.yaml": []byte("deps")}, under("tfmodel", savedModel("one")))
	v2 := merged(map[string][]byte{"MLmodel": []byte(mlmodelTF2)}, under("tf2model", savedModel("two")))
	s3fake.Put(t, s3, "mlruns", "1/run1/artifacts/model", v1)
	s3fake.Put(t, s3, "mlruns", "1/run2/artifacts/model", v2)
	s3fake.Put(t, s3, "mlruns", "1/run1/artifacts/model-other", map[string][]byte{"x": []byte("sibling prefix")})
	reg.addVersion("reco", 1, "Production", "s3://mlruns/1/run1/artifacts/model")
	reg.addVersion("reco", 2, "Staging", "s3://mlruns/1/run2/artifacts/model")

	var logs syncbuf.Buffer
	opts := WithRegistry(testOptions(t, &logs), Config{TrackingURI: reg.srv.URL + "/", Token: testToken})
	ctx := context.Background()
	s, err := source.Open(ctx, "models:/reco/production", opts)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, s, 1)
	dir, err := s.Fetch(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "tfmodel" {
		t.Errorf("Fetch(1) = %s, want the tfmodel directory", dir)
	}
	sourcetest.CheckTree(t, dir, savedModel("one"))
	sourcetest.CheckTree(t, filepath.Dir(dir), v1) // the whole artifact dir, nothing of model-other

	// Promote version 2: the same URI now resolves to it.
	reg.setStage("reco", 2, "Production")
	reg.setStage("reco", 1, "Archived")
	wantVersions(t, s, 2)
	dir, err = s.Fetch(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "tf2model" {
		t.Errorf("Fetch(2) = %s, want the tf2model directory", dir)
	}
	sourcetest.CheckTree(t, dir, savedModel("two"))
	// The old version stays fetchable (the cached copy is reused).
	if _, err := s.Fetch(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "reusing") {
		t.Error("refetching version 1 did not reuse the cache")
	}

	// latest ignores versions that are not READY yet.
	reg.addVersion("reco", 3, "None", "s3://mlruns/1/run3/artifacts/model")
	reg.versions["reco"][2].Status = "PENDING_REGISTRATION"
	latest, err := source.Open(ctx, "models:/reco/latest", opts)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, latest, 2)
	byNumber, _ := source.Open(ctx, "models:/reco/1", opts)
	wantVersions(t, byNumber, 1)
	staging, _ := source.Open(ctx, "models:/reco/STAGING", opts)
	if _, err := staging.Versions(ctx); err == nil || !strings.Contains(err.Error(), "Staging") {
		t.Errorf("empty stage: err = %v", err)
	}

	if reg.badAuth != 0 {
		t.Errorf("%d requests without the bearer token", reg.badAuth)
	}
	if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), "aws-secret-value") {
		t.Error("log output contains a secret")
	}
	if !strings.Contains(logs.String(), "downloading model") {
		t.Error("nothing was logged; the secret check saw nothing")
	}
}

// TestAliasMlflowArtifacts: an alias URI; artifacts through the tracking
// server's mlflow-artifacts proxy and runs:/ sources; basic auth.
func TestAliasMlflowArtifacts(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ana:pa55"))
	reg := newFakeRegistry(t, basic)
	v1 := merged(map[string][]byte{"MLmodel": []byte(mlmodelKeras)}, under("data/model", savedModel("keras")),
		map[string][]byte{"data/keras_module.txt": []byte("tensorflow.keras")})
	v2 := merged(map[string][]byte{"MLmodel": []byte(mlmodelTF2)}, under("tf2model", savedModel("module")))
	reg.putArtifacts("5/r9/artifacts/model", v1)
	reg.putArtifacts("5/r10/artifacts/model", v2)
	reg.runs["r10"] = "mlflow-artifacts:/5/r10/artifacts"
	reg.addVersion("tower", 1, "None", "mlflow-artifacts:/5/r9/artifacts/model")
	reg.addVersion("tower", 2, "None", "runs:/r10/model")
	reg.setAlias("tower", "champion", 1)

	var logs syncbuf.Buffer
	opts := WithRegistry(testOptions(t, &logs), Config{TrackingURI: reg.srv.URL, Username: "ana", Password: "pa55"})
	ctx := context.Background()
	s, err := source.Open(ctx, "models:/tower@champion", opts)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, s, 1)
	dir, err := s.Fetch(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(filepath.ToSlash(dir), "data/model") {
		t.Errorf("Fetch(1) = %s, want data/model", dir)
	}
	sourcetest.CheckTree(t, dir, savedModel("keras"))

	reg.setAlias("tower", "champion", 2)
	wantVersions(t, s, 2)
	sm, err := FetchSavedModel(ctx, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, sm.Dir, savedModel("module"))
	if reg.count("runs/get") == 0 {
		t.Error("runs:/ source was not resolved through runs/get")
	}
	if reg.badAuth != 0 {
		t.Errorf("%d requests without basic auth", reg.badAuth)
	}
	if strings.Contains(logs.String(), "pa55") {
		t.Error("log output contains the password")
	}
}

// TestDatabricksSignedURLs: with a Databricks tracking URI, files come from
// signed URLs with the returned headers and without the token.
func TestDatabricksSignedURLs(t *testing.T) {
	reg := newFakeRegistry(t, "Bearer "+testToken)
	v1 := merged(map[string][]byte{"MLmodel": []byte(mlmodelLegacy)}, under("tfmodel", savedModel("dbx")))
	reg.putArtifacts("dbx/1", v1)
	reg.addVersion("dbmodel", 1, "Production", "mlflow-artifacts:/dbx/1")

	t.Setenv("MLFLOW_TRACKING_URI", "databricks")
	t.Setenv("DATABRICKS_HOST", reg.srv.URL)
	t.Setenv("DATABRICKS_TOKEN", testToken)
	t.Setenv("MLFLOW_TRACKING_TOKEN", "")
	var logs syncbuf.Buffer
	opts := testOptions(t, &logs)
	opts.Openers = map[string]source.Opener{"models": Open}
	ctx := context.Background()
	s, err := source.Open(ctx, "models:/dbmodel/Production", opts)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, s, 1)
	dir, err := s.Fetch(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, savedModel("dbx"))
	if reg.signedBad != 0 {
		t.Errorf("%d signed downloads without the headers or with the token", reg.signedBad)
	}
	if reg.count("model-versions/get-signed-download-uri") != len(v1) {
		t.Errorf("%d signed URLs requested, want %d", reg.count("model-versions/get-signed-download-uri"), len(v1))
	}
	if reg.count("model-versions/get-download-uri") != 0 {
		t.Error("Databricks path used get-download-uri")
	}
	if strings.Contains(logs.String(), testToken) {
		t.Error("log output contains the token")
	}
}

func TestRegistryErrors(t *testing.T) {
	reg := newFakeRegistry(t, "Bearer "+testToken)
	reg.putArtifacts("a/sk", map[string][]byte{"MLmodel": []byte(mlmodelSklearn), "model.pkl": []byte("pickle")})
	reg.putArtifacts("a/k3", map[string][]byte{"MLmodel": []byte(mlmodelKeras3), "data/model.keras": []byte("zip")})
	reg.putArtifacts("a/k3b", map[string][]byte{"MLmodel": []byte(mlmodelKerasNoFormat), "data/model.keras": []byte("zip")})
	reg.putArtifacts("a/h5", map[string][]byte{"MLmodel": []byte(mlmodelKerasNoFormat), "data/model.h5": []byte("hdf")})
	reg.putArtifacts("a/nomlmodel", savedModel("bare"))
	reg.putArtifacts("a/broken", merged(map[string][]byte{"MLmodel": []byte(mlmodelLegacy)}, under("tfmodel", savedModel("b"))))
	reg.failPath = "a/broken/tfmodel/variables/variables.index"
	for i, src := range []string{"a/sk", "a/k3", "a/k3b", "a/h5", "a/nomlmodel", "a/broken"} {
		reg.addVersion("bad", int64(i+1), "None", "mlflow-artifacts:/"+src)
	}
	reg.addVersion("bad", 7, "None", "dbfs:/databricks/mlflow/x")
	reg.addVersion("bad", 8, "None", "ftp://host/x")

	var logs syncbuf.Buffer
	opts := WithRegistry(testOptions(t, &logs), Config{TrackingURI: reg.srv.URL, Token: testToken})
	ctx := context.Background()
	open := func(uri string) source.Source {
		s, err := source.Open(ctx, uri, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for uri, want := range map[string]string{
		"models:/nope/Production": `registered model "nope" not found`,
		"models:/nope/latest":     `registered model "nope" not found`,
		"models:/bad/99":          `model "bad" version 99 not found`,
		"models:/bad@champion":    `alias "champion"`,
		"models:/bad/Production":  "no READY version in stage Production",
	} {
		if _, err := open(uri).Versions(ctx); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", uri, err, want)
		}
	}
	s := open("models:/bad/1")
	for v, want := range map[int64]string{
		1:  "no tensorflow flavor in MLmodel (flavors: python_function, sklearn)",
		4:  "model.h5 is a Keras HDF5 file, not a SavedModel",
		5:  "read MLmodel",
		6:  "disk on fire",
		7:  "dbfs:/ artifacts need a Databricks tracking URI",
		8:  `unsupported scheme "ftp"`,
		99: "not found",
	} {
		if _, err := s.Fetch(ctx, v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Fetch(%d): err = %v, want %q", v, err, want)
		}
	}
	// Keras 3 files, with and without save_format: the folder holding
	// model.keras, for the loader.
	for _, v := range []int64{2, 3} {
		dir, err := s.Fetch(ctx, v)
		if err != nil {
			t.Fatalf("Fetch(%d): %v", v, err)
		}
		if data, err := os.ReadFile(filepath.Join(dir, "model.keras")); err != nil || string(data) != "zip" {
			t.Errorf("Fetch(%d) = %s: model.keras %q, %v", v, dir, data, err)
		}
	}
	// The failed download left no version directory behind.
	entries, _ := filepath.Glob(filepath.Join(opts.CacheDir, "*", "6"))
	if len(entries) != 0 {
		t.Errorf("failed download visible: %v", entries)
	}
	tmp, _ := filepath.Glob(filepath.Join(opts.CacheDir, "*", ".tmp-*"))
	if len(tmp) != 0 {
		t.Errorf("temporary directories left: %v", tmp)
	}

	// Wrong token: a clear 401 that does not echo the token.
	wrong := WithRegistry(testOptions(t, &logs), Config{TrackingURI: reg.srv.URL, Token: "wrong-" + testToken})
	ws, _ := source.Open(ctx, "models:/bad/1", wrong)
	if _, err := ws.Versions(ctx); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), testToken) {
		t.Errorf("wrong token: err = %v", err)
	}
	// Tracking server down.
	down := WithRegistry(testOptions(t, &logs), Config{TrackingURI: "http://127.0.0.1:1", Token: testToken})
	ds, _ := source.Open(ctx, "models:/bad/1", down)
	if _, err := ds.Versions(ctx); err == nil {
		t.Error("unreachable tracking server: no error")
	}
	if strings.Contains(logs.String(), testToken) {
		t.Error("log output contains the token")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cfg  Config
		uri  string
		want string
	}{
		{Config{}, "models:/m/1", "MLFLOW_TRACKING_URI is not set"},
		{Config{TrackingURI: "databricks"}, "models:/m/1", "DATABRICKS_HOST"},
		{Config{TrackingURI: "databricks-uc"}, "models:/m/1", "Unity Catalog"},
		{Config{TrackingURI: "file:///mlruns"}, "models:/m/1", "want http(s)://host"},
		{Config{TrackingURI: "http://h"}, "models:/m/Prod", `unknown stage "Prod"`},
		{Config{TrackingURI: "http://h"}, "models:/m-123abc", "MLflow 3"},
	} {
		_, err := NewOpener(c.cfg)(ctx, c.uri, source.Options{CacheDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %s: err = %v, want %q", c.cfg, c.uri, err, c.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"MLFLOW_TRACKING_URI": "databricks", "DATABRICKS_HOST": "adb-1.azuredatabricks.net", "DATABRICKS_TOKEN": "d",
	}
	c := ConfigFromEnv(func(k string) string { return env[k] })
	if c.Token != "d" || !c.databricks() {
		t.Errorf("config = %+v", c)
	}
	u, err := c.baseURL()
	if err != nil || u.String() != "https://adb-1.azuredatabricks.net" {
		t.Errorf("baseURL = %v, %v", u, err)
	}
	env["MLFLOW_TRACKING_TOKEN"] = "m"
	if c := ConfigFromEnv(func(k string) string { return env[k] }); c.Token != "m" {
		t.Errorf("MLFLOW_TRACKING_TOKEN does not take precedence: %+v", c)
	}
	// MLFLOW_REGISTRY_URI names the registry; databricks-uc is Unity Catalog.
	env["MLFLOW_REGISTRY_URI"] = "databricks-uc://prod"
	env["DATABRICKS_CONFIG_FILE"] = "/etc/dbcfg"
	c = ConfigFromEnv(func(k string) string { return env[k] })
	if c.RegistryURI != "databricks-uc://prod" || c.kind() != kindUC || c.databricks() || c.databricksConfigFile() != "/etc/dbcfg" {
		t.Errorf("config = %+v, kind %d", c, c.kind())
	}
	if k := (Config{TrackingURI: "databricks", RegistryURI: "https://registry:5000"}).kind(); k != kindREST {
		t.Errorf("MLFLOW_REGISTRY_URI=https://... does not take precedence: kind %d", k)
	}
}

func TestWithRegistryDoesNotModifyInput(t *testing.T) {
	in := source.Options{Openers: map[string]source.Opener{}}
	out := WithRegistry(in, Config{TrackingURI: "http://h"})
	if len(in.Openers) != 0 || out.Openers["models"] == nil {
		t.Error("WithRegistry modified its input or did not add the opener")
	}
}

func TestMain(m *testing.M) {
	// Keep the environment of the developer's shell out of the tests.
	for _, k := range []string{"MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_TRACKING_TOKEN", "DATABRICKS_HOST", "DATABRICKS_TOKEN",
		"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "STORAGE_EMULATOR_HOST", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		os.Unsetenv(k)
	}
	// Never read the developer's ~/.databrickscfg.
	os.Setenv("DATABRICKS_CONFIG_FILE", filepath.Join(os.TempDir(), "tfserve-mlflow-test-no-databrickscfg"))
	os.Exit(m.Run())
}
