package modelserver

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tfserve/tfserve/server/flags"
)

// TestRunServesGRPC starts Run with gRPC on a TCP listener and a UNIX socket
// (--grpc_socket_path), REST off, and predicts through both.
func TestRunServesGRPC(t *testing.T) {
	dir := versionDir(t)
	sock := filepath.Join(t.TempDir(), "tfserve.sock")
	opts, err := flags.Parse([]string{"--model_name=half", "--model_base_path=" + dir, "--rest_api_port=0",
		"--file_system_poll_wait_seconds=0", "--grpc_socket_path=" + sock, "--enable_grpc_healthcheck_service",
		"--grpc_channel_arguments=grpc.max_receive_message_length=1048576,grpc.keepalive_time_ms=60000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	deps := fakeDeps()
	deps.GRPCListener = ln
	r := startRun(t, opts, deps)
	for _, target := range []string{ln.Addr().String(), "unix://" + sock} {
		resp, err := predictHalf(target, insecure.NewCredentials())
		if err != nil {
			t.Errorf("%s: %v", target, err)
		} else if y := resp.Outputs["y"].GetFloatVal(); len(y) != 1 || y[0] != 5 || resp.GetModelSpec().GetVersion().GetValue() != 3 {
			t.Errorf("%s: %v", target, resp)
		}
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s health: %v %v", target, h, err)
		}
		conn.Close()
	}
	r.stop()
}
