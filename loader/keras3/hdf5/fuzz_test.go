package hdf5

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzOptions keep each input's work small.
var fuzzOptions = Options{MaxBytes: 4 << 20, MaxMetadataBytes: 2 << 20, MaxObjects: 20000, MaxDepth: 16}

// FuzzOpen opens each input and reads everything in it (exercise): no
// panic, every error wraps a sentinel, and Open and each read allocate
// within bounds derived from fuzzOptions. Seeds: testdata/fuzz/FuzzOpen,
// made from small h5py files (testdata/gen_seeds.py).
func FuzzOpen(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, data, fuzzOptions)
	})
}

// TestWriteSeedCorpus turns the .h5 files in $HDF5_WRITE_SEEDS into
// FuzzOpen seed corpus entries; it does nothing without that variable.
func TestWriteSeedCorpus(t *testing.T) {
	dir := os.Getenv("HDF5_WRITE_SEEDS")
	if dir == "" {
		t.Skip("HDF5_WRITE_SEEDS is not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.h5"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .h5 files in %s: %v", dir, err)
	}
	out := filepath.Join("testdata", "fuzz", "FuzzOpen")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := "seed_" + strings.TrimSuffix(filepath.Base(p), ".h5")
		entry := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(out, name), []byte(entry), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
