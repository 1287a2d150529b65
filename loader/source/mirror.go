package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Files maps slash-separated paths, relative to a tree's root, to file sizes
// in bytes. Directories are implied by the paths; empty directories are not
// represented.
type Files map[string]int64

// Tree is a remote directory that Mirror can copy.
type Tree interface {
	// Files lists every file under the tree's root with its size.
	Files(ctx context.Context) (Files, error)
	// Open reads one file named by a key of Files.
	Open(ctx context.Context, rel string) (io.ReadCloser, error)
	// String describes the tree for logs and errors, without credentials.
	String() string
}

// mirrorWorkers bounds concurrent file downloads per Mirror call.
const mirrorWorkers = 4

// Mirror makes dst an exact local copy of t: the same files with the same
// sizes. If dst already holds exactly that, it is reused. Otherwise the files
// are written under a temporary sibling of dst, their sizes checked against
// the listing, and the directory renamed to dst, so dst is never seen
// partially written. A stale dst is replaced. Concurrent Mirror calls for the
// same dst (from several goroutines or processes) are safe: one rename wins
// and the others reuse its result.
func Mirror(ctx context.Context, t Tree, dst string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	files, err := t.Files(ctx)
	if err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("list %s: no files", t)
	}
	for rel := range files {
		if !validRel(rel) {
			return fmt.Errorf("list %s: unsafe file name %q", t, rel)
		}
	}
	if matchesLocal(dst, files) == nil {
		logger.Info("reusing cached model copy", "source", t.String(), "dir", dst)
		return nil
	}
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.RemoveAll(tmp)
		}
	}()
	logger.Info("downloading model", "source", t.String(), "files", len(files), "dir", dst)
	if err := download(ctx, t, files, tmp); err != nil {
		return err
	}
	if err := matchesLocal(tmp, files); err != nil {
		return fmt.Errorf("verify copy of %s: %w", t, err)
	}
	if err := publish(tmp, dst, files); err != nil {
		return err
	}
	committed = true
	return nil
}

// publish renames tmp to dst, moving a stale dst out of the way first.
func publish(tmp, dst string, files Files) error {
	if err := os.Rename(tmp, dst); err == nil {
		return nil
	}
	// dst exists: either another writer won the race with a good copy, or
	// it is stale.
	if matchesLocal(dst, files) == nil {
		_ = os.RemoveAll(tmp)
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if matchesLocal(dst, files) == nil { // another writer won meanwhile
			_ = os.RemoveAll(tmp)
			_ = os.RemoveAll(old)
			return nil
		}
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	_ = os.RemoveAll(old)
	return nil
}

func download(ctx context.Context, t Tree, files Files, root string) error {
	names := make([]string, 0, len(files))
	for rel := range files {
		names = append(names, rel)
	}
	slices.Sort(names)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan string)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for range min(mirrorWorkers, len(names)) {
		wg.Go(func() {
			for rel := range jobs {
				if err := copyFile(ctx, t, rel, files[rel], root); err != nil {
					fail(err)
				}
			}
		})
	}
	for _, rel := range names {
		if ctx.Err() != nil {
			break
		}
		jobs <- rel
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func copyFile(ctx context.Context, t Tree, rel string, size int64, root string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dst := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	r, err := t.Open(ctx, rel)
	if err != nil {
		return fmt.Errorf("download %s from %s: %w", rel, t, err)
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	// Read one byte more than expected so that a longer file is detected.
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s from %s: %w", rel, t, err)
	}
	if n != size {
		return fmt.Errorf("download %s from %s: got %d bytes, listing says %d", rel, t, n, size)
	}
	return nil
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// matchesLocal returns nil if dir holds exactly files (regular files with
// the listed sizes; directories are free), else an error saying what differs.
func matchesLocal(dir string, files Files) error {
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		want, ok := files[rel]
		if !ok {
			return fmt.Errorf("unexpected file %s", rel)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() != want {
			return fmt.Errorf("%s has %d bytes, want %d", rel, info.Size(), want)
		}
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(files) {
		return fmt.Errorf("%d of %d files present", seen, len(files))
	}
	return nil
}

// validRel reports whether rel is a clean relative slash path that stays
// inside its root.
func validRel(rel string) bool {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, 0) || strings.Contains(rel, "\\") {
		return false
	}
	if path.Clean(rel) != rel {
		return false
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}
