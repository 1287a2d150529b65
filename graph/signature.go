package graph

import (
	"slices"
	"strings"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// SignaturePlan describes how a signature runs: the graph ports fed by each
// input alias and fetched for each output alias, and the plan that maps
// one to the other. Every engine runs a signature through one: ours runs
// Plan, the gorgonia engine lowers it.
type SignaturePlan struct {
	Inputs  []string // input aliases, in plan argument order
	Feeds   []Port
	DTypes  []tensor.DType // input dtypes, in Inputs order
	Outputs []string       // output aliases, in plan result order
	Fetches []Port
	Plan    *Plan
	// InferredShapes are the static output shapes found by shape inference
	// from the signature's input shapes (-1: unknown dimension, nil:
	// unknown), in Outputs order; nil when the plan was not optimized.
	InferredShapes []tensor.Shape
}

// SignatureError is the error for a signature an engine cannot run:
// FAILED_PRECONDITION when the model declares it (exists) but it cannot
// run, INVALID_ARGUMENT with TF Serving's message when it is unknown.
func SignatureError(name string, exists bool) error {
	if exists {
		return status.Errorf(status.FailedPrecondition, "signature %q cannot be run", name)
	}
	return status.Errorf(status.InvalidArgument, "Serving signature name: \"%s\" not found in signature def", name)
}

// Args checks a request against the signature, as TF Serving's session
// run does, and returns its inputs in plan argument order (appended to
// buf[:0]): every input alias must be declared and given, with the
// declared dtype and a consistent tensor; every requested output alias
// must be declared. Errors are INVALID_ARGUMENT with TF's messages.
func (sp *SignaturePlan) Args(inputs map[string]*tensor.Tensor, outputs []string, buf []*tensor.Tensor) ([]*tensor.Tensor, error) {
	for alias := range inputs {
		if !slices.Contains(sp.Inputs, alias) {
			return nil, status.Errorf(status.InvalidArgument, "input tensor alias not found in signature: %s. Inputs expected to be in the set {%s}.", alias, strings.Join(sp.Inputs, ","))
		}
	}
	args := buf[:0]
	for i, alias := range sp.Inputs {
		t, ok := inputs[alias]
		if !ok {
			return nil, status.Errorf(status.InvalidArgument, "input tensor alias not found in request: %s. Inputs expected to be in the set {%s}.", alias, strings.Join(sp.Inputs, ","))
		}
		if t.DType != sp.DTypes[i] {
			return nil, status.Errorf(status.InvalidArgument, "Expects arg[%d] to be %s but %s is provided", i, sp.DTypes[i].Name(), t.DType.Name())
		}
		if err := t.Validate(); err != nil {
			return nil, status.Errorf(status.InvalidArgument, "input %s: %v", alias, err)
		}
		args = append(args, t)
	}
	for _, o := range outputs {
		if !slices.Contains(sp.Outputs, o) {
			return nil, status.Errorf(status.InvalidArgument, "output tensor alias not found in signature: %s Outputs expected to be in the set {%s}.", o, strings.Join(sp.Outputs, ","))
		}
	}
	return args, nil
}

// Results names a run's results by output alias, keeping those in outputs
// (all when outputs is empty).
func (sp *SignaturePlan) Results(res []*tensor.Tensor, outputs []string) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(res))
	for i, alias := range sp.Outputs {
		if len(outputs) > 0 && !slices.Contains(outputs, alias) {
			continue
		}
		out[alias] = res[i]
	}
	return out
}
