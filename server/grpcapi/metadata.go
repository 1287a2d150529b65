package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// metadataSignatureDef is the one metadata field TF Serving supports.
const metadataSignatureDef = "signature_def"

// GetModelMetadata is TF Serving's PredictionService.GetModelMetadata
// (get_model_metadata_impl.cc): metadata["signature_def"] holds a
// SignatureDefMap of every signature of the version.
func (s *Server) GetModelMetadata(ctx context.Context, req *servingpb.GetModelMetadataRequest) (*servingpb.GetModelMetadataResponse, error) {
	spec, err := specOf(req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	if len(req.GetMetadataField()) == 0 {
		return nil, status.New(status.InvalidArgument, "GetModelMetadataRequest must specify at least one metadata_field")
	}
	for _, f := range req.GetMetadataField() {
		if f != metadataSignatureDef {
			return nil, status.New(status.InvalidArgument, "Metadata field "+f+" is not supported")
		}
	}
	h, err := s.opts.Models.Get(spec)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	m := &servingpb.SignatureDefMap{SignatureDef: map[string]*tfpb.SignatureDef{}}
	for name, sig := range h.Signatures() {
		m.SignatureDef[name] = SignatureDef(sig)
	}
	a, err := anypb.New(m)
	if err != nil {
		return nil, status.New(status.Internal, "pack SignatureDefMap: "+err.Error())
	}
	return &servingpb.GetModelMetadataResponse{
		ModelSpec: responseSpec(h, "", false),
		Metadata:  map[string]*anypb.Any{metadataSignatureDef: a},
	}, nil
}

// SignatureDef converts a servable signature to TF's SignatureDef proto.
func SignatureDef(sig *servable.Signature) *tfpb.SignatureDef {
	d := &tfpb.SignatureDef{MethodName: sig.MethodName}
	if len(sig.Inputs) > 0 {
		d.Inputs = make(map[string]*tfpb.TensorInfo, len(sig.Inputs))
		for k, ti := range sig.Inputs {
			d.Inputs[k] = tensorInfo(ti)
		}
	}
	if len(sig.Outputs) > 0 {
		d.Outputs = make(map[string]*tfpb.TensorInfo, len(sig.Outputs))
		for k, ti := range sig.Outputs {
			d.Outputs[k] = tensorInfo(ti)
		}
	}
	return d
}

// tensorInfo is the TensorInfo as the SavedModel stored it: without a
// tensor_shape when it had none (TF Serving's GetModelMetadata copies the
// stored SignatureDef), with unknown_rank set when the rank is unknown.
func tensorInfo(ti servable.TensorInfo) *tfpb.TensorInfo {
	var sh *tfpb.TensorShapeProto
	if !ti.NoShape {
		sh = &tfpb.TensorShapeProto{UnknownRank: ti.UnknownRank}
		if !ti.UnknownRank {
			for _, d := range ti.Dims {
				sh.Dim = append(sh.Dim, &tfpb.TensorShapeProto_Dim{Size: d.Size, Name: d.Name})
			}
		}
	}
	return &tfpb.TensorInfo{
		Encoding:    &tfpb.TensorInfo_Name{Name: ti.Name},
		Dtype:       tfpb.DataType(ti.DType),
		TensorShape: sh,
	}
}

// ServableSignature converts a SignatureDef (as GetModelMetadata returns it)
// back to a servable signature; clients use it to parse REST-style JSON
// against the signature (jsontensor.ParsePredictRequest).
func ServableSignature(name string, d *tfpb.SignatureDef) *servable.Signature {
	conv := func(m map[string]*tfpb.TensorInfo) map[string]servable.TensorInfo {
		if len(m) == 0 {
			return nil
		}
		out := make(map[string]servable.TensorInfo, len(m))
		for k, ti := range m {
			x := servable.TensorInfo{Name: ti.GetName(), DType: tensor.DType(ti.GetDtype()),
				UnknownRank: ti.GetTensorShape().GetUnknownRank()}
			if ti.GetTensorShape() == nil {
				// No shape stored: an unknown rank, not a scalar.
				x.UnknownRank, x.NoShape = true, true
			}
			if !x.UnknownRank {
				x.Dims = []servable.Dim{}
				for _, d := range ti.GetTensorShape().GetDim() {
					x.Dims = append(x.Dims, servable.Dim{Size: d.GetSize(), Name: d.GetName()})
				}
			}
			out[k] = x
		}
		return out
	}
	return &servable.Signature{Name: name, MethodName: d.GetMethodName(), Inputs: conv(d.GetInputs()), Outputs: conv(d.GetOutputs())}
}
