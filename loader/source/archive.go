package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxArchiveFiles is the default bound on the files extracted from one archive.
const maxArchiveFiles = 100000

// ExtractLimits bound what Extract writes.
type ExtractLimits struct {
	// MaxBytes is the most file content extracted in total; 0 means 64 GiB.
	MaxBytes int64
	// MaxFiles is the most files extracted; 0 means 100000.
	MaxFiles int
}

// Extract unpacks a tar, tar.gz or zip archive (detected from its first
// bytes, not its name) into the existing directory dst. Regular files and
// directories are extracted; links and devices are rejected, as are absolute
// paths and paths that leave dst. It returns the files written with their
// sizes. zip needs random access, so a zip stream is first spooled to a
// temporary file in dst.
func Extract(r io.Reader, dst string, lim ExtractLimits) (Files, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 64 << 30
	}
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = maxArchiveFiles
	}
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(512)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		return extractTar(zr, dst, lim)
	case len(head) >= 4 && bytes.Equal(head[:4], []byte("PK\x03\x04")), len(head) >= 4 && bytes.Equal(head[:4], []byte("PK\x05\x06")):
		return extractZipStream(br, dst, lim)
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return extractTar(br, dst, lim)
	default:
		return nil, errors.New("not a tar, tar.gz or zip archive")
	}
}

// entryPath checks an archive member name and returns its clean slash path
// ("" for the root itself).
func entryPath(name string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") || strings.ContainsRune(n, 0) || (len(n) >= 2 && n[1] == ':') {
		return "", fmt.Errorf("archive member %q: absolute path", name)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("archive member %q: leaves the archive root", name)
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

type extractor struct {
	dst   string
	lim   ExtractLimits
	total int64
	files Files
	count int
}

func (x *extractor) dir(rel string) error {
	if rel == "" {
		return nil
	}
	if _, isFile := x.files[rel]; isFile {
		return fmt.Errorf("archive member %s: both a file and a directory", rel)
	}
	return os.MkdirAll(filepath.Join(x.dst, filepath.FromSlash(rel)), 0o755)
}

func (x *extractor) file(rel string, r io.Reader) error {
	if rel == "" {
		return errors.New("archive member without a name")
	}
	x.count++
	if x.count > x.lim.MaxFiles {
		return fmt.Errorf("archive has more than %d files", x.lim.MaxFiles)
	}
	if _, dup := x.files[rel]; dup {
		return fmt.Errorf("archive member %s: duplicate", rel)
	}
	p := filepath.Join(x.dst, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("archive member %s: %w", rel, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("archive member %s: %w", rel, err)
	}
	left := x.lim.MaxBytes - x.total
	n, err := io.Copy(f, io.LimitReader(r, left+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive member %s: %w", rel, err)
	}
	if n > left {
		return fmt.Errorf("archive expands to more than %d bytes", x.lim.MaxBytes)
	}
	x.total += n
	x.files[rel] = n
	return nil
}

func extractTar(r io.Reader, dst string, lim ExtractLimits) (Files, error) {
	x := &extractor{dst: dst, lim: lim, files: Files{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar: %w", err)
		}
		rel, err := entryPath(h.Name)
		if err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = x.dir(rel)
		case tar.TypeReg, tar.TypeRegA:
			err = x.file(rel, tr)
		case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			continue
		default:
			return nil, fmt.Errorf("archive member %s: unsupported type %q (links and devices are not extracted)", h.Name, h.Typeflag)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(x.files) == 0 {
		return nil, errors.New("tar: no files")
	}
	return x.files, nil
}

func extractZipStream(r io.Reader, dst string, lim ExtractLimits) (Files, error) {
	spool, err := os.CreateTemp(filepath.Dir(dst), ".zip-")
	if err != nil {
		return nil, err
	}
	name := spool.Name()
	defer func() {
		spool.Close()
		os.Remove(name)
	}()
	size, err := io.Copy(spool, io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	if size > lim.MaxBytes {
		return nil, fmt.Errorf("archive larger than %d bytes", lim.MaxBytes)
	}
	zr, err := zip.NewReader(spool, size)
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	x := &extractor{dst: dst, lim: lim, files: Files{}}
	for _, f := range zr.File {
		rel, err := entryPath(f.Name)
		if err != nil {
			return nil, err
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			err = x.dir(rel)
		case mode.IsRegular():
			var rc io.ReadCloser
			rc, err = f.Open()
			if err != nil {
				return nil, fmt.Errorf("zip member %s: %w", f.Name, err)
			}
			err = x.file(rel, rc)
			rc.Close()
		default:
			return nil, fmt.Errorf("archive member %s: unsupported mode %v (links and devices are not extracted)", f.Name, mode)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(x.files) == 0 {
		return nil, errors.New("zip: no files")
	}
	return x.files, nil
}
