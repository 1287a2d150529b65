package warmup

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// LogFromJSON turns a REST request body into a warmup Log. api is
// "predict", "classify" or "regress"; model is the model name put in the
// request's model_spec (TF Serving ignores it during warmup); sigs returns a
// signature by name (predict bodies need the input dtypes, exactly as the
// REST API does).
func LogFromJSON(api, model string, body []byte, sigs func(name string) (*servable.Signature, error)) (Log, error) {
	switch api {
	case "predict":
		req, err := jsontensor.ParsePredictRequest(body, sigs)
		if err != nil {
			return Log{}, fmt.Errorf("predict request: %w", err)
		}
		pr := &servingpb.PredictRequest{
			ModelSpec: &servingpb.ModelSpec{Name: model, SignatureName: req.SignatureName},
			Inputs:    make(map[string]*tfpb.TensorProto, len(req.Inputs)),
		}
		for alias, t := range req.Inputs {
			p, err := tensorproto.Encode(t)
			if err != nil {
				return Log{}, fmt.Errorf("predict request input %s: %w", alias, err)
			}
			pr.Inputs[alias] = p
		}
		return Log{Predict: pr}, nil
	case "classify", "regress":
		req, err := jsontensor.ParseClassifyRegressRequest(body)
		if err != nil {
			return Log{}, fmt.Errorf("%s request: %w", api, err)
		}
		examples := make([]*tfpb.Example, len(req.Examples))
		for i, b := range req.Examples {
			examples[i] = &tfpb.Example{}
			if err := proto.Unmarshal(b, examples[i]); err != nil {
				return Log{}, fmt.Errorf("%s request example %d: %w", api, i, err)
			}
		}
		in := &servingpb.Input{}
		if req.Context != nil {
			c := &tfpb.Example{}
			if err := proto.Unmarshal(req.Context, c); err != nil {
				return Log{}, fmt.Errorf("%s request context: %w", api, err)
			}
			in.Kind = &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
				Examples: examples, Context: c}}
		} else {
			in.Kind = &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: examples}}
		}
		spec := &servingpb.ModelSpec{Name: model, SignatureName: req.SignatureName}
		if api == "classify" {
			return Log{Classify: &servingpb.ClassificationRequest{ModelSpec: spec, Input: in}}, nil
		}
		return Log{Regress: &servingpb.RegressionRequest{ModelSpec: spec, Input: in}}, nil
	}
	return Log{}, fmt.Errorf("unknown API %q: want predict, classify or regress", api)
}
