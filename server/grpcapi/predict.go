package grpcapi

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// specOf converts a request's ModelSpec (nil: "Missing ModelSpec").
func specOf(ms *servingpb.ModelSpec) (manager.Spec, error) {
	if ms == nil {
		return manager.Spec{}, status.New(status.InvalidArgument, "Missing ModelSpec")
	}
	spec := manager.Spec{Name: ms.GetName()}
	switch v := ms.GetVersionChoice().(type) {
	case *servingpb.ModelSpec_Version:
		if v.Version != nil {
			spec.Version, spec.HasVersion = v.Version.GetValue(), true
		}
	case *servingpb.ModelSpec_VersionLabel:
		spec.Label, spec.HasLabel = v.VersionLabel, true
	}
	return spec, nil
}

// signatureName is the request's signature, or "serving_default".
func signatureName(ms *servingpb.ModelSpec) string {
	if n := ms.GetSignatureName(); n != "" {
		return n
	}
	return servable.DefaultSignature
}

// responseSpec is TF Serving's MakeModelSpec: the model name, the version
// that served the request and, when given, the signature name.
func responseSpec(h manager.Handle, sigName string, withSig bool) *servingpb.ModelSpec {
	ms := &servingpb.ModelSpec{Name: h.Name(), VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(h.Version())}}
	if withSig {
		ms.SignatureName = sigName
	}
	return ms
}

// Predict is TF Serving's PredictionService.Predict (predict_util.cc
// RunPredict): the signature is looked up, the request's inputs checked
// against it, decoded, run, and the outputs (all, or those in
// output_filter) encoded.
func (s *Server) Predict(ctx context.Context, req *servingpb.PredictRequest) (*servingpb.PredictResponse, error) {
	spec, err := specOf(req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	h, err := s.opts.Models.Get(spec)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	sigName := signatureName(req.GetModelSpec())
	sig := h.Signatures()[sigName]
	if sig == nil {
		return nil, status.New(status.FailedPrecondition, "Serving signature key \""+sigName+"\" not found.")
	}
	if s.opts.EnableSignatureMethodNameCheck && sig.MethodName != servable.MethodPredict &&
		sig.MethodName != servable.MethodClassify && sig.MethodName != servable.MethodRegress {
		return nil, status.New(status.Internal, "Expected prediction signature method_name to be one of {"+
			servable.MethodPredict+", "+servable.MethodClassify+", "+servable.MethodRegress+"}. Was: "+sig.MethodName)
	}
	inputs, err := decodeInputs(sig, req.GetInputs())
	if err != nil {
		return nil, err
	}
	filter, err := outputFilter(sig, req.GetOutputFilter())
	if err != nil {
		return nil, err
	}
	outputs, err := h.Run(ctx, sigName, inputs, filter)
	if err != nil {
		return nil, err
	}
	want := filter
	if len(want) == 0 {
		want = slices.Collect(maps.Keys(sig.Outputs))
	}
	resp := &servingpb.PredictResponse{
		ModelSpec: responseSpec(h, sigName, true),
		Outputs:   make(map[string]*tfpb.TensorProto, len(want)),
	}
	for _, alias := range want {
		t := outputs[alias]
		if t == nil {
			return nil, status.New(status.Unknown, "Predict internal error")
		}
		p, err := s.encode(t)
		if err != nil {
			return nil, status.New(status.Internal, "output "+alias+": "+err.Error())
		}
		resp.Outputs[alias] = p
	}
	return resp, nil
}

// encode is Tensor::AsProtoField, or AsProtoTensorContent with
// TensorContent.
func (s *Server) encode(t *tensor.Tensor) (*tfpb.TensorProto, error) {
	if s.opts.TensorContent {
		return tensorproto.Encode(t)
	}
	if t.DType == tensor.Complex64 || t.DType == tensor.Complex128 {
		return tensorproto.Encode(t)
	}
	return tensorproto.EncodeTyped(t)
}

// decodeInputs is VerifyRequestInputsSize plus PreProcessPrediction's input
// half: every alias must belong to the signature, every tensor must parse
// and have the signature's dtype.
func decodeInputs(sig *servable.Signature, in map[string]*tfpb.TensorProto) (map[string]*tensor.Tensor, error) {
	if len(in) != len(sig.Inputs) {
		req := slices.Sorted(maps.Keys(in))
		want := slices.Sorted(maps.Keys(sig.Inputs))
		var extra, missing []string
		for _, k := range req {
			if _, ok := sig.Inputs[k]; !ok {
				extra = append(extra, k)
			}
		}
		for _, k := range want {
			if _, ok := in[k]; !ok {
				missing = append(missing, k)
			}
		}
		return nil, status.New(status.InvalidArgument, "input size does not match signature: "+
			strconv.Itoa(len(in))+"!="+strconv.Itoa(len(sig.Inputs))+" len({"+strings.Join(req, ",")+
			"}) != len({"+strings.Join(want, ",")+"}). Sent extra: {"+strings.Join(extra, ",")+
			"}. Missing but required: {"+strings.Join(missing, ",")+"}.")
	}
	aliases := slices.Sorted(maps.Keys(in))
	out := make(map[string]*tensor.Tensor, len(in))
	for i, alias := range aliases {
		info, ok := sig.Inputs[alias]
		if !ok {
			return nil, status.New(status.InvalidArgument, "input tensor alias not found in signature: "+alias+
				". Inputs expected to be in the set {"+strings.Join(slices.Sorted(maps.Keys(sig.Inputs)), ",")+"}.")
		}
		p := in[alias]
		if p == nil {
			p = &tfpb.TensorProto{}
		}
		t, err := tensorproto.Decode(p)
		if err != nil {
			return nil, status.New(status.InvalidArgument, "tensor parsing error: "+alias)
		}
		if info.DType != tensor.Invalid && t.DType != info.DType {
			return nil, status.New(status.InvalidArgument, "Expects arg["+strconv.Itoa(i)+"] to be "+
				typeName(info.DType)+" but "+typeName(t.DType)+" is provided")
		}
		out[alias] = t
	}
	return out, nil
}

// typeName is TF's DataTypeString: "float", "int64", "string", ...
func typeName(d tensor.DType) string {
	return strings.ToLower(strings.TrimPrefix(d.String(), "DT_"))
}

// outputFilter is PreProcessPrediction's output half.
func outputFilter(sig *servable.Signature, filter []string) ([]string, error) {
	if len(filter) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(filter))
	for _, alias := range filter {
		if _, ok := sig.Outputs[alias]; !ok {
			return nil, status.New(status.InvalidArgument, "output tensor alias not found in signature: "+alias+
				" Outputs expected to be in the set {"+strings.Join(slices.Sorted(maps.Keys(sig.Outputs)), ",")+"}.")
		}
		if seen[alias] {
			return nil, status.New(status.InvalidArgument, "duplicate output tensor alias: "+alias)
		}
		seen[alias] = true
	}
	return filter, nil
}
