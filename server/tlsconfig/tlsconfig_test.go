package tlsconfig_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/server/tlsconfig"
	"github.com/tfserve/tfserve/server/tlsconfig/tlstest"
)

func TestParseTextFormat(t *testing.T) {
	// Adjacent literals, escapes, comments and any field order, as
	// protobuf's TextFormat reads them.
	text := "# a comment\nclient_verify: true\nserver_cert: \"-----BEGIN\\n\"\n  \"CERT\\n\"\nserver_key: 'k\\101y'\ncustom_ca: \"ca\"\n"
	c, err := tlsconfig.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := tlsconfig.SSLConfig{ServerKey: "kAy", ServerCert: "-----BEGIN\nCERT\n", CustomCA: "ca", ClientVerify: true}
	if c != want {
		t.Errorf("got %#v, want %#v", c, want)
	}
	if c, err := tlsconfig.Parse(nil); err != nil || c != (tlsconfig.SSLConfig{}) {
		t.Errorf("empty file: %#v %v", c, err)
	}
	for _, bad := range []string{"server_kye: \"x\"", "server_key: 3", "client_verify: maybe", "server_key: \"unterminated"} {
		if _, err := tlsconfig.Parse([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestNoKeyMaterialInErrorsOrLogs: a key never reaches an error message, a
// %v or %#v, or a log line.
func TestNoKeyMaterialInErrorsOrLogs(t *testing.T) {
	const secret = "SECRETKEYBYTES"
	_, err := tlsconfig.Parse([]byte("server_key: \"" + secret + "\"\nserver_key " + secret + "\n"))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("parse error %v", err)
	}
	c := tlsconfig.SSLConfig{ServerKey: secret, ServerCert: "c"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "ssl", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logged.String()} {
		if strings.Contains(s, secret) || !strings.Contains(s, "redacted") {
			t.Errorf("rendered as %q", s)
		}
	}
	_, err = c.TLS()
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("TLS error %v", err)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	p := tlstest.New(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cases := map[string]string{
		"missing.txt":  "",
		"garbage.txt":  "server_key: {",
		"nocert.txt":   "server_key: \"x\"",
		"mismatch.txt": "server_key: \"" + strings.ReplaceAll(p.ClientKey, "\n", "\\n") + "\"\nserver_cert: \"" + strings.ReplaceAll(p.ServerCert, "\n", "\\n") + "\"",
		"badca.txt":    strings.Replace(p.SSLConfigText(false, true), "client_verify", "custom_ca: \"not pem\"\nclient_verify", 1),
		"huge.txt":     "# " + strings.Repeat("x", tlsconfig.MaxFileBytes),
	}
	for name, text := range cases {
		path := filepath.Join(dir, name)
		if name != "missing.txt" {
			path = write(name, text)
		}
		_, err := tlsconfig.Load("ssl_config_file", path)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "--ssl_config_file") || !strings.Contains(msg, path) {
			t.Errorf("%s: error %q does not name the flag and file", name, msg)
		}
		if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, p.ServerKey[40:60]) || strings.Contains(msg, p.ClientKey[40:60]) {
			t.Errorf("%s: error %q quotes key material", name, msg)
		}
	}
	if _, err := tlsconfig.Load("ssl_config_file", write("good.txt", p.SSLConfigText(true, true))); err != nil {
		t.Errorf("good file: %v", err)
	}
}

// handshake serves one TLS connection with server and dials it with
// client; it returns the client's and the server's handshake errors.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = tc.Write([]byte("ok"))
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		var b [2]byte
		_, err = io.ReadFull(c, b[:])
		c.Close()
	}
	return err, <-done
}

func TestClientVerify(t *testing.T) {
	p := tlstest.New(t)
	anon, withCert := p.ClientTLS(t, false), p.ClientTLS(t, true)
	mtls := p.ServerTLS(t, true, true)
	if mtls.ClientAuth != tls.RequireAndVerifyClientCert || mtls.MinVersion != tls.VersionTLS12 {
		t.Errorf("client_verify: ClientAuth %v MinVersion %x", mtls.ClientAuth, mtls.MinVersion)
	}
	if ce, se := handshake(t, mtls, withCert); ce != nil || se != nil {
		t.Errorf("mTLS with a client certificate: client %v, server %v", ce, se)
	}
	if _, se := handshake(t, mtls, anon); se == nil {
		t.Error("client_verify: a client without a certificate was accepted")
	}
	// A certificate from another CA is refused too.
	other := tlstest.New(t)
	foreign := other.ClientTLS(t, true)
	foreign.RootCAs = anon.RootCAs
	if _, se := handshake(t, mtls, foreign); se == nil {
		t.Error("client_verify: a client certificate from another CA was accepted")
	}
	// Without client_verify no certificate is asked for, with or without
	// custom_ca (TF Serving's GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE).
	for _, withCA := range []bool{false, true} {
		cfg := p.ServerTLS(t, withCA, false)
		if cfg.ClientAuth != tls.NoClientCert {
			t.Errorf("custom_ca=%v without client_verify: ClientAuth %v", withCA, cfg.ClientAuth)
		}
		if ce, se := handshake(t, cfg, anon); ce != nil || se != nil {
			t.Errorf("server-only TLS: client %v, server %v", ce, se)
		}
	}
}

// FuzzParse: no panic, and parsing allocates within a constant factor of
// the input plus a constant; an accepted config renders without its key.
func FuzzParse(f *testing.F) {
	p := tlstest.New(f)
	for _, s := range []string{"", p.SSLConfigText(true, true), "server_key: \"a\" \"b\"", "client_verify: 1", "custom_ca: '\\x41'", "server_key {", "# only\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := tlsconfig.Parse(b)
		runtime.ReadMemStats(&after)
		if bound := 64*uint64(len(b)) + 256<<10; after.TotalAlloc-before.TotalAlloc > bound {
			t.Fatalf("parsing %d bytes allocated %d, over %d", len(b), after.TotalAlloc-before.TotalAlloc, bound)
		}
		if err != nil {
			return
		}
		// The rendering depends on the key's length only.
		masked := c
		masked.ServerKey = strings.Repeat("x", len(c.ServerKey))
		if c.String() != masked.String() {
			t.Fatalf("String() depends on the key: %q", c.String())
		}
	})
}
