package source

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/syncbuf"
)

// testModel returns the files of a fake SavedModel version: nested
// variables/, an empty file and a file larger than one read buffer. The seed
// makes versions differ.
func testModel(seed uint64) map[string][]byte {
	r := rand.New(rand.NewPCG(seed, 42))
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	return map[string][]byte{
		"saved_model.pb":                          blob(300 + int(seed)),
		"fingerprint.pb":                          blob(57),
		"variables/variables.index":               blob(120),
		"variables/variables.data-00000-of-00001": blob(200_000 + int(seed)*7),
		"assets/vocab.txt":                        []byte(fmt.Sprintf("a\nb\nversion %d\n", seed)),
		"assets/empty":                            {},
	}
}

// writeLocal writes files under dir.
func writeLocal(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noTempLeft asserts that no temporary directories remain under dir.
func noTempLeft(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary entry left behind: %s", p)
		}
		return nil
	})
}

func equalVersions(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func mustVersions(t *testing.T, s Source, want ...int64) {
	t.Helper()
	got, err := s.Versions(context.Background())
	if err != nil {
		t.Fatalf("%s Versions: %v", s, err)
	}
	if !equalVersions(got, want) {
		t.Fatalf("%s Versions = %v, want %v", s, got, want)
	}
}

func newLogger(l *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
