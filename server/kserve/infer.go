package kserve

import (
	"context"
	"strconv"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
)

// inputData is one input's contents in one of the request forms (JSON
// data, binary data, typed contents, raw contents); decode checks them
// against the declared datatype and shape (n elements, already charged to
// the budget) and makes the tensor.
type inputData interface {
	decode(name string, dt tensor.DType, shape []int64, n int64, budget *limits.Budget) (*tensor.Tensor, error)
}

// input is one input as the request declares it.
type input struct {
	name, datatype string
	shape          []int64
	data           inputData
}

// request is an infer request of either protocol, its contents not yet
// decoded.
type request struct {
	signature string   // "" means serving_default
	inputs    []input  // in request order
	outputs   []string // requested outputs; nil means every output
}

// result is a model run's outputs, in response order.
type result struct {
	model   string
	version int64
	names   []string
	tensors []*tensor.Tensor
}

// infer resolves the model version and signature, decodes the inputs
// against the signature (names, datatypes, shapes, the request budget),
// makes TF Serving's predict checks and runs the model.
func (s *Server) infer(ctx context.Context, sp manager.Spec, req *request, budget *limits.Budget, served *int64) (*result, error) {
	h, err := s.opts.Models.Get(sp)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	*served = h.Version()
	sigName := req.signature
	if sigName == "" {
		sigName = servable.DefaultSignature
	}
	sig, err := servable.PredictSignature(h.Signatures(), sigName, s.opts.EnableSignatureMethodNameCheck)
	if err != nil {
		return nil, err
	}
	inputs := make(map[string]*tensor.Tensor, len(req.inputs))
	for _, in := range req.inputs {
		ti, ok := sig.Inputs[in.name]
		if !ok {
			return nil, status.New(status.InvalidArgument, "unexpected inference input '"+in.name+"' for model '"+
				h.Name()+"' (signature "+strconv.Quote(sigName)+" has inputs "+quoteList(sortedKeys(sig.Inputs))+")")
		}
		if _, dup := inputs[in.name]; dup {
			return nil, status.New(status.InvalidArgument, "input '"+in.name+"' is given more than once")
		}
		dt, err := checkDatatype(in.name, in.datatype, ti.DType)
		if err != nil {
			return nil, err
		}
		n, err := elementCount(in.name, in.shape, budget)
		if err != nil {
			return nil, err
		}
		if err := charge(in.name, dt, n, budget); err != nil {
			return nil, err
		}
		t, err := in.data.decode(in.name, dt, in.shape, n, budget)
		if err != nil {
			return nil, err
		}
		inputs[in.name] = t
	}
	if err := servable.CheckInputs(sig, inputs); err != nil {
		return nil, err
	}
	// More outputs than the signature has must repeat or miss one, which
	// the first len+1 show: the check (quadratic in its input) sees no more.
	if err := sig.CheckOutputFilter(req.outputs[:min(len(req.outputs), len(sig.Outputs)+1)]); err != nil {
		return nil, err
	}
	outputs, err := h.Run(ctx, sigName, inputs, req.outputs)
	if err != nil {
		return nil, err
	}
	names := req.outputs
	if len(names) == 0 {
		names = sortedKeys(sig.Outputs)
	}
	res := &result{model: h.Name(), version: h.Version(), names: names, tensors: make([]*tensor.Tensor, len(names))}
	for i, n := range names {
		t := outputs[n]
		if t == nil {
			return nil, status.New(status.Internal, "model '"+h.Name()+"' did not produce output '"+n+"'")
		}
		if DatatypeOf(t.DType) == invalidDatatype {
			return nil, status.New(status.Unimplemented, "output '"+n+"' has type "+t.DType.Name()+
				", which the Open Inference Protocol cannot represent")
		}
		res.tensors[i] = t
	}
	return res, nil
}

func quoteList(names []string) string {
	b := []byte{'['}
	for i, n := range names {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '\'')
		b = append(b, n...)
		b = append(b, '\'')
		if i == 9 && len(names) > 10 {
			b = append(b, ", … ("...)
			b = strconv.AppendInt(b, int64(len(names)-10), 10)
			b = append(b, " more)"...)
			break
		}
	}
	return string(append(b, ']'))
}
