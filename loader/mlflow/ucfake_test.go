package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// fakeUC is an in-process Databricks workspace serving the Unity Catalog
// model registry endpoints MLflow uses, with MLflow's JSON shapes. It
// checks the bearer token, issues fresh temporary credentials (AWS or GCP)
// scoped to one version's storage location on every
// generate-temporary-credentials call, and lets a test replace any answer.
type fakeUC struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	cloud string // "aws" or "gcp"

	mu       sync.Mutex
	versions map[string]map[int64]*ucFakeVersion
	aliases  map[string]map[string]int64
	keys     map[string]*ucFakeKey // access key id or oauth token -> key
	issued   []*ucFakeKey
	// expiry gives the n-th issued credentials' lifetime; nil: an hour.
	expiry  func(n int) time.Duration
	calls   map[string]int
	badAuth int
	// badRequest counts credential requests that were not READ requests
	// for an existing version.
	badRequest int
	// override, if it has the endpoint, writes that endpoint's answer.
	override map[string]http.HandlerFunc
}

type ucFakeVersion struct {
	status   string
	location string // s3://bucket/prefix or gs://bucket/prefix
}

type ucFakeKey struct {
	akid, secret, session string // AWS
	oauth                 string // GCP
	bucket, prefix        string // what the key may read
}

func newFakeUC(t *testing.T, token, cloud string) *fakeUC {
	f := &fakeUC{
		t: t, token: token, cloud: cloud,
		versions: map[string]map[int64]*ucFakeVersion{},
		aliases:  map[string]map[string]int64{},
		keys:     map[string]*ucFakeKey{},
		calls:    map[string]int{},
		override: map[string]http.HandlerFunc{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUC) addVersion(name string, v int64, location string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.versions[name] == nil {
		f.versions[name] = map[int64]*ucFakeVersion{}
	}
	f.versions[name][v] = &ucFakeVersion{status: "READY", location: location}
}

func (f *fakeUC) setAlias(name, alias string, v int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.aliases[name] == nil {
		f.aliases[name] = map[string]int64{}
	}
	f.aliases[name][alias] = v
}

func (f *fakeUC) setOverride(endpoint string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h == nil {
		delete(f.override, endpoint)
		return
	}
	f.override[endpoint] = h
}

func (f *fakeUC) count(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[endpoint]
}

// key returns the credentials issued under an access key id or token.
func (f *fakeUC) key(id string) (*ucFakeKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	return k, ok
}

// secrets lists the Databricks token and every credential value issued.
func (f *fakeUC) secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []string{f.token}
	for _, k := range f.issued {
		for _, s := range []string{k.akid, k.secret, k.session, k.oauth} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (f *fakeUC) answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeUC) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func (f *fakeUC) mv(name string, v int64, fv *ucFakeVersion) map[string]any {
	return map[string]any{
		"name": name, "version": strconv.FormatInt(v, 10), "status": fv.status,
		"storage_location": fv.location, "source": "dbfs:/databricks/mlflow-tracking/1/r/artifacts/model",
		"run_id": "r", "creation_timestamp": 1700000000000, "aliases": []any{},
	}
}

const ucPath = "/api/2.0/mlflow/unity-catalog/"

func (f *fakeUC) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.badAuth++
		f.fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Invalid access token.")
		return
	}
	endpoint, ok := strings.CutPrefix(r.URL.Path, ucPath)
	if !ok {
		f.fail(w, 404, "ENDPOINT_NOT_FOUND", "No API found for '"+r.URL.Path+"'")
		return
	}
	f.calls[endpoint]++
	if h := f.override[endpoint]; h != nil {
		h(w, r)
		return
	}
	q := r.URL.Query()
	name := q.Get("name")
	switch endpoint {
	case "model-versions/get", "model-versions/get-download-uri":
		if r.Method != http.MethodGet {
			f.fail(w, 405, "BAD_REQUEST", "want GET")
			return
		}
		v, _ := strconv.ParseInt(q.Get("version"), 10, 64)
		fv := f.versions[name][v]
		if fv == nil {
			f.fail(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", name, q.Get("version")))
			return
		}
		if endpoint == "model-versions/get" {
			f.answer(w, map[string]any{"model_version": f.mv(name, v, fv)})
		} else {
			f.answer(w, map[string]any{"artifact_uri": fv.location})
		}
	case "registered-models/alias":
		if r.Method != http.MethodGet {
			f.fail(w, 405, "BAD_REQUEST", "want GET")
			return
		}
		v, ok := f.aliases[name][q.Get("alias")]
		if !ok {
			f.fail(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Alias %s not found for registered model %s", q.Get("alias"), name))
			return
		}
		f.answer(w, map[string]any{"model_version": f.mv(name, v, f.versions[name][v])})
	case "model-versions/generate-temporary-credentials":
		var req struct {
			Name, Version, Operation string
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || dec.Decode(&req) != nil {
			f.badRequest++
			f.fail(w, 400, "INVALID_PARAMETER_VALUE", "want a JSON POST of name, version, operation")
			return
		}
		v, _ := strconv.ParseInt(req.Version, 10, 64)
		fv := f.versions[req.Name][v]
		if req.Operation != "MODEL_VERSION_OPERATION_READ" || fv == nil {
			f.badRequest++
			f.fail(w, 400, "INVALID_PARAMETER_VALUE", "bad operation or version")
			return
		}
		f.answer(w, map[string]any{"credentials": f.issue(fv.location)})
	default:
		f.fail(w, 404, "ENDPOINT_NOT_FOUND", "no such endpoint "+endpoint)
	}
}

// issue creates credentials for one storage location (f.mu held).
func (f *fakeUC) issue(location string) map[string]any {
	u, _ := url.Parse(location)
	n := len(f.issued)
	k := &ucFakeKey{bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	life := time.Hour
	if f.expiry != nil {
		life = f.expiry(n)
	}
	creds := map[string]any{
		"expiration_time": time.Now().Add(life).UnixMilli(),
		"storage_mode":    "CUSTOMER_HOSTED",
	}
	switch f.cloud {
	case "aws":
		k.akid = fmt.Sprintf("ASIAUCTEMP%06d", n)
		k.secret = fmt.Sprintf("uc-Secret-Access-Key-%06d-xyz", n)
		k.session = fmt.Sprintf("uc-Session-Token-%06d-IQoJb3JpZ2luX2VjE", n)
		f.keys[k.akid] = k
		creds["aws_temp_credentials"] = map[string]string{
			"access_key_id": k.akid, "secret_access_key": k.secret, "session_token": k.session,
		}
	case "gcp":
		k.oauth = fmt.Sprintf("ya29.uc-OAuth-Token-%06d", n)
		f.keys[k.oauth] = k
		creds["gcp_oauth_token"] = map[string]string{"oauth_token": k.oauth}
	}
	f.issued = append(f.issued, k)
	return creds
}

// s3Guard stands in front of gofakes3 and lets through only requests
// signed (SigV4, recomputed here) with credentials the fake UC issued,
// carrying their session token, for the location they were issued for.
type s3Guard struct {
	uc    *fakeUC
	proxy *httputil.ReverseProxy
	srv   *httptest.Server

	mu       sync.Mutex
	used     map[string]int // access key id -> accepted requests
	rejected []string
}

func newS3Guard(t *testing.T, uc *fakeUC) *s3Guard {
	target, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_S3")) // set by s3fake.Start
	if err != nil || target.Host == "" {
		t.Fatalf("s3fake endpoint %q", os.Getenv("AWS_ENDPOINT_URL_S3"))
	}
	g := &s3Guard{uc: uc, proxy: httputil.NewSingleHostReverseProxy(target), used: map[string]int{}}
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_S3", g.srv.URL)
	return g
}

func (g *s3Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	akid, why := g.check(r)
	g.mu.Lock()
	if why != "" {
		g.rejected = append(g.rejected, r.Method+" "+r.URL.Path+": "+why)
	} else {
		g.used[akid]++
	}
	g.mu.Unlock()
	if why != "" {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
		return
	}
	g.proxy.ServeHTTP(w, r)
}

func (g *s3Guard) check(r *http.Request) (akid, why string) {
	const alg = "AWS4-HMAC-SHA256 "
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, alg) {
		return "", "not signed with SigV4"
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(auth[len(alg):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[3] != "s3" {
		return "", "bad credential scope"
	}
	key, ok := g.uc.key(scope[0])
	if !ok || key.akid == "" {
		return "", "access key " + scope[0] + " was not issued by Unity Catalog"
	}
	if r.Header.Get("X-Amz-Security-Token") != key.session {
		return "", "session token missing or not the one issued with " + key.akid
	}
	// Recompute the signature with the issued secret over the headers the
	// client says it signed.
	check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" {
			check.Header[textproto.CanonicalMIMEHeaderKey(h)] = r.Header.Values(h)
		}
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", "no X-Amz-Date"
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: key.akid, SecretAccessKey: key.secret, SessionToken: key.session}
	if err := signer.SignHTTP(r.Context(), creds, check, r.Header.Get("X-Amz-Content-Sha256"), "s3", scope[2], at); err != nil {
		return "", "re-sign: " + err.Error()
	}
	_, want, _ := strings.Cut(check.Header.Get("Authorization"), "Signature=")
	if want == "" || want != fields["Signature"] {
		return "", "signature does not match the issued secret"
	}
	// The credentials cover their version's location only.
	inside := "/" + key.bucket + "/" + key.prefix + "/"
	if r.URL.Query().Get("list-type") == "2" {
		if strings.TrimRight(r.URL.Path, "/") != "/"+key.bucket || !strings.HasPrefix(r.URL.Query().Get("prefix"), key.prefix+"/") {
			return "", "listing outside " + inside
		}
	} else if !strings.HasPrefix(r.URL.Path, inside) {
		return "", "read outside " + inside
	}
	return key.akid, ""
}

func (g *s3Guard) stats() (used map[string]int, rejected []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	used = map[string]int{}
	for k, v := range g.used {
		used[k] = v
	}
	return used, append([]string(nil), g.rejected...)
}

// gcsGuard serves fake-gcs-server behind a check of the bearer token: only
// OAuth tokens the fake UC issued, for objects under their location.
type gcsGuard struct {
	gcs      *fakestorage.Server
	srv      *httptest.Server
	uc       *fakeUC
	mu       sync.Mutex
	used     map[string]int
	rejected []string
}

func newGCSGuard(t *testing.T, uc *fakeUC) *gcsGuard {
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)
	g := &gcsGuard{gcs: gcs, uc: uc, used: map[string]int{}}
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(g.srv.URL, "http://"))
	return g
}

func (g *gcsGuard) put(bucket, prefix string, files map[string][]byte) {
	g.gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	for rel, data := range files {
		g.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: prefix + "/" + rel}, Content: data})
	}
}

func (g *gcsGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	key, ok := g.uc.key(token)
	why := ""
	switch {
	case !ok || key.oauth == "":
		why = "token not issued by Unity Catalog"
	case r.URL.Query().Get("prefix") != "" && !strings.HasPrefix(r.URL.Query().Get("prefix"), key.prefix+"/"):
		why = "listing outside the location"
	case strings.Contains(r.URL.EscapedPath(), "/o/") && !strings.Contains(r.URL.EscapedPath(), "/o/"+url.PathEscape(key.prefix+"/")):
		why = "read outside the location"
	}
	g.mu.Lock()
	if why != "" {
		g.rejected = append(g.rejected, r.URL.Path+": "+why)
	} else {
		g.used[token]++
	}
	g.mu.Unlock()
	if why != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.Copy(w, bytes.NewReader([]byte(`{"error":{"code":401,"message":"Invalid Credentials"}}`)))
		return
	}
	g.gcs.HTTPHandler().ServeHTTP(w, r)
}
