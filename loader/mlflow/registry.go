package mlflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/tfserve/tfserve/loader/source"
)

// Open is a source.Opener for models:/ URIs that reads its Config from the
// environment (see ConfigFromEnv).
func Open(ctx context.Context, uri string, opts source.Options) (source.Source, error) {
	return NewOpener(ConfigFromEnv(os.Getenv))(ctx, uri, opts)
}

// NewOpener returns a source.Opener for models:/ URIs that talks to the
// registry described by cfg.
func NewOpener(cfg Config) source.Opener {
	return func(ctx context.Context, uri string, opts source.Options) (source.Source, error) {
		return openRegistry(uri, cfg, opts)
	}
}

// WithRegistry returns opts with models:/ URIs routed to the registry
// described by cfg, so that source.Open(ctx, uri, WithRegistry(opts, cfg))
// accepts every kind of base path. opts itself is not modified.
func WithRegistry(opts source.Options, cfg Config) source.Options {
	openers := maps.Clone(opts.Openers)
	if openers == nil {
		openers = map[string]source.Opener{}
	}
	openers["models"] = NewOpener(cfg)
	opts.Openers = openers
	return opts
}

// registrySource is a models:/ URI seen as a base path with one version:
// the one the URI resolves to now.
type registrySource struct {
	uri   ModelURI
	c     *client
	opts  source.Options
	cache string
	fetch sync.Mutex
}

func openRegistry(uri string, cfg Config, opts source.Options) (*registrySource, error) {
	opts = opts.WithDefaults()
	m, err := ParseURI(uri)
	if cfg.kind() == kindUC {
		err = checkUCURI(uri, m, err)
	}
	if err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	c, err := newClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m, err)
	}
	key := "mlflow|" + c.redacted + "|" + m.Name
	if c.kind == kindUC {
		key = "mlflow-uc|" + c.redacted + "|" + m.Name
	}
	return &registrySource{
		uri:   m,
		c:     c,
		opts:  opts,
		cache: source.CacheDirFor(opts.CacheDir, key),
	}, nil
}

func (r *registrySource) String() string { return r.uri.String() + " at " + r.c.redacted }

// Versions returns the single version the URI resolves to now; after a stage
// transition or alias change it returns the new one.
func (r *registrySource) Versions(ctx context.Context) ([]int64, error) {
	v, err := r.resolve(ctx)
	if err != nil {
		return nil, scrub(fmt.Errorf("resolve %s: %w", r, err), r.c.secrets()...)
	}
	return []int64{v}, nil
}

func (r *registrySource) resolve(ctx context.Context) (int64, error) {
	if r.c.kind == kindUC {
		return r.resolveUC(ctx)
	}
	name := r.uri.Name
	switch r.uri.Selector {
	case ByVersion:
		mv, err := r.c.modelVersion(ctx, name, r.uri.Version)
		if err != nil {
			return 0, notFound(err, fmt.Sprintf("model %q version %d not found in the registry", name, r.uri.Version))
		}
		if !mv.ready() {
			return 0, fmt.Errorf("model %q version %d is %s, not READY", name, r.uri.Version, mv.Status)
		}
		return r.uri.Version, nil
	case ByAlias:
		mv, err := r.c.aliasVersion(ctx, name, r.uri.Alias)
		if err != nil {
			return 0, notFound(err, fmt.Sprintf("model %q or its alias %q not found in the registry", name, r.uri.Alias))
		}
		v, err := mv.number()
		if err != nil {
			return 0, err
		}
		if !mv.ready() {
			return 0, fmt.Errorf("model %q alias %q points to version %d, which is %s, not READY", name, r.uri.Alias, v, mv.Status)
		}
		return v, nil
	case ByLatest, ByStage:
		var stages []string
		if r.uri.Selector == ByStage {
			stages = []string{r.uri.Stage}
		}
		mvs, err := r.c.latestVersions(ctx, name, stages)
		if err != nil {
			return 0, notFound(err, fmt.Sprintf("registered model %q not found", name))
		}
		best := int64(-1)
		for _, mv := range mvs {
			if !mv.ready() {
				continue
			}
			if r.uri.Selector == ByStage && !strings.EqualFold(mv.CurrentStage, r.uri.Stage) {
				continue
			}
			v, err := mv.number()
			if err != nil {
				return 0, err
			}
			best = max(best, v)
		}
		if best < 0 {
			if r.uri.Selector == ByStage {
				return 0, fmt.Errorf("model %q has no READY version in stage %s", name, r.uri.Stage)
			}
			return 0, fmt.Errorf("model %q has no READY versions", name)
		}
		return best, nil
	}
	return 0, errors.New("unknown selector")
}

// notFound rewords a registry "does not exist" error.
func notFound(err error, msg string) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.notFound() {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return err
}

// Fetch downloads model version v's artifacts into the cache (or reuses a
// complete copy) and returns the SavedModel directory inside them.
func (r *registrySource) Fetch(ctx context.Context, version int64) (string, error) {
	r.fetch.Lock()
	defer r.fetch.Unlock()
	sm, err := r.fetchModel(ctx, version)
	if err != nil {
		return "", scrub(err, r.c.secrets()...)
	}
	return sm.Dir, nil
}

// FetchSavedModel is Fetch that also returns the tags and signature key the
// MLmodel file records. src must come from Open or NewOpener.
func FetchSavedModel(ctx context.Context, src source.Source, version int64) (SavedModel, error) {
	if w, ok := src.(interface{ Unwrap() source.Source }); ok {
		src = w.Unwrap()
	}
	r, ok := src.(*registrySource)
	if !ok {
		return SavedModel{}, fmt.Errorf("%s is not an MLflow registry source", src)
	}
	r.fetch.Lock()
	defer r.fetch.Unlock()
	sm, err := r.fetchModel(ctx, version)
	return sm, scrub(err, r.c.secrets()...)
}

func (r *registrySource) fetchModel(ctx context.Context, version int64) (SavedModel, error) {
	if version < 0 {
		return SavedModel{}, fmt.Errorf("fetch %s version %d: negative version", r, version)
	}
	tree, err := r.artifactTree(ctx, version)
	if err != nil {
		return SavedModel{}, fmt.Errorf("fetch %s version %d: %w", r, version, notFound(err, fmt.Sprintf("model %q version %d not found", r.uri.Name, version)))
	}
	dst := filepath.Join(r.cache, strconv.FormatInt(version, 10))
	if err := source.Mirror(ctx, tree, dst, r.opts.Logger); err != nil {
		if st, ok := tree.(scrubTree); ok {
			// Read errors of a download pass through Mirror alone.
			err = scrub(err, st.creds.secrets()...)
		}
		return SavedModel{}, fmt.Errorf("fetch %s version %d: %w", r, version, err)
	}
	sm, err := FindSavedModel(dst)
	if err != nil {
		return SavedModel{}, fmt.Errorf("fetch %s version %d: %w", r, version, err)
	}
	return sm, nil
}
