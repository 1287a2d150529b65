package hdf5

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The expectations gen.py writes beside each file: what h5py reads back.
type expFile struct {
	Superblock int
	Datasets   map[string]expDataset
	Attrs      map[string]map[string]expAttr
	Members    map[string][]string
	Walk       []string
}

type expDataset struct {
	Shape   []int64
	DType   string
	Layout  string
	Filters []string
	Values  []string
	Error   string
	SameAs  string `json:"same_as"`
}

type expAttr struct {
	DType  string
	Shape  []int64
	Values []string
}

func openFile(t testing.TB, path string, opts Options) *File {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenOptions(fh, st.Size(), opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// checkAgainst compares every group, dataset, attribute and value of the
// HDF5 file at h5 with the expectations in the JSON file beside it.
func checkAgainst(t *testing.T, h5 string) {
	t.Helper()
	raw, err := os.ReadFile(strings.TrimSuffix(h5, ".h5") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var exp expFile
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, h5, Options{})
	if got := f.SuperblockVersion(); got != exp.Superblock {
		t.Errorf("superblock version %d, h5py says %d", got, exp.Superblock)
	}
	for path, want := range exp.Members {
		g := f.Root()
		if path != "" {
			if g, err = f.Group(path); err != nil {
				t.Errorf("group %q: %v", path, err)
				continue
			}
		}
		if got := g.Members(); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("group %q members %q, want %q", path, got, want)
		}
	}
	var walked []string
	if err := f.Walk(func(p string, d *Dataset) error {
		if d.Path() != p {
			t.Errorf("walk: dataset path %q at %q", d.Path(), p)
		}
		walked = append(walked, p)
		return nil
	}); err != nil {
		t.Errorf("walk: %v", err)
	}
	if !reflect.DeepEqual(walked, exp.Walk) {
		t.Errorf("walk visited %q\nwant %q", walked, exp.Walk)
	}
	values := 0
	for path, want := range exp.Datasets {
		if want.SameAs != "" {
			continue
		}
		d, err := f.Dataset(path)
		if err != nil {
			t.Errorf("dataset %q: %v", path, err)
			continue
		}
		checkDataset(t, d, want)
		values += len(want.Values)
	}
	for path, attrs := range exp.Attrs {
		var list []*Attribute
		if g, err := f.Group(path); err == nil || path == "" {
			if path == "" {
				g = f.Root()
			}
			list = g.Attrs()
		} else if d, err := f.Dataset(path); err == nil {
			list = d.Attrs()
		} else {
			t.Errorf("attributes of %q: %v", path, err)
			continue
		}
		if len(list) != len(attrs) {
			t.Errorf("%q has %d attributes, want %d", path, len(list), len(attrs))
		}
		for _, a := range list {
			want, ok := attrs[a.Name()]
			if !ok {
				t.Errorf("%q: unexpected attribute %q", path, a.Name())
				continue
			}
			checkAttr(t, path, a, want)
			values += len(want.Values)
		}
	}
	t.Logf("%s: %d datasets, %d values compared", filepath.Base(h5), len(exp.Datasets), values)
}

func checkDataset(t *testing.T, d *Dataset, want expDataset) {
	t.Helper()
	p := d.Path()
	if got := d.Shape(); !reflect.DeepEqual(got, want.Shape) && !(len(got) == 0 && len(want.Shape) == 0 && (got == nil) == (want.Shape == nil)) {
		t.Errorf("%q shape %v, want %v", p, got, want.Shape)
	}
	if got := d.DType().String(); got != want.DType {
		t.Errorf("%q dtype %s, want %s", p, got, want.DType)
	}
	if got := d.Layout(); !strings.HasPrefix(got, want.Layout) {
		t.Errorf("%q layout %s, want %s", p, got, want.Layout)
	}
	if got := d.Filters(); !reflect.DeepEqual(got, want.Filters) && len(got)+len(want.Filters) > 0 {
		t.Errorf("%q filters %v, want %v", p, got, want.Filters)
	}
	if want.Error != "" {
		if _, err := d.ReadRaw(); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: ReadRaw error %v, want ErrUnsupported", p, err)
		}
		return
	}
	if want.Shape == nil {
		if b, err := d.ReadRaw(); err != nil || len(b) != 0 {
			t.Errorf("%q (null dataspace): %d bytes, %v", p, len(b), err)
		}
		return
	}
	compareValues(t, p, d.DType(), want.Values, func() ([]float64, []float32, error) {
		f64, err := d.ReadFloat64()
		if err != nil {
			return nil, nil, err
		}
		f32, err := d.ReadFloat32()
		return f64, f32, err
	}, d.ReadInt64, d.ReadStrings, d.ReadRaw)
}

func checkAttr(t *testing.T, owner string, a *Attribute, want expAttr) {
	t.Helper()
	p := owner + "@" + a.Name()
	if got := a.DType().String(); got != want.DType {
		t.Errorf("%q dtype %s, want %s", p, got, want.DType)
	}
	if got := a.Shape(); !reflect.DeepEqual(got, want.Shape) && !(len(got) == 0 && len(want.Shape) == 0 && (got == nil) == (want.Shape == nil)) {
		t.Errorf("%q shape %v, want %v", p, got, want.Shape)
	}
	if want.Shape == nil {
		return
	}
	compareValues(t, p, a.DType(), want.Values, func() ([]float64, []float32, error) {
		f64, err := a.Float64s()
		if err != nil {
			return nil, nil, err
		}
		f32 := make([]float32, len(f64))
		for i, v := range f64 {
			f32[i] = float32(v)
		}
		return f64, f32, nil
	}, a.Int64s, a.Strings, func() ([]byte, error) { return a.Raw(), nil })
}

func compareValues(t *testing.T, p string, dt DType, want []string,
	floats func() ([]float64, []float32, error), ints func() ([]int64, error),
	strs func() ([]string, error), raw func() ([]byte, error)) {
	t.Helper()
	switch dt.Kind {
	case Float:
		f64, f32, err := floats()
		if err != nil {
			t.Errorf("%q: %v", p, err)
			return
		}
		if len(f64) != len(want) || len(f32) != len(want) {
			t.Errorf("%q: %d/%d values, want %d", p, len(f64), len(f32), len(want))
			return
		}
		for i, s := range want {
			w, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if !sameFloat(f64[i], w) || !sameFloat(float64(f32[i]), float64(float32(w))) {
				t.Errorf("%q[%d] = %v / %v, want %s", p, i, f64[i], f32[i], s)
				return
			}
		}
	case Int, Uint:
		b, err := raw()
		if err != nil {
			t.Errorf("%q: %v", p, err)
			return
		}
		if len(b) != len(want)*dt.Size {
			t.Errorf("%q: %d bytes for %d values", p, len(b), len(want))
			return
		}
		overflow := false
		for i, s := range want {
			v := b[i*dt.Size : (i+1)*dt.Size]
			var got string
			if dt.Kind == Int {
				got = strconv.FormatInt(intAt(v, dt), 10)
			} else {
				u := uintAt(v, dt)
				got = strconv.FormatUint(u, 10)
				overflow = overflow || u > math.MaxInt64
			}
			if got != s {
				t.Errorf("%q[%d] = %s, want %s", p, i, got, s)
				return
			}
		}
		got, err := ints()
		if overflow {
			if err == nil {
				t.Errorf("%q: no error for values past int64", p)
			}
			return
		}
		if err != nil || len(got) != len(want) {
			t.Errorf("%q: %d ints, %v", p, len(got), err)
			return
		}
		for i, s := range want {
			if strconv.FormatInt(got[i], 10) != s {
				t.Errorf("%q[%d] = %d, want %s", p, i, got[i], s)
				return
			}
		}
	case String, VarString:
		got, err := strs()
		if err != nil {
			t.Errorf("%q: %v", p, err)
			return
		}
		if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%q = %q, want %q", p, got, want)
		}
	default:
		t.Errorf("%q: unexpected dtype %s", p, dt)
	}
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

var generated = []string{"v0", "offsets4", "smallk", "latest", "deep", "v2", "userblock"}

// TestCommittedFiles reads the files gen.py wrote (committed under
// testdata) and compares everything with what h5py read from them.
func TestCommittedFiles(t *testing.T) {
	for _, name := range generated {
		t.Run(name, func(t *testing.T) { checkAgainst(t, filepath.Join("testdata", name+".h5")) })
	}
}

// h5pyPython returns a python3 that imports h5py, or "".
func h5pyPython() string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import h5py, numpy").Run() == nil {
			return py
		}
	}
	return ""
}

// TestAgainstH5py writes the files afresh with the h5py installed here and
// compares every value; it runs only where python3 has h5py.
func TestAgainstH5py(t *testing.T) {
	py := h5pyPython()
	if py == "" {
		t.Skip("python3 with h5py is not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command(py, filepath.Join("testdata", "gen.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("gen.py: %v\n%s", err, out)
	}
	for _, name := range generated {
		p := filepath.Join(dir, name+".h5")
		if _, err := os.Stat(p); err != nil {
			t.Logf("%s: not written here (%v)", name, err)
			continue
		}
		t.Run(name, func(t *testing.T) { checkAgainst(t, p) })
	}
}
