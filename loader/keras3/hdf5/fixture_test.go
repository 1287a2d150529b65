package hdf5

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
)

// The Keras 3 models saved with model.save("model.keras") among the shared
// fixtures.
var kerasFixtures = []string{"bisulelang_xauusd_gru", "deepak_gru_forecasting"}

// unzipKeras reads config.json and model.weights.h5 from a .keras file.
func unzipKeras(t *testing.T, path string) (config, weights []byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "config.json" && f.Name != "model.weights.h5" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "config.json" {
			config = b
		} else {
			weights = b
		}
	}
	if config == nil || weights == nil {
		t.Fatalf("%s: no config.json or model.weights.h5", path)
	}
	return config, weights
}

type kerasLayer struct {
	ClassName string `json:"class_name"`
	Config    struct {
		Name       string `json:"name"`
		Units      int64  `json:"units"`
		ResetAfter *bool  `json:"reset_after"`
		UseBias    *bool  `json:"use_bias"`
	} `json:"config"`
	BuildConfig struct {
		InputShape []*int64 `json:"input_shape"`
	} `json:"build_config"`
}

// expectedWeights derives from a Sequential config.json the weight
// datasets Keras 3 writes and their shapes, in layer order.
func expectedWeights(t *testing.T, config []byte) (paths []string, shapes map[string][]int64, names map[string]string) {
	t.Helper()
	var mc struct {
		ClassName string `json:"class_name"`
		Config    struct {
			Layers []kerasLayer `json:"layers"`
		} `json:"config"`
	}
	if err := json.Unmarshal(config, &mc); err != nil {
		t.Fatal(err)
	}
	if mc.ClassName != "Sequential" {
		t.Fatalf("fixture model is a %s", mc.ClassName)
	}
	shapes, names = map[string][]int64{}, map[string]string{}
	count := map[string]int{}
	add := func(p string, s ...int64) {
		paths = append(paths, p)
		shapes[p] = s
	}
	for _, l := range mc.Config.Layers {
		if l.ClassName == "InputLayer" {
			continue
		}
		base := map[string]string{"GRU": "gru", "Dense": "dense", "Dropout": "dropout"}[l.ClassName]
		if base == "" {
			t.Fatalf("fixture layer class %s", l.ClassName)
		}
		key := base
		if n := count[base]; n > 0 {
			key = fmt.Sprintf("%s_%d", base, n)
		}
		count[base]++
		in := int64(-1)
		if s := l.BuildConfig.InputShape; len(s) > 0 && s[len(s)-1] != nil {
			in = *s[len(s)-1]
		}
		u := l.Config.Units
		switch l.ClassName {
		case "GRU":
			if l.Config.ResetAfter == nil || !*l.Config.ResetAfter || !*l.Config.UseBias {
				t.Fatalf("fixture GRU without reset_after or bias")
			}
			v := "layers/" + key + "/cell/vars/"
			add(v+"0", in, 3*u)
			add(v+"1", u, 3*u)
			add(v+"2", 2, 3*u)
			names["layers/"+key+"/cell/vars"] = "gru_cell"
		case "Dense":
			v := "layers/" + key + "/vars/"
			add(v+"0", in, u)
			add(v+"1", u)
		}
		names["layers/"+key+"/vars"] = l.Config.Name
	}
	return paths, shapes, names
}

// TestKerasFixtures reads the weights of the real Keras 3 GRU models and
// checks them against their config.json: every dataset is where Keras puts
// it with the shape the layer sizes give (a GRU kernel [input_dim,
// 3*units], recurrent kernel [units, 3*units], bias [2, 3*units] with
// reset_after; Adam's two slots per weight with the weight's shape), the
// vars groups carry the layer names, and every value is finite.
func TestKerasFixtures(t *testing.T) {
	for _, name := range kerasFixtures {
		t.Run(name, func(t *testing.T) {
			config, weights := unzipKeras(t, fixtures.Path(t, "keras", "gru_keras3", name, "1", "model.keras"))
			f, err := Open(bytes.NewReader(weights), int64(len(weights)))
			if err != nil {
				t.Fatal(err)
			}
			if v := f.SuperblockVersion(); v != 0 {
				t.Errorf("superblock version %d; Keras 3 with h5py's defaults writes 0", v)
			}
			paths, shapes, names := expectedWeights(t, config)
			// Adam: iterations, learning rate, then m and v per weight.
			opt := map[string][]int64{"optimizer/vars/0": {}, "optimizer/vars/1": {}}
			for i, p := range paths {
				opt[fmt.Sprintf("optimizer/vars/%d", 2+2*i)] = shapes[p]
				opt[fmt.Sprintf("optimizer/vars/%d", 3+2*i)] = shapes[p]
			}
			for p, s := range opt {
				shapes[p] = s
			}
			var walked []string
			err = f.Walk(func(p string, d *Dataset) error {
				walked = append(walked, p)
				want, ok := shapes[p]
				if !ok {
					return fmt.Errorf("unexpected dataset %q", p)
				}
				if got := d.Shape(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s shape %v, want %v", p, got, want)
				}
				if p == "optimizer/vars/0" {
					it, err := d.ReadInt64()
					if err != nil || len(it) != 1 || it[0] < 0 {
						t.Errorf("%s (iterations) = %v, %v", p, it, err)
					}
					return nil
				}
				if d.DType().String() != "<f4" || d.Layout() != "contiguous" {
					t.Errorf("%s: %s %s, want <f4 contiguous", p, d.DType(), d.Layout())
				}
				vals, err := d.ReadFloat32()
				if err != nil {
					return err
				}
				if int64(len(vals)) != d.Len() {
					t.Errorf("%s: %d values for %d elements", p, len(vals), d.Len())
				}
				for i, v := range vals {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Errorf("%s[%d] = %v", p, i, v)
						break
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(walked) != len(shapes) {
				t.Errorf("walk found %d datasets, want %d", len(walked), len(shapes))
			}
			if !sort.StringsAreSorted(walked) {
				t.Errorf("walk order %q is not lexical", walked)
			}
			for g, want := range names {
				grp, err := f.Group(g)
				if err != nil {
					t.Errorf("%s: %v", g, err)
					continue
				}
				a, err := grp.Attr("name")
				if err != nil {
					t.Errorf("%s: %v", g, err)
					continue
				}
				if a.DType().String() != "vlen-utf8" || a.Shape() == nil || len(a.Shape()) != 0 {
					t.Errorf("%s@name: %s %v, want a scalar vlen-utf8 string", g, a.DType(), a.Shape())
				}
				if got, err := a.String(); err != nil || got != want {
					t.Errorf("%s@name = %q, %v; want %q", g, got, err, want)
				}
			}
			compareFixtureWithH5py(t, weights, paths)
		})
	}
}

// compareFixtureWithH5py checks every weight value against h5py, where it
// is installed.
func compareFixtureWithH5py(t *testing.T, weights []byte, paths []string) {
	py := h5pyPython()
	if py == "" {
		t.Log("python3 with h5py is not installed: values not cross-checked")
		return
	}
	h5 := filepath.Join(t.TempDir(), "model.weights.h5")
	if err := os.WriteFile(h5, weights, 0o600); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys, h5py
f = h5py.File(sys.argv[1], "r")
json.dump({p: [repr(float(v)) for v in f[p][()].reshape(-1)] for p in sys.argv[2:]}, sys.stdout)
`
	out, err := exec.Command(py, append([]string{"-c", script, h5}, paths...)...).Output()
	if err != nil {
		t.Fatalf("h5py: %v", err)
	}
	var want map[string][]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(weights), int64(len(weights)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range paths {
		d, err := f.Dataset(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want[p]) {
			t.Fatalf("%s: %d values, h5py reads %d", p, len(got), len(want[p]))
		}
		for i, s := range want[p] {
			w, _ := strconv.ParseFloat(s, 64)
			if got[i] != float32(w) {
				t.Fatalf("%s[%d] = %v, h5py reads %s", p, i, got[i], s)
			}
			n++
		}
	}
	t.Logf("%d weight values match h5py (%s)", n, strings.Join(paths, ", "))
}
