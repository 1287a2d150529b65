package graph

import (
	"testing"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// TestArgsMessages: SignaturePlan.Args answers with TF Serving's messages
// (servable/predict.go) in RunPredict's order: the aliases
// (predict_util.cc VerifyRequestInputsSize, saved_model/util.cc
// GetInputValues), the output filter (PreProcessPrediction), then the
// session's dtype check (FunctionCallFrame::SetArgs), whose argument index
// is the rank of the feed's name (DirectSession sorts the feeds).
func TestArgsMessages(t *testing.T) {
	sp := &SignaturePlan{
		Inputs:  []string{"a", "b"},
		Feeds:   []Port{{Node: &Node{Name: "zeta"}}, {Node: &Node{Name: "alpha"}}},
		DTypes:  []tensor.DType{tensor.Float32, tensor.Int64},
		Outputs: []string{"y", "z"},
	}
	f := tensor.FromSlice(tensor.Shape{1}, []float32{1})
	i := tensor.FromSlice(tensor.Shape{1}, []int64{1})
	d := tensor.FromSlice(tensor.Shape{1}, []float64{1})
	cases := []struct {
		name    string
		in      map[string]*tensor.Tensor
		outputs []string
		msg     string
	}{
		{"extra", map[string]*tensor.Tensor{"a": f, "b": i, "c": f}, nil,
			"input size does not match signature: 3!=2 len({a,b,c}) != len({a,b}). Sent extra: {c}. Missing but required: {}."},
		{"renamed", map[string]*tensor.Tensor{"a": f, "c": i}, nil,
			"Signature input alias: b(feed name: alpha:0) not found in request and no default value provided. " +
				"Inputs expected to be in the request {a,c}, or default input alias set: "},
		{"filter before dtype", map[string]*tensor.Tensor{"a": d, "b": i}, []string{"q"},
			"output tensor alias not found in signature: q Outputs expected to be in the set {y,z}."},
		{"duplicate filter", map[string]*tensor.Tensor{"a": f, "b": i}, []string{"z", "z"}, "duplicate output tensor alias: z"},
		{"dtype of a", map[string]*tensor.Tensor{"a": d, "b": i}, nil, "Expects arg[1] to be float but double is provided"},
		{"dtype of both: the lowest argument", map[string]*tensor.Tensor{"a": d, "b": d}, nil, "Expects arg[0] to be int64 but double is provided"},
	}
	for _, c := range cases {
		_, err := sp.Args(c.in, c.outputs, nil)
		if err == nil || status.CodeOf(err) != status.InvalidArgument || err.Error() != c.msg {
			t.Errorf("%s: %v %v\n want INVALID_ARGUMENT %q", c.name, status.CodeOf(err), err, c.msg)
		}
	}
	args, err := sp.Args(map[string]*tensor.Tensor{"a": f, "b": i}, []string{"z"}, nil)
	if err != nil || len(args) != 2 || args[0] != f || args[1] != i {
		t.Fatalf("valid request: %v %v", args, err)
	}
}
