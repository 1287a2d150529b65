package grpcapi_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// fixtureSource serves a fixture folder as a model base path: its numeric
// children (sourcetest.Dir), or, unlike sourcetest.Dir, the folder itself
// as version 1 when it is a SavedModel: some golden.json files sit inside
// the SavedModel folder rather than beside its version folders.
type fixtureSource struct{ sourcetest.Dir }

func isSavedModel(dir string) bool {
	for _, f := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func (s fixtureSource) Versions(ctx context.Context) ([]int64, error) {
	if isSavedModel(s.String()) {
		return []int64{1}, nil
	}
	return s.Dir.Versions(ctx)
}

func (s fixtureSource) Fetch(ctx context.Context, v int64) (string, error) {
	if isSavedModel(s.String()) {
		return s.String(), nil
	}
	return s.Dir.Fetch(ctx, v)
}

// startFixtureServer loads the named fixture folders (model name -> path
// relative to the fixtures dir) with the real loader and serves them over
// gRPC on 127.0.0.1:0.
func startFixtureServer(t *testing.T, fx string, models map[string]string) (string, *manager.Manager, *grpc.ClientConn) {
	t.Helper()
	return startFixtureServerTLS(t, fx, models, nil, nil)
}

// startFixtureServerTLS is startFixtureServer serving TLS with serverTLS
// (nil: plaintext); the returned connection uses clientTLS (nil:
// plaintext).
func startFixtureServerTLS(t *testing.T, fx string, models map[string]string, serverTLS, clientTLS *tls.Config) (string, *manager.Manager, *grpc.ClientConn) {
	t.Helper()
	mgr, err := manager.New(manager.Options{
		Load: func(ctx context.Context, dir string) (servable.Model, error) {
			return loader.Load(ctx, dir, loader.Options{})
		},
		OpenSource: func(_ context.Context, p string) (manager.Source, error) {
			return fixtureSource{sourcetest.Dir(p)}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	var mcs []*servingpb.ModelConfig
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range models {
			if !yield(k) {
				return
			}
		}
	}) {
		mc := &servingpb.ModelConfig{Name: name, BasePath: filepath.Join(fx, models[name]), ModelPlatform: "tensorflow"}
		mc.ModelVersionPolicy = &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_{
				All: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All{}}}
		mcs = append(mcs, mc)
	}
	cfg := &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}
	if err := mgr.ReloadConfig(context.Background(), cfg); err != nil {
		t.Fatalf("load fixtures: %v", err)
	}
	srv, err := grpcapi.New(grpcapi.Options{Models: mgr, TLS: serverTLS})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	creds := insecure.NewCredentials()
	if clientTLS != nil {
		creds = credentials.NewTLS(clientTLS)
	}
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(creds),
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
	return ln.Addr().String(), mgr, conn
}

// TestFixtureGoldensOverGRPC sends every golden.json case as a gRPC Predict
// (inputs parsed from the REST body with the signatures GetModelMetadata
// returns, encoded alternately as typed fields and tensor_content), renders
// the outputs as the REST body and checks it against the golden response.
func TestFixtureGoldensOverGRPC(t *testing.T) {
	fx := fixtures.Dir(t)
	files := golden.Files(t, fx)
	models := map[string]string{}
	names := map[string]string{}
	for i, gf := range files {
		rel, _ := filepath.Rel(fx, filepath.Dir(gf))
		name := "m" + strconv.Itoa(i)
		models[name], names[gf] = rel, name
	}
	_, _, conn := startFixtureServer(t, fx, models)
	pred := servingpb.NewPredictionServiceClient(conn)
	ctx := context.Background()
	nCases := 0
	for _, gf := range files {
		name := names[gf]
		t.Run(models[name], func(t *testing.T) {
			g, err := golden.Read(gf)
			if err != nil {
				t.Fatal(err)
			}
			md, err := pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{
				ModelSpec: &servingpb.ModelSpec{Name: name}, MetadataField: []string{"signature_def"}})
			if err != nil {
				t.Fatal(err)
			}
			var sigs servingpb.SignatureDefMap
			if err := md.Metadata["signature_def"].UnmarshalTo(&sigs); err != nil {
				t.Fatal(err)
			}
			for i, c := range g.Cases {
				req, err := jsontensor.ParsePredictRequest(c.Request, func(s string) (*servable.Signature, error) {
					d := sigs.SignatureDef[s]
					if d == nil {
						return nil, jsontensor.ErrSignatureNotFound(s)
					}
					return grpcapi.ServableSignature(s, d), nil
				})
				if err != nil {
					t.Fatalf("case %d: parse: %v", i, err)
				}
				in := map[string]*tfpb.TensorProto{}
				for alias, tt := range req.Inputs {
					enc := tensorproto.EncodeTyped
					if i%2 == 1 && tt.DType != tensor.String {
						enc = tensorproto.Encode
					}
					if in[alias], err = enc(tt); err != nil {
						t.Fatal(err)
					}
				}
				resp, err := pred.Predict(ctx, &servingpb.PredictRequest{
					ModelSpec: &servingpb.ModelSpec{Name: name, SignatureName: req.SignatureName}, Inputs: in})
				if err != nil {
					t.Errorf("case %d (%s): %v", i, c.Desc, err)
					continue
				}
				outs := map[string]*tensor.Tensor{}
				for alias, p := range resp.Outputs {
					if outs[alias], err = tensorproto.Decode(p); err != nil {
						t.Fatalf("case %d: output %s: %v", i, alias, err)
					}
				}
				body, err := jsontensor.AppendPredictResponse(nil, req.Format, outs, slices.Sorted(func(yield func(string) bool) {
					for k := range outs {
						if !yield(k) {
							return
						}
					}
				}))
				if err != nil {
					t.Fatalf("case %d: render: %v", i, err)
				}
				if err := c.Check(body); err != nil {
					t.Errorf("case %d (%s): %v", i, c.Desc, err)
				}
				nCases++
			}
		})
	}
	t.Logf("%d golden cases checked over gRPC", nCases)
}

const (
	halfPlusTwo = "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_2_versions"
	stockGRU    = "keras/gru/christopher_stock"
)

// TestFixtureErrorCodes is the error table on real models.
func TestFixtureErrorCodes(t *testing.T) {
	fx := fixtures.Dir(t)
	_, _, conn := startFixtureServer(t, fx, map[string]string{"hp2": halfPlusTwo, "gru": stockGRU})
	pred := servingpb.NewPredictionServiceClient(conn)
	x := func(dt tfpb.DataType, dims ...int64) map[string]*tfpb.TensorProto {
		p := &tfpb.TensorProto{Dtype: dt, TensorShape: &tfpb.TensorShapeProto{}}
		n := int64(1)
		for _, d := range dims {
			p.TensorShape.Dim = append(p.TensorShape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
			n *= d
		}
		switch dt {
		case tfpb.DataType_DT_FLOAT:
			p.FloatVal = make([]float32, n)
		case tfpb.DataType_DT_INT64:
			p.Int64Val = make([]int64, n)
		}
		return map[string]*tfpb.TensorProto{"x": p}
	}
	v := func(n int64) *servingpb.ModelSpec_Version {
		return &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(n)}
	}
	gruIn := func(dims ...int64) map[string]*tfpb.TensorProto {
		m := x(tfpb.DataType_DT_FLOAT, dims...)
		return map[string]*tfpb.TensorProto{"input_2": m["x"]}
	}
	cases := []struct {
		name string
		req  *servingpb.PredictRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "nope"}, Inputs: x(tfpb.DataType_DT_FLOAT, 1, 1)},
			codes.NotFound, "Servable not found for request: Latest(nope)"},
		{"unknown version", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "hp2", VersionChoice: v(125)}, Inputs: x(tfpb.DataType_DT_FLOAT, 1, 1)},
			codes.NotFound, "Servable not found for request: Specific(hp2, 125)"},
		{"unknown label", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "hp2",
			VersionChoice: &servingpb.ModelSpec_VersionLabel{VersionLabel: "stable"}}, Inputs: x(tfpb.DataType_DT_FLOAT, 1, 1)},
			codes.InvalidArgument, "Unrecognized servable version label: stable"},
		{"unknown signature", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "hp2", SignatureName: "nope"}, Inputs: x(tfpb.DataType_DT_FLOAT, 1, 1)},
			codes.FailedPrecondition, `Serving signature key "nope" not found.`},
		{"bad dtype", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "hp2"}, Inputs: x(tfpb.DataType_DT_INT64, 1, 1)},
			codes.InvalidArgument, "Expects arg[0] to be float but int64 is provided"},
		{"bad shape", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "gru"}, Inputs: gruIn(1, 14, 5)},
			codes.InvalidArgument, ""},
		{"unparsable tensor", &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "hp2"}, Inputs: map[string]*tfpb.TensorProto{
			"x": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 3}}}, TensorContent: []byte{1, 2}}}},
			codes.InvalidArgument, "tensor parsing error: x"},
	}
	for _, c := range cases {
		_, err := pred.Predict(context.Background(), c.req)
		st, _ := grpcstatus.FromError(err)
		if st.Code() != c.code || !strings.Contains(st.Message(), c.msg) {
			t.Errorf("%s: %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	// A specific version answers with y = 0.5x + 2 and says which it was.
	r123, err := pred.Predict(context.Background(), &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "hp2", VersionChoice: v(123)}, Inputs: map[string]*tfpb.TensorProto{
			"x": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 2}, {Size: 1}}}, FloatVal: []float32{1, 4}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r123.Outputs["y"].GetFloatVal(); len(got) != 2 || got[0] != 2.5 || got[1] != 4 {
		t.Errorf("version 123: %v, want [2.5 4]", got)
	}
	if r123.GetModelSpec().GetVersion().GetValue() != 123 {
		t.Errorf("model_spec %v", r123.GetModelSpec())
	}
	// Classify and regress through the real ParseExample signatures.
	ex := func(xv float32) *tfpb.Example {
		return &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
			"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{xv}}}}}}}
	}
	input := &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: []*tfpb.Example{ex(1), ex(3)}}}}
	rr, err := pred.Regress(context.Background(), &servingpb.RegressionRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "hp2", VersionChoice: v(123), SignatureName: "regress_x_to_y"}, Input: input})
	if err != nil {
		t.Fatalf("regress: %v", err)
	}
	if got := rr.GetResult().GetRegressions(); len(got) != 2 || got[0].Value != 2.5 || got[1].Value != 3.5 {
		t.Errorf("regress: %v, want [2.5 3.5]", got)
	}
	cr, err := pred.Classify(context.Background(), &servingpb.ClassificationRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "hp2", VersionChoice: v(123), SignatureName: "classify_x_to_y"}, Input: input})
	if err != nil {
		t.Fatalf("classify: %v", err)
	}
	if got := cr.GetResult().GetClassifications(); len(got) != 2 || got[1].Classes[0].Score != 3.5 {
		t.Errorf("classify: %v", got)
	}
}

// TestPythonClient compiles our .proto files with grpc_tools.protoc and calls
// Predict, GetModelStatus and GetModelMetadata through Python grpcio. It
// runs under CI=true or when /usr/bin/python3 has grpc_tools.
func TestPythonClient(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc_tools, grpc").Run(); err != nil {
		if ci {
			t.Fatalf("CI=true needs python3-grpc-tools and python3-grpcio: %v", err)
		}
		t.Skip("python3 grpc_tools not installed (apt-get install -y python3-grpc-tools python3-grpcio)")
	}
	fx := fixtures.Dir(t)
	addr, _, _ := startFixtureServer(t, fx, map[string]string{"hp2": halfPlusTwo})
	protoRoot, err := filepath.Abs("../../proto")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/python_client.py", protoRoot, t.TempDir(), addr, "hp2")
	out, err := cmd.CombinedOutput()
	t.Logf("python client:\n%s", out)
	if err != nil {
		t.Fatalf("python client: %v", err)
	}
	if !strings.Contains(string(out), "PYTHON CLIENT OK") {
		t.Fatal("python client did not finish")
	}
}
