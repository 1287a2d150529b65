// Package tlstest makes a throwaway certificate authority with a server and
// a client certificate, in memory, for tests of TLS and mutual TLS, and the
// server and client configurations built from them. Every helper fails the
// test on error.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tfserve/tfserve/server/tlsconfig"
)

// PKI holds PEM text: a CA, a server certificate for 127.0.0.1, ::1 and
// localhost, and a client certificate, both signed by the CA.
type PKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// New makes a fresh PKI valid for one hour.
func New(t testing.TB) *PKI {
	t.Helper()
	p, err := newPKI()
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	return p
}

func newPKI() (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tfserve test CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM string, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return "", "", err
		}
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", "", err
		}
		return encode("CERTIFICATE", der), encode("PRIVATE KEY", kder), nil
	}
	p := &PKI{CA: encode("CERTIFICATE", caDER)}
	if p.ServerCert, p.ServerKey, err = leaf(2, "tfserve test server", x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	if p.ClientCert, p.ClientKey, err = leaf(3, "tfserve test client", x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	return p, nil
}

func encode(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// SSLConfigText renders p as an SSLConfig text proto, as a TF Serving user
// would write it; withCA adds custom_ca.
func (p *PKI) SSLConfigText(withCA, clientVerify bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by tlstest\nserver_key: %s\nserver_cert: %s\n", strconv.Quote(p.ServerKey), strconv.Quote(p.ServerCert))
	if withCA {
		fmt.Fprintf(&b, "custom_ca: %s\n", strconv.Quote(p.CA))
	}
	if clientVerify {
		b.WriteString("client_verify: true\n")
	}
	return b.String()
}

// WriteSSLConfig writes SSLConfigText into dir/name, as a file for
// --ssl_config_file or --rest_api_ssl_config_file, and returns its path.
func (p *PKI) WriteSSLConfig(t testing.TB, dir, name string, withCA, clientVerify bool) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(p.SSLConfigText(withCA, clientVerify)), 0o600); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	return path
}

// ServerTLS is the server configuration that --ssl_config_file builds from
// SSLConfigText(withCA, clientVerify).
func (p *PKI) ServerTLS(t testing.TB, withCA, clientVerify bool) *tls.Config {
	t.Helper()
	c, err := tlsconfig.Parse([]byte(p.SSLConfigText(withCA, clientVerify)))
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	cfg, err := c.TLS()
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	return cfg
}

// ClientTLS is a client configuration that trusts the CA and, with
// withCert, presents the client certificate.
func (p *PKI) ClientTLS(t testing.TB, withCert bool) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(p.CA)) {
		t.Fatal("tlstest: bad CA")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if withCert {
		c, err := tls.X509KeyPair([]byte(p.ClientCert), []byte(p.ClientKey))
		if err != nil {
			t.Fatalf("tlstest: %v", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}
