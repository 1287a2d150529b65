package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tfserve/tfserve/loader/source"
)

// Readers for a Unity Catalog model version's storage location, signed with
// the temporary credentials the registry issued for it and nothing else: no
// AWS_ACCESS_KEY_ID, shared config, instance role or Application Default
// Credentials. Region and endpoint still come from the environment
// (AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
// STORAGE_EMULATOR_HOST), as boto3 and google-cloud-storage read them.

const (
	// storageHeaderTimeout bounds the wait for a storage answer's headers;
	// bodies are bounded by the sizes the listing gave (source.Mirror).
	storageHeaderTimeout = 60 * time.Second
	// maxListPages bounds listing pages (1000 keys each on S3).
	maxListPages = 1000
	// maxGCSListResponse bounds one GCS listing page.
	maxGCSListResponse = 32 << 20
)

// splitLocation splits <scheme>://<bucket>/<path> into bucket and path
// (without surrounding slashes). The path may not be empty: a model version
// never owns a whole bucket.
func splitLocation(loc, scheme string) (bucket, prefix string, err error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", fmt.Errorf("storage location %s: %w", source.Redact(loc), redactErr(err))
	}
	if !strings.EqualFold(u.Scheme, scheme) {
		return "", "", fmt.Errorf("storage location %s: want %s:// for these credentials", source.Redact(loc), scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", fmt.Errorf("storage location %s: want %s://bucket/path", source.Redact(loc), scheme)
	}
	bucket, prefix = u.Host, strings.Trim(u.Path, "/")
	if !validBucket(bucket) {
		return "", "", fmt.Errorf("storage location %s: invalid bucket name", source.Redact(loc))
	}
	if prefix == "" || !validPath(prefix) {
		return "", "", fmt.Errorf("storage location %s: want a path under the bucket", source.Redact(loc))
	}
	return bucket, prefix, nil
}

// validBucket checks the characters common to S3 and GCS bucket names.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 222 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// relKey turns a listed object name into a path relative to prefix; ok is
// false for the prefix itself and for directory markers ("dir/").
func relKey(key, prefix string) (rel string, ok bool, err error) {
	rest, found := strings.CutPrefix(key, prefix+"/")
	if !found {
		return "", false, fmt.Errorf("listing returned %q outside the location", key)
	}
	if rest == "" || strings.HasSuffix(rest, "/") {
		return "", false, nil
	}
	if !validPath(rest) {
		return "", false, fmt.Errorf("listing returned an unsafe name %q", key)
	}
	return rest, true, nil
}

// s3Tree is an S3 prefix read with Unity Catalog credentials.
type s3Tree struct {
	client *s3.Client
	bucket string
	prefix string
}

func newUCS3Tree(ctx context.Context, loc string, creds *credSource) (*s3Tree, error) {
	bucket, prefix, err := splitLocation(loc, "s3")
	if err != nil {
		return nil, err
	}
	provider := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		tc, renewAt, err := creds.get(ctx)
		if err != nil {
			return aws.Credentials{}, err
		}
		return aws.Credentials{
			AccessKeyID:     tc.AWS.AccessKeyID,
			SecretAccessKey: tc.AWS.SecretAccessKey,
			SessionToken:    tc.AWS.SessionToken,
			Source:          "UnityCatalogTemporaryCredentials",
			CanExpire:       !renewAt.IsZero(),
			Expires:         renewAt,
		}, nil
	}))
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: provider,
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = storageHeaderTimeout
		}),
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	opt := func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}
	client := s3.NewFromConfig(cfg, opt)
	if region == "" && endpoint == "" {
		// Temporary credentials are refused outside the bucket's region
		// (MLflow's OptimizedS3ArtifactRepository asks S3 the same way).
		if r := bucketRegion(ctx, client, bucket); r != "" && r != cfg.Region {
			cfg.Region = r
			client = s3.NewFromConfig(cfg, opt)
		}
	}
	return &s3Tree{client: client, bucket: bucket, prefix: prefix}, nil
}

// bucketRegion asks S3 where bucket lives (HeadBucket's x-amz-bucket-region,
// which S3 also sends with a redirect or a refusal); "" if it does not say.
func bucketRegion(ctx context.Context, client *s3.Client, bucket string) string {
	ctx, cancel := context.WithTimeout(ctx, storageHeaderTimeout)
	defer cancel()
	out, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func (t *s3Tree) String() string {
	return "s3://" + t.bucket + "/" + t.prefix + " (Unity Catalog temporary credentials)"
}

func (t *s3Tree) Files(ctx context.Context) (source.Files, error) {
	out := source.Files{}
	p := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(t.bucket),
		Prefix: aws.String(t.prefix + "/"),
	}, func(o *s3.ListObjectsV2PaginatorOptions) { o.StopOnDuplicateToken = true })
	for pages := 0; p.HasMorePages(); pages++ {
		if pages >= maxListPages {
			return nil, fmt.Errorf("more than %d pages", maxListPages)
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			rel, ok, err := relKey(aws.ToString(o.Key), t.prefix)
			if err != nil {
				return nil, err
			}
			size := aws.ToInt64(o.Size)
			if !ok || size < 0 {
				if size < 0 {
					return nil, fmt.Errorf("listing gives %q a negative size", rel)
				}
				continue
			}
			if len(out) >= maxListFiles {
				return nil, fmt.Errorf("more than %d files", maxListFiles)
			}
			out[rel] = size
		}
	}
	return out, nil
}

func (t *s3Tree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	if !validPath(rel) {
		return nil, fmt.Errorf("open artifact %q: invalid path", rel)
	}
	out, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(t.prefix + "/" + rel)})
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// gcsTree is a GCS prefix read through the JSON API with the OAuth token
// Unity Catalog issued (google.oauth2.credentials.Credentials(token) in
// MLflow).
type gcsTree struct {
	hc      *http.Client
	base    string // https://storage.googleapis.com, or the emulator
	bucket  string
	prefix  string
	creds   *credSource
	timeout time.Duration
}

func newUCGCSTree(loc string, creds *credSource, timeout time.Duration) (*gcsTree, error) {
	bucket, prefix, err := splitLocation(loc, "gs")
	if err != nil {
		return nil, err
	}
	base := "https://storage.googleapis.com"
	if host := os.Getenv("STORAGE_EMULATOR_HOST"); host != "" {
		base = host
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		base = strings.TrimRight(base, "/")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = storageHeaderTimeout
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	hc := &http.Client{
		Transport: tr,
		// The token is for this endpoint only: no redirects are followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &gcsTree{hc: hc, base: base, bucket: bucket, prefix: prefix, creds: creds, timeout: timeout}, nil
}

func (t *gcsTree) String() string {
	return "gs://" + t.bucket + "/" + t.prefix + " (Unity Catalog temporary credentials)"
}

func (t *gcsTree) get(ctx context.Context, u string) (*http.Response, error) {
	tc, _, err := t.creds.get(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, redactErr(err)
	}
	req.Header.Set("Authorization", "Bearer "+tc.GCP.OAuthToken)
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, redactErr(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		msg := fmt.Sprintf("GCS answered HTTP %d", resp.StatusCode)
		if m := clip(e.Error.Message, maxErrorMessage); m != "" {
			msg += ": " + m
		}
		return nil, errors.New(msg)
	}
	return resp, nil
}

func (t *gcsTree) Files(ctx context.Context) (source.Files, error) {
	out := source.Files{}
	token := ""
	for pages := 0; ; pages++ {
		if pages >= maxListPages {
			return nil, fmt.Errorf("more than %d pages", maxListPages)
		}
		q := url.Values{"prefix": {t.prefix + "/"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		u := t.base + "/storage/v1/b/" + url.PathEscape(t.bucket) + "/o?" + q.Encode()
		page, err := t.listPage(ctx, u)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Items {
			if o.Name == nil || o.Size == nil {
				return nil, errors.New("a listed item has no name or size")
			}
			rel, ok, err := relKey(*o.Name, t.prefix)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if int64(*o.Size) < 0 {
				return nil, fmt.Errorf("listing gives %q a negative size", rel)
			}
			if len(out) >= maxListFiles {
				return nil, fmt.Errorf("more than %d files", maxListFiles)
			}
			out[rel] = int64(*o.Size)
		}
		if page.NextPageToken == "" {
			return out, nil
		}
		if page.NextPageToken == token {
			return nil, errors.New("the same page token twice")
		}
		token = page.NextPageToken
	}
}

type gcsListPage struct {
	Items []struct {
		Name *string    `json:"name"`
		Size *jsonInt64 `json:"size"`
	} `json:"items"`
	NextPageToken string `json:"nextPageToken"`
}

func (t *gcsTree) listPage(ctx context.Context, u string) (*gcsListPage, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	resp, err := t.get(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxGCSListResponse+1))
	if err != nil {
		return nil, redactErr(err)
	}
	if len(data) > maxGCSListResponse {
		return nil, fmt.Errorf("listing page larger than %d bytes refused", maxGCSListResponse)
	}
	var page gcsListPage
	if err := decodeObject(data, &page); err != nil {
		return nil, fmt.Errorf("bad listing: %w", err)
	}
	return &page, nil
}

func (t *gcsTree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	if !validPath(rel) {
		return nil, fmt.Errorf("open artifact %q: invalid path", rel)
	}
	u := t.base + "/download/storage/v1/b/" + url.PathEscape(t.bucket) + "/o/" + url.PathEscape(t.prefix+"/"+rel) + "?alt=media"
	resp, err := t.get(ctx, u)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
