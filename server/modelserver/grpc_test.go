package modelserver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
)

// TestRunServesGRPC starts Run with gRPC on a TCP listener and a UNIX socket
// (--grpc_socket_path), REST off, and predicts through both.
func TestRunServesGRPC(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "tfserve.sock")
	opts, err := flags.Parse([]string{"--model_name=half", "--model_base_path=" + dir, "--rest_api_port=0",
		"--file_system_poll_wait_seconds=0", "--grpc_socket_path=" + sock, "--enable_grpc_healthcheck_service",
		"--grpc_channel_arguments=grpc.max_receive_message_length=1048576,grpc.keepalive_time_ms=60000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, opts, Deps{
			Load:         func(context.Context, string, LoadOptions) (servable.Model, error) { return fakemodel.New(), nil },
			OpenSource:   func(_ context.Context, p string) (manager.Source, error) { return dirSource{p}, nil },
			GRPCListener: ln,
			Ready:        func(net.Addr, *manager.Manager) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	}
	for _, target := range []string{ln.Addr().String(), "unix://" + sock} {
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := servingpb.NewPredictionServiceClient(conn).Predict(context.Background(), &servingpb.PredictRequest{
			ModelSpec: &servingpb.ModelSpec{Name: "half"},
			Inputs: map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_FLOAT,
				TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1}, {Size: 1}}}, FloatVal: []float32{6}}}})
		if err != nil {
			t.Errorf("%s: %v", target, err)
		} else if y := resp.Outputs["y"].GetFloatVal(); len(y) != 1 || y[0] != 5 || resp.GetModelSpec().GetVersion().GetValue() != 3 {
			t.Errorf("%s: %v", target, resp)
		}
		h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s health: %v %v", target, h, err)
		}
		conn.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
