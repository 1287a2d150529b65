package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/loadfunc"
)

// TestGoldensEveryEngine serves every Keras GRU (SavedModel and Keras 3
// .keras) and TFRS fixture through
// REST three ways: fused (default), unfused (the exported While loops op by
// op) and --engine=gorgonia, and checks each golden case.
func TestGoldensEveryEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("lowers GRU graphs to gorgonia")
	}
	fx := fixtures.Dir(t)
	var models []served
	for family, want := range map[string]int{"keras/gru": 5, "keras/gru_keras3": 2, "tfrs": 4} {
		root := filepath.Join(fx, family)
		ents, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, e := range ents {
			g, err := golden.Read(filepath.Join(root, e.Name(), "golden.json"))
			if err != nil {
				// Keras 3 .keras fixtures keep their goldens apart.
				if g, err = golden.Read(filepath.Join(root, e.Name(), "golden.keras3.json")); err != nil {
					continue
				}
			}
			found++
			models = append(models, served{name: e.Name(), base: filepath.Join(root, e.Name()), golden: g})
		}
		if found != want {
			t.Fatalf("want the %d %s fixtures with goldens, found %d", want, family, found)
		}
	}
	engines := map[string]loadfunc.Engine{"gorgonia": func(m *loader.Model) (servable.Model, error) {
		return gorgonia.New(m, gorgonia.Options{})
	}}
	for _, c := range []struct {
		name  string
		opts  loadfunc.Options
		flags []string
	}{
		{"fused", loadfunc.Options{}, nil},
		{"unfused", loadfunc.Options{DisableFusion: true}, nil},
		// Gorgonia builds a graph per shape, 18–54× slower: a loaded machine
		// must not turn that into the default 30 s request timeout.
		{"gorgonia", loadfunc.Options{Engines: engines}, []string{"--engine=gorgonia", "--rest_api_timeout_in_ms=600000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := startServerWith(t, models, c.opts, c.flags...)
			for _, m := range models {
				for i, gc := range m.golden.Cases {
					code, body := post(t, url+"/v1/models/"+m.name+":predict", string(gc.Request))
					if code != 200 {
						t.Errorf("%s case %d: HTTP %d %s", m.name, i, code, body)
						continue
					}
					if err := gc.Check(body); err != nil {
						t.Errorf("%s case %d: %v", m.name, i, err)
					}
				}
			}
		})
	}
}
