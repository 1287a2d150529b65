// Package savedmodel reads a SavedModel directory's saved_model.pb (binary)
// or saved_model.pbtxt (text) and selects a MetaGraph by its tags.
package savedmodel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
)

// MaxFileSize bounds saved_model.pb; protobuf itself cannot exceed 2 GiB.
const MaxFileSize = 2 << 30

// DefaultTags is what TF Serving loads when no tags are given.
var DefaultTags = []string{"serve"}

// Holds reports whether dir has a saved_model.pb or saved_model.pbtxt
// entry: a SavedModel, rather than another format a version directory may
// hold (a Keras 3 file, a frozen GraphDef).
func Holds(dir string) bool {
	for _, name := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// Read parses dir/saved_model.pb, or dir/saved_model.pbtxt if there is no
// binary file.
func Read(dir string) (*tfpb.SavedModel, error) {
	pb := filepath.Join(dir, "saved_model.pb")
	data, err := readBounded(pb)
	if err == nil {
		sm := &tfpb.SavedModel{}
		if err := (proto.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(data, sm); err != nil {
			return nil, fmt.Errorf("parse %s: %w", pb, err)
		}
		return sm, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	txt := filepath.Join(dir, "saved_model.pbtxt")
	data, err = readBounded(txt)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notSavedModel(dir)
		}
		return nil, err
	}
	sm := &tfpb.SavedModel{}
	if err := (prototext.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, sm); err != nil {
		return nil, fmt.Errorf("parse %s: %w", txt, err)
	}
	return sm, nil
}

// notSavedModel explains what a directory without saved_model.pb holds.
func notSavedModel(dir string) error {
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case exists("export.meta"):
		return fmt.Errorf("%s is a legacy SessionBundle (export.meta), not a SavedModel; re-export it with tf.saved_model: SessionBundle is not supported", dir)
	case exists("model.tflite"):
		return fmt.Errorf("%s holds a TensorFlow Lite model (model.tflite), which tfserve does not serve; export a SavedModel instead", dir)
	case exists("saved_model.cpb"):
		return fmt.Errorf("%s holds a chunked saved_model.cpb, which tfserve cannot read yet", dir)
	case exists("keras_metadata.pb") || exists("config.json"):
		return fmt.Errorf("no saved_model.pb in %s: Keras files alone are not a SavedModel", dir)
	}
	return fmt.Errorf("no saved_model.pb or saved_model.pbtxt in %s", dir)
}

// Parse decodes binary saved_model.pb bytes.
func Parse(data []byte) (*tfpb.SavedModel, error) {
	sm := &tfpb.SavedModel{}
	if err := proto.Unmarshal(data, sm); err != nil {
		return nil, fmt.Errorf("parse saved_model.pb: %w", err)
	}
	return sm, nil
}

func readBounded(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes, over the 2 GiB protobuf limit", path, st.Size())
	}
	return os.ReadFile(path)
}

// MetaGraph returns the MetaGraphDef whose tag set equals tags (order and
// duplicates ignored), as TF's loader does.
func MetaGraph(sm *tfpb.SavedModel, tags []string) (*tfpb.MetaGraphDef, error) {
	if len(tags) == 0 {
		tags = DefaultTags
	}
	want := tagKey(tags)
	var avail []string
	for _, mg := range sm.MetaGraphs {
		var have []string
		if mg.MetaInfoDef != nil {
			have = mg.MetaInfoDef.Tags
		}
		if tagKey(have) == want {
			return mg, nil
		}
		avail = append(avail, "{"+strings.Join(have, ",")+"}")
	}
	return nil, fmt.Errorf("could not find meta graph def matching supplied tags: { %s }; available: %s",
		strings.Join(tags, " "), strings.Join(avail, " "))
}

func tagKey(tags []string) string {
	set := map[string]bool{}
	for _, t := range tags {
		set[t] = true
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return strings.Join(out, "\x00")
}
