package e2e

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
)

// kerasMembers reads the members of a real .keras fixture.
func kerasMembers(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = data
	}
	return out
}

// writeKeras writes members as base/1/model.keras and returns base.
func writeKeras(t *testing.T, members map[string][]byte) string {
	t.Helper()
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "1", "model.keras"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return base
}

// TestKeras3BadFilesFailAlone: a .keras file with an unsupported layer, one
// with a truncated HDF5 member and one without its weights each fail their
// own load with a status naming the problem, while a good .keras model
// beside them serves its goldens.
func TestKeras3BadFilesFailAlone(t *testing.T) {
	fx := fixtures.Path(t, "keras/gru_keras3/bisulelang_xauusd_gru")
	g, err := golden.Read(filepath.Join(fx, "golden.keras3.json"))
	if err != nil {
		t.Fatal(err)
	}
	good := kerasMembers(t, filepath.Join(fx, "1", "model.keras"))
	clone := func() map[string][]byte {
		m := map[string][]byte{}
		for k, v := range good {
			m[k] = v
		}
		return m
	}
	badLayer := clone()
	badLayer["config.json"] = bytes.Replace(badLayer["config.json"], []byte(`"class_name": "GRU"`), []byte(`"class_name": "ConvLSTM1D"`), 1)
	truncated := clone()
	truncated["model.weights.h5"] = truncated["model.weights.h5"][:len(truncated["model.weights.h5"])/3]
	missing := clone()
	delete(missing, "model.weights.h5")
	models := []served{
		{name: "good", base: writeKeras(t, good), golden: g},
		{name: "bad_layer", base: writeKeras(t, badLayer)},
		{name: "truncated", base: writeKeras(t, truncated)},
		{name: "missing", base: writeKeras(t, missing)},
	}
	url := startServer(t, models)
	for _, c := range []struct{ model, want string }{
		{"bad_layer", "class ConvLSTM1D is not supported"},
		{"truncated", "model.weights.h5"},
		{"missing", "no model.weights.h5 member"},
	} {
		code, body := get(t, url+"/v1/models/"+c.model)
		if code != 200 || !strings.Contains(body, `"END"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s: status %d %s; want END with %q", c.model, code, body, c.want)
		}
	}
	for i, gc := range g.Cases {
		code, body := post(t, url+"/v1/models/good:predict", string(gc.Request))
		if code != 200 {
			t.Fatalf("good case %d: HTTP %d %s", i, code, body)
		}
		if err := gc.Check(body); err != nil {
			t.Errorf("good case %d: %v", i, err)
		}
	}
}
