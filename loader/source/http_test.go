package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/internal/syncbuf"
)

// makeTarGz builds a tar.gz of files (slash paths), with directory entries.
func makeTarGz(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	dirs := map[string]bool{}
	for _, n := range names {
		parts := strings.Split(n, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeZip(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, data := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func prefixed(prefix string, files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range files {
		out[prefix+k] = v
	}
	return out
}

func merge(ms ...map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// archiveServer serves one mutable archive with an ETag and counts full
// (200) responses.
type archiveServer struct {
	mu      sync.Mutex
	body    []byte
	full    int
	user    string
	pass    string
	noCache bool
}

func (a *archiveServer) set(b []byte) {
	a.mu.Lock()
	a.body = b
	a.mu.Unlock()
}

func (a *archiveServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != a.user || p != a.pass {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	sum := sha256.Sum256(a.body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if !a.noCache {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	a.full++
	w.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
	w.Write(a.body)
}

func TestHTTPArchiveBasePath(t *testing.T) {
	v1, v2, v3 := testModel(1), testModel(2), testModel(3)
	arch := &archiveServer{user: "alice", pass: testSecret}
	// "tar czf m.tar.gz m/" style: one top-level directory.
	arch.set(makeTarGz(t, merge(prefixed("m/1/", v1), prefixed("m/0002/", v2), prefixed("m/notes/", map[string][]byte{"a": []byte("b")}))))
	srv := httptest.NewServer(arch)
	defer srv.Close()

	ctx := context.Background()
	var logs syncbuf.Buffer
	cache := t.TempDir()
	uri := strings.Replace(srv.URL, "http://", "http://alice:"+testSecret+"@", 1) + "/m.tar.gz?token=" + testSecret
	s, err := Open(ctx, uri, Options{CacheDir: cache, Logger: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.String(), testSecret) {
		t.Errorf("String() = %s contains the secret", s)
	}
	mustVersions(t, s, 1, 2)
	dir, err := s.Fetch(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v2)
	if !strings.HasPrefix(dir, cache) {
		t.Errorf("Fetch = %s, not in the cache", dir)
	}

	// Unchanged archive: a 304, no new download.
	mustVersions(t, s, 1, 2)
	if arch.full != 1 {
		t.Errorf("archive downloaded %d times, want 1 (conditional GET)", arch.full)
	}

	// A new version appears.
	arch.set(makeTarGz(t, merge(prefixed("m/1/", v1), prefixed("m/0002/", v2), prefixed("m/3/", v3))))
	mustVersions(t, s, 1, 2, 3)
	dir, err = s.Fetch(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v3)
	noTempLeft(t, cache)

	// If the cache is wiped, the next poll downloads again despite the ETag.
	if err := os.RemoveAll(cache); err != nil {
		t.Fatal(err)
	}
	before := arch.full
	mustVersions(t, s, 1, 2, 3)
	if arch.full != before+1 {
		t.Error("wiped cache was not refilled")
	}
	if dir, err = s.Fetch(ctx, 3); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v3)

	// A fresh source with the same cache reuses the extraction.
	var logs2 syncbuf.Buffer
	s2, _ := Open(ctx, uri, Options{CacheDir: cache, Logger: newLogger(&logs2)})
	mustVersions(t, s2, 1, 2, 3)
	if !strings.Contains(logs2.String(), "reusing") {
		t.Error("identical archive was extracted again")
	}

	// Wrong credentials: an error that does not echo them.
	bad := strings.Replace(uri, "alice:", "mallory:", 1)
	s3, _ := Open(ctx, bad, Options{CacheDir: cache})
	if _, err := s3.Versions(ctx); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), testSecret) {
		t.Errorf("bad credentials: err = %v", err)
	}
	for _, l := range []string{logs.String(), logs2.String()} {
		if strings.Contains(l, testSecret) {
			t.Error("log contains the secret")
		}
		if !strings.Contains(l, "127.0.0.1") {
			t.Error("log does not mention the source; the secret check saw nothing")
		}
	}
}

func TestHTTPArchiveSingleSavedModel(t *testing.T) {
	model := merge(testModel(4), map[string][]byte{"saved_model.pb": []byte("graph")})
	arch := &archiveServer{noCache: true}
	arch.set(makeZip(t, model))
	srv := httptest.NewServer(arch)
	defer srv.Close()
	ctx := context.Background()
	s, err := Open(ctx, srv.URL+"/model.zip", Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mustVersions(t, s, 1)
	dir, err := s.Fetch(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, model)
}

func TestHTTPArchiveErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/missing.tar.gz", http.NotFound)
	mux.HandleFunc("/notarchive", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>hello</html>")) })
	mux.HandleFunc("/nomodel.tar.gz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write(makeTarGz(t, map[string][]byte{"readme.txt": []byte("x")}))
	})
	mux.HandleFunc("/evil.tar.gz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write(makeTarGz(t, map[string][]byte{"1/../../escape.pb": []byte("x")}))
	})
	mux.HandleFunc("/short.tar.gz", func(w http.ResponseWriter, _ *http.Request) {
		body := makeTarGz(t, prefixed("1/", testModel(1)))
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2]) // connection closes early
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	for _, p := range []string{"/missing.tar.gz", "/notarchive", "/nomodel.tar.gz", "/evil.tar.gz", "/short.tar.gz"} {
		cache := t.TempDir()
		s, err := Open(ctx, srv.URL+p, Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Versions(ctx); err == nil {
			t.Errorf("%s: Versions = %v, want an error", p, v)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(cache), "escape.pb")); err == nil {
			t.Errorf("%s: archive wrote outside the cache", p)
		}
		noTempLeft(t, cache)
	}
}

func TestExtractRejects(t *testing.T) {
	cases := map[string][]byte{
		"absolute":   makeTarGz(t, map[string][]byte{"/etc/x": []byte("x")}),
		"dotdot":     makeTarGz(t, map[string][]byte{"a/../../x": []byte("x")}),
		"zip dotdot": makeZip(t, map[string][]byte{"../x": []byte("x")}),
		"garbage":    []byte("definitely not an archive"),
	}
	var link bytes.Buffer
	tw := tar.NewWriter(&link)
	tw.WriteHeader(&tar.Header{Name: "1/saved_model.pb", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	tw.Close()
	cases["symlink"] = link.Bytes()
	for name, data := range cases {
		dst := t.TempDir()
		if _, err := Extract(bytes.NewReader(data), dst, ExtractLimits{}); err == nil {
			t.Errorf("%s: Extract succeeded", name)
		}
	}
	// The byte limit holds.
	big := makeTarGz(t, map[string][]byte{"1/a": make([]byte, 10000)})
	if _, err := Extract(bytes.NewReader(big), t.TempDir(), ExtractLimits{MaxBytes: 9999}); err == nil {
		t.Error("Extract ignored MaxBytes")
	}
	many := makeTarGz(t, map[string][]byte{"1/a": nil, "1/b": nil, "1/c": nil})
	if _, err := Extract(bytes.NewReader(many), t.TempDir(), ExtractLimits{MaxFiles: 2}); err == nil {
		t.Error("Extract ignored MaxFiles")
	}
	if _, err := Extract(bytes.NewReader(many), t.TempDir(), ExtractLimits{MaxFiles: 3}); err != nil {
		t.Errorf("Extract with MaxFiles 3: %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(makeTarGz(f, prefixed("1/", map[string][]byte{"saved_model.pb": []byte("pb"), "variables/v.index": []byte("i")})))
	f.Add(makeZip(f, map[string][]byte{"saved_model.pb": []byte("pb"), "variables/": nil}))
	f.Add(makeTarGz(f, map[string][]byte{"a/../../x": []byte("x")}))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		// One cheap directory per input (t.TempDir per input makes
		// fuzzing and minimization crawl).
		parentDir, err := os.MkdirTemp(base, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(parentDir)
		dst := filepath.Join(parentDir, "out")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		files, err := Extract(bytes.NewReader(data), dst, ExtractLimits{MaxBytes: 64 << 10, MaxFiles: 64})
		// Whatever happens, nothing is written outside dst.
		entries, _ := os.ReadDir(parentDir)
		for _, e := range entries {
			if e.Name() != "out" {
				t.Fatalf("extract wrote %s outside its directory", e.Name())
			}
		}
		if err != nil {
			return
		}
		// What Extract reports is what is on disk.
		if merr := matchesLocal(dst, files); merr != nil {
			t.Fatalf("reported files differ from disk: %v", merr)
		}
		for rel := range files {
			if !validRel(rel) {
				t.Fatalf("unsafe name %q extracted", rel)
			}
		}
	})
}
