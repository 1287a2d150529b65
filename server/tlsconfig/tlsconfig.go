// Package tlsconfig reads TF Serving's SSLConfig (the text proto of
// --ssl_config_file: server_key, server_cert, custom_ca, client_verify) and
// builds the *tls.Config that serves it, as TF Serving's
// BuildServerCredentialsFromSSLConfigFile does for gRPC: the key and
// certificate (PEM text, not file names) are the server's identity; with
// client_verify every client must present a certificate that verifies
// against custom_ca (or the system roots when custom_ca is empty); without
// it no client certificate is requested, and custom_ca is unused.
//
// Errors name the file and the field, never the key material.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// MaxFileBytes bounds an SSLConfig file: a key, a certificate chain and a
// CA bundle in PEM take a few tens of KiB.
const MaxFileBytes = 1 << 20

// SSLConfig is tensorflow.serving.SSLConfig
// (tensorflow_serving/config/ssl_config.proto). Its String and LogValue
// redact ServerKey.
type SSLConfig struct {
	ServerKey    string // PEM private key
	ServerCert   string // PEM certificate chain
	CustomCA     string // PEM CA certificates that client certificates must chain to
	ClientVerify bool   // require and verify client certificates
}

// String describes c without its private key.
func (c SSLConfig) String() string {
	return fmt.Sprintf("SSLConfig{server_key: [%d bytes redacted], server_cert: %d bytes, custom_ca: %d bytes, client_verify: %v}",
		len(c.ServerKey), len(c.ServerCert), len(c.CustomCA), c.ClientVerify)
}

// GoString is String, so that %#v redacts the key too.
func (c SSLConfig) GoString() string { return c.String() }

// LogValue is String for log/slog.
func (c SSLConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// descriptor is SSLConfig's message descriptor, built here rather than
// generated: four scalar fields with TF Serving's numbers.
func descriptor() (protoreflect.MessageDescriptor, error) {
	field := func(name string, n int32, t descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(n),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: t.Enum()}
	}
	str, boolean := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_BOOL
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("tensorflow_serving/config/ssl_config.proto"),
		Package: proto.String("tensorflow.serving"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("SSLConfig"), Field: []*descriptorpb.FieldDescriptorProto{
			field("server_key", 1, str), field("server_cert", 2, str), field("custom_ca", 3, str), field("client_verify", 4, boolean)}}},
	}, nil)
	if err != nil {
		return nil, err
	}
	return fd.Messages().Get(0), nil
}

// linePos finds prototext's "(line L:C)" in an error, the one part of its
// message that cannot quote the input.
var linePos = regexp.MustCompile(`line \d+:\d+`)

// Parse reads SSLConfig text format as protobuf's TextFormat does (fields
// in any order, `#` comments, adjacent string literals concatenated, escapes
// such as \n). Unknown fields are errors. An error gives the position, never
// the text.
func Parse(text []byte) (SSLConfig, error) {
	md, err := descriptor()
	if err != nil {
		return SSLConfig{}, fmt.Errorf("SSLConfig descriptor: %w", err)
	}
	m := dynamicpb.NewMessage(md)
	if err := prototext.Unmarshal(text, m); err != nil {
		where := linePos.FindString(err.Error())
		if where == "" {
			where = "unknown position"
		}
		return SSLConfig{}, fmt.Errorf("invalid SSLConfig text at %s (fields: server_key, server_cert, custom_ca, client_verify)", where)
	}
	f := md.Fields()
	return SSLConfig{
		ServerKey:    m.Get(f.ByName("server_key")).String(),
		ServerCert:   m.Get(f.ByName("server_cert")).String(),
		CustomCA:     m.Get(f.ByName("custom_ca")).String(),
		ClientVerify: m.Get(f.ByName("client_verify")).Bool(),
	}, nil
}

// TLS builds the server's tls.Config (TLS 1.2 or later). A key and
// certificate are required; a custom_ca must hold at least one PEM
// certificate.
func (c SSLConfig) TLS() (*tls.Config, error) {
	if c.ServerKey == "" || c.ServerCert == "" {
		return nil, errors.New("server_key and server_cert are both required")
	}
	cert, err := tls.X509KeyPair([]byte(c.ServerCert), []byte(c.ServerKey))
	if err != nil {
		// crypto/tls's messages describe the PEM blocks, not their bytes.
		return nil, fmt.Errorf("server_key/server_cert: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.CustomCA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(c.CustomCA)) {
			return nil, errors.New("custom_ca: no PEM certificate found")
		}
		cfg.ClientCAs = pool
	}
	if c.ClientVerify {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Load reads the SSLConfig file at path (at most MaxFileBytes) and builds
// its tls.Config. Errors name flag and path: "--ssl_config_file
// /etc/ssl.txt: ...".
func Load(flag, path string) (*tls.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flag, path, err)
	}
	if len(text) > MaxFileBytes {
		return nil, fmt.Errorf("--%s %s: larger than %d bytes", flag, path, MaxFileBytes)
	}
	c, err := Parse(text)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flag, path, err)
	}
	cfg, err := c.TLS()
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flag, path, err)
	}
	return cfg, nil
}
