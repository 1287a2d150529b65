package loader

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/limits"
)

// FrozenGraphOptions is the "frozen" block of assets.extra/tfserve.json,
// for a version directory that holds a frozen GraphDef instead of a
// SavedModel, e.g.
//
//	{"frozen": {"graph": "frozen_model.pb", "inputs": ["input"], "outputs": ["output", "state:1"]}}
//
// Every field is optional: without Graph the directory must hold one
// *.pb (or, with none, one *.pbtxt); without Inputs they are the graph's
// Placeholders; without Outputs they are the nodes nothing reads.
type FrozenGraphOptions struct {
	// Graph is the GraphDef's file name inside the version directory.
	Graph string `json:"graph"`
	// Inputs and Outputs are tensor names ("node" or "node:1"); each one's
	// alias is the name without a ":0" suffix.
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

// frozenGraphSlack is what a frozen graph file may hold beyond the bytes of
// its constants (limits.Load.MaxConstBytes): node names, attributes, text
// syntax.
const frozenGraphSlack = 64 << 20

// FrozenSignature is the signature a frozen graph serves.
const FrozenSignature = "serving_default"

// FrozenMetaGraph reads the frozen GraphDef (a graph whose variables were
// folded into constants, as TF1's freeze_graph writes) that the version
// directory dir holds in place of a saved_model.pb, and wraps it in a
// MetaGraphDef with one signature, "serving_default": its inputs are the
// graph's Placeholders (alias = node name; dtype and shape from their
// attributes), its outputs the nodes nothing reads (alias = node name),
// unless assets.extra/tfserve.json's "frozen" block names them (see
// FrozenGraphOptions). It reports false, and no error, when dir holds a
// SavedModel or no *.pb / *.pbtxt file. The file is bounded by
// lim.MaxConstBytes (plus 64 MiB) before it is read and its node count by
// lim.MaxNodes before it is translated.
func FrozenMetaGraph(dir string, lim limits.Load) (*tfpb.MetaGraphDef, bool, error) {
	lim = lim.WithDefaults()
	if savedmodel.Holds(dir) {
		return nil, false, nil
	}
	mo, err := ReadModelOptions(dir)
	if err != nil {
		return nil, false, err
	}
	var fo FrozenGraphOptions
	if mo != nil && mo.Frozen != nil {
		fo = *mo.Frozen
	}
	file, err := frozenGraphFile(dir, fo.Graph)
	if err != nil || file == "" {
		return nil, false, err
	}
	gd, err := readFrozenGraph(file, lim)
	if err != nil {
		return nil, false, err
	}
	sd, err := frozenSignature(gd, fo)
	if err != nil {
		return nil, false, fmt.Errorf("frozen graph %s: %w", file, err)
	}
	mg := &tfpb.MetaGraphDef{
		MetaInfoDef:  &tfpb.MetaGraphDef_MetaInfoDef{Tags: savedmodel.DefaultTags, StrippedOpList: frozenOpList(gd)},
		GraphDef:     gd,
		SignatureDef: map[string]*tfpb.SignatureDef{FrozenSignature: sd},
	}
	return mg, true, nil
}

// frozenGraphFile picks the GraphDef file of dir: the one tfserve.json
// names, else the only *.pb, else the only *.pbtxt ("" when there is none).
func frozenGraphFile(dir, named string) (string, error) {
	if named != "" {
		if named != filepath.Base(named) || named == "." || named == ".." {
			return "", fmt.Errorf("%s: frozen.graph %q must be a file name in the version directory", filepath.Join(dir, ModelOptionsFile), named)
		}
		p := filepath.Join(dir, named)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return "", fmt.Errorf("%s: frozen.graph %q is not a file in %s", filepath.Join(dir, ModelOptionsFile), named, dir)
		}
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	var pb, pbtxt []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || name == "fingerprint.pb" || name == "keras_metadata.pb" {
			continue
		}
		switch filepath.Ext(name) {
		case ".pb":
			pb = append(pb, name)
		case ".pbtxt":
			pbtxt = append(pbtxt, name)
		}
	}
	for _, c := range [][]string{pb, pbtxt} {
		switch len(c) {
		case 0:
			continue
		case 1:
			return filepath.Join(dir, c[0]), nil
		}
		return "", fmt.Errorf("%s holds several graph files (%s) and no saved_model.pb; name the frozen graph in %s: {\"frozen\": {\"graph\": \"...\"}}",
			dir, strings.Join(c, ", "), ModelOptionsFile)
	}
	return "", nil
}

// readFrozenGraph reads and parses a GraphDef file within lim: binary for
// *.pb (text when that fails and text parses), text for *.pbtxt.
func readFrozenGraph(path string, lim limits.Load) (*tfpb.GraphDef, error) {
	maxBytes := min(int64(savedmodel.MaxFileSize), lim.MaxConstBytes+frozenGraphSlack)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("frozen graph %s: %w", path, limits.Exceeded("frozen graph file (bytes)", st.Size(), maxBytes, "model_max_const_bytes"))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("frozen graph %s: %w", path, limits.Exceeded("frozen graph file (bytes)", int64(len(data)), maxBytes, "model_max_const_bytes"))
	}
	gd := &tfpb.GraphDef{}
	text := prototext.UnmarshalOptions{DiscardUnknown: true}
	if filepath.Ext(path) == ".pbtxt" {
		err = text.Unmarshal(data, gd)
	} else if err = proto.Unmarshal(data, gd); err != nil {
		txt := &tfpb.GraphDef{}
		if text.Unmarshal(data, txt) == nil {
			gd, err = txt, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("parse frozen graph %s: %w", path, err)
	}
	if len(gd.Node) == 0 {
		return nil, fmt.Errorf("frozen graph %s holds no nodes", path)
	}
	if len(gd.Node) > lim.MaxNodes {
		return nil, fmt.Errorf("frozen graph %s: %w", path, limits.Exceeded("frozen graph (nodes)", int64(len(gd.Node)), int64(lim.MaxNodes), "model_max_nodes"))
	}
	return gd, nil
}

// noOutputOps have no data outputs: a node of theirs that nothing reads is
// not a model output.
var noOutputOps = map[string]bool{
	"NoOp": true, "Assert": true, "SaveV2": true, "Save": true, "SaveSlices": true, "MergeV2Checkpoints": true,
	"AssignVariableOp": true, "AssignAddVariableOp": true, "AssignSubVariableOp": true, "ControlTrigger": true,
	"TensorArrayCloseV3": true, "InitializeTableV2": true, "InitializeTableFromTextFileV2": true,
	"LookupTableImportV2": true, "LookupTableInsertV2": true, "PrintV2": true,
}

// frozenSignature builds the serving signature of a frozen graph.
func frozenSignature(gd *tfpb.GraphDef, fo FrozenGraphOptions) (*tfpb.SignatureDef, error) {
	byName := make(map[string]*tfpb.NodeDef, len(gd.Node))
	for _, n := range gd.Node {
		byName[n.Name] = n
	}
	sd := &tfpb.SignatureDef{MethodName: "tensorflow/serving/predict", Inputs: map[string]*tfpb.TensorInfo{}, Outputs: map[string]*tfpb.TensorInfo{}}
	add := func(m map[string]*tfpb.TensorInfo, what, tensorName string) error {
		name, idx, err := parseTensorName(tensorName)
		if err != nil {
			return fmt.Errorf("%s %w", what, err)
		}
		n, ok := byName[name]
		if !ok {
			return fmt.Errorf("%s %q: no node %q in the graph", what, tensorName, name)
		}
		alias := name
		if idx > 0 {
			alias = name + ":" + strconv.Itoa(idx)
		}
		if _, dup := m[alias]; dup {
			return fmt.Errorf("%s %q is named twice", what, tensorName)
		}
		ti := &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: name + ":" + strconv.Itoa(idx)}}
		for _, k := range []string{"dtype", "T"} {
			if a := n.Attr[k]; a != nil {
				if t, ok := a.Value.(*tfpb.AttrValue_Type); ok {
					ti.Dtype = t.Type
					break
				}
			}
		}
		if a := n.Attr["shape"]; a != nil && a.GetShape() != nil {
			ti.TensorShape = proto.Clone(a.GetShape()).(*tfpb.TensorShapeProto)
		} else {
			ti.TensorShape = &tfpb.TensorShapeProto{UnknownRank: true}
		}
		m[alias] = ti
		return nil
	}
	inputs, outputs := fo.Inputs, fo.Outputs
	if inputs == nil {
		for _, n := range gd.Node {
			if n.Op == "Placeholder" {
				inputs = append(inputs, n.Name)
			}
		}
	}
	if outputs == nil {
		read := make(map[string]bool, len(gd.Node))
		for _, n := range gd.Node {
			for _, in := range n.Input {
				name := strings.TrimPrefix(in, "^")
				if i := strings.LastIndexByte(name, ':'); i >= 0 {
					name = name[:i]
				}
				read[name] = true
			}
		}
		for _, n := range gd.Node {
			if !read[n.Name] && !noOutputOps[n.Op] && n.Op != "Placeholder" && n.Op != "PlaceholderWithDefault" && !isCondPivot(n, byName) {
				outputs = append(outputs, n.Name)
			}
		}
		if len(outputs) == 0 {
			return nil, fmt.Errorf("every node is read by another, so the outputs are ambiguous; name them in %s: {\"frozen\": {\"outputs\": [...]}}", ModelOptionsFile)
		}
	}
	for _, in := range inputs {
		if err := add(sd.Inputs, "input", in); err != nil {
			return nil, err
		}
		if sd.Inputs[aliasOf(in)].Dtype == tfpb.DataType_DT_INVALID {
			return nil, fmt.Errorf("input %q: node has no dtype attribute", in)
		}
	}
	for _, out := range outputs {
		if err := add(sd.Outputs, "output", out); err != nil {
			return nil, err
		}
		if slices.Contains(inputs, out) {
			return nil, fmt.Errorf("%q is both an input and an output", out)
		}
	}
	return sd, nil
}

// isCondPivot says whether n is a pivot of a TF1 tf.cond (switch_t,
// switch_f: an Identity of Switch(pred, pred)): branch constants hang on it
// by control edges, and a branch without any leaves it unread; it is no
// model output.
func isCondPivot(n *tfpb.NodeDef, byName map[string]*tfpb.NodeDef) bool {
	if n.Op != "Identity" || len(n.Input) != 1 {
		return false
	}
	name := n.Input[0]
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	sw := byName[name]
	return sw != nil && (sw.Op == "Switch" || sw.Op == "RefSwitch") && len(sw.Input) == 2 && sw.Input[0] == sw.Input[1]
}

// aliasOf is a tensor name's alias: the name without ":0".
func aliasOf(tensorName string) string {
	return strings.TrimSuffix(tensorName, ":0")
}

// frozenOutputArgs lists the output names of the multi-output ops frozen
// TF1 graphs use, for the OpDefs FrozenMetaGraph supplies in place of a
// SavedModel's stripped_op_list (tfimport counts other ops' outputs itself).
var frozenOutputArgs = map[string][]string{
	"Switch":              {"output_false", "output_true"},
	"RefSwitch":           {"output_false", "output_true"},
	"Merge":               {"output", "value_index"},
	"RefMerge":            {"output", "value_index"},
	"TensorArrayV3":       {"handle", "flow"},
	"TensorArrayGradV3":   {"grad_handle", "flow_out"},
	"TensorArrayConcatV3": {"value", "lengths"},
	"GRUBlockCell":        {"r", "u", "c", "h"},
	"LSTMBlockCell":       {"i", "cs", "f", "o", "ci", "co", "h"},
	"BlockLSTM":           {"i", "cs", "f", "o", "ci", "co", "h"},
	"BlockLSTMV2":         {"i", "cs", "f", "o", "ci", "co", "h"},
	"FusedBatchNorm":      {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"},
	"FusedBatchNormV2":    {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"},
	"FusedBatchNormV3":    {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3"},
}

// frozenOpList returns OpDefs (outputs only) for the ops of gd listed in
// frozenOutputArgs.
func frozenOpList(gd *tfpb.GraphDef) *tfpb.OpList {
	ops := &tfpb.OpList{}
	seen := map[string]bool{}
	for _, n := range gd.Node {
		args, ok := frozenOutputArgs[n.Op]
		if !ok || seen[n.Op] {
			continue
		}
		seen[n.Op] = true
		def := &tfpb.OpDef{Name: n.Op}
		for _, a := range args {
			def.OutputArg = append(def.OutputArg, &tfpb.OpDef_ArgDef{Name: a})
		}
		ops.Op = append(ops.Op, def)
	}
	return ops
}
