// Package rest holds the REST benchmark (run.sh: wrk against tfserve and a
// bare fasthttp handler) and BenchmarkServe, the same small predict
// against the whole server in-process over an in-memory listener (no
// kernel networking), for profiling the request path with go test's
// -cpuprofile and -memprofile:
//
//	go test -run '^$' -bench Serve -benchmem ./bench/rest/
//
// BenchmarkBare is the peer: the bare handler of bench/rest/bare on the
// same listener and client. TFSERVE_BENCH_FLAGS adds tfserve flags (for
// example --rest_api_timeout_in_ms=0 --enable_admission_control=false).
// TFSERVE_BENCH_GCTUNE_MIB=n paces the collector as cmd/tfserve does
// (server/gctune with an n MiB floor; cmd/tfserve uses 256); without it
// the process keeps Go's default GOGC=100. Besides ns/op each benchmark
// reports cpu-ns/op, the process's CPU time (server, client and
// collector) per request.
package rest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/gctune"
	"github.com/tfserve/tfserve/server/loadfunc"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/modelserver"
)

const (
	predictBody = `{"instances": [1.0, 2.0, 5.0]}`
	predictWant = "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}"
)

// startServer runs tfserve (its default flags, as bench/rest/run.sh starts
// it) serving half_plus_two on an in-memory listener.
func startServer(b *testing.B) *fasthttputil.InmemoryListener {
	root := b.TempDir()
	if err := demo.WriteAll(root); err != nil {
		b.Fatal(err)
	}
	args := []string{"--port=0", "--model_name=half_plus_two", "--model_base_path=" + filepath.Join(root, "half_plus_two")}
	// TFSERVE_BENCH_FLAGS adds flags, to see what a feature costs.
	args = append(args, strings.Fields(os.Getenv("TFSERVE_BENCH_FLAGS"))...)
	opts, err := flags.Parse(args, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	loads, err := loadfunc.New(opts, loadfunc.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- modelserver.Run(ctx, opts, modelserver.Deps{
			Load: loads.Load,
			OpenSource: func(_ context.Context, p string) (manager.Source, error) {
				return sourcetest.Dir(p), nil
			},
			RESTListener: ln,
			Logger:       log,
			Ready:        func(net.Addr, *manager.Manager) { close(ready) },
		})
	}()
	b.Cleanup(func() {
		cancel()
		<-done
		loads.Close()
	})
	select {
	case <-ready:
	case err := <-done:
		b.Fatalf("server stopped: %v", err)
	case <-time.After(time.Minute):
		b.Fatal("server did not start")
	}
	return ln
}

// run sends the predict from b.RunParallel's goroutines (GOMAXPROCS × p
// clients) and checks every answer.
func run(b *testing.B, ln *fasthttputil.InmemoryListener, uri string) {
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConnsPerHost: 1024}
	// Wait for the model.
	for i := 0; ; i++ {
		code, body, err := c.Post(nil, "http://tfserve"+uri, nil)
		_ = body
		if err == nil && code != fasthttp.StatusNotFound && code != fasthttp.StatusServiceUnavailable {
			break
		}
		if i == 600 {
			b.Fatalf("model not available: %d %v", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	gcTune(b)
	runtime.GC()
	b.ReportAllocs()
	b.SetParallelism(8)
	cpu0 := processCPU(b)
	b.ResetTimer()
	defer func() {
		b.StopTimer()
		// CPU time per request (server and client, all threads): steadier
		// than ns/op on a shared, loaded machine, where wall time mostly
		// measures the other tenants.
		b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://tfserve" + uri)
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/json")
		req.SetBodyString(predictBody)
		for pb.Next() {
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != fasthttp.StatusOK || string(resp.Body()) != predictWant {
				b.Errorf("status %d: %q", resp.StatusCode(), resp.Body())
				return
			}
		}
	})
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcTune starts server/gctune when TFSERVE_BENCH_GCTUNE_MIB asks for it.
func gcTune(b *testing.B) {
	v := os.Getenv("TFSERVE_BENCH_GCTUNE_MIB")
	if v == "" {
		return
	}
	mib, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		b.Fatalf("TFSERVE_BENCH_GCTUNE_MIB: %v", err)
	}
	old := debug.SetGCPercent(100)
	t := gctune.Start(mib<<20, os.Getenv)
	b.Cleanup(func() {
		t.Stop()
		debug.SetGCPercent(old)
	})
}

func BenchmarkServe(b *testing.B) {
	run(b, startServer(b), "/v1/models/half_plus_two:predict")
}

// BenchmarkBare is the peer: bench/rest/bare's handler.
func BenchmarkBare(b *testing.B) {
	ln := fasthttputil.NewInmemoryListener()
	body := []byte(predictWant)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	run(b, ln, "/")
}
