package sourcetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder collects what CheckTree reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

func TestCheckTree(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "variables"), 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, data := range map[string]string{"saved_model.pb": "pb", "variables/v.index": "ix", "extra": "x"} {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exact := map[string][]byte{"saved_model.pb": []byte("pb"), "variables/v.index": []byte("ix"), "extra": []byte("x")}
	r := &recorder{TB: t}
	CheckTree(r, dir, exact)
	if len(r.errs) != 0 {
		t.Fatalf("exact tree reported %v", r.errs)
	}
	r = &recorder{TB: t}
	CheckTree(r, dir, map[string][]byte{"saved_model.pb": []byte("PB"), "variables/v.index": []byte("ix"), "missing": nil})
	want := []string{"differs", "missing", "unexpected"}
	got := strings.Join(r.errs, "|")
	if len(r.errs) != 3 {
		t.Fatalf("got %d reports %q, want 3", len(r.errs), got)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("reports %q lack %q", got, w)
		}
	}
}
