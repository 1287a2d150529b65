package loader_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/golden"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
)

// versionDir returns the SavedModel directory of a fixture: the folder
// itself if it holds saved_model.pb(txt), else its highest numeric child.
func versionDir(t *testing.T, dir string) string {
	t.Helper()
	for _, f := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return dir
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && strings.Trim(e.Name(), "0123456789") == "" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("no version directory in %s", dir)
	}
	return filepath.Join(dir, names[len(names)-1])
}

// predict runs one REST-style predict body through the model and returns
// the REST response body.
func predict(m servable.Model, sigName string, body []byte) ([]byte, error) {
	req, err := jsontensor.ParsePredictRequest(body, func(name string) (*servable.Signature, error) {
		s, ok := m.Signatures()[name]
		if !ok {
			return nil, jsontensor.ErrSignatureNotFound(name)
		}
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	out, err := m.Run(context.Background(), req.SignatureName, req.Inputs, nil)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	return jsontensor.AppendPredictResponse(nil, req.Format, out, names)
}

// TestFixtureGoldens loads every fixture that has a golden.json and checks
// each case's response.
func TestFixtureGoldens(t *testing.T) {
	fx := golden.FixturesDir(t)
	var files []string
	filepath.WalkDir(fx, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "golden.json" {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 20 {
		t.Fatalf("found only %d golden.json files under %s", len(files), fx)
	}
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
				m, err := loader.Load(context.Background(), versionDir(t, dir), o)
				if err != nil {
					t.Fatalf("load (%s): %v", fused, err)
				}
				for i, c := range g.Cases {
					body, err := predict(m, g.SignatureName, c.Request)
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
