package loader_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
)

// TestFixtureGoldens loads every fixture that has a golden.json and checks
// each case's response.
func TestFixtureGoldens(t *testing.T) {
	fx := fixtures.Dir(t)
	files := golden.Files(t, fx)
	for _, gf := range files {
		dir := filepath.Dir(gf)
		rel, _ := filepath.Rel(fx, dir)
		t.Run(rel, func(t *testing.T) {
			g, err := golden.Read(gf)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []loader.Options{{}, {DisableFusion: true}, {DisableOptimization: true}} {
				fused := fmt.Sprintf("fusion %v optimization %v", !o.DisableFusion, !o.DisableOptimization)
				m, err := loader.Load(context.Background(), golden.VersionDir(t, dir), o)
				if err != nil {
					t.Fatalf("load (%s): %v", fused, err)
				}
				for i, c := range g.Cases {
					body, err := golden.Predict(m, c.Request)
					if err != nil {
						t.Errorf("%s, case %d (%s): %v", fused, i, c.Desc, err)
						continue
					}
					if err := c.Check(body); err != nil {
						t.Errorf("%s, case %d (%s): %v", fused, i, c.Desc, err)
					}
				}
				m.Close()
			}
		})
	}
}
