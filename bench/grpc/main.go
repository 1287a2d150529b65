// Command grpc benchmarks tfserve's gRPC API against its REST API in one
// process and one run: the same models (half_plus_two and the Keras GRU
// christopher_stock fixture, loaded with the real loader), the same
// generated request bodies (REST JSON, converted to PredictRequests for
// gRPC), closed-loop load from the loadtest package at a few concurrency
// levels. It prints a markdown table of req/s and p50/p99 latency.
//
//	go run ./bench/grpc [-duration 5s] [-concurrency 1,8,32] [-batch 1]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/loadtest"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi"
)

// models are base paths under the fixtures folder, each holding one
// version folder, served through loader/source as cmd/tfserve serves them.
var models = []struct{ name, dir string }{
	{"half_plus_two", "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu"},
	{"christopher_stock", "keras/gru/christopher_stock"},
}

func main() {
	fixtures := flag.String("fixtures", "../shared/fixtures", "fixtures folder")
	duration := flag.Duration("duration", 5*time.Second, "measured duration of each run")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each run")
	levels := flag.String("concurrency", "1,8,32", "closed-loop concurrency levels")
	batch := flag.Int("batch", 1, "rows per request")
	flag.Parse()
	if err := run(*fixtures, *duration, *warmup, *levels, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench/grpc:", err)
		os.Exit(1)
	}
}

func run(fixtures string, duration, warmup time.Duration, levelList string, batch int) error {
	ctx := context.Background()
	mgr, err := manager.New(manager.Options{
		Load: func(ctx context.Context, d string) (servable.Model, error) {
			return loader.Load(ctx, d, loader.Options{})
		},
		OpenSource: func(ctx context.Context, p string) (manager.Source, error) {
			return source.Open(ctx, p, source.Options{})
		},
	})
	if err != nil {
		return err
	}
	defer mgr.Close()
	var mcs []*servingpb.ModelConfig
	for _, m := range models {
		p, err := filepath.Abs(filepath.Join(fixtures, m.dir))
		if err != nil {
			return err
		}
		mcs = append(mcs, &servingpb.ModelConfig{Name: m.name, BasePath: p, ModelPlatform: "tensorflow"})
	}
	if err := mgr.ReloadConfig(ctx, &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}); err != nil {
		return fmt.Errorf("load models: %w", err)
	}
	rest, err := restapi.New(restapi.Options{Models: mgr})
	if err != nil {
		return err
	}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go rest.Serve(rln)
	defer rest.Shutdown(ctx)
	gsrv, err := grpcapi.New(grpcapi.Options{Models: mgr})
	if err != nil {
		return err
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go gsrv.Serve(gln)
	defer gsrv.Shutdown(ctx)

	var levels []int
	for _, s := range strings.Split(levelList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		levels = append(levels, n)
	}
	fmt.Printf("GOMAXPROCS=%d, %s per run after %s warm-up, batch %d, client and server in one process\n\n",
		runtime.GOMAXPROCS(0), duration, warmup, batch)
	fmt.Println("| model | concurrency | REST req/s | gRPC req/s | gRPC/REST | REST p50 ms | gRPC p50 ms | REST p99 ms | gRPC p99 ms |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	restBase := "http://" + rln.Addr().String()
	for _, m := range models {
		mdJSON, err := loadtest.FetchMetadata(ctx, http.DefaultClient, restBase+"/v1/models/"+m.name+"/metadata")
		if err != nil {
			return err
		}
		md, err := loadtest.ParseMetadata(mdJSON)
		if err != nil {
			return err
		}
		bodies, err := loadtest.GenerateBodies(md, loadtest.GenOptions{Batch: batch}, 16)
		if err != nil {
			return err
		}
		list, err := loadtest.NewBodies(bodies)
		if err != nil {
			return err
		}
		ht, err := loadtest.NewHTTPTarget(restBase+"/v1/models/"+m.name+":predict", list, loadtest.HTTPOptions{})
		if err != nil {
			return err
		}
		gt, err := loadtest.NewGRPCTarget(ctx, gln.Addr().String(), m.name, bodies, loadtest.GRPCOptions{})
		if err != nil {
			return err
		}
		for _, c := range levels {
			cfg := loadtest.Config{Concurrency: c, Duration: duration, Warmup: warmup}
			r, err := loadtest.RunClosed(ctx, ht, cfg)
			if err != nil {
				return err
			}
			g, err := loadtest.RunClosed(ctx, gt, cfg)
			if err != nil {
				return err
			}
			if r.Successes != r.Requests || g.Successes != g.Requests {
				return fmt.Errorf("%s c=%d: failures: REST %v, gRPC %v", m.name, c, r.Errors, g.Errors)
			}
			fmt.Printf("| %s | %d | %.0f | %.0f | %.2f | %.3f | %.3f | %.3f | %.3f |\n", m.name, c,
				r.SuccessRPS, g.SuccessRPS, g.SuccessRPS/r.SuccessRPS,
				r.LatencyMS.P50, g.LatencyMS.P50, r.LatencyMS.P99, g.LatencyMS.P99)
		}
		gt.Close()
	}
	return nil
}
