// Package tlstest makes a throwaway certificate authority with a server and
// a client certificate, in memory, for tests of TLS and mutual TLS.
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
	"time"
)

// PKI holds PEM text: a CA, a server certificate for 127.0.0.1, ::1 and
// localhost, and a client certificate, both signed by the CA.
type PKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// New makes a fresh PKI valid for one hour.
func New() (*PKI, error) {
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

// WriteSSLConfig writes SSLConfigText into dir/name and returns its path.
func (p *PKI) WriteSSLConfig(dir, name string, withCA, clientVerify bool) (string, error) {
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, []byte(p.SSLConfigText(withCA, clientVerify)), 0o600)
}

// ClientTLS is a client configuration that trusts the CA and, with
// withCert, presents the client certificate.
func (p *PKI) ClientTLS(withCert bool) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(p.CA)) {
		return nil, fmt.Errorf("tlstest: bad CA")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if withCert {
		c, err := tls.X509KeyPair([]byte(p.ClientCert), []byte(p.ClientKey))
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
