package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/viant/afs/mem"
	"github.com/viant/afs/storage"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/internal/syncbuf"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"00000123", 123, true},
		{"+7", 7, true},
		{" 42\t", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"-1", 0, false},
		{"-0", 0, true},
		{"", 0, false},
		{"+", 0, false},
		{"1a", 0, false},
		{"v1", 0, false},
		{"1.0", 0, false},
		{"１", 0, false}, // full-width digit
		{"1 2", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseVersion(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseVersion(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// referenceParseVersion is an independent implementation on strconv.
func referenceParseVersion(s string) (int64, bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	if strings.HasPrefix(s, "+-") || strings.HasPrefix(s, "-+") || strings.HasPrefix(s, "++") || strings.HasPrefix(s, "--") {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1", "00000123", "+7", " 42\t", "-0", "9223372036854775808", "1_000", "0x10", "+-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseVersion(s)
		want, wantOK := referenceParseVersion(s)
		if got != want || ok != wantOK {
			t.Fatalf("ParseVersion(%q) = %d, %v; reference %d, %v", s, got, ok, want, wantOK)
		}
	})
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"https://user:secret@host/m.tar.gz?sig=abc#frag": "https://REDACTED@host/m.tar.gz?sig=REDACTED",
		"s3://bucket/models/m":                           "s3://bucket/models/m",
		"/local/path":                                    "/local/path",
		"weird://us:er@ho st/p?q":                        "weird://REDACTED@ho st/p?REDACTED",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScheme(t *testing.T) {
	cases := map[string]string{
		"s3://b/p": "s3", "GS://b": "gs", "models:/m/1": "models", "/a/b": "", "C:\\models": "", "rel/path": "", "a1+b://x": "a1+b", "1a://x": "",
	}
	for in, want := range cases {
		if got := Scheme(in); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLocalSource(t *testing.T) {
	base := t.TempDir()
	v1, v123 := testModel(1), testModel(2)
	writeLocal(t, filepath.Join(base, "1"), v1)
	writeLocal(t, filepath.Join(base, "00000123"), v123)
	writeLocal(t, filepath.Join(base, "tmp_export"), testModel(3))           // non-numeric: ignored
	writeLocal(t, base, map[string][]byte{"7": []byte("a file, not a dir")}) // file: ignored

	ctx := context.Background()
	for _, uri := range []string{base, "file://" + base} {
		s, err := Open(ctx, uri, Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustVersions(t, s, 1, 123)
		dir, err := s.Fetch(ctx, 123)
		if err != nil {
			t.Fatal(err)
		}
		if dir != filepath.Join(base, "00000123") {
			t.Errorf("Fetch(123) = %s, want the directory in place", dir)
		}
		sourcetest.CheckTree(t, dir, v123)
		if _, err := s.Fetch(ctx, 5); err == nil {
			t.Error("Fetch of a missing version succeeded")
		}
	}
	missing, err := Open(ctx, filepath.Join(base, "nope"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Versions(ctx); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing base path: err = %v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	for _, uri := range []string{"", "models:/m/1", "ftp://host/x", "s3://", "s3:///path", "https:///x"} {
		if _, err := Open(ctx, uri, Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", uri)
		}
	}
	_, err := Open(ctx, "models:/m/1", Options{})
	if err == nil || !strings.Contains(err.Error(), "mlflow") {
		t.Errorf("models:/ without opener: %v", err)
	}
}

func TestOpenersTakePrecedence(t *testing.T) {
	called := ""
	opts := Options{Openers: map[string]Opener{"models": func(_ context.Context, uri string, o Options) (Source, error) {
		called = uri
		if o.CacheDir == "" || o.Logger == nil || o.HTTPClient == nil {
			t.Error("opener got options without defaults")
		}
		return openLocal(t.TempDir())
	}}}
	if _, err := Open(context.Background(), "models:/m/1", opts); err != nil {
		t.Fatal(err)
	}
	if called != "models:/m/1" {
		t.Errorf("opener called with %q", called)
	}
}

// putMem writes files under url in an afs manager.
func putMem(t *testing.T, mgr storage.Manager, url string, files map[string][]byte) {
	t.Helper()
	for rel, data := range files {
		if err := mgr.Upload(context.Background(), url+"/"+rel, 0o644, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemSourceFetchAndCache(t *testing.T) {
	ctx := context.Background()
	mgr := mem.New()
	base := "mem://localhost/models/m"
	v1, v2 := testModel(1), testModel(2)
	putMem(t, mgr, base+"/1", v1)
	putMem(t, mgr, base+"/notes", map[string][]byte{"x": []byte("y")})

	var logs syncbuf.Buffer
	cache := t.TempDir()
	s, err := Open(ctx, base, Options{CacheDir: cache, Logger: newLogger(&logs), Managers: map[string]storage.Manager{"mem": mgr}})
	if err != nil {
		t.Fatal(err)
	}
	mustVersions(t, s, 1)
	dir, err := s.Fetch(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, cache) {
		t.Errorf("Fetch = %s, not in the cache %s", dir, cache)
	}
	sourcetest.CheckTree(t, dir, v1)
	if strings.Contains(logs.String(), "reusing") {
		t.Error("first fetch reported a cache hit")
	}

	// Second fetch reuses the copy.
	dir2, err := s.Fetch(ctx, 1)
	if err != nil || dir2 != dir {
		t.Fatalf("second Fetch = %s, %v", dir2, err)
	}
	if !strings.Contains(logs.String(), "reusing") {
		t.Error("second fetch did not reuse the cached copy")
	}

	// A damaged cached copy is replaced.
	if err := os.WriteFile(filepath.Join(dir, "variables", "variables.index"), []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch(ctx, 1); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v1)

	// A new version appears.
	putMem(t, mgr, base+"/2", v2)
	mustVersions(t, s, 1, 2)
	dir, err = s.Fetch(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dir, v2)
	noTempLeft(t, cache)

	// A fresh Source over the same cache reuses the copies.
	logs = syncbuf.Buffer{}
	s2, _ := Open(ctx, base, Options{CacheDir: cache, Logger: newLogger(&logs), Managers: map[string]storage.Manager{"mem": mgr}})
	if _, err := s2.Fetch(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "reusing") {
		t.Error("new source did not reuse the cached copy")
	}
}

func TestMemSourceMissingBase(t *testing.T) {
	ctx := context.Background()
	mgr := mem.New()
	putMem(t, mgr, "mem://localhost/models/other/1", testModel(1))
	s, err := Open(ctx, "mem://localhost/models/m", Options{CacheDir: t.TempDir(), Managers: map[string]storage.Manager{"mem": mgr}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Versions(ctx); err == nil {
		t.Error("Versions of a missing base path succeeded")
	}
	if _, err := s.Fetch(ctx, 1); err == nil {
		t.Error("Fetch from a missing base path succeeded")
	}
}

// faultyTree serves files from memory, with faults.
type faultyTree struct {
	files     map[string][]byte
	listed    Files // sizes to report; defaults to the real sizes
	failOn    string
	truncate  string
	mu        sync.Mutex // Mirror opens files from several goroutines
	openCount map[string]int
}

func (f *faultyTree) String() string { return "faulty" }

func (f *faultyTree) Files(context.Context) (Files, error) {
	if f.listed != nil {
		return f.listed, nil
	}
	out := Files{}
	for k, v := range f.files {
		out[k] = int64(len(v))
	}
	return out, nil
}

func (f *faultyTree) Open(_ context.Context, rel string) (io.ReadCloser, error) {
	if f.openCount != nil {
		f.mu.Lock()
		f.openCount[rel]++
		f.mu.Unlock()
	}
	data, ok := f.files[rel]
	if !ok {
		return nil, fmt.Errorf("%s: %w", rel, os.ErrNotExist)
	}
	if rel == f.failOn {
		return io.NopCloser(io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{})), nil
	}
	if rel == f.truncate {
		data = data[:len(data)/2]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestMirrorAtomic(t *testing.T) {
	ctx := context.Background()
	model := testModel(5)
	big := "variables/variables.data-00000-of-00001"
	for name, tree := range map[string]*faultyTree{
		"read error":   {files: model, failOn: big},
		"short file":   {files: model, truncate: big},
		"missing file": {files: model, listed: Files{"saved_model.pb": int64(len(model["saved_model.pb"])), "gone.pb": 3}},
		"long file":    {files: model, listed: Files{"saved_model.pb": int64(len(model["saved_model.pb"]) - 1)}},
		"unsafe name":  {files: map[string][]byte{"../escape": []byte("x")}},
		"empty":        {files: map[string][]byte{}},
	} {
		t.Run(name, func(t *testing.T) {
			cache := t.TempDir()
			dst := filepath.Join(cache, "base", "1")
			if err := Mirror(ctx, tree, dst, nil); err == nil {
				t.Fatal("Mirror succeeded")
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("version directory visible after a failed download: %v", err)
			}
			noTempLeft(t, cache)
		})
	}

	// A failed refresh of a stale copy keeps the old directory intact.
	cache := t.TempDir()
	dst := filepath.Join(cache, "1")
	old := testModel(6)
	if err := Mirror(ctx, &faultyTree{files: old}, dst, nil); err != nil {
		t.Fatal(err)
	}
	if err := Mirror(ctx, &faultyTree{files: model, failOn: big}, dst, nil); err == nil {
		t.Fatal("Mirror succeeded")
	}
	sourcetest.CheckTree(t, dst, old)
	// And a good one replaces it.
	if err := Mirror(ctx, &faultyTree{files: model}, dst, nil); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckTree(t, dst, model)
	noTempLeft(t, cache)
}

func TestMirrorConcurrent(t *testing.T) {
	ctx := context.Background()
	model := testModel(9)
	dst := filepath.Join(t.TempDir(), "1")
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- Mirror(ctx, &faultyTree{files: model}, dst, nil) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	sourcetest.CheckTree(t, dst, model)
	noTempLeft(t, filepath.Dir(dst))
}

func TestMirrorReuseDoesNotDownload(t *testing.T) {
	ctx := context.Background()
	model := testModel(4)
	dst := filepath.Join(t.TempDir(), "1")
	tree := &faultyTree{files: model, openCount: map[string]int{}}
	if err := Mirror(ctx, tree, dst, nil); err != nil {
		t.Fatal(err)
	}
	if err := Mirror(ctx, tree, dst, nil); err != nil {
		t.Fatal(err)
	}
	for rel := range model {
		if tree.openCount[rel] != 1 {
			t.Errorf("%s downloaded %d times, want 1", rel, tree.openCount[rel])
		}
	}
}
