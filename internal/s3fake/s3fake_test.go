package s3fake

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"
)

// TestStart puts an object and reads it back over HTTP from the endpoint
// the environment names, path-style, as the SDK would.
func TestStart(t *testing.T) {
	b := Start(t, "127.0.0.1", "secret-x")
	if got := os.Getenv("AWS_SECRET_ACCESS_KEY"); got != "secret-x" {
		t.Fatalf("AWS_SECRET_ACCESS_KEY = %q", got)
	}
	Put(t, b, "bkt", "models/m", map[string][]byte{"1/saved_model.pb": []byte("pb bytes")})
	url := os.Getenv("AWS_ENDPOINT_URL_S3") + "/bkt/models/m/1/saved_model.pb"
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "pb bytes" {
		t.Fatalf("GET %s = %d %q", url, resp.StatusCode, body)
	}
}
