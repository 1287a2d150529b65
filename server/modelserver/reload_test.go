package modelserver

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/manager"
)

// runGRPC serves one model at dir over gRPC with extra flags and returns a
// ModelService client and the manager.
func runGRPC(t *testing.T, dir string, extra ...string) (servingpb.ModelServiceClient, *manager.Manager) {
	t.Helper()
	args := append([]string{"--model_name=half", "--model_base_path=" + dir, "--rest_api_port=0",
		"--file_system_poll_wait_seconds=0"}, extra...)
	opts, err := flags.Parse(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	deps := fakeDeps()
	deps.GRPCListener = ln
	deps.Logger = slog.New(slog.DiscardHandler)
	r := startRun(t, opts, deps)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return servingpb.NewModelServiceClient(conn), r.mgr
}

func reloadTo(name, base string) *servingpb.ReloadConfigRequest {
	return &servingpb.ReloadConfigRequest{Config: &servingpb.ModelServerConfig{
		Config: &servingpb.ModelServerConfig_ModelConfigList{ModelConfigList: &servingpb.ModelConfigList{
			Config: []*servingpb.ModelConfig{{Name: name, BasePath: base, ModelPlatform: "tensorflow"}}}}}}
}

// --grpc_allow_reload_config=false: the reload is refused with
// PERMISSION_DENIED and the served models stay.
func TestReloadDisabled(t *testing.T) {
	dir := versionDir(t)
	ms, mgr := runGRPC(t, dir, "--grpc_allow_reload_config=false")
	_, err := ms.HandleReloadConfigRequest(context.Background(), reloadTo("other", versionDir(t)))
	if st, _ := grpcstatus.FromError(err); st.Code() != codes.PermissionDenied || st.Message() != ReloadDisabledMessage {
		t.Fatalf("reload: %v", err)
	}
	if got := mgr.Models(); len(got) != 1 || got[0] != "half" {
		t.Fatalf("models after refused reload: %v", got)
	}
	// Status still answers.
	if _, err := ms.GetModelStatus(context.Background(), &servingpb.GetModelStatusRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "half"}}); err != nil {
		t.Fatal(err)
	}
}

// --allowed_model_base_paths: a reload naming a path outside the prefixes
// (also through "..") is refused and changes nothing; one inside is applied.
func TestReloadAllowedBasePaths(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "models")
	dir := filepath.Join(allowed, "half")
	if err := os.MkdirAll(filepath.Join(dir, "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(root, "elsewhere")
	if err := os.MkdirAll(filepath.Join(outside, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	ms, mgr := runGRPC(t, dir, "--allowed_model_base_paths=s3://bucket/prefix/,"+allowed+"/")
	for _, base := range []string{outside, allowed + "/../elsewhere", "file://" + outside, "https://evil.example/m.tar.gz"} {
		_, err := ms.HandleReloadConfigRequest(context.Background(), reloadTo("other", base))
		if st, _ := grpcstatus.FromError(err); st.Code() != codes.PermissionDenied ||
			!strings.Contains(st.Message(), "--allowed_model_base_paths") {
			t.Errorf("reload to %s: %v", base, err)
		}
	}
	if got := mgr.Models(); len(got) != 1 || got[0] != "half" {
		t.Fatalf("models after refused reloads: %v", got)
	}
	if _, err := ms.HandleReloadConfigRequest(context.Background(), reloadTo("half2", allowed+"/./half")); err != nil {
		t.Fatalf("allowed reload: %v", err)
	}
	if got := mgr.Models(); len(got) != 1 || got[0] != "half2" {
		t.Fatalf("models after allowed reload: %v", got)
	}
}

// A model base path outside --allowed_model_base_paths on the command line
// stops the server before anything is fetched.
func TestInitialBasePathDisallowed(t *testing.T) {
	opts, err := flags.Parse([]string{"--model_name=m", "--model_base_path=/etc/m", "--rest_api_port=0", "--port=0",
		"--allowed_model_base_paths=/models/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened := false
	deps := fakeDeps()
	deps.Logger = slog.New(slog.DiscardHandler)
	deps.OpenSource = func(ctx context.Context, p string) (manager.Source, error) {
		opened = true
		return openDir(ctx, p)
	}
	err = Run(context.Background(), opts, deps)
	if err == nil || !strings.Contains(err.Error(), "not under --allowed_model_base_paths=/models/") || opened {
		t.Fatalf("Run: %v (opened %v)", err, opened)
	}
}
