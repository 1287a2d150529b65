// Package modelwriter writes SavedModels from Go: a small TF1-style graph
// builder (placeholders, variables, ops, signatures) plus the checkpoint
// bundle holding the variables. tfserve's bundled demo models and many unit
// tests are written with it, so they do not depend on TensorFlow.
package modelwriter

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/loader/bundle"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// Builder accumulates a graph, its variables and its signatures.
type Builder struct {
	nodes     []*tfpb.NodeDef
	names     map[string]bool
	vars      map[string]*tensor.Tensor
	varOrder  []string
	sigs      map[string]*tfpb.SignatureDef
	err       error
	producer  int32
	assetsDir map[string][]byte
}

// New starts an empty model.
func New() *Builder {
	return &Builder{names: map[string]bool{}, vars: map[string]*tensor.Tensor{}, sigs: map[string]*tfpb.SignatureDef{}, producer: 1, assetsDir: map[string][]byte{}}
}

// Err returns the first error met while building.
func (b *Builder) Err() error { return b.err }

// Op adds a node and returns its name (output 0 is "name:0", or just name).
// Attribute values may be int, int64, float32, float64 (stored as float),
// bool, string, tensor.DType, tensor.Shape, *tensor.Tensor, []int64 or
// []tensor.DType.
func (b *Builder) Op(name, op string, inputs []string, attrs map[string]any) string {
	if b.err != nil {
		return name
	}
	if b.names[name] {
		b.err = fmt.Errorf("duplicate node %q", name)
		return name
	}
	b.names[name] = true
	nd := &tfpb.NodeDef{Name: name, Op: op, Input: inputs, Attr: map[string]*tfpb.AttrValue{}}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		av, err := attrValue(attrs[k])
		if err != nil {
			b.err = fmt.Errorf("node %s attr %s: %w", name, k, err)
			return name
		}
		nd.Attr[k] = av
	}
	b.nodes = append(b.nodes, nd)
	return name
}

// Placeholder adds a graph input.
func (b *Builder) Placeholder(name string, dt tensor.DType, shape tensor.Shape) string {
	return b.Op(name, "Placeholder", nil, map[string]any{"dtype": dt, "shape": shape})
}

// Const adds a constant.
func (b *Builder) Const(name string, t *tensor.Tensor) string {
	return b.Op(name, "Const", nil, map[string]any{"dtype": t.DType, "value": t})
}

// Variable adds a TF1 VariableV2 whose value is saved in the checkpoint
// under the variable's name, and returns the name of its "read" identity.
func (b *Builder) Variable(name string, value *tensor.Tensor) string {
	b.Op(name, "VariableV2", nil, map[string]any{"dtype": value.DType, "shape": value.Shape})
	b.vars[name] = value
	b.varOrder = append(b.varOrder, name)
	return b.Op(name+"/read", "Identity", []string{name}, map[string]any{"T": value.DType})
}

// Signature adds a SignatureDef. inputs and outputs map aliases to tensor
// names ("x:0"); their dtypes and shapes are taken from the given infos.
func (b *Builder) Signature(name, method string, inputs, outputs map[string]TensorSpec) {
	sd := &tfpb.SignatureDef{MethodName: method, Inputs: map[string]*tfpb.TensorInfo{}, Outputs: map[string]*tfpb.TensorInfo{}}
	for k, v := range inputs {
		sd.Inputs[k] = v.info()
	}
	for k, v := range outputs {
		sd.Outputs[k] = v.info()
	}
	b.sigs[name] = sd
}

// Asset adds a file under assets/.
func (b *Builder) Asset(name string, data []byte) { b.assetsDir[name] = data }

// TensorSpec names a graph tensor with its dtype and shape.
type TensorSpec struct {
	Name  string
	DType tensor.DType
	Shape tensor.Shape
}

func (s TensorSpec) info() *tfpb.TensorInfo {
	return &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: s.Name}, Dtype: tfpb.DataType(s.DType), TensorShape: tensorproto.ShapeProto(s.Shape)}
}

// Write writes dir/saved_model.pb and dir/variables/ (if the model has
// variables), with a restore op in the TF1 layout (save/Const,
// save/RestoreV2, save/Assign_N, save/restore_all).
func (b *Builder) Write(dir string) error {
	if b.err != nil {
		return b.err
	}
	// Restore subgraph.
	nodes := append([]*tfpb.NodeDef(nil), b.nodes...)
	var saver *tfpb.SaverDef
	if len(b.varOrder) > 0 {
		names := append([]string(nil), b.varOrder...)
		sort.Strings(names)
		dts := make([]tensor.DType, len(names))
		slices := make([]string, len(names))
		for i, n := range names {
			dts[i] = b.vars[n].DType
		}
		sub := New()
		for n := range b.names {
			sub.names[n] = true
		}
		sub.Const("save/Const", tensor.Scalar("model"))
		sub.Const("save/RestoreV2/tensor_names", tensor.FromSlice(tensor.Shape{len(names)}, names))
		sub.Const("save/RestoreV2/shape_and_slices", tensor.FromSlice(tensor.Shape{len(names)}, slices))
		sub.Op("save/RestoreV2", "RestoreV2", []string{"save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"}, map[string]any{"dtypes": dts})
		var assigns []string
		for i, n := range names {
			a := sub.Op(fmt.Sprintf("save/Assign_%d", i), "Assign", []string{n, fmt.Sprintf("save/RestoreV2:%d", i)}, map[string]any{"T": dts[i]})
			assigns = append(assigns, "^"+a)
		}
		sub.Op("save/restore_all", "NoOp", assigns, nil)
		if sub.err != nil {
			return sub.err
		}
		nodes = append(nodes, sub.nodes...)
		saver = &tfpb.SaverDef{FilenameTensorName: "save/Const:0", RestoreOpName: "save/restore_all", Version: tfpb.SaverDef_V2}
	}
	mg := b.metaGraph(nodes)
	mg.SaverDef = saver
	sm := &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{mg}}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(sm)
	if err != nil {
		return fmt.Errorf("marshal saved model: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), data, 0o644); err != nil {
		return err
	}
	if len(b.vars) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "variables"), 0o755); err != nil {
			return err
		}
		if err := bundle.WriteBundle(filepath.Join(dir, "variables", "variables"), b.vars); err != nil {
			return fmt.Errorf("write variables: %w", err)
		}
	}
	for name, data := range b.assetsDir {
		p := filepath.Join(dir, "assets", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// MetaGraph returns the graph and signatures as a "serve" MetaGraphDef, in
// memory, for a model without variables (its weights are constants): what
// a translator from another format hands to the loader.
func (b *Builder) MetaGraph() (*tfpb.MetaGraphDef, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.vars) > 0 {
		return nil, fmt.Errorf("modelwriter: a MetaGraph in memory holds no variables (%d declared); use constants", len(b.vars))
	}
	return b.metaGraph(append([]*tfpb.NodeDef(nil), b.nodes...)), nil
}

func (b *Builder) metaGraph(nodes []*tfpb.NodeDef) *tfpb.MetaGraphDef {
	return &tfpb.MetaGraphDef{
		MetaInfoDef:  &tfpb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "tfserve-modelwriter"},
		GraphDef:     &tfpb.GraphDef{Node: nodes, Versions: &tfpb.VersionDef{Producer: b.producer}},
		SignatureDef: b.sigs,
	}
}

func attrValue(v any) (*tfpb.AttrValue, error) {
	switch x := v.(type) {
	case int:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_I{I: int64(x)}}, nil
	case int64:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_I{I: x}}, nil
	case float32:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_F{F: x}}, nil
	case float64:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_F{F: float32(x)}}, nil
	case bool:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_B{B: x}}, nil
	case string:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_S{S: []byte(x)}}, nil
	case tensor.DType:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_Type{Type: tfpb.DataType(x)}}, nil
	case tensor.Shape:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_Shape{Shape: tensorproto.ShapeProto(x)}}, nil
	case *tensor.Tensor:
		p, err := tensorproto.EncodeTyped(x)
		if err != nil {
			return nil, err
		}
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_Tensor{Tensor: p}}, nil
	case []int64:
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{I: x}}}, nil
	case []string:
		l := &tfpb.AttrValue_ListValue{}
		for _, s := range x {
			l.S = append(l.S, []byte(s))
		}
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: l}}, nil
	case []tensor.DType:
		l := &tfpb.AttrValue_ListValue{}
		for _, d := range x {
			l.Type = append(l.Type, tfpb.DataType(d))
		}
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: l}}, nil
	case []tensor.Shape:
		l := &tfpb.AttrValue_ListValue{}
		for _, s := range x {
			l.Shape = append(l.Shape, tensorproto.ShapeProto(s))
		}
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: l}}, nil
	}
	return nil, fmt.Errorf("unsupported attr value %T", v)
}
