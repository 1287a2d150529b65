package sourcetest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	base := t.TempDir()
	for _, name := range []string{"3", "00000123", "notes"} {
		if err := os.Mkdir(filepath.Join(base, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A numeric file is not a version.
	if err := os.WriteFile(filepath.Join(base, "7"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d := Dir(base)
	ctx := context.Background()
	vs, err := d.Versions(ctx)
	slices.Sort(vs)
	if err != nil || !slices.Equal(vs, []int64{3, 123}) {
		t.Fatalf("Versions = %v, %v", vs, err)
	}
	for v, want := range map[int64]string{3: "3", 123: "00000123"} {
		if got, err := d.Fetch(ctx, v); err != nil || got != filepath.Join(base, want) {
			t.Errorf("Fetch(%d) = %q, %v", v, got, err)
		}
	}
	for _, v := range []int64{7, 4} {
		if got, err := d.Fetch(ctx, v); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Fetch(%d) = %q, %v; want not found", v, got, err)
		}
	}
	if d.String() != base {
		t.Errorf("String = %q", d.String())
	}
	if _, err := Dir(filepath.Join(base, "missing")).Versions(ctx); err == nil {
		t.Error("a missing base path listed versions")
	}
}
