// Package hostilemodels writes small SavedModels built to exhaust a model
// server at load time: a function library whose calls double at every level
// (exponential inlining), a Const whose TensorProto declares a huge shape but
// stores one value, a Fill that constant folding would expand to a huge
// tensor, and an init op that builds a huge tensor while the model loads. The loader's tests and the end-to-end hostile battery use the
// same files. Every model has a "serving_default" signature with a float
// input "x" ([-1]) and a float output "y".
package hostilemodels

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// ExponentialCalls writes a model whose function f<i> calls f<i-1> twice
// (f0 is an Identity), and whose graph calls f<levels>: the file is a few
// KB, but inlining every call would make 2^levels nodes.
func ExponentialCalls(dir string, levels int) error {
	if levels < 1 {
		return fmt.Errorf("hostilemodels: levels must be >= 1, got %d", levels)
	}
	lib := &tfpb.FunctionDefLibrary{}
	lib.Function = append(lib.Function, identityFunc("f0"))
	for i := 1; i <= levels; i++ {
		callee := fmt.Sprintf("f%d", i-1)
		lib.Function = append(lib.Function, &tfpb.FunctionDef{
			Signature: funcSig(fmt.Sprintf("f%d", i)),
			NodeDef: []*tfpb.NodeDef{
				call("a", callee, "x"),
				call("b", callee, "a:output:0"),
			},
			Ret: map[string]string{"y": "b:output:0"},
		})
	}
	nodes := []*tfpb.NodeDef{
		placeholder("x"),
		call("call", fmt.Sprintf("f%d", levels), "x"),
		identity("y", "call"),
	}
	return write(dir, &tfpb.GraphDef{Node: nodes, Library: lib})
}

// DeepCalls writes a model whose functions form one chain of calls depth
// deep (f<i> calls f<i-1> once): linear in size, but a recursive inliner
// would recurse depth times.
func DeepCalls(dir string, depth int) error {
	if depth < 1 {
		return fmt.Errorf("hostilemodels: depth must be >= 1, got %d", depth)
	}
	lib := &tfpb.FunctionDefLibrary{}
	lib.Function = append(lib.Function, identityFunc("f0"))
	for i := 1; i <= depth; i++ {
		lib.Function = append(lib.Function, &tfpb.FunctionDef{
			Signature: funcSig(fmt.Sprintf("f%d", i)),
			NodeDef:   []*tfpb.NodeDef{call("a", fmt.Sprintf("f%d", i-1), "x")},
			Ret:       map[string]string{"y": "a:output:0"},
		})
	}
	nodes := []*tfpb.NodeDef{
		placeholder("x"),
		call("call", fmt.Sprintf("f%d", depth), "x"),
		identity("y", "call"),
	}
	return write(dir, &tfpb.GraphDef{Node: nodes, Library: lib})
}

// RecursiveCall writes a model whose function calls itself.
func RecursiveCall(dir string) error {
	lib := &tfpb.FunctionDefLibrary{Function: []*tfpb.FunctionDef{{
		Signature: funcSig("f"),
		NodeDef:   []*tfpb.NodeDef{call("a", "f", "x")},
		Ret:       map[string]string{"y": "a:output:0"},
	}}}
	nodes := []*tfpb.NodeDef{placeholder("x"), call("call", "f", "x"), identity("y", "call")}
	return write(dir, &tfpb.GraphDef{Node: nodes, Library: lib})
}

// PaddedConst writes a model with a float Const of shape [elements] that
// stores a single value (TensorFlow pads the rest with it): decoding it
// allocates 4*elements bytes. y = x + Sum(c).
func PaddedConst(dir string, elements int64) error {
	c := &tfpb.TensorProto{
		Dtype:       tfpb.DataType_DT_FLOAT,
		TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: elements}}},
		FloatVal:    []float32{1},
	}
	nodes := []*tfpb.NodeDef{
		placeholder("x"),
		{Name: "c", Op: "Const", Attr: map[string]*tfpb.AttrValue{
			"dtype": typeAttr(tfpb.DataType_DT_FLOAT), "value": {Value: &tfpb.AttrValue_Tensor{Tensor: c}}}},
		constNode("axis", tensor.FromSlice(tensor.Shape{1}, []int32{0})),
		{Name: "sum", Op: "Sum", Input: []string{"c", "axis"}, Attr: map[string]*tfpb.AttrValue{
			"T": typeAttr(tfpb.DataType_DT_FLOAT), "Tidx": typeAttr(tfpb.DataType_DT_INT32)}},
		{Name: "y", Op: "AddV2", Input: []string{"x", "sum"}, Attr: map[string]*tfpb.AttrValue{"T": typeAttr(tfpb.DataType_DT_FLOAT)}},
	}
	return write(dir, &tfpb.GraphDef{Node: nodes})
}

// FoldedFill writes a model computing y = x + Sum(Fill([elements], 1)):
// the Fill depends only on constants, so a constant folder would allocate
// 4*elements bytes at load time.
func FoldedFill(dir string, elements int64) error {
	nodes := []*tfpb.NodeDef{
		placeholder("x"),
		constNode("dims", tensor.FromSlice(tensor.Shape{1}, []int64{elements})),
		constNode("one", tensor.Scalar(float32(1))),
		{Name: "fill", Op: "Fill", Input: []string{"dims", "one"}, Attr: map[string]*tfpb.AttrValue{
			"T": typeAttr(tfpb.DataType_DT_FLOAT), "index_type": typeAttr(tfpb.DataType_DT_INT64)}},
		constNode("axis", tensor.FromSlice(tensor.Shape{1}, []int32{0})),
		{Name: "sum", Op: "Sum", Input: []string{"fill", "axis"}, Attr: map[string]*tfpb.AttrValue{
			"T": typeAttr(tfpb.DataType_DT_FLOAT), "Tidx": typeAttr(tfpb.DataType_DT_INT32)}},
		{Name: "y", Op: "AddV2", Input: []string{"x", "sum"}, Attr: map[string]*tfpb.AttrValue{"T": typeAttr(tfpb.DataType_DT_FLOAT)}},
	}
	return write(dir, &tfpb.GraphDef{Node: nodes})
}

// HugeInitOp writes a TF1 model whose legacy_init_op runs
// Fill([elements], 1): the load runs it once, so it would allocate
// 4*elements bytes at load time. y = x.
func HugeInitOp(dir string, elements int64) error {
	nodes := []*tfpb.NodeDef{
		placeholder("x"),
		identity("y", "x"),
		constNode("dims", tensor.FromSlice(tensor.Shape{1}, []int64{elements})),
		constNode("one", tensor.Scalar(float32(1))),
		{Name: "fill", Op: "Fill", Input: []string{"dims", "one"}, Attr: map[string]*tfpb.AttrValue{
			"T": typeAttr(tfpb.DataType_DT_FLOAT), "index_type": typeAttr(tfpb.DataType_DT_INT64)}},
		{Name: "init", Op: "NoOp", Input: []string{"^fill"}},
	}
	return writeWith(dir, &tfpb.GraphDef{Node: nodes}, func(mg *tfpb.MetaGraphDef) {
		mg.CollectionDef = map[string]*tfpb.CollectionDef{"legacy_init_op": {
			Kind: &tfpb.CollectionDef_NodeList_{NodeList: &tfpb.CollectionDef_NodeList{Value: []string{"init"}}}}}
	})
}

func funcSig(name string) *tfpb.OpDef {
	return &tfpb.OpDef{
		Name:      name,
		InputArg:  []*tfpb.OpDef_ArgDef{{Name: "x", Type: tfpb.DataType_DT_FLOAT}},
		OutputArg: []*tfpb.OpDef_ArgDef{{Name: "y", Type: tfpb.DataType_DT_FLOAT}},
	}
}

func identityFunc(name string) *tfpb.FunctionDef {
	return &tfpb.FunctionDef{
		Signature: funcSig(name),
		NodeDef:   []*tfpb.NodeDef{identity("id", "x")},
		Ret:       map[string]string{"y": "id:output:0"},
	}
}

func call(name, fn, input string) *tfpb.NodeDef {
	floats := &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{Type: []tfpb.DataType{tfpb.DataType_DT_FLOAT}}}}
	return &tfpb.NodeDef{Name: name, Op: "StatefulPartitionedCall", Input: []string{input}, Attr: map[string]*tfpb.AttrValue{
		"f":    {Value: &tfpb.AttrValue_Func{Func: &tfpb.NameAttrList{Name: fn}}},
		"Tin":  floats,
		"Tout": floats,
	}}
}

func identity(name, input string) *tfpb.NodeDef {
	return &tfpb.NodeDef{Name: name, Op: "Identity", Input: []string{input}, Attr: map[string]*tfpb.AttrValue{"T": typeAttr(tfpb.DataType_DT_FLOAT)}}
}

func placeholder(name string) *tfpb.NodeDef {
	return &tfpb.NodeDef{Name: name, Op: "Placeholder", Attr: map[string]*tfpb.AttrValue{
		"dtype": typeAttr(tfpb.DataType_DT_FLOAT),
		"shape": {Value: &tfpb.AttrValue_Shape{Shape: tensorproto.ShapeProto(tensor.Shape{-1})}},
	}}
}

func constNode(name string, t *tensor.Tensor) *tfpb.NodeDef {
	p, err := tensorproto.EncodeTyped(t)
	if err != nil {
		panic(err) // only called with the package's own small tensors
	}
	return &tfpb.NodeDef{Name: name, Op: "Const", Attr: map[string]*tfpb.AttrValue{
		"dtype": typeAttr(tfpb.DataType(t.DType)), "value": {Value: &tfpb.AttrValue_Tensor{Tensor: p}}}}
}

func typeAttr(dt tfpb.DataType) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Type{Type: dt}}
}

// write writes dir/saved_model.pb with one "serve" MetaGraph over gd and a
// serving_default signature x:0 -> y:0.
func write(dir string, gd *tfpb.GraphDef) error { return writeWith(dir, gd, nil) }

// writeWith is write with edit applied to the MetaGraph before it is
// written.
func writeWith(dir string, gd *tfpb.GraphDef, edit func(*tfpb.MetaGraphDef)) error {
	gd.Versions = &tfpb.VersionDef{Producer: 1}
	info := func(name string) *tfpb.TensorInfo {
		return &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: name}, Dtype: tfpb.DataType_DT_FLOAT,
			TensorShape: tensorproto.ShapeProto(tensor.Shape{-1})}
	}
	mg := &tfpb.MetaGraphDef{
		MetaInfoDef: &tfpb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "tfserve-hostilemodels"},
		GraphDef:    gd,
		SignatureDef: map[string]*tfpb.SignatureDef{"serving_default": {
			MethodName: "tensorflow/serving/predict",
			Inputs:     map[string]*tfpb.TensorInfo{"x": info("x:0")},
			Outputs:    map[string]*tfpb.TensorInfo{"y": info("y:0")},
		}},
	}
	if edit != nil {
		edit(mg)
	}
	sm := &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{mg}}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(sm)
	if err != nil {
		return fmt.Errorf("hostilemodels: marshal: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "saved_model.pb"), data, 0o644)
}
