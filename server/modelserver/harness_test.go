package modelserver

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
)

// readyLimit bounds the wait for a server to come up, so that a Run that
// neither serves nor returns fails its test instead of hanging the package.
const readyLimit = 60 * time.Second

// running is a Run under test.
type running struct {
	t      *testing.T
	rest   net.Addr // nil when REST is off
	mgr    *manager.Manager
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startRun runs Run(opts, deps) in the background and returns once the
// server is ready (deps.Ready is set here). It fails the test if Run returns
// first or is not ready within readyLimit. Run is stopped, and its error
// reported, at the end of the test unless stop was called before.
func startRun(t *testing.T, opts flags.Options, deps Deps) *running {
	t.Helper()
	type readiness struct {
		addr net.Addr
		mgr  *manager.Manager
	}
	ready := make(chan readiness, 1)
	deps.Ready = func(a net.Addr, m *manager.Manager) { ready <- readiness{a, m} }
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, opts, deps) }()
	select {
	case rd := <-ready:
		r.rest, r.mgr = rd.addr, rd.mgr
		t.Cleanup(r.stop)
		return r
	case err := <-r.done:
		cancel()
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(readyLimit):
		cancel()
		t.Fatalf("server not ready after %v", readyLimit)
	}
	return nil
}

// stop cancels Run's context, as SIGTERM does in cmd/tfserve, waits for Run
// to return and fails the test if it returned an error. Later calls do
// nothing.
func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			r.t.Errorf("Run: %v", err)
		}
	})
}

// restURL is the base URL of the REST API.
func (r *running) restURL() string { return "http://" + r.rest.String() }

// fakeDeps loads a fresh fake half_plus_two for every version and finds
// versions in local folders.
func fakeDeps() Deps {
	return Deps{
		Load:       func(context.Context, string, LoadOptions) (servable.Model, error) { return fakemodel.New(), nil },
		OpenSource: openDir,
	}
}

func openDir(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil }

// listen opens a loopback TCP listener on a free port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// versionDir is a fresh model base path holding version 3.
func versionDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// predictHalf asks the model "half" for x = 6 over gRPC at target.
func predictHalf(target string, creds credentials.TransportCredentials) (*servingpb.PredictResponse, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return servingpb.NewPredictionServiceClient(conn).Predict(ctx, &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "half"},
		Inputs: map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_FLOAT,
			TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1}, {Size: 1}}}, FloatVal: []float32{6}}}})
}
