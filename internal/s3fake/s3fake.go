// Package s3fake runs an in-memory S3 (gofakes3) on loopback for tests and
// points the AWS SDK's environment at it, so that the s3:// model source,
// the MLflow registry's artifact download and the hot-swap end-to-end
// tests all talk to one kind of fake.
package s3fake

import (
	"bytes"
	"net"
	"net/http/httptest"
	"path"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Start serves a fresh in-memory S3 on 127.0.0.1 until the test ends and
// sets the AWS environment (credentials with secret as the secret key,
// region, endpoint; no shared config, no instance metadata) for the test.
// host names the endpoint's host: "127.0.0.1", or "localhost" to exercise
// path-style addressing under a name.
func Start(t testing.TB, host, secret string) *s3mem.Backend {
	t.Helper()
	backend := s3mem.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(gofakes3.New(backend).Server())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTESTKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://"+net.JoinHostPort(host, port))
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return backend
}

// Put creates bucket if needed and stores files (relative path → bytes)
// under prefix.
func Put(t testing.TB, b *s3mem.Backend, bucket, prefix string, files map[string][]byte) {
	t.Helper()
	_ = b.CreateBucket(bucket)
	for rel, data := range files {
		if _, err := b.PutObject(bucket, path.Join(prefix, rel), map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
}
