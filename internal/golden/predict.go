package golden

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
)

// minFixtures is how many golden.json files a fixtures tree must hold at
// the least: fewer means the tree is incomplete, not that the tests passed.
const minFixtures = 20

// Files lists every golden file under root, in walk order: golden.json,
// and golden.keras3.json beside the Keras 3 .keras fixtures (named apart
// until .keras files loaded). It fails the test when the tree holds fewer
// than minFixtures.
func Files(t testing.TB, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "golden.json" || d.Name() == "golden.keras3.json" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	if len(files) < minFixtures {
		t.Fatalf("found only %d golden.json files under %s", len(files), root)
	}
	return files
}

// VersionDir returns the SavedModel directory of a fixture: the folder
// itself if it holds saved_model.pb(txt), else its highest numeric child.
func VersionDir(t testing.TB, dir string) string {
	t.Helper()
	if savedmodel.Holds(dir) {
		return dir
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

// Predict runs one REST predict body through a model, as the REST server
// does (TF Serving's JSON in, TF Serving's JSON out), without HTTP.
func Predict(m servable.Model, body []byte) ([]byte, error) {
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
