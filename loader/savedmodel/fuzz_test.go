package savedmodel_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/loader/tfimport"
)

// FuzzSavedModel feeds arbitrary bytes to the SavedModel parser, the
// MetaGraph selection, the graph translation and plan compilation: none may
// panic or hang. Seeds are our own demo models and, when present, the real
// fixtures' saved_model.pb files.
func FuzzSavedModel(f *testing.F) {
	dir := f.TempDir()
	if err := demo.WriteAll(dir); err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob(filepath.Join(dir, "*", "*", "saved_model.pb"))
	if fx := fixtures.Optional(f); fx != "" {
		more, _ := filepath.Glob(filepath.Join(fx, "tfserving/servables/tensorflow/testdata/*/00000123/saved_model.pb"))
		seeds = append(seeds, more...)
	}
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x03, 0x0a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		sm, err := savedmodel.Parse(data)
		if err != nil {
			return
		}
		mg, err := savedmodel.MetaGraph(sm, nil)
		if err != nil || mg.GraphDef == nil {
			return
		}
		res, err := tfimport.Import(mg.GraphDef, mg.GetMetaInfoDef().GetStrippedOpList())
		if err != nil {
			return
		}
		sess := graph.NewSession(res.Library, kernels.Lookup)
		var fetches []graph.Port
		for _, n := range res.Graph.Nodes {
			if n.NumOutputs > 0 {
				fetches = append(fetches, graph.Port{Node: n})
			}
		}
		sess.Compile("fuzz", res.Graph, nil, fetches, nil)
	})
}

func TestReadMissingAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	if _, err := savedmodel.Read(dir); err == nil {
		t.Error("empty dir read")
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), []byte("not a proto \xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := savedmodel.Read(dir); err == nil {
		t.Error("corrupt saved_model.pb read")
	}
}
