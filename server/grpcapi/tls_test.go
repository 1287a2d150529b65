package grpcapi_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/server/tlsconfig/tlstest"
)

func hp2Predict(t *testing.T, conn *grpc.ClientConn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := servingpb.NewPredictionServiceClient(conn).Predict(ctx, &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "hp2"},
		Inputs: map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_FLOAT,
			TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1}, {Size: 1}}}, FloatVal: []float32{4}}}})
	if err != nil {
		return err
	}
	if y := resp.Outputs["y"].GetFloatVal(); len(y) != 1 || y[0] != 4 {
		t.Errorf("hp2(4) = %v, want [4]", y)
	}
	return nil
}

// dial opens a client connection with creds (not waiting for it).
func dial(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestTLS: with an SSLConfig of key and certificate only, a TLS client is
// served; a plaintext client is refused.
func TestTLS(t *testing.T) {
	p := tlstest.New(t)
	fx := fixtures.Dir(t)
	addr, _, conn := startFixtureServerTLS(t, fx, map[string]string{"hp2": halfPlusTwo}, p.ServerTLS(t, false, false), p.ClientTLS(t, false))
	if err := hp2Predict(t, conn); err != nil {
		t.Fatalf("TLS client: %v", err)
	}
	err := hp2Predict(t, dial(t, addr, insecure.NewCredentials()))
	if grpcstatus.Code(err) != codes.Unavailable {
		t.Errorf("plaintext client on a TLS port: %v, want UNAVAILABLE", err)
	}
}

// TestMutualTLS: with client_verify, only clients presenting a certificate
// from custom_ca are served.
func TestMutualTLS(t *testing.T) {
	p := tlstest.New(t)
	fx := fixtures.Dir(t)
	addr, _, conn := startFixtureServerTLS(t, fx, map[string]string{"hp2": halfPlusTwo}, p.ServerTLS(t, true, true), p.ClientTLS(t, true))
	if err := hp2Predict(t, conn); err != nil {
		t.Fatalf("mTLS client: %v", err)
	}
	for name, creds := range map[string]credentials.TransportCredentials{
		"TLS without a client certificate": credentials.NewTLS(p.ClientTLS(t, false)),
		"plaintext":                        insecure.NewCredentials(),
	} {
		if err := hp2Predict(t, dial(t, addr, creds)); grpcstatus.Code(err) != codes.Unavailable {
			t.Errorf("%s: %v, want UNAVAILABLE", name, err)
		}
	}
}

// TestPythonClientTLS drives Python grpcio's ssl_channel_credentials
// against mutual TLS: with the client certificate the whole client script
// passes; without it the handshake is refused.
func TestPythonClientTLS(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc_tools, grpc").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true needs python3-grpc-tools and python3-grpcio: %v", err)
		}
		t.Skip("python3 grpc_tools not installed (apt-get install -y python3-grpc-tools python3-grpcio)")
	}
	p := tlstest.New(t)
	fx := fixtures.Dir(t)
	addr, _, _ := startFixtureServerTLS(t, fx, map[string]string{"hp2": halfPlusTwo}, p.ServerTLS(t, true, true), p.ClientTLS(t, true))
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	files := map[string]string{"ca.pem": p.CA, "key.pem": p.ClientKey, "cert.pem": p.ClientCert}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	protoRoot, err := filepath.Abs("../../proto")
	if err != nil {
		t.Fatal(err)
	}
	run := func(refused bool, tlsFiles ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args := []string{"testdata/python_client.py", protoRoot, t.TempDir(), "localhost:" + port, "hp2"}
		for _, f := range tlsFiles {
			args = append(args, filepath.Join(dir, f))
		}
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", args...)
		if refused {
			cmd.Env = append(os.Environ(), "EXPECT_REFUSED=1")
		}
		out, err := cmd.CombinedOutput()
		t.Logf("python client %v:\n%s", tlsFiles, out)
		if err != nil {
			t.Errorf("python client %v: %v", tlsFiles, err)
		}
		return string(out)
	}
	if out := run(false, "ca.pem", "key.pem", "cert.pem"); !strings.Contains(out, "PYTHON CLIENT OK") {
		t.Error("python mTLS client did not finish")
	}
	if out := run(true, "ca.pem"); !strings.Contains(out, "REFUSED OK") {
		t.Error("python TLS client without a certificate was not refused")
	}
}
