package source

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/viant/afs/mem"
	"github.com/viant/afs/storage"
	"github.com/viant/afsc/gs"
	afss3 "github.com/viant/afsc/s3"
	gopt "google.golang.org/api/option"
)

// manager returns the afs storage manager for uri's scheme, configured from
// the environment. Each call builds a new manager, so sources do not share
// mutable state.
func manager(ctx context.Context, uri string, opts Options) (storage.Manager, error) {
	scheme := Scheme(uri)
	if m, ok := opts.Managers[scheme]; ok && m != nil {
		return m, nil
	}
	switch scheme {
	case "s3":
		cfg, err := awsConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("configure S3 for %s: %w", Redact(uri), err)
		}
		return afss3.New(cfg), nil
	case "gs":
		if host := os.Getenv("STORAGE_EMULATOR_HOST"); host != "" {
			endpoint := host
			if !strings.Contains(endpoint, "://") {
				endpoint = "http://" + endpoint
			}
			endpoint = strings.TrimRight(endpoint, "/") + "/storage/v1/"
			return gs.New(gs.NewClientOptions(
				gopt.WithEndpoint(endpoint),
				gopt.WithoutAuthentication(),
				gopt.WithHTTPClient(opts.HTTPClient),
			)), nil
		}
		// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
		// gcloud, metadata server) are resolved by afsc on first use.
		return gs.New(), nil
	case "mem":
		// The process-wide afs in-memory file system (owned by afs).
		return mem.Singleton(), nil
	}
	return nil, fmt.Errorf("no storage backend for scheme %q", scheme)
}

// awsConfig loads the AWS SDK's default configuration (environment, shared
// config files, instance roles). A custom endpoint from AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL is used with a fixed host name, i.e. path-style
// addressing, which S3-compatible stores such as MinIO need.
func awsConfig(ctx context.Context) (*aws.Config, error) {
	var loadOpts []func(*awsconfig.LoadOptions) error
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		loadOpts = append(loadOpts, awsconfig.WithDefaultRegion("us-east-1"))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint != "" {
		cfg.BaseEndpoint = nil
		//nolint:staticcheck // the v1 resolver is the only aws.Config-level way to get path-style addressing.
		cfg.EndpointResolverWithOptions = aws.EndpointResolverWithOptionsFunc(
			func(service, region string, _ ...any) (aws.Endpoint, error) {
				if service != s3.ServiceID {
					return aws.Endpoint{}, &aws.EndpointNotFoundError{}
				}
				return aws.Endpoint{URL: endpoint, HostnameImmutable: true, SigningRegion: region, Source: aws.EndpointSourceCustom}, nil
			})
	}
	return &cfg, nil
}
