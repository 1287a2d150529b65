package mlflow

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	ok := map[string]ModelURI{
		"models:/reco/3":            {Name: "reco", Selector: ByVersion, Version: 3},
		"models:/reco/0007":         {Name: "reco", Selector: ByVersion, Version: 7},
		"models:/reco/latest":       {Name: "reco", Selector: ByLatest},
		"models:/reco/LATEST":       {Name: "reco", Selector: ByLatest},
		"models:/reco/production":   {Name: "reco", Selector: ByStage, Stage: "Production"},
		"models:/reco/Staging":      {Name: "reco", Selector: ByStage, Stage: "Staging"},
		"models:/reco/none":         {Name: "reco", Selector: ByStage, Stage: "None"},
		"models:/reco@champion":     {Name: "reco", Selector: ByAlias, Alias: "champion"},
		"models:/a@b@c":             {Name: "a@b", Selector: ByAlias, Alias: "c"},
		"models:/my model/1":        {Name: "my model", Selector: ByVersion, Version: 1},
		"MODELS:/x/2":               {Name: "x", Selector: ByVersion, Version: 2},
		"models:/cat.schema.m@prod": {Name: "cat.schema.m", Selector: ByAlias, Alias: "prod"},
	}
	for in, want := range ok {
		got, err := ParseURI(in)
		if err != nil || got != want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "models:", "models:/", "models:/ /1", "models:/reco/", "models:/reco/1/2", "models:reco/1",
		"models://profile@databricks/reco/1", "models:/reco@", "models:/@alias", "models:/reco/Prod",
		"models:/m-0123", "runs:/abc/model", "models:/reco/1?x=y", "models:/reco/99999999999999999999",
		"s3://bucket/models/reco",
	} {
		if got, err := ParseURI(in); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want an error", in, got)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"models:/reco/3", "models:/reco/latest", "models:/reco/Production", "models:/reco@champion",
		"models:/a@b@c", "models://p@databricks/x/1", "models:/x/1/2", "models:/m-1", "models:/%41/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseURI(s)
		if err != nil {
			return
		}
		if m.Name == "" || strings.Contains(m.Name, "/") {
			t.Fatalf("ParseURI(%q): bad name %q", s, m.Name)
		}
		// Formatting and parsing again gives the same selection.
		again, err := ParseURI(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseURI(%q) = %+v; re-parse of %q = %+v, %v", s, m, m.String(), again, err)
		}
	})
}

func TestParseMLmodel(t *testing.T) {
	m, err := ParseMLmodel([]byte(mlmodelLegacy))
	if err != nil {
		t.Fatal(err)
	}
	want := &TensorFlowFlavor{SavedModelDir: "tfmodel", MetaGraphTags: []string{"serve"}, SignatureDefKey: "predict"}
	if !reflect.DeepEqual(m.TensorFlow, want) || m.RunID != "0a1b2c" || m.ArtifactPath != "model" {
		t.Errorf("legacy = %+v / %+v", m, m.TensorFlow)
	}
	if !reflect.DeepEqual(m.Flavors, []string{"python_function", "tensorflow"}) {
		t.Errorf("flavors = %v", m.Flavors)
	}
	m, err = ParseMLmodel([]byte(mlmodelKeras))
	if err != nil || m.TensorFlow.ModelType != "keras" || m.TensorFlow.Data != "data" || m.TensorFlow.SaveFormat != "tf" {
		t.Errorf("keras = %+v, %v", m, err)
	}
	m, err = ParseMLmodel([]byte(mlmodelSklearn))
	if err != nil || m.TensorFlow != nil {
		t.Errorf("sklearn = %+v, %v", m, err)
	}
	for _, bad := range []string{"flavors: [", "flavors:\n  tensorflow: 3\n", "flavors:\n  tensorflow:\n    meta_graph_tags: {a: b}\n", "- a\n- b\n"} {
		if _, err := ParseMLmodel([]byte(bad)); err == nil {
			t.Errorf("ParseMLmodel(%q) succeeded", bad)
		}
	}
}

func TestFindSavedModelStaysInside(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(filepath.Dir(dir), "outside")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "saved_model.pb"), []byte("x"), 0o644)
	for _, sub := range []string{"../outside", "/etc", "a/../../outside"} {
		os.WriteFile(filepath.Join(dir, "MLmodel"), []byte("flavors:\n  tensorflow:\n    saved_model_dir: "+sub+"\n"), 0o644)
		if sm, err := FindSavedModel(dir); err == nil {
			t.Errorf("saved_model_dir %q accepted: %s", sub, sm.Dir)
		}
	}
}

func FuzzFindSavedModel(f *testing.F) {
	for _, s := range []string{mlmodelLegacy, mlmodelTF2, mlmodelKeras, mlmodelKeras3, mlmodelSklearn, mlmodelKerasNoFormat,
		"flavors:\n  tensorflow:\n    saved_model_dir: ../x\n", "a: &a [*a]", "flavors: {tensorflow: {data: ..}}"} {
		f.Add([]byte(s))
	}
	// The layouts are set up once per worker process; each input only
	// rewrites MLmodel (FindSavedModel only reads).
	root := f.TempDir()
	dir := filepath.Join(root, "model")
	// Every layout's SavedModel exists, so only the MLmodel decides.
	for _, d := range []string{"tfmodel", "tf2model", "data/model"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
		os.WriteFile(filepath.Join(dir, d, "saved_model.pb"), []byte("x"), 0o644)
	}
	os.MkdirAll(filepath.Join(root, "x"), 0o755)
	os.WriteFile(filepath.Join(root, "x", "saved_model.pb"), []byte("x"), 0o644)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "MLmodel"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, perr := ParseMLmodel(data)
		sm, err := FindSavedModel(dir)
		if perr != nil && err == nil {
			t.Fatalf("FindSavedModel accepted an MLmodel that ParseMLmodel rejects: %v", perr)
		}
		if err != nil {
			return
		}
		if m.TensorFlow == nil {
			t.Fatal("found a SavedModel without a tensorflow flavor")
		}
		rel, rerr := filepath.Rel(dir, sm.Dir)
		if rerr != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("SavedModel dir %s outside the model dir %s", sm.Dir, dir)
		}
		if _, err := os.Stat(filepath.Join(sm.Dir, "saved_model.pb")); err != nil {
			t.Fatalf("SavedModel dir %s has no saved_model.pb", sm.Dir)
		}
	})
}

// Keras 3 layouts: the folder holding model.keras is returned for the
// loader; without the file, save_format keras names what is missing; an
// HDF5 file is refused.
func TestFindSavedModelKeras3(t *testing.T) {
	for _, c := range []struct {
		mlmodel, file, want string
	}{
		{mlmodelKeras3, "model.keras", ""},
		{mlmodelKerasNoFormat, "model.keras", ""},
		{mlmodelKeras3, "", "no model.keras in data"},
		{mlmodelKerasNoFormat, "model.h5", "model.h5 is a Keras HDF5 file"},
	} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "data"), 0o755)
		os.WriteFile(filepath.Join(dir, "MLmodel"), []byte(c.mlmodel), 0o644)
		if c.file != "" {
			os.WriteFile(filepath.Join(dir, "data", c.file), []byte("x"), 0o644)
		}
		sm, err := FindSavedModel(dir)
		switch {
		case c.want == "" && (err != nil || sm.Dir != filepath.Join(dir, "data")):
			t.Errorf("%s: %+v, %v; want the data folder", c.file, sm, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: err = %v, want %q", c.file, err, c.want)
		}
	}
}
