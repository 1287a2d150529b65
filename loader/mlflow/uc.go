package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/servable/redact"
)

// Unity Catalog model registry (MLFLOW_REGISTRY_URI=databricks-uc), after
// MLflow's UcModelRegistryStore (mlflow/store/_unity_catalog/registry/
// rest_store.py) and UnityCatalogModelsArtifactRepository
// (mlflow/store/artifact/unity_catalog_models_artifact_repo.py). The REST
// paths are those of mlflow/protos/databricks_uc_registry_service.proto,
// under {host}/api/2.0/mlflow/unity-catalog/:
//
//	GET  model-versions/get?name&version         -> {"model_version": {...}}
//	GET  registered-models/alias?name&alias      -> {"model_version": {...}}
//	POST model-versions/generate-temporary-credentials
//	     {"name", "version", "operation": "MODEL_VERSION_OPERATION_READ"}
//	                                             -> {"credentials": TemporaryCredentials}
//	GET  model-versions/get-download-uri?name&version -> {"artifact_uri": "s3://..."}

const (
	ucAPI = "unity-catalog/"
	// maxUCResponse bounds a Unity Catalog JSON answer (they are a few
	// hundred bytes); a larger one is refused, not truncated.
	maxUCResponse = 1 << 20
	// maxErrorMessage bounds the server's error text quoted in an error.
	maxErrorMessage = 512
	ucReadOperation = "MODEL_VERSION_OPERATION_READ"
	ucAliasDocURL   = "https://mlflow.org/docs/latest/model-registry.html#deploy-and-organize-models-with-aliases-and-tags"
)

// checkUCURI applies Unity Catalog's rules to a models:/ URI: a three-level
// name (catalog.schema.model), and a version number or an alias. Stages
// and "latest" fail with MLflow's own messages (UcModelRegistryStore.
// get_latest_versions), raised where MLflow raises them: before anything
// is fetched. raw is the URI as given (MLflow quotes the stage as typed).
func checkUCURI(raw string, m ModelURI, parseErr error) error {
	if parseErr != nil {
		if suffix, ok := rawStageSuffix(raw); ok {
			return ucStageError(suffix)
		}
		return parseErr
	}
	switch m.Selector {
	case ByStage:
		suffix, _ := rawStageSuffix(raw)
		return ucStageError(suffix)
	case ByLatest:
		return errors.New("Method 'get_latest_versions' is unsupported for models in the Unity Catalog. " +
			"To load the latest version of a model in Unity Catalog, you can set an alias on the model version " +
			"and load it by alias. See " + ucAliasDocURL + " for details.")
	}
	return checkUCName(m.Name)
}

func ucStageError(stage string) error {
	return fmt.Errorf("Method 'get_latest_versions' is unsupported for models in the Unity Catalog. "+
		"Detected attempt to load latest model version in stages ['%s']. You may see this error because:\n"+
		"1) You're attempting to load a model version by stage. Setting stages and loading model versions by stage "+
		"is unsupported in Unity Catalog. Instead, use aliases for flexible model deployment. See %s for details.\n"+
		"2) You're attempting to load a model version by alias. Use syntax 'models:/your_model_name@your_alias_name'\n"+
		"3) You're attempting load a model version by version number. Verify that the version number is a valid integer",
		stage, ucAliasDocURL)
}

// rawStageSuffix returns the suffix of models:/<name>/<suffix> when MLflow
// would take it for a stage: neither digits nor "latest".
func rawStageSuffix(raw string) (string, bool) {
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || !strings.EqualFold(scheme, "models") || !strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "//") {
		return "", false
	}
	parts := strings.Split(rest[1:], "/")
	if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
		return "", false
	}
	if isDigits(parts[1]) || strings.EqualFold(parts[1], "latest") {
		return "", false
	}
	return parts[1], true
}

// checkUCName requires catalog.schema.model. MLflow completes shorter names
// from the current catalog and schema of a Spark session
// (get_full_name_from_sc), which a model server does not have.
func checkUCName(name string) error {
	parts := strings.Split(name, ".")
	ok := len(parts) == 3
	for _, p := range parts {
		if p == "" || strings.TrimSpace(p) != p || strings.IndexFunc(p, unicode.IsControl) >= 0 || strings.ContainsAny(p, "/") {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("Unity Catalog model names have three levels, <catalog>.<schema>.<model>; got %q", name)
	}
	return nil
}

// ucModelVersion is the registry's ModelVersion message (the fields used).
type ucModelVersion struct {
	Name            string      `json:"name"`
	Version         jsonVersion `json:"version"`
	Status          string      `json:"status"`
	StorageLocation string      `json:"storage_location"`
}

// jsonVersion is a version number sent as a JSON string of digits (the
// MLflow dialect) or a JSON integer (the Unity Catalog dialect).
type jsonVersion struct {
	n   int64
	set bool
}

func (v *jsonVersion) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if !isDigits(s) || len(s) > 18 {
		return fmt.Errorf("version %.40s is not a version number", b)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("version %.40s: %w", b, err)
	}
	*v = jsonVersion{n: n, set: true}
	return nil
}

// jsonInt64 is a protobuf int64: a JSON string of an integer, or a number.
type jsonInt64 int64

func (v *jsonInt64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%.40s is not an integer", b)
	}
	*v = jsonInt64(n)
	return nil
}

// ucCall performs one Unity Catalog REST call on
// {base}/api/2.0/mlflow/unity-catalog/{endpoint}: GET with query, or POST
// with a JSON body. The answer must be HTTP 200 with a JSON object of at
// most maxUCResponse bytes and nothing after it; out's typed fields are
// checked by encoding/json (a number where a string belongs fails).
func (c *client) ucCall(ctx context.Context, endpoint string, query url.Values, body, out any) error {
	what := "mlflow " + ucAPI + endpoint
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path += "/api/2.0/mlflow/" + ucAPI + endpoint
	u.RawQuery = query.Encode()
	method := http.MethodGet
	var rd io.Reader
	if body != nil {
		method = http.MethodPost
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s: %w", what, redactErr(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s at %s: %w", what, c.redacted, redactErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUCResponse+1))
	if err != nil {
		return fmt.Errorf("%s at %s: read answer: %w", what, c.redacted, redactErr(err))
	}
	if len(data) > maxUCResponse {
		return fmt.Errorf("%s at %s: answer larger than %d bytes refused", what, c.redacted, maxUCResponse)
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		e.Code = clip(e.Code, 64)
		e.Message = clip(e.Message, maxErrorMessage)
		if e.Message == "" && resp.StatusCode == http.StatusUnauthorized {
			e.Message = "unauthorized: check the Databricks token (DATABRICKS_TOKEN or the profile's token)"
		}
		return fmt.Errorf("%s at %s: %w", what, c.redacted, e)
	}
	if err := decodeObject(data, out); err != nil {
		return fmt.Errorf("%s at %s: bad answer: %w", what, c.redacted, err)
	}
	return nil
}

// decodeObject decodes exactly one JSON object into out.
func decodeObject(data []byte, out any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// clip bounds server-supplied text quoted in errors and redacts it.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return redact.String(s)
}

func (c *client) ucModelVersion(ctx context.Context, name string, version int64) (ucModelVersion, error) {
	var out struct {
		ModelVersion *ucModelVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "version": {strconv.FormatInt(version, 10)}}
	if err := c.ucCall(ctx, "model-versions/get", q, nil, &out); err != nil {
		return ucModelVersion{}, err
	}
	mv, err := checkMV(out.ModelVersion, "model-versions/get")
	if err == nil && mv.Version.n != version {
		err = fmt.Errorf("mlflow %smodel-versions/get: asked for version %d, got version %d", ucAPI, version, mv.Version.n)
	}
	return mv, err
}

func (c *client) ucAliasVersion(ctx context.Context, name, alias string) (ucModelVersion, error) {
	var out struct {
		ModelVersion *ucModelVersion `json:"model_version"`
	}
	if err := c.ucCall(ctx, "registered-models/alias", url.Values{"name": {name}, "alias": {alias}}, nil, &out); err != nil {
		return ucModelVersion{}, err
	}
	return checkMV(out.ModelVersion, "registered-models/alias")
}

func checkMV(mv *ucModelVersion, endpoint string) (ucModelVersion, error) {
	switch {
	case mv == nil:
		return ucModelVersion{}, fmt.Errorf("mlflow %s%s: answer has no model_version", ucAPI, endpoint)
	case !mv.Version.set:
		return ucModelVersion{}, fmt.Errorf("mlflow %s%s: model_version has no version", ucAPI, endpoint)
	case mv.Status == "":
		return ucModelVersion{}, fmt.Errorf("mlflow %s%s: model_version has no status", ucAPI, endpoint)
	}
	return *mv, nil
}

func (c *client) ucDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	var out struct {
		ArtifactURI *string `json:"artifact_uri"`
	}
	q := url.Values{"name": {name}, "version": {strconv.FormatInt(version, 10)}}
	if err := c.ucCall(ctx, "model-versions/get-download-uri", q, nil, &out); err != nil {
		return "", err
	}
	if out.ArtifactURI == nil || *out.ArtifactURI == "" {
		return "", fmt.Errorf("mlflow %smodel-versions/get-download-uri: answer has no artifact_uri", ucAPI)
	}
	return *out.ArtifactURI, nil
}

// ucCredentials is the TemporaryCredentials message.
type ucCredentials struct {
	AWS *struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		SessionToken    string `json:"session_token"`
	} `json:"aws_temp_credentials"`
	Azure *struct {
		SASToken string `json:"sas_token"`
	} `json:"azure_user_delegation_sas"`
	GCP *struct {
		OAuthToken string `json:"oauth_token"`
	} `json:"gcp_oauth_token"`
	R2             *json.RawMessage `json:"r2_temp_credentials"`
	ExpirationTime *jsonInt64       `json:"expiration_time"`
	StorageMode    string           `json:"storage_mode"`
}

// kind names the credential in the oneof, checking that exactly one is set
// and that the fields used are present.
func (tc *ucCredentials) kind() (string, error) {
	var kinds []string
	if tc.AWS != nil {
		kinds = append(kinds, "aws_temp_credentials")
	}
	if tc.Azure != nil {
		kinds = append(kinds, "azure_user_delegation_sas")
	}
	if tc.GCP != nil {
		kinds = append(kinds, "gcp_oauth_token")
	}
	if tc.R2 != nil {
		kinds = append(kinds, "r2_temp_credentials")
	}
	if tc.StorageMode == "DEFAULT_STORAGE" {
		// MLflow reads such versions through presigned URLs
		// (PresignedUrlArtifactRepository), whatever else is sent.
		return "", errors.New("the model version is in Databricks default storage, which MLflow reads through presigned URLs; that is not supported here")
	}
	switch {
	case len(kinds) == 0:
		return "", errors.New("the answer holds no credentials")
	case len(kinds) > 1:
		return "", fmt.Errorf("the answer holds several kinds of credentials (%s)", strings.Join(kinds, ", "))
	}
	switch kinds[0] {
	case "aws_temp_credentials":
		var missing []string
		if tc.AWS.AccessKeyID == "" {
			missing = append(missing, "access_key_id")
		}
		if tc.AWS.SecretAccessKey == "" {
			missing = append(missing, "secret_access_key")
		}
		if tc.AWS.SessionToken == "" {
			missing = append(missing, "session_token")
		}
		if len(missing) > 0 {
			return "", fmt.Errorf("aws_temp_credentials without %s", strings.Join(missing, ", "))
		}
	case "gcp_oauth_token":
		if tc.GCP.OAuthToken == "" {
			return "", errors.New("gcp_oauth_token without oauth_token")
		}
	case "azure_user_delegation_sas":
		return "", errors.New("Azure storage (azure_user_delegation_sas for abfss:// locations) is not supported")
	case "r2_temp_credentials":
		return "", errors.New("Cloudflare R2 storage (r2_temp_credentials) is not supported")
	}
	return kinds[0], nil
}

// secrets lists the credential values, for masking.
func (tc *ucCredentials) secrets() []string {
	var out []string
	if tc.AWS != nil {
		out = append(out, tc.AWS.AccessKeyID, tc.AWS.SecretAccessKey, tc.AWS.SessionToken)
	}
	if tc.GCP != nil {
		out = append(out, tc.GCP.OAuthToken)
	}
	if tc.Azure != nil {
		out = append(out, tc.Azure.SASToken)
	}
	return out
}

// expires returns when the credentials expire; zero if the answer does not
// say.
func (tc *ucCredentials) expires() time.Time {
	if tc.ExpirationTime == nil || *tc.ExpirationTime <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(*tc.ExpirationTime))
}

// ucCredentials asks for read credentials for one model version's storage
// (GenerateTemporaryModelVersionCredentials with MODEL_VERSION_OPERATION_READ,
// as UnityCatalogModelsArtifactRepository._get_scoped_token does).
func (c *client) ucCredentials(ctx context.Context, name string, version int64) (*ucCredentials, string, error) {
	var out struct {
		Credentials *ucCredentials `json:"credentials"`
	}
	body := map[string]string{"name": name, "version": strconv.FormatInt(version, 10), "operation": ucReadOperation}
	if err := c.ucCall(ctx, "model-versions/generate-temporary-credentials", nil, body, &out); err != nil {
		if out.Credentials != nil {
			err = scrub(err, out.Credentials.secrets()...)
		}
		return nil, "", err
	}
	if out.Credentials == nil {
		return nil, "", fmt.Errorf("mlflow %smodel-versions/generate-temporary-credentials: answer has no credentials", ucAPI)
	}
	kind, err := out.Credentials.kind()
	if err != nil {
		return nil, "", fmt.Errorf("mlflow %smodel-versions/generate-temporary-credentials for %s version %d: %w", ucAPI, name, version, err)
	}
	return out.Credentials, kind, nil
}

// credRefreshWindow: credentials are renewed this long before they expire.
const credRefreshWindow = time.Minute

// maxRememberedSecrets bounds the credential values kept for masking.
const maxRememberedSecrets = 64

// credSource holds one model version's temporary credentials and renews
// them from the registry shortly before they expire (MLflow passes the
// same refresh function to its artifact repositories).
type credSource struct {
	kind    string
	refresh func(context.Context) (*ucCredentials, string, error)
	now     func() time.Time

	mu      sync.Mutex
	cur     *ucCredentials
	renewAt time.Time // zero: never
	seen    []string
}

func newCredSource(first *ucCredentials, kind string, refresh func(context.Context) (*ucCredentials, string, error)) *credSource {
	s := &credSource{kind: kind, refresh: refresh, now: time.Now}
	s.set(first)
	return s
}

func (s *credSource) set(tc *ucCredentials) {
	s.cur = tc
	s.renewAt = time.Time{}
	if exp := tc.expires(); !exp.IsZero() {
		s.renewAt = exp.Add(-credRefreshWindow)
	}
	for _, v := range tc.secrets() {
		if v != "" {
			s.seen = append(s.seen, v)
		}
	}
	if n := len(s.seen); n > maxRememberedSecrets {
		s.seen = append([]string(nil), s.seen[n-maxRememberedSecrets:]...)
	}
}

// get returns valid credentials, renewing them if they are about to expire;
// renewAt is when they should be renewed (zero: never).
func (s *credSource) get(ctx context.Context) (*ucCredentials, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.renewAt.IsZero() && !s.now().Before(s.renewAt) {
		tc, kind, err := s.refresh(ctx)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("renew temporary credentials: %w", err)
		}
		if kind != s.kind {
			return nil, time.Time{}, fmt.Errorf("renew temporary credentials: got %s instead of %s", kind, s.kind)
		}
		s.set(tc)
	}
	return s.cur, s.renewAt, nil
}

// secrets returns every credential value this source has held.
func (s *credSource) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// scrubbed is an error whose text had credential values masked.
type scrubbed struct {
	msg string
	err error
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

// minScrubLen: shorter values would mask ordinary words.
const minScrubLen = 4

// scrub masks every occurrence of the given secret values in err's text;
// the result still unwraps to err.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if len(s) >= minScrubLen && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, redact.Mask)
			changed = true
		}
	}
	if !changed {
		return err
	}
	return scrubbed{msg: msg, err: err}
}

// resolveUC returns the version a Unity Catalog URI names now.
func (r *registrySource) resolveUC(ctx context.Context) (int64, error) {
	name := r.uri.Name
	switch r.uri.Selector {
	case ByVersion:
		mv, err := r.c.ucModelVersion(ctx, name, r.uri.Version)
		if err != nil {
			return 0, notFound(err, fmt.Sprintf("model %q version %d not found in Unity Catalog", name, r.uri.Version))
		}
		if mv.Status != "READY" {
			return 0, fmt.Errorf("model %q version %d is %s, not READY", name, r.uri.Version, clip(mv.Status, 64))
		}
		return r.uri.Version, nil
	case ByAlias:
		mv, err := r.c.ucAliasVersion(ctx, name, r.uri.Alias)
		if err != nil {
			return 0, notFound(err, fmt.Sprintf("model %q or its alias %q not found in Unity Catalog", name, r.uri.Alias))
		}
		if mv.Status != "READY" {
			return 0, fmt.Errorf("model %q alias %q points to version %d, which is %s, not READY", name, r.uri.Alias, mv.Version.n, clip(mv.Status, 64))
		}
		return mv.Version.n, nil
	}
	return 0, errors.New("Unity Catalog URIs name a version or an alias")
}

// ucTree returns the Tree of a Unity Catalog model version: read
// credentials first, then the storage location (the order of
// UnityCatalogModelsArtifactRepository._get_artifact_repo), then a reader
// for that location that signs with those credentials only.
func (r *registrySource) ucTree(ctx context.Context, version int64) (source.Tree, error) {
	name := r.uri.Name
	tc, kind, err := r.c.ucCredentials(ctx, name, version)
	if err != nil {
		return nil, err
	}
	refresh := func(ctx context.Context) (*ucCredentials, string, error) {
		return r.c.ucCredentials(ctx, name, version)
	}
	creds := newCredSource(tc, kind, refresh)
	loc, err := r.c.ucDownloadURI(ctx, name, version)
	if err != nil {
		return nil, scrub(err, creds.secrets()...)
	}
	var tree source.Tree
	switch kind {
	case "aws_temp_credentials":
		tree, err = newUCS3Tree(ctx, loc, creds)
	case "gcp_oauth_token":
		tree, err = newUCGCSTree(loc, creds, r.c.timeout)
	default:
		err = fmt.Errorf("unsupported credentials %s", kind)
	}
	if err != nil {
		return nil, scrub(err, creds.secrets()...)
	}
	return scrubTree{tree, creds}, nil
}

// scrubTree masks the temporary credentials in every error of a Tree.
type scrubTree struct {
	t     source.Tree
	creds *credSource
}

func (s scrubTree) Files(ctx context.Context) (source.Files, error) {
	f, err := s.t.Files(ctx)
	return f, scrub(err, s.creds.secrets()...)
}

func (s scrubTree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	rc, err := s.t.Open(ctx, rel)
	return rc, scrub(err, s.creds.secrets()...)
}

func (s scrubTree) String() string { return s.t.String() }
