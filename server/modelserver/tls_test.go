package modelserver

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/tlsconfig/tlstest"
)

// runTLS starts Run on fresh REST and gRPC listeners with extra flags and
// returns their addresses; Run ends with the test.
func runTLS(t *testing.T, extra ...string) (restAddr, grpcAddr string) {
	t.Helper()
	opts, err := flags.Parse(append([]string{"--model_name=half", "--model_base_path=" + versionDir(t),
		"--file_system_poll_wait_seconds=0"}, extra...), nil)
	if err != nil {
		t.Fatal(err)
	}
	rl, gl := listen(t), listen(t)
	deps := fakeDeps()
	deps.RESTListener, deps.GRPCListener = rl, gl
	startRun(t, opts, deps)
	return rl.Addr().String(), gl.Addr().String()
}

// TestRunTLS: --ssl_config_file with client_verify puts mutual TLS on the
// gRPC port; --rest_api_ssl_config_file puts HTTPS on the REST port.
// Plaintext clients are refused on both.
func TestRunTLS(t *testing.T) {
	p := tlstest.New(t)
	dir := t.TempDir()
	grpcCfg := p.WriteSSLConfig(t, dir, "grpc_ssl.txt", true, true)
	restCfg := p.WriteSSLConfig(t, dir, "rest_ssl.txt", false, false)
	restAddr, grpcAddr := runTLS(t, "--ssl_config_file="+grpcCfg, "--rest_api_ssl_config_file="+restCfg)

	anon, withCert := p.ClientTLS(t, false), p.ClientTLS(t, true)
	if _, err := predictHalf(grpcAddr, credentials.NewTLS(withCert)); err != nil {
		t.Errorf("gRPC with a client certificate: %v", err)
	}
	for name, creds := range map[string]credentials.TransportCredentials{
		"no client certificate": credentials.NewTLS(anon), "plaintext": insecure.NewCredentials()} {
		if _, err := predictHalf(grpcAddr, creds); grpcstatus.Code(err) != codes.Unavailable {
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
		err = Run(context.Background(), opts, fakeDeps())
		if err == nil || !strings.Contains(err.Error(), "--"+c.flag) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("--%s=%s: %v", c.flag, c.path, err)
		} else if strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "PRIVATE") {
			t.Errorf("--%s=%s: the error quotes the file: %v", c.flag, c.path, err)
		}
	}
}
