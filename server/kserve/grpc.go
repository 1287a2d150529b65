package kserve

import (
	"context"
	"strconv"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// The gRPC service. package grpcapi's interceptor runs before every
// method: admission control for ModelInfer, the --grpc_max_threads worker
// slot (in ctx, for batching), panics, metrics and the access log, and the
// conversion of status errors to gRPC statuses (the codes are equal).

// ServerLive answers true while the server serves.
func (s *Server) ServerLive(context.Context, *kservepb.ServerLiveRequest) (*kservepb.ServerLiveResponse, error) {
	return &kservepb.ServerLiveResponse{Live: true}, nil
}

// ServerReady answers whether every configured model has an AVAILABLE
// version (as /readyz).
func (s *Server) ServerReady(context.Context, *kservepb.ServerReadyRequest) (*kservepb.ServerReadyResponse, error) {
	ready, _ := s.opts.Models.Ready()
	return &kservepb.ServerReadyResponse{Ready: ready}, nil
}

// ModelReady answers whether the model (version) can serve.
func (s *Server) ModelReady(_ context.Context, req *kservepb.ModelReadyRequest) (*kservepb.ModelReadyResponse, error) {
	ready, err := s.modelReady(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &kservepb.ModelReadyResponse{Ready: ready}, nil
}

// ServerMetadata answers the server's name, version and extensions.
func (s *Server) ServerMetadata(context.Context, *kservepb.ServerMetadataRequest) (*kservepb.ServerMetadataResponse, error) {
	return &kservepb.ServerMetadataResponse{Name: s.opts.Name, Version: s.opts.Version, Extensions: Extensions}, nil
}

// ModelMetadata describes a model's serving_default signature.
func (s *Server) ModelMetadata(_ context.Context, req *kservepb.ModelMetadataRequest) (*kservepb.ModelMetadataResponse, error) {
	md, err := s.modelMetadata(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	conv := func(ts []tensorMeta) []*kservepb.ModelMetadataResponse_TensorMetadata {
		out := make([]*kservepb.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = &kservepb.ModelMetadataResponse_TensorMetadata{Name: t.name, Datatype: t.datatype, Shape: t.shape}
		}
		return out
	}
	return &kservepb.ModelMetadataResponse{Name: md.name, Versions: md.versions, Platform: Platform,
		Inputs: conv(md.inputs), Outputs: conv(md.outputs)}, nil
}

// ModelInfer runs a model. Outputs come back in raw_output_contents when
// the request sent raw_input_contents (as Triton always answers) or has
// an FP16/BF16 output; in typed contents otherwise.
func (s *Server) ModelInfer(ctx context.Context, req *kservepb.ModelInferRequest) (*kservepb.ModelInferResponse, error) {
	sp, err := spec(req.GetModelName(), req.GetModelVersion())
	if err != nil {
		return nil, err
	}
	r := &request{}
	if p := req.GetParameters()["signature_name"]; p != nil {
		sig, ok := p.GetParameterChoice().(*kservepb.InferParameter_StringParam)
		if !ok {
			return nil, badField("signature_name", "a string parameter")
		}
		r.signature = sig.StringParam
	}
	raw := req.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(req.GetInputs()) {
		return nil, status.New(status.InvalidArgument, "raw_input_contents has "+strconv.Itoa(len(raw))+
			" entries for "+strconv.Itoa(len(req.GetInputs()))+" inputs; want one per input, in order")
	}
	r.inputs = make([]input, len(req.GetInputs()))
	for i, in := range req.GetInputs() {
		x := input{name: in.GetName(), datatype: in.GetDatatype(), shape: in.GetShape()}
		if _, ok := in.GetParameters()["shared_memory_region"]; ok {
			return nil, status.New(status.Unimplemented, "input '"+x.name+"': the shared memory extensions are not supported")
		}
		switch {
		case len(raw) > 0:
			if in.GetContents() != nil {
				return nil, status.New(status.InvalidArgument, "input '"+x.name+
					"': contents must not be set when raw_input_contents is used")
			}
			x.data = rawData(raw[i])
		default:
			x.data = typedData{in.GetContents()}
		}
		r.inputs[i] = x
	}
	for _, o := range req.GetOutputs() {
		for k := range o.GetParameters() {
			if k == "classification" || k == "shared_memory_region" {
				return nil, status.New(status.Unimplemented, "output '"+o.GetName()+"': parameter '"+k+"' is not supported")
			}
		}
		r.outputs = append(r.outputs, o.GetName())
	}
	var served int64
	res, err := s.infer(ctx, sp, r, limits.NewBudget(s.limits), &served)
	if err != nil {
		return nil, err
	}
	resp := &kservepb.ModelInferResponse{ModelName: res.model, ModelVersion: strconv.FormatInt(res.version, 10),
		Id: req.GetId(), Outputs: make([]*kservepb.ModelInferResponse_InferOutputTensor, len(res.names))}
	useRaw := len(raw) > 0
	total := int64(0)
	for _, t := range res.tensors {
		if t.DType == tensor.Half || t.DType == tensor.BFloat16 {
			useRaw = true
		}
		sz, _ := rawSize(t)
		total += sz
	}
	if total > s.limits.MaxResponseBytes {
		return nil, limits.Exceeded("response", total, s.limits.MaxResponseBytes, "response_max_bytes")
	}
	if useRaw {
		resp.RawOutputContents = make([][]byte, len(res.names))
	}
	for i, name := range res.names {
		t := res.tensors[i]
		o := &kservepb.ModelInferResponse_InferOutputTensor{Name: name, Datatype: DatatypeOf(t.DType), Shape: int64Shape(t.Shape)}
		if useRaw {
			b, err := appendRaw(nil, t)
			if err != nil {
				return nil, err
			}
			resp.RawOutputContents[i] = b
		} else {
			o.Contents = typedContents(t)
		}
		resp.Outputs[i] = o
	}
	return resp, nil
}

// typedData is an input's typed contents (InferTensorContents).
type typedData struct{ c *kservepb.InferTensorContents }

func (d typedData) decode(name string, dt tensor.DType, shape []int64, n int64, budget *limits.Budget) (*tensor.Tensor, error) {
	c := d.c
	count := func(have int, field string) error {
		if int64(have) != n {
			return status.New(status.InvalidArgument, "input '"+name+"': shape "+shapeString(shape)+" has "+
				strconv.FormatInt(n, 10)+" elements, but contents."+field+" holds "+strconv.Itoa(have))
		}
		return nil
	}
	sh := tensorShape(shape)
	switch dt {
	case tensor.Bool:
		if err := count(len(c.GetBoolContents()), "bool_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetBoolContents()), nil
	case tensor.Float32:
		if err := count(len(c.GetFp32Contents()), "fp32_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetFp32Contents()), nil
	case tensor.Float64:
		if err := count(len(c.GetFp64Contents()), "fp64_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetFp64Contents()), nil
	case tensor.Int64:
		if err := count(len(c.GetInt64Contents()), "int64_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetInt64Contents()), nil
	case tensor.Uint64:
		if err := count(len(c.GetUint64Contents()), "uint64_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetUint64Contents()), nil
	case tensor.Int32:
		if err := count(len(c.GetIntContents()), "int_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetIntContents()), nil
	case tensor.Uint32:
		if err := count(len(c.GetUintContents()), "uint_contents"); err != nil {
			return nil, err
		}
		return tensor.FromSlice(sh, c.GetUintContents()), nil
	case tensor.Int8, tensor.Int16:
		v := c.GetIntContents()
		if err := count(len(v), "int_contents"); err != nil {
			return nil, err
		}
		out := tensor.New(dt, sh)
		for i, x := range v {
			if !setInt(out.Data, i, int64(x)) {
				return nil, status.New(status.InvalidArgument, "input '"+name+"': element "+strconv.Itoa(i)+
					" ("+strconv.Itoa(int(x))+") does not fit "+DatatypeOf(dt))
			}
		}
		return out, nil
	case tensor.Uint8, tensor.Uint16:
		v := c.GetUintContents()
		if err := count(len(v), "uint_contents"); err != nil {
			return nil, err
		}
		out := tensor.New(dt, sh)
		for i, x := range v {
			if !setInt(out.Data, i, int64(x)) {
				return nil, status.New(status.InvalidArgument, "input '"+name+"': element "+strconv.Itoa(i)+
					" ("+strconv.FormatUint(uint64(x), 10)+") does not fit "+DatatypeOf(dt))
			}
		}
		return out, nil
	case tensor.String:
		v := c.GetBytesContents()
		if err := count(len(v), "bytes_contents"); err != nil {
			return nil, err
		}
		strs := make([]string, len(v))
		for i, b := range v {
			if err := budget.Take(0, int64(len(b))); err != nil {
				return nil, status.New(status.CodeOf(err), "input '"+name+"': "+err.Error())
			}
			strs[i] = string(b)
		}
		return tensor.FromSlice(sh, strs), nil
	}
	return nil, status.New(status.InvalidArgument, "input '"+name+"': "+DatatypeOf(dt)+
		" has no typed contents field; send it in raw_input_contents")
}

// typedContents is t in InferTensorContents' typed field for its type
// (FP16 and BF16 have none: the caller sends raw contents).
func typedContents(t *tensor.Tensor) *kservepb.InferTensorContents {
	c := &kservepb.InferTensorContents{}
	switch v := t.Data.(type) {
	case []bool:
		c.BoolContents = v
	case []float32:
		c.Fp32Contents = v
	case []float64:
		c.Fp64Contents = v
	case []int64:
		c.Int64Contents = v
	case []uint64:
		c.Uint64Contents = v
	case []int32:
		c.IntContents = v
	case []uint32:
		c.UintContents = v
	case []int8:
		c.IntContents = widen[int8, int32](v)
	case []int16:
		c.IntContents = widen[int16, int32](v)
	case []uint8:
		c.UintContents = widen[uint8, uint32](v)
	case []uint16:
		c.UintContents = widen[uint16, uint32](v)
	case []string:
		c.BytesContents = make([][]byte, len(v))
		for i, s := range v {
			c.BytesContents[i] = []byte(s)
		}
	}
	return c
}

func widen[S int8 | int16 | uint8 | uint16, D int32 | uint32](v []S) []D {
	out := make([]D, len(v))
	for i, x := range v {
		out[i] = D(x)
	}
	return out
}
