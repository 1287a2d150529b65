package gorgonia_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
)

// TestEveryGoldenFixtureLoadsOrRefuses is issue 12's "fail at load, never
// at predict": for every fixture with a golden.json, gorgonia.New either
// refuses the model with an *UnsupportedError that names an op and a node,
// or the model it returns answers every golden request as the golden says.
// A model that loads and then fails a request fails the test.
func TestEveryGoldenFixtureLoadsOrRefuses(t *testing.T) {
	fx := fixtures.Dir(t)
	for _, gf := range golden.Files(t, fx) {
		dir := filepath.Dir(gf)
		rel, _ := filepath.Rel(fx, dir)
		t.Run(rel, func(t *testing.T) {
			g, err := golden.Read(gf)
			if err != nil {
				t.Fatal(err)
			}
			m, err := loader.Load(context.Background(), golden.VersionDir(t, dir), loader.Options{})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			defer m.Close()
			gm, err := gorgonia.New(m, gorgonia.Options{})
			if err != nil {
				var ue *gorgonia.UnsupportedError
				if !errors.As(err, &ue) || ue.Op == "" || ue.Node == "" || !strings.Contains(err.Error(), "(node ") {
					t.Fatalf("refused without naming an op and node: %v", err)
				}
				t.Logf("refused at load: %v", err)
				return
			}
			defer gm.Close()
			for i, c := range g.Cases {
				body, err := golden.Predict(gm, c.Request)
				if err != nil {
					t.Errorf("case %d (%s): loaded, then failed: %v", i, c.Desc, err)
					continue
				}
				if err := c.Check(body); err != nil {
					t.Errorf("case %d (%s): %v", i, c.Desc, err)
				}
			}
		})
	}
}
