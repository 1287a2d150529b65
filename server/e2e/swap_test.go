package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/tfserve/tfserve/internal/s3fake"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
)

// startS3 runs an in-memory S3 with bucket "bucket" and a private model
// cache folder.
func startS3(t *testing.T) *s3mem.Backend {
	backend := s3fake.Start(t, "127.0.0.1", "not-a-real-secret")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if err := backend.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	return backend
}

// uploadModel writes y = 0.5x + plus with our model writer and uploads it
// under prefix.
func uploadModel(t *testing.T, b *s3mem.Backend, prefix string, plus float32, extra map[string]string) {
	dir := t.TempDir()
	if err := demo.HalfPlus(dir, 0.5, plus); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) {
		if _, err := b.PutObject("bucket", key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		put(prefix+"/"+filepath.ToSlash(rel), data)
		return nil
	})
	for k, v := range extra {
		put(k, []byte(v))
	}
}

// swapAdmission is the servers' admission flag for loadUnderSwaps: a fixed
// limit above its 4 clients. The adaptive limit can fall to max(CPUs, 2) on
// a loaded machine, and requests queued behind it are then refused after
// the CoDel interval (by design), which loadUnderSwaps would count as
// requests failed by a swap.
const swapAdmission = "--admission_max_in_flight=16"

// loadUnderSwaps keeps 4 clients predicting while swap(i) moves the model
// to y = 0.5x + plus[i]; every answer must come from one of the versions
// and no request may fail.
func loadUnderSwaps(t *testing.T, url string, plus []float32, swap func(i int)) {
	var failed, served atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	valid := map[float32]bool{}
	for _, p := range plus {
		valid[0.5*4+p] = true
	}
	current := atomic.Value{}
	current.Store(float32(0))
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(url, "application/json", strings.NewReader(`{"instances": [4.0]}`))
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				var body struct{ Predictions []float32 }
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != 200 || err != nil || len(body.Predictions) != 1 || !valid[body.Predictions[0]] {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("HTTP %d %v %v", resp.StatusCode, body.Predictions, err))
					continue
				}
				current.Store(body.Predictions[0])
				served.Add(1)
			}
		}()
	}
	for i := 1; i < len(plus); i++ {
		swap(i)
		want := 0.5*4 + plus[i]
		deadline := time.Now().Add(30 * time.Second)
		for current.Load().(float32) != want {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("swap %d never served y=%v (still %v)", i, want, current.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests served across %d swaps, %d failed", served.Load(), len(plus)-1, failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during swaps, first: %v", failed.Load(), firstErr.Load())
	}
}

// TestSwapFromS3: new version directories appearing in an S3 bucket are
// loaded and swapped in under load with no failed request.
func TestSwapFromS3(t *testing.T) {
	b := startS3(t)
	plus := []float32{2, 3, 4}
	uploadModel(t, b, "models/hp/1", plus[0], nil)
	url := startServer(t, []served{{name: "hp", base: "s3://bucket/models/hp"}}, "--file_system_poll_wait_seconds=1", swapAdmission)
	loadUnderSwaps(t, url+"/v1/models/hp:predict", plus, func(i int) {
		uploadModel(t, b, fmt.Sprintf("models/hp/%d", i+1), plus[i], nil)
	})
}

// TestSwapFromMLflowStage: moving the Production stage in an MLflow
// registry swaps the served version (artifacts in S3, tensorflow flavor).
func TestSwapFromMLflowStage(t *testing.T) {
	b := startS3(t)
	plus := []float32{2, 3, 4}
	const mlmodel = "flavors:\n  tensorflow:\n    saved_model_dir: tfmodel\n    meta_graph_tags: [serve]\n    signature_def_key: serving_default\n"
	for i, p := range plus {
		uploadModel(t, b, fmt.Sprintf("mlflow/reco/%d/tfmodel", i+1), p, map[string]string{fmt.Sprintf("mlflow/reco/%d/MLmodel", i+1): mlmodel})
	}
	var production atomic.Int64
	production.Store(1)
	var sawToken atomic.Bool
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer registry-token" {
			sawToken.Store(true)
		}
		v := production.Load()
		switch r.URL.Path {
		case "/api/2.0/mlflow/registered-models/get-latest-versions":
			fmt.Fprintf(w, `{"model_versions": [{"name": "reco", "version": "%d", "current_stage": "Production", "status": "READY", "source": "s3://bucket/mlflow/reco/%d"}]}`, v, v)
		case "/api/2.0/mlflow/model-versions/get":
			ver := r.URL.Query().Get("version")
			fmt.Fprintf(w, `{"model_version": {"name": "reco", "version": %q, "status": "READY", "source": "s3://bucket/mlflow/reco/%s"}}`, ver, ver)
		case "/api/2.0/mlflow/model-versions/get-download-uri":
			fmt.Fprintf(w, `{"artifact_uri": "s3://bucket/mlflow/reco/%s"}`, r.URL.Query().Get("version"))
		default:
			http.Error(w, `{"error_code": "ENDPOINT_NOT_FOUND"}`, 404)
		}
	}))
	t.Cleanup(reg.Close)
	t.Setenv("MLFLOW_TRACKING_URI", reg.URL)
	t.Setenv("MLFLOW_TRACKING_TOKEN", "registry-token")
	url := startServer(t, []served{{name: "reco", base: "models:/reco/Production"}}, "--file_system_poll_wait_seconds=1", swapAdmission)
	loadUnderSwaps(t, url+"/v1/models/reco:predict", plus, func(i int) { production.Store(int64(i + 1)) })
	if !sawToken.Load() {
		t.Error("the registry never received the bearer token")
	}
}

// TestTwentySwapsLocal: 20 new versions of a real model (written by our
// model writer into a local base path) are swapped in under load with no
// failed request.
func TestTwentySwapsLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("20 polling intervals")
	}
	base := t.TempDir()
	plus := make([]float32, 21)
	for i := range plus {
		plus[i] = float32(i + 2)
	}
	if err := demo.HalfPlus(filepath.Join(base, "1"), 0.5, plus[0]); err != nil {
		t.Fatal(err)
	}
	url := startServer(t, []served{{name: "hp", base: base}}, "--file_system_poll_wait_seconds=1", swapAdmission)
	loadUnderSwaps(t, url+"/v1/models/hp:predict", plus, func(i int) {
		// Write beside the base path and rename in, so the poller never sees a
		// half-written version.
		tmp := filepath.Join(t.TempDir(), "v")
		if err := demo.HalfPlus(tmp, 0.5, plus[i]); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(base, fmt.Sprint(i+1))); err != nil {
			t.Fatal(err)
		}
	})
}
