package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// addGraph is a frozen graph: z = Identity(x) + c, with an init NoOp.
const addGraph = `
node { name: "x" op: "Placeholder"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "shape" value { shape { dim { size: -1 } dim { size: 2 } } } } }
node { name: "y" op: "Identity" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "c" op: "Const"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } float_val: 10 float_val: 20 } } } }
node { name: "z" op: "Add" input: "y" input: "c" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "init" op: "NoOp" }
`

// badLoopGraph has a loop whose Merge has no NextIteration.
const badLoopGraph = `
node { name: "zero" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape {} int_val: 0 } } } }
node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_INT32 } } }
node { name: "w/Enter" op: "Enter" input: "zero"
  attr { key: "T" value { type: DT_INT32 } } attr { key: "frame_name" value { s: "w" } } }
node { name: "w/Enter_1" op: "Enter" input: "x"
  attr { key: "T" value { type: DT_INT32 } } attr { key: "frame_name" value { s: "w" } } }
node { name: "w/Merge" op: "Merge" input: "w/Enter" input: "w/Enter_1"
  attr { key: "T" value { type: DT_INT32 } } attr { key: "N" value { i: 2 } } }
node { name: "w/Enter_2" op: "Enter" input: "x"
  attr { key: "T" value { type: DT_INT32 } } attr { key: "frame_name" value { s: "w" } } attr { key: "is_constant" value { b: true } } }
node { name: "w/Less" op: "Less" input: "w/Merge" input: "w/Enter_2" attr { key: "T" value { type: DT_INT32 } } }
node { name: "w/LoopCond" op: "LoopCond" input: "w/Less" }
node { name: "w/Switch" op: "Switch" input: "w/Merge" input: "w/LoopCond" attr { key: "T" value { type: DT_INT32 } } }
node { name: "w/Exit" op: "Exit" input: "w/Switch" attr { key: "T" value { type: DT_INT32 } } }
`

func writeGraph(t *testing.T, dir, name, text string) {
	t.Helper()
	data := []byte(text)
	if filepath.Ext(name) == ".pb" {
		gd := &tfpb.GraphDef{}
		if err := prototext.Unmarshal(data, gd); err != nil {
			t.Fatal(err)
		}
		var err error
		if data, err = proto.Marshal(gd); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeOptions(t *testing.T, dir, json string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "assets.extra"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, loader.ModelOptionsFile), []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFrozenMetaGraphSignatureAndRun(t *testing.T) {
	for _, name := range []string{"frozen.pb", "frozen.pbtxt"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeGraph(t, dir, name, addGraph)
			mg, ok, err := loader.FrozenMetaGraph(dir, limits.Load{})
			if err != nil || !ok {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			sd := mg.SignatureDef[loader.FrozenSignature]
			if len(sd.Inputs) != 1 || sd.Inputs["x"].GetName() != "x:0" || sd.Inputs["x"].Dtype != tfpb.DataType_DT_FLOAT ||
				len(sd.Inputs["x"].TensorShape.GetDim()) != 2 {
				t.Errorf("inputs %v", sd.Inputs)
			}
			if len(sd.Outputs) != 1 || sd.Outputs["z"].GetName() != "z:0" {
				t.Errorf("outputs %v (want z alone: y is read, init has no outputs)", sd.Outputs)
			}
			m, err := loader.LoadMetaGraph(context.Background(), dir, mg, loader.Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Run(context.Background(), "", map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1, 2}, []float32{1, 2})}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := res["z"].F32(); len(got) != 2 || got[0] != 11 || got[1] != 22 {
				t.Errorf("z = %v, want [11 22]", got)
			}
		})
	}
}

func TestFrozenMetaGraphOptions(t *testing.T) {
	dir := t.TempDir()
	writeGraph(t, dir, "a.pb", addGraph)
	writeGraph(t, dir, "b.pb", addGraph)
	if _, _, err := loader.FrozenMetaGraph(dir, limits.Load{}); err == nil || !strings.Contains(err.Error(), "a.pb, b.pb") || !strings.Contains(err.Error(), loader.ModelOptionsFile) {
		t.Fatalf("two graphs: got %v, want an error naming both and %s", err, loader.ModelOptionsFile)
	}
	writeOptions(t, dir, `{"frozen": {"graph": "b.pb", "inputs": ["x:0"], "outputs": ["y", "z:0"]}}`)
	mg, ok, err := loader.FrozenMetaGraph(dir, limits.Load{})
	if err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	sd := mg.SignatureDef[loader.FrozenSignature]
	if sd.Inputs["x"] == nil || sd.Outputs["y"] == nil || sd.Outputs["z"] == nil || len(sd.Outputs) != 2 {
		t.Errorf("signature %v", sd)
	}
	for _, bad := range []string{
		`{"frozen": {"graph": "../b.pb"}}`,
		`{"frozen": {"graph": "missing.pb"}}`,
		`{"frozen": {"graph": "b.pb", "outputs": ["nope"]}}`,
		`{"frozen": {"graph": "b.pb", "inputs": ["x"], "outputs": ["x"]}}`,
		`{"frozen": {"graph": "b.pb", "inputs": ["init"]}}`,
		`{"frozen": {"graf": "b.pb"}}`,
	} {
		writeOptions(t, dir, bad)
		if _, _, err := loader.FrozenMetaGraph(dir, limits.Load{}); err == nil {
			t.Errorf("%s: no error", bad)
		} else {
			t.Logf("%s: %v", bad, err)
		}
	}
}

func TestFrozenMetaGraphNotFrozen(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := loader.FrozenMetaGraph(dir, limits.Load{}); ok || err != nil {
		t.Errorf("empty dir: ok %v, err %v", ok, err)
	}
	writeGraph(t, dir, "frozen.pb", addGraph)
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := loader.FrozenMetaGraph(dir, limits.Load{}); ok || err != nil {
		t.Errorf("SavedModel dir: ok %v, err %v", ok, err)
	}
	if _, ok, err := loader.FrozenMetaGraph(filepath.Join(dir, "nope"), limits.Load{}); ok || err != nil {
		t.Errorf("missing dir: ok %v, err %v", ok, err)
	}
}

func TestFrozenMetaGraphHostile(t *testing.T) {
	t.Run("nodes over the limit", func(t *testing.T) {
		dir := t.TempDir()
		writeGraph(t, dir, "g.pb", addGraph)
		_, _, err := loader.FrozenMetaGraph(dir, limits.Load{MaxNodes: 3})
		if err == nil || !strings.Contains(err.Error(), "model_max_nodes") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("file over the limit", func(t *testing.T) {
		dir := t.TempDir()
		f, err := os.Create(filepath.Join(dir, "g.pb"))
		if err != nil {
			t.Fatal(err)
		}
		// Sparse: refused by its size before a byte is read.
		if err := f.Truncate(80 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, _, err = loader.FrozenMetaGraph(dir, limits.Load{MaxConstBytes: 1 << 10})
		if err == nil || !strings.Contains(err.Error(), "model_max_const_bytes") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "g.pb"), []byte("\xff\xff\xff not a graph"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loader.FrozenMetaGraph(dir, limits.Load{}); err == nil {
			t.Fatal("garbage parsed")
		}
	})
	t.Run("text in a .pb file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "g.pb"), []byte(addGraph), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := loader.FrozenMetaGraph(dir, limits.Load{}); err != nil || !ok {
			t.Fatalf("ok %v, err %v", ok, err)
		}
	})
	t.Run("constants over the limit", func(t *testing.T) {
		dir := t.TempDir()
		writeGraph(t, dir, "g.pb", addGraph)
		mg, _, err := loader.FrozenMetaGraph(dir, limits.Load{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := loader.LoadMetaGraph(context.Background(), dir, mg, loader.Options{Logger: quiet, Limits: limits.Load{MaxConstBytes: 4}}); err == nil {
			t.Fatal("8 bytes of constants loaded within 4")
		}
	})
	t.Run("loop that cannot be functionalized", func(t *testing.T) {
		dir := t.TempDir()
		writeGraph(t, dir, "g.pbtxt", badLoopGraph)
		mg, ok, err := loader.FrozenMetaGraph(dir, limits.Load{})
		if err != nil || !ok {
			t.Fatalf("ok %v, err %v", ok, err)
		}
		_, err = loader.LoadMetaGraph(context.Background(), dir, mg, loader.Options{Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "loop Merge w/Merge reads w/Enter_1") {
			t.Fatalf("got %v, want an error naming w/Merge", err)
		}
		t.Log(err)
	})
}

// FuzzFrozenGraph loads arbitrary bytes as a frozen GraphDef (signature
// discovery, v1 control-flow functionalization, TensorArray rewriting,
// folding, compilation) under small budgets, and runs the signature when
// it takes no inputs: nothing may panic or hang. Seeds are the graphs above
// and, when present, the dl4j fixtures.
func FuzzFrozenGraph(f *testing.F) {
	for _, text := range []string{addGraph, badLoopGraph} {
		gd := &tfpb.GraphDef{}
		if err := prototext.Unmarshal([]byte(text), gd); err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(gd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if fx := fixtures.Optional(f); fx != "" {
		for _, rel := range dl4jGraphs {
			if b, err := os.ReadFile(filepath.Join(fx, "gru_frozen_graphs/dl4j", rel, "frozen_model.pb")); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "g.pb"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		mg, ok, err := loader.FrozenMetaGraph(d, fuzzLimits)
		if err != nil || !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m, err := loader.LoadMetaGraph(ctx, d, mg, loader.Options{Logger: quiet, Limits: fuzzLimits})
		if err != nil {
			return
		}
		defer m.Close()
		if len(mg.SignatureDef[loader.FrozenSignature].Inputs) == 0 {
			m.Run(ctx, loader.FrozenSignature, nil, nil)
		}
	})
}
