package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/tfserve/tfserve/internal/s3fake"
	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/internal/syncbuf"
)

const testSecret = "s3cr3t-Do-Not-Log-9f8e7d"

func TestS3Source(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			backend := s3fake.Start(t, host, testSecret)
			ctx := context.Background()
			v1, v123, v2 := testModel(1), testModel(2), testModel(3)
			// Base path "models/7": its siblings "models/77" and "models/7x"
			// share its prefix and must not leak into its listing.
			s3fake.Put(t, backend, "bucket", "models/7/1", v1)
			s3fake.Put(t, backend, "bucket", "models/7/00000123", v123)
			s3fake.Put(t, backend, "bucket", "models/7/export_tmp", testModel(8))
			s3fake.Put(t, backend, "bucket", "models/77/5", testModel(9))
			s3fake.Put(t, backend, "bucket", "models/7x/6", testModel(9))
			s3fake.Put(t, backend, "bucket", "models/7/12", testModel(10))
			s3fake.Put(t, backend, "bucket", "models/7/1-old", testModel(11)) // sibling of version 1 sharing its prefix

			var logs syncbuf.Buffer
			cache := t.TempDir()
			s, err := Open(ctx, "s3://bucket/models/7/", Options{CacheDir: cache, Logger: newLogger(&logs)})
			if err != nil {
				t.Fatal(err)
			}
			mustVersions(t, s, 1, 12, 123)
			dir, err := s.Fetch(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			sourcetest.CheckTree(t, dir, v1) // nothing of 12/ or 1-old/ inside
			dir, err = s.Fetch(ctx, 123)
			if err != nil {
				t.Fatal(err)
			}
			sourcetest.CheckTree(t, dir, v123)

			// Cache reuse.
			if _, err := s.Fetch(ctx, 123); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), "reusing") {
				t.Error("second fetch did not reuse the cache")
			}

			// A new version appears.
			s3fake.Put(t, backend, "bucket", "models/7/200", v2)
			mustVersions(t, s, 1, 12, 123, 200)
			dir, err = s.Fetch(ctx, 200)
			if err != nil {
				t.Fatal(err)
			}
			sourcetest.CheckTree(t, dir, v2)
			noTempLeft(t, cache)

			// Missing base path and missing bucket.
			for _, uri := range []string{"s3://bucket/models/none", "s3://nobucket/models/7"} {
				m, err := Open(ctx, uri, Options{CacheDir: cache, Logger: newLogger(&logs)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.Versions(ctx); err == nil {
					t.Errorf("%s: Versions succeeded", uri)
				} else if strings.Contains(err.Error(), testSecret) {
					t.Errorf("error contains the secret: %v", err)
				}
			}
			if strings.Contains(logs.String(), testSecret) || strings.Contains(s.String(), testSecret) {
				t.Error("log output contains the secret access key")
			}
			if !strings.Contains(logs.String(), "downloading model") {
				t.Error("no download was logged; the secret check saw nothing")
			}
		})
	}
}

func TestS3WrongCredentials(t *testing.T) {
	backend := s3fake.Start(t, "127.0.0.1", testSecret)
	s3fake.Put(t, backend, "bucket", "m/1", testModel(1))
	// gofakes3 does not check signatures, so this only checks that an
	// unreachable endpoint gives an error, not a hang or a panic.
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	s, err := Open(context.Background(), "s3://bucket/m", Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Versions(context.Background()); err == nil {
		t.Error("Versions against a closed port succeeded")
	}
}

func TestGCSSource(t *testing.T) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Writer: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "does-not-exist.json"))
	srv.CreateBucket("gbucket")
	put := func(prefix string, files map[string][]byte) {
		for rel, data := range files {
			srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "gbucket", Name: prefix + "/" + rel}, Content: data})
		}
	}
	v3, v4 := testModel(3), testModel(4)
	put("serving/m/3", v3)
	put("serving/m/readme", map[string][]byte{"x": []byte("not a version")})
	put("serving/m2/9", testModel(5))

	ctx := context.Background()
	var logs syncbuf.Buffer
	cache := t.TempDir()
	s, err := Open(ctx, "gs://gbucket/serving/m", Options{CacheDir: cache, Logger: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	mustVersions(t, s, 3)
	dir, err := s.Fetch(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v3)
	put("serving/m/4", v4)
	mustVersions(t, s, 3, 4)
	dir, err = s.Fetch(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v4)
	if _, err := s.Fetch(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "reusing") {
		t.Error("second fetch did not reuse the cache")
	}
	m, _ := Open(ctx, "gs://gbucket/serving/none", Options{CacheDir: cache})
	if _, err := m.Versions(ctx); err == nil {
		t.Error("missing base path: Versions succeeded")
	}
	noTempLeft(t, cache)
}
