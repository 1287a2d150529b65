package graph

import (
	"slices"

	"github.com/tfserve/tfserve/servable"
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

// Args checks a request against the signature, with TF Serving's
// messages and in RunPredict's order (package servable, predict.go, has
// the rules), and returns its inputs in plan argument order (appended to
// buf[:0]): the input aliases must be exactly the signature's, every input
// consistent, every requested output alias declared and named once, and
// every input of its feed's dtype. Errors are INVALID_ARGUMENT.
func (sp *SignaturePlan) Args(inputs map[string]*tensor.Tensor, outputs []string, buf []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := servable.InputAliasError(sp.Inputs, func(i int) string { return sp.Feeds[i].String() }, inputs); err != nil {
		return nil, err
	}
	args := buf[:0]
	for _, alias := range sp.Inputs {
		t := inputs[alias]
		if t == nil {
			return nil, status.New(status.InvalidArgument, "tensor parsing error: "+alias)
		}
		if err := t.Validate(); err != nil {
			return nil, status.Errorf(status.InvalidArgument, "input %s: %v", alias, err)
		}
		args = append(args, t)
	}
	if err := servable.OutputFilterError(sp.Outputs, outputs); err != nil {
		return nil, err
	}
	bad, badArg := -1, 0
	for i, t := range args {
		if t.DType != sp.DTypes[i] {
			// The session reports the first argument in its own order.
			if a := sp.argIndex(i); bad < 0 || a < badArg {
				bad, badArg = i, a
			}
		}
	}
	if bad >= 0 {
		return nil, servable.DTypeError(badArg, sp.DTypes[bad], args[bad].DType)
	}
	return args, nil
}

// argIndex is the session's argument index of input i: the rank of its
// feed's name among all feed names (servable.Signature.ArgIndex).
func (sp *SignaturePlan) argIndex(i int) int {
	name, n := sp.Feeds[i].String(), 0
	for j, f := range sp.Feeds {
		if s := f.String(); s < name || (s == name && j < i) {
			n++
		}
	}
	return n
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
