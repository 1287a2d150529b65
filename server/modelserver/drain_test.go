package modelserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
)

// gatedModel wraps fakemodel's y = 0.5x + 2 and counts runs; the runs
// after the first holdAfter wait until release is closed. (The model
// decides, not the test's goroutine: a starved test goroutine that set a
// flag after the warm-up found the workers had used up their requests.)
type gatedModel struct {
	*fakemodel.HalfPlusTwo
	holdAfter int64
	release   chan struct{}
	started   atomic.Int64
	finished  atomic.Int64
	blocked   atomic.Int64 // runs waiting on release now
}

func (g *gatedModel) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, out []string) (map[string]*tensor.Tensor, error) {
	n := g.started.Add(1)
	defer g.finished.Add(1)
	if n > g.holdAfter {
		g.blocked.Add(1)
		<-g.release
		g.blocked.Add(-1)
	}
	return g.HalfPlusTwo.Run(ctx, sig, in, out)
}

// TestDrainUnderLoad is what SIGTERM does to a busy server: clients keep
// sending predictions (half on keep-alive connections, half on a new
// connection each), requests are held in the model, the server's context is
// cancelled, and then:
//   - new connections are refused while the held requests are still running
//     (the listener is closed first, Run has not returned);
//   - once the model lets them go, every request the server took got its
//     complete, correct answer: each 200 answer matches its own request
//     (y = 0.5x + 2 for a distinct x), the number of answers equals the
//     number of model runs, and no client saw an error before the cancel;
//   - Run returns cleanly and the port stays closed.
func TestDrainUnderLoad(t *testing.T) {
	const (
		workers        = 16
		maxPerWorker   = 400 // bounds the test's request count
		warmupRequests = 64
	)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A fixed admission limit above the workers: the adaptive one starts at
	// 4 per GOMAXPROCS and shrinks as latency grows, so with one CPU, or a
	// loaded machine, fewer than workers/2 requests could reach the model,
	// and the rest, queued, were refused after the CoDel interval.
	opts, err := flags.Parse([]string{"--model_name=half", "--model_base_path=" + dir, "--port=0",
		"--rest_api_num_threads=64", "--rest_api_timeout_in_ms=20000", "--admission_max_in_flight=64",
		"--file_system_poll_wait_seconds=0", "--enable_model_warmup=false"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	model := &gatedModel{HalfPlusTwo: fakemodel.New(), holdAfter: warmupRequests, release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(model.release) }) }
	defer release()

	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, opts, Deps{
			Load:            func(context.Context, string, LoadOptions) (servable.Model, error) { return model, nil },
			OpenSource:      openDir,
			Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
			RESTListener:    ln,
			ShutdownTimeout: 20 * time.Second,
			Ready:           func(net.Addr, *manager.Manager) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	}

	var (
		cancelled  atomic.Bool
		answered   atomic.Int64 // 200 answers with the right value
		wrong      = make(chan string, workers*maxPerWorker)
		earlyErrs  = make(chan error, workers)
		lateErrs   atomic.Int64
		wg         sync.WaitGroup
		url        = "http://" + addr + "/v1/models/half:predict"
		stopSignal = make(chan struct{})
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DisableKeepAlives: w%2 == 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			for i := range maxPerWorker {
				select {
				case <-stopSignal:
					return
				default:
				}
				x := float64(w*maxPerWorker + i)
				body := fmt.Sprintf(`{"signature_name": "sleep", "instances": [%g]}`, x)
				wasCancelled := cancelled.Load()
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					if !wasCancelled && !cancelled.Load() {
						earlyErrs <- fmt.Errorf("worker %d request %d before shutdown: %w", w, i, err)
					} else {
						lateErrs.Add(1)
					}
					return // after shutdown: refused or closed; stop this worker
				}
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				var got struct{ Predictions []float64 }
				if rerr != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(b, &got) != nil ||
					len(got.Predictions) != 1 || got.Predictions[0] != 0.5*x+2 {
					wrong <- fmt.Sprintf("x=%g: status %d, read error %v, body %q", x, resp.StatusCode, rerr, b)
					return
				}
				answered.Add(1)
			}
		}()
	}
	defer func() {
		close(stopSignal)
		release()
		wg.Wait()
	}()

	waitFor := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", limit, what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("warm-up answers", 30*time.Second, func() bool { return answered.Load() >= warmupRequests })
	waitFor("requests held in the model", 30*time.Second, func() bool { return model.blocked.Load() >= workers/2 })

	cancelled.Store(true)
	cancel() // what SIGTERM does in cmd/tfserve

	// The listener closes while the held requests are still in flight.
	waitFor("new connections refused", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	held := model.blocked.Load()
	if held < workers/2 {
		t.Fatalf("only %d requests still held when the listener closed", held)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) with %d requests in flight", err, held)
	default:
	}
	answeredAtCancel := answered.Load()

	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("Run did not return 25 s after the held requests were released")
	}
	wg.Wait()
	close(wrong)
	close(earlyErrs)
	for e := range earlyErrs {
		t.Error(e)
	}
	for s := range wrong {
		t.Errorf("incomplete or wrong answer: %s", s)
	}
	if a, s, f := answered.Load(), model.started.Load(), model.finished.Load(); a != s || s != f {
		t.Errorf("%d correct answers for %d model runs started, %d finished: every request the server took must be answered", a, s, f)
	}
	if drained := answered.Load() - answeredAtCancel; drained < held {
		t.Errorf("%d answers after the cancel, want at least the %d held requests", drained, held)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after shutdown: %v, want connection refused", err)
	}
	t.Logf("%d answers (%d held across the cancel), %d client errors after the cancel (refused/closed connections)",
		answered.Load(), held, lateErrs.Load())
}
