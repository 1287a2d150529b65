package mlflow

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// MLmodel is the part of an MLflow MLmodel file that serving needs.
type MLmodel struct {
	ArtifactPath string
	RunID        string
	// Flavors lists the flavor names present, sorted.
	Flavors []string
	// TensorFlow is the tensorflow flavor, nil when absent.
	TensorFlow *TensorFlowFlavor
}

// TensorFlowFlavor is flavors.tensorflow of an MLmodel file
// (mlflow/tensorflow/__init__.py), in any of its layouts.
type TensorFlowFlavor struct {
	// Legacy and tf.Module layouts: the SavedModel directory ("tfmodel",
	// "tf2model").
	SavedModelDir   string   `yaml:"saved_model_dir"`
	MetaGraphTags   []string `yaml:"meta_graph_tags"`
	SignatureDefKey string   `yaml:"signature_def_key"`
	// "tf2-module" or "keras" (MLflow >= 2.x); empty in the legacy layout.
	ModelType string `yaml:"model_type"`
	// Keras layout: the data directory ("data"), holding model/ (a
	// SavedModel), model.keras or model.h5.
	Data         string `yaml:"data"`
	SaveFormat   string `yaml:"save_format"`
	KerasVersion string `yaml:"keras_version"`
	TFVersion    string `yaml:"tensorflow_version"`
}

// errNoTensorFlow marks an MLmodel without a tensorflow flavor.
var errNoTensorFlow = errors.New("no tensorflow flavor")

// maxMLmodelBytes bounds the MLmodel file read.
const maxMLmodelBytes = 4 << 20

// ParseMLmodel parses the YAML text of an MLmodel file.
func ParseMLmodel(data []byte) (*MLmodel, error) {
	if len(data) > maxMLmodelBytes {
		return nil, fmt.Errorf("MLmodel: %d bytes is too large", len(data))
	}
	var raw struct {
		ArtifactPath any                  `yaml:"artifact_path"`
		RunID        any                  `yaml:"run_id"`
		Flavors      map[string]yaml.Node `yaml:"flavors"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("MLmodel: %w", err)
	}
	m := &MLmodel{ArtifactPath: scalar(raw.ArtifactPath), RunID: scalar(raw.RunID)}
	for name := range raw.Flavors {
		m.Flavors = append(m.Flavors, name)
	}
	slices.Sort(m.Flavors)
	if node, ok := raw.Flavors["tensorflow"]; ok {
		tf := &TensorFlowFlavor{}
		if node.Kind != yaml.MappingNode {
			return nil, errors.New("MLmodel: flavors.tensorflow is not a mapping")
		}
		if err := node.Decode(tf); err != nil {
			return nil, fmt.Errorf("MLmodel: flavors.tensorflow: %w", err)
		}
		m.TensorFlow = tf
	}
	return m, nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// SavedModel is a SavedModel found inside an MLflow model directory.
type SavedModel struct {
	// Dir is the SavedModel directory (holds saved_model.pb), or the
	// folder holding a Keras 3 model.keras.
	Dir string
	// Tags and SignatureKey come from the flavor when it records them
	// (legacy layout); empty means the defaults ("serve",
	// "serving_default").
	Tags         []string
	SignatureKey string
}

// FindSavedModel reads dir/MLmodel and returns the SavedModel the tensorflow
// flavor points to, or the folder holding its Keras 3 model.keras (which
// the loader reads too). Keras 2 HDF5 (.h5) models give an error that says
// so.
func FindSavedModel(dir string) (SavedModel, error) {
	data, err := readLimited(filepath.Join(dir, "MLmodel"))
	if err != nil {
		return SavedModel{}, fmt.Errorf("read MLmodel: %w", err)
	}
	m, err := ParseMLmodel(data)
	if err != nil {
		return SavedModel{}, err
	}
	tf := m.TensorFlow
	if tf == nil {
		return SavedModel{}, fmt.Errorf("%w in MLmodel (flavors: %s); only TensorFlow SavedModels can be served", errNoTensorFlow, strings.Join(m.Flavors, ", "))
	}
	sm := SavedModel{Tags: tf.MetaGraphTags, SignatureKey: tf.SignatureDefKey}
	if tf.SavedModelDir != "" {
		sub, err := within(dir, tf.SavedModelDir)
		if err != nil {
			return SavedModel{}, fmt.Errorf("MLmodel saved_model_dir: %w", err)
		}
		if !isSavedModel(sub) {
			return SavedModel{}, fmt.Errorf("MLmodel saved_model_dir %q: no saved_model.pb in %s", tf.SavedModelDir, sub)
		}
		sm.Dir = sub
		return sm, nil
	}
	if tf.Data == "" && tf.ModelType != "keras" {
		return SavedModel{}, fmt.Errorf("MLmodel tensorflow flavor has neither saved_model_dir nor data (model_type %q)", tf.ModelType)
	}
	dataDir := tf.Data
	if dataDir == "" {
		dataDir = "data"
	}
	data0, err := within(dir, dataDir)
	if err != nil {
		return SavedModel{}, fmt.Errorf("MLmodel data: %w", err)
	}
	switch strings.ToLower(tf.SaveFormat) {
	case "h5":
		return SavedModel{}, fmt.Errorf("Keras model saved as HDF5 (save_format h5) in %s is not a SavedModel; export it with model.export() or save_format=\"tf\"", dataDir)
	}
	if p := filepath.Join(data0, "model"); isSavedModel(p) {
		sm.Dir = p
		return sm, nil
	}
	// A Keras 3 file (save_format keras): the loader reads
	// <data>/model.keras as it reads a version directory holding one.
	if info, err := os.Stat(filepath.Join(data0, "model.keras")); err == nil && info.Mode().IsRegular() {
		sm.Dir = data0
		return sm, nil
	}
	if strings.ToLower(tf.SaveFormat) == "keras" {
		return SavedModel{}, fmt.Errorf("MLmodel keras layout (save_format keras): no model.keras in %s", dataDir)
	}
	if _, err := os.Stat(filepath.Join(data0, "model.h5")); err == nil {
		return SavedModel{}, fmt.Errorf("%s/model.h5 is a Keras HDF5 file, not a SavedModel; export it with model.export() or save it as model.keras", dataDir)
	}
	return SavedModel{}, fmt.Errorf("MLmodel keras layout: no SavedModel at %s/model", dataDir)
}

// within joins a relative slash path from MLmodel to dir, refusing paths
// that leave dir.
func within(dir, rel string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(rel, "\\", "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.ContainsRune(clean, 0) {
		return "", fmt.Errorf("%q leaves the model directory", rel)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

func isSavedModel(dir string) bool {
	for _, name := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil && info.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func readLimited(p string) ([]byte, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxMLmodelBytes {
		return nil, fmt.Errorf("%s: %d bytes is too large", p, info.Size())
	}
	return os.ReadFile(p)
}
