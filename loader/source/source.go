package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/viant/afs/storage"

	"github.com/tfserve/tfserve/servable/redact"
)

// Source is a model base path: a set of numbered versions, each a SavedModel.
type Source interface {
	// Versions lists the version numbers found under the base path, ascending.
	// Names are parsed like TF Serving's SimpleAtoi ("00000123" is 123);
	// non-numeric children are ignored. A missing base path is an error.
	Versions(ctx context.Context) ([]int64, error)
	// Fetch makes version v available as a local directory and returns its
	// path. Local sources return the version directory itself; remote ones
	// copy it into the cache (atomically) or reuse a complete cached copy.
	Fetch(ctx context.Context, version int64) (string, error)
	// String describes the source for logs; it never contains credentials.
	String() string
}

// Opener opens a Source for a URI. It is how schemes implemented outside this
// package (models:/ in loader/mlflow) are plugged into Open.
type Opener func(ctx context.Context, uri string, opts Options) (Source, error)

// Options configure Open. The zero value is usable.
type Options struct {
	// CacheDir holds copies of remote versions. Default:
	// os.UserCacheDir()/tfserve/models, or os.TempDir()/tfserve-models.
	CacheDir string
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// HTTPClient is used for http(s) archives and by openers that speak HTTP
	// (MLflow). Default: http.DefaultClient.
	HTTPClient *http.Client
	// Openers maps a URI scheme ("models") to the Opener that handles it. It
	// is consulted before the built-in schemes.
	Openers map[string]Opener
	// Managers maps a URI scheme to a viant/afs storage manager that replaces
	// the built-in one (tests inject mem.New() for mem://).
	Managers map[string]storage.Manager
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.CacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(dir, "tfserve", "models")
		} else {
			o.CacheDir = filepath.Join(os.TempDir(), "tfserve-models")
		}
	}
	return o
}

// WithDefaults returns o with every unset field given its default value.
func (o Options) WithDefaults() Options { return o.withDefaults() }

// Open returns the Source for a base path URI; see the package comment for the
// supported forms. Open checks the syntax and sets up clients; it does not
// require the base path to exist yet (Versions reports that).
//
// The Source and every error it (or Open) returns are redacted: no
// credential of the URI or the environment appears in their text.
func Open(ctx context.Context, baseURI string, opts Options) (Source, error) {
	src, err := open(ctx, baseURI, opts)
	if err != nil {
		return nil, RedactError(err)
	}
	return redacted{src}, nil
}

func open(ctx context.Context, baseURI string, opts Options) (Source, error) {
	opts = opts.withDefaults()
	if strings.TrimSpace(baseURI) == "" {
		return nil, errors.New("open model source: empty base path")
	}
	scheme := Scheme(baseURI)
	if open, ok := opts.Openers[scheme]; ok && open != nil {
		return open(ctx, baseURI, opts)
	}
	switch scheme {
	case "", "file":
		return openLocal(baseURI)
	case "s3", "gs", "mem":
		return openRemote(ctx, baseURI, opts)
	case "http", "https":
		return openArchive(baseURI, opts)
	case "models":
		return nil, fmt.Errorf("open model source %s: MLflow registry URIs need the loader/mlflow opener (mlflow.WithRegistry or Options.Openers[%q])", Redact(baseURI), "models")
	default:
		return nil, fmt.Errorf("open model source %s: unsupported scheme %q", Redact(baseURI), scheme)
	}
}

// Scheme returns the lower-cased URI scheme of uri, or "" for a plain path.
// A one-letter scheme is taken as a Windows drive letter, i.e. a path.
func Scheme(uri string) string {
	i := strings.IndexByte(uri, ':')
	if i < 2 {
		return ""
	}
	for j := 0; j < i; j++ {
		c := uri[j]
		isAlpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !(isAlpha || (j > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) {
			return ""
		}
	}
	return strings.ToLower(uri[:i])
}

// Redact returns uri with its credentials masked (redact.String): user
// info, query values, fragment. Use it for logs and errors.
func Redact(uri string) string { return redact.String(uri) }

// cacheKey names the cache subdirectory for a base path.
func cacheKey(base string) string {
	sum := sha256.Sum256([]byte(base))
	return hex.EncodeToString(sum[:8])
}

// CacheDirFor returns the directory under cacheDir that holds the copies of
// one remote base path (any string that identifies it).
func CacheDirFor(cacheDir, base string) string {
	return filepath.Join(cacheDir, cacheKey(base))
}

// readCloser couples a reader with a separate close function.
type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
