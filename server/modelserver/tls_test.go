package modelserver

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/tlsconfig/tlstest"
)

// runTLS starts Run on fresh REST and gRPC listeners with extra flags and
// returns their addresses; Run ends with the test.
func runTLS(t *testing.T, extra ...string) (restAddr, grpcAddr string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "3"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts, err := flags.Parse(append([]string{"--model_name=half", "--model_base_path=" + dir,
		"--file_system_poll_wait_seconds=0"}, extra...), nil)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
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
			RESTListener: rl,
			GRPCListener: gl,
			Ready:        func(net.Addr, *manager.Manager) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return rl.Addr().String(), gl.Addr().String()
}

func predictHalf(addr string, creds credentials.TransportCredentials) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = servingpb.NewPredictionServiceClient(conn).Predict(ctx, &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "half"},
		Inputs: map[string]*tfpb.TensorProto{"x": {Dtype: tfpb.DataType_DT_FLOAT,
			TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1}, {Size: 1}}}, FloatVal: []float32{6}}}})
	return err
}

// TestRunTLS: --ssl_config_file with client_verify puts mutual TLS on the
// gRPC port; --rest_api_ssl_config_file puts HTTPS on the REST port.
// Plaintext clients are refused on both.
func TestRunTLS(t *testing.T) {
	p, err := tlstest.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	grpcCfg, err := p.WriteSSLConfig(dir, "grpc_ssl.txt", true, true)
	if err != nil {
		t.Fatal(err)
	}
	restCfg, err := p.WriteSSLConfig(dir, "rest_ssl.txt", false, false)
	if err != nil {
		t.Fatal(err)
	}
	restAddr, grpcAddr := runTLS(t, "--ssl_config_file="+grpcCfg, "--rest_api_ssl_config_file="+restCfg)

	anon, _ := p.ClientTLS(false)
	withCert, _ := p.ClientTLS(true)
	if err := predictHalf(grpcAddr, credentials.NewTLS(withCert)); err != nil {
		t.Errorf("gRPC with a client certificate: %v", err)
	}
	for name, creds := range map[string]credentials.TransportCredentials{
		"no client certificate": credentials.NewTLS(anon), "plaintext": insecure.NewCredentials()} {
		if err := predictHalf(grpcAddr, creds); grpcstatus.Code(err) != codes.Unavailable {
			t.Errorf("gRPC, %s: %v, want UNAVAILABLE", name, err)
		}
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: anon}}
	resp, err := client.Get("https://" + restAddr + "/v1/models/half")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"state": "AVAILABLE"`) || resp.TLS == nil {
		t.Errorf("HTTPS status: %d %s", resp.StatusCode, body)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + restAddr + "/v1/models/half"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served on the HTTPS port")
		}
	}
	// A client that does not trust the CA is refused by the client itself.
	if _, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}).Get("https://" + restAddr + "/v1/models/half"); err == nil {
		t.Error("a client without the CA trusted the server")
	}
}

// TestRunBadSSLConfig: a missing or malformed SSL config file stops Run at
// startup with an error naming flag and file.
func TestRunBadSSLConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("server_key: \"-----BEGIN PRIVATE KEY-----\nabc\""), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, path string }{
		{"ssl_config_file", filepath.Join(dir, "missing.txt")},
		{"ssl_config_file", bad},
		{"rest_api_ssl_config_file", bad},
	} {
		opts, err := flags.Parse([]string{"--model_name=half", "--model_base_path=" + dir, "--" + c.flag + "=" + c.path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = Run(context.Background(), opts, Deps{
			Load:       func(context.Context, string, LoadOptions) (servable.Model, error) { return fakemodel.New(), nil },
			OpenSource: func(_ context.Context, p string) (manager.Source, error) { return dirSource{p}, nil },
		})
		if err == nil || !strings.Contains(err.Error(), "--"+c.flag) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("--%s=%s: %v", c.flag, c.path, err)
		} else if strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "PRIVATE") {
			t.Errorf("--%s=%s: the error quotes the file: %v", c.flag, c.path, err)
		}
	}
}
