package restapi

import (
	"github.com/tfserve/tfserve/server/examplesig"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/requestlog"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
)

// Request logging (Options.RequestLog): a successful predict, classify or
// regress whose model's logging_config samples it is logged as the
// PredictRequest, ClassificationRequest or RegressionRequest TF Serving's
// REST handler builds from the JSON, with the response the gRPC API would
// send (package server/requestlog).

// serve records the version that serves the request (RequestInfo.Version).
func (rn runner) serve(h manager.Handle) {
	if rn.served != nil {
		*rn.served = h.Version()
	}
}

// logPredict logs a predict that succeeded, when sampled.
func (s *Server) logPredict(spec manager.Spec, h manager.Handle, req *jsontensor.PredictRequest, outputs map[string]*tensor.Tensor) {
	ml := s.opts.RequestLog.Sample(h.Name())
	if ml == nil {
		return
	}
	ml.LogPredict(requestlog.RequestSpec(spec, req.SignatureName),
		requestlog.ResponseSpec(h.Name(), h.Version(), req.SignatureName), req.Inputs, outputs)
}

// exampleLog is a sampled classify or regress waiting for its result.
type exampleLog struct {
	ml       *requestlog.ModelLog
	spec     manager.Spec
	name     string
	version  int64
	sig      string
	examples [][]byte
	context  []byte
}

// sampleExamples decides whether a classify or regress is logged; nil
// when not.
func (s *Server) sampleExamples(spec manager.Spec, h manager.Handle, req *jsontensor.ClassifyRegressRequest) *exampleLog {
	ml := s.opts.RequestLog.Sample(h.Name())
	if ml == nil {
		return nil
	}
	return &exampleLog{ml: ml, spec: spec, name: h.Name(), version: h.Version(), sig: req.SignatureName,
		examples: req.Examples, context: req.Context}
}

func (lg *exampleLog) classify(cls *examplesig.Classifications) {
	if lg == nil {
		return
	}
	lg.ml.LogClassify(requestlog.RequestSpec(lg.spec, lg.sig), requestlog.ResponseSpec(lg.name, lg.version, lg.sig),
		lg.examples, lg.context, cls)
}

func (lg *exampleLog) regress(vals []float32) {
	if lg == nil {
		return
	}
	lg.ml.LogRegress(requestlog.RequestSpec(lg.spec, lg.sig), requestlog.ResponseSpec(lg.name, lg.version, lg.sig),
		lg.examples, lg.context, vals)
}
