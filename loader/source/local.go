package source

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// local is a base path on the local file system, used in place.
type local struct {
	dir string

	mu    sync.Mutex
	names versionSet // from the last Versions call
}

func openLocal(uri string) (*local, error) {
	dir := uri
	if Scheme(uri) == "file" {
		u, err := url.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("open model source %s: %w", Redact(uri), err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("open model source %s: file URI with remote host %q", Redact(uri), u.Host)
		}
		dir = u.Path
	}
	if dir == "" {
		return nil, fmt.Errorf("open model source %s: empty path", Redact(uri))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open model source %s: %w", dir, err)
	}
	return &local{dir: abs}, nil
}

func (l *local) String() string { return l.dir }

func (l *local) Versions(ctx context.Context) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	set, err := l.scan()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.names = set
	l.mu.Unlock()
	return set.sorted(), nil
}

func (l *local) scan() (versionSet, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list base path %s: %w", l.dir, err)
	}
	set := versionSet{}
	for _, e := range entries {
		if _, ok := ParseVersion(e.Name()); !ok {
			continue
		}
		// Follow symlinks: a version may be a link to a directory.
		info, err := os.Stat(filepath.Join(l.dir, e.Name()))
		if err != nil || !info.IsDir() {
			continue
		}
		set.add(e.Name())
	}
	return set, nil
}

func (l *local) Fetch(ctx context.Context, version int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	l.mu.Lock()
	name, ok := l.names[version]
	l.mu.Unlock()
	if !ok {
		set, err := l.scan()
		if err != nil {
			return "", err
		}
		l.mu.Lock()
		l.names = set
		l.mu.Unlock()
		if name, ok = set[version]; !ok {
			return "", fmt.Errorf("fetch %s version %d: no such version directory", l.dir, version)
		}
	}
	dir := filepath.Join(l.dir, name)
	info, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("fetch %s version %d: %w", l.dir, version, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("fetch %s version %d: %s is not a directory", l.dir, version, dir)
	}
	return dir, nil
}

// hasPrefixName reports whether a listed child name could be an artifact of
// prefix listing (see remote.list).
func hasPrefixName(child, dirName string) bool {
	return dirName != "" && strings.HasPrefix(child, dirName)
}
