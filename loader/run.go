package loader

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader/bundle"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// Cooperative reports that Run checks its context between steps, so it
// returns soon after the context ends (servable.Cooperative).
func (m *Model) Cooperative() bool { return true }

// Run evaluates a signature. Errors carry TF status codes.
func (m *Model) Run(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	if signature == "" {
		signature = "serving_default"
	}
	sp, ok := m.plans[signature]
	if !ok {
		_, exists := m.sigs[signature]
		return nil, graph.SignatureError(signature, exists)
	}
	var argBuf [8]*tensor.Tensor
	args, err := sp.Args(inputs, outputs, argBuf[:0])
	if err != nil {
		return nil, err
	}
	res, err := sp.Plan.Run(ctx, args)
	if err != nil {
		return nil, runError(err)
	}
	return sp.Results(res, outputs), nil
}

// runError maps an execution error to a TF status.
func runError(err error) error {
	var se *status.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(status.DeadlineExceeded, "Deadline exceeded: %v", err)
	case errors.Is(err, context.Canceled):
		return status.Errorf(status.Cancelled, "Cancelled: %v", err)
	}
	var ke *kernels.Error
	var ne *graph.NodeError
	if errors.As(err, &ke) || errors.As(err, &ne) {
		return status.New(status.InvalidArgument, err.Error())
	}
	return status.New(status.Internal, err.Error())
}

// restoreBuilder returns the RestoreV2 kernel bound to the model's
// checkpoint: each output is the tensor stored under the matching name.
// Each tensor is charged to budget (when non-nil) before it is read; the
// bundle reader has already checked its declared size against its dtype,
// shape and the bytes its data file holds.
func restoreBuilder(rd *bundle.Reader, budget *constBudget) kernels.Builder {
	return func(attrs kernels.Attrs, numInputs int) (kernels.Func, error) {
		dtypes, _ := attrs["dtypes"].([]tensor.DType)
		return func(ctx *kernels.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if rd == nil {
				return nil, fmt.Errorf("model has no variables/ checkpoint to restore from")
			}
			if len(in) < 3 {
				return nil, fmt.Errorf("RestoreV2 needs prefix, tensor_names and shape_and_slices")
			}
			names := in[1].Strings()
			slices := in[2].Strings()
			if len(names) != len(slices) {
				return nil, fmt.Errorf("RestoreV2: %d names but %d shape_and_slices", len(names), len(slices))
			}
			out := make([]*tensor.Tensor, len(names))
			for i, name := range names {
				if slices[i] != "" {
					return nil, fmt.Errorf("RestoreV2 %s: partitioned (sliced) variables are not supported", name)
				}
				if err := chargeEntry(rd, name, budget); err != nil {
					return nil, fmt.Errorf("restore %s: %w", name, err)
				}
				t, err := rd.Tensor(name)
				if err != nil {
					return nil, fmt.Errorf("restore %s: %w", name, err)
				}
				if i < len(dtypes) && dtypes[i] != t.DType {
					return nil, fmt.Errorf("restore %s: checkpoint holds %v, graph expects %v", name, t.DType, dtypes[i])
				}
				out[i] = t
			}
			return out, nil
		}, nil
	}
}

// chargeEntry charges the checkpoint tensor name to budget: its stored
// bytes plus, for strings, a 16-byte header per element.
func chargeEntry(rd *bundle.Reader, name string, budget *constBudget) error {
	e, ok := rd.Entry(name)
	if !ok || budget == nil {
		return nil // rd.Tensor reports the missing name
	}
	n := limits.Elements(int64Dims(e.Shape))
	bytes := e.Size
	if e.DType == tensor.String && n >= 0 {
		bytes += 16 * n
	}
	return budget.take(n, bytes)
}

func int64Dims(s tensor.Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// SignatureNames lists the runnable signatures, sorted.
func (m *Model) SignatureNames() []string {
	out := make([]string, 0, len(m.plans))
	for k := range m.plans {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
