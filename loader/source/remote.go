package source

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/viant/afs/storage"
)

// store lists and reads one remote URL space through a viant/afs manager.
type store struct {
	mgr storage.Manager
	// measure makes list read files to learn their sizes: afs's mem backend
	// lists every file with size 0.
	measure bool
}

func newStore(scheme string, mgr storage.Manager) store {
	return store{mgr: mgr, measure: scheme == "mem"}
}

func (s store) measureSize(ctx context.Context, u string) (int64, error) {
	r, err := s.mgr.OpenURL(ctx, u)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(io.Discard, r)
}

type child struct {
	name string
	dir  bool
	size int64
}

// list returns the children of the directory at dirURL. afs's S3 and GCS
// backends list by key prefix, so the result may also contain the directory
// itself and sibling directories whose names start with this directory's
// name ("1" lists "10/" too). Such entries are directories that hold no files
// under dirURL+"/"+name, so callers that only collect files are unaffected;
// callers that need directory names check them with nonEmpty.
func (s store) list(ctx context.Context, dirURL string) ([]child, error) {
	objects, err := s.mgr.List(ctx, dirURL)
	if err != nil {
		return nil, err
	}
	out := make([]child, 0, len(objects))
	seen := map[string]bool{}
	for _, o := range objects {
		if strings.TrimRight(o.URL(), "/") == dirURL {
			continue // the directory itself
		}
		name := o.Name()
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
			continue
		}
		key := name + "/" + strconv.FormatBool(o.IsDir())
		if seen[key] {
			continue
		}
		seen[key] = true
		size := o.Size()
		if s.measure && !o.IsDir() {
			if size, err = s.measureSize(ctx, dirURL+"/"+name); err != nil {
				return nil, err
			}
		}
		out = append(out, child{name: name, dir: o.IsDir(), size: size})
	}
	return out, nil
}

// nonEmpty reports whether dirURL lists any child other than itself.
func (s store) nonEmpty(ctx context.Context, dirURL string) (bool, error) {
	kids, err := s.list(ctx, dirURL)
	if err != nil {
		return false, err
	}
	return len(kids) > 0, nil
}

// maxTreeDepth bounds recursion in files.
const maxTreeDepth = 32

// files lists every file under dirURL, recursively.
func (s store) files(ctx context.Context, dirURL string) (Files, error) {
	out := Files{}
	var walk func(u, rel string, depth int) error
	walk = func(u, rel string, depth int) error {
		if depth > maxTreeDepth {
			return fmt.Errorf("%s: directories nested deeper than %d", rel, maxTreeDepth)
		}
		kids, err := s.list(ctx, u)
		if err != nil {
			return err
		}
		for _, k := range kids {
			r := path.Join(rel, k.name)
			if k.dir {
				if err := walk(u+"/"+k.name, r, depth+1); err != nil {
					return err
				}
				continue
			}
			out[r] = k.size
		}
		return nil
	}
	if err := walk(dirURL, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// remoteTree is a directory in a store; it implements Tree.
type remoteTree struct {
	st  store
	url string
}

func (t remoteTree) Files(ctx context.Context) (Files, error) { return t.st.files(ctx, t.url) }

func (t remoteTree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	if !validRel(rel) {
		return nil, fmt.Errorf("open %q: invalid path", rel)
	}
	return t.st.mgr.OpenURL(ctx, t.url+"/"+rel)
}

func (t remoteTree) String() string { return Redact(t.url) }

// OpenTree returns the Tree rooted at a directory URI: s3://, gs://, mem://
// (through viant/afs) or a local path. Mirror(ctx, tree, dst, logger) then
// copies it; loader/mlflow uses this for artifact stores.
func OpenTree(ctx context.Context, uri string, opts Options) (Tree, error) {
	opts = opts.withDefaults()
	switch Scheme(uri) {
	case "", "file":
		l, err := openLocal(uri)
		if err != nil {
			return nil, err
		}
		return localTree{dir: l.dir}, nil
	case "s3", "gs", "mem":
		mgr, err := manager(ctx, uri, opts)
		if err != nil {
			return nil, err
		}
		return remoteTree{st: newStore(Scheme(uri), mgr), url: strings.TrimRight(uri, "/")}, nil
	default:
		return nil, fmt.Errorf("open %s: unsupported scheme %q", Redact(uri), Scheme(uri))
	}
}

// remote is a base path in S3, GCS or afs memory storage.
type remote struct {
	base  string // URL without trailing slash
	st    store
	cache string // directory for this base path's copies
	opts  Options

	mu    sync.Mutex
	names versionSet
	fetch sync.Mutex // serializes Fetch
}

func openRemote(ctx context.Context, uri string, opts Options) (*remote, error) {
	base := strings.TrimRight(uri, "/")
	scheme := Scheme(base)
	rest, ok := strings.CutPrefix(base[len(scheme):], "://")
	if !ok || rest == "" || strings.HasPrefix(rest, "/") {
		return nil, fmt.Errorf("open model source %s: want %s://bucket/path", Redact(uri), scheme)
	}
	mgr, err := manager(ctx, base, opts)
	if err != nil {
		return nil, err
	}
	return &remote{
		base:  base,
		st:    newStore(scheme, mgr),
		cache: CacheDirFor(opts.CacheDir, base),
		opts:  opts,
	}, nil
}

func (r *remote) String() string { return Redact(r.base) }

func (r *remote) Versions(ctx context.Context) ([]int64, error) {
	set, err := r.scan(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.names = set
	r.mu.Unlock()
	return set.sorted(), nil
}

func (r *remote) scan(ctx context.Context) (versionSet, error) {
	kids, err := r.st.list(ctx, r.base)
	if err != nil {
		return nil, fmt.Errorf("list base path %s: %w", r, err)
	}
	if len(kids) == 0 {
		return nil, fmt.Errorf("list base path %s: not found or empty", r)
	}
	_, baseName := path.Split(strings.SplitN(r.base, "://", 2)[1])
	set := versionSet{}
	for _, k := range kids {
		if !k.dir {
			continue
		}
		if _, ok := ParseVersion(k.name); !ok {
			continue
		}
		if hasPrefixName(k.name, baseName) {
			// Possibly a sibling of the base path seen through prefix
			// listing: keep it only if it has content of its own.
			ok, err := r.st.nonEmpty(ctx, r.base+"/"+k.name)
			if err != nil {
				return nil, fmt.Errorf("list %s/%s: %w", r, k.name, err)
			}
			if !ok {
				continue
			}
		}
		set.add(k.name)
	}
	return set, nil
}

func (r *remote) Fetch(ctx context.Context, version int64) (string, error) {
	r.fetch.Lock()
	defer r.fetch.Unlock()
	r.mu.Lock()
	name, ok := r.names[version]
	r.mu.Unlock()
	if !ok {
		set, err := r.scan(ctx)
		if err != nil {
			return "", err
		}
		r.mu.Lock()
		r.names = set
		r.mu.Unlock()
		if name, ok = set[version]; !ok {
			return "", fmt.Errorf("fetch %s version %d: no such version directory", r, version)
		}
	}
	dst := filepath.Join(r.cache, strconv.FormatInt(version, 10))
	tree := remoteTree{st: r.st, url: r.base + "/" + name}
	if err := Mirror(ctx, tree, dst, r.opts.Logger); err != nil {
		return "", fmt.Errorf("fetch %s version %d: %w", r, version, err)
	}
	return dst, nil
}

// localTree is a local directory seen as a Tree.
type localTree struct{ dir string }

func (t localTree) String() string { return t.dir }

func (t localTree) Files(ctx context.Context) (Files, error) {
	files := Files{}
	err := filepath.WalkDir(t.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(t.dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = info.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", t.dir, err)
	}
	return files, nil
}

func (t localTree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	if !validRel(rel) {
		return nil, fmt.Errorf("open %q: invalid path", rel)
	}
	return os.Open(filepath.Join(t.dir, filepath.FromSlash(rel)))
}
