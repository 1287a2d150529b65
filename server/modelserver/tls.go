package modelserver

import (
	"crypto/tls"

	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/tlsconfig"
)

// loadTLS reads --ssl_config_file (gRPC, as TF Serving) and
// --rest_api_ssl_config_file (REST) at startup; an unreadable or malformed
// file is a startup error naming it. A nil config means plaintext.
func loadTLS(o flags.Options) (grpcTLS, restTLS *tls.Config, err error) {
	if o.SSLConfigFile != "" {
		if grpcTLS, err = tlsconfig.Load("ssl_config_file", o.SSLConfigFile); err != nil {
			return nil, nil, err
		}
	}
	if o.RESTSSLConfigFile != "" {
		if restTLS, err = tlsconfig.Load("rest_api_ssl_config_file", o.RESTSSLConfigFile); err != nil {
			return nil, nil, err
		}
	}
	return grpcTLS, restTLS, nil
}
