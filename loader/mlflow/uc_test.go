package mlflow

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tfserve/tfserve/internal/s3fake"
	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/internal/syncbuf"
	"github.com/tfserve/tfserve/loader/source"
)

const ucToken = "dapi-UC-T0ken-Never-Log-9f8e7d"

// noSecrets fails the test if text holds a credential.
func noSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q", what, s)
		}
	}
}

func ucOpts(t *testing.T, logs *syncbuf.Buffer, cfg Config) source.Options {
	return WithRegistry(testOptions(t, logs), cfg)
}

// TestUnityCatalogS3: an alias and a version URI under databricks-uc;
// versions resolved through the UC endpoints; artifacts read from S3 with
// the temporary credentials only (the guard recomputes every signature and
// refuses the ambient AWS keys); moving the alias swaps the version.
func TestUnityCatalogS3(t *testing.T) {
	store := s3fake.Start(t, "127.0.0.1", "aws-secret-value")
	uc := newFakeUC(t, ucToken, "aws")
	guard := newS3Guard(t, uc)
	v1 := merged(map[string][]byte{"MLmodel": []byte(mlmodelLegacy), "conda.yaml": []byte("deps")}, under("tfmodel", savedModel("uc-one")))
	v2 := merged(map[string][]byte{"MLmodel": []byte(mlmodelTF2)}, under("tf2model", savedModel("uc-two")))
	s3fake.Put(t, store, "uc-bucket", "metastore/models/m1/versions/1", v1)
	s3fake.Put(t, store, "uc-bucket", "metastore/models/m1/versions/2", v2)
	s3fake.Put(t, store, "uc-bucket", "metastore/models/m1/versions/10", map[string][]byte{"x": []byte("sibling prefix")})
	const name = "main.ml.reco"
	uc.addVersion(name, 1, "s3://uc-bucket/metastore/models/m1/versions/1")
	uc.addVersion(name, 2, "s3://uc-bucket/metastore/models/m1/versions/2")
	uc.setAlias(name, "champion", 1)

	var logs syncbuf.Buffer
	opts := ucOpts(t, &logs, Config{RegistryURI: "databricks-uc", DatabricksHost: uc.srv.URL, Token: ucToken})
	ctx := context.Background()
	s, err := source.Open(ctx, "models:/"+name+"@champion", opts)
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
	sourcetest.CheckTree(t, dir, savedModel("uc-one"))
	sourcetest.CheckTree(t, filepath.Dir(dir), v1) // nothing of versions/10

	// Move the alias: the next poll sees version 2, which is fetched.
	uc.setAlias(name, "champion", 2)
	wantVersions(t, s, 2)
	sm, err := FetchSavedModel(ctx, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(sm.Dir) != "tf2model" {
		t.Errorf("Fetch(2) = %s, want the tf2model directory", sm.Dir)
	}
	sourcetest.CheckTree(t, sm.Dir, savedModel("uc-two"))

	byNumber, err := source.Open(ctx, "models:/"+name+"/1", opts)
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, byNumber, 1)
	if _, err := byNumber.Fetch(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "reusing") {
		t.Error("refetching version 1 did not reuse the cache")
	}

	used, rejected := guard.stats()
	if len(rejected) != 0 {
		t.Errorf("S3 requests refused by the guard: %v", rejected)
	}
	if len(used) == 0 {
		t.Error("no S3 request went through the guard")
	}
	if got := uc.count("model-versions/generate-temporary-credentials"); got != 3 {
		t.Errorf("%d credential requests for 3 fetches", got)
	}
	if got := uc.count("model-versions/get-download-uri"); got != 3 {
		t.Errorf("%d get-download-uri calls for 3 fetches", got)
	}
	if uc.count("model-versions/get") == 0 || uc.count("registered-models/alias") < 2 {
		t.Errorf("calls: %v", uc.calls)
	}
	if uc.badAuth != 0 || uc.badRequest != 0 {
		t.Errorf("%d requests without the token, %d bad credential requests", uc.badAuth, uc.badRequest)
	}
	out := logs.String()
	noSecrets(t, "log output", out, append(uc.secrets(), "aws-secret-value")...)
	if !strings.Contains(out, "downloading model") {
		t.Error("nothing was logged; the secret check saw nothing")
	}

	// The guard is not a formality: the ambient AWS credentials (what
	// s3:// base paths use) are refused.
	tree, err := source.OpenTree(ctx, "s3://uc-bucket/metastore/models/m1/versions/1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.Files(ctx); err == nil {
		t.Error("the guard let the ambient AWS credentials list the bucket")
	}
	if _, rejected := guard.stats(); len(rejected) == 0 || !strings.Contains(rejected[0], "AKIDTESTKEY was not issued") {
		t.Errorf("guard refusals: %v", rejected)
	}
}

// TestUnityCatalogCredentialRefresh: credentials that expire within the
// renewal window are renewed before use, and only the new ones sign.
func TestUnityCatalogCredentialRefresh(t *testing.T) {
	store := s3fake.Start(t, "127.0.0.1", "aws-secret-value")
	uc := newFakeUC(t, ucToken, "aws")
	uc.expiry = func(n int) time.Duration {
		if n == 0 {
			return 10 * time.Second
		}
		return time.Hour
	}
	guard := newS3Guard(t, uc)
	v := merged(map[string][]byte{"MLmodel": []byte(mlmodelLegacy)}, under("tfmodel", savedModel("refresh")))
	s3fake.Put(t, store, "uc-bucket", "m/versions/4", v)
	uc.addVersion("c.s.m", 4, "s3://uc-bucket/m/versions/4")
	var logs syncbuf.Buffer
	s, err := source.Open(context.Background(), "models:/c.s.m/4", ucOpts(t, &logs, Config{RegistryURI: "databricks-uc", DatabricksHost: uc.srv.URL, Token: ucToken}))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := s.Fetch(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, savedModel("refresh"))
	if got := uc.count("model-versions/generate-temporary-credentials"); got != 2 {
		t.Errorf("%d credential requests, want 2 (the first ones expire within the renewal window)", got)
	}
	used, rejected := guard.stats()
	if len(uc.issued) != 2 || len(rejected) != 0 || len(used) != 1 || used[uc.issued[1].akid] == 0 {
		t.Errorf("keys used %v (%d issued), refused %v", used, len(uc.issued), rejected)
	}
}

// TestUnityCatalogGCS: a gs:// storage location read with the OAuth token
// Unity Catalog issues (fake-gcs-server behind a bearer-token check).
func TestUnityCatalogGCS(t *testing.T) {
	uc := newFakeUC(t, ucToken, "gcp")
	guard := newGCSGuard(t, uc)
	v := merged(map[string][]byte{"MLmodel": []byte(mlmodelKeras)}, under("data/model", savedModel("gcs")))
	guard.put("uc-gbucket", "metastore/models/m9/versions/3", v)
	guard.put("uc-gbucket", "metastore/models/m9/versions/30", map[string][]byte{"MLmodel": []byte("other")})
	uc.addVersion("main.ml.tower", 3, "gs://uc-gbucket/metastore/models/m9/versions/3")
	uc.setAlias("main.ml.tower", "prod", 3)
	var logs syncbuf.Buffer
	s, err := source.Open(context.Background(), "models:/main.ml.tower@prod", ucOpts(t, &logs, Config{RegistryURI: "databricks-uc", DatabricksHost: uc.srv.URL, Token: ucToken}))
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, s, 3)
	dir, err := s.Fetch(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, savedModel("gcs"))
	sourcetest.CheckTree(t, filepath.Dir(filepath.Dir(dir)), v)
	guard.mu.Lock()
	rejected, used := guard.rejected, len(guard.used)
	guard.mu.Unlock()
	if len(rejected) != 0 || used != 1 {
		t.Errorf("GCS requests refused: %v; tokens used: %d", rejected, used)
	}
	noSecrets(t, "log output", logs.String(), uc.secrets()...)
	if !strings.Contains(logs.String(), "downloading model") {
		t.Error("nothing was logged")
	}
}

// TestUnityCatalogURIs: UC has no stages and no "latest": such URIs fail
// with MLflow's messages before any request; names need three levels.
func TestUnityCatalogURIs(t *testing.T) {
	opts := ucOpts(t, &syncbuf.Buffer{}, Config{RegistryURI: "databricks-uc", DatabricksHost: "http://127.0.0.1:1", Token: ucToken})
	ctx := context.Background()
	for uri, want := range map[string][]string{
		"models:/main.ml.reco/Production": {
			"Method 'get_latest_versions' is unsupported for models in the Unity Catalog. Detected attempt to load latest model version in stages ['Production']. You may see this error because:\n1) You're attempting to load a model version by stage. Setting stages and loading model versions by stage is unsupported in Unity Catalog. Instead, use aliases for flexible model deployment.",
			"2) You're attempting to load a model version by alias. Use syntax 'models:/your_model_name@your_alias_name'\n3) You're attempting load a model version by version number. Verify that the version number is a valid integer",
		},
		"models:/main.ml.reco/staging":  {"stages ['staging']"},
		"models:/main.ml.reco/Champion": {"stages ['Champion']"}, // not a stage MLflow knows: still refused as one
		"models:/main.ml.reco/latest": {
			"Method 'get_latest_versions' is unsupported for models in the Unity Catalog. To load the latest version of a model in Unity Catalog, you can set an alias on the model version and load it by alias.",
		},
		"models:/reco/1":          {"three levels, <catalog>.<schema>.<model>"},
		"models:/main..reco@a":    {"three levels"},
		"models:/a.b.c.d/1":       {"three levels"},
		"models:/main.ml.reco":    {"MLflow 3"},
		"models://p@databricks/x": {"authority"},
	} {
		_, err := source.Open(ctx, uri, opts)
		if err == nil {
			t.Errorf("%s: opened", uri)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v\nwant %q", uri, err, w)
			}
		}
	}
	// The same stage URI is fine for a workspace registry.
	if _, err := source.Open(ctx, "models:/reco/Production", WithRegistry(testOptions(t, &syncbuf.Buffer{}), Config{TrackingURI: "http://h"})); err != nil {
		t.Error(err)
	}
}

// TestUnityCatalogHostileAnswers: every registry answer is checked: size,
// JSON shape, the fields used, their types; errors name the problem and
// never carry the token or the temporary credentials.
func TestUnityCatalogHostileAnswers(t *testing.T) {
	store := s3fake.Start(t, "127.0.0.1", "aws-secret-value")
	uc := newFakeUC(t, ucToken, "aws")
	newS3Guard(t, uc)
	s3fake.Put(t, store, "uc-bucket", "m/1", merged(map[string][]byte{"MLmodel": []byte(mlmodelLegacy)}, under("tfmodel", savedModel("h"))))
	uc.addVersion("c.s.m", 1, "s3://uc-bucket/m/1")
	uc.setAlias("c.s.m", "a", 1)
	var logs syncbuf.Buffer
	// Each registry call must beat the timeout, even on a loaded machine;
	// the stalled answer below waits for it.
	cfg := Config{RegistryURI: "databricks-uc", DatabricksHost: uc.srv.URL, Token: ucToken, Timeout: 2 * time.Second}
	opts := ucOpts(t, &logs, cfg)
	ctx := context.Background()
	open := func(uri string) source.Source {
		s, err := source.Open(ctx, uri, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	byVersion, byAlias := open("models:/c.s.m/1"), open("models:/c.s.m@a")
	raw := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	ok := func(body string) http.HandlerFunc { return raw(200, body) }
	huge := `{"model_version": {"name": "` + strings.Repeat("a", 2<<20) + `"}}`
	mv := func(fields string) string { return `{"model_version": {"name": "c.s.m", ` + fields + `}}` }
	// lastSecret echoes the newest issued secret key in an error message.
	lastSecret := func(w http.ResponseWriter, r *http.Request) {
		uc.fail(w, 500, "INTERNAL_ERROR", "credentials "+uc.issued[len(uc.issued)-1].secret+" were revoked")
	}
	type step int
	const (
		versions step = iota
		aliasVersions
		fetch
	)
	for i, c := range []struct {
		endpoint string
		h        http.HandlerFunc
		step     step
		want     string
	}{
		{"model-versions/get", ok(huge), versions, "answer larger than 1048576 bytes refused"},
		{"model-versions/get", ok(mv(`"version": "1", "status": "READY"}} {"more": 1`)), versions, "data after the JSON object"},
		{"model-versions/get", ok(`[{"model_version": {}}]`), versions, "not a JSON object"},
		{"model-versions/get", ok(`{}`), versions, "answer has no model_version"},
		{"model-versions/get", ok(`{"model_version": null}`), versions, "answer has no model_version"},
		{"model-versions/get", ok(mv(`"status": "READY"`)), versions, "model_version has no version"},
		{"model-versions/get", ok(mv(`"version": true, "status": "READY"`)), versions, "not a version number"},
		{"model-versions/get", ok(mv(`"version": "-1", "status": "READY"`)), versions, "not a version number"},
		{"model-versions/get", ok(mv(`"version": "1e3", "status": "READY"`)), versions, "not a version number"},
		{"model-versions/get", ok(mv(`"version": "7", "status": "READY"`)), versions, "asked for version 1, got version 7"},
		{"model-versions/get", ok(mv(`"version": "1"`)), versions, "model_version has no status"},
		{"model-versions/get", ok(mv(`"version": 1, "status": 3`)), versions, "cannot unmarshal number"},
		{"model-versions/get", ok(mv(`"version": "1", "status": "PENDING_REGISTRATION"`)), versions, "is PENDING_REGISTRATION, not READY"},
		{"model-versions/get", ok(`{"model_version": `), versions, "bad answer"},
		{"model-versions/get", raw(502, "<html>bad gateway</html>"), versions, "HTTP 502"},
		{"model-versions/get", raw(404, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}`), versions, `model "c.s.m" version 1 not found in Unity Catalog`},
		{"model-versions/get", raw(403, `{"error_code": "PERMISSION_DENIED", "message": "token `+ucToken+` lacks USE CATALOG"}`), versions, "lacks USE CATALOG"},
		{"model-versions/get", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		}, versions, "deadline exceeded"},
		{"registered-models/alias", ok(mv(`"version": "x1", "status": "READY"`)), aliasVersions, "not a version number"},
		{"registered-models/alias", ok(`{"model_version": "1"}`), aliasVersions, "cannot unmarshal string"},
		{"registered-models/alias", ok(mv(`"version": "1", "status": "FAILED_REGISTRATION"`)), aliasVersions, "points to version 1, which is FAILED_REGISTRATION"},

		{"model-versions/generate-temporary-credentials", ok(`{}`), fetch, "answer has no credentials"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"expiration_time": "1"}}`), fetch, "holds no credentials"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"aws_temp_credentials": {"access_key_id": "ASIAX", "secret_access_key": "s3cr3t-value"}}}`), fetch, "aws_temp_credentials without session_token"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"aws_temp_credentials": {"access_key_id": 12, "secret_access_key": "s", "session_token": "t"}}}`), fetch, "cannot unmarshal number"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"aws_temp_credentials": {"access_key_id": "A", "secret_access_key": "s", "session_token": "t"}, "gcp_oauth_token": {"oauth_token": "o"}}}`), fetch, "several kinds of credentials"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"azure_user_delegation_sas": {"sas_token": "sv=2020&sig=abc"}}}`), fetch, "Azure storage (azure_user_delegation_sas for abfss:// locations) is not supported"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"r2_temp_credentials": {}}}`), fetch, "R2"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"storage_mode": "DEFAULT_STORAGE"}}`), fetch, "Databricks default storage"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"aws_temp_credentials": {"access_key_id": "A", "secret_access_key": "s", "session_token": "t"}, "expiration_time": "soon"}}`), fetch, "is not an integer"},
		{"model-versions/generate-temporary-credentials", ok(`{"credentials": {"gcp_oauth_token": {"oauth_token": ""}}}`), fetch, "gcp_oauth_token without oauth_token"},
		{"model-versions/generate-temporary-credentials", ok(huge), fetch, "larger than"},
		{"model-versions/generate-temporary-credentials", raw(403, `{"error_code": "PERMISSION_DENIED", "message": "User does not have EXECUTE on Routine or Model 'c.s.m'."}`), fetch, "does not have EXECUTE"},

		{"model-versions/get-download-uri", ok(`{}`), fetch, "answer has no artifact_uri"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": 5}`), fetch, "cannot unmarshal number"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": "gs://uc-bucket/m/1"}`), fetch, "want s3:// for these credentials"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": "s3://uc-bucket/../m/1"}`), fetch, "want a path under the bucket"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": "s3://uc-bucket"}`), fetch, "want a path under the bucket"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": "s3://UC_Bucket/m/1"}`), fetch, "invalid bucket name"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": "s3://u:pw-in-uri@uc-bucket/m/1"}`), fetch, "want s3://bucket/path"},
		{"model-versions/get-download-uri", ok(`{"artifact_uri": "s3://uc-bucket/m/none"}`), fetch, "AccessDenied"}, // the credentials cover m/1 only
		{"model-versions/get-download-uri", lastSecret, fetch, "were revoked"},
	} {
		uc.setOverride(c.endpoint, c.h)
		var err error
		switch c.step {
		case versions:
			_, err = byVersion.Versions(ctx)
		case aliasVersions:
			_, err = byAlias.Versions(ctx)
		case fetch:
			_, err = byVersion.Fetch(ctx, 1)
		}
		uc.setOverride(c.endpoint, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d, %s: err = %v, want %q", i, c.endpoint, err, c.want)
			continue
		}
		if len(err.Error()) > 4096 {
			t.Errorf("%s: error of %d bytes", c.endpoint, len(err.Error()))
		}
		noSecrets(t, "error "+c.endpoint, err.Error(), append(uc.secrets(), "pw-in-uri", "s3cr3t-value")...)
	}
	// Echoed secrets are masked, not dropped silently.
	uc.setOverride("model-versions/get", raw(403, `{"error_code": "PERMISSION_DENIED", "message": "token `+ucToken+` lacks USE CATALOG"}`))
	_, err := byVersion.Versions(ctx)
	uc.setOverride("model-versions/get", nil)
	if err == nil || !strings.Contains(err.Error(), "token REDACTED lacks") {
		t.Errorf("echoed token: err = %v", err)
	}

	// After all that, the honest answers still work.
	wantVersions(t, byVersion, 1)
	if _, err := byVersion.Fetch(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// A wrong token: a clear 401 that does not echo it.
	wrong := ucOpts(t, &logs, Config{RegistryURI: "databricks-uc", DatabricksHost: uc.srv.URL, Token: "wrong-" + ucToken})
	ws, _ := source.Open(ctx, "models:/c.s.m/1", wrong)
	if _, err := ws.Versions(ctx); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), ucToken) {
		t.Errorf("wrong token: err = %v", err)
	}
	noSecrets(t, "log output", logs.String(), uc.secrets()...)
}

// TestDatabricksProfiles: databricks-uc://<profile> and databricks://<profile>
// read host and token from the Databricks CLI configuration; without a
// profile, DATABRICKS_HOST wins, else [DEFAULT]. Tokens read from the file
// never appear in errors.
func TestDatabricksProfiles(t *testing.T) {
	const prodToken = "dapi-Prod-Profile-T0ken-1234"
	def := newFakeUC(t, ucToken, "aws")
	prod := newFakeUC(t, prodToken, "aws")
	for _, f := range []*fakeUC{def, prod} {
		f.addVersion("c.s.m", 1, "s3://uc-bucket/m/1")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "databrickscfg")
	writeFile(t, file, "; Databricks CLI\n[DEFAULT]\nhost = "+def.srv.URL+"\ntoken = "+ucToken+"\n\n[prod]\nhost: "+prod.srv.URL+"\nTOKEN = "+prodToken+"\n\n[hostonly]\njobs-api-version = 2.1\n")
	bare := filepath.Join(dir, "bare")
	writeFile(t, bare, "[nocreds]\nhost = https://adb-1.cloud.databricks.com\nauth_type = databricks-cli\n")
	broken := filepath.Join(dir, "broken")
	writeFile(t, broken, "[DEFAULT]\nhost = https://x\n"+prodToken+"\n")
	ctx := context.Background()
	versionsAt := func(cfg Config) error {
		s, err := NewOpener(cfg)(ctx, "models:/c.s.m/1", source.Options{CacheDir: t.TempDir()})
		if err != nil {
			return err
		}
		_, err = s.Versions(ctx)
		return err
	}
	for _, c := range []struct {
		cfg  Config
		want *fakeUC
	}{
		{Config{RegistryURI: "databricks-uc://prod", DatabricksConfigFile: file}, prod},
		{Config{RegistryURI: "databricks-uc://prod/", DatabricksConfigFile: file, DatabricksHost: def.srv.URL, Token: "env-token-unused"}, prod},
		{Config{RegistryURI: "databricks-uc", DatabricksConfigFile: file}, def},
		{Config{RegistryURI: "databricks-uc", DatabricksConfigFile: file, DatabricksHost: prod.srv.URL, Token: prodToken}, prod},
		{Config{RegistryURI: "databricks-uc://hostonly", DatabricksConfigFile: file}, def}, // [DEFAULT] keys apply to every profile
		{Config{TrackingURI: "databricks://prod", RegistryURI: "databricks-uc://prod", DatabricksConfigFile: file}, prod},
	} {
		before := c.want.count("model-versions/get")
		if err := versionsAt(c.cfg); err != nil {
			t.Errorf("%+v: %v", c.cfg, err)
			continue
		}
		if c.want.count("model-versions/get") != before+1 {
			t.Errorf("%+v: the call went elsewhere", c.cfg)
		}
	}
	if def.badAuth != 0 || prod.badAuth != 0 {
		t.Errorf("requests with the wrong token: %d, %d", def.badAuth, prod.badAuth)
	}
	// The workspace registry reads profiles the same way.
	u, err := Config{TrackingURI: "databricks://prod", DatabricksConfigFile: file}.baseURL()
	if err != nil || u.String() != prod.srv.URL {
		t.Errorf("databricks://prod base URL = %v, %v", u, err)
	}

	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{RegistryURI: "databricks-uc://missing", DatabricksConfigFile: file}, "has no profile [missing]"},
		{Config{RegistryURI: "databricks-uc://nocreds", DatabricksConfigFile: bare}, "[nocreds] in " + bare + " has no token (nor username and password); OAuth"},
		{Config{RegistryURI: "databricks-uc", DatabricksConfigFile: bare}, "DATABRICKS_HOST is not set and the Databricks configuration " + bare + " has no [DEFAULT] host"},
		{Config{RegistryURI: "databricks-uc", DatabricksConfigFile: filepath.Join(dir, "none")}, "does not exist"},
		{Config{TrackingURI: "databricks", DatabricksConfigFile: filepath.Join(dir, "none")}, "MLFLOW_TRACKING_URI is databricks but DATABRICKS_HOST is not set"},
		{Config{RegistryURI: "databricks-uc://scope:prefix", DatabricksConfigFile: file}, "Databricks secrets) is not supported"},
		{Config{RegistryURI: "databricks-uc://prod", DatabricksConfigFile: broken}, "line 3: not key = value"},
	} {
		err := versionsAt(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.cfg, err, c.want)
		}
		if err != nil {
			noSecrets(t, "error", err.Error(), ucToken, prodToken)
		}
	}
	// A token read from the file (not the environment, where redact looks)
	// is still masked when the server echoes it.
	prod.setOverride("model-versions/get", func(w http.ResponseWriter, _ *http.Request) {
		prod.fail(w, 403, "PERMISSION_DENIED", "token "+prodToken+" may not read c.s.m")
	})
	err = versionsAt(Config{RegistryURI: "databricks-uc://prod", DatabricksConfigFile: file})
	if err == nil || !strings.Contains(err.Error(), "token REDACTED may not read") {
		t.Errorf("echoed profile token: err = %v", err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBucketRegion: the region comes from x-amz-bucket-region, sent with a
// redirect or a refusal as well as with a success.
func TestBucketRegion(t *testing.T) {
	for status, region := range map[int]string{301: "eu-central-1", 403: "ap-south-1", 200: "us-west-2", 404: ""} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if region != "" {
				w.Header().Set("X-Amz-Bucket-Region", region)
			}
			w.WriteHeader(status)
		}))
		client := s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
			Credentials:      aws.AnonymousCredentials{},
			RetryMaxAttempts: 1,
		})
		if got := bucketRegion(context.Background(), client, "some-bucket"); got != region {
			t.Errorf("HTTP %d with region %q: got %q", status, region, got)
		}
		srv.Close()
	}
}
