package keras3

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfserve/tfserve/loader/keras3/hdf5"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

// Find returns the .keras file a version directory holds: ok is false when
// it holds none, and a directory with several is an error (which one to
// serve would be a guess).
func Find(dir string) (path string, ok bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", false, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".keras") {
			continue
		}
		if ok {
			return "", false, fmt.Errorf("%s holds several .keras files (%s, %s); keep one per version directory", dir, filepath.Base(path), e.Name())
		}
		path, ok = filepath.Join(dir, e.Name()), true
	}
	return path, ok, nil
}

// ReadFile reads the .keras file at path within lim and translates it
// (see Translate).
func ReadFile(path string, lim Limits) (*tfpb.MetaGraphDef, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	a, err := readArchive(f, st.Size(), lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	h, err := hdf5.OpenOptions(bytes.NewReader(a.weights), int64(len(a.weights)), hdf5.Options{MaxBytes: lim.MaxWeightsBytes})
	if err != nil {
		return nil, fmt.Errorf("%s: model.weights.h5: %w", filepath.Base(path), err)
	}
	mg, err := Translate(a.config, h5Weights{h})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if mg.MetaInfoDef != nil && a.kerasVersion != "" {
		mg.MetaInfoDef.TensorflowVersion = "keras " + a.kerasVersion
	}
	return mg, nil
}

// h5Weights reads variables from model.weights.h5.
type h5Weights struct{ f *hdf5.File }

func (w h5Weights) Tensor(path string) (*tensor.Tensor, error) {
	d, err := w.f.Dataset(path)
	if err != nil {
		return nil, fmt.Errorf("model.weights.h5: %w", err)
	}
	dims := d.Shape()
	shape := make(tensor.Shape, len(dims))
	for i, n := range dims {
		if n < 0 || n > 1<<31 {
			return nil, fmt.Errorf("model.weights.h5: %s has dimension %d", path, n)
		}
		shape[i] = int(n)
	}
	data, err := d.ReadFloat32()
	if err != nil {
		return nil, fmt.Errorf("model.weights.h5: %s: %w", path, err)
	}
	if len(data) != shape.NumElements() {
		return nil, fmt.Errorf("model.weights.h5: %s holds %d values for shape %v", path, len(data), shape)
	}
	return tensor.FromSlice(shape, data), nil
}
