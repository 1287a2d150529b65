package grpcapi

import (
	"context"
	"strconv"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/examplesig"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
)

// serializedExamples is input_util.cc's InputToSerializedExampleTensor
// within the request budget: the examples merged with their context are
// charged (examples × (context + example)) before they are built.
func (s *Server) serializedExamples(in *servingpb.Input) ([]string, error) {
	return examplesig.Serialize(in, limits.NewBudget(s.opts.Limits).Take)
}

// exampleSignature is GetClassificationSignatureDef /
// GetRegressionSignatureDef plus PreProcessClassification /
// PreProcessRegression.
func (s *Server) exampleSignature(h manager.Handle, name, method string) (*servable.Signature, error) {
	return examplesig.Lookup(h.Signatures(), name, method, s.opts.EnableSignatureMethodNameCheck)
}

// runExamples runs the examples through a classify or regress signature's
// single input and returns the outputs named in want that it declares.
func runExamples(ctx context.Context, h manager.Handle, sigName string, sig *servable.Signature, examples []string, want []string) (map[string]*tensor.Tensor, error) {
	in := map[string]*tensor.Tensor{examplesig.Inputs: tensor.FromSlice(tensor.Shape{len(examples)}, examples)}
	var fetch []string
	for _, o := range want {
		if _, ok := sig.Outputs[o]; ok {
			fetch = append(fetch, o)
		}
	}
	outputs, err := h.Run(ctx, sigName, in, fetch)
	if err != nil {
		return nil, err
	}
	present := 0
	for _, o := range fetch {
		if outputs[o] != nil {
			present++
		}
	}
	if present != len(fetch) {
		return nil, status.New(status.InvalidArgument,
			"Expected "+strconv.Itoa(len(fetch))+" output tensor(s).  Got: "+strconv.Itoa(present))
	}
	return outputs, nil
}

// Classify is TF Serving's PredictionService.Classify (classifier.cc).
func (s *Server) Classify(ctx context.Context, req *servingpb.ClassificationRequest) (*servingpb.ClassificationResponse, error) {
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
	sig, err := s.exampleSignature(h, sigName, servable.MethodClassify)
	if err != nil {
		return nil, err
	}
	examples, err := s.serializedExamples(req.GetInput())
	if err != nil {
		return nil, err
	}
	outputs, err := runExamples(ctx, h, sigName, sig, examples, []string{examplesig.Classes, examplesig.Scores})
	if err != nil {
		return nil, err
	}
	res, err := s.classificationResult(outputs, len(examples))
	if err != nil {
		return nil, err
	}
	return &servingpb.ClassificationResponse{ModelSpec: responseSpec(h, sigName, true), Result: res}, nil
}

// classificationResult is PostProcessClassificationResult, refused with
// RESOURCE_EXHAUSTED before it is built when it would encode to more than
// Limits.MaxResponseBytes.
func (s *Server) classificationResult(outputs map[string]*tensor.Tensor, n int) (*servingpb.ClassificationResult, error) {
	cls, err := examplesig.ClassifyResult(outputs, n)
	if err != nil {
		return nil, err
	}
	numClasses, labels, vals := cls.NumClasses, cls.Labels, cls.Scores
	// Each class: a tag and length, a label, a 5-byte score; each row a
	// tag and length.
	size := int64(n) * (6 + 8*int64(numClasses))
	for _, l := range labels {
		size += int64(len(l))
	}
	if err := checkResponseBytes(size, s.opts.Limits.WithDefaults().MaxResponseBytes); err != nil {
		return nil, err
	}
	res := &servingpb.ClassificationResult{Classifications: make([]*servingpb.Classifications, n)}
	for i := range n {
		row := make([]*servingpb.Class, numClasses)
		for c := range row {
			cl := &servingpb.Class{}
			if labels != nil {
				cl.Label = labels[i*numClasses+c]
			}
			if vals != nil {
				cl.Score = vals[i*numClasses+c]
			}
			row[c] = cl
		}
		res.Classifications[i] = &servingpb.Classifications{Classes: row}
	}
	return res, nil
}

// Regress is TF Serving's PredictionService.Regress (regressor.cc).
func (s *Server) Regress(ctx context.Context, req *servingpb.RegressionRequest) (*servingpb.RegressionResponse, error) {
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
	sig, err := s.exampleSignature(h, sigName, servable.MethodRegress)
	if err != nil {
		return nil, err
	}
	examples, err := s.serializedExamples(req.GetInput())
	if err != nil {
		return nil, err
	}
	outputs, err := runExamples(ctx, h, sigName, sig, examples, []string{examplesig.Outputs})
	if err != nil {
		return nil, err
	}
	res, err := regressionResult(outputs, sig, len(examples))
	if err != nil {
		return nil, err
	}
	return &servingpb.RegressionResponse{ModelSpec: responseSpec(h, sigName, true), Result: res}, nil
}

// regressionResult is PostProcessRegressionResult.
func regressionResult(outputs map[string]*tensor.Tensor, sig *servable.Signature, n int) (*servingpb.RegressionResult, error) {
	vals, err := examplesig.RegressResult(outputs, sig, n)
	if err != nil {
		return nil, err
	}
	res := &servingpb.RegressionResult{Regressions: make([]*servingpb.Regression, n)}
	for i, v := range vals {
		res.Regressions[i] = &servingpb.Regression{Value: v}
	}
	return res, nil
}

// MultiInference is TF Serving's PredictionService.MultiInference
// (multi_inference.cc): several classify/regress signatures of one model
// version on one shared input. Each task runs its own signature; the tasks
// must share the input tensor, as in TF Serving.
func (s *Server) MultiInference(ctx context.Context, req *servingpb.MultiInferenceRequest) (*servingpb.MultiInferenceResponse, error) {
	tasks := req.GetTasks()
	if len(tasks) == 0 {
		return nil, status.New(status.InvalidArgument, "Expected at least one task")
	}
	name := tasks[0].GetModelSpec().GetName()
	sigNames := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		if t.GetModelSpec().GetName() != name {
			return nil, status.New(status.InvalidArgument,
				"All ModelSpecs in a MultiInferenceRequest must access the same model name.")
		}
		sn := signatureName(t.GetModelSpec())
		if sigNames[sn] {
			return nil, status.New(status.InvalidArgument, "Duplicate evaluation of signature: "+sn)
		}
		sigNames[sn] = true
	}
	spec, err := specOf(tasks[0].GetModelSpec())
	if err != nil {
		return nil, err
	}
	h, err := s.opts.Models.Get(spec)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	sigs := make([]*servable.Signature, len(tasks))
	inputName := ""
	for i, t := range tasks {
		sn := signatureName(t.GetModelSpec())
		sig := h.Signatures()[sn]
		if sig == nil {
			return nil, status.New(status.InvalidArgument, "Requested signature not found in model graph: "+sn)
		}
		var err error
		switch t.GetMethodName() {
		case servable.MethodClassify:
			err = examplesig.CheckClassify(sig)
		case servable.MethodRegress:
			err = examplesig.CheckRegress(sig)
		default:
			return nil, status.New(status.Unimplemented, "Unsupported signature method_name: "+t.GetMethodName())
		}
		if err != nil {
			return nil, err
		}
		in := sig.Inputs[examplesig.Inputs].Name
		if i == 0 {
			inputName = in
		} else if in != inputName {
			return nil, status.New(status.InvalidArgument, "Input tensor must be the same for all Signatures.")
		}
		sigs[i] = sig
	}
	examples, err := s.serializedExamples(req.GetInput())
	if err != nil {
		return nil, err
	}
	resp := &servingpb.MultiInferenceResponse{Results: make([]*servingpb.InferenceResult, len(tasks))}
	for i, t := range tasks {
		sn := signatureName(t.GetModelSpec())
		r := &servingpb.InferenceResult{ModelSpec: responseSpec(h, sn, true)}
		if t.GetMethodName() == servable.MethodClassify {
			out, err := runExamples(ctx, h, sn, sigs[i], examples, []string{examplesig.Classes, examplesig.Scores})
			if err != nil {
				return nil, err
			}
			res, err := s.classificationResult(out, len(examples))
			if err != nil {
				return nil, err
			}
			r.Result = &servingpb.InferenceResult_ClassificationResult{ClassificationResult: res}
		} else {
			out, err := runExamples(ctx, h, sn, sigs[i], examples, []string{examplesig.Outputs})
			if err != nil {
				return nil, err
			}
			res, err := regressionResult(out, sigs[i], len(examples))
			if err != nil {
				return nil, err
			}
			r.Result = &servingpb.InferenceResult_RegressionResult{RegressionResult: res}
		}
		resp.Results[i] = r
	}
	return resp, nil
}
