package loader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeModelOptions(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, ModelOptionsFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadModelOptions(t *testing.T) {
	mo, err := ReadModelOptions(t.TempDir())
	if mo != nil || err != nil {
		t.Fatalf("absent file: %+v, %v; want nil, nil", mo, err)
	}
	mo, err = ReadModelOptions(writeModelOptions(t, `{"engine": "gorgonia", "ann": {"leaves_to_search": 7, "bruteforce_to_ann": true}}`))
	if err != nil || mo.Engine != "gorgonia" || mo.ANN.LeavesToSearch != 7 || !mo.ANN.BruteForceToANN || mo.ANN.Exhaustive {
		t.Fatalf("got %+v, %v", mo, err)
	}
	for _, tc := range []struct{ content, want string }{
		{`{"engine": "tpu"}`, `engine "tpu"`},
		{`{"ann": {"leaves_to_search": -1}}`, "leaves_to_search must be >= 0"},
		{`{"engnie": "gorgonia"}`, "unknown field"},
		// A hostile file is refused after reading one byte past the cap.
		{`{"engine": "` + strings.Repeat("x", maxModelOptionsBytes) + `"}`, "larger than 65536 bytes"},
	} {
		if _, err := ReadModelOptions(writeModelOptions(t, tc.content)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: error %v; want one containing %q", tc.content, err, tc.want)
		}
	}
}
