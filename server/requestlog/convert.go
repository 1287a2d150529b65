package requestlog

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/examplesig"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// The REST API's requests, logged as the protos TF Serving's REST handler
// (http_rest_api_handler.cc) builds from them and hands to the same
// predictor, classifier and regressor as gRPC.

// RequestSpec is the model_spec of a REST request:
// FillModelSpecWithNameVersionAndLabel (name, and the version or label of
// the URL) plus the signature the request ran.
func RequestSpec(spec manager.Spec, signature string) *servingpb.ModelSpec {
	ms := &servingpb.ModelSpec{Name: spec.Name, SignatureName: signature}
	switch {
	case spec.HasVersion:
		ms.VersionChoice = &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(spec.Version)}
	case spec.HasLabel:
		ms.VersionChoice = &servingpb.ModelSpec_VersionLabel{VersionLabel: spec.Label}
	}
	return ms
}

// ResponseSpec is MakeModelSpec: the model, the version that served the
// request, and the signature.
func ResponseSpec(name string, version int64, signature string) *servingpb.ModelSpec {
	return &servingpb.ModelSpec{Name: name, VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(version)},
		SignatureName: signature}
}

// LogPredict logs a REST predict: its inputs as FillPredictRequestFromJson
// makes them (the typed value fields), its outputs as the gRPC API
// encodes them (typed fields, or tensor_content under TensorContent and
// for complex types).
func (ml *ModelLog) LogPredict(reqSpec, respSpec *servingpb.ModelSpec, inputs, outputs map[string]*tensor.Tensor) {
	if ml == nil {
		return
	}
	req := &servingpb.PredictRequest{ModelSpec: reqSpec, Inputs: make(map[string]*tfpb.TensorProto, len(inputs))}
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		p, err := encodeTensor(inputs[k], false)
		if err != nil {
			ml.encodeFailed()
			return
		}
		req.Inputs[k] = p
	}
	resp := &servingpb.PredictResponse{ModelSpec: respSpec, Outputs: make(map[string]*tfpb.TensorProto, len(outputs))}
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		p, err := encodeTensor(outputs[k], ml.l.opts.TensorContent)
		if err != nil {
			ml.encodeFailed()
			return
		}
		resp.Outputs[k] = p
	}
	ml.Log(req, resp)
}

// encodeTensor is the gRPC API's output encoding: Tensor::AsProtoField,
// or AsProtoTensorContent with tensorContent and for complex types.
func encodeTensor(t *tensor.Tensor, tensorContent bool) (*tfpb.TensorProto, error) {
	if t == nil {
		return nil, status.New(status.Internal, "nil tensor")
	}
	if !tensorContent && t.DType != tensor.Complex64 && t.DType != tensor.Complex128 {
		if p, err := tensorproto.EncodeTyped(t); err == nil {
			return p, nil
		}
	}
	return tensorproto.Encode(t)
}

// ExampleInput is the Input of a REST classify or regress request: its
// serialized "examples", and its "context" (nil when it has none), as
// FillClassifyRegressRequestFromJson fills an ExampleList or an
// ExampleListWithContext.
func ExampleInput(examples [][]byte, context []byte) (*servingpb.Input, error) {
	list := make([]*tfpb.Example, len(examples))
	for i, b := range examples {
		list[i] = &tfpb.Example{}
		if err := proto.Unmarshal(b, list[i]); err != nil {
			return nil, err
		}
	}
	if context == nil {
		return &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: list}}}, nil
	}
	ctx := &tfpb.Example{}
	if err := proto.Unmarshal(context, ctx); err != nil {
		return nil, err
	}
	return &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{
		ExampleListWithContext: &servingpb.ExampleListWithContext{Examples: list, Context: ctx}}}, nil
}

// LogClassify logs a REST classify with its result as
// PostProcessClassificationResult makes it.
func (ml *ModelLog) LogClassify(reqSpec, respSpec *servingpb.ModelSpec, examples [][]byte, context []byte, cls *examplesig.Classifications) {
	if ml == nil {
		return
	}
	in, err := ExampleInput(examples, context)
	if err != nil || cls == nil {
		ml.encodeFailed()
		return
	}
	n := len(examples)
	res := &servingpb.ClassificationResult{Classifications: make([]*servingpb.Classifications, n)}
	for i := range n {
		row := make([]*servingpb.Class, cls.NumClasses)
		for c := range row {
			cl := &servingpb.Class{}
			if cls.Labels != nil {
				cl.Label = cls.Labels[i*cls.NumClasses+c]
			}
			if cls.Scores != nil {
				cl.Score = cls.Scores[i*cls.NumClasses+c]
			}
			row[c] = cl
		}
		res.Classifications[i] = &servingpb.Classifications{Classes: row}
	}
	ml.Log(&servingpb.ClassificationRequest{ModelSpec: reqSpec, Input: in},
		&servingpb.ClassificationResponse{ModelSpec: respSpec, Result: res})
}

// LogRegress logs a REST regress with its result as
// PostProcessRegressionResult makes it.
func (ml *ModelLog) LogRegress(reqSpec, respSpec *servingpb.ModelSpec, examples [][]byte, context []byte, values []float32) {
	if ml == nil {
		return
	}
	in, err := ExampleInput(examples, context)
	if err != nil {
		ml.encodeFailed()
		return
	}
	res := &servingpb.RegressionResult{Regressions: make([]*servingpb.Regression, len(values))}
	for i, v := range values {
		res.Regressions[i] = &servingpb.Regression{Value: v}
	}
	ml.Log(&servingpb.RegressionRequest{ModelSpec: reqSpec, Input: in},
		&servingpb.RegressionResponse{ModelSpec: respSpec, Result: res})
}

func (ml *ModelLog) encodeFailed() {
	ml.l.m.enqueued(ml.model, status.Internal, DropEncode)
}
