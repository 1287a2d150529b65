package sourcetest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// CheckTree asserts that dir holds exactly files (slash-separated relative
// path → bytes), byte for byte: none missing, none different, none extra.
func CheckTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	for rel, want := range files {
		g, ok := got[rel]
		if !ok {
			t.Errorf("%s: missing %s", dir, rel)
			continue
		}
		if !bytes.Equal(g, want) {
			t.Errorf("%s: %s differs (%d bytes, want %d)", dir, rel, len(g), len(want))
		}
	}
	for rel := range got {
		if _, ok := files[rel]; !ok {
			t.Errorf("%s: unexpected file %s", dir, rel)
		}
	}
}
