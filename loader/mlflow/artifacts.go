package mlflow

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/loader/source"
)

// maxRunsHops bounds runs:/ indirections while resolving an artifact URI.
const maxRunsHops = 4

// maxListDepth and maxListFiles bound artifact listings.
const (
	maxListDepth = 32
	maxListFiles = 100000
)

// artifactTree returns the Tree holding a model version's artifacts. A
// Databricks workspace registry is read through signed download URLs
// (no cloud credentials needed), a Unity Catalog registry through temporary
// credentials for the version's storage location; otherwise the artifact
// URI decides.
func (r *registrySource) artifactTree(ctx context.Context, version int64) (source.Tree, error) {
	switch r.c.kind {
	case kindDatabricks:
		return &databricksTree{c: r.c, name: r.uri.Name, version: version}, nil
	case kindUC:
		return r.ucTree(ctx, version)
	}
	uri, err := r.c.downloadURI(ctx, r.uri.Name, version)
	if err != nil {
		return nil, err
	}
	for hop := 0; ; hop++ {
		switch source.Scheme(uri) {
		case "runs":
			if hop >= maxRunsHops {
				return nil, fmt.Errorf("artifact URI %s: too many runs:/ indirections", source.Redact(uri))
			}
			runID, rel, err := parseRunsURI(uri)
			if err != nil {
				return nil, err
			}
			root, err := r.c.runArtifactURI(ctx, runID)
			if err != nil {
				return nil, err
			}
			uri = joinURI(root, rel)
		case "mlflow-artifacts":
			return newArtifactsTree(r.c, uri)
		case "s3", "gs", "", "file":
			return source.OpenTree(ctx, uri, r.opts)
		case "dbfs":
			return nil, fmt.Errorf("artifact URI %s: dbfs:/ artifacts need a Databricks tracking URI (MLFLOW_TRACKING_URI=databricks)", source.Redact(uri))
		default:
			return nil, fmt.Errorf("artifact URI %s: unsupported scheme %q (supported: s3, gs, mlflow-artifacts, runs, local paths, Databricks)", source.Redact(uri), source.Scheme(uri))
		}
	}
}

// parseRunsURI splits runs:/<run_id>/<path>.
func parseRunsURI(uri string) (runID, rel string, err error) {
	_, rest, _ := strings.Cut(uri, ":")
	rest = strings.TrimLeft(rest, "/")
	runID, rel, _ = strings.Cut(rest, "/")
	if runID == "" {
		return "", "", fmt.Errorf("artifact URI %s: no run id", source.Redact(uri))
	}
	return runID, strings.Trim(rel, "/"), nil
}

func joinURI(root, rel string) string {
	if rel == "" {
		return root
	}
	return strings.TrimRight(root, "/") + "/" + rel
}

// artifactsTree reads mlflow-artifacts:/<path> through the tracking server's
// artifact proxy: GET {base}/api/2.0/mlflow-artifacts/artifacts?path=<dir>
// lists and GET .../artifacts/<path> downloads.
type artifactsTree struct {
	c    *client
	base url.URL // .../api/2.0/mlflow-artifacts/artifacts
	root string  // path under the artifact root, no leading or trailing slash
}

func newArtifactsTree(c *client, uri string) (*artifactsTree, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("artifact URI %s: %w", source.Redact(uri), err)
	}
	base := *c.base
	if u.Host != "" {
		// mlflow-artifacts://host:port/path names the server explicitly.
		base.Host = u.Host
	}
	base.Path += "/api/2.0/mlflow-artifacts/artifacts"
	root := strings.Trim(u.Path, "/")
	if root != "" && !validPath(root) {
		return nil, fmt.Errorf("artifact URI %s: unsafe path", source.Redact(uri))
	}
	return &artifactsTree{c: c, base: base, root: root}, nil
}

func (t *artifactsTree) String() string {
	return "mlflow-artifacts:/" + t.root + " via " + t.c.redacted
}

type fileInfo struct {
	Path     string     `json:"path"`
	IsDir    bool       `json:"is_dir"`
	FileSize int64Field `json:"file_size"`
}

func (t *artifactsTree) Files(ctx context.Context) (source.Files, error) {
	out := source.Files{}
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		if depth > maxListDepth {
			return fmt.Errorf("%s: nested deeper than %d", rel, maxListDepth)
		}
		u := t.base
		u.RawQuery = url.Values{"path": {path.Join(t.root, rel)}}.Encode()
		var resp struct {
			Files []fileInfo `json:"files"`
		}
		if err := t.c.do(ctx, http.MethodGet, u.String(), nil, &resp, "list artifacts"); err != nil {
			return err
		}
		for _, f := range resp.Files {
			// The server returns base names; older clients joined
			// them, so accept a full path too.
			name := path.Base(strings.TrimRight(f.Path, "/"))
			if name == "" || name == "." || name == ".." || name == "/" {
				return fmt.Errorf("list artifacts: bad entry %q", f.Path)
			}
			r := path.Join(rel, name)
			if len(out) >= maxListFiles {
				return fmt.Errorf("list artifacts: more than %d files", maxListFiles)
			}
			if f.IsDir {
				if err := walk(r, depth+1); err != nil {
					return err
				}
				continue
			}
			out[r] = int64(f.FileSize)
		}
		return nil
	}
	if err := walk("", 0); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *artifactsTree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	if !validPath(rel) {
		return nil, fmt.Errorf("open artifact %q: invalid path", rel)
	}
	u := t.base
	full := path.Join(t.root, rel)
	u.Path += "/" + full
	u.RawPath = ""
	return t.c.open(ctx, u.String(), "download artifact "+full)
}

// databricksTree reads a model version through the Databricks workspace
// registry: model-versions/list-artifacts lists, and
// model-versions/get-signed-download-uri returns a signed URL plus headers
// for each file.
type databricksTree struct {
	c       *client
	name    string
	version int64
}

func (t *databricksTree) String() string {
	return fmt.Sprintf("models:/%s/%d via %s", t.name, t.version, t.c.redacted)
}

func (t *databricksTree) query(p string) url.Values {
	return url.Values{"name": {t.name}, "version": {strconv.FormatInt(t.version, 10)}, "path": {p}}
}

func (t *databricksTree) Files(ctx context.Context) (source.Files, error) {
	out := source.Files{}
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if depth > maxListDepth {
			return fmt.Errorf("%s: nested deeper than %d", dir, maxListDepth)
		}
		token := ""
		for pages := 0; ; pages++ {
			if pages > 10000 {
				return fmt.Errorf("list-artifacts %s: too many pages", dir)
			}
			q := t.query(dir)
			if token != "" {
				q.Set("page_token", token)
			}
			var resp struct {
				Files         []fileInfo `json:"files"`
				NextPageToken string     `json:"next_page_token"`
			}
			if err := t.c.call(ctx, "model-versions/list-artifacts", q, nil, &resp); err != nil {
				return err
			}
			if len(resp.Files) == 1 && resp.Files[0].Path == dir && !resp.Files[0].IsDir {
				return nil // dir is a file
			}
			for _, f := range resp.Files {
				p := strings.Trim(f.Path, "/")
				if dir != "" && !strings.HasPrefix(p, dir+"/") {
					p = path.Join(dir, path.Base(p))
				}
				if !validPath(p) || p == dir {
					return fmt.Errorf("list-artifacts: bad entry %q", f.Path)
				}
				if len(out) >= maxListFiles {
					return fmt.Errorf("list-artifacts: more than %d files", maxListFiles)
				}
				if f.IsDir {
					if err := walk(p, depth+1); err != nil {
						return err
					}
					continue
				}
				out[p] = int64(f.FileSize)
			}
			if resp.NextPageToken == "" {
				return nil
			}
			token = resp.NextPageToken
		}
	}
	if err := walk("", 0); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *databricksTree) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	if !validPath(rel) {
		return nil, fmt.Errorf("open artifact %q: invalid path", rel)
	}
	var resp struct {
		SignedURI string `json:"signed_uri"`
		Headers   []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
	}
	if err := t.c.call(ctx, "model-versions/get-signed-download-uri", t.query(rel), nil, &resp); err != nil {
		return nil, err
	}
	if resp.SignedURI == "" {
		return nil, fmt.Errorf("get-signed-download-uri %s: empty signed_uri", rel)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resp.SignedURI, nil)
	if err != nil {
		return nil, fmt.Errorf("signed download of %s: %w", rel, redactErr(err))
	}
	for _, h := range resp.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	// The signed URL carries its own authorization: no token is sent.
	return t.c.get(req, "signed download of "+rel)
}

// validPath reports whether p is a clean relative slash path.
func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") || path.Clean(p) != p {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "." || part == ".." || part == "" {
			return false
		}
	}
	return true
}
