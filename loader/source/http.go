package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// archiveSource is an http(s) URL of a tar, tar.gz or zip archive holding a
// base path (numeric version directories) or one SavedModel (version 1).
type archiveSource struct {
	url   string // as given, possibly with credentials
	shown string // redacted
	cache string
	opts  Options

	mu       sync.Mutex
	etag     string
	lastMod  string
	versions map[int64]string // version -> local directory
}

func openArchive(uri string, opts Options) (*archiveSource, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("open model source %s: %w", Redact(uri), err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("open model source %s: no host", Redact(uri))
	}
	shown := Redact(uri)
	return &archiveSource{
		url:   uri,
		shown: shown,
		cache: CacheDirFor(opts.CacheDir, shown),
		opts:  opts,
	}, nil
}

func (a *archiveSource) String() string { return a.shown }

func (a *archiveSource) Versions(ctx context.Context) ([]int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refresh(ctx); err != nil {
		return nil, err
	}
	set := versionSet{}
	for v := range a.versions {
		set[v] = ""
	}
	return set.sorted(), nil
}

func (a *archiveSource) Fetch(ctx context.Context, version int64) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.versions == nil {
		if err := a.refresh(ctx); err != nil {
			return "", err
		}
	}
	dir, ok := a.versions[version]
	if !ok {
		return "", fmt.Errorf("fetch %s version %d: not in the archive", a.shown, version)
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("fetch %s version %d: %w", a.shown, version, err)
	}
	return dir, nil
}

// refresh downloads the archive unless the server says it is unchanged, and
// extracts it into the cache (once per distinct content).
func (a *archiveSource) refresh(ctx context.Context) error {
	for _, dir := range a.versions {
		if _, err := os.Stat(dir); err != nil {
			// The extraction was removed from the cache: download again.
			a.versions = nil
			break
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", a.shown, redactErr(err))
	}
	if a.versions != nil {
		if a.etag != "" {
			req.Header.Set("If-None-Match", a.etag)
		}
		if a.lastMod != "" {
			req.Header.Set("If-Modified-Since", a.lastMod)
		}
	}
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", a.shown, redactErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && a.versions != nil {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: HTTP %s", a.shown, resp.Status)
	}
	if err := os.MkdirAll(a.cache, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	spool, err := os.CreateTemp(a.cache, ".download-")
	if err != nil {
		return fmt.Errorf("create cache file: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(spool, h), resp.Body)
	if err != nil {
		return fmt.Errorf("download %s: %w", a.shown, redactErr(err))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("download %s: got %d bytes, Content-Length says %d", a.shown, n, resp.ContentLength)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(a.cache, "archive-"+sum)
	if _, err := os.Stat(dir); err != nil {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := a.extract(spool, dir); err != nil {
			return err
		}
	} else {
		a.opts.Logger.Info("reusing extracted model archive", "source", a.shown, "dir", dir)
	}
	versions, err := archiveLayout(dir)
	if err != nil {
		return fmt.Errorf("archive %s: %w", a.shown, err)
	}
	a.versions = versions
	a.etag = resp.Header.Get("ETag")
	a.lastMod = resp.Header.Get("Last-Modified")
	return nil
}

func (a *archiveSource) extract(r io.Reader, dir string) error {
	tmp, err := os.MkdirTemp(a.cache, ".tmp-archive-")
	if err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	a.opts.Logger.Info("extracting model archive", "source", a.shown, "dir", dir)
	if _, err := Extract(r, tmp, ExtractLimits{}); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("extract %s: %w", a.shown, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(dir); statErr == nil {
			return nil // extracted concurrently by another process
		}
		return fmt.Errorf("publish %s: %w", dir, err)
	}
	return nil
}

// archiveLayout finds the versions in an extracted archive. A single
// top-level directory that is not itself a version or a SavedModel is
// stepped into first.
func archiveLayout(dir string) (map[int64]string, error) {
	root := dir
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	if len(entries) == 1 && entries[0].IsDir() {
		if _, isVersion := ParseVersion(entries[0].Name()); !isVersion && !isSavedModelDir(root) {
			root = filepath.Join(root, entries[0].Name())
			if entries, err = os.ReadDir(root); err != nil {
				return nil, err
			}
		}
	}
	set := versionSet{}
	for _, e := range entries {
		if e.IsDir() {
			set.add(e.Name())
		}
	}
	out := map[int64]string{}
	for v, name := range set {
		out[v] = filepath.Join(root, name)
	}
	if len(out) > 0 {
		return out, nil
	}
	if isSavedModelDir(root) {
		return map[int64]string{1: root}, nil
	}
	return nil, errors.New("holds neither numeric version directories nor saved_model.pb")
}

func isSavedModelDir(dir string) bool {
	for _, name := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil && info.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// redactErr strips credentials from the URL inside a *url.Error.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: Redact(ue.URL), Err: ue.Err}
	}
	return err
}
