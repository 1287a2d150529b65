package loadtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/manager"
)

// TestGRPCTarget drives the real half_plus_two over gRPC with generated
// REST bodies converted to PredictRequests: every request succeeds.
func TestGRPCTarget(t *testing.T) {
	dir := fixtures.Path(t, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu")
	mgr, err := manager.New(manager.Options{
		Load: func(ctx context.Context, d string) (servable.Model, error) {
			return loader.Load(ctx, d, loader.Options{})
		},
		OpenSource: func(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	cfg := &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{ModelConfigList: &servingpb.ModelConfigList{
		Config: []*servingpb.ModelConfig{{Name: "hp2", BasePath: dir, ModelPlatform: "tensorflow"}}}}}
	if err := mgr.ReloadConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	srv, err := grpcapi.New(grpcapi.Options{Models: mgr})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	md, err := ParseMetadata(halfPlusTwoMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := GenerateBodies(md, GenOptions{Batch: 3}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []bool{false, true} {
		tgt, err := NewGRPCTarget(context.Background(), ln.Addr().String(), "hp2", bodies, GRPCOptions{Conns: 2, TensorContent: tc})
		if err != nil {
			t.Fatal(err)
		}
		res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 2, MaxRequests: 50})
		tgt.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests < 50 || res.Successes != res.Requests {
			t.Errorf("tensor_content %v: %d requests, %d successes, errors %v", tc, res.Requests, res.Successes, res.Errors)
		}
	}
	if _, err := NewGRPCTarget(context.Background(), ln.Addr().String(), "nope", bodies, GRPCOptions{Timeout: 5 * time.Second}); err == nil {
		t.Error("a target for a missing model was created")
	}
}
