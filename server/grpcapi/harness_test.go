package grpcapi

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
)

func modelCfg(name, base string) *servingpb.ModelConfig {
	return &servingpb.ModelConfig{Name: name, BasePath: base, ModelPlatform: "tensorflow"}
}

func listCfg(mcs ...*servingpb.ModelConfig) *servingpb.ModelServerConfig {
	return &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}
}

type harness struct {
	mgr  *manager.Manager
	srv  *Server
	addr string
	conn *grpc.ClientConn
	pred servingpb.PredictionServiceClient
	ms   servingpb.ModelServiceClient
}

// serve starts a Server for models on 127.0.0.1:0 and dials it.
func serve(t *testing.T, models Models, mod func(*Options)) *harness {
	t.Helper()
	opts := Options{Models: models}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30), grpc.MaxCallSendMsgSize(1<<30)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &harness{srv: srv, addr: ln.Addr().String(), conn: conn,
		pred: servingpb.NewPredictionServiceClient(conn), ms: servingpb.NewModelServiceClient(conn)}
}

// fakeHarness serves model "m" (versions 1: y=0.5x+2, 2: y=3x+2, label
// "stable" -> 1) from fakemodels.
func fakeHarness(t *testing.T, mod func(*Options), tweak func(*fakemodel.HalfPlusTwo)) (*harness, *fakemodel.Folders, string) {
	t.Helper()
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "0.5")
	fakemodel.WriteVersion(t, base, 2, "3")
	f := &fakemodel.Folders{Tweak: tweak}
	mgr, err := manager.New(manager.Options{
		Load:         f.Load,
		OpenSource:   func(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil },
		PollInterval: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	mc := modelCfg("m", base)
	mc.ModelVersionPolicy = allVersions()
	mc.VersionLabels = map[string]int64{"stable": 1}
	if err := mgr.ReloadConfig(context.Background(), listCfg(mc)); err != nil {
		t.Fatal(err)
	}
	h := serve(t, mgr, mod)
	h.mgr = mgr
	return h, f, base
}

func allVersions() *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy {
	return &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
		PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_{
			All: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All{}}}
}

// wantCode checks an RPC error's code and, when msg is not empty, that the
// message contains it.
func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := grpcstatus.FromError(err)
	if st.Code() != code {
		t.Errorf("%s: code %v (%q), want %v", what, st.Code(), st.Message(), code)
		return
	}
	if msg != "" && !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: message %q, want it to contain %q", what, st.Message(), msg)
	}
}
