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
	"time"

	"github.com/tfserve/tfserve/loader/source"
)

// Config says how to reach the MLflow tracking server that hosts the model
// registry.
type Config struct {
	// TrackingURI is http(s)://host[:port][/prefix], "databricks" or
	// "databricks://<profile>" (a Databricks workspace registry).
	TrackingURI string
	// RegistryURI, when set, names the model registry instead of
	// TrackingURI (MLflow's MLFLOW_REGISTRY_URI). "databricks-uc" or
	// "databricks-uc://<profile>" selects the Unity Catalog registry; any
	// other value is used like TrackingURI (runs:/ and mlflow-artifacts:/
	// sources are then read from that server too).
	RegistryURI string
	// DatabricksHost is the workspace URL for "databricks" and
	// "databricks-uc" without a profile (DATABRICKS_HOST).
	DatabricksHost string
	// Token is sent as "Authorization: Bearer <Token>". Otherwise Username
	// and Password, if set, are sent as basic auth. With a Databricks
	// profile, the profile's token (or username and password) is used
	// instead.
	Token    string
	Username string
	Password string
	// DatabricksConfigFile is the Databricks CLI configuration read for
	// databricks://<profile> and databricks-uc://<profile>, and for its
	// DEFAULT profile when DatabricksHost is empty. Empty:
	// $DATABRICKS_CONFIG_FILE, else ~/.databrickscfg.
	DatabricksConfigFile string
	// Timeout bounds each REST call to the registry; 0 means 60 seconds.
	// (Artifact downloads are bounded by their sizes, not by time.)
	Timeout time.Duration
}

// ConfigFromEnv reads MLflow's standard environment variables:
// MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI, DATABRICKS_HOST,
// MLFLOW_TRACKING_TOKEN or DATABRICKS_TOKEN, MLFLOW_TRACKING_USERNAME,
// MLFLOW_TRACKING_PASSWORD and DATABRICKS_CONFIG_FILE. getenv is usually
// os.Getenv.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{
		TrackingURI:          getenv("MLFLOW_TRACKING_URI"),
		RegistryURI:          getenv("MLFLOW_REGISTRY_URI"),
		DatabricksHost:       getenv("DATABRICKS_HOST"),
		Token:                getenv("MLFLOW_TRACKING_TOKEN"),
		Username:             getenv("MLFLOW_TRACKING_USERNAME"),
		Password:             getenv("MLFLOW_TRACKING_PASSWORD"),
		DatabricksConfigFile: getenv("DATABRICKS_CONFIG_FILE"),
	}
	if c.Token == "" {
		c.Token = getenv("DATABRICKS_TOKEN")
	}
	return c
}

// registryKind is the kind of registry a Config names.
type registryKind int

const (
	kindREST       registryKind = iota // an MLflow tracking server
	kindDatabricks                     // a Databricks workspace registry
	kindUC                             // a Databricks Unity Catalog registry
)

// registryURI is the URI of the registry: RegistryURI, else TrackingURI.
func (c Config) registryURI() (uri, envName string) {
	if s := strings.TrimSpace(c.RegistryURI); s != "" {
		return s, "MLFLOW_REGISTRY_URI"
	}
	return strings.TrimSpace(c.TrackingURI), "MLFLOW_TRACKING_URI"
}

func (c Config) kind() registryKind {
	uri, _ := c.registryURI()
	scheme, _, _ := strings.Cut(strings.ToLower(uri), "://")
	switch scheme {
	case "databricks":
		return kindDatabricks
	case "databricks-uc":
		return kindUC
	}
	return kindREST
}

// databricks reports whether the registry is a Databricks workspace
// registry (not Unity Catalog).
func (c Config) databricks() bool { return c.kind() == kindDatabricks }

// baseURL returns the registry's base URL without a trailing slash.
func (c Config) baseURL() (*url.URL, error) {
	e, err := c.endpoint()
	if err != nil {
		return nil, err
	}
	return e.base, nil
}

// endpoint is where the registry is and how to authenticate to it.
type endpoint struct {
	base               *url.URL // no user info
	kind               registryKind
	token              string
	username, password string
}

func (c Config) endpoint() (endpoint, error) {
	raw, envName := c.registryURI()
	e := endpoint{kind: c.kind(), token: c.Token, username: c.Username, password: c.Password}
	switch {
	case raw == "":
		return e, errors.New("MLFLOW_TRACKING_URI is not set")
	case e.kind != kindREST:
		creds, err := c.databricksCreds(raw, envName)
		if err != nil {
			return e, err
		}
		raw, e.token, e.username, e.password = creds.host, creds.token, creds.username, creds.password
		if !strings.Contains(raw, "://") {
			raw = "https://" + raw
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return e, fmt.Errorf("tracking URI %s: %w", source.Redact(raw), redactErr(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return e, fmt.Errorf("tracking URI %s: want http(s)://host, databricks or databricks-uc (local file stores have no REST API)", source.Redact(raw))
	}
	if u.Host == "" {
		return e, fmt.Errorf("tracking URI %s: no host", source.Redact(raw))
	}
	if u.User != nil {
		if e.token == "" && e.username == "" && e.password == "" {
			e.username = u.User.Username()
			e.password, _ = u.User.Password()
		}
		u.User = nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	e.base = u
	return e, nil
}

// defaultTimeout bounds a registry REST call when Config.Timeout is 0.
const defaultTimeout = 60 * time.Second

// client calls the MLflow REST API.
type client struct {
	base     *url.URL // no user info
	kind     registryKind
	token    string
	username string
	password string
	timeout  time.Duration
	http     *http.Client
	redacted string
}

func newClient(cfg Config, hc *http.Client) (*client, error) {
	e, err := cfg.endpoint()
	if err != nil {
		return nil, err
	}
	c := &client{
		base: e.base, kind: e.kind, token: e.token, username: e.username, password: e.password,
		timeout: cfg.Timeout, http: hc, redacted: e.base.String(),
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	return c, nil
}

// authorize adds the configured credentials to a request for the tracking
// server (never for signed or third-party URLs).
func (c *client) authorize(req *http.Request) {
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.username != "" || c.password != "":
		req.SetBasicAuth(c.username, c.password)
	}
}

// secrets are the client's credentials, masked in every error it returns
// (a profile's token is not in the environment, where redact looks).
func (c *client) secrets() []string { return []string{c.token, c.password} }

// apiError is an MLflow error response.
type apiError struct {
	Status  int
	Code    string `json:"error_code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	switch {
	case e.Code != "" && e.Message != "":
		return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
	case e.Message != "":
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

func (e *apiError) notFound() bool {
	return e.Code == "RESOURCE_DOES_NOT_EXIST" || e.Status == http.StatusNotFound
}

// maxAPIResponse bounds a JSON response body.
const maxAPIResponse = 64 << 20

// call performs a REST call on {base}/api/2.0/mlflow/{endpoint}; body nil
// means GET with query, else POST with a JSON body.
func (c *client) call(ctx context.Context, endpoint string, query url.Values, body, out any) error {
	u := *c.base
	u.Path += "/api/2.0/mlflow/" + endpoint
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
	return c.do(ctx, method, u.String(), rd, out, endpoint)
}

func (c *client) do(ctx context.Context, method, u string, body io.Reader, out any, what string) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("mlflow %s: %w", what, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mlflow %s at %s: %w", what, c.redacted, redactErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return fmt.Errorf("mlflow %s at %s: %w", what, c.redacted, redactErr(err))
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		if e.Message == "" && resp.StatusCode == http.StatusUnauthorized {
			e.Message = "unauthorized: check MLFLOW_TRACKING_TOKEN / DATABRICKS_TOKEN or MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD"
		}
		return fmt.Errorf("mlflow %s at %s: %w", what, c.redacted, e)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("mlflow %s at %s: decode response: %w", what, c.redacted, err)
	}
	return nil
}

// open GETs a URL on the tracking server and returns the body.
func (c *client) open(ctx context.Context, u, what string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("mlflow %s: %w", what, err)
	}
	c.authorize(req)
	return c.get(req, what)
}

func (c *client) get(req *http.Request, what string) (io.ReadCloser, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, redactErr(err))
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		return nil, fmt.Errorf("%s: %w", what, e)
	}
	return resp.Body, nil
}

// modelVersion is the registry's ModelVersion message (fields we use).
type modelVersion struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	CurrentStage string `json:"current_stage"`
	Source       string `json:"source"`
	RunID        string `json:"run_id"`
	Status       string `json:"status"`
}

func (m modelVersion) number() (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(m.Version), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("model version %q is not a number", m.Version)
	}
	return v, nil
}

// ready reports whether the version finished registration (an absent status
// counts as ready: older servers do not send it).
func (m modelVersion) ready() bool {
	return m.Status == "" || m.Status == "READY"
}

func (c *client) latestVersions(ctx context.Context, name string, stages []string) ([]modelVersion, error) {
	var out struct {
		ModelVersions []modelVersion `json:"model_versions"`
	}
	body := map[string]any{"name": name}
	if len(stages) > 0 {
		body["stages"] = stages
	}
	err := c.call(ctx, "registered-models/get-latest-versions", nil, body, &out)
	return out.ModelVersions, err
}

func (c *client) modelVersion(ctx context.Context, name string, version int64) (modelVersion, error) {
	var out struct {
		ModelVersion modelVersion `json:"model_version"`
	}
	err := c.call(ctx, "model-versions/get", url.Values{"name": {name}, "version": {strconv.FormatInt(version, 10)}}, nil, &out)
	return out.ModelVersion, err
}

func (c *client) aliasVersion(ctx context.Context, name, alias string) (modelVersion, error) {
	var out struct {
		ModelVersion modelVersion `json:"model_version"`
	}
	err := c.call(ctx, "registered-models/alias", url.Values{"name": {name}, "alias": {alias}}, nil, &out)
	return out.ModelVersion, err
}

func (c *client) downloadURI(ctx context.Context, name string, version int64) (string, error) {
	var out struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	err := c.call(ctx, "model-versions/get-download-uri", url.Values{"name": {name}, "version": {strconv.FormatInt(version, 10)}}, nil, &out)
	if err == nil && out.ArtifactURI == "" {
		err = fmt.Errorf("mlflow get-download-uri for %s version %d: empty artifact_uri", name, version)
	}
	return out.ArtifactURI, err
}

func (c *client) runArtifactURI(ctx context.Context, runID string) (string, error) {
	var out struct {
		Run struct {
			Info struct {
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	err := c.call(ctx, "runs/get", url.Values{"run_id": {runID}}, nil, &out)
	if err == nil && out.Run.Info.ArtifactURI == "" {
		err = fmt.Errorf("mlflow runs/get %s: empty artifact_uri", runID)
	}
	return out.Run.Info.ArtifactURI, err
}

// redactErr strips credentials from the URL inside a *url.Error.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: source.Redact(ue.URL), Err: ue.Err}
	}
	return err
}

// int64Field accepts a JSON number or a string holding one (protobuf JSON
// writes int64 as a string).
type int64Field int64

func (f *int64Field) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("file_size %s: %w", b, err)
	}
	*f = int64Field(v)
	return nil
}
