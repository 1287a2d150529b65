package kserve_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/kserve"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi"
)

// harness serves model "m" (version 1: y = 0.5x + 2, version 2: y = 3x + 2,
// label "stable" -> 1; fakemodel's signatures) over REST (restapi with
// the /v2 hook) and gRPC (grpcapi with the service registered), both on
// loopback.
type harness struct {
	mgr    *manager.Manager
	ks     *kserve.Server
	base   string // http://host:port
	gaddr  string
	client kservepb.GRPCInferenceServiceClient
	http   *http.Client
}

type harnessOpts struct {
	kserve   func(*kserve.Options)
	grpc     func(*grpcapi.Options)
	restBody int
}

func newHarness(t testing.TB, ho harnessOpts) *harness {
	t.Helper()
	base := t.TempDir()
	fakemodel.WriteVersion(t, base, 1, "0.5")
	fakemodel.WriteVersion(t, base, 2, "3")
	f := &fakemodel.Folders{}
	mgr, err := manager.New(manager.Options{
		Load:       f.Load,
		OpenSource: func(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	mc := &servingpb.ModelConfig{Name: "m", BasePath: base, ModelPlatform: "tensorflow",
		ModelVersionPolicy: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_{
				All: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All{}}},
		VersionLabels: map[string]int64{"stable": 1}}
	if err := mgr.ReloadConfig(context.Background(), &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: []*servingpb.ModelConfig{mc}}}}); err != nil {
		t.Fatal(err)
	}
	ko := kserve.Options{Models: mgr, Version: "test-1", MaxBodyBytes: ho.restBody}
	if ho.kserve != nil {
		ho.kserve(&ko)
	}
	ks, err := kserve.New(ko)
	if err != nil {
		t.Fatal(err)
	}
	gopts := grpcapi.Options{Models: mgr, Limits: ko.Limits}
	if ho.grpc != nil {
		ho.grpc(&gopts)
	}
	base, gaddr, client := serveBoth(t, ks, restapi.Options{Models: mgr, V2: ks.HandleHTTP, MaxBodyBytes: ho.restBody}, gopts)
	return &harness{mgr: mgr, ks: ks, base: base, gaddr: gaddr, client: client, http: &http.Client{Timeout: 10 * time.Second}}
}

type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (h *harness) do(t *testing.T, method, path string, hdr map[string]string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// serveBoth serves ks over REST (restapi with ro, whose V2 hook is ks's) and
// gRPC (grpcapi with gopts, ks registered) on loopback until the test ends. It
// returns the REST base URL, the gRPC address and a gRPC client.
func serveBoth(t testing.TB, ks *kserve.Server, ro restapi.Options, gopts grpcapi.Options) (string, string, kservepb.GRPCInferenceServiceClient) {
	t.Helper()
	rest, err := restapi.New(ro)
	if err != nil {
		t.Fatal(err)
	}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go rest.Serve(rln)
	gs, err := grpcapi.New(gopts)
	if err != nil {
		t.Fatal(err)
	}
	ks.Register(gs.GRPCServer())
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(gln)
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		gs.Shutdown(ctx)
		rest.Shutdown(ctx)
	})
	return "http://" + rln.Addr().String(), gln.Addr().String(), kservepb.NewGRPCInferenceServiceClient(conn)
}
