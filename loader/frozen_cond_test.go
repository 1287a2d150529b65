package loader_test

import (
	"context"
	"testing"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// condGraph is y = tf.cond(p, lambda: x * 2, lambda: x - 1) as TensorFlow 1
// freezes it: pivots switch_t/switch_f on Switch(p, p) (switch_f is unread:
// here the false branch's constant has no control edge from it), the
// captured x switched on pred_id = Identity(p), one Merge.
const condGraph = `
node { name: "p" op: "Placeholder" attr { key: "dtype" value { type: DT_BOOL } } attr { key: "shape" value { shape {} } } }
node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "shape" value { shape { dim { size: -1 } } } } }
node { name: "cond/Switch" op: "Switch" input: "p" input: "p" attr { key: "T" value { type: DT_BOOL } } }
node { name: "cond/switch_t" op: "Identity" input: "cond/Switch:1" attr { key: "T" value { type: DT_BOOL } } }
node { name: "cond/switch_f" op: "Identity" input: "cond/Switch" attr { key: "T" value { type: DT_BOOL } } }
node { name: "cond/pred_id" op: "Identity" input: "p" attr { key: "T" value { type: DT_BOOL } } }
node { name: "cond/mul/y" op: "Const" input: "^cond/switch_t" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 2 } } } }
node { name: "cond/mul/Switch" op: "Switch" input: "x" input: "cond/pred_id" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "cond/mul" op: "Mul" input: "cond/mul/Switch:1" input: "cond/mul/y" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "cond/sub/Switch" op: "Switch" input: "x" input: "cond/pred_id" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "cond/sub/y" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 1 } } } }
node { name: "cond/sub" op: "Sub" input: "cond/sub/Switch" input: "cond/sub/y" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "cond/Merge" op: "Merge" input: "cond/sub" input: "cond/mul" attr { key: "T" value { type: DT_FLOAT } } attr { key: "N" value { i: 2 } } }
node { name: "y" op: "Identity" input: "cond/Merge" attr { key: "T" value { type: DT_FLOAT } } }
`

// TestFrozenV1Cond: a frozen graph with a TF1 conditional loads (the
// conditional becomes an If), its signature is p, x → y (the unread pivot
// is no output), and both branches compute.
func TestFrozenV1Cond(t *testing.T) {
	dir := t.TempDir()
	writeGraph(t, dir, "frozen.pbtxt", condGraph)
	mg, ok, err := loader.FrozenMetaGraph(dir, limits.Load{})
	if err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	sd := mg.SignatureDef[loader.FrozenSignature]
	if len(sd.Inputs) != 2 || len(sd.Outputs) != 1 || sd.Outputs["y"] == nil {
		t.Fatalf("signature inputs %v outputs %v, want p, x → y", sd.Inputs, sd.Outputs)
	}
	m, err := loader.LoadMetaGraph(context.Background(), dir, mg, loader.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x := tensor.FromSlice(tensor.Shape{3}, []float32{1, -2, 3.5})
	for _, c := range []struct {
		p    bool
		want []float32
	}{{true, []float32{2, -4, 7}}, {false, []float32{0, -3, 2.5}}} {
		res, err := m.Run(context.Background(), "", map[string]*tensor.Tensor{"p": tensor.Scalar(c.p), "x": x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := res["y"].F32()
		for i := range c.want {
			if len(got) != len(c.want) || got[i] != c.want[i] {
				t.Fatalf("p=%v: y = %v, want %v", c.p, got, c.want)
			}
		}
	}
}
