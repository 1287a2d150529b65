package grpcapi

import (
	"context"
	"errors"
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
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
	sig, err := servable.PredictSignature(h.Signatures(), sigName, s.opts.EnableSignatureMethodNameCheck)
	if err != nil {
		return nil, err
	}
	// PreProcessPrediction's order: the input aliases, each input's
	// parsing, the output filter; then the session's dtype check. Inputs
	// are decoded only after all of them (decodeInputs), so a request
	// refused for its dtype or filter allocates nothing it declares; the
	// one difference: content that does not parse (TF's FromProto, before
	// the filter) is found last.
	in := req.GetInputs()
	if err := servable.CheckInputs(sig, in); err != nil {
		return nil, err
	}
	if err := checkParsable(in); err != nil {
		return nil, err
	}
	filter := req.GetOutputFilter()
	if err := sig.CheckOutputFilter(filter); err != nil {
		return nil, err
	}
	inputs, err := decodeInputs(sig, in, limits.NewBudget(s.opts.Limits))
	if err != nil {
		return nil, err
	}
	if len(filter) == 0 {
		filter = nil
	}
	outputs, err := h.Run(ctx, sigName, inputs, filter)
	if err != nil {
		return nil, err
	}
	want := filter
	if len(want) == 0 {
		want = slices.Collect(maps.Keys(sig.Outputs))
	}
	for _, alias := range want {
		if outputs[alias] == nil {
			return nil, status.New(status.Unknown, "Predict internal error")
		}
	}
	if err := s.checkResponseSize(outputs, want); err != nil {
		return nil, err
	}
	resp := &servingpb.PredictResponse{
		ModelSpec: responseSpec(h, sigName, true),
		Outputs:   make(map[string]*tfpb.TensorProto, len(want)),
	}
	for _, alias := range want {
		p, err := s.encode(outputs[alias])
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
	if s.typed(t) {
		return tensorproto.EncodeTyped(t)
	}
	return tensorproto.Encode(t)
}

// typed reports whether encode uses the typed repeated fields for t.
func (s *Server) typed(t *tensor.Tensor) bool {
	return !s.opts.TensorContent && t.DType != tensor.Complex64 && t.DType != tensor.Complex128
}

// checkResponseSize refuses, before anything is encoded, a response whose
// outputs (those named in want) would encode to more than
// Limits.MaxResponseBytes.
func (s *Server) checkResponseSize(outputs map[string]*tensor.Tensor, want []string) error {
	limit := s.opts.Limits.WithDefaults().MaxResponseBytes
	var n int64
	for _, alias := range want {
		// A map entry: key and value, each with a tag and a length.
		n += 12 + int64(len(alias)) + tensorproto.EncodedSize(outputs[alias], s.typed(outputs[alias]))
	}
	return checkResponseBytes(n, limit)
}

// checkResponseBytes is RESOURCE_EXHAUSTED when a response of n bytes is
// over limit, naming the flag that sets it.
func checkResponseBytes(n, limit int64) error {
	if n <= limit {
		return nil
	}
	return status.Errorf(status.ResourceExhausted,
		"response needs %d bytes, over the limit of %d (--response_max_bytes)", n, limit)
}

// decodeInputs checks a request's inputs against sig and decodes them:
// the aliases (servable.CheckInputs), each tensor's dtype, parsable
// (checkParsable) and the signature's (servable.DTypeError, for the
// lowest argument index as the session reports it), all before anything
// is decoded; then each tensor is decoded within budget (rank, elements
// and bytes of all inputs together), so a small proto declaring a huge
// shape is refused before it is allocated.
func decodeInputs(sig *servable.Signature, in map[string]*tfpb.TensorProto, budget *limits.Budget) (map[string]*tensor.Tensor, error) {
	if err := servable.CheckInputs(sig, in); err != nil {
		return nil, err
	}
	if err := checkParsable(in); err != nil {
		return nil, err
	}
	bad, badArg := "", -1
	for alias, p := range in {
		want := sig.Inputs[alias].DType
		if got := tensor.DType(p.GetDtype()); want != tensor.Invalid && got != want {
			if a := sig.ArgIndex(alias); badArg < 0 || a < badArg {
				bad, badArg = alias, a
			}
		}
	}
	if badArg >= 0 {
		return nil, servable.DTypeError(badArg, sig.Inputs[bad].DType, tensor.DType(in[bad].GetDtype()))
	}
	aliases := slices.Sorted(maps.Keys(in))
	out := make(map[string]*tensor.Tensor, len(in))
	for _, alias := range aliases {
		p := in[alias]
		if err := budget.Rank(len(p.GetTensorShape().GetDim())); err != nil {
			return nil, inputError(alias, err)
		}
		t, err := tensorproto.DecodeLimited(p, budget.Take)
		if err != nil {
			return nil, inputError(alias, err)
		}
		out[alias] = t
	}
	return out, nil
}

// checkParsable is GetInputValues's "tensor parsing error" for a tensor
// whose dtype TensorFlow cannot parse (Tensor::FromProto), inputs taken in
// sorted alias order. Content that does not parse is found when it is
// decoded.
func checkParsable(in map[string]*tfpb.TensorProto) error {
	var (
		bad   string
		found bool
	)
	for alias, p := range in {
		if !tensorproto.Decodable(p.GetDtype()) && (!found || alias < bad) {
			bad, found = alias, true
		}
	}
	if found {
		return status.New(status.InvalidArgument, "tensor parsing error: "+bad)
	}
	return nil
}

// inputError names the input in a budget's error (which names the limit
// and its flag); any other decode error is TF Serving's
// "tensor parsing error".
func inputError(alias string, err error) error {
	var se *status.Error
	if errors.As(err, &se) {
		return status.New(se.Code, "input "+alias+": "+se.Msg)
	}
	return status.New(status.InvalidArgument, "tensor parsing error: "+alias)
}
